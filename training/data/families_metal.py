"""Builders of the metal families (metallic about 1; rust is the only non-metal part).

Albedo of a metal is its base colour (F0), the jittered metal colour of the caption. Variants of
gold / copper / steel: "plain", "hammered" (round dents), "tiles" (square plates with seams),
"diamond plate" (raised tread). See surface.py for the Surface / BuildContext contract.
"""

from __future__ import annotations

import torch

from . import noise, patterns
from .surface import BuildContext, ParamRange, Surface, mix

R = ParamRange

_SOLID = {"dents": R(5, 12, "int"), "tiles": R(2, 6, "int"), "seam": R(0.002, 0.005), "tread": R(6, 12, "int"),
          "smudge": R(0.02, 0.08), "bump_depth": R(0.003, 0.008)}
PARAMETERS: dict[str, dict[str, ParamRange]] = {
    "gold": dict(_SOLID),
    "copper": dict(_SOLID),
    "steel": dict(_SOLID),
    "brushed_metal": {"streaks": R(96, 192, "int"), "streak_strength": R(0.04, 0.12), "bump_depth": R(0.0002, 0.0006)},
    "rusted_metal": {"rust_coverage": R(0.06, 0.22), "rust_warp": R(0.05, 0.2), "bump_depth": R(0.002, 0.005)},
}

RUST_LIGHT = (0.30, 0.10, 0.03)  # linear albedo of fresh orange rust
RUST_DARK = (0.09, 0.035, 0.015)  # linear albedo of dark, old rust
RUST_ROUGHNESS = (0.88, 0.95)


def _metallic(ctx: BuildContext, field: torch.Tensor) -> torch.Tensor:
    return (0.97 + 0.03 * field).unsqueeze(-1)  # [H, W, 1] in [0.97, 1]


def solid_metal(ctx: BuildContext) -> Surface:
    """gold, copper and steel: a metal sheet with smudges and the variant's relief."""
    p, g = ctx.params, ctx.generator
    smudge = noise.fbm(ctx.x, ctx.y, (3, 3), g, octaves=5)
    fine = noise.value_noise(ctx.x, ctx.y, (128, 128), g)
    albedo = ctx.colour * (1.0 - p["smudge"] + 2.0 * p["smudge"] * smudge).unsqueeze(-1)
    roughness = ctx.main_roughness(smudge, 0.6)
    depth = p["bump_depth"]
    seam = torch.zeros_like(ctx.x)
    if ctx.variant == "hammered":
        n = int(p["dents"])
        f1, _, _ = noise.voronoi(ctx.x, ctx.y, (n, max(1, round(n * ctx.aspect))), g, jitter=0.9, aspect=ctx.aspect)
        height = (f1 * n / 0.75).clamp(max=1.0) ** 1.6  # round dents, deepest at the hammer blow
    elif ctx.variant == "tiles":
        n = int(p["tiles"])
        cells = patterns.running_bond(ctx.x, ctx.y, max(1, round(n * ctx.aspect)), n, 0.0, ctx.aspect)
        soft = 1.0 / ctx.x.shape[1]
        seam = 1.0 - noise.smoothstep(p["seam"] / 2.0 - soft, p["seam"] / 2.0 + soft, cells.edge)
        height = noise.smoothstep(p["seam"] / 2.0, p["seam"] * 1.5, cells.edge) * (0.95 + 0.05 * fine)
    elif ctx.variant == "diamond plate":
        height = 0.85 * patterns.diamond_tread(ctx.x, ctx.y, int(p["tread"]), ctx.aspect) + 0.15 * smudge
    else:
        height = 0.5 + 0.3 * (fine - 0.5)
        depth = depth * 0.1
    # Seams between metal tiles are darker and a little rougher, but still metal.
    albedo = mix(albedo, albedo * 0.55, seam)
    roughness = (roughness + 0.15 * seam.unsqueeze(-1)).clamp(0.0, 1.0)
    return Surface(albedo, roughness, _metallic(ctx, fine), height.unsqueeze(-1), depth)


def brushed_metal(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    # Lattice much finer across y than along x: streaks run along x.
    streak = noise.fbm(ctx.x, ctx.y, (3, int(p["streaks"])), g, octaves=3)
    smudge = noise.fbm(ctx.x, ctx.y, (3, 3), g, octaves=4)
    s = p["streak_strength"]
    albedo = ctx.colour * ((1.0 - s + 2.0 * s * streak) * (0.98 + 0.04 * smudge)).unsqueeze(-1)
    roughness = ctx.main_roughness(0.7 * streak + 0.3 * smudge, 0.8)
    return Surface(albedo, roughness, _metallic(ctx, smudge), streak.unsqueeze(-1), p["bump_depth"])


def rusted_metal(ctx: BuildContext) -> Surface:
    p, g = ctx.params, ctx.generator
    wx = noise.fbm(ctx.x, ctx.y, (4, 4), g, octaves=3)
    wy = noise.fbm(ctx.x, ctx.y, (4, 4), g, octaves=3)
    x = ctx.x + p["rust_warp"] * (wx - 0.5)
    y = ctx.y + p["rust_warp"] * (wy - 0.5)
    rust_field = noise.fbm(x, y, (3, 3), g, octaves=6)
    threshold = noise.coverage_threshold(rust_field, p["rust_coverage"])
    rust = noise.smoothstep(threshold - 0.015, threshold + 0.015, rust_field)
    age = noise.fbm(ctx.x, ctx.y, (12, 12), g, octaves=3)
    pits = noise.value_noise(ctx.x, ctx.y, (160, 160), g)
    stains = noise.fbm(ctx.x, ctx.y, (2, 6), g, octaves=4)
    steel = ctx.colour * (0.88 + 0.12 * stains).unsqueeze(-1)
    rust_albedo = torch.lerp(torch.tensor(RUST_LIGHT), torch.tensor(RUST_DARK), age.unsqueeze(-1))
    rust_albedo = rust_albedo * (0.85 + 0.3 * pits).unsqueeze(-1)
    albedo = mix(steel, rust_albedo, rust)
    low, high = RUST_ROUGHNESS
    rust_roughness = (low + (high - low) * pits).unsqueeze(-1)
    roughness = torch.lerp(ctx.main_roughness(stains, 0.5), rust_roughness, rust.unsqueeze(-1))
    metallic = _metallic(ctx, stains) * (1.0 - rust.unsqueeze(-1))
    height = 0.45 + 0.05 * stains + rust * (0.25 + 0.25 * pits)
    return Surface(albedo, roughness, metallic, height.unsqueeze(-1), p["bump_depth"])


BUILDERS = {"gold": solid_metal, "copper": solid_metal, "steel": solid_metal,
            "brushed_metal": brushed_metal, "rusted_metal": rusted_metal}
