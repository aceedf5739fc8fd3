"""Pure-PyTorch twins of every kernel op (the gsplat habit): the same math written plainly with
torch operations, differentiable by autograd. Tests compare the C++/CUDA kernels with these,
forward and backward; they also document the math in the most readable form.
"""

from .interpolate import interpolate
from .rasterize import rasterize
from .texture import texture
from .sample_lights import sample_lights

__all__ = ["interpolate", "rasterize", "texture", "sample_lights"]
from .shade import shade  # noqa: E402
__all__ += ["shade"]
