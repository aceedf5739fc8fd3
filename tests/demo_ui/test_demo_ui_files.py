"""Reading delivered engine-profile files back into a texture set (what the page displays and
relights), for every profile, and the 16-bit PNG reader behind it."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from intrinsix.pbr import TextureSet, export, linear_to_srgb, write_export
from intrinsix.pbr.png import encode_png8, encode_png16
from intrinsix.server.demo_ui.display import map_png, parse_light
from intrinsix.server.demo_ui.png_read import read_png
from intrinsix.server.demo_ui.texture_files import decode_result, parse_packing

# Worst-case errors of the stored encodings (half a quantisation step, plus float noise).
STEP8, STEP16 = 0.5 / 255 + 1e-6, 0.5 / 65535 + 1e-6
# 8-bit normals: each component is off by <= 1/255 before renormalisation (2 * half a step).
NORMAL8, NORMAL16 = 2.0 / 255, 2.0 / 65535 + 1e-5


@dataclass
class Delivered:
    """The header facts of one delivered file, as intrinsix_client.ResultFile carries them."""

    path: Path
    name: str
    semantic: str
    color_space: str
    format: str
    normal_convention: str | None
    packing: str | None


def _material(tiling: bool = False) -> TextureSet:
    generator = torch.Generator().manual_seed(3)
    size = 24
    albedo = torch.rand(size, size, 3, generator=generator)
    material = torch.rand(size, size, 3, generator=generator)
    normal = torch.nn.functional.normalize(torch.randn(size, size, 3, generator=generator) * 0.4
                                           + torch.tensor([0.0, 0.0, 1.0]), dim=-1)
    return TextureSet.from_generator(albedo, material, normal, name="TestStone", tiling=tiling).with_derived()


def _deliver(texture_set: TextureSet, profile: str, folder: Path, **options):
    result = export(texture_set, profile, **options)
    write_export(result, folder)
    files = [Delivered(folder / f.name, f.name, f.semantic, f.color_space, f.format, f.normal_convention, f.packing)
             for f in result.files]
    return files, result.manifest


@pytest.mark.parametrize("profile, options, normal_tolerance, exact", [
    ("unreal", {}, NORMAL8, False),
    ("godot", {}, NORMAL8, False),
    ("gltf", {}, NORMAL8, False),  # one .glb with the images embedded
    ("gltf", {"gltf_layout": "gltf", "normal_bits": 16}, NORMAL16, False),
    ("unity", {"normal_bits": 16}, NORMAL16, False),
    ("raw", {}, 1e-6, True),
])
def test_every_profile_reads_back_to_the_exported_maps(tmp_path, profile, options, normal_tolerance, exact):
    original = _material(tiling=profile == "godot")
    files, manifest = _deliver(original, profile, tmp_path, **options)
    decoded = decode_result(files, manifest)
    ts = decoded.texture_set

    assert ts.name == "TestStone" and ts.tiling == original.tiling and ts.resolution == original.resolution
    assert set(ts.maps) == {"albedo", "roughness", "metallic", "normal", "height", "ambient_occlusion"}
    scalar = 1e-6 if exact else STEP8

    def error(semantic: str) -> float:
        return float((ts[semantic].data - original[semantic].data).abs().max())

    if exact:
        assert error("albedo") <= 1e-6
    else:  # stored sRGB-encoded at 8 bits: compare where it was quantised
        srgb_error = (linear_to_srgb(ts["albedo"].data) - linear_to_srgb(original["albedo"].data)).abs().max()
        assert float(srgb_error) <= STEP8
    assert error("roughness") <= scalar
    assert error("metallic") <= scalar
    assert error("ambient_occlusion") <= scalar
    height_bits = {"unreal": STEP16, "gltf": STEP16, "unity": STEP16, "godot": 1e-6, "raw": 1e-6}[profile]
    assert error("height") <= height_bits
    assert ts["height"].height_scale == pytest.approx(original["height"].height_scale)
    # Normals come back in OpenGL convention whatever the file used (Unreal's are DirectX).
    assert error("normal") <= normal_tolerance
    assert ts["normal"].normal_convention == "opengl"


def test_sources_name_the_file_and_channel(tmp_path):
    files, manifest = _deliver(_material(), "unreal", tmp_path)
    sources = decode_result(files, manifest).sources
    assert sources["albedo"] == "T_TestStone_BC.png"
    assert sources["roughness"] == "T_TestStone_ORM.png, channel G"
    assert sources["metallic"] == "T_TestStone_ORM.png, channel B"
    assert sources["ambient_occlusion"] == "T_TestStone_ORM.png, channel R"
    files, manifest = _deliver(_material(), "unity", tmp_path / "unity")
    assert decode_result(files, manifest).sources["roughness"] == \
        "TestStone_MetallicSmoothness.png, channel A (1 - smoothness)"
    files, manifest = _deliver(_material(), "gltf", tmp_path / "gltf")
    assert decode_result(files, manifest).sources["roughness"] == "TestStone.glb, image TestStone_orm, channel G"


def test_missing_maps_and_bad_packing_are_named(tmp_path):
    files, manifest = _deliver(_material(), "unreal", tmp_path)
    without_orm = [f for f in files if f.semantic != "orm"]
    with pytest.raises(ValueError, match=r"hold no \['roughness', 'metallic'\] map"):
        decode_result(without_orm, manifest)
    with pytest.raises(ValueError, match="cannot read the channel packing 'Q=roughness'"):
        parse_packing("Q=roughness", "x.png")


def _filtered_png16(pixels: np.ndarray, filters: list[int]) -> bytes:
    """A 16-bit PNG whose row y uses filter type filters[y] (PNG spec 9.2, written byte by byte)."""
    height, width, channels = pixels.shape
    raw_rows = [bytes(np.ascontiguousarray(row, dtype=">u2").tobytes()) for row in pixels]
    bpp = 2 * channels
    out = bytearray()
    previous = bytes(len(raw_rows[0]))
    for row, kind in zip(raw_rows, filters):
        out.append(kind)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = a
            elif kind == 2:
                predictor = b
            elif kind == 3:
                predictor = (a + b) // 2
            else:
                p = a + b - c
                predictor = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (
                    b if abs(p - b) <= abs(p - c) else c)
            out.append((x - predictor) & 0xFF)
        previous = row

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(out)))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png16_reader_undoes_every_filter(channels):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 65536, size=(10, 7, channels), dtype=np.uint16)
    data = _filtered_png16(pixels, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
    decoded = read_png(data)
    assert decoded.dtype == np.uint16 and decoded.shape == pixels.shape
    np.testing.assert_array_equal(decoded, pixels)
    # The project's own writer (filter 0) too, and 8-bit files through Pillow.
    np.testing.assert_array_equal(read_png(encode_png16(pixels)), pixels)
    eight = rng.integers(0, 256, size=(5, 6, channels), dtype=np.uint8)
    np.testing.assert_array_equal(read_png(encode_png8(eight)), eight)
    with pytest.raises(ValueError, match="not a PNG file"):
        read_png(b"GIF89a....")


def test_map_images_and_light_parsing():
    ts = _material()
    albedo = read_png(map_png(ts, "albedo"))
    expected = np.rint(linear_to_srgb(ts["albedo"].data).numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(albedo, expected)
    normal = read_png(map_png(ts, "normal")).astype(np.float32) / 255 * 2 - 1
    assert np.abs(normal - ts["normal"].data.numpy()).max() <= 1.0 / 255 + 1e-6
    assert read_png(map_png(ts, "roughness")).shape == (24, 24, 1)
    with pytest.raises(ValueError, match="semantic must be one of"):
        map_png(ts, "orm")
    assert parse_light("12.5", "-90") == (12.5, -90.0)
    for lat, lon, message in (("91", "0", r"lat must be a number of degrees in \[0, 90\], got '91'"),
                              ("x", "0", "lat must be a number"), ("10", "nan", r"lon must be .* got 'nan'")):
        with pytest.raises(ValueError, match=message):
            parse_light(lat, lon)
