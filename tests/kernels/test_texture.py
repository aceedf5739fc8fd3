"""texture: C++ CPU (and CUDA) vs the PyTorch twin, forward and backward; analytic cases for the
uv convention, the wrap modes and the mip pyramid; bad input."""

import itertools

import pytest
import torch

from intrinsix.kernels import reference, texture
from intrinsix.kernels.reference.texture import mip_pyramid as twin_mip_pyramid
from intrinsix.kernels.reference.texture import texture_lod as twin_texture_lod
from intrinsix.kernels.texture import mip_pyramid

FILTERS = ["nearest", "linear", "linear-mipmap-linear"]
WRAPS = ["repeat", "clamp"]


def texel_centres(height, width, batch=1):
    """uv [batch, H, W, 2] at the centre of every texel: u = (j + 0.5) / W, v = (i + 0.5) / H."""
    v, u = torch.meshgrid((torch.arange(height) + 0.5) / height, (torch.arange(width) + 0.5) / width, indexing="ij")
    return torch.stack([u, v], dim=-1).expand(batch, height, width, 2).contiguous()


def random_case(generator, shared, batch=2, size=(13, 10), pixels=(6, 7), channels=3):
    tex_shape = size + (channels,) if shared else (batch,) + size + (channels,)
    tex = torch.randn(tex_shape, generator=generator)
    # Coordinates well outside [0, 1] so that both wrap modes matter.
    uv = torch.rand(batch, *pixels, 2, generator=generator) * 4 - 1.5
    # Footprints of ~0.1 to ~10 texels: levels of detail from 0 (clamped) to the top level.
    uv_da = torch.randn(batch, *pixels, 4, generator=generator) * torch.exp2(
        torch.rand(batch, *pixels, 1, generator=generator) * 7 - 3.5) / max(size)
    bias = torch.randn(batch, *pixels, generator=generator) * 0.5
    cotangent = torch.randn(batch, *pixels, channels, generator=generator)
    return tex, uv, uv_da, bias, cotangent


def value_and_grads(fn, tex, uv, cotangent, **kwargs):
    tex = tex.detach().clone().requires_grad_()
    uv = uv.detach().clone().requires_grad_()
    out = fn(tex, uv, **kwargs)
    # The twin's nearest path does not reach uv at all (floor -> integer index): zero gradient.
    v_tex, v_uv = torch.autograd.grad(out, (tex, uv), cotangent, allow_unused=True, materialize_grads=True)
    return out.detach(), v_tex, v_uv


@pytest.mark.parametrize("filter,wrap,shared", list(itertools.product(FILTERS, WRAPS, [True, False])))
def test_matches_twin_forward_and_backward(filter, wrap, shared):
    g = torch.Generator().manual_seed(10)
    tex, uv, uv_da, bias, cotangent = random_case(g, shared)
    kwargs = dict(filter=filter, wrap=wrap, uv_da=uv_da, mip_level_bias=bias)
    ours, v_tex, v_uv = value_and_grads(texture, tex, uv, cotangent, **kwargs)
    twin, v_tex_twin, v_uv_twin = value_and_grads(reference.texture, tex, uv, cotangent, **kwargs)

    # Same float32 formulas, different summation order (taps vs nested lerps): a few ulps of O(1).
    torch.testing.assert_close(ours, twin, rtol=1e-6, atol=1e-6)
    # A texel accumulates up to ~20 pixel contributions (more for the shared texture and mip levels).
    torch.testing.assert_close(v_tex, v_tex_twin, rtol=1e-5, atol=1e-5)
    # d out / d u = W * (texel differences): values of O(100) whose ulps are ~1e-5.
    torch.testing.assert_close(v_uv, v_uv_twin, rtol=1e-5, atol=1e-4)
    if filter == "nearest":
        assert torch.count_nonzero(v_uv) == 0
    else:
        # Zero only where both taps are one texel: 'clamp' outside the edge centres, 1-texel levels.
        assert torch.count_nonzero(v_uv) > 0.2 * v_uv.numel()
    if filter == "linear-mipmap-linear":
        # The case really exercises trilinear filtering over several levels.
        lod = twin_texture_lod(uv_da, bias, 13, 10, 4)
        assert (lod == 0).any() and ((lod > 0) & (lod < 3)).sum() > 20 and (lod == 3).any()


@pytest.mark.parametrize("filter,wrap", [("linear", "repeat"), ("linear", "clamp"),
                                         ("linear-mipmap-linear", "repeat"), ("linear-mipmap-linear", "clamp")])
def test_gradcheck_float64_twin(filter, wrap):
    # gradcheck runs on the twin in float64; the kernel's backward is compared with the twin above.
    g = torch.Generator().manual_seed(11)
    tex = torch.randn(5, 6, 2, dtype=torch.float64, generator=g, requires_grad=True)
    uv = (torch.rand(1, 3, 4, 2, dtype=torch.float64, generator=g) * 3 - 1).requires_grad_()
    uv_da = torch.rand(1, 3, 4, 4, dtype=torch.float64, generator=g) * 0.5
    assert torch.autograd.gradcheck(
        lambda t, c: reference.texture(t, c, filter, wrap, uv_da=uv_da), (tex, uv), atol=1e-6)


@pytest.mark.parametrize("filter,wrap", list(itertools.product(FILTERS, WRAPS)))
def test_texel_centres_return_the_texels(filter, wrap):
    g = torch.Generator().manual_seed(12)
    # Power-of-two sizes: the centre coordinates are exact in float32, so the result is exact.
    tex = torch.randn(2, 4, 8, 3, generator=g)
    uv = texel_centres(4, 8, batch=2)
    uv_da = torch.zeros(2, 4, 8, 4)  # zero footprint: level of detail 0
    out = texture(tex, uv, filter, wrap, uv_da=uv_da)
    assert torch.equal(out, tex)
    # Other sizes: exact up to the rounding of (j + 0.5) / W.
    tex = torch.randn(7, 5, 2, generator=g)
    out = texture(tex, texel_centres(7, 5), filter, wrap, uv_da=torch.zeros(1, 7, 5, 4))
    torch.testing.assert_close(out[0], tex, rtol=0, atol=1e-6)


def test_row_zero_is_v_zero_and_u_indexes_columns():
    # texel (i, j) holds 10 i + j: reading tells which row and column were hit.
    tex = (torch.arange(4).view(4, 1) * 10 + torch.arange(8).view(1, 8)).float().unsqueeze(-1)
    uv = torch.tensor([[[[0.5 / 8, 0.5 / 4], [7.5 / 8, 0.5 / 4], [0.5 / 8, 3.5 / 4], [2.5 / 8, 1.5 / 4]]]])
    for filter in ("nearest", "linear"):
        out = texture(tex, uv, filter)
        assert out.flatten().tolist() == [0.0, 7.0, 30.0, 12.0]


@pytest.mark.parametrize("filter,wrap", list(itertools.product(FILTERS, WRAPS)))
def test_constant_texture_returns_the_constant(filter, wrap):
    g = torch.Generator().manual_seed(13)
    tex = torch.full((9, 6, 3), 0.3)
    tex[..., 1] = 2.5
    _, uv, uv_da, bias, _ = random_case(g, shared=True, size=(9, 6))
    out = texture(tex, uv, filter, wrap, uv_da=uv_da, mip_level_bias=bias)
    expected = torch.tensor([0.3, 2.5, 0.3]).expand_as(out)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("filter", FILTERS)
def test_repeat_wraps_and_clamp_extends_the_edge(filter):
    g = torch.Generator().manual_seed(14)
    tex = torch.randn(6, 5, 2, generator=g)
    # Multiples of 1/64 are exact in float32 also after adding integers: u and u + 1 are the same point.
    uv = torch.randint(0, 64, (1, 4, 5, 2), generator=g).float() / 64
    uv_da = torch.rand(1, 4, 5, 4, generator=g) * 0.4
    base = texture(tex, uv, filter, "repeat", uv_da=uv_da)
    for shift in ([1.0, 0.0], [0.0, -1.0], [3.0, -2.0]):
        shifted = texture(tex, uv + torch.tensor(shift), filter, "repeat", uv_da=uv_da)
        assert torch.equal(shifted, base), shift
    # clamp: far outside the texture the corner texels come back (level 0 for the mipmap filter).
    corners = torch.tensor([[[[-3.0, -3.0], [4.0, -3.0], [-3.0, 4.0], [4.0, 4.0]]]])
    out = texture(tex, corners, filter, "clamp", uv_da=torch.zeros(1, 1, 4, 4))
    assert torch.equal(out[0, 0], torch.stack([tex[0, 0], tex[0, -1], tex[-1, 0], tex[-1, -1]]))
    # ...while repeat does not clamp: u = -0.25 / W blends the last and the first column.
    out = texture(tex, torch.tensor([[[[-0.25 / 5 + 0.0, 0.5 / 6]]]]), "linear", "repeat")
    torch.testing.assert_close(out[0, 0, 0], 0.75 * tex[0, 4] + 0.25 * tex[0, 0])


def test_mip_pyramid_sizes_mean_and_gradient_reach():
    g = torch.Generator().manual_seed(15)
    tex = torch.rand(2, 13, 10, 3, generator=g, requires_grad=True)
    levels = mip_pyramid(tex)
    assert [tuple(level.shape[1:3]) for level in levels] == [(13, 10), (6, 5), (3, 2), (1, 1)]
    # Area weighting (also for the odd sides) keeps the mean of every level.
    for level in levels:
        torch.testing.assert_close(level.mean(dim=(1, 2)), tex.mean(dim=(1, 2)), rtol=1e-6, atol=1e-6)
    # Every base texel contributes to the 1 x 1 top level, with weight 1 / (H W).
    (v_tex,) = torch.autograd.grad(levels[-1].sum(), tex)
    torch.testing.assert_close(v_tex, torch.full_like(v_tex, 1 / 130))
    # Same pyramid as the twin's dense area matrices.
    for ours, twin in zip(levels, twin_mip_pyramid(tex.detach())):
        torch.testing.assert_close(ours.detach(), twin, rtol=1e-6, atol=1e-6)
    assert len(mip_pyramid(tex, max_mip_level=1)) == 2
    sizes = [tuple(level.shape[1:3]) for level in mip_pyramid(torch.zeros(1, 1, 8, 1))]
    assert sizes == [(1, 8), (1, 4), (1, 2), (1, 1)]


def test_level_of_detail_selects_the_box_filtered_level():
    g = torch.Generator().manual_seed(16)
    tex = torch.rand(8, 8, 2, generator=g)
    box2 = tex.view(4, 2, 4, 2, 2).mean(dim=(1, 3))  # level 1
    box4 = tex.view(2, 4, 2, 4, 2).mean(dim=(1, 3))  # level 2
    uv = texel_centres(4, 4)  # centres of level 1's texels
    # Two base texels per pixel along x (and a smaller footprint along y): lod = 1 exactly.
    uv_da = torch.tensor([2 / 8, 0.0, 0.0, 1 / 8]).expand(1, 4, 4, 4)
    out = texture(tex, uv, "linear-mipmap-linear", uv_da=uv_da)
    torch.testing.assert_close(out[0], box2, rtol=1e-6, atol=1e-6)
    # A bias of +1 level: level 2, bilinearly filtered at the same points (which differs from level 1).
    level2 = texture(box4, uv, "linear")
    assert (level2 - box2).abs().max() > 0.05
    out = texture(tex, uv, "linear-mipmap-linear", uv_da=uv_da, mip_level_bias=torch.ones(1, 4, 4))
    torch.testing.assert_close(out, level2, rtol=1e-6, atol=1e-6)
    # Halfway between levels 1 and 2 (lod 1.5): the average of the two bilinear lookups.
    out = texture(tex, uv, "linear-mipmap-linear", uv_da=uv_da, mip_level_bias=torch.full((1, 4, 4), 0.5))
    torch.testing.assert_close(out, 0.5 * box2 + 0.5 * level2, rtol=1e-6, atol=1e-6)
    # max_mip_level=1 caps the lod at level 1, whatever the bias.
    out = texture(tex, uv, "linear-mipmap-linear", uv_da=uv_da, mip_level_bias=torch.full((1, 4, 4), 5.0),
                  max_mip_level=1)
    torch.testing.assert_close(out[0], box2, rtol=1e-6, atol=1e-6)


def test_bad_input_names_the_argument():
    tex = torch.rand(4, 4, 3)
    uv = torch.rand(1, 2, 2, 2)
    with pytest.raises(ValueError, match=r"filter must be one of 'nearest', 'linear', 'linear-mipmap-linear', got 'cubic'"):
        texture(tex, uv, filter="cubic")
    with pytest.raises(ValueError, match=r"wrap must be one of 'repeat', 'clamp', got 'mirror'"):
        texture(tex, uv, wrap="mirror")
    with pytest.raises(ValueError, match=r"uv contains 1 NaN or infinite values; allowed: finite texture coordinates"):
        bad = uv.clone()
        bad[0, 1, 0, 1] = float("nan")
        texture(tex, bad)
    with pytest.raises(ValueError, match=r"needs uv_da \[B, Hp, Wp, 4\]"):
        texture(tex, uv, filter="linear-mipmap-linear")
    with pytest.raises(ValueError, match=r"uv_da contains 1 NaN"):
        bad_da = torch.zeros(1, 2, 2, 4)
        bad_da[0, 0, 0, 0] = float("inf")
        texture(tex, uv, filter="linear-mipmap-linear", uv_da=bad_da)
    with pytest.raises(ValueError, match=r"uv_da must have shape \[B, Hp, Wp, 4\] = \[1, 2, 2, 4\]"):
        texture(tex, uv, filter="linear-mipmap-linear", uv_da=torch.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"mip_level_bias must have shape \[B, Hp, Wp\]"):
        texture(tex, uv, filter="linear-mipmap-linear", uv_da=torch.zeros(1, 2, 2, 4),
                mip_level_bias=torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"max_mip_level must be None or an int >= 0, got -1"):
        texture(tex, uv, filter="linear-mipmap-linear", uv_da=torch.zeros(1, 2, 2, 4), max_mip_level=-1)
    with pytest.raises(ValueError, match=r"uv must have shape \[B, Hp, Wp, 2\] \(last dimension 2\)"):
        texture(tex, torch.rand(1, 2, 2, 3))
    with pytest.raises(ValueError, match=r"uv must have shape \[B, Hp, Wp, 2\], got \(4, 2\)"):
        texture(tex, torch.rand(4, 2))
    with pytest.raises(ValueError, match=r"tex must have shape \[H, W, C\] or \[B, H, W, C\]"):
        texture(torch.rand(4, 3), uv)
    with pytest.raises(TypeError, match=r"tex must be a floating-point tensor .* got dtype torch.uint8"):
        texture(torch.zeros(4, 4, 3, dtype=torch.uint8), uv)
    with pytest.raises(TypeError, match=r"uv must be a torch.Tensor"):
        texture(tex, [[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"tex batch 3 must be 1 or the batch of uv \(1\)"):
        texture(torch.rand(3, 4, 4, 3), uv)
    with pytest.raises(ValueError, match=r"tex width must be in \[1, 16384\], got 0"):
        texture(torch.rand(4, 0, 3), uv)
    with pytest.raises(ValueError, match=r"all tensors must be on one device, got tex on cpu, uv on meta"):
        texture(tex, torch.empty(1, 2, 2, 2, device="meta"))


@pytest.mark.gpu
@pytest.mark.parametrize("filter,wrap", list(itertools.product(FILTERS, WRAPS)))
def test_cuda_matches_cpu(cuda_device, filter, wrap):
    g = torch.Generator().manual_seed(17)
    tex, uv, uv_da, bias, cotangent = random_case(g, shared=False, batch=2, size=(37, 50), pixels=(33, 29))
    kwargs = dict(filter=filter, wrap=wrap, uv_da=uv_da, mip_level_bias=bias)
    cpu, v_tex, v_uv = value_and_grads(texture, tex, uv, cotangent, **kwargs)
    kwargs_cuda = dict(filter=filter, wrap=wrap, uv_da=uv_da.to(cuda_device), mip_level_bias=bias.to(cuda_device))
    gpu, v_tex_gpu, v_uv_gpu = value_and_grads(texture, tex.to(cuda_device), uv.to(cuda_device),
                                               cotangent.to(cuda_device), **kwargs_cuda)
    # nvcc contracts a * b + c into fused multiply-adds: a few ulps; atomics reorder the texel sums.
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(v_tex_gpu.cpu(), v_tex, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(v_uv_gpu.cpu(), v_uv, rtol=1e-5, atol=2e-4)
