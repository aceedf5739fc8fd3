"""glTF profile: the Khronos validator reports 0 errors, and the material wires the right images."""

import json
import struct

import pytest

from intrinsix.pbr import TextureSet, export, write_export

from pbr_testing import random_generator_outputs


def parse_glb(data: bytes):
    magic, version, length = struct.unpack("<III", data[:12])
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_length, json_type = struct.unpack("<II", data[12:20])
    assert json_type == 0x4E4F534A and json_length % 4 == 0
    document = json.loads(data[20:20 + json_length])
    bin_length, bin_type = struct.unpack("<II", data[20 + json_length:28 + json_length])
    assert bin_type == 0x004E4942 and bin_length % 4 == 0
    return document, data[28 + json_length:28 + json_length + bin_length]


@pytest.mark.parametrize("tiling", [False, True])
def test_glb_validates_with_zero_errors(gltf_validator, tmp_path, tiling):
    ts = TextureSet.from_generator(*random_generator_outputs(24, 40), name="BrickWall", tiling=tiling)
    result = export(ts, "gltf")
    assert [f.name for f in result.files] == ["BrickWall.glb", "BrickWall_height.png", "material.json"]
    paths = write_export(result, tmp_path)
    report = gltf_validator(paths[0])
    issues = report["issues"]
    assert issues["numErrors"] == 0, json.dumps(issues["messages"], indent=1)
    assert issues["numWarnings"] == 0, json.dumps(issues["messages"], indent=1)
    info = report["info"]
    assert info["materialCount"] == 1 and info["drawCallCount"] == 1 and info["totalTriangleCount"] == 2
    resources = {r["pointer"]: r for r in info["resources"] if r["storage"] == "buffer-view"}
    assert {r["mimeType"] for r in resources.values()} == {"image/png"} and len(resources) == 3
    assert {(r["image"]["width"], r["image"]["height"]) for r in resources.values()} == {(40, 24)}


def test_glb_material_wiring(tmp_path):
    ts = TextureSet.from_generator(*random_generator_outputs(16, 16), name="Wiring", tiling=True)
    result = export(ts, "gltf")
    document, binary = parse_glb(result.file("Wiring.glb").data)
    material = document["materials"][0]
    textures, images, views = document["textures"], document["images"], document["bufferViews"]

    def image_bytes(texture_index):
        view = views[images[textures[texture_index]["source"]]["bufferView"]]
        return binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]

    # Same bytes as the profile's PNG encoders: base colour sRGB, ORM shared by occlusion and
    # metallicRoughness, OpenGL (+Y) normals.
    other = export(ts, "gltf", gltf_layout="gltf")
    assert image_bytes(material["pbrMetallicRoughness"]["baseColorTexture"]["index"]) == \
        other.file("Wiring_baseColor.png").data
    orm_index = material["pbrMetallicRoughness"]["metallicRoughnessTexture"]["index"]
    assert material["occlusionTexture"]["index"] == orm_index
    assert image_bytes(orm_index) == other.file("Wiring_occlusionRoughnessMetallic.png").data
    assert image_bytes(material["normalTexture"]["index"]) == other.file("Wiring_normal.png").data
    assert other.file("Wiring_normal.png").normal_convention == "opengl"
    assert document["samplers"][0]["wrapS"] == 10497 and document["samplers"][0]["wrapT"] == 10497  # REPEAT


def test_gltf_with_external_images_validates(gltf_validator, tmp_path):
    ts = TextureSet.from_generator(*random_generator_outputs(20, 30), name="External")
    result = export(ts, "gltf", gltf_layout="gltf", normal_bits=16)
    assert [f.name for f in result.files] == ["External.gltf", "External_baseColor.png",
                                              "External_occlusionRoughnessMetallic.png", "External_normal.png",
                                              "External_height.png", "material.json"]
    paths = write_export(result, tmp_path)
    report = gltf_validator(paths[0])
    assert report["issues"]["numErrors"] == 0, json.dumps(report["issues"]["messages"], indent=1)
    assert report["issues"]["numWarnings"] == 0, json.dumps(report["issues"]["messages"], indent=1)
    loaded = {r["uri"] for r in report["info"]["resources"] if r["storage"] == "external"}
    assert loaded == {"External_baseColor.png", "External_occlusionRoughnessMetallic.png", "External_normal.png"}


def test_validator_catches_a_broken_asset(gltf_validator, tmp_path):
    # The harness itself must be able to fail: a material pointing at a missing texture is an error.
    ts = TextureSet.from_generator(*random_generator_outputs(8, 8), name="Broken")
    document, _ = parse_glb(export(ts, "gltf").file("Broken.glb").data)
    document["materials"][0]["normalTexture"]["index"] = 7
    path = tmp_path / "broken.gltf"
    path.write_text(json.dumps(document))
    issues = gltf_validator(path)["issues"]
    assert issues["numErrors"] == 1
    assert [(m["code"], m["pointer"]) for m in issues["messages"] if m["severity"] == 0] == \
        [("UNRESOLVED_REFERENCE", "/materials/0/normalTexture/index")]
