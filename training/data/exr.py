"""Float32 EXR files of the data set (the `OpenEXR` package, 3.x Python API).

Written files: single-part scanline, ZIP compression (lossless, so float32 values round-trip
bit-exactly, including +-inf), channel "Y" for one-channel maps, "R", "G", "B" for three.
Reading accepts any single-part file with R, G, B (and optionally A, dropped) or a single channel,
in half or float precision, and returns float32 [H, W, C].
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


def _openexr():
    try:
        import OpenEXR
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("reading and writing the data set needs the OpenEXR package: pip install 'OpenEXR>=3.3'") \
            from error
    return OpenEXR


def write_exr(
    path: str | os.PathLike,
    image,  # [H, W], [H, W, 1] or [H, W, 3] float array or tensor
) -> Path:
    """Write `image` as a float32 EXR at `path`, atomically (a temporary file in the same folder is
    renamed over the target, so readers never see a half-written file). Returns the path."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3) or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"image must have shape [H, W], [H, W, 1] or [H, W, 3], got {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"image must hold floating-point values, got dtype {array.dtype}")
    if np.isnan(array).any():
        raise ValueError(f"image for {os.fspath(path)} contains NaN; use inf or a mask for invalid pixels")
    array = array.astype(np.float32)
    names = ("Y",) if array.shape[2] == 1 else ("R", "G", "B")
    channels = {name: np.ascontiguousarray(array[..., i]) for i, name in enumerate(names)}
    OpenEXR = _openexr()
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        OpenEXR.File(header, channels).write(str(temporary))
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def read_exr(path: str | os.PathLike) -> np.ndarray:  # [H, W, C] float32, C = 1 or 3
    """Read an EXR map: R, G, B channels -> [H, W, 3]; a single channel (any name) -> [H, W, 1]."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"EXR file not found: {path}")
    OpenEXR = _openexr()
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr:
            channels = {name: np.asarray(c.pixels) for name, c in exr.channels().items()}
    except Exception as error:  # the bindings raise RuntimeError / ValueError with the library's message
        raise ValueError(f"cannot read EXR file {path}: {error}") from error
    if all(name in channels for name in "RGB"):
        names = ["R", "G", "B"]
    elif len(channels) == 1:
        names = list(channels)
    else:
        raise ValueError(f"EXR file {path} must have channels R, G, B or a single channel, got {sorted(channels)}")
    return np.stack([channels[n].astype(np.float32) for n in names], axis=-1)
