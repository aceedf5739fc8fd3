"""Texture sizes per object (texel density from surface area and a total budget) and UV atlases
(xatlas) for objects that come without UVs.

Texel density: an object of world surface area A (m^2) whose UV triangles cover a fraction u of its
square texture (u = total UV triangle area; repeats count, so a 2 x 2 tiling has u ~ 4) gets a side

    s = sqrt(D * A / u)   texels,   D = budget / sum_i(A_i / u_i)   texels per m^2,

so every object has the same density D and the textures together use the budget (sum of s^2).
Sides are rounded down to a multiple of 16 (at least 32) and then, while the budget allows,
grown in steps of 16 for the objects furthest below their share. Objects without UVs are
estimated at u = ATLAS_UTILISATION before xatlas packs them into exactly that side.
"""

from __future__ import annotations

import math

import numpy as np

from .scene import MeshError, RoomObject, RoomScene, degenerate_triangles, triangle_areas

SIZE_MULTIPLE = 16
MIN_TEXTURE_SIZE = 32
MAX_TEXTURE_SIZE = 8192
ATLAS_UTILISATION = 0.8  # typical xatlas fill of box-like furniture (measured 0.80 on box_room boxes)
ATLAS_PADDING = 2  # texels between charts: bilinear taps plus the mip level above stay inside a chart
MIN_UV_AREA = 1e-3  # UV layouts smaller than this are treated as this (a nearly collapsed layout)


def surface_area(obj: RoomObject) -> float:
    """World-space surface area of the object in m^2."""
    return float(triangle_areas(obj.world_positions, obj.triangles).sum())


def uv_area(obj: RoomObject) -> float:
    """Total area of the object's UV triangles (fraction of the unit square; repeats add up)."""
    if obj.uvs is None:
        return ATLAS_UTILISATION
    uv = obj.uvs.astype(np.float64)
    a, b, c = (uv[obj.triangles[:, k]] for k in range(3))
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return max(float(0.5 * np.abs(cross).sum()), MIN_UV_AREA)


def plan_texture_sizes(scene: RoomScene, budget_texels: int) -> list[int]:
    """Square texture side per object (texels) for equal texel density within `budget_texels`
    (the total number of texels of all objects' maps, e.g. 2048 * 2048). See the module docstring."""
    if not isinstance(budget_texels, int) or budget_texels < MIN_TEXTURE_SIZE ** 2 * len(scene):
        raise ValueError(f"budget_texels must be an int >= {MIN_TEXTURE_SIZE}^2 x objects = "
                         f"{MIN_TEXTURE_SIZE ** 2 * len(scene)} for {len(scene)} objects, got {budget_texels!r}")
    need = np.array([max(surface_area(o), 1e-12) / uv_area(o) for o in scene])  # m^2 per unit of texture
    density = budget_texels / need.sum()
    ideal = np.sqrt(density * need)  # texels per side at equal density
    sizes = np.clip((ideal // SIZE_MULTIPLE) * SIZE_MULTIPLE, MIN_TEXTURE_SIZE, MAX_TEXTURE_SIZE).astype(np.int64)
    while True:  # spend what rounding down left over on the objects furthest below their share
        grown = sizes + SIZE_MULTIPLE
        cost = grown ** 2 - sizes ** 2
        room = budget_texels - int((sizes ** 2).sum())
        order = np.argsort(sizes / ideal)
        pick = next((int(k) for k in order if cost[k] <= room and grown[k] <= MAX_TEXTURE_SIZE
                     and grown[k] <= ideal[k] * 1.5), None)
        if pick is None:
            break
        sizes[pick] = grown[pick]
    return [int(s) for s in sizes]


def make_atlas(obj: RoomObject, size: int, padding: int = ATLAS_PADDING) -> RoomObject:
    """The object with an xatlas UV layout packed for a `size` x `size` texture.

    Vertices are split along chart seams (positions and normals follow xatlas' vertex mapping);
    UVs are in [0, 1] with origin "top_left"; `uv_generated` is True.
    """
    try:
        import xatlas
    except ImportError as exc:  # pragma: no cover - xatlas is a declared dependency
        raise MeshError(f"object {obj.name!r} has no UVs and making an atlas needs xatlas (pip install xatlas): "
                        f"{exc}") from exc
    atlas = xatlas.Atlas()
    atlas.add_mesh(np.ascontiguousarray(obj.world_positions, np.float32),
                   np.ascontiguousarray(obj.triangles, np.uint32))
    pack = xatlas.PackOptions()
    pack.resolution = int(size)
    pack.padding = int(padding)
    pack.bilinear = True
    atlas.generate(xatlas.ChartOptions(), pack)
    if atlas.atlas_count != 1:
        raise MeshError(f"object {obj.name!r}: xatlas packed {atlas.atlas_count} atlases for a {size}x{size} "
                        "texture; expected 1")
    vmapping, indices, uvs = atlas[0]
    vmapping = vmapping.astype(np.int64)
    return obj.with_changes(
        positions=obj.positions[vmapping], triangles=indices.astype(np.int64), uvs=uvs.astype(np.float32),
        normals=None if obj.normals is None else obj.normals[vmapping], uv_origin="top_left", uv_generated=True,
        texture_size=int(size))


def prepare_scene(scene: RoomScene, budget_texels: int) -> RoomScene:
    """Every object with a texture size (equal texel density within the budget) and UVs (existing
    ones kept untouched; an xatlas atlas for objects without)."""
    sizes = plan_texture_sizes(scene, budget_texels)
    prepared = []
    for obj, size in zip(scene, sizes):
        if obj.uvs is None:
            prepared.append(make_atlas(obj, size))
        else:
            prepared.append(obj.with_changes(texture_size=size))
    return scene.with_objects(prepared)


def texel_density(obj: RoomObject) -> float:
    """Texels per metre (square root of texels per m^2) of a prepared object."""
    if obj.texture_size is None:
        raise ValueError(f"object {obj.name!r} has no texture size yet (prepare_scene)")
    live = ~degenerate_triangles(obj.world_positions, obj.triangles)
    area = float(triangle_areas(obj.world_positions, obj.triangles)[live].sum())
    return math.sqrt(obj.texture_size ** 2 * uv_area(obj) / max(area, 1e-12))
