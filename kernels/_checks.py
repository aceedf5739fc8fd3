"""Argument validation shared by the public ops: every error names the argument, the bad value and
what is allowed, before anything reaches a kernel."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import _backend


def check_float_tensor(t, name: str, shape: str, last_dim: int | None = None, dims: Sequence[int] = ()) -> None:
    """`t` is a floating-point tensor with one of `dims` dimensions and `last_dim` channels."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor {shape}, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor {shape}, got dtype {t.dtype}")
    if dims and t.dim() not in dims:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(t.shape)}")
    if last_dim is not None and t.shape[-1] != last_dim:
        raise ValueError(f"{name} must have shape {shape} (last dimension {last_dim}), got {tuple(t.shape)}")


def check_finite(t: torch.Tensor, name: str) -> None:
    """No NaN or infinity in `t` (one reduction; synchronises with the device)."""
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite values")


def check_triangles(tri, num_vertices: int, name: str = "tri") -> None:
    """`tri` is an integer [F, 3] tensor whose indices lie in [0, num_vertices)."""
    if not isinstance(tri, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [F, 3] of int32, got {type(tri).__name__}")
    if tri.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{name} must be an int32 tensor [F, 3], got dtype {tri.dtype}")
    if tri.dim() != 2 or tri.shape[1] != 3:
        raise ValueError(f"{name} must have shape [F, 3], got {tuple(tri.shape)}")
    if tri.shape[0] >= 2**24:
        raise ValueError(f"{name} has {tri.shape[0]} triangles; at most 2^24 - 1 are supported "
                         "(triangle ids are stored as float32 in rast[..., 3])")
    if tri.numel() > 0:
        lo, hi = torch.aminmax(tri)
        lo, hi = int(lo), int(hi)
        if lo < 0 or hi >= num_vertices:
            raise ValueError(f"{name} holds vertex indices in [{lo}, {hi}], allowed range is "
                             f"[0, {num_vertices - 1}] for {num_vertices} vertices")


def check_same_device(**tensors: torch.Tensor) -> torch.device:
    """All tensors on one device, and a CUDA device only if the kernels have CUDA."""
    devices = {name: t.device for name, t in tensors.items()}
    unique = set(devices.values())
    if len(unique) > 1:
        listing = ", ".join(f"{name} on {dev}" for name, dev in devices.items())
        raise ValueError(f"all tensors must be on one device, got {listing}")
    device = unique.pop()
    if device.type == "cuda" and not _backend.has_cuda():
        raise RuntimeError("tensors are on a CUDA device but the intrinsix kernels were built without "
                           "CUDA; rebuild on a machine with nvcc and a CUDA build of torch")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"tensors must be on the CPU or a CUDA device, got {device}")
    return device


def check_resolution(resolution, name: str = "resolution", limit: int = 16384) -> tuple[int, int]:
    """(height, width) from an int or a pair, each in [1, limit]."""
    if isinstance(resolution, int):
        resolution = (resolution, resolution)
    if not (isinstance(resolution, Sequence) and len(resolution) == 2 and all(isinstance(r, int) for r in resolution)):
        raise TypeError(f"{name} must be an int or a pair of ints (height, width), got {resolution!r}")
    height, width = resolution
    for label, value in (("height", height), ("width", width)):
        if not 1 <= value <= limit:
            raise ValueError(f"{name} {label} must be in [1, {limit}], got {value}")
    return height, width


def check_choice(value: str, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return value
