"""Engine profiles: file names, channel layouts, conventions, manifest; write_export."""

import hashlib
import io
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from intrinsix.pbr import PROFILE_NAMES, export, linear_to_srgb, write_export
from intrinsix.pbr.exr import decode_exr
from intrinsix.pbr.png import quantize

from pbr_testing import read_png


def pixels(exported):
    with Image.open(io.BytesIO(exported.data)) as image:
        return np.array(image)


def q8(t):
    return quantize(t.cpu().numpy(), 8)


def test_unreal_files_channels_and_directx_normals(texture_set):
    result = export(texture_set, "unreal")
    assert [f.name for f in result.files] == ["T_RedBrick_BC.png", "T_RedBrick_N.png", "T_RedBrick_ORM.png",
                                              "T_RedBrick_H.png", "material.json"]
    full = texture_set.with_derived()
    bc, normal, orm, height = result.files[:4]

    assert (bc.semantic, bc.color_space, bc.format, bc.channels) == ("base_color", "srgb", "png8", 3)
    np.testing.assert_array_equal(pixels(bc), q8(linear_to_srgb(full["albedo"].data)))

    assert (normal.normal_convention, normal.color_space) == ("directx", "linear")
    n = full["normal"].data
    stored = pixels(normal)
    np.testing.assert_array_equal(stored[..., 0], q8(0.5 * n[..., 0] + 0.5))
    np.testing.assert_array_equal(stored[..., 1], q8(0.5 - 0.5 * n[..., 1]))  # DirectX: green = -Y
    np.testing.assert_array_equal(stored[..., 2], q8(0.5 * n[..., 2] + 0.5))

    assert orm.packing == "R=ambient_occlusion,G=roughness,B=metallic" and orm.color_space == "linear"
    stored = pixels(orm)
    np.testing.assert_array_equal(stored[..., 0], q8(full["ambient_occlusion"].data[..., 0]))
    np.testing.assert_array_equal(stored[..., 1], q8(full["roughness"].data[..., 0]))
    np.testing.assert_array_equal(stored[..., 2], q8(full["metallic"].data[..., 0]))

    assert (height.format, height.channels, height.derived) == ("png16", 1, True)
    np.testing.assert_array_equal(pixels(height), quantize(full["height"].numpy()[..., 0], 16))


def test_godot_opengl_normals_and_float_exr_height(texture_set):
    result = export(texture_set, "godot")
    assert [f.name for f in result.files] == ["RedBrick_albedo.png", "RedBrick_normal.png", "RedBrick_orm.png",
                                              "RedBrick_height.exr", "material.json"]
    full = texture_set.with_derived()
    normal = result.file("RedBrick_normal.png")
    assert normal.normal_convention == "opengl"
    np.testing.assert_array_equal(pixels(normal)[..., 1], q8(0.5 * full["normal"].data[..., 1] + 0.5))
    height = result.file("RedBrick_height.exr")
    assert (height.format, height.packing, height.derived) == ("exr_float", "R=height", True)
    decoded = decode_exr(height.data)
    assert list(decoded) == ["R"] and decoded["R"].dtype == np.float32
    np.testing.assert_array_equal(decoded["R"], full["height"].numpy()[..., 0])
    orm = pixels(result.file("RedBrick_orm.png"))
    np.testing.assert_array_equal(orm[..., 1], q8(full["roughness"].data[..., 0]))


def test_unity_metallic_smoothness_layout(texture_set):
    result = export(texture_set, "unity")
    assert [f.name for f in result.files] == ["RedBrick_Albedo.png", "RedBrick_Normal.png",
                                              "RedBrick_MetallicSmoothness.png", "RedBrick_Occlusion.png",
                                              "RedBrick_Height.png", "material.json"]
    full = texture_set.with_derived()
    packed = result.file("RedBrick_MetallicSmoothness.png")
    assert packed.channels == 4 and packed.packing == "R=metallic,G=ambient_occlusion,B=one,A=smoothness"
    stored = pixels(packed)
    assert stored.shape == (24, 40, 4)
    np.testing.assert_array_equal(stored[..., 0], q8(full["metallic"].data[..., 0]))
    np.testing.assert_array_equal(stored[..., 1], q8(full["ambient_occlusion"].data[..., 0]))
    assert (stored[..., 2] == 255).all()
    np.testing.assert_array_equal(stored[..., 3], q8(1.0 - full["roughness"].data[..., 0]))
    assert result.file("RedBrick_Normal.png").normal_convention == "opengl"
    assert result.manifest["conventions"]["smoothness"] == "one_minus_roughness"


def test_raw_exports_every_map_as_exact_float_exr(texture_set):
    result = export(texture_set, "raw")
    full = texture_set.with_derived()
    semantics = ["albedo", "roughness", "metallic", "normal", "height", "ambient_occlusion"]
    assert [f.name for f in result.files] == [f"RedBrick_{s}.exr" for s in semantics] + ["material.json"]
    for semantic, exported in zip(semantics, result.files):
        assert exported.format == "exr_float" and exported.color_space == "linear"
        decoded = decode_exr(exported.data)
        names = ["R", "G", "B"] if full[semantic].channels == 3 else ["Y"]
        assert sorted(decoded) == sorted(names)
        stored = np.stack([decoded[name] for name in names], axis=-1)
        np.testing.assert_array_equal(stored, full[semantic].numpy())
    assert result.file("RedBrick_normal.exr").normal_convention == "opengl"
    assert result.manifest["conventions"]["normal_encoding"] == "signed"


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_manifest_lists_every_file_with_sha256(texture_set, profile):
    preview = np.zeros((8, 8, 3), np.uint8)
    result = export(texture_set, profile, preview=preview, metadata={"prompt": "red brick", "seed": 7})
    manifest_file = result.files[-1]
    assert (manifest_file.name, manifest_file.semantic, manifest_file.format) == ("material.json", "manifest", "json")
    manifest = json.loads(manifest_file.data)
    assert manifest == result.manifest
    assert manifest["profile"] == profile and manifest["material"] == "RedBrick"
    assert manifest["resolution"] == {"width": 40, "height": 24} and manifest["tiling"] is False
    assert manifest["metadata"] == {"prompt": "red brick", "seed": 7}
    assert manifest["height_scale"]["texels"] > 0
    assert manifest["height_scale"]["uv"] == pytest.approx(manifest["height_scale"]["texels"] / 40)
    listed = {entry["name"]: entry for entry in manifest["files"]}
    assert list(listed) == [f.name for f in result.files[:-1]]
    assert "preview.png" in listed and listed["preview.png"]["semantic"] == "preview"
    for exported in result.files[:-1]:
        entry = listed[exported.name]
        assert entry["sha256"] == hashlib.sha256(exported.data).hexdigest()
        assert entry["bytes"] == len(exported.data)
        assert entry == exported.describe()
    for key in ("normal_convention", "normal_space", "uv_origin", "base_color_color_space"):
        assert key in manifest["conventions"]


def test_tiling_flag_and_sixteen_bit_normals(texture_set):
    tiled = texture_set.__class__(texture_set.maps, name="Tiled", tiling=True)
    result = export(tiled, "unreal", normal_bits=16)
    normal = result.file("T_Tiled_N.png")
    assert normal.format == "png16" and all(f.tiling for f in result.files)
    stored = read_png(normal.data)
    n = tiled["normal"].data
    np.testing.assert_array_equal(stored[..., 1], quantize((0.5 - 0.5 * n[..., 1]).numpy(), 16))


def test_export_rejects_bad_arguments(texture_set):
    with pytest.raises(ValueError, match=r"profile must be one of \('unreal', 'godot', 'gltf', 'unity', 'raw'\)"):
        export(texture_set, "blender")
    assert export(texture_set, " UNREAL ").profile == "unreal"
    with pytest.raises(ValueError, match="normal_bits must be 8 or 16"):
        export(texture_set, "unreal", normal_bits=10)
    with pytest.raises(ValueError, match="gltf_layout must be one of"):
        export(texture_set, "gltf", gltf_layout="usd")
    with pytest.raises(TypeError, match="metadata"):
        export(texture_set, "raw", metadata={"seed": [1, 2]})
    with pytest.raises(ValueError, match="preview must be a uint8"):
        export(texture_set, "raw", preview=np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="must be a TextureSet"):
        export({"albedo": torch.zeros(2, 2, 3)}, "raw")


def test_write_export_writes_files_and_refuses_to_overwrite(texture_set, tmp_path):
    result = export(texture_set, "unreal")
    paths = write_export(result, tmp_path / "out")
    assert [p.name for p in paths] == [f.name for f in result.files]
    for exported, path in zip(result.files, paths):
        assert path.read_bytes() == exported.data
    # Writing the same result again is fine: identical files are left alone.
    write_export(result, tmp_path / "out")

    # A different export with the same names is refused, and nothing at all is changed.
    other = export(texture_set.with_maps(texture_set["roughness"].__class__(
        torch.zeros(24, 40, 1), "roughness")), "unreal")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_export(other, tmp_path / "out")
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before

    write_export(other, tmp_path / "out", overwrite=True)
    for exported in other.files:
        assert (tmp_path / "out" / exported.name).read_bytes() == exported.data
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f.name for f in other.files)


def test_write_export_leaves_nothing_behind_on_failure(texture_set, tmp_path, monkeypatch):
    result = export(texture_set, "godot")
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_export(result, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no final file and no staged temporary file


def test_write_export_refuses_symlinks_and_directories(texture_set, tmp_path):
    result = export(texture_set, "unreal")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    target = tmp_path / "out"
    target.mkdir()
    (target / "T_RedBrick_BC.png").symlink_to(outside)
    with pytest.raises(FileExistsError, match="not a regular file"):
        write_export(result, target, overwrite=True)
    assert outside.read_text() == "keep me"
    (target / "T_RedBrick_BC.png").unlink()
    (target / "material.json").mkdir()
    with pytest.raises(FileExistsError, match="not a regular file"):
        write_export(result, target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["material.json"]
