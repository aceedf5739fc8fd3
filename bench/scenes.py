"""Benchmark and cross-check workloads for the rasterizer (shared by bench/ and the GPU tests)."""

from __future__ import annotations

import math

import torch

from intrinsix.kernels import meshes


def grid_scene(quads_per_side: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """A displaced grid of 2 * n^2 triangles seen obliquely by the 85-degree camera, filling most of
    the image, with overlapping depth (hills occlude valleys). Returns clip pos [1, V, 4], tri [F, 3]."""
    pos, tri, _ = meshes.displaced_grid(quads_per_side, quads_per_side, amplitude=0.15, seed=1)
    view = meshes.look_at((0.0, -0.9, 0.55), (0.0, 0.1, 0.0), up=(0.0, 0.0, 1.0))
    mvp = meshes.perspective(85.0, 1.0, 0.05, 10.0) @ view
    clip = torch.cat([pos, torch.ones(pos.shape[0], 1)], 1) @ mvp.T
    return clip[None].to(device).contiguous(), tri.to(device)


def room_views(num_views: int, target_triangles: int, device, seed: int = 0):
    """`num_views` cameras inside a box room of about `target_triangles` triangles.
    Returns object-space pos [V, 3], tri [F, 3], mvp [num_views, 4, 4]."""
    boxes = 8
    subdivisions = max(1, round(math.sqrt(target_triangles / ((6 + 6 * boxes) * 2))))
    pos, tri, _ = meshes.box_room(size=(6.0, 3.0, 5.0), boxes=boxes, subdivisions=subdivisions, seed=seed)
    proj = meshes.perspective(85.0, 1.0, 0.05, 20.0)
    g = torch.Generator().manual_seed(seed)
    mvps = []
    for k in range(num_views):
        angle = 2 * math.pi * k / num_views
        eye = (1.5 * math.cos(angle), 1.0 + 0.8 * torch.rand(1, generator=g).item(), 1.2 * math.sin(angle))
        target = (-2.0 * math.cos(angle), 0.8, -1.8 * math.sin(angle))
        mvps.append(proj @ meshes.look_at(eye, target))
    return pos.to(device), tri.to(device), torch.stack(mvps).to(device)
