"""interpolate: C++ CPU (and CUDA) vs the PyTorch twin, forward and backward, plus bad input."""

import pytest
import torch

from intrinsix.kernels import interpolate, reference


def random_rast(batch, height, width, num_triangles, generator):
    """A rasterizer-shaped tensor: random barycentrics inside the triangle, ~20 % empty pixels."""
    u = torch.rand(batch, height, width, generator=generator)
    v = torch.rand(batch, height, width, generator=generator) * (1 - u)
    z = torch.rand(batch, height, width, generator=generator) * 2 - 1
    ids = torch.randint(0, num_triangles + 1, (batch, height, width), generator=generator).float()
    empty = torch.rand(batch, height, width, generator=generator) < 0.2
    ids[empty] = 0
    rast = torch.stack([u, v, z, ids], dim=-1)
    rast[empty] = 0
    return rast


def random_mesh(num_vertices, num_triangles, generator):
    return torch.randint(0, num_vertices, (num_triangles, 3), generator=generator, dtype=torch.int32)


@pytest.mark.parametrize("shared_attr", [True, False])
def test_matches_twin_forward_and_backward(shared_attr):
    g = torch.Generator().manual_seed(1)
    batch, height, width, channels = 2, 9, 7, 5
    tri = random_mesh(20, 30, g)
    rast = random_rast(batch, height, width, 30, g)
    shape = (20, channels) if shared_attr else (batch, 20, channels)
    attr = torch.randn(shape, generator=g, requires_grad=True)
    cotangent = torch.randn(batch, height, width, channels, generator=g)

    ours = interpolate(attr, rast, tri)
    (v_attr,) = torch.autograd.grad(ours, attr, cotangent)
    twin = reference.interpolate(attr, rast, tri)
    (v_attr_twin,) = torch.autograd.grad(twin, attr, cotangent)

    # float32 sums of three products in a different order: a few ulps.
    torch.testing.assert_close(ours, twin, rtol=1e-6, atol=1e-6)
    # Gradients accumulate up to ~hundreds of pixel contributions per vertex.
    torch.testing.assert_close(v_attr, v_attr_twin, rtol=1e-5, atol=1e-5)


def test_empty_pixels_are_zero_and_corners_exact():
    attr = torch.tensor([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    tri = torch.tensor([[0, 1, 2]], dtype=torch.int32)
    rast = torch.zeros(1, 1, 4, 4)
    rast[0, 0, 0] = torch.tensor([1.0, 0.0, 0.5, 1.0])  # vertex 0
    rast[0, 0, 1] = torch.tensor([0.0, 1.0, 0.5, 1.0])  # vertex 1
    rast[0, 0, 2] = torch.tensor([0.0, 0.0, 0.5, 1.0])  # vertex 2
    out = interpolate(attr, rast, tri)
    assert out[0, 0, 0].tolist() == [1.0, 10.0]
    assert out[0, 0, 1].tolist() == [2.0, 20.0]
    assert out[0, 0, 2].tolist() == [3.0, 30.0]
    assert out[0, 0, 3].tolist() == [0.0, 0.0]


def test_gradcheck_float64_via_twin_consistency():
    # The kernel is float32; gradcheck runs on the twin in float64 and the kernel's backward is
    # compared with the twin above, which closes the loop.
    g = torch.Generator().manual_seed(2)
    tri = random_mesh(6, 4, g)
    rast = random_rast(1, 3, 3, 4, g).double()
    attr = torch.randn(6, 2, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: reference.interpolate(a, rast, tri), (attr,))


def test_bad_input_names_the_argument():
    attr = torch.randn(4, 3)
    rast = torch.zeros(1, 2, 2, 4)
    with pytest.raises(ValueError, match=r"tri holds vertex indices in \[0, 9\].*\[0, 3\]"):
        interpolate(attr, rast, torch.tensor([[0, 1, 9]], dtype=torch.int32))
    with pytest.raises(TypeError, match="tri must be an int32 tensor"):
        interpolate(attr, rast, torch.tensor([[0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"rast must have shape \[B, H, W, 4\]"):
        interpolate(attr, torch.zeros(2, 2, 4), torch.tensor([[0, 1, 2]], dtype=torch.int32))
    with pytest.raises(ValueError, match="attr batch 3 must be 1 or the batch of rast"):
        interpolate(torch.randn(3, 4, 3), rast, torch.tensor([[0, 1, 2]], dtype=torch.int32))


@pytest.mark.gpu
def test_cuda_matches_cpu(cuda_device):
    g = torch.Generator().manual_seed(3)
    tri = random_mesh(50, 80, g)
    rast = random_rast(2, 33, 17, 80, g)
    attr = torch.randn(2, 50, 6, generator=g, requires_grad=True)
    cotangent = torch.randn(2, 33, 17, 6, generator=g)
    cpu = interpolate(attr, rast, tri)
    (v_cpu,) = torch.autograd.grad(cpu, attr, cotangent)
    attr_cuda = attr.detach().to(cuda_device).requires_grad_()
    gpu = interpolate(attr_cuda, rast.to(cuda_device), tri.to(cuda_device))
    (v_gpu,) = torch.autograd.grad(gpu, attr_cuda, cotangent.to(cuda_device))
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-6, atol=1e-6)
    # Atomic accumulation order differs from the serial CPU loop.
    torch.testing.assert_close(v_gpu.cpu(), v_cpu, rtol=1e-5, atol=1e-5)
