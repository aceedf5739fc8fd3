"""Procedural PBR materials: a `MaterialSpec` (family, colour, finish, variant, joint colour,
numeric parameters, seed) -> a tileable `Material` (albedo, roughness, metallic, height,
tangent-space normal, caption).

    spec = sample_spec(seed=7, family="brick")
    m = generate_material(spec, size=256)
    m.caption      # "rough red brick with grey mortar"
    m.albedo       # [256, 256, 3] float32 linear RGB

Determinism: everything random is drawn from generators seeded by `spec.seed` (numpy
`default_rng([seed, stream])` for the colour jitter and missing parameters, a `torch.Generator` for
the noise fields), never from global state; the same spec and size give bit-identical maps.
Tileability: every field is periodic over the texture (noise.py, patterns.py) and the normal map
uses wrap-around differences, so the maps tile seamlessly. See docs/training-data.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import colours, families_dielectric, families_metal, noise
from .surface import BuildContext, ParamRange, Surface, height_to_normal
from .vocabulary import FAMILIES, FINISHES, Combination, family as family_named

BUILDERS = {**families_dielectric.BUILDERS, **families_metal.BUILDERS}
PARAMETERS: dict[str, dict[str, ParamRange]] = {**families_dielectric.PARAMETERS, **families_metal.PARAMETERS}
assert set(BUILDERS) == set(FAMILIES) == set(PARAMETERS), "every family needs a builder and parameter ranges"

_STREAM_SPEC, _STREAM_PARAMS, _STREAM_COLOUR, _STREAM_NOISE = 0, 1, 2, 3
MAX_SIZE = 4096


@dataclass
class MaterialSpec:
    """Everything that determines a material. `params` may be partial: missing numeric parameters
    are drawn from `PARAMETERS[family]` (and "roughness" from the finish's range) with the seed."""

    family: str
    colour: str
    finish: str
    variant: str
    secondary: str | None = None  # joint / vein colour for families that have one
    params: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def validate(self) -> None:
        fam = family_named(self.family)
        if self.colour not in fam.colours:
            raise ValueError(f"colour of family {self.family!r} must be one of {list(fam.colours)}, "
                             f"got {self.colour!r}")
        if self.finish not in fam.finishes:
            raise ValueError(f"finish of family {self.family!r} must be one of {list(fam.finishes)}, "
                             f"got {self.finish!r}")
        if self.variant not in fam.variants:
            raise ValueError(f"variant of family {self.family!r} must be one of {list(fam.variants)}, "
                             f"got {self.variant!r}")
        if fam.secondary and self.secondary not in fam.secondary:
            raise ValueError(f"secondary colour of family {self.family!r} must be one of {list(fam.secondary)}, "
                             f"got {self.secondary!r}")
        if not fam.secondary and self.secondary is not None:
            raise ValueError(f"family {self.family!r} has no secondary colour, got {self.secondary!r}")
        ranges = dict(PARAMETERS[self.family], roughness=ParamRange(*FINISHES[self.finish]))
        for name, value in self.params.items():
            if name not in ranges:
                raise ValueError(f"unknown parameter {name!r} for family {self.family!r}; allowed: {sorted(ranges)}")
            ranges[name].check(name, value)
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")


@dataclass
class Material:
    """A generated material; maps in image order (row 0 at the top), float32 on the CPU."""

    albedo: torch.Tensor  # [H, W, 3] linear RGB in [0, 1] (base colour; F0 for metals)
    roughness: torch.Tensor  # [H, W, 1] in [0, 1]
    metallic: torch.Tensor  # [H, W, 1] in [0, 1]
    height: torch.Tensor  # [H, W, 1] in [0, 1]; physical height = height * bump_depth
    normal: torch.Tensor  # [H, W, 3] unit tangent-space normals, OpenGL (+x right, +y up, +z out)
    bump_depth: float  # texture-width units
    caption: str
    spec: MaterialSpec


def caption(spec: MaterialSpec) -> str:
    """The caption of a spec, e.g. "rough red brick with grey mortar", "polished gold tiles"."""
    f, c, fin, var, sec = spec.family, spec.colour, spec.finish, spec.variant, spec.secondary
    if f == "brick":
        return f"{fin} {c} brick with {sec} mortar"
    if f == "ceramic_tiles":
        return f"{fin} {c} {'subway' if var == 'subway' else 'ceramic'} tiles with {sec} grout"
    if f == "wood_planks":
        return f"{fin} {c} wood planks"
    if f in ("painted_metal", "plastic", "rubber"):
        adjective = {"chipped": "chipped ", "textured": "textured ", "studded": "studded "}.get(var, "")
        noun = {"painted_metal": "painted metal"}.get(f, f)
        return f"{fin} {c} {adjective}{noun}"
    if f == "fabric":
        return f"{fin} {c} woven fabric"
    if f == "marble":
        return f"{fin} {c} marble with {sec} veins"
    if f == "stone":
        return f"{fin} {c} {var}"
    if f in ("concrete", "leather"):
        return f"{fin} {c} {f}"
    if f in ("gold", "copper", "steel"):
        before = "hammered " if var == "hammered" else ""
        after = {"tiles": " tiles", "diamond plate": " diamond plate"}.get(var, "")
        return f"{fin} {before}{c}{after}"
    if f == "brushed_metal":
        return f"{fin} brushed {c}"
    if f == "rusted_metal":
        return f"{fin} rusted {c}"
    raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {f!r}")


def _choose(rng: np.random.Generator, options):
    options = list(options)
    return options[int(rng.integers(len(options)))]


def sample_spec(
    seed: int,
    family: str | None = None,
    colour: str | None = None,
    finish: str | None = None,
    variant: str | None = None,
    combinations: list[Combination] | None = None,
) -> MaterialSpec:
    """A random spec from `seed`; given words are kept. With `combinations` (e.g. the training half
    of `vocabulary.split_combinations()`), only those (family, colour, finish) triples are drawn:
    a family uniformly among those present, then a combination uniformly within the family.
    All numeric parameters are sampled (uniform in their ranges) and stored in `params`."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    seed = int(seed)
    for name, value, allowed in (("family", family, FAMILIES), ("finish", finish, FINISHES),
                                 ("colour", colour, colours.NAMED_COLOURS)):
        if value is not None and value not in allowed:
            raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    rng = np.random.default_rng([seed, _STREAM_SPEC])
    pool = combinations if combinations is not None else [
        (f.name, c, fin) for f in FAMILIES.values() for c in f.colours for fin in f.finishes]
    pool = [t for t in pool if (family is None or t[0] == family) and (colour is None or t[1] == colour)
            and (finish is None or t[2] == finish)]
    if not pool:
        raise ValueError(f"no allowed (family, colour, finish) combination matches family={family!r}, "
                         f"colour={colour!r}, finish={finish!r}")
    fam_name = _choose(rng, sorted({t[0] for t in pool}))
    _, col, fin = _choose(rng, [t for t in pool if t[0] == fam_name])
    fam = FAMILIES[fam_name]
    if variant is not None and variant not in fam.variants:
        raise ValueError(f"variant of family {fam_name!r} must be one of {list(fam.variants)}, got {variant!r}")
    var = variant if variant is not None else _choose(rng, fam.variants)
    secondary = _choose(rng, [s for s in fam.secondary if s != col]) if fam.secondary else None
    spec = MaterialSpec(fam_name, col, fin, var, secondary, {}, seed)
    spec.params = _complete_params(spec)
    return spec


def _complete_params(spec: MaterialSpec) -> dict[str, float]:
    rng = np.random.default_rng([spec.seed, _STREAM_PARAMS])
    ranges = dict(PARAMETERS[spec.family], roughness=ParamRange(*FINISHES[spec.finish]))
    sampled = {name: r.sample(rng) for name, r in ranges.items()}  # always draw all: stable streams
    return {name: float(spec.params.get(name, sampled[name])) for name in ranges}


def _size(size) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    for label, v in (("height", height), ("width", width)):
        if not isinstance(v, (int, np.integer)) or not 8 <= v <= MAX_SIZE:
            raise ValueError(f"size {label} must be an int in [8, {MAX_SIZE}], got {v!r}")
    return int(height), int(width)


def generate_material(spec: MaterialSpec, size: int | tuple[int, int] = 256) -> Material:
    """Build the maps of `spec` at `size` (int, or (height, width)). CPU, float32.

    The pattern scale is relative to the texture (a 512 map shows the same bricks as a 256 map, at
    twice the resolution); every map tiles with period (height, width).
    """
    spec.validate()
    height, width = _size(size)
    params = _complete_params(spec)
    colour_rng = np.random.default_rng([spec.seed, _STREAM_COLOUR])
    colour = torch.tensor(colours.jittered_colour(spec.colour, colour_rng), dtype=torch.float32)
    secondary = None
    if spec.secondary is not None:
        secondary = torch.tensor(colours.jittered_colour(spec.secondary, colour_rng, hue_jitter_degrees=3.0),
                                 dtype=torch.float32)
    generator = torch.Generator().manual_seed(int(np.random.default_rng([spec.seed, _STREAM_NOISE]).integers(2**62)))
    x, y = noise.texture_coords(height, width, generator)
    ctx = BuildContext(x, y, height / width, generator, colour, secondary, FINISHES[spec.finish], spec.variant, params)
    surface: Surface = BUILDERS[spec.family](ctx)
    albedo = surface.albedo.clamp(0.0, 1.0).float().contiguous()
    roughness = surface.roughness.clamp(0.0, 1.0).float().contiguous()
    metallic = surface.metallic.clamp(0.0, 1.0).float().contiguous()
    relief = surface.height.clamp(0.0, 1.0).float().contiguous()
    normal = height_to_normal(relief, surface.bump_depth).contiguous()
    done = MaterialSpec(spec.family, spec.colour, spec.finish, spec.variant, spec.secondary, params, spec.seed)
    return Material(albedo, roughness, metallic, relief, normal, float(surface.bump_depth), caption(done), done)


def random_material(seed: int, size: int | tuple[int, int] = 256, **constraints) -> Material:
    """`generate_material(sample_spec(seed, **constraints), size)`."""
    return generate_material(sample_spec(seed, **constraints), size)
