"""Public functional API of the kernels (nvdiffrast-shaped: a handful of ops, string mode names).

Every op runs on the CPU (C++) and on CUDA devices (when built with CUDA), has a pure-PyTorch twin in
`intrinsix.kernels.reference`, and is differentiable with respect to its float inputs where stated.
"""

from ._backend import has_cuda
from .interpolate import interpolate

__all__ = ["has_cuda", "interpolate"]
