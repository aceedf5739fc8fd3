"""sample_lights: C++ CPU (and CUDA) vs the PyTorch twin (exact picks), the pick distribution, the
mirror-direction property, reproducibility and bad input."""

import math

import pytest
import torch

from intrinsix.kernels import SampledLights, reference, sample_lights
from intrinsix.kernels.reference.sample_lights import pinhole_view
from intrinsix.kernels.reference.sample_lights import sample_lights_from_uniform as twin_from_uniform
from intrinsix.kernels.sample_lights import sample_lights_from_uniform


def camera_facing_normals(view, generator):
    """Unit normals with n.v >= 1/3 > 0: normalize(2 v + e) with |e| < 1 (so (2 v + e).v > 1)."""
    e = torch.randn(view.shape, generator=generator)
    e = e / e.norm(dim=-1, keepdim=True) * torch.rand(view.shape[:-1] + (1,), generator=generator) * 0.99
    n = 2 * view + e
    return n / n.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("with_view,with_mask", [(False, False), (True, False), (False, True), (True, True)])
def test_matches_twin_exactly(with_view, with_mask):
    g = torch.Generator().manual_seed(20)
    batch, height, width, n = 3, 6, 9, 4000
    roughness = torch.rand(batch, height, width, 1, generator=g) * 1.3 - 0.1  # some <0, some >=1
    roughness[2] = 1.0  # image 2: every weight is 0 -> uniform over its valid pixels
    normal = torch.randn(batch, height, width, 3, generator=g)  # not unit: the op normalises
    view = torch.randn(batch, height, width, 3, generator=g) if with_view else None
    mask = (torch.rand(batch, height, width, generator=g) < 0.6) if with_mask else None
    u = torch.rand(batch, n, generator=g)

    ours = sample_lights_from_uniform(roughness, normal, view, u, mask)
    twin = twin_from_uniform(roughness, normal, view, u, mask)
    assert isinstance(ours, SampledLights)
    assert ours.pixel.dtype == torch.int64 and ours.pixel.shape == (batch, n, 2)
    assert torch.equal(ours.pixel, twin.pixel)
    # Same float32 normalisations in a different order: a few ulps of unit vectors.
    torch.testing.assert_close(ours.direction, twin.direction, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours.direction.norm(dim=-1), torch.ones(batch, n), rtol=0, atol=1e-6)
    assert torch.equal(ours.radiance, torch.full((batch, n, 3), math.e, dtype=torch.float32))

    rows, cols = ours.pixel[..., 0], ours.pixel[..., 1]
    assert rows.min() >= 0 and rows.max() < height and cols.min() >= 0 and cols.max() < width
    b = torch.arange(batch).unsqueeze(1)
    # Zero-weight pixels (roughness >= 1, masked) are never picked, except by the uniform fallback.
    assert (roughness[b[:2], rows[:2], cols[:2], 0] < 1).all()
    if with_mask:
        assert mask[b, rows, cols].all()
    # The fallback image really spreads over its valid pixels.
    valid_count = int(mask[2].sum()) if with_mask else height * width
    assert len(set((ours.pixel[2, :, 0] * width + ours.pixel[2, :, 1]).tolist())) == valid_count


def test_pick_distribution_follows_one_minus_roughness():
    g = torch.Generator().manual_seed(21)
    height, width, draws = 4, 5, 200_000
    roughness = torch.rand(1, height, width, 1, generator=g) * 1.25  # ~20 % of pixels with weight 0
    normal = torch.tensor([0.0, 0.0, 1.0]).expand(1, height, width, 3)
    lights = sample_lights(roughness, normal, None, draws, torch.Generator().manual_seed(5))

    weight = (1 - roughness.flatten()).clamp(min=0)
    p = weight / weight.sum()
    counts = torch.bincount(lights.pixel[0, :, 0] * width + lights.pixel[0, :, 1], minlength=height * width)
    freq = counts.double() / draws
    assert (weight == 0).any() and torch.all(counts[weight == 0] == 0)
    # Each count is Binomial(draws, p_i): its frequency has standard deviation sqrt(p (1 - p) / draws)
    # (<= 0.0011 here). A correct sampler exceeds 5 standard deviations in any of the 20 pixels with
    # probability < 20 * 6e-7; sampling by roughness instead, or uniformly, misses by > 100 of them.
    std = (p * (1 - p) / draws).sqrt().double()
    positive = p > 0
    z = (freq[positive] - p[positive].double()).abs() / std[positive]
    assert z.max() < 5, z


def test_mirror_direction_puts_the_highlight_on_the_picked_pixel():
    g = torch.Generator().manual_seed(22)
    batch, height, width, n = 2, 8, 12, 64
    for view in (None, torch.randn(batch, height, width, 3, generator=g)):
        v_all = pinhole_view(batch, height, width) if view is None else view / view.norm(dim=-1, keepdim=True)
        normal = camera_facing_normals(v_all, g)
        roughness = torch.rand(batch, height, width, 1, generator=g)
        lights = sample_lights(roughness, normal, view, n, torch.Generator().manual_seed(3))
        b = torch.arange(batch).unsqueeze(1)
        rows, cols = lights.pixel[..., 0], lights.pixel[..., 1]
        nrm, v = normal[b, rows, cols], v_all[b, rows, cols]
        h = lights.direction + v
        h = h / h.norm(dim=-1, keepdim=True)
        # n.h = 1: the half vector is the normal, the peak of every microfacet lobe.
        torch.testing.assert_close((nrm * h).sum(-1), torch.ones(batch, n), rtol=0, atol=1e-5)
        # Mirror symmetry: the light makes the same angle with n as the view does.
        torch.testing.assert_close((nrm * lights.direction).sum(-1), (nrm * v).sum(-1), rtol=0, atol=1e-5)


def test_default_view_is_the_reference_pinhole_camera_rows_bottom_up():
    height, width = 2, 4
    roughness = torch.ones(1, height, width, 1)
    roughness[0, 0, 0] = 0.0  # only the bottom-left pixel can be picked
    normal = torch.tensor([0.0, 0.0, 1.0]).expand(1, height, width, 3)
    lights = sample_lights(roughness, normal, None, 3)
    assert lights.pixel[0].tolist() == [[0, 0]] * 3
    # Pixel (row 0, col 0): x_ndc = -0.75, y_ndc = -0.5 (bottom), x = x_ndc t, y = y_ndc t H / W,
    # v = normalize(-x, -y, 1); for n = +z the mirror direction is (x, y, 1) normalised.
    t = math.tan(math.radians(42.5))
    x, y = -0.75 * t, -0.5 * t * height / width
    expected = torch.tensor([x, y, 1.0]) / math.sqrt(x * x + y * y + 1)
    torch.testing.assert_close(lights.direction[0], expected.expand(3, 3), rtol=0, atol=1e-6)
    assert lights.direction[0, 0, 1] < 0  # below the axis: the bottom row lights from below


def test_seeded_generator_reproduces_and_outputs_carry_no_gradient():
    g = torch.Generator().manual_seed(23)
    roughness = torch.rand(2, 5, 5, 1, generator=g).requires_grad_()
    normal = torch.randn(2, 5, 5, 3, generator=g).requires_grad_()
    first = sample_lights(roughness, normal, None, 50, torch.Generator().manual_seed(7))
    second = sample_lights(roughness, normal, None, 50, torch.Generator().manual_seed(7))
    other = sample_lights(roughness, normal, None, 50, torch.Generator().manual_seed(8))
    assert torch.equal(first.pixel, second.pixel) and torch.equal(first.direction, second.direction)
    assert not torch.equal(first.pixel, other.pixel)
    twin = reference.sample_lights(roughness, normal, None, 50, torch.Generator().manual_seed(7))
    assert torch.equal(first.pixel, twin.pixel)
    for t in first:
        assert not t.requires_grad and t.grad_fn is None
    # The default generator works too, and n defaults to 5 lights.
    assert sample_lights(roughness, normal).direction.shape == (2, 5, 3)


def test_bad_input_names_the_argument():
    roughness = torch.rand(1, 3, 3, 1)
    normal = torch.randn(1, 3, 3, 3)
    with pytest.raises(ValueError, match=r"roughness must have shape \[B, H, W, 1\], got \(1, 3, 3\)"):
        sample_lights(torch.rand(1, 3, 3), normal)
    with pytest.raises(ValueError, match=r"roughness must have shape \[B, H, W, 1\] \(last dimension 1\)"):
        sample_lights(torch.rand(1, 3, 3, 2), normal)
    with pytest.raises(ValueError, match=r"normal must have shape \[B, H, W, 3\] = \[1, 3, 3, 3\]"):
        sample_lights(roughness, torch.randn(1, 3, 4, 3))
    with pytest.raises(ValueError, match=r"view must have shape \[B, H, W, 3\] \(last dimension 3\)"):
        sample_lights(roughness, normal, torch.randn(1, 3, 3, 2))
    with pytest.raises(TypeError, match=r"roughness must be a floating-point tensor .* got dtype torch.int64"):
        sample_lights(torch.zeros(1, 3, 3, 1, dtype=torch.int64), normal)
    with pytest.raises(ValueError, match=r"n must be an int in \[1, 16777216\], got 0"):
        sample_lights(roughness, normal, None, 0)
    with pytest.raises(ValueError, match=r"n must be an int in .*got 2.5"):
        sample_lights(roughness, normal, None, 2.5)
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator or None, got int"):
        sample_lights(roughness, normal, None, 5, 1234)
    with pytest.raises(ValueError, match=r"generator is on cpu but the inputs are on meta"):
        sample_lights(roughness.to("meta"), normal.to("meta"), None, 5, torch.Generator())
    with pytest.raises(ValueError, match=r"all tensors must be on one device, got roughness on cpu, normal on meta"):
        sample_lights(roughness, normal.to("meta"))
    bad = roughness.clone()
    bad[0, 1, 1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"roughness contains 1 NaN or infinite values; allowed: finite values"):
        sample_lights(bad, normal)
    with pytest.raises(TypeError, match=r"mask must be a bool tensor \[B, H, W\] or \[B, H, W, 1\].*got torch.float32"):
        sample_lights(roughness, normal, mask=torch.ones(1, 3, 3))
    with pytest.raises(ValueError, match=r"mask must have shape \[B, H, W\] = \[1, 3, 3\]"):
        sample_lights(roughness, normal, mask=torch.ones(1, 3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask has no valid \(True\) pixel in image\(s\) \[1\]"):
        mask = torch.ones(2, 3, 3, 1, dtype=torch.bool)
        mask[1] = False
        sample_lights(roughness.expand(2, 3, 3, 1), normal.expand(2, 3, 3, 3), mask=mask)
    with pytest.raises(ValueError, match=r"u must lie in \[0, 1\), got values in \[0.0, 1.0\]"):
        sample_lights_from_uniform(roughness, normal, None, torch.tensor([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"u must have shape \[B, n\] = \[1, n\]"):
        sample_lights_from_uniform(roughness, normal, None, torch.rand(2, 3))


@pytest.mark.gpu
def test_cuda_matches_cpu(cuda_device):
    g = torch.Generator().manual_seed(24)
    batch, height, width, n = 3, 37, 53, 2000
    roughness = torch.rand(batch, height, width, 1, generator=g)
    normal = torch.randn(batch, height, width, 3, generator=g)
    mask = torch.rand(batch, height, width, generator=g) < 0.7
    u = torch.rand(batch, n, generator=g)
    for view in (None, torch.randn(batch, height, width, 3, generator=g)):
        cpu = sample_lights_from_uniform(roughness, normal, view, u, mask)
        gpu = sample_lights_from_uniform(roughness.to(cuda_device), normal.to(cuda_device),
                                         None if view is None else view.to(cuda_device), u.to(cuda_device),
                                         mask.to(cuda_device))
        # The prefix sums run in float64 (a parallel scan on the GPU): a pick could only differ if
        # u * total fell within ~1e-12 of a bin edge.
        assert torch.equal(gpu.pixel.cpu(), cpu.pixel)
        # nvcc fuses multiply-adds in the normalisations: a few ulps.
        torch.testing.assert_close(gpu.direction.cpu(), cpu.direction, rtol=0, atol=2e-6)
    lights = sample_lights(roughness.to(cuda_device), normal.to(cuda_device), None, 8,
                           torch.Generator(device=cuda_device).manual_seed(1))
    assert lights.direction.device.type == "cuda" and lights.pixel.shape == (batch, 8, 2)
