// Drives the demo page in headless Chromium (playwright-core) like a person would, and prints one
// JSON line of what it saw; tests/demo_ui/test_demo_ui_browser.py asserts on it.
//
//   node browser_check.cjs <page url> <out dir> <screenshot path>
// Environment: PLAYWRIGHT_CORE (folder of the playwright-core package), CHROMIUM (browser binary).
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");

const [url, outDir, screenshotPath] = process.argv.slice(2);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

// Pixels of an <img> or <canvas> as RGBA bytes, read in the page.
async function pixels(page, selector) {
  return page.evaluate(async (sel) => {
    const element = document.querySelector(sel);
    const canvas = document.createElement("canvas");
    canvas.width = element.naturalWidth || element.width;
    canvas.height = element.naturalHeight || element.height;
    const context = canvas.getContext("2d");
    context.drawImage(element, 0, 0);
    return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
  }, selector);
}

function countDifferent(a, b) {
  let different = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i += 4) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) different++;
  }
  return different;
}

(async () => {
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "intrinsix-chromium-"));
  // A fresh profile folder (playwright passes it as --user-data-dir).
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    acceptDownloads: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           // WebGL without a GPU: Chromium's software rasteriser (SwiftShader through ANGLE).
           "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
  });
  const report = { console_errors: [], external_requests: [] };
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on("console", (m) => { if (m.type() === "error") report.console_errors.push(m.text()); });
    page.on("pageerror", (e) => report.console_errors.push(String(e)));
    const origin = new URL(url).origin;
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) {
        report.external_requests.push(r.url());
      }
    });

    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll("#profile option").length > 0);
    report.status_text = await page.textContent("#server-status");

    // Type a prompt, pick the options, click Generate, wait for the result.
    await page.fill("#prompt", "satin green ceramic tiles with grey grout");
    await page.fill("#seed", "1234");
    await page.selectOption("#profile", "unreal");
    await page.fill("#steps", "12");
    const started = Date.now();
    await page.click("#generate");
    await page.waitForSelector("body[data-state=done]", { timeout: 60000 });
    report.generate_ms = Date.now() - started;
    report.progress_text = await page.textContent("#progress-text");
    report.progress_width = await page.$eval("#progress-bar", (e) => e.style.width);
    report.preview_sources = await page.$$eval("#previews img", (images) => images.map((i) => i.src.slice(0, 22)));
    report.material_name = await page.textContent("#material-name");

    // Every map image loaded; the relit render shows the slider position.
    await page.waitForFunction(() => [...document.querySelectorAll("#maps img")].every((i) => i.complete));
    report.maps = await page.$$eval("#maps figure", (figures) => figures.map((f) => {
      const img = f.querySelector("img");
      return { map: f.dataset.map, width: img.naturalWidth, height: img.naturalHeight,
               source: f.querySelector("small").title };
    }));
    report.files_table = await page.$$eval("#files tbody tr", (rows) => rows.map((r) => r.cells[0].textContent));
    await page.waitForSelector('#render[data-light="45,0"]');
    const before = await pixels(page, "#render");
    report.render_size = await page.$eval("#render", (i) => [i.naturalWidth, i.naturalHeight]);

    // The 3D preview drew the material (WebGL 2 in software).
    report.webgl = await page.$eval("#viewer", (c) => c.dataset.webgl);
    if (report.webgl === "ready") {
      await page.waitForSelector('#viewer[data-ready="1"]');
      const viewer = await pixels(page, "#viewer");
      const side = 512;
      const at = (x, y) => viewer.slice((y * side + x) * 4, (y * side + x) * 4 + 3);
      report.viewer_center = at(256, 256);
      report.viewer_corner = at(4, 4);
    }

    // Download the zip through the page's link.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    report.zip_name = download.suggestedFilename();
    report.zip_path = path.join(outDir, "download.zip");
    await download.saveAs(report.zip_path);

    // Move the light: the render changes without a new job.
    await page.fill("#lat", "10");
    await page.fill("#lon", "60");
    await page.waitForSelector('#render[data-light="10,60"]');
    const after = await pixels(page, "#render");
    report.render_pixels = before.length / 4;
    report.render_changed_pixels = countDifferent(before, after);
    if (report.webgl === "ready") {
      const viewer = await pixels(page, "#viewer");
      report.viewer_center_after = viewer.slice((256 * 512 + 256) * 4, (256 * 512 + 256) * 4 + 3);
    }

    // The history lists the job; back to a mid light for the screenshot.
    await page.waitForFunction(() => [...document.querySelectorAll("#history tr")].some(
      (r) => r.classList.contains("current") && r.textContent.includes("SUCCEEDED")));
    report.history_rows = await page.$$eval("#history tr", (rows) => rows.map((r) => [r.dataset.job, r.cells[0].textContent]));
    report.current_job = await page.$eval("#history tr.current", (r) => r.dataset.job);
    await page.fill("#lat", "40");
    await page.fill("#lon", "-35");
    await page.waitForSelector('#render[data-light="40,-35"]');
    await page.waitForTimeout(100);
    await page.screenshot({ path: screenshotPath, fullPage: true });
    report.ok = true;
  } catch (error) {
    report.ok = false;
    report.error = String(error && error.stack || error);
    try {
      const pages = context.pages();
      if (pages.length) await pages[0].screenshot({ path: path.join(outDir, "failure.png"), fullPage: true });
    } catch (_) { /* the report says what failed */ }
  } finally {
    await context.close();
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report) + "\n");
})();
