"""Shade section of bench/kernels.py: forward + backward at 1024^2, ours vs the PyTorch twin and vs
the memory-bandwidth floor.

Bytes counted for the floor (float32, view=None so view vectors are computed in the kernel):
  forward  reads albedo 12 + roughness 4 + metallic 4 + normal 12 = 32 B/pixel, writes diffuse 12 +
           specular 12 = 24 B/pixel;
  backward reads the two cotangents 24 + the four maps 32 = 56 B/pixel, writes the four gradients
           32 B/pixel.
  total 144 B/pixel (151 MB at 1024^2), at the copy bandwidth measured in the same process.
For the environment map the texel reads hit the cache (a 128 x 256 map is 384 KB): the floor is
the same 144 B/pixel, and the gap to it is arithmetic (64 samples x 2 techniques per pixel).
"""

from __future__ import annotations

import math

import torch

from intrinsix.kernels import DirectionalLights, EnvironmentMap, reference, shade

BYTES_PER_PIXEL = 144


def copy_bandwidth(device) -> float:
    """Bytes per second of a large device-to-device copy, counting bytes read plus written."""
    src = torch.empty(256 * 1024 * 1024, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        dst.copy_(src)
    end.record()
    end.synchronize()
    seconds = start.elapsed_time(end) / 1000 / 10
    return 2 * src.numel() * 4 / seconds


def random_maps(size: int, device, dtype=torch.float32, seed: int = 0):
    g = torch.Generator(device=device).manual_seed(seed)
    albedo = torch.rand(1, size, size, 3, device=device, generator=g)
    roughness = torch.rand(1, size, size, 1, device=device, generator=g) * 0.9 + 0.05
    metallic = torch.rand(1, size, size, 1, device=device, generator=g)
    normal = torch.randn(1, size, size, 3, device=device, generator=g)
    normal[..., 2] = normal[..., 2].abs() + 0.5  # facing the camera
    return [t.to(dtype) for t in (albedo, roughness, metallic, normal)]


def environment(device) -> torch.Tensor:
    """A 128 x 256 sky: bright sun disc, blue gradient, dark ground (linear radiance)."""
    theta = (torch.arange(128, device=device) + 0.5) / 128 * math.pi
    phi = (torch.arange(256, device=device) + 0.5) / 256 * 2 * math.pi
    t, p = torch.meshgrid(theta, phi, indexing="ij")
    sky = torch.stack([0.3 + 0.2 * torch.cos(t), 0.5 + 0.2 * torch.cos(t), 0.9 * torch.ones_like(t)], -1)
    sky = torch.where((t > math.pi / 2)[..., None], torch.full_like(sky, 0.05), sky)
    sun = ((t - 0.6) ** 2 + (p - 2.0) ** 2) < 0.01
    return sky + 50.0 * sun[..., None].float()


def bench_shade(device, time_cuda, print_table) -> None:
    size = 1024
    maps = random_maps(size, device)
    cot_d = torch.randn(1, size, size, 3, device=device)
    cot_s = torch.randn(1, size, size, 3, device=device)
    dirs = torch.nn.functional.normalize(torch.tensor([[0.3, 0.5, 0.8], [-0.4, 0.2, 0.9]], device=device), dim=-1)
    cases = [
        ("directional x2, disney", DirectionalLights(dirs, torch.full((2, 3), 3.0, device=device)), 30),
        ("env map 64 spp, disney", EnvironmentMap(environment(device), samples=64, seed=7), 10),
    ]
    bandwidth = copy_bandwidth(device)
    floor_ms = BYTES_PER_PIXEL * size * size / bandwidth * 1000
    rows = []
    for name, lights, reps in cases:
        # Correct first: float32 kernel vs the float64 twin on the same inputs and samples.
        ref = reference.shade(*[m.double() for m in maps], None, lights, "disney")
        ours = shade(*maps, None, lights, "disney")
        err = max(((o.double() - r).norm() / r.norm()).item() for o, r in zip(ours, ref))

        leaves = [m.clone().requires_grad_() for m in maps]

        # autograd.grad (not backward): no accumulation into .grad, which would add traffic to both.
        def run_ours():
            d, s = shade(*leaves, None, lights, "disney", validate=False)
            return torch.autograd.grad((d, s), leaves, (cot_d, cot_s))

        def run_twin():
            d, s = reference.shade(*leaves, None, lights, "disney")
            return torch.autograd.grad((d, s), leaves, (cot_d, cot_s))

        ours_ms = time_cuda(run_ours, warmup=3, reps=reps)
        twin_ms = time_cuda(run_twin, warmup=2, reps=max(3, reps // 3))
        rows.append((f"{name} fwd+bwd @ {size}^2", ours_ms, twin_ms,
                     f"rel err vs float64 twin {err:.1e}; {floor_ms / ours_ms:.0%} of bandwidth floor"))
    print_table("shade forward + backward vs the PyTorch twin", rows, "twin",
                f"bandwidth floor: {BYTES_PER_PIXEL} B/pixel = {BYTES_PER_PIXEL * size * size / 1e6:.0f} MB at "
                f"{bandwidth / 1e12:.2f} TB/s (measured copy) = {floor_ms:.3f} ms")
