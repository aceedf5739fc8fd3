"""shade: C++ CPU (and CUDA) vs the PyTorch twin, forward and backward; gradcheck of the twin; the
Monte Carlo environment estimator (furnace, quadrature of the integral and of its gradient);
analytic light cases; the random numbers; bad input."""

import math

import pytest
import torch

from intrinsix.kernels import (DirectionalLights, EnvironmentMap, PointLights, reference, shade,
                               view_directions)
from intrinsix.kernels import _backend
from intrinsix.kernels.reference import brdf as twin_brdf
from intrinsix.kernels.reference.random import random_uniform
from intrinsix.kernels.reference.shade import environment_samples, shade_samples

BRDFS = ["disney", "ggx"]


# ---- inputs ----------------------------------------------------------------------------------
def random_surface(g, batch=2, height=7, width=6, dtype=torch.float32):
    """Random maps with the awkward cases in them: back-facing and unnormalised normals, a
    zero-length normal, masked-out pixels, roughness near 0 and 1."""
    albedo = torch.rand(batch, height, width, 3, generator=g)
    roughness = torch.rand(batch, height, width, 1, generator=g) * 0.95 + 0.05
    roughness[0, 0, 0] = 0.0
    roughness[0, 0, 1] = 1.0
    metallic = torch.rand(batch, height, width, 1, generator=g)
    normal = torch.randn(batch, height, width, 3, generator=g)
    normal[..., 2] = normal[..., 2].abs() + 0.2  # mostly toward the camera; x, y random
    normal[0, 1, 1, 2] = -1.0  # back-facing
    normal = normal * (torch.rand(batch, height, width, 1, generator=g) + 0.5)  # any length
    normal[0, 0, 2] = 0.0  # empty pixel
    mask = (torch.rand(batch, height, width, 1, generator=g) > 0.15).float()
    return [t.to(dtype) for t in (albedo, roughness, metallic, normal, mask)]


def random_lights(g, batch, kind, seed=5, samples=3):
    if kind == "directional":
        return [DirectionalLights(torch.randn(3, 3, generator=g), torch.rand(3, 3, generator=g) * 3)]
    if kind == "point":
        position = torch.randn(batch, 2, 3, generator=g)
        return [PointLights(position, torch.rand(batch, 2, 3, generator=g) * 5)]
    # Environment: random texels (not smooth: any texel choice difference would show), rotated.
    radiance = torch.rand(6, 12, 3, generator=g) * 2
    radiance[2, 3] = 40.0  # a small bright source
    angle = 0.7
    rotation = torch.tensor([[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]])
    return [EnvironmentMap(radiance, rotation=rotation, samples=samples, seed=seed)]


def positions(g, batch, height, width):
    p = torch.randn(batch, height, width, 3, generator=g) * 0.5
    p[..., 2] -= 3.0
    return p


def value_and_grads(fn, maps, cotangents, **kwargs):
    inputs = [t.detach().clone().requires_grad_() for t in maps[:4]]
    diffuse, specular = fn(*inputs, **kwargs)
    grads = torch.autograd.grad((diffuse * cotangents[0]).sum() + (specular * cotangents[1]).sum(), inputs)
    return (diffuse.detach(), specular.detach()), grads


# ---- kernel vs twin ------------------------------------------------------------------------------
@pytest.mark.parametrize("brdf", BRDFS)
@pytest.mark.parametrize("kinds", [("directional",), ("point",), ("environment",),
                                   ("directional", "point", "environment")])
def test_matches_twin_forward_and_backward(brdf, kinds):
    g = torch.Generator().manual_seed(11)
    albedo, roughness, metallic, normal, mask = random_surface(g)
    batch, height, width = albedo.shape[:3]
    lights = [light for kind in kinds for light in random_lights(g, batch, kind)]
    kwargs = dict(view=None, lights=lights, brdf=brdf, position=positions(g, batch, height, width), mask=mask)
    cotangents = [torch.randn(batch, height, width, 3, generator=g) for _ in range(2)]
    maps = (albedo, roughness, metallic, normal)
    ours, v_ours = value_and_grads(shade, maps, cotangents, **kwargs)
    twin, v_twin = value_and_grads(reference.shade, maps, cotangents, **kwargs)
    # The twin repeats the kernel's float32 operations in the same order (reference/brdf.py), so both
    # make the same discrete choices (lobe, texel) and their samples agree bit for bit; what remains
    # is the order of the final sum over lights and samples, a few float32 ulps of the largest term.
    for a, b in zip(ours, twin):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6 * float(b.abs().max()))
    # Gradients: hand-written colour terms + Dual4 scalars vs autograd, different summation orders;
    # sharp GGX lobes (roughness ~ 0.05) amplify the rounding of n.h, so the bound is relative to
    # the largest gradient of the map.
    for name, a, b in zip(("albedo", "roughness", "metallic", "normal"), v_ours, v_twin):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=3e-5 * float(b.abs().max()), msg=name)
    # masked and empty pixels: exact zeros
    empty = (mask[..., 0] == 0) | (normal.norm(dim=-1) == 0)
    assert bool((ours[0][empty] == 0).all()) and bool((v_ours[3][empty] == 0).all())


def test_view_none_is_the_pinhole_camera():
    g = torch.Generator().manual_seed(3)
    albedo, roughness, metallic, normal, _ = random_surface(g, batch=1, height=5, width=8)
    lights = random_lights(g, 1, "directional") + random_lights(g, 1, "environment")
    implicit = shade(albedo, roughness, metallic, normal, None, lights, fov_deg=60.0)
    explicit = shade(albedo, roughness, metallic, normal, view_directions(5, 8, 60.0)[None], lights)
    for a, b in zip(implicit, explicit):
        assert torch.equal(a, b)  # the kernel's camera and view_directions round identically
    v = view_directions(5, 8)
    assert v[0, 0, 0] > 0 and v[0, 0, 1] > 0 and v[0, 0, 2] > 0  # row 0 col 0 = bottom-left: v points up-right
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(5, 8))
    assert float(v[2, 0, 0] / v[2, 0, 2]) == pytest.approx(math.tan(math.radians(42.5)) * 7 / 8, rel=1e-6)
    assert float(v[2, 0, 1]) == 0.0  # middle row of an odd height: y = 0


def test_random_numbers_match_common_h():
    pixel = torch.arange(0, 3000, 7, dtype=torch.int64)
    sample = pixel % 13
    for seed, dim in ((0, 0), (12345, 3), (2**32 - 1, 15)):
        ours = _backend.ops().shade_random_uniform(seed, pixel, sample, dim)
        assert torch.equal(ours, random_uniform(seed, pixel, sample, dim))
    u = random_uniform(7, torch.arange(20000), 0, 0)
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0 and abs(float(u.mean()) - 0.5) < 0.01


# ---- gradcheck of the twin -----------------------------------------------------------------------
@pytest.mark.parametrize("brdf", BRDFS)
def test_gradcheck_twin_float64_analytic_lights(brdf):
    g = torch.Generator().manual_seed(4)
    albedo, roughness, metallic, normal, _ = random_surface(g, batch=1, height=2, width=3, dtype=torch.float64)
    roughness = roughness.clamp(min=0.2)
    normal = normal.clone()
    normal[0, 0, 2] = torch.tensor([0.1, 0.2, 1.0], dtype=torch.float64)
    normal[0, 1, 1] = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64)
    position = positions(g, 1, 2, 3).double()
    lights = random_lights(g, 1, "directional") + random_lights(g, 1, "point")

    def fn(*maps):
        return reference.shade(*maps, None, lights, brdf, position=position)

    inputs = [t.requires_grad_() for t in (albedo, roughness, metallic, normal)]
    assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("brdf", BRDFS)
def test_gradcheck_twin_float64_environment_with_frozen_samples(brdf):
    # The estimator's samples depend on the inputs but are constants for the gradient (see the
    # doc), so gradcheck runs on the differentiable part with the samples of the starting point.
    g = torch.Generator().manual_seed(6)
    albedo, roughness, metallic, normal, _ = random_surface(g, batch=1, height=2, width=3, dtype=torch.float64)
    roughness = roughness.clamp(min=0.25)
    normal = normal.reshape(6, 3)
    normal[[1, 2, 4]] = torch.tensor([[0.2, -0.1, 1.0], [0.0, 0.3, 1.0], [-0.3, 0.0, 1.0]], dtype=torch.float64)
    view = view_directions(2, 3).double().reshape(6, 3)
    env = random_lights(g, 1, "environment")[0]
    flat = [t.reshape(6, -1) for t in (albedo, roughness, metallic)]
    n0 = normal / normal.norm(dim=-1, keepdim=True)
    frozen = environment_samples(env, twin_brdf.Surface(brdf, *flat, n0, view), torch.arange(6))

    def fn(a, r, m, n):
        s = twin_brdf.Surface(brdf, a, r, m, n / n.norm(dim=-1, keepdim=True), view)
        return shade_samples(s, frozen.direction, frozen.radiance)

    inputs = [t.clone().requires_grad_() for t in flat + [normal]]
    assert torch.autograd.gradcheck(fn, inputs)


# ---- the environment estimator -------------------------------------------------------------------
def uniform_material(size, albedo, roughness, metallic, normal, view):
    shape = (1, size, size)
    maps = [torch.tensor(x, dtype=torch.float32).expand(*shape, -1).contiguous()
            for x in (albedo, [roughness], [metallic], normal)]
    v = torch.nn.functional.normalize(torch.tensor(view), dim=0).expand(*shape, 3).contiguous()
    return maps, v


def test_furnace_white_lambertian_returns_the_environment():
    # ggx diffuse is Lambert a (1 - m) / pi: with a = 1, m = 0 it reflects all it receives, so under
    # a uniform environment of radiance L its diffuse output is L (per channel). The specular lobe
    # is sampled too (kS = 0.04 / 1.04): MIS must stay unbiased for the diffuse integrand.
    env_radiance = torch.tensor([0.5, 1.0, 2.0]).expand(16, 32, 3)
    rotation = torch.tensor([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])
    maps, view = uniform_material(64, [1.0, 1.0, 1.0], 0.4, 0.0, [0.3, 0.2, 1.0], [0.1, -0.2, 1.0])
    env = EnvironmentMap(env_radiance.contiguous(), rotation=rotation, samples=16, seed=9)
    diffuse = shade(*maps, view, env, "ggx").diffuse.reshape(-1, 3)
    mean, error = diffuse.mean(dim=0), diffuse.std(dim=0) / diffuse.shape[0] ** 0.5
    assert bool((error < 0.0015 * torch.tensor([0.5, 1.0, 2.0])).all())  # the error bar is tight
    assert bool(((mean - torch.tensor([0.5, 1.0, 2.0])).abs() < 4 * error).all()), (mean, error)


def quadrature(env, maps, view, brdf, sub=32):
    """Float64 midpoint quadrature of radiance * f * max(n.l, 0) over the environment, on a grid
    aligned with the texels (exact for the piecewise-constant radiance). Differentiable."""
    height, width = env.radiance.shape[:2]
    rows, cols = height * sub, width * sub
    v = (torch.arange(rows, dtype=torch.float64) + 0.5) / rows
    u = (torch.arange(cols, dtype=torch.float64) + 0.5) / cols
    theta, phi = torch.meshgrid(math.pi * v, 2 * math.pi * (u - 0.5), indexing="ij")
    d = torch.stack([theta.sin() * phi.sin(), theta.cos(), -theta.sin() * phi.cos()], dim=-1)
    radiance = env.radiance.double().repeat_interleave(sub, 0).repeat_interleave(sub, 1)
    weight = theta.sin() * (math.pi / rows) * (2 * math.pi / cols)
    rotation = torch.tensor(env.rotation, dtype=torch.float64).reshape(3, 3)
    l = (d @ rotation).reshape(1, -1, 3)  # R^T d
    a, r, m, n = (t.reshape(1, 1, -1) for t in maps)
    s = twin_brdf.Surface(brdf, a, r, m, n / n.norm(dim=-1, keepdim=True), view.double().reshape(1, 1, 3))
    diffuse, specular = s.radiance(l, (radiance * weight[..., None]).reshape(1, -1, 3))
    return diffuse.sum(dim=1)[0], specular.sum(dim=1)[0]


def sky(height=8, width=16):
    """A smooth sky with a sun: blue gradient, bright warm sun off-axis."""
    v = (torch.arange(height) + 0.5) / height
    base = torch.stack([0.3 + 0.2 * v, 0.5 + 0.1 * v, 1.0 - 0.5 * v], dim=-1)[:, None].expand(height, width, 3)
    radiance = base.clone()
    radiance[2, 9] = torch.tensor([30.0, 25.0, 20.0])
    return radiance


@pytest.mark.parametrize("brdf,roughness", [("disney", 0.45), ("ggx", 0.6)])
def test_environment_estimate_and_gradient_match_quadrature(brdf, roughness):
    rotation = torch.tensor([[math.cos(1.0), 0, -math.sin(1.0)], [0, 1, 0], [math.sin(1.0), 0, math.cos(1.0)]])
    env = EnvironmentMap(sky(), rotation=rotation, samples=16, seed=3)
    albedo, metallic, normal = [0.8, 0.5, 0.3], 0.3, [0.2, 0.4, 1.0]
    maps, view = uniform_material(64, albedo, roughness, metallic, normal, [0.3, 0.1, 1.0])
    inputs = [t.clone().requires_grad_() for t in maps]
    diffuse, specular = shade(*inputs, view, env, brdf)
    count = diffuse.shape[1] * diffuse.shape[2]
    c_d, c_s = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.0, 0.7, -0.4])
    per_pixel = [(diffuse * c_d).sum(-1), (specular * c_s).sum(-1)]
    grads = torch.autograd.grad(sum(x.sum() for x in per_pixel), inputs)

    exact = [torch.tensor(x, dtype=torch.float64, requires_grad=True)
             for x in (albedo, [roughness], [metallic], normal)]
    q_diffuse, q_specular = quadrature(env, exact, view[0, 0, 0], brdf)
    q_grads = torch.autograd.grad((q_diffuse * c_d.double()).sum() + (q_specular * c_s.double()).sum(), exact)

    def check(samples, expected, what):
        samples = samples.reshape(count, -1).double()
        mean, error = samples.mean(dim=0), samples.std(dim=0) / count ** 0.5
        # 4.5 standard errors (per component), plus 0.3 % for the quadrature itself
        bound = 4.5 * error + 3e-3 * expected.abs().max()
        assert bool(((mean - expected).abs() <= bound).all()), (what, mean, expected, error)

    check(per_pixel[0], (q_diffuse * c_d.double()).sum(), "diffuse")
    check(per_pixel[1], (q_specular * c_s.double()).sum(), "specular")
    for name, grad, expected in zip(("albedo", "roughness", "metallic", "normal"), grads, q_grads):
        check(grad, expected.detach(), f"gradient of {name}")


def test_seeds_and_groups():
    g = torch.Generator().manual_seed(8)
    albedo, roughness, metallic, normal, _ = random_surface(g, batch=1, height=4, width=4)
    env_a, env_b = (EnvironmentMap(sky(), samples=2, seed=s) for s in (1, 2))
    directional = random_lights(g, 1, "directional")[0]
    maps = (albedo, roughness, metallic, normal)
    a1, a2, b = (shade(*maps, None, e).diffuse for e in (env_a, env_a, env_b))
    assert torch.equal(a1, a2) and not torch.equal(a1, b)  # deterministic per seed
    both = shade(*maps, None, [env_a, directional, env_b])
    parts = [shade(*maps, None, light) for light in (env_a, directional, env_b)]
    for k in range(2):
        torch.testing.assert_close(both[k], sum(p[k] for p in parts), rtol=1e-5, atol=1e-6)
    mask = torch.rand(1, 4, 4, 1, generator=g) > 0.5
    masked = [shade(*maps, None, env_a, mask=m).diffuse for m in (mask, mask.float())]
    assert torch.equal(masked[0], masked[1]) and bool((masked[0][~mask[..., 0]] == 0).all())
    black = EnvironmentMap(torch.zeros(4, 8, 3), samples=4)
    assert black.is_black and torch.equal(shade(*maps, None, [directional, black]).diffuse,
                                          shade(*maps, None, directional).diffuse)


def test_importance_tables():
    radiance = sky(8, 16)
    env = EnvironmentMap(radiance)
    assert env.marginal[-1] == 1.0 and bool((env.conditional[:, -1] == 1.0).all())
    assert bool((env.marginal.diff() >= 0).all()) and bool((env.conditional.diff(dim=1) >= 0).all())
    torch.testing.assert_close(env.probability.sum(), torch.tensor(1.0))
    theta = (torch.arange(8) + 0.5) / 8 * math.pi
    weight = (radiance @ torch.tensor([0.2126, 0.7152, 0.0722])) * theta.sin()[:, None]
    torch.testing.assert_close(env.probability, weight / weight.sum(), rtol=1e-4, atol=1e-7)
    # texel (2, 9) holds the sun: sampled in proportion to its weight
    pixel = torch.arange(200000)
    row = torch.searchsorted(env.marginal, random_uniform(0, pixel, 0, 3), right=True)
    assert abs(float((row == 2).float().mean()) - float(env.probability[2].sum())) < 0.005


# ---- analytic cases --------------------------------------------------------------------------------
def one_pixel(albedo, roughness, metallic, normal=(0.0, 0.0, 1.0), view=(0.0, 0.0, 1.0)):
    maps = [torch.tensor(x, dtype=torch.float32).reshape(1, 1, 1, -1)
            for x in (albedo, [roughness], [metallic], normal)]
    return maps, torch.nn.functional.normalize(torch.tensor(view), dim=0).reshape(1, 1, 1, 3)


def test_directional_light_on_a_lambertian_pixel():
    angle = math.radians(50.0)
    maps, view = one_pixel([0.8, 0.4, 0.2], 0.6, 0.0)
    radiance = torch.tensor([[2.0, 3.0, 4.0]])
    light = DirectionalLights(torch.tensor([[math.sin(angle), 0.0, math.cos(angle)]]), radiance)
    diffuse = shade(*maps, view, light, "ggx").diffuse[0, 0, 0]
    expected = torch.tensor([0.8, 0.4, 0.2]) / math.pi * radiance[0] * math.cos(angle)
    torch.testing.assert_close(diffuse, expected, rtol=2e-6, atol=0)
    below = DirectionalLights(torch.tensor([[1.0, 0.0, -0.1]]), radiance)
    assert torch.equal(shade(*maps, view, below, "ggx").diffuse, torch.zeros(1, 1, 1, 3))


@pytest.mark.parametrize("brdf", BRDFS)
def test_head_on_light_closed_forms(brdf):
    # l = v = n: the Disney retro-reflection factor is 1, D = 1 / (pi alpha^2), the visibility
    # term is 1/4 for both BRDFs and F = F0.
    albedo, roughness, metallic = torch.tensor([0.9, 0.5, 0.1]), 0.5, 0.25
    maps, view = one_pixel(albedo.tolist(), roughness, metallic)
    e = torch.tensor([1.5, 1.0, 0.5])
    out = shade(*maps, view, DirectionalLights(torch.tensor([[0.0, 0.0, 1.0]]), e[None]), brdf)
    alpha = roughness if brdf == "disney" else roughness**2
    f0 = 0.04 * (1 - metallic) + albedo * metallic
    torch.testing.assert_close(out.diffuse[0, 0, 0], albedo * (1 - metallic) / math.pi * e, rtol=2e-6, atol=0)
    torch.testing.assert_close(out.specular[0, 0, 0], f0 / (4 * math.pi * alpha**2) * e, rtol=2e-5, atol=0)


def test_point_light_inverse_square():
    maps, view = one_pixel([0.5, 0.5, 0.5], 0.5, 0.0, normal=(0.0, 1.0, 0.0))
    position = torch.tensor([0.0, -1.0, -4.0]).reshape(1, 1, 1, 3)
    near = PointLights(torch.tensor([[0.0, 1.0, -4.0]]), torch.tensor([[8.0, 8.0, 8.0]]))
    far = PointLights(torch.tensor([[0.0, 3.0, -4.0]]), torch.tensor([[8.0, 8.0, 8.0]]))
    d_near = shade(*maps, view, near, "ggx", position=position).diffuse[0, 0, 0]
    d_far = shade(*maps, view, far, "ggx", position=position).diffuse[0, 0, 0]
    torch.testing.assert_close(d_near, torch.full((3,), 0.5 / math.pi * 8.0 / 4.0), rtol=2e-6, atol=0)
    torch.testing.assert_close(d_far, d_near / 4.0, rtol=2e-6, atol=0)


# ---- bad input ------------------------------------------------------------------------------------
def test_bad_input_names_the_argument():
    maps, view = one_pixel([0.5, 0.5, 0.5], 0.5, 0.0)
    light = DirectionalLights(torch.tensor([[0.0, 0.0, 1.0]]), torch.ones(1, 3))
    albedo, roughness, metallic, normal = maps
    with pytest.raises(TypeError, match="albedo must be a floating-point tensor"):
        shade(albedo.to(torch.int32), roughness, metallic, normal, view, light)
    with pytest.raises(ValueError, match=r"roughness must have shape \[B, H, W, 1\]"):
        shade(albedo, roughness.expand(1, 1, 1, 2), metallic, normal, view, light)
    with pytest.raises(ValueError, match=r"normal must have shape \[B, H, W, 3\] = \[1, 1, 1, 3\]"):
        shade(albedo, roughness, metallic, normal.expand(1, 2, 1, 3), view, light)
    with pytest.raises(ValueError, match="all tensors must be on one device.*normal on meta"):
        shade(albedo, roughness, metallic, normal.to("meta"), view, light)
    with pytest.raises(ValueError, match="roughness contains 1 NaN"):
        shade(albedo, torch.full_like(roughness, float("nan")), metallic, normal, view, light)
    with pytest.raises(ValueError, match=r"metallic must lie in \[0.0, 1.0\], got values in \[1.5, 1.5\]"):
        shade(albedo, roughness, metallic + 1.5, normal, view, light)
    with pytest.raises(ValueError, match="brdf must be one of 'disney', 'ggx', got 'phong'"):
        shade(albedo, roughness, metallic, normal, view, light, "phong")
    with pytest.raises(TypeError, match=r"lights\[0\] must be DirectionalLights, PointLights or EnvironmentMap"):
        shade(albedo, roughness, metallic, normal, view, [torch.ones(3)])
    with pytest.raises(ValueError, match="point lights need the surface position map"):
        shade(albedo, roughness, metallic, normal, view, PointLights(torch.zeros(1, 3), torch.ones(1, 3)))
    with pytest.raises(ValueError, match="view requires grad"):
        shade(albedo, roughness, metallic, normal, view.clone().requires_grad_(), light)
    with pytest.raises(ValueError, match=r"fov_deg must be a number in \(0, 180\)"):
        shade(albedo, roughness, metallic, normal, None, light, fov_deg=180.0)
    with pytest.raises(ValueError, match="DirectionalLights radiance must lie in"):
        DirectionalLights(torch.tensor([[0.0, 0.0, 1.0]]), -torch.ones(1, 3))
    with pytest.raises(ValueError, match="DirectionalLights direction holds 1 zero-length"):
        DirectionalLights(torch.zeros(1, 3), torch.ones(1, 3))
    with pytest.raises(ValueError, match="EnvironmentMap rotation must be a rotation matrix"):
        EnvironmentMap(torch.ones(4, 8, 3), rotation=torch.eye(3) * 2)
    with pytest.raises(ValueError, match=r"EnvironmentMap samples must be in \[1, 65536\], got 0"):
        EnvironmentMap(torch.ones(4, 8, 3), samples=0)
    bad_env = torch.ones(4, 8, 3)
    bad_env[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="EnvironmentMap radiance contains 1 NaN"):
        EnvironmentMap(bad_env)
    with pytest.raises(ValueError, match="at most 4 environment maps"):
        shade(albedo, roughness, metallic, normal, view, [EnvironmentMap(torch.ones(2, 4, 3))] * 5)


# ---- GPU tier ---------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("brdf", BRDFS)
def test_cuda_matches_cpu(cuda_device, brdf):
    g = torch.Generator().manual_seed(21)
    albedo, roughness, metallic, normal, mask = random_surface(g, batch=2, height=33, width=17)
    roughness = roughness.clamp(min=0.2)  # sharp lobes magnify FMA rounding (nvcc contracts a*b+c)
    batch, height, width = albedo.shape[:3]
    position = positions(g, batch, height, width)
    env = EnvironmentMap(sky(16, 32), samples=4, seed=2)
    lights = random_lights(g, batch, "directional") + random_lights(g, batch, "point") + [env]
    cotangents = [torch.randn(batch, height, width, 3, generator=g) for _ in range(2)]
    maps = (albedo, roughness, metallic, normal)
    cpu, v_cpu = value_and_grads(shade, maps, cotangents, view=None, lights=lights, brdf=brdf,
                                 position=position, mask=mask)
    moved = [t.to(cuda_device) for t in maps]
    gpu, v_gpu = value_and_grads(shade, moved, [c.to(cuda_device) for c in cotangents], view=None,
                                 lights=[light.to(cuda_device) for light in lights], brdf=brdf,
                                 position=position.to(cuda_device), mask=mask.to(cuda_device))
    # nvcc fuses multiply-adds, so sample directions differ in the last bits; with roughness >= 0.2
    # and a smooth sky that stays within 1e-4 of the output scale, and a texel or lobe decision that
    # flips (probability ~1e-6 per sample) moves a pixel by a fraction of a smooth texel step.
    for a, b in zip(gpu, cpu):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-3, atol=1e-4 * float(b.abs().max()))
    for a, b in zip(v_gpu, v_cpu):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-3, atol=3e-4 * float(b.abs().max()))
    with pytest.raises(ValueError, match="move it with .to"):
        shade(*moved, None, lights[0])
