"""Rendering kernels shared by the preview renderer, the room texturer and training.

    from intrinsix.kernels import rasterize, interpolate, texture, shade, sample_lights, has_cuda
"""

from .ops import *  # noqa: F401,F403
from .ops import __all__  # noqa: F401
