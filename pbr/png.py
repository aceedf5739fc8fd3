"""PNG encoding, 8 and 16 bits per channel, from unsigned-integer arrays.

8-bit files are written by Pillow. 16-bit files are written here (PNG signature, IHDR, one zlib
IDAT with filter type 0 per row, IEND; big-endian samples as the PNG specification requires)
because Pillow cannot write 16-bit RGB or RGBA; grey 16-bit uses the same writer so that there is
one 16-bit path, and Pillow reads those files back exactly (tests/pbr checks the bytes).
No gAMA/sRGB/iCCP chunks are written: engines decide the colour space from the import settings,
which the manifest states per file.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types by channel count: grey, grey + alpha, RGB, RGBA.
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
_PILLOW_MODE_8 = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def quantize(values: np.ndarray, bits: int) -> np.ndarray:  # [...] float in [0, 1] -> uint8/uint16
    """Round [0, 1] values to the nearest of the 2^bits - 1 steps (values outside are clamped)."""
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits!r}")
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("cannot quantize NaN or infinite values")
    top = (1 << bits) - 1
    return np.rint(np.clip(values, 0.0, 1.0) * top).astype(np.uint8 if bits == 8 else np.uint16)


def _image_shape(pixels: np.ndarray, dtype: type, name: str) -> tuple[int, int, int]:
    if not isinstance(pixels, np.ndarray) or pixels.dtype != dtype:
        got = pixels.dtype if isinstance(pixels, np.ndarray) else type(pixels).__name__
        raise TypeError(f"{name} must be a numpy {np.dtype(dtype).name} array [H, W] or [H, W, C], got {got}")
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[-1] not in _COLOR_TYPE or 0 in pixels.shape[:2]:
        raise ValueError(f"{name} must have shape [H, W] or [H, W, C] with C in 1..4 and H, W >= 1, "
                         f"got {pixels.shape}")
    return pixels.shape  # type: ignore[return-value]


def encode_png8(pixels: np.ndarray) -> bytes:  # [H, W] or [H, W, C] uint8, C in 1..4
    """8-bit PNG bytes (grey, grey+alpha, RGB or RGBA by channel count) via Pillow."""
    from PIL import Image

    height, width, channels = _image_shape(pixels, np.uint8, "pixels")
    array = pixels.reshape(height, width, channels)
    image = Image.fromarray(np.ascontiguousarray(array[..., 0] if channels == 1 else array))
    if image.mode != _PILLOW_MODE_8[channels]:
        raise RuntimeError(f"Pillow made a {image.mode} image from {channels} channels, expected "
                           f"{_PILLOW_MODE_8[channels]}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    # length, type, data, CRC-32 over type + data (PNG spec, section 5.3).
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_png16(pixels: np.ndarray) -> bytes:  # [H, W] or [H, W, C] uint16, C in 1..4
    """16-bit PNG bytes (grey, grey+alpha, RGB or RGBA by channel count), written directly."""
    height, width, channels = _image_shape(pixels, np.uint16, "pixels")
    samples = np.ascontiguousarray(pixels.reshape(height, width, channels), dtype=">u2")
    rows = samples.reshape(height, width * channels).view(np.uint8)
    # Each scanline starts with its filter-type byte; 0 = no filter.
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 16, _COLOR_TYPE[channels], 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b""))
