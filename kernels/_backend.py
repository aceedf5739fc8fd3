"""Loads the compiled kernels library and exposes its ops as `torch.ops.intrinsix.*`.

The library is `libintrinsix_kernels.so` next to this file (installed by the build), or the path in
the environment variable INTRINSIX_KERNELS_LIB (a development build tree).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

_LIBRARY_NAME = "libintrinsix_kernels.so"
_loaded_from: str | None = None


class KernelsNotBuiltError(ImportError):
    """The compiled kernels library is missing or does not load."""


def library_path() -> Path:
    """Where the kernels library is expected: $INTRINSIX_KERNELS_LIB or next to this package."""
    override = os.environ.get("INTRINSIX_KERNELS_LIB")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / _LIBRARY_NAME


def load() -> None:
    """Load the library once; raise KernelsNotBuiltError with the fix if it is not there."""
    global _loaded_from
    if _loaded_from is not None:
        return
    path = library_path()
    if not path.is_file():
        raise KernelsNotBuiltError(
            f"intrinsix kernels are not built: {path} does not exist. Install the package with "
            "'pip install --no-build-isolation .' (README.md), or point INTRINSIX_KERNELS_LIB at a "
            "libintrinsix_kernels.so built with CMake."
        )
    try:
        torch.ops.load_library(str(path))
    except OSError as exc:  # e.g. built against another torch
        raise KernelsNotBuiltError(
            f"intrinsix kernels at {path} do not load into torch {torch.__version__}: {exc}. "
            "Rebuild them against the installed torch ('pip install --no-build-isolation .')."
        ) from exc
    _loaded_from = str(path)


def ops():
    """The op namespace `torch.ops.intrinsix`, loading the library on first use."""
    load()
    return torch.ops.intrinsix


def has_cuda() -> bool:
    """True if the kernels were built with CUDA support (a GPU may still be absent)."""
    return bool(ops().has_cuda())
