"""Twin of `intrinsix.kernels.rasterize`, written plainly: a Python loop over triangles, numpy
float32 scalars for the per-triangle setup (so each operation rounds exactly as the C++ float code
does), exact int64 edge functions over the pixels of the bounding box, and the double-precision
resolve. Slow (meant for tests on small meshes), but every step is visible.
"""

from __future__ import annotations

import numpy as np
import torch

SUBPIXELS = 16
GUARD_BAND = np.float32(4.0)
MIN_W = np.float32(1e-7)
F32 = np.float32


def _clip_distance(v, plane):
    x, y, z, w = v
    return [w - MIN_W, z + w, GUARD_BAND * w - x, GUARD_BAND * w + x, GUARD_BAND * w - y, GUARD_BAND * w + y][plane]


def _clip_intersection(a, b, plane):
    if tuple(b) < tuple(a):  # canonical endpoint order, as in the kernel
        a, b = b, a
    da, db = _clip_distance(a, plane), _clip_distance(b, plane)
    t = da / (da - db)
    return tuple(a[i] + t * (b[i] - a[i]) for i in range(4))


def _outside_frustum(v):
    tests = [
        lambda p: p[0] < -p[3], lambda p: p[0] > p[3], lambda p: p[1] < -p[3],
        lambda p: p[1] > p[3], lambda p: p[2] < -p[3], lambda p: p[2] > p[3],
    ]
    return any(all(test(p) for p in v) for test in tests)


def _clip_polygon(v):
    poly = list(v)
    if not any(_clip_distance(p, k) < 0 for p in poly for k in range(6)):
        return poly
    for plane in range(6):
        if not poly:
            break
        if not any(_clip_distance(p, plane) < 0 for p in poly):
            continue
        out = []
        for i in range(len(poly)):
            a, b = poly[i], poly[(i + 1) % len(poly)]
            da, db = _clip_distance(a, plane), _clip_distance(b, plane)
            if da >= 0:
                out.append(a)
            if (da >= 0) != (db >= 0):
                out.append(_clip_intersection(a, b, plane))
        poly = out
    return poly if len(poly) >= 3 else []


def _to_screen(v, width, height):
    x, y, z, w = v
    inv_w = F32(1.0) / w
    sx = (x * inv_w + F32(1.0)) * (F32(0.5) * F32(width))
    sy = (y * inv_w + F32(1.0)) * (F32(0.5) * F32(height))
    return sx, sy, z * inv_w, int(np.rint(sx * F32(SUBPIXELS))), int(np.rint(sy * F32(SUBPIXELS)))


def _ordered_depth_bits(depth: torch.Tensor) -> torch.Tensor:
    bits = depth.view(torch.int32).long() & 0xFFFFFFFF
    negative = bits >= 0x80000000
    return torch.where(negative, (~bits) & 0xFFFFFFFF, bits | 0x80000000)


def _raster_sub_triangle(a, b, c, width, height, triangle, keys):
    area = (b[3] - a[3]) * (c[4] - a[4]) - (b[4] - a[4]) * (c[3] - a[3])
    if area == 0:
        return
    if area < 0:
        b, c = c, b
    xs, ys = [a[3], b[3], c[3]], [a[4], b[4], c[4]]
    # pixel p's centre is at 16 p + 8 in fixed point
    lo_x = max(0, -((-(min(xs) - 8)) // 16))
    hi_x = min(width - 1, (max(xs) - 8) // 16)
    lo_y = max(0, -((-(min(ys) - 8)) // 16))
    hi_y = min(height - 1, (max(ys) - 8) // 16)
    if lo_x > hi_x or lo_y > hi_y:
        return
    py, px = torch.meshgrid(torch.arange(lo_y, hi_y + 1), torch.arange(lo_x, hi_x + 1), indexing="ij")
    cx, cy = px * 16 + 8, py * 16 + 8
    inside = torch.ones_like(px, dtype=torch.bool)
    for i in range(3):
        j = (i + 1) % 3
        dx, dy = xs[j] - xs[i], ys[j] - ys[i]
        edge = dx * (cy - ys[i]) - dy * (cx - xs[i])
        bias = 0 if (dy < 0 or (dy == 0 and dx > 0)) else 1  # the edge owns pixels exactly on it
        inside &= edge - bias >= 0
    # depth plane: double-precision setup, float32 evaluation (as the kernel)
    e1 = [float(b[k]) - float(a[k]) for k in range(3)]
    e2 = [float(c[k]) - float(a[k]) for k in range(3)]
    det = e1[0] * e2[1] - e1[1] * e2[0]
    ddx = (e1[2] * e2[1] - e2[2] * e1[1]) / det if det != 0 else 0.0
    ddy = (e2[2] * e1[0] - e1[2] * e2[0]) / det if det != 0 else 0.0
    sx = px.float() + 0.5
    sy = py.float() + 0.5
    depth = (torch.tensor(a[2], dtype=torch.float32) + torch.tensor(ddx, dtype=torch.float32) * (sx - float(a[0]))) \
        + torch.tensor(ddy, dtype=torch.float32) * (sy - float(a[1]))
    inside &= depth <= 1.0
    key = _ordered_depth_bits(depth) * 2**24 + triangle
    region = keys[lo_y:hi_y + 1, lo_x:hi_x + 1]
    keys[lo_y:hi_y + 1, lo_x:hi_x + 1] = torch.where(inside, torch.minimum(region, key), region)


def _resolve(clip: torch.Tensor, tri: torch.Tensor, keys: torch.Tensor, height: int, width: int) -> torch.Tensor:
    empty_key = 2**62
    covered = keys < empty_key
    f = torch.where(covered, keys % 2**24, torch.zeros_like(keys))
    v = clip.double()[tri.long()[f]]  # [H, W, 3, 4]
    py, px = torch.meshgrid(
        torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64), indexing="ij"
    )
    X = ((2.0 * px + 1.0) / width - 1.0).unsqueeze(-1)  # pixel centres in NDC, float64
    Y = ((2.0 * py + 1.0) / height - 1.0).unsqueeze(-1)
    dx = v[..., 0] - X * v[..., 3]  # [H, W, 3]
    dy = v[..., 1] - Y * v[..., 3]
    b0 = dx[..., 1] * dy[..., 2] - dy[..., 1] * dx[..., 2]
    b1 = dx[..., 2] * dy[..., 0] - dy[..., 2] * dx[..., 0]
    b2 = dx[..., 0] * dy[..., 1] - dy[..., 0] * dx[..., 1]
    total = b0 + b1 + b2
    safe = torch.where(total != 0, total, torch.ones_like(total))
    u, w1 = b0 / safe, b1 / safe
    w2 = 1.0 - u - w1
    cz = u * v[..., 0, 2] + w1 * v[..., 1, 2] + w2 * v[..., 2, 2]
    cw = u * v[..., 0, 3] + w1 * v[..., 1, 3] + w2 * v[..., 2, 3]
    depth = cz / torch.where(cw != 0, cw, torch.ones_like(cw))
    out = torch.stack([u, w1, depth, (f + 1).double()], dim=-1).float()
    return out * covered.unsqueeze(-1)


def rasterize(
    pos: torch.Tensor,  # [B, V, 4] clip space (or [V, 4])
    tri: torch.Tensor,  # [F, 3]
    resolution: int | tuple[int, int],
) -> torch.Tensor:  # [B, H, W, 4]
    height, width = (resolution, resolution) if isinstance(resolution, int) else resolution
    pos3 = (pos.unsqueeze(0) if pos.dim() == 2 else pos).detach().float().cpu()
    tri = tri.cpu()
    images = []
    for clip in pos3:
        keys = torch.full((height, width), 2**62, dtype=torch.int64)
        vertices = clip.numpy().astype(np.float32)
        for f, (i0, i1, i2) in enumerate(tri.tolist()):
            v = [tuple(F32(c) for c in vertices[i]) for i in (i0, i1, i2)]
            if _outside_frustum(v):
                continue
            poly = _clip_polygon(v)
            screen = [_to_screen(p, width, height) for p in poly]
            for k in range(1, len(screen) - 1):
                _raster_sub_triangle(screen[0], screen[k], screen[k + 1], width, height, f, keys)
        images.append(_resolve(clip, tri, keys, height, width))
    return torch.stack(images)
