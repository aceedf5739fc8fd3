"""`intrinsix eval demo`: does the demo model make the material a prompt names? (docs/demo-model.md)

Prompts NOT used in training: the held-out (family, colour, finish) combinations of
`vocabulary.split_combinations()` (25 by default; the demo model never saw these captions), each
written as the procedural generator would caption it (variant and joint colour drawn from the
prompt seed). No metal combination is held out by that split (each metal family has one colour),
so the metallic check of metals runs on a second set, one prompt per metal (family, colour) pair
with a finish drawn by the seed: seen combinations, reported apart. A third set, the seen control,
costs no generation: the roughness order already generates every held-out prompt with the other
finishes of its family, and those whose combination was trained (same words, variant, joint colour
and seed; only the finish differs) get the colour and normal checks too. A model that passes the
control but misses the held-out prompts fails to compose words it knows; one that misses both does
not reproduce its training captions.

Criteria, each a pass / fail per generated set (albedo, material, normal of one prompt and seed):

- metallic: mean metallic > 0.7 for a metal family, < 0.2 for every other family;
- roughness order: for each held-out prompt and every other finish of its family, the prompt with
  the lower finish in polished < glossy < satin < matte < rough has the lower mean roughness (same
  family, colour, variant, joint colour and seed: the pair differs only in the finish word);
- albedo colour: `colours.mean_albedo_matches(colour, albedo)`: the hue of the mean albedo within
  30 degrees of the named colour, or saturation < 0.2 for greys;
- normals: every pixel normal has unit length (| |n| - 1 | < 1e-3), at least 99 % of them face the
  viewer (n_z > 0), and the relief is plausible: the mean tilt acos(n_z) lies in
  [0.5 * lo, max(2 * hi, hi + 2 deg)], where [lo, hi] is the range of mean tilts of 24 procedural
  materials of the same family at the same size (flat families such as marble may not come out
  bumpy, families with relief such as brick may not come out flat); where the family's flattest
  procedural material has a mean tilt below `FLAT_TILT_DEGREES` (0.1 deg, invisible), a flat map is
  plausible and the lower bound is 0.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..data.colours import mean_albedo_matches
from ..data.materials import MaterialSpec, caption, random_material, sample_spec
from ..data.vocabulary import FAMILIES, FINISH_ORDER, split_combinations

METALLIC_METAL, METALLIC_OTHER = 0.7, 0.2
FACING_FRACTION = 0.99
UNIT_TOLERANCE = 1e-3
RELIEF_REFERENCE_MATERIALS = 24
# A mean tilt below this is invisible: 0.1 deg changes the Lambert shading of a light at 45 deg by
# 0.12 % of white, a third of one 8-bit sRGB step at mid grey. A family whose procedural materials
# go down to it (marble, painted metal) may come out flat.
FLAT_TILT_DEGREES = 0.1


@dataclass(frozen=True)
class EvalPrompt:
    prompt: str
    family: str
    colour: str
    finish: str
    variant: str  # pattern variant of the caption (e.g. "subway", "hammered", "plain")
    secondary: str | None  # joint / vein colour of the caption, if the family has one
    seed: int  # generation seed (CPU generator)
    held_out: bool  # a held-out combination (False: the metal set of seen combinations)


def held_out_prompts(count: int, seed: int = 0) -> list[EvalPrompt]:
    """`count` prompts cycling over the held-out combinations (count 0 = one per combination)."""
    return [EvalPrompt(caption(spec), spec.family, spec.colour, spec.finish, spec.variant, spec.secondary, seed + i,
                       True) for i, spec in enumerate(held_out_specs(count, seed))]


def held_out_specs(count: int, seed: int = 0) -> list[MaterialSpec]:
    """The procedural specs of the `held_out_prompts`: the material each prompt names."""
    combos = split_combinations()[1]
    specs = []
    for i in range(count or len(combos)):
        family, colour, finish = combos[i % len(combos)]
        specs.append(sample_spec(seed * 100_003 + i, family=family, colour=colour, finish=finish))
    return specs


def finish_partners(prompt: EvalPrompt) -> list[EvalPrompt]:
    """The same material with every other finish of its family (same variant, joint colour and
    seed); `held_out` tells whether that combination is one of the held-out ones."""
    held = set(split_combinations()[1])
    out = []
    for finish in FAMILIES[prompt.family].finishes:
        if finish != prompt.finish:
            text = caption(MaterialSpec(prompt.family, prompt.colour, finish, prompt.variant, prompt.secondary, {}, 0))
            out.append(EvalPrompt(text, prompt.family, prompt.colour, finish, prompt.variant, prompt.secondary,
                                  prompt.seed, (prompt.family, prompt.colour, finish) in held))
    return out


def metal_prompts(seed: int = 0) -> list[EvalPrompt]:
    """One prompt per metal (family, colour) pair, finish drawn from the seed (seen combinations)."""
    out = []
    pairs = [(f.name, c) for f in FAMILIES.values() if f.is_metal for c in f.colours]
    for i, (family, colour) in enumerate(pairs):
        spec = sample_spec(seed * 100_003 + 50_000 + i, family=family, colour=colour)
        out.append(EvalPrompt(caption(spec), family, colour, spec.finish, spec.variant, spec.secondary,
                              seed + 1000 + i, False))
    return out


def relief_reference(family: str, size: int, count: int = RELIEF_REFERENCE_MATERIALS) -> tuple[float, float]:
    """(lowest, highest) mean tilt in degrees of `count` procedural materials of `family` at `size`."""
    tilts = [mean_tilt_degrees(random_material(10_000 + i, size, family=family).normal) for i in range(count)]
    return min(tilts), max(tilts)


def mean_tilt_degrees(normal: torch.Tensor) -> float:  # [..., 3] unit vectors (any leading dims)
    return float(torch.rad2deg(torch.acos(normal[..., 2].clamp(-1.0, 1.0))).mean())


def check_metallic(family: str, material: torch.Tensor) -> tuple[bool, str]:
    mean = float(material[..., 1].mean())
    if FAMILIES[family].is_metal:
        return mean > METALLIC_METAL, f"metal: mean metallic {mean:.3f} (needs > {METALLIC_METAL})"
    return mean < METALLIC_OTHER, f"non-metal: mean metallic {mean:.3f} (needs < {METALLIC_OTHER})"


def check_normals(normal: torch.Tensor, reference: tuple[float, float]) -> tuple[bool, str]:
    length = normal.norm(dim=-1)
    unit = bool(((length - 1.0).abs() < UNIT_TOLERANCE).all())
    facing = float((normal[..., 2] > 0).float().mean())
    tilt = mean_tilt_degrees(normal)
    lo = 0.0 if reference[0] < FLAT_TILT_DEGREES else 0.5 * reference[0]
    hi = max(2.0 * reference[1], reference[1] + 2.0)
    ok = unit and facing >= FACING_FRACTION and lo <= tilt <= hi
    return ok, (f"unit {unit}, facing {facing:.4f}, mean tilt {tilt:.2f} deg (plausible: [{lo:.2f}, {hi:.2f}] "
                f"from procedural {reference[0]:.2f}-{reference[1]:.2f})")


@dataclass
class Generated:
    prompt: EvalPrompt
    albedo: torch.Tensor  # [H, W, 3] linear
    material: torch.Tensor  # [H, W, 3]
    normal: torch.Tensor  # [H, W, 3]
    seconds: float

    @property
    def roughness(self) -> float:
        return float(self.material[..., 0].mean())


def generate(pipe, prompt: EvalPrompt, size: int, steps: int, guidance: float, true_cfg_scale: float = 1.0
             ) -> Generated:
    """One texture set as `intrinsix generate` makes it (true CFG against the empty prompt above 1)."""
    from intrinsix.generator.defaults import guidance_arguments

    began = time.perf_counter()
    out = pipe(prompt.prompt, height=size, width=size, num_inference_steps=steps, guidance_scale=guidance,
               generator=torch.Generator().manual_seed(prompt.seed), **guidance_arguments(true_cfg_scale))
    return Generated(prompt, out.albedo[0].float().cpu(), out.material[0].float().cpu(), out.normal[0].float().cpu(),
                     time.perf_counter() - began)


def evaluate(model_dir: str | Path, count: int = 0, seed: int = 0, device: str | torch.device = "cpu",
             size: int | None = None, steps: int | None = None, true_cfg_scale: float | None = None,
             log=print) -> tuple[dict, list[Generated]]:
    """Generate the evaluation prompts with the model in `model_dir` (load_pipeline) and check the
    criteria; size, steps and true_cfg_scale default to the model's (`intrinsix_defaults.json`).
    Returns (report, generated sets: held-out prompts first, then the metal set)."""
    from intrinsix.generator import load_pipeline
    from intrinsix.generator.defaults import generation_defaults

    defaults = generation_defaults(model_dir)
    size = size or defaults["size"]
    steps = steps or defaults["num_inference_steps"]
    guidance = defaults["guidance_scale"]
    true_cfg_scale = defaults["true_cfg_scale"] if true_cfg_scale is None else true_cfg_scale
    pipe = load_pipeline(model_dir, device=device)
    pipe.set_progress_bar_config(disable=True)

    main = held_out_prompts(count, seed)
    metals = metal_prompts(seed)
    cache: dict[str, Generated] = {}

    def run(prompt: EvalPrompt) -> Generated:
        key = f"{prompt.prompt}|{prompt.seed}"
        if key not in cache:
            cache[key] = generate(pipe, prompt, size, steps, guidance, true_cfg_scale)
            log(f"  {prompt.prompt!r} (seed {prompt.seed}): {cache[key].seconds:.1f} s")
        return cache[key]

    references: dict[str, tuple[float, float]] = {}

    def check(prompt: EvalPrompt, g: Generated, metallic: bool = True) -> dict:
        """{criterion: {"ok", "why"}} of one generated set (the metallic check optional)."""
        if prompt.family not in references:
            references[prompt.family] = relief_reference(prompt.family, size)
        checks = {"metallic": check_metallic(prompt.family, g.material)} if metallic else {}
        checks["albedo_colour"] = mean_albedo_matches(prompt.colour, g.albedo)
        checks["normals"] = check_normals(g.normal, references[prompt.family])
        return {k: {"ok": bool(ok), "why": why} for k, (ok, why) in checks.items()}

    rows = []
    for prompt in main + metals:
        g = run(prompt)
        rows.append({"prompt": asdict(prompt), "roughness": round(g.roughness, 4),
                     "metallic": round(float(g.material[..., 1].mean()), 4), "seconds": round(g.seconds, 2),
                     "checks": check(prompt, g)})
    pairs = []
    trained_partners: dict[str, EvalPrompt] = {}  # the seen control, in order, without repeats
    for prompt in main:
        for partner in finish_partners(prompt):
            a, b = run(prompt), run(partner)
            low, high = (a, b) if FINISH_ORDER.index(prompt.finish) < FINISH_ORDER.index(partner.finish) else (b, a)
            pairs.append({"lower_finish": low.prompt.prompt, "higher_finish": high.prompt.prompt,
                          "roughness": [round(low.roughness, 4), round(high.roughness, 4)],
                          "ok": low.roughness < high.roughness})
            if not partner.held_out:
                trained_partners.setdefault(f"{partner.prompt}|{partner.seed}", partner)
    control = [{"prompt": asdict(p), "checks": check(p, run(p), metallic=False)} for p in trained_partners.values()]

    def rate(items) -> dict:
        items = list(items)
        passed = sum(1 for ok in items if ok)
        return {"passed": passed, "total": len(items), "rate": round(passed / len(items), 4) if items else math.nan}

    held = [r for r in rows if r["prompt"]["held_out"]]
    seen_metals = [r for r in rows if not r["prompt"]["held_out"]]
    report = {
        "model": str(model_dir), "size": size, "steps": steps, "guidance": guidance,
        "true_cfg_scale": true_cfg_scale, "device": str(device),
        "pass_rates": {
            "metallic (held-out, all non-metal)": rate(r["checks"]["metallic"]["ok"] for r in held),
            "metallic (metal set, seen combinations)": rate(r["checks"]["metallic"]["ok"] for r in seen_metals),
            "roughness order (finish pairs)": rate(p["ok"] for p in pairs),
            "albedo colour (held-out)": rate(r["checks"]["albedo_colour"]["ok"] for r in held),
            "albedo colour (metal set)": rate(r["checks"]["albedo_colour"]["ok"] for r in seen_metals),
            "normals (held-out)": rate(r["checks"]["normals"]["ok"] for r in held),
            "normals (metal set)": rate(r["checks"]["normals"]["ok"] for r in seen_metals),
            "albedo colour (seen control)": rate(r["checks"]["albedo_colour"]["ok"] for r in control),
            "normals (seen control)": rate(r["checks"]["normals"]["ok"] for r in control),
        },
        "seconds_per_generation": round(sum(g.seconds for g in cache.values()) / len(cache), 2),
        "generations": len(cache),
        "prompts": rows,
        "finish_pairs": pairs,
        "seen_control": control,
    }
    generated = [cache[f"{p.prompt}|{p.seed}"] for p in main + metals]
    return report, generated


@torch.no_grad()
def vae_round_trip_ceiling(model_dir: str | Path, count: int = 0, seed: int = 0,
                           device: str | torch.device = "cpu", size: int | None = None) -> dict:
    """The colour and normal checks on the procedural materials the held-out prompts name, as
    they are and after a round trip through the model's VAE (encode, posterior mean, decode). Every
    generated map passes through that decoder, so the round-trip pass rate bounds what any
    transformer on this VAE can reach."""
    from diffusers import AutoencoderKL

    from intrinsix.generator.defaults import generation_defaults, vae_encoding

    from ..data.materials import generate_material
    from .vae_training import vae_round_trip  # (vae_training imports this module)

    defaults = generation_defaults(model_dir)
    size, encoding = size or defaults["size"], vae_encoding(defaults)
    vae = AutoencoderKL.from_pretrained(str(model_dir), subfolder="vae", torch_dtype=torch.float32,
                                        local_files_only=True).to(device).eval()
    references: dict[str, tuple[float, float]] = {}
    rows = []
    for spec in held_out_specs(count, seed):
        material = generate_material(spec, size)
        albedo = vae_round_trip(vae, "albedo", material.albedo[None].to(device), encoding)[0].cpu()
        normal = vae_round_trip(vae, "normal", material.normal[None].to(device), encoding)[0].cpu()
        if spec.family not in references:
            references[spec.family] = relief_reference(spec.family, size)
        checks = {"procedural": (mean_albedo_matches(spec.colour, material.albedo),
                                 check_normals(material.normal, references[spec.family])),
                  "round_trip": (mean_albedo_matches(spec.colour, albedo),
                                 check_normals(normal, references[spec.family]))}
        rows.append({"prompt": caption(spec), **{
            key: {"albedo_colour": {"ok": bool(colour[0]), "why": colour[1]},
                  "normals": {"ok": bool(normals[0]), "why": normals[1]}}
            for key, (colour, normals) in checks.items()}})
    rates = {f"{criterion} ({key})": sum(r[key][criterion]["ok"] for r in rows) / len(rows)
             for key in ("procedural", "round_trip") for criterion in ("albedo_colour", "normals")}
    return {"model": str(model_dir), "size": size, "seed": seed, "prompts": len(rows), "pass_rates": rates,
            "rows": rows}


def write_report(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
