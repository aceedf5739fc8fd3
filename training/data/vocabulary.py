"""The caption vocabulary of the procedural materials: families, colours, finishes, and the
(family, colour, finish) combinations with a deterministic train / held-out split.

Rules the captions obey (and the demo-model evaluation checks):
- finish words map to disjoint roughness ranges (`FINISHES`), ordered
  polished < glossy < satin < matte < rough;
- metal families (`Family.is_metal`) have mean metallic > 0.7, all others < 0.2;
- the colour word is a row of `colours.NAMED_COLOURS` and the albedo is built from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .colours import NAMED_COLOURS

# Finish word -> main-surface roughness range [low, high]; disjoint and in this order.
FINISHES: dict[str, tuple[float, float]] = {
    "polished": (0.04, 0.12),
    "glossy": (0.15, 0.25),
    "satin": (0.30, 0.45),
    "matte": (0.55, 0.70),
    "rough": (0.78, 0.95),
}
FINISH_ORDER: tuple[str, ...] = tuple(FINISHES)

GREYS = ("white", "light grey", "grey", "dark grey")
_BRIGHT = ("red", "orange", "yellow", "green", "teal", "blue", "purple", "pink")


@dataclass(frozen=True)
class Family:
    """One material family and the words its captions may use."""

    name: str  # identifier, e.g. "ceramic_tiles"
    is_metal: bool  # True: metallic ~1 (mean > 0.7); False: metallic ~0 (mean < 0.2)
    colours: tuple[str, ...]  # allowed main colours (names of NAMED_COLOURS)
    finishes: tuple[str, ...]  # allowed finish words (keys of FINISHES)
    variants: tuple[str, ...] = ("plain",)  # pattern variants; non-"plain" ones appear in captions
    secondary: tuple[str, ...] = ()  # colours of joints / veins (mortar, grout, marble veins)
    surface: str = "any"  # where the scene renderer may use it: "floor", "wall", "object", "any"


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("brick", False, ("red", "brown", "orange", "beige", "grey", "white"), ("matte", "rough"),
               ("running bond",), secondary=GREYS, surface="wall"),
        Family("ceramic_tiles", False, ("white", "beige", "blue", "green", "teal", "black", "grey", "red", "yellow"),
               ("polished", "glossy", "satin", "matte"), ("square", "subway"), secondary=GREYS + ("black",)),
        Family("wood_planks", False, ("brown", "dark brown", "beige", "grey"),
               ("polished", "glossy", "satin", "matte", "rough"), surface="floor"),
        Family("painted_metal", False, _BRIGHT + ("white", "black", "grey"), ("glossy", "satin", "matte"),
               ("plain", "chipped"), surface="object"),
        Family("plastic", False, _BRIGHT + ("white", "black", "grey", "light grey"), ("glossy", "satin", "matte"),
               ("plain", "textured"), surface="object"),
        Family("rubber", False, ("black", "dark grey", "red", "blue", "green", "yellow"), ("satin", "matte", "rough"),
               ("plain", "studded"), surface="object"),
        Family("fabric", False, _BRIGHT + ("beige", "grey", "brown"), ("matte", "rough"), ("woven",)),
        Family("marble", False, ("white", "black", "green", "beige", "grey", "pink"), ("polished", "glossy", "satin"),
               secondary=("white", "grey", "dark grey", "black")),
        Family("concrete", False, ("grey", "light grey", "dark grey", "beige"), ("matte", "rough")),
        Family("stone", False, ("grey", "beige", "brown", "dark grey"), ("matte", "rough"),
               ("cobblestone", "flagstone"), secondary=("grey", "dark grey"), surface="floor"),
        Family("leather", False, ("brown", "dark brown", "black", "red", "beige"), ("glossy", "satin", "matte"),
               surface="object"),
        Family("gold", True, ("gold",), ("polished", "satin", "rough"), ("plain", "hammered", "tiles"),
               surface="object"),
        Family("copper", True, ("copper",), ("polished", "satin", "rough"), ("plain", "hammered", "tiles"),
               surface="object"),
        Family("steel", True, ("steel",), ("polished", "satin", "matte", "rough"), ("plain", "tiles", "diamond plate"),
               surface="object"),
        Family("brushed_metal", True, ("aluminium", "steel", "brass", "copper", "gold"), ("satin", "matte"),
               ("brushed",), surface="object"),
        Family("rusted_metal", True, ("steel",), ("satin", "matte", "rough"), ("rusted",), surface="object"),
    )
}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {name!r}")
    return FAMILIES[name]


def _check_vocabulary() -> None:
    for f in FAMILIES.values():
        for c in f.colours + f.secondary:
            if c not in NAMED_COLOURS:
                raise AssertionError(f"family {f.name}: colour {c!r} is not a named colour")
            if c in f.colours and NAMED_COLOURS[c].metal != f.is_metal:
                raise AssertionError(f"family {f.name}: colour {c!r} metal={NAMED_COLOURS[c].metal} mismatch")
        for fin in f.finishes:
            if fin not in FINISHES:
                raise AssertionError(f"family {f.name}: finish {fin!r} unknown")


_check_vocabulary()

Combination = tuple[str, str, str]  # (family, colour, finish)


def all_combinations() -> list[Combination]:
    """Every (family, colour, finish) triple the generator can produce, in a fixed order."""
    return [(f.name, c, fin) for f in FAMILIES.values() for c in f.colours for fin in f.finishes]


def _rank(combo: Combination, seed: int) -> str:
    return hashlib.sha256(f"{seed}|{'|'.join(combo)}".encode()).hexdigest()


def split_combinations(held_out_fraction: float = 0.1, seed: int = 0) -> tuple[list[Combination], list[Combination]]:
    """Deterministic (train, held_out) split of `all_combinations()`.

    Combinations are visited in the order of a hash of (seed, combination) and held out while
    fewer than `held_out_fraction` of all are held out, but only if its family, its colour (within
    the family) and its finish (within the family) each keep at least one training combination: a
    held-out combination is an unseen combination of words that were all seen in training.
    """
    if not 0.0 <= held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}")
    combos = all_combinations()
    target = int(round(held_out_fraction * len(combos)))
    train = set(combos)
    held: set[Combination] = set()
    for combo in sorted(combos, key=lambda c: _rank(c, seed)):
        if len(held) >= target:
            break
        fam, colour, fin = combo
        rest = train - {combo}
        if any(c[0] == fam and c[1] == colour for c in rest) and any(c[0] == fam and c[2] == fin for c in rest):
            train, held = rest, held | {combo}
    return [c for c in combos if c in train], [c for c in combos if c in held]
