"""Named colours of the procedural material captions, and the hue measure that checks them.

Every colour word a caption can contain is a row of `NAMED_COLOURS` with its linear RGB value. A
material picks its colour from this table first (then jitters it a little), so the word in the
caption and the albedo agree by construction; `hue_degrees` / `colour_distance_degrees` are the
measures the tests and the demo-model evaluation use to check that ("the albedo hue is within 30
degrees of the named colour").

Hue and saturation are HSV values of the sRGB *encoding* of a linear colour (perceptually closer to
how people name colours than HSV on linear values). A colour whose HSV saturation is below
`ACHROMATIC_SATURATION` (white, greys, black, steel, aluminium) has no meaningful hue: it is checked
by "low saturation" instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ACHROMATIC_SATURATION = 0.15  # HSV saturation (on sRGB) below which a colour counts as grey
# sRGB value below which the grey check divides the chroma by this instead of the value: the HSV
# saturation of a near-black colour is numerical noise (linear (0, 0, 0.0002), which reads as pure
# black, has saturation 0.96).
DARK_VALUE = 0.05


def srgb_to_linear(x):
    """sRGB-encoded values in [0, 1] -> linear (IEC 61966-2-1). numpy arrays or torch tensors."""
    lib = torch if isinstance(x, torch.Tensor) else np
    x = lib.clip(x, 0.0, 1.0)
    return lib.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x):
    """Linear values in [0, 1] -> sRGB encoding in [0, 1]. numpy arrays or torch tensors."""
    lib = torch if isinstance(x, torch.Tensor) else np
    x = lib.clip(x, 0.0, 1.0)
    return lib.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1.0 / 2.4) - 0.055)


@dataclass(frozen=True)
class NamedColour:
    name: str  # the word(s) used in captions, e.g. "dark brown"
    linear: tuple[float, float, float]  # linear RGB in [0, 1] (for metals: the base colour = F0)
    metal: bool  # True: a metal's colour (gold, copper, ...), only used by metal families


def _from_srgb8(name: str, r: int, g: int, b: int) -> NamedColour:
    rgb = srgb_to_linear(np.array([r, g, b], dtype=np.float64) / 255.0)
    return NamedColour(name, tuple(round(float(c), 4) for c in rgb), metal=False)


# Dielectric colours are authored as 8-bit sRGB (how people pick colours); metals as linear F0
# reflectance (measured values commonly used for PBR base colours).
NAMED_COLOURS: dict[str, NamedColour] = {
    c.name: c
    for c in (
        _from_srgb8("red", 180, 40, 35),
        _from_srgb8("orange", 225, 120, 35),
        _from_srgb8("yellow", 230, 195, 50),
        _from_srgb8("green", 60, 140, 65),
        _from_srgb8("teal", 35, 135, 135),
        _from_srgb8("blue", 45, 90, 170),
        _from_srgb8("purple", 110, 60, 160),
        _from_srgb8("pink", 225, 135, 165),
        _from_srgb8("brown", 120, 75, 45),
        _from_srgb8("dark brown", 70, 45, 28),
        _from_srgb8("beige", 215, 195, 155),
        _from_srgb8("white", 238, 238, 232),
        _from_srgb8("light grey", 180, 180, 180),
        _from_srgb8("grey", 128, 128, 128),
        _from_srgb8("dark grey", 70, 70, 70),
        _from_srgb8("black", 28, 28, 28),
        NamedColour("gold", (1.0, 0.766, 0.336), metal=True),
        NamedColour("copper", (0.955, 0.638, 0.538), metal=True),
        NamedColour("brass", (0.910, 0.778, 0.423), metal=True),
        NamedColour("steel", (0.560, 0.570, 0.580), metal=True),
        NamedColour("aluminium", (0.913, 0.922, 0.924), metal=True),
    )
}


def colour_names(metal: bool | None = None) -> list[str]:
    """Names in table order; `metal` True/False keeps only metal / dielectric colours."""
    return [n for n, c in NAMED_COLOURS.items() if metal is None or c.metal == metal]


def named_colour(name: str) -> NamedColour:
    if name not in NAMED_COLOURS:
        raise ValueError(f"colour must be one of {sorted(NAMED_COLOURS)}, got {name!r}")
    return NAMED_COLOURS[name]


def _hsv(rgb_linear) -> np.ndarray:  # [..., 3] linear -> [..., 3] (hue degrees, saturation, value) of sRGB
    srgb = linear_to_srgb(np.asarray(rgb_linear, dtype=np.float64))
    r, g, b = srgb[..., 0], srgb[..., 1], srgb[..., 2]
    hi, lo = srgb.max(axis=-1), srgb.min(axis=-1)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    hue = np.where(hi == r, (g - b) / span, np.where(hi == g, 2.0 + (b - r) / span, 4.0 + (r - g) / span))
    hue = np.where(hi - lo > 0, (hue * 60.0) % 360.0, 0.0)
    saturation = np.where(hi > 0, (hi - lo) / np.where(hi > 0, hi, 1.0), 0.0)
    return np.stack([hue, saturation, hi], axis=-1)


def hue_degrees(rgb_linear) -> float:
    """HSV hue in [0, 360) of the sRGB encoding of one linear RGB colour (sequence of 3 or array [3])."""
    return float(_hsv(rgb_linear)[0])


def saturation(rgb_linear) -> float:
    """HSV saturation in [0, 1] of the sRGB encoding of one linear RGB colour."""
    return float(_hsv(rgb_linear)[1])


def brightness(rgb_linear) -> float:
    """HSV value in [0, 1] of the sRGB encoding of one linear RGB colour."""
    return float(_hsv(rgb_linear)[2])


def is_achromatic(name: str) -> bool:
    """True for named colours without a meaningful hue (white, greys, black, steel, aluminium)."""
    return saturation(named_colour(name).linear) < ACHROMATIC_SATURATION


def hue_difference_degrees(a: float, b: float) -> float:
    """Circular distance between two hues in degrees, in [0, 180]."""
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def grey_saturation(albedo: torch.Tensor) -> float:
    """Saturation of the mean of a linear `albedo` [..., 3] as the grey check measures it: the HSV
    chroma of its sRGB encoding over max(value, DARK_VALUE), so that near-black is not "saturated"."""
    _, s, v = _hsv(albedo.reshape(-1, 3).double().mean(dim=0).cpu().numpy())
    return float(s * v / max(float(v), DARK_VALUE))


def mean_albedo_matches(name: str, albedo: torch.Tensor, max_hue_degrees: float = 30.0,
                        max_grey_saturation: float = 0.2, max_grey_value_difference: float = 0.3) -> tuple[bool, str]:
    """Whether the mean of a linear `albedo` [..., 3] fits the named colour.

    Chromatic colours: the hue of the mean albedo is within `max_hue_degrees` of the colour's hue.
    Achromatic colours: the mean albedo's saturation (chroma / max(value, DARK_VALUE), so that
    near-black is not "saturated") is below `max_grey_saturation` and the median
    pixel's HSV value (brightness of the sRGB encoding; the median, so that white grout between
    black tiles does not count) within `max_grey_value_difference` of the colour's, so "black" is
    not mid-grey (named greys are about 0.2 apart: black 0.11 ... white 0.93).
    Returns (ok, explanation with the measured numbers).
    """
    mean = albedo.reshape(-1, 3).double().mean(dim=0).cpu().numpy()
    if is_achromatic(name):
        pixels = linear_to_srgb(albedo.reshape(-1, 3).double().clamp(0.0, 1.0))
        s = grey_saturation(albedo)
        value = float(pixels.max(dim=1).values.median())
        target = brightness(named_colour(name).linear)
        ok = s < max_grey_saturation and abs(value - target) <= max_grey_value_difference
        return ok, (f"{name!r} is achromatic (value {target:.2f}); mean albedo {mean.round(4)} has saturation "
                    f"{s:.3f}, median pixel value {value:.2f}")
    target, got = hue_degrees(named_colour(name).linear), hue_degrees(mean)
    diff = hue_difference_degrees(target, got)
    return diff <= max_hue_degrees, (f"{name!r} hue {target:.1f}, mean albedo {mean.round(4)} hue {got:.1f} "
                                     f"(diff {diff:.1f})")


def nearest_colour_name(rgb_linear, metal: bool | None = None) -> str:
    """The named colour nearest to a linear RGB colour: by hue for chromatic input (ties and greys by
    sRGB distance), restricted to metal / dielectric names when `metal` is given."""
    rgb = np.asarray(rgb_linear, dtype=np.float64)
    hsv = _hsv(rgb)
    names = colour_names(metal)
    srgb = linear_to_srgb(rgb)
    best, best_key = names[0], None
    for name in names:
        c = np.asarray(named_colour(name).linear)
        c_hsv = _hsv(c)
        grey_input, grey_name = hsv[1] < ACHROMATIC_SATURATION, c_hsv[1] < ACHROMATIC_SATURATION
        # Greys only match greys and colours only colours; then hue, then overall sRGB distance.
        mismatch = float(grey_input != grey_name)
        hue = 0.0 if grey_input else hue_difference_degrees(hsv[0], c_hsv[0]) / 180.0
        key = (mismatch, round(hue * 6.0), float(np.linalg.norm(linear_to_srgb(c) - srgb)))
        if best_key is None or key < best_key:
            best, best_key = name, key
    return best


def jittered_colour(name: str, rng: np.random.Generator, hue_jitter_degrees: float = 6.0,
                    saturation_range: tuple[float, float] = (0.85, 1.1),
                    value_range: tuple[float, float] = (0.85, 1.1)) -> np.ndarray:
    """A linear RGB [3] variation of a named colour: HSV (on sRGB) hue shifted by at most
    `hue_jitter_degrees`, saturation and value scaled within the given ranges. Greys stay grey."""
    base = np.asarray(named_colour(name).linear, dtype=np.float64)
    h, s, v = _hsv(base)
    if s < ACHROMATIC_SATURATION:
        s = min(s, 0.04) * rng.uniform(0.0, 1.0)  # greys: at most a faint tint
    else:
        h = (h + rng.uniform(-hue_jitter_degrees, hue_jitter_degrees)) % 360.0
        s = float(np.clip(s * rng.uniform(*saturation_range), 0.0, 1.0))
    v = float(np.clip(v * rng.uniform(*value_range), 0.0, 1.0))
    return srgb_to_linear(_hsv_to_rgb(h, s, v))


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h / 60.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
