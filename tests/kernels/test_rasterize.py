"""rasterize / rasterize_uv: analytic cases, the fill rule, CPU kernel vs the twin, bad input."""

import math

import pytest
import torch

from intrinsix.kernels import interpolate, meshes, rasterize, rasterize_uv, reference


def pixel_centres_ndc(height, width):
    """NDC (x, y) of every pixel centre, [H, W] each; row 0 is y = -1 (the bottom)."""
    y, x = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64), indexing="ij")
    return (2 * x + 1) / width - 1, (2 * y + 1) / height - 1


def random_clip_triangles(num_triangles, generator, near_crossing=False):
    """Independent random triangles in clip space with w in [0.5, 2]; optionally some crossing the
    near plane (z < -w) so the clipper runs."""
    ndc = torch.rand(num_triangles * 3, 3, generator=generator) * 2.4 - 1.2
    w = torch.rand(num_triangles * 3, 1, generator=generator) * 1.5 + 0.5
    pos = torch.cat([ndc * w, w], dim=1)
    if near_crossing:
        behind = torch.rand(num_triangles * 3, generator=generator) < 0.15
        pos[behind, 2] = -1.5 * pos[behind, 3]
    tri = torch.arange(num_triangles * 3, dtype=torch.int32).reshape(-1, 3)
    return pos, tri


def test_single_triangle_coverage_and_barycentrics():
    # Screen-aligned triangle at depth 0.25 with w = 2 everywhere (perspective divide by 2).
    ndc = torch.tensor([[-0.7, -0.6], [0.8, -0.5], [-0.1, 0.9]], dtype=torch.float64)
    w = 2.0
    pos = torch.cat([ndc * w, torch.full((3, 1), 0.25 * w, dtype=torch.float64), torch.full((3, 1), w, dtype=torch.float64)], 1)
    rast = rasterize(pos.float(), torch.tensor([[0, 1, 2]], dtype=torch.int32), (48, 40))[0]

    x, y = pixel_centres_ndc(48, 40)
    a, b, c = ndc
    # Analytic 2D barycentrics of each pixel centre.
    det = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    l1 = ((x - a[0]) * (c[1] - a[1]) - (y - a[1]) * (c[0] - a[0])) / det
    l2 = ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])) / det
    l0 = 1 - l1 - l2
    inside = (l0 > 1e-9) & (l1 > 1e-9) & (l2 > 1e-9)
    covered = rast[..., 3] == 1
    # Pixel centres within 1/16 pixel of an edge may go either way (vertices snap to 1/16 pixel).
    margin = (torch.minimum(torch.minimum(l0, l1), l2).abs() < 0.01)
    assert torch.equal(covered[~margin], inside[~margin])
    assert covered.sum() > 300
    # Barycentrics: u weights vertex 0, v weights vertex 1 (nvdiffrast's convention).
    torch.testing.assert_close(rast[..., 0][covered].double(), l0[covered], atol=1e-5, rtol=0)
    torch.testing.assert_close(rast[..., 1][covered].double(), l1[covered], atol=1e-5, rtol=0)
    assert torch.allclose(rast[..., 2][covered], torch.tensor(0.25))
    assert (rast[~covered] == 0).all()


def test_perspective_correct_barycentrics():
    # A triangle receding in depth: the interpolated camera-space z must match the ray-plane hit.
    proj = meshes.perspective(85.0, 1.0, 0.1, 50.0)
    world = torch.tensor([[-2.0, -1.0, -2.0], [2.0, -1.0, -2.0], [0.0, -1.0, -12.0]])
    clip = torch.cat([world, torch.ones(3, 1)], 1) @ proj.T
    rast = rasterize(clip, torch.tensor([[0, 1, 2]], dtype=torch.int32), 64)
    z_interp = interpolate(world[:, 2:3], rast, torch.tensor([[0, 1, 2]], dtype=torch.int32))[0, ..., 0]
    covered = rast[0, ..., 3] > 0
    x, y = pixel_centres_ndc(64, 64)
    tan_half = math.tan(math.radians(42.5))
    # Ray through the pixel: direction (x tan, y tan, -1); hits the plane y = -1 at t = 1 / (-y tan).
    z_true = -1.0 / (-y * tan_half)
    assert covered.sum() > 200
    torch.testing.assert_close(z_interp[covered].double(), z_true[covered], rtol=1e-4, atol=0)


def test_nearest_depth_wins_in_any_order():
    near = torch.tensor([[-0.5, -0.5, 0.1, 1], [0.5, -0.5, 0.1, 1], [0.0, 0.5, 0.1, 1]])
    far = torch.tensor([[-0.9, -0.9, 0.6, 1], [0.9, -0.9, 0.6, 1], [0.0, 0.9, 0.6, 1]])
    pos = torch.cat([far, near])
    for tri in ([[0, 1, 2], [3, 4, 5]], [[3, 4, 5], [0, 1, 2]]):
        tri = torch.tensor(tri, dtype=torch.int32)
        rast = rasterize(pos, tri, 32)[0]
        near_id = 1 + [t.tolist() for t in tri].index([3, 4, 5])
        centre = rast[14, 16]
        assert int(centre[3]) == near_id
        assert centre[2].item() == pytest.approx(0.1)
        assert int(rast[2, 16, 3]) == 3 - near_id  # only the far triangle reaches the bottom edge


def test_shared_edges_covered_exactly_once_no_holes():
    # A fan of 12 triangles around a centre, vertices snapped to pixel centres so that many pixel
    # centres lie exactly on shared edges: the tie rule must give each such pixel to exactly one.
    size = 32
    centre = (16.5, 16.5)  # a pixel centre, in pixels
    ring = []
    for k in range(12):
        angle = 2 * math.pi * k / 12
        ring.append((round(centre[0] + 12 * math.cos(angle)) + 0.5, round(centre[1] + 12 * math.sin(angle)) + 0.5))
    points = torch.tensor([centre] + ring, dtype=torch.float32)
    ndc = points / size * 2 - 1
    pos = torch.cat([ndc, torch.zeros(13, 1), torch.ones(13, 1)], 1)
    tris = [[0, 1 + k, 1 + (k + 1) % 12] for k in range(12)]
    coverage = torch.zeros(size, size, dtype=torch.int32)
    for t in tris:  # one triangle at a time: count how often each pixel is taken
        coverage += (rasterize(pos, torch.tensor([t], dtype=torch.int32), size)[0, ..., 3] > 0).int()
    together = rasterize(pos, torch.tensor(tris, dtype=torch.int32), size)[0, ..., 3] > 0
    assert coverage.max() == 1, "a pixel on a shared edge was covered twice"
    assert torch.equal(coverage.bool(), together)
    # No holes: every pixel centre strictly inside the polygon's inscribed circle is covered.
    y, x = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    inner = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < 10.0**2
    assert together[inner].all()


def test_closed_grid_mesh_has_no_holes():
    pos, tri, _ = meshes.grid(7, 9)  # covers NDC [-1, 1]^2 exactly
    clip = torch.cat([pos[:, :2] * 0.999, torch.zeros(pos.shape[0], 1), torch.ones(pos.shape[0], 1)], 1)
    rast = rasterize(clip, tri, (37, 53))[0]
    assert (rast[..., 3] > 0).all()


@pytest.mark.parametrize("near_crossing", [False, True])
def test_kernel_matches_twin_on_random_triangles(near_crossing):
    g = torch.Generator().manual_seed(11 + near_crossing)
    pos, tri = random_clip_triangles(60, g, near_crossing)
    pos = torch.stack([pos, pos * torch.tensor([1.0, -1.0, 1.0, 1.0])])  # batch of 2 different images
    ours = rasterize(pos, tri, (40, 56))
    twin = reference.rasterize(pos, tri, (40, 56))
    # Same fixed-point snapping, same float32 setup rounding, same integer edge tests and the same
    # double-precision resolve: the two agree exactly, ids and barycentrics.
    assert torch.equal(ours[..., 3], twin[..., 3])
    torch.testing.assert_close(ours, twin, rtol=0, atol=1e-6)
    assert (ours[..., 3] > 0).float().mean() > 0.3


def test_near_plane_clipping_of_a_floor_behind_the_camera():
    # A large floor under a camera inside a room: its triangles cross the camera plane.
    proj = meshes.perspective(85.0, 1.0, 0.05, 500.0)
    floor = torch.tensor([[-100.0, -1.0, 100.0], [100.0, -1.0, 100.0], [100.0, -1.0, -100.0], [-100.0, -1.0, -100.0]])
    clip = torch.cat([floor, torch.ones(4, 1)], 1) @ proj.T
    tri = torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32)
    rast = rasterize(clip, tri, 48)[0]
    covered = rast[..., 3] > 0
    y_ndc = pixel_centres_ndc(48, 48)[1]
    # Rows below y_ndc = -0.05 hit the floor within 22 units (inside its 100-unit extent and the far
    # plane); the upper half sees nothing.
    assert covered[y_ndc < -0.05].all()
    assert not covered[y_ndc > 0].any()
    # Barycentrics reproduce the floor height: interpolated y is -1 everywhere it is covered.
    world_y = interpolate(floor[:, 1:2], rast[None], tri)[0, ..., 0]
    torch.testing.assert_close(world_y[covered], torch.full_like(world_y[covered], -1.0), atol=1e-4, rtol=0)
    torch.testing.assert_close(rast, reference.rasterize(clip, tri, 48)[0], rtol=0, atol=1e-6)


def test_batched_views_with_mvp_match_per_view_clip():
    pos, tri, _ = meshes.box_room(boxes=2, subdivisions=2, seed=3)
    proj = meshes.perspective(85.0, 1.0, 0.05, 20.0)
    views = [meshes.look_at((0.5, 1.5, 1.0), (0.0, 1.0, -2.0)), meshes.look_at((-1.0, 1.2, -1.0), (2.0, 0.5, 1.0))]
    mvp = torch.stack([proj @ v for v in views])
    batched = rasterize(pos, tri, 24, mvp=mvp)
    for k in range(2):
        clip = torch.cat([pos, torch.ones(pos.shape[0], 1)], 1) @ mvp[k].T
        torch.testing.assert_close(batched[k], rasterize(clip, tri, 24)[0], rtol=0, atol=0)
    # Inside a closed room every pixel sees a surface.
    assert (batched[..., 3] > 0).all()


def test_rasterize_uv_covers_every_texel_of_a_full_atlas():
    _, tri, uv = meshes.grid(3, 3)
    rast = rasterize_uv(uv, tri, (16, 12))
    assert (rast[..., 3] > 0).all()
    texel_uv = interpolate(uv, rast, tri)[0]
    j = (torch.arange(12) + 0.5) / 12
    i = (torch.arange(16) + 0.5) / 16
    torch.testing.assert_close(texel_uv[..., 0], j.expand(16, 12), atol=1e-6, rtol=0)
    torch.testing.assert_close(texel_uv[..., 1], i[:, None].expand(16, 12), atol=1e-6, rtol=0)


def test_bad_input_gives_clear_errors():
    tri = torch.tensor([[0, 1, 2]], dtype=torch.int32)
    pos = torch.rand(1, 3, 4)
    with pytest.raises(ValueError, match="pos contains 1 NaN"):
        bad = pos.clone()
        bad[0, 1, 0] = float("nan")
        rasterize(bad, tri, 8)
    with pytest.raises(ValueError, match=r"tri holds vertex indices in \[0, 5\]"):
        rasterize(pos, torch.tensor([[0, 1, 5]], dtype=torch.int32), 8)
    with pytest.raises(ValueError, match=r"tri holds vertex indices in \[-1, 1\]"):
        rasterize(pos, torch.tensor([[0, 1, -1]], dtype=torch.int32), 8)
    with pytest.raises(TypeError, match="pos must be a floating-point tensor"):
        rasterize(pos.int(), tri, 8)
    with pytest.raises(ValueError, match=r"resolution height must be in \[1, 16384\], got 0"):
        rasterize(pos, tri, (0, 8))
    with pytest.raises(ValueError, match=r"pos must be clip-space positions \[B, V, 4\]"):
        rasterize(torch.rand(1, 3, 3), tri, 8)
    with pytest.raises(ValueError, match=r"mvp must have shape \[B, 4, 4\]"):
        rasterize(torch.rand(3, 3), tri, 8, mvp=torch.rand(2, 3, 4))
    with pytest.raises(TypeError, match="tri must be an int32 tensor"):
        rasterize(pos, tri.float(), 8)
    # Empty meshes are valid: an empty image.
    empty = rasterize(pos, torch.zeros(0, 3, dtype=torch.int32), 4)
    assert empty.shape == (1, 4, 4, 4) and (empty == 0).all()
