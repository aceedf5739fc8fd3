"""PNG decoding for the demo page, 8 and 16 bits per channel, to numpy arrays.

8-bit files are read by Pillow. 16-bit files are read here because Pillow reduces 16-bit RGB and
RGBA PNGs to 8 bits on load (and the server's 16-bit normal maps would lose their point): chunks
are parsed, IDAT inflated and every scanline unfiltered (PNG specification, section 9). Only
non-interlaced files, which is what intrinsix.pbr.png writes.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> channels: grey, RGB, grey + alpha, RGBA (palette files are always 8-bit here).
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def read_png(data: bytes) -> np.ndarray:  # -> [H, W, C] uint8 or uint16, C in 1..4
    """Decode PNG bytes to [H, W, C] samples: uint8 for 8-bit files, uint16 for 16-bit files."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"not a PNG file (first bytes {data[:8]!r})")
    width, height, depth, color_type, interlace = _header(data)
    if depth == 16:
        if interlace:
            raise ValueError("interlaced 16-bit PNG files are not supported")
        if color_type not in _CHANNELS:
            raise ValueError(f"16-bit PNG with colour type {color_type} is not valid")
        return _decode16(data, width, height, _CHANNELS[color_type])
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def _chunks(data: bytes):
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        payload = data[position + 8:position + 8 + length]
        if len(payload) != length:
            raise ValueError(f"PNG chunk {kind!r} is cut short ({len(payload)} of {length} bytes)")
        yield kind, payload
        if kind == b"IEND":
            return
        position += 12 + length
    raise ValueError("PNG file ends without an IEND chunk")


def _header(data: bytes) -> tuple[int, int, int, int, int]:
    kind, payload = next(_chunks(data))
    if kind != b"IHDR" or len(payload) != 13:
        raise ValueError("PNG file does not start with an IHDR chunk")
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", payload)
    return width, height, depth, color_type, interlace


def _decode16(data: bytes, width: int, height: int, channels: int) -> np.ndarray:
    compressed = b"".join(payload for kind, payload in _chunks(data) if kind == b"IDAT")
    raw = np.frombuffer(zlib.decompress(compressed), dtype=np.uint8)
    stride = width * channels * 2  # bytes per scanline, without its filter byte
    if raw.size != height * (stride + 1):
        raise ValueError(f"PNG image data holds {raw.size} bytes, expected {height * (stride + 1)} for "
                         f"{width}x{height}x{channels} at 16 bits")
    rows = raw.reshape(height, stride + 1)
    filters, filtered = rows[:, 0], rows[:, 1:].astype(np.int32)
    out = np.zeros((height, stride), dtype=np.int32)
    bpp = channels * 2  # bytes per complete pixel: the filters' left neighbour distance
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        line, kind = filtered[y], int(filters[y])
        if kind == 0:  # None
            recon = line
        elif kind == 1:  # Sub: a running sum per byte lane, modulo 256
            recon = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # Up
            recon = (line + previous) & 0xFF
        elif kind in (3, 4):  # Average, Paeth: depend on the reconstructed left pixel, pixel by pixel
            recon = _unfilter_sequential(line, previous, bpp, kind)
        else:
            raise ValueError(f"PNG scanline {y} has unknown filter type {kind}")
        out[y] = recon
        previous = recon
    samples = out.astype(np.uint8).reshape(height, width * channels, 2)
    values = (samples[..., 0].astype(np.uint16) << 8) | samples[..., 1]  # big-endian samples
    return values.reshape(height, width, channels)


def _unfilter_sequential(line: np.ndarray, previous: np.ndarray, bpp: int, kind: int) -> np.ndarray:
    recon = np.zeros_like(line)
    for start in range(0, line.size, bpp):
        up = previous[start:start + bpp]
        left = recon[start - bpp:start] if start else np.zeros(bpp, dtype=np.int32)
        if kind == 3:
            predictor = (left + up) // 2
        else:
            upper_left = previous[start - bpp:start] if start else np.zeros(bpp, dtype=np.int32)
            estimate = left + up - upper_left
            da, db, dc = np.abs(estimate - left), np.abs(estimate - up), np.abs(estimate - upper_left)
            predictor = np.where((da <= db) & (da <= dc), left, np.where(db <= dc, up, upper_left))
        recon[start:start + bpp] = (line[start:start + bpp] + predictor) & 0xFF
    return recon
