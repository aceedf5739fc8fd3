"""Height integration from normals and ambient occlusion from height."""

import math

import pytest
import torch

from intrinsix.pbr import ambient_occlusion_from_height, height_from_normals


def analytic_surface(rows, cols, cycles_col, cycles_row, amplitude):
    """h = A sin(2 pi kx col / W) cos(2 pi ky row / H) in texels, and its exact OpenGL normals."""
    r = torch.arange(rows, dtype=torch.float64)[:, None]
    c = torch.arange(cols, dtype=torch.float64)[None, :]
    ax, ay = 2 * math.pi * cycles_col / cols, 2 * math.pi * cycles_row / rows
    height = amplitude * torch.sin(ax * c) * torch.cos(ay * r)
    dh_dcol = amplitude * ax * torch.cos(ax * c) * torch.cos(ay * r)
    dh_drow = -amplitude * ay * torch.sin(ax * c) * torch.sin(ay * r)
    # n ~ (-dh/dx, -dh/dy_up, 1) and rows go down, so -dh/dy_up = +dh/drow.
    normal = torch.stack([-dh_dcol, dh_drow, torch.ones_like(dh_dcol)], dim=-1)
    return height, (normal / normal.norm(dim=-1, keepdim=True)).float()


def correlation(a, b):
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float(a @ b / (a.norm() * b.norm()))


@pytest.mark.parametrize("tiling, cycles", [(True, (3, 2)), (False, (1.7, 1.3)), (False, (0.6, 0.4))])
def test_height_recovers_analytic_sinusoid(tiling, cycles):
    # Non-integer cycles are not periodic: the mirrored (non-tiling) solve must handle them.
    height, normal = analytic_surface(72, 96, *cycles, amplitude=3.0)
    height01, scale = height_from_normals(normal, tiling=tiling)
    assert height01.shape == (72, 96, 1) and height01.dtype == torch.float32
    assert float(height01.min()) == 0.0 and float(height01.max()) == 1.0
    recovered = height01[..., 0].double() * scale
    assert correlation(recovered, height) > 0.999
    span = float(height.max() - height.min())
    assert abs(scale - span) < 0.02 * span  # the recorded scale is the true relief in texels


def test_height_sign_bump_is_high_in_the_middle():
    rows = cols = 64
    r = torch.arange(rows, dtype=torch.float64)[:, None] - 31.5
    c = torch.arange(cols, dtype=torch.float64)[None, :] - 31.5
    height = 5.0 * torch.exp(-(r**2 + c**2) / 100.0)
    dh_dcol, dh_drow = height * (-2 * c / 100.0), height * (-2 * r / 100.0)
    normal = torch.stack([-dh_dcol, dh_drow, torch.ones_like(height)], -1)
    normal = (normal / normal.norm(dim=-1, keepdim=True)).float()
    height01, _ = height_from_normals(normal, tiling=False)
    assert float(height01[31:33, 31:33].mean()) > 0.95 and float(height01[:4, :4].mean()) < 0.05


@pytest.mark.parametrize("tiling", [True, False])
def test_flat_normals_give_flat_height_and_full_ao(tiling):
    flat = torch.zeros(20, 30, 3)
    flat[..., 2] = 1.0
    height01, scale = height_from_normals(flat, tiling=tiling)
    assert scale == 0.0 and torch.equal(height01, torch.full((20, 30, 1), 0.5))
    ao = ambient_occlusion_from_height(height01, scale, tiling=tiling)
    assert torch.equal(ao, torch.ones(20, 30, 1))
    # A constant non-zero height is flat too, whatever its scale.
    assert torch.equal(ambient_occlusion_from_height(torch.full((9, 9, 1), 0.3), 50.0, tiling), torch.ones(9, 9, 1))


def test_tilted_plane_is_unoccluded():
    cols = torch.arange(40, dtype=torch.float32)[None, :].expand(30, 40)
    plane = (cols / 39.0)[..., None]
    ao = ambient_occlusion_from_height(plane, height_scale=20.0, tiling=False)
    assert float(ao[:, 2:-2].min()) > 0.999


@pytest.mark.parametrize("tiling", [True, False])
def test_ao_in_unit_range_and_darker_in_pits(tiling):
    height, normal = analytic_surface(64, 64, 4, 4, amplitude=4.0)
    height01, scale = height_from_normals(normal, tiling=tiling)
    ao = ambient_occlusion_from_height(height01, scale, tiling=tiling)
    assert ao.shape == (64, 64, 1) and float(ao.min()) >= 0.0 and float(ao.max()) <= 1.0
    valleys = height < height.min() + 0.2 * (height.max() - height.min())
    peaks = height > height.max() - 0.2 * (height.max() - height.min())
    assert float(ao[..., 0][valleys].mean()) < float(ao[..., 0][peaks].mean()) - 0.1
    assert float(ao[..., 0][peaks].mean()) > 0.97


def test_tiling_ao_is_seamless():
    height, normal = analytic_surface(32, 48, 2, 2, amplitude=3.0)  # periods 24 cols, 16 rows
    height01, scale = height_from_normals(normal, tiling=True)
    ao = ambient_occlusion_from_height(height01, scale, tiling=True)
    # A periodic surface shifted by a whole period gives the same AO: no border effect.
    torch.testing.assert_close(torch.roll(ao, shifts=(16, 24), dims=(0, 1)), ao, rtol=0, atol=1e-5)


def test_bad_derived_arguments():
    with pytest.raises(ValueError, match=r"normal must have shape \[H, W, 3\]"):
        height_from_normals(torch.zeros(4, 4, 2))
    with pytest.raises(ValueError, match="radius must be an int"):
        ambient_occlusion_from_height(torch.zeros(8, 8, 1), 1.0, radius=0)
    with pytest.raises(ValueError, match="height_scale must be"):
        ambient_occlusion_from_height(torch.zeros(8, 8, 1), float("nan"))
