"""Public functional API of the kernels (nvdiffrast-shaped: a handful of ops, string mode names).

Every op runs on the CPU (C++) and on CUDA devices (when built with CUDA), has a pure-PyTorch twin in
`intrinsix.kernels.reference`, and is differentiable with respect to its float inputs where stated.
"""

from ._backend import has_cuda
from .interpolate import interpolate
from .texture import texture
from .sample_lights import SampledLights, sample_lights
from . import meshes
from .rasterize import rasterize, rasterize_uv

__all__ = ["has_cuda", "interpolate", "texture", "sample_lights", "SampledLights", "meshes", "rasterize", "rasterize_uv"]
from .shade import ShadeOutput, shade  # noqa: E402
from .lights import DirectionalLights, EnvironmentMap, PointLights, view_directions  # noqa: E402
__all__ += ["shade", "ShadeOutput", "DirectionalLights", "PointLights", "EnvironmentMap", "view_directions"]
