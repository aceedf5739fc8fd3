// Runs the Khronos glTF validator (npm package `gltf-validator`) on one .glb/.gltf file and prints
// its JSON report on stdout. Usage: node validate_gltf.js <path to gltf-validator package> <asset>
// External resources (images next to a .gltf) are read from the asset's folder.
"use strict";
const fs = require("fs");
const path = require("path");

const [packageDir, assetPath] = process.argv.slice(2);
if (!packageDir || !assetPath) {
  console.error("usage: node validate_gltf.js <gltf-validator package dir> <asset.glb|asset.gltf>");
  process.exit(2);
}
const validator = require(path.resolve(packageDir));
const asset = fs.readFileSync(assetPath);
const folder = path.dirname(path.resolve(assetPath));

validator
  .validateBytes(new Uint8Array(asset), {
    uri: path.basename(assetPath),
    maxIssues: 0,
    writeTimestamp: false,
    externalResourceFunction: (uri) =>
      new Promise((resolve, reject) => {
        fs.readFile(path.resolve(folder, decodeURIComponent(uri)), (error, data) =>
          error ? reject(error.toString()) : resolve(new Uint8Array(data)));
      }),
  })
  .then((report) => {
    process.stdout.write(JSON.stringify(report));
  })
  .catch((error) => {
    console.error(String(error));
    process.exit(1);
  });
