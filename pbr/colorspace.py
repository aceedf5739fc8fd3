"""sRGB transfer functions (IEC 61966-2-1), exact piecewise form.

Texture sets keep colour in linear space; sRGB encoding happens only when a base-colour map is
written to an 8-bit file that engines read as sRGB. Values outside [0, 1] are clamped first: these
functions are for display-referred colour (albedo), not for HDR radiance.
"""

from __future__ import annotations

import torch

# Breakpoints of the piecewise curves: the linear segment below them avoids an infinite slope at 0.
_LINEAR_BREAK = 0.0031308  # in linear space
_ENCODED_BREAK = 0.04045  # in sRGB-encoded space (= 12.92 * 0.0031308, to 4 digits)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:  # [...] in [0, 1] -> [...] in [0, 1]
    """sRGB OETF (encode): 12.92 c for c <= 0.0031308, else 1.055 c^(1/2.4) - 0.055."""
    c = linear.clamp(0.0, 1.0)
    # clamp_min keeps pow away from 0 in the branch that torch.where discards (NaN-free gradients).
    curve = 1.055 * c.clamp_min(_LINEAR_BREAK).pow(1.0 / 2.4) - 0.055
    return torch.where(c <= _LINEAR_BREAK, 12.92 * c, curve)


def srgb_to_linear(encoded: torch.Tensor) -> torch.Tensor:  # [...] in [0, 1] -> [...] in [0, 1]
    """sRGB EOTF (decode): c / 12.92 for c <= 0.04045, else ((c + 0.055) / 1.055)^2.4."""
    c = encoded.clamp(0.0, 1.0)
    curve = ((c.clamp_min(_ENCODED_BREAK) + 0.055) / 1.055).pow(2.4)
    return torch.where(c <= _ENCODED_BREAK, c / 12.92, curve)
