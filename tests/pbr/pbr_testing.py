"""Helpers shared by the pbr tests (imported by name: tests/pbr is on sys.path under pytest)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import torch


def random_generator_outputs(height: int, width: int, seed: int = 0):
    """albedo, material, normal as the generator decodes them: [H, W, 3] float32."""
    g = torch.Generator().manual_seed(seed)
    albedo = torch.rand(height, width, 3, generator=g)
    material = torch.rand(height, width, 3, generator=g)
    normal = torch.randn(height, width, 3, generator=g) * 0.3
    normal[..., 2] = 1.0
    normal = normal / normal.norm(dim=-1, keepdim=True)
    return albedo, material, normal


def read_png(data: bytes) -> np.ndarray:
    """Decode a non-interlaced 8/16-bit grey/RGB/RGBA PNG without Pillow ([H, W, C] uint8/uint16).

    Written from the PNG specification for the tests: it checks the signature and every chunk
    CRC and undoes all five filter types, so it is independent of the writer under test."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad PNG signature"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        payload = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + payload), f"bad CRC in chunk {kind!r}"
        chunks.append((kind, payload))
        position += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert interlace == 0 and depth in (8, 16)
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color_type]
    pixel_bytes = channels * depth // 8
    raw = zlib.decompress(b"".join(p for k, p in chunks if k == b"IDAT"))
    stride = width * pixel_bytes
    assert len(raw) == height * (stride + 1)
    previous = bytearray(stride)
    rows = []
    for r in range(height):
        filter_type = raw[r * (stride + 1)]
        line = bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - pixel_bytes] if i >= pixel_bytes else 0
            up = previous[i]
            up_left = previous[i - pixel_bytes] if i >= pixel_bytes else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                estimate = left + up - up_left
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + predictor) & 0xFF
            else:
                assert filter_type == 0, f"unknown filter type {filter_type}"
        rows.append(bytes(line))
        previous = line
    dtype = ">u2" if depth == 16 else np.uint8
    pixels = np.frombuffer(b"".join(rows), dtype=dtype).reshape(height, width, channels)
    return pixels.astype(np.uint16 if depth == 16 else np.uint8)
