"""Builders of the non-metal families (metallic 0, except the bare-metal chips of painted metal).

Each builder maps a `BuildContext` to a `Surface` (image order, linear albedo; see surface.py).
`PARAMETERS[family]` lists the numeric parameters and their ranges; "roughness" (from the finish)
is added by the material sampler. Joint colours (mortar, grout) come from `ctx.secondary`.
"""

from __future__ import annotations

import torch

from . import noise, patterns
from .surface import BuildContext, ParamRange, Surface, mix

R = ParamRange
JOINT_ROUGHNESS = 0.9  # mortar, grout and gaps are rough whatever the finish of the main surface

PARAMETERS: dict[str, dict[str, ParamRange]] = {
    "brick": {"rows": R(8, 16, "even"), "per_row": R(2, 5, "int"), "mortar": R(0.006, 0.014),
              "bevel": R(0.003, 0.01), "variation": R(0.08, 0.25), "bump_depth": R(0.006, 0.014)},
    "ceramic_tiles": {"tiles": R(3, 8, "int"), "grout": R(0.003, 0.008), "bevel": R(0.002, 0.006),
                      "variation": R(0.02, 0.06), "waviness": R(0.0, 0.3), "bump_depth": R(0.003, 0.008)},
    "wood_planks": {"rows": R(4, 10, "int"), "max_per_row": R(1, 3, "int"), "groove": R(0.002, 0.005),
                    "rings": R(3, 8, "int"), "ring_warp": R(0.5, 2.0), "variation": R(0.08, 0.2),
                    "grain_contrast": R(0.25, 0.55), "bump_depth": R(0.002, 0.005)},
    "painted_metal": {"peel": R(0.1, 0.6), "chip_coverage": R(0.02, 0.08), "bump_depth": R(0.001, 0.003)},
    "plastic": {"texture_cells": R(32, 64, "int"), "bump_depth": R(0.0008, 0.002)},
    "rubber": {"studs": R(6, 14, "int"), "stud_radius": R(0.22, 0.34), "bump_depth": R(0.003, 0.008)},
    "fabric": {"threads": R(24, 64, "even"), "contrast": R(0.1, 0.3), "fuzz": R(0.1, 0.3),
               "bump_depth": R(0.001, 0.003)},
    "marble": {"vein_a": R(1, 2, "int"), "vein_b": R(-2, 2, "int"), "warp": R(1.5, 4.0), "sharpness": R(6, 24),
               "vein_strength": R(0.4, 0.85), "cloud": R(0.05, 0.2), "bump_depth": R(0.0002, 0.0008)},
    "concrete": {"mottle": R(0.1, 0.25), "pores": R(14, 30, "int"), "pore_size": R(0.25, 0.45),
                 "stain": R(0.0, 0.25), "bump_depth": R(0.002, 0.006)},
    "stone": {"cells": R(3, 7, "int"), "gap": R(0.006, 0.02), "bevel": R(0.01, 0.04), "variation": R(0.1, 0.3),
              "bump_depth": R(0.01, 0.03)},
    "leather": {"cells": R(24, 48, "int"), "crease": R(0.002, 0.006), "mottle": R(0.05, 0.15),
                "bump_depth": R(0.0008, 0.002)},
}


def _pixel(ctx: BuildContext) -> float:
    return 1.0 / ctx.x.shape[1]  # one pixel in texture-width units (used to antialias joint edges)


def _joint(ctx: BuildContext, edge: torch.Tensor, width: float) -> torch.Tensor:
    """[H, W] 1 inside a joint of total `width` around cell borders (distance `edge`), 0 outside."""
    half, soft = width / 2.0, _pixel(ctx)
    return 1.0 - noise.smoothstep(half - soft, half + soft, edge)


def _flat(ctx: BuildContext, value: float) -> torch.Tensor:
    return torch.full_like(ctx.x, value)


def _bevel(edge: torch.Tensor, joint_width: float, bevel: float) -> torch.Tensor:
    """[H, W] 0 at the joint's border rising to 1 at `bevel` further inside the cell."""
    return noise.smoothstep(joint_width / 2.0, joint_width / 2.0 + bevel, edge)


def _jointed(ctx: BuildContext, edge: torch.Tensor, face: torch.Tensor, relief: torch.Tensor, joint_width: float,
             grain: torch.Tensor, speckle: torch.Tensor) -> Surface:
    """Cells of albedo `face` [H, W, 3] and height `relief` [H, W] in [0, 1], separated by joints of
    colour ctx.secondary and total width `joint_width` around cell borders at distance `edge`."""
    joint = _joint(ctx, edge, joint_width)
    joint_albedo = ctx.secondary * (0.85 + 0.3 * speckle).unsqueeze(-1)
    height = torch.lerp(relief, 0.12 * speckle, joint)
    roughness = torch.lerp(ctx.main_roughness(grain), _flat(ctx, JOINT_ROUGHNESS).unsqueeze(-1), joint.unsqueeze(-1))
    return Surface(mix(face, joint_albedo, joint), roughness, torch.zeros_like(roughness), height.unsqueeze(-1),
                   ctx.params["bump_depth"])


def brick(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    cells = patterns.running_bond(ctx.x, ctx.y, int(p["rows"]), int(p["per_row"]), 0.5, ctx.aspect)
    shade = 1.0 + p["variation"] * (2.0 * torch.rand(cells.count, generator=g) - 1.0)
    grain = noise.fbm(ctx.x, ctx.y, (8, 8), g, octaves=5)
    speckle = noise.value_noise(ctx.x, ctx.y, (96, 96), g)
    tone = shade[cells.cell] * (0.8 + 0.4 * grain) * (0.92 + 0.16 * speckle)
    face = ctx.colour * tone.unsqueeze(-1)
    relief = (0.9 + 0.1 * grain) * (0.35 + 0.65 * _bevel(cells.edge, p["mortar"], p["bevel"]))
    return _jointed(ctx, cells.edge, face, relief, p["mortar"], grain, speckle)


def ceramic_tiles(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    n = int(p["tiles"])
    if ctx.variant == "subway":  # 2:1 tiles in a running bond
        cells = patterns.running_bond(ctx.x, ctx.y, 2 * max(1, round(n * ctx.aspect)), n, 0.5, ctx.aspect)
    else:
        cells = patterns.running_bond(ctx.x, ctx.y, max(1, round(n * ctx.aspect)), n, 0.0, ctx.aspect)
    shade = 1.0 + p["variation"] * (2.0 * torch.rand(cells.count, generator=g) - 1.0)
    mottle = noise.fbm(ctx.x, ctx.y, (6, 6), g, octaves=4)
    wavy = noise.fbm(ctx.x, ctx.y, (4, 4), g, octaves=3)
    speckle = noise.value_noise(ctx.x, ctx.y, (128, 128), g)
    face = ctx.colour * (shade[cells.cell] * (0.96 + 0.08 * mottle)).unsqueeze(-1)
    relief = (1.0 - p["waviness"] * 0.3 * wavy) * (0.35 + 0.65 * _bevel(cells.edge, p["grout"], p["bevel"]))
    return _jointed(ctx, cells.edge, face, relief, p["grout"], mottle, speckle)


def wood_planks(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    rows = int(p["rows"])
    cells = patterns.planks(ctx.x, ctx.y, rows, int(p["max_per_row"]), ctx.aspect, g)
    plank_phase = torch.rand(cells.count, generator=g)
    plank_shift = torch.rand(cells.count, generator=g)
    shade = 1.0 + p["variation"] * (2.0 * torch.rand(cells.count, generator=g) - 1.0)
    # Growth rings: stripes along x (the board's length), bent by a periodic warp that differs per board.
    warp = noise.fbm((ctx.x + plank_shift[cells.cell]) % 1.0, ctx.y, (2, 8), g, octaves=4)
    phase = ctx.y * rows * int(p["rings"]) + p["ring_warp"] * (warp - 0.5) * 4.0 + plank_phase[cells.cell] * 10.0
    ring = (0.5 + 0.5 * torch.sin(2.0 * torch.pi * phase)) ** 3  # thin dark latewood lines
    fibres = noise.value_noise(ctx.x, ctx.y, (6, 192), g)  # streaks along the grain
    tone = shade[cells.cell] * (1.0 - p["grain_contrast"] * ring) * (0.9 + 0.2 * fibres)
    face = ctx.colour * tone.unsqueeze(-1)
    groove = _joint(ctx, cells.edge, p["groove"])
    rise = _bevel(cells.edge, p["groove"], p["groove"])
    height = (0.2 + 0.8 * rise) * (0.96 + 0.04 * (1.0 - ring)) * (1.0 - groove)
    albedo = mix(face, ctx.colour * 0.3, groove)
    roughness = torch.lerp(ctx.main_roughness(0.5 * ring + 0.5 * fibres, 0.6),
                           _flat(ctx, JOINT_ROUGHNESS).unsqueeze(-1), groove.unsqueeze(-1))
    return Surface(albedo, roughness, torch.zeros_like(roughness), height.unsqueeze(-1), p["bump_depth"])


def _coverage_mask(field: torch.Tensor, coverage: float, soft: float = 0.01) -> torch.Tensor:
    """[H, W] soft mask that is 1 on about `coverage` of the pixels (where `field` is high)."""
    threshold = noise.coverage_threshold(field, coverage)
    return noise.smoothstep(threshold - soft, threshold + soft, field)


STEEL_LINEAR = (0.56, 0.57, 0.58)  # bare steel under chipped paint (linear F0)


def painted_metal(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    mottle = noise.fbm(ctx.x, ctx.y, (4, 4), g, octaves=4)
    peel = noise.fbm(ctx.x, ctx.y, (48, 48), g, octaves=2)
    albedo = ctx.colour * (0.97 + 0.06 * mottle).unsqueeze(-1)
    height = 0.8 + 0.2 * p["peel"] * peel
    roughness = ctx.main_roughness(peel, 0.3)
    metallic = torch.zeros_like(roughness)
    if ctx.variant == "chipped":
        chip_field = noise.fbm(ctx.x, ctx.y, (5, 5), g, octaves=6)
        chip = _coverage_mask(chip_field, p["chip_coverage"])
        steel = torch.tensor(STEEL_LINEAR) * (0.8 + 0.2 * mottle).unsqueeze(-1)
        albedo = mix(albedo, steel, chip)
        height = torch.lerp(height, 0.25 + 0.1 * peel, chip)
        roughness = torch.lerp(roughness, _flat(ctx, 0.42).unsqueeze(-1), chip.unsqueeze(-1))
        metallic = chip.unsqueeze(-1)
    return Surface(albedo, roughness, metallic, height.unsqueeze(-1), p["bump_depth"])


def plastic(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    mottle = noise.fbm(ctx.x, ctx.y, (6, 6), g, octaves=3)
    albedo = ctx.colour * (0.98 + 0.04 * mottle).unsqueeze(-1)
    if ctx.variant == "textured":
        cells = int(p["texture_cells"])
        height = noise.contrast(noise.fbm(ctx.x, ctx.y, (cells, cells), g, octaves=2), 2.0)
        depth = p["bump_depth"]
    else:
        height = 0.5 + 0.2 * (mottle - 0.5)
        depth = p["bump_depth"] * 0.3
    roughness = ctx.main_roughness(height, 0.3)
    return Surface(albedo, roughness, torch.zeros_like(roughness), height.unsqueeze(-1), depth)


def rubber(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    mottle = noise.fbm(ctx.x, ctx.y, (8, 8), g, octaves=4)
    fine = noise.value_noise(ctx.x, ctx.y, (96, 96), g)
    if ctx.variant == "studded":
        height = 0.9 * patterns.studs(ctx.x, ctx.y, int(p["studs"]), p["stud_radius"], ctx.aspect) + 0.1 * fine
        depth = p["bump_depth"]
    else:
        height = 0.5 + 0.3 * (fine - 0.5)
        depth = p["bump_depth"] * 0.15
    albedo = ctx.colour * ((0.93 + 0.1 * mottle) * (1.0 + 0.06 * height)).unsqueeze(-1)
    roughness = ctx.main_roughness(mottle, 0.5)
    return Surface(albedo, roughness, torch.zeros_like(roughness), height.unsqueeze(-1), depth)


def fabric(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    threads_x = int(p["threads"])
    threads_y = 2 * max(1, round(threads_x * ctx.aspect / 2))
    height, warp = patterns.weave(ctx.x, ctx.y, threads_x, threads_y)
    fuzz = noise.fbm(ctx.x, ctx.y, (64, 64), g, octaves=2)
    tone = torch.where(warp, 1.0, 1.0 - p["contrast"]) * (0.55 + 0.45 * height) * (1.0 - p["fuzz"] * (fuzz - 0.5))
    albedo = ctx.colour * tone.unsqueeze(-1)
    roughness = ctx.main_roughness(fuzz, 0.6)
    return Surface(albedo, roughness, torch.zeros_like(roughness), height.unsqueeze(-1), p["bump_depth"])


def marble(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    a, b = int(p["vein_a"]), int(p["vein_b"])
    cloud = noise.fbm(ctx.x, ctx.y, (3, 3), g, octaves=5)
    warp = noise.fbm(ctx.x, ctx.y, (2, 2), g, octaves=6)
    warp_fine = noise.fbm(ctx.x, ctx.y, (4, 4), g, octaves=5)
    main_veins = patterns.veins(ctx.x, ctx.y, (a, b), warp, p["warp"], p["sharpness"])
    fine_veins = patterns.veins(ctx.x, ctx.y, (a + 1, -b if b else 1), warp_fine, p["warp"] * 1.5, p["sharpness"] * 2)
    vein = (p["vein_strength"] * torch.maximum(main_veins, 0.5 * fine_veins)).clamp(0.0, 1.0)
    base = ctx.colour * (1.0 - p["cloud"] + 2.0 * p["cloud"] * cloud).unsqueeze(-1)
    albedo = mix(base, ctx.secondary * (0.9 + 0.2 * cloud).unsqueeze(-1), vein)
    height = 0.6 - 0.2 * vein
    roughness = ctx.main_roughness(vein, 0.3)
    return Surface(albedo, roughness, torch.zeros_like(roughness), height.unsqueeze(-1), p["bump_depth"])


def concrete(ctx: BuildContext) -> Surface:
    """Cast concrete: mottled tone, scattered air voids (bug holes, 2-8 px across at 256 px)
    and trowel marks in the height; sand grain at the scale of single pixels only in tone and
    roughness. Relief finer than a few pixels is sub-texel microgeometry (the roughness's job): it
    aliases under mip-mapping, and an 8x latent VAE averages it away."""
    p, g = ctx.params, ctx.generator
    mottle = noise.fbm(ctx.x, ctx.y, (4, 4), g, octaves=6)
    relief = noise.fbm(ctx.x, ctx.y, (4, 4), g, octaves=4)  # finest octave 32 cells: 8 px at 256
    trowel = noise.value_noise(ctx.x, ctx.y, (40, 40), g)  # 6 px at 256
    sand = noise.value_noise(ctx.x, ctx.y, (128, 128), g)  # 2 px at 256
    stain = noise.fbm(ctx.x, ctx.y, (2, 2), g, octaves=3)
    n = int(p["pores"])
    f1, _, cell = noise.voronoi(ctx.x, ctx.y, (n, max(1, round(n * ctx.aspect))), g, aspect=ctx.aspect)
    keep = (torch.rand(n * max(1, round(n * ctx.aspect)), generator=g) < 0.5).float()
    radius = p["pore_size"] * 0.5 / n  # texture-width units
    pore = (1.0 - noise.smoothstep(radius * 0.3, radius, f1)) * keep[cell]
    tone = (1.0 + p["mottle"] * (2.0 * mottle - 1.0)) * (0.93 + 0.14 * sand) * (1.0 - p["stain"] * stain)
    tone = tone * (1.0 - 0.5 * pore)
    albedo = ctx.colour * tone.unsqueeze(-1)
    height = (0.6 + 0.25 * relief + 0.15 * trowel) * (1.0 - 0.8 * pore)
    roughness = torch.lerp(ctx.main_roughness(sand, 0.5), _flat(ctx, 0.95).unsqueeze(-1), pore.unsqueeze(-1))
    return Surface(albedo, roughness, torch.zeros_like(roughness), height.unsqueeze(-1), p["bump_depth"])


def stone(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    n = int(p["cells"])
    f1, f2, cell = noise.voronoi(ctx.x, ctx.y, (n, max(1, round(n * ctx.aspect))), g, jitter=0.85, aspect=ctx.aspect)
    count = n * max(1, round(n * ctx.aspect))
    shade = 1.0 + p["variation"] * (2.0 * torch.rand(count, generator=g) - 1.0)
    grain = noise.fbm(ctx.x, ctx.y, (6, 6), g, octaves=5)
    speckle = noise.value_noise(ctx.x, ctx.y, (128, 128), g)
    edge = (f2 - f1) * 0.5  # about the distance to the cell border
    face = ctx.colour * (shade[cell] * (0.85 + 0.3 * grain) * (0.95 + 0.1 * speckle)).unsqueeze(-1)
    bevel = p["bevel"] if ctx.variant == "cobblestone" else p["bevel"] * 0.3
    rise = _bevel(edge, p["gap"], bevel)
    dome = rise.sqrt() if ctx.variant == "cobblestone" else rise  # cobbles are rounded, flagstones flat
    relief = (0.85 + 0.15 * grain) * (0.2 + 0.8 * dome)
    return _jointed(ctx, edge, face, relief, p["gap"], grain, speckle)


def leather(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    n = int(p["cells"])
    f1, f2, _ = noise.voronoi(ctx.x, ctx.y, (n, max(1, round(n * ctx.aspect))), g, jitter=1.0, aspect=ctx.aspect)
    mottle = noise.fbm(ctx.x, ctx.y, (5, 5), g, octaves=4)
    fine = noise.value_noise(ctx.x, ctx.y, (160, 160), g)
    edge = (f2 - f1) * 0.5
    crease = 1.0 - noise.smoothstep(0.0, p["crease"], edge)
    pebble = noise.smoothstep(0.0, 3.0 * p["crease"], edge)
    height = pebble * (0.85 + 0.15 * fine)
    tone = (1.0 - 0.25 * crease) * (1.0 + p["mottle"] * (2.0 * mottle - 1.0))
    albedo = ctx.colour * tone.unsqueeze(-1)
    roughness = ctx.main_roughness(0.5 * crease + 0.5 * fine, 0.5)
    return Surface(albedo, roughness, torch.zeros_like(roughness), height.unsqueeze(-1), p["bump_depth"])


BUILDERS = {
    "brick": brick, "ceramic_tiles": ceramic_tiles, "wood_planks": wood_planks, "painted_metal": painted_metal,
    "plastic": plastic, "rubber": rubber, "fabric": fabric, "marble": marble, "concrete": concrete,
    "stone": stone, "leather": leather,
}
