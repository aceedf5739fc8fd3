"""Pure-PyTorch twins of every kernel op (the gsplat habit): the same math written plainly with
torch operations, differentiable by autograd. Tests compare the C++/CUDA kernels with these,
forward and backward; they also document the math in the most readable form.
"""

from .interpolate import interpolate

__all__ = ["interpolate"]
