"""`texture`: filtered texture lookups at per-pixel uv coordinates (nvdiffrast-shaped).

Conventions (docs/kernels/texture.md): u indexes columns and v rows; texel (i, j) of an [H, W]
texture has its centre at u = (j + 0.5) / W, v = (i + 0.5) / H; row 0 is v = 0 (OpenGL memory
order, the same as the rasterizer's image rows, whose row 0 is the bottom, y_ndc = -1).
"""

from __future__ import annotations

import torch

from . import _backend, _checks

FILTERS = ("nearest", "linear", "linear-mipmap-linear")
WRAPS = ("repeat", "clamp")
MAX_TEXTURE_SIZE = 16384  # the packed pyramid then has at most 15 levels (kTextureMaxLevels = 16)


def _downsample_axis(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Halve axis `dim` of size n to max(1, n // 2) by an area-weighted box filter.

    Even n: output texel i is the mean of input texels 2i and 2i + 1 (the 2x2 box, one axis at a time).
    Odd n = 2m + 1: output texel i covers exactly the input span [i * n / m, (i + 1) * n / m], i.e.
    2 + 1/m input texels, and each input texel is weighted by the length it overlaps that span
    (so the coarse texel centres stay at (i + 0.5) / m in uv and every input texel contributes).
    n = 1 stays 1.
    """
    n = x.shape[dim]
    if n == 1:
        return x
    m = n // 2
    if n % 2 == 0:
        return x.unflatten(dim, (m, 2)).mean(dim=dim + 1)
    # Integer arithmetic in units of 1/m texel: output i spans [i n, (i + 1) n], input texel j spans
    # [j m, (j + 1) m]; the span is shorter than 3 texels, so it touches at most 4 of them.
    i = torch.arange(m).unsqueeze(1)  # [m, 1]
    j = (i * n) // m + torch.arange(4).unsqueeze(0)  # [m, 4] candidate input texels
    overlap = (torch.minimum((j + 1) * m, (i + 1) * n) - torch.maximum(j * m, i * n)).clamp(min=0)
    weight = (overlap.double() / n).to(device=x.device, dtype=x.dtype)  # [m, 4], rows sum to 1
    index = j.clamp(max=n - 1).to(x.device)  # out-of-range candidates have weight 0
    shape = [1] * x.dim()
    shape[dim] = m
    out = None
    for k in range(4):
        term = x.index_select(dim, index[:, k]) * weight[:, k].view(shape)
        out = term if out is None else out + term
    return out


def mip_pyramid(
    tex: torch.Tensor,  # [A, H, W, C] float, linear values
    max_mip_level: int | None = None,
) -> list[torch.Tensor]:  # levels [A, h_k, w_k, C], level 0 = tex
    """Mip levels of `tex` built with differentiable torch ops (gradients reach level 0 by autograd).

    Each level halves both sides with floor: h_{k+1} = max(1, h_k // 2), same for w; a side that
    reaches 1 stays 1 while the other keeps halving, down to 1 x 1, or to `max_mip_level` levels
    above the base. Even sides use the 2x2 box filter; odd sides the area-weighted box of
    `_downsample_axis` (every texel of the finer level contributes, texel centres stay aligned).
    """
    height, width = tex.shape[1], tex.shape[2]
    num_levels = max(height, width).bit_length()  # 1 + floor(log2(max side))
    if max_mip_level is not None:
        num_levels = min(num_levels, max_mip_level + 1)
    levels = [tex]
    for _ in range(num_levels - 1):
        levels.append(_downsample_axis(_downsample_axis(levels[-1], 1), 2))
    return levels


class _Texture(torch.autograd.Function):
    @staticmethod
    def forward(ctx, packed, uv, uv_da, mip_level_bias, heights, widths, filter, wrap):
        ctx.save_for_backward(packed, uv, uv_da, mip_level_bias)
        ctx.config = (heights, widths, filter, wrap)
        return _backend.ops().texture_fwd(packed, uv, uv_da, mip_level_bias, heights, widths, filter, wrap)

    @staticmethod
    def backward(ctx, v_out):
        packed, uv, uv_da, mip_level_bias = ctx.saved_tensors
        heights, widths, filter, wrap = ctx.config
        need_tex = ctx.needs_input_grad[0]
        need_uv = ctx.needs_input_grad[1] and filter != "nearest"
        v_packed, v_uv = _backend.ops().texture_bwd(
            v_out.contiguous(), packed, uv, uv_da, mip_level_bias, heights, widths, filter, wrap, need_tex, need_uv
        )
        if not need_tex:
            v_packed = None
        if not need_uv:
            # nearest: the value is piecewise constant in uv, so its uv gradient is zero.
            v_uv = torch.zeros_like(uv) if ctx.needs_input_grad[1] else None
        return v_packed, v_uv, None, None, None, None, None, None


def _check_finite(t: torch.Tensor, name: str, allowed: str) -> None:
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite values; allowed: {allowed}")


def texture(
    tex: torch.Tensor,  # [H, W, C] shared or [B, H, W, C] float32, linear values
    uv: torch.Tensor,  # [B, Hp, Wp, 2] float32 texture coordinates (u, v)
    filter: str = "linear",
    wrap: str = "repeat",
    uv_da: torch.Tensor | None = None,  # [B, Hp, Wp, 4] (du/dx, du/dy, dv/dx, dv/dy), uv units per pixel
    mip_level_bias: torch.Tensor | None = None,  # [B, Hp, Wp] added to the level of detail (in levels)
    max_mip_level: int | None = None,
) -> torch.Tensor:  # [B, Hp, Wp, C] float32
    """Sample `tex` at the coordinates `uv`.

    Coordinates: u indexes columns, v rows; texel (i, j) has its centre at u = (j + 0.5) / W,
    v = (i + 0.5) / H; row 0 is v = 0. The op does no colour conversion: filter linear values.

    filter:
      'nearest'  the texel whose square contains (u, v).
      'linear'   bilinear in texel space x = u * W - 0.5, y = v * H - 0.5.
      'linear-mipmap-linear'  trilinear: bilinear in the two mip levels around the level of detail
                 lod = log2(max(|(du/dx W, dv/dx H)|, |(du/dy W, dv/dy H)|)) + mip_level_bias,
                 clamped to [0, top level], blended by its fraction. Needs `uv_da`. The pyramid is
                 built here by `mip_pyramid` (2x2 box; odd sides area-weighted) up to 1 x 1 or
                 `max_mip_level` levels above the base.
      `uv_da`, `mip_level_bias` and `max_mip_level` are ignored by 'nearest' and 'linear'.
    wrap: 'repeat' (u and u + 1 sample the same point) or 'clamp' (edge texels extend outwards).

    Gradients: to `tex` for every filter; to `uv` for 'linear' and 'linear-mipmap-linear' (the
    derivative of the bilinear weights; zero for 'nearest'). `uv_da` and `mip_level_bias` get none:
    the level of detail is treated as a constant.
    """
    _checks.check_float_tensor(tex, "tex", "[H, W, C] or [B, H, W, C]", dims=(3, 4))
    _checks.check_float_tensor(uv, "uv", "[B, Hp, Wp, 2]", last_dim=2, dims=(4,))
    _checks.check_choice(filter, "filter", FILTERS)
    _checks.check_choice(wrap, "wrap", WRAPS)
    tex4 = tex.unsqueeze(0) if tex.dim() == 3 else tex
    height, width, channels = tex4.shape[1:]
    for label, size in (("height", height), ("width", width)):
        if not 1 <= size <= MAX_TEXTURE_SIZE:
            raise ValueError(f"tex {label} must be in [1, {MAX_TEXTURE_SIZE}], got {size} (shape {tuple(tex.shape)})")
    if channels < 1:
        raise ValueError(f"tex must have at least 1 channel, got shape {tuple(tex.shape)}")
    if tex4.shape[0] not in (1, uv.shape[0]):
        raise ValueError(f"tex batch {tex4.shape[0]} must be 1 or the batch of uv ({uv.shape[0]})")
    mipmap = filter == "linear-mipmap-linear"
    pixel_shape = tuple(uv.shape[:3])
    if uv_da is not None:
        _checks.check_float_tensor(uv_da, "uv_da", "[B, Hp, Wp, 4]", last_dim=4, dims=(4,))
        if tuple(uv_da.shape[:3]) != pixel_shape:
            raise ValueError(f"uv_da must have shape [B, Hp, Wp, 4] = {list(pixel_shape) + [4]} like uv, "
                             f"got {tuple(uv_da.shape)}")
    elif mipmap:
        raise ValueError("filter 'linear-mipmap-linear' needs uv_da [B, Hp, Wp, 4] (du/dx, du/dy, dv/dx, dv/dy "
                         "in uv units per pixel, e.g. from interpolate of uv with screen-space derivatives); "
                         "use filter 'linear' or 'nearest' without it")
    if mip_level_bias is not None:
        _checks.check_float_tensor(mip_level_bias, "mip_level_bias", "[B, Hp, Wp]", dims=(3,))
        if tuple(mip_level_bias.shape) != pixel_shape:
            raise ValueError(f"mip_level_bias must have shape [B, Hp, Wp] = {list(pixel_shape)} like uv, "
                             f"got {tuple(mip_level_bias.shape)}")
    if max_mip_level is not None and (isinstance(max_mip_level, bool) or not isinstance(max_mip_level, int)
                                      or max_mip_level < 0):
        raise ValueError(f"max_mip_level must be None or an int >= 0, got {max_mip_level!r}")
    extra = {"uv_da": uv_da, "mip_level_bias": mip_level_bias} if mipmap else {}
    _checks.check_same_device(tex=tex, uv=uv, **{k: v for k, v in extra.items() if v is not None})
    _check_finite(uv, "uv", "finite texture coordinates (any range: 'repeat' wraps them, 'clamp' clamps them)")

    tex4 = tex4.float().contiguous()
    uv = uv.float().contiguous()
    if mipmap:
        _check_finite(uv_da, "uv_da", "finite derivatives in uv units per pixel")
        uv_da = uv_da.detach().float().contiguous()
        if mip_level_bias is not None:
            _check_finite(mip_level_bias, "mip_level_bias", "finite level offsets")
            mip_level_bias = mip_level_bias.detach().float().contiguous()
        levels = mip_pyramid(tex4, max_mip_level)
    else:
        uv_da = mip_level_bias = None
        levels = [tex4]
    heights = [level.shape[1] for level in levels]
    widths = [level.shape[2] for level in levels]
    batch = tex4.shape[0]
    flat = [level.reshape(batch, -1, channels) for level in levels]  # [A, h_k * w_k, C] each
    packed = flat[0] if len(flat) == 1 else torch.cat(flat, dim=1)  # [A, T, C]
    return _Texture.apply(packed, uv, uv_da, mip_level_bias, heights, widths, filter, wrap)
