"""OpenEXR encoding and decoding of float maps (the `OpenEXR` package, version 3.3 or newer).

Single-part scanline files with ZIP compression; every channel is "half" (float16) or "float"
(float32). Channel names follow the EXR habit: R, G, B (, A) for colour and vectors, Y for one grey
channel. The bindings read and write file paths, so bytes go through a private temporary folder.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

EXR_PRECISIONS = {"half": np.float16, "float": np.float32}


def _openexr():
    try:
        import OpenEXR
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("EXR export needs the OpenEXR package: pip install 'OpenEXR>=3.3'") from error
    return OpenEXR


def encode_exr(
    channels: dict[str, np.ndarray],  # name -> [H, W] float array, all of one shape
    precision: str = "float",  # "half" (float16) or "float" (float32)
) -> bytes:
    """EXR file bytes holding `channels` (linear values, stored as given; no clamping)."""
    if precision not in EXR_PRECISIONS:
        raise ValueError(f"precision must be one of {tuple(EXR_PRECISIONS)}, got {precision!r}")
    if not channels:
        raise ValueError("channels must name at least one channel")
    dtype = EXR_PRECISIONS[precision]
    shapes = {name: np.shape(values) for name, values in channels.items()}
    if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 2:
        raise ValueError(f"channels must all be 2-D arrays [H, W] of one shape, got {shapes}")
    pixels = {}
    for name, values in channels.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"channel names must be non-empty strings, got {name!r}")
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"channel {name!r} contains NaN or infinite values")
        if precision == "half" and np.abs(values).max(initial=0.0) > 65504.0:
            raise ValueError(f"channel {name!r} exceeds the half-float range (|x| <= 65504); use precision='float'")
        pixels[name] = np.ascontiguousarray(values.astype(dtype))

    OpenEXR = _openexr()
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with tempfile.TemporaryDirectory(prefix="intrinsix-exr-") as folder:
        path = os.path.join(folder, "map.exr")
        OpenEXR.File(header, pixels).write(path)
        with open(path, "rb") as handle:
            return handle.read()


def decode_exr(data: bytes) -> dict[str, np.ndarray]:  # name -> [H, W] float16 or float32
    """The channels of EXR file bytes, each as a 2-D array in its stored precision."""
    OpenEXR = _openexr()
    with tempfile.TemporaryDirectory(prefix="intrinsix-exr-") as folder:
        path = os.path.join(folder, "map.exr")
        with open(path, "wb") as handle:
            handle.write(data)
        with OpenEXR.File(path, separate_channels=True) as exr:
            return {name: np.array(channel.pixels) for name, channel in exr.channels().items()}
