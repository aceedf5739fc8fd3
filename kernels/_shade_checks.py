"""Value checks for `shade` and its light descriptions (kernels/_checks.py holds the shape and
device checks shared by every op). Each check costs one reduction and one device sync; the
details are computed only when a check fails."""

from __future__ import annotations

import torch


def _any_bad(t: torch.Tensor, low: float | None, high: float | None) -> torch.Tensor:  # 0-dim bool
    bad = ~torch.isfinite(t)
    if low is not None:
        bad |= t < low
    if high is not None:
        bad |= t > high
    return bad.any()


def check_values_many(checks: list[tuple[torch.Tensor, str, float | None, float | None]]) -> None:
    """check_values for several (tensor, name, low, high) with ONE device sync when all pass."""
    if not checks:
        return
    flags = torch.stack([_any_bad(t.detach(), low, high).to(checks[0][0].device) for t, _, low, high in checks])
    for (t, name, low, high), bad in zip(checks, flags.tolist()):
        if bad:
            check_values(t, name, low, high)


def check_values(t: torch.Tensor, name: str, low: float | None = None, high: float | None = None) -> None:
    """No NaN or infinity in `t`, and every value in [low, high] (a bound of None is open)."""
    if not bool(_any_bad(t.detach(), low, high)):
        return
    finite = torch.isfinite(t)
    non_finite = int((~finite).sum())
    if non_finite:
        raise ValueError(f"{name} contains {non_finite} NaN or infinite values")
    lo, hi = (float(x) for x in torch.aminmax(t.detach()))
    allowed = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    raise ValueError(f"{name} must lie in {allowed}, got values in [{lo:.6g}, {hi:.6g}]")


def check_nonzero_rows(t: torch.Tensor, name: str) -> None:
    """Every vector t[..., :] has a nonzero length (directions)."""
    zero = (t.detach().abs().amax(dim=-1) == 0) if t.numel() else torch.zeros(0, dtype=torch.bool)
    if bool(zero.any()):
        raise ValueError(f"{name} holds {int(zero.sum())} zero-length vectors; directions must be nonzero")


def check_constant(t: torch.Tensor | None, name: str) -> None:
    """`shade` differentiates the surface maps only: reject inputs that ask for a gradient it
    would silently drop."""
    if t is not None and t.requires_grad:
        raise ValueError(f"{name} requires grad, but shade is differentiable only with respect to albedo, "
                         f"roughness, metallic and normal; pass {name}.detach()")


def check_int(value, name: str, low: int, high: int) -> int:
    """A Python int (or 0-dim integer tensor) in [low, high]."""
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_floating_point():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return value
