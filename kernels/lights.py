"""Light descriptions for `shade`, and the REFERENCE.md section 4 pinhole camera.

Every direction and position is in camera space (OpenGL: +x right, +y up, +z toward the viewer);
every radiance is linear RGB (no sRGB transfer curve). Lights are constants for autograd: `shade`
differentiates the surface maps only.

Environment maps are equirectangular with +y up (in the environment frame, reached from camera
space by `rotation`):
    theta = acos(d.y) in [0, pi]                 v = theta / pi           (row 0 = top, +y)
    phi   = atan2(d.x, -d.z) in (-pi, pi]        u = 0.5 + phi / (2 pi)  (u = 0.5 looks down -z,
                                                                          u grows toward +x)
    d = (sin(theta) sin(phi), cos(theta), -sin(theta) cos(phi)),  texel (row, col) = (v He, u We)
Radiance is piecewise constant per texel (nearest lookup), which is exactly the density the
importance-sampling tables describe.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from . import _checks
from ._shade_checks import check_int, check_nonzero_rows, check_values

# Rec. 709 luminance of linear RGB (the same weights as kernels/csrc/brdf.h).
LUMINANCE = (0.2126, 0.7152, 0.0722)
DEFAULT_FOV_DEG = 85.0


def _light_pair(first, second, names: tuple[str, str], cls: str) -> tuple[torch.Tensor, torch.Tensor]:
    for t, name in zip((first, second), names):
        _checks.check_float_tensor(t, f"{cls} {name}", "[L, 3] or [B, L, 3]", last_dim=3, dims=(2, 3))
    if first.shape != second.shape:
        raise ValueError(f"{cls} {names[0]} {tuple(first.shape)} and {names[1]} {tuple(second.shape)} must "
                         "have the same shape [L, 3] or [B, L, 3]")
    _checks.check_same_device(**{names[0]: first, names[1]: second})
    return first.detach().float(), second.detach().float()


class DirectionalLights:
    """L directional lights (at infinity).

    direction: [L, 3] or [B, L, 3] float, camera space, from the surface TOWARD the light; any
        nonzero length (normalised here).
    radiance: same shape, linear RGB radiance E >= 0 (W m^-2 sr^-1 per unit projected area): a
        Lambertian pixel of albedo a facing the light returns a / pi * E * cos.
    Shape [L, 3] lights every image of the batch; [B, L, 3] gives each image its own lights.
    """

    def __init__(self, direction: torch.Tensor, radiance: torch.Tensor):
        direction, radiance = _light_pair(direction, radiance, ("direction", "radiance"), "DirectionalLights")
        check_values(direction, "DirectionalLights direction")
        check_nonzero_rows(direction, "DirectionalLights direction")
        check_values(radiance, "DirectionalLights radiance", low=0.0)
        self.direction = (direction / direction.norm(dim=-1, keepdim=True)).contiguous()
        self.radiance = radiance.contiguous()

    @property
    def device(self) -> torch.device:
        return self.direction.device

    def to(self, device) -> DirectionalLights:
        out = copy.copy(self)
        out.direction, out.radiance = self.direction.to(device), self.radiance.to(device)
        return out


class PointLights:
    """L isotropic point lights with inverse-square falloff (needs `shade(position=...)`).

    position: [L, 3] or [B, L, 3] float, camera space (the units of the position map).
    intensity: same shape, linear RGB radiant intensity I >= 0; irradiance at distance d is I / d^2.
    """

    def __init__(self, position: torch.Tensor, intensity: torch.Tensor):
        position, intensity = _light_pair(position, intensity, ("position", "intensity"), "PointLights")
        check_values(position, "PointLights position")
        check_values(intensity, "PointLights intensity", low=0.0)
        self.position = position.contiguous()
        self.intensity = intensity.contiguous()

    @property
    def device(self) -> torch.device:
        return self.position.device

    def to(self, device) -> PointLights:
        out = copy.copy(self)
        out.position, out.intensity = self.position.to(device), self.intensity.to(device)
        return out


class EnvironmentMap:
    """Distant light from an equirectangular radiance map, integrated by importance sampling.

    radiance: [He, We, 3] float, linear RGB radiance >= 0, layout in the module docstring.
    rotation: [3, 3] rotation R taking camera-space directions to the environment frame
        (d_env = R d_cam); None = identity.
    samples: MC iterations per pixel, each one BRDF-lobe sample and one environment sample.
    seed: int in [0, 2^32): the random stream (common.h random_uniform(seed, pixel, sample, dim)).

    The sampling tables are built once here (float64 sums, stored float32):
        weight[i, j] = lum(radiance[i, j]) * sin(theta_i), theta_i the row centre
        marginal[i] = inclusive CDF of the row sums, conditional[i, j] = inclusive CDF in row i
    A row is picked as the first index with CDF > xi (torch.searchsorted(right=True)), then a
    column in that row, then a uniform point in the texel. `probability[i, j]` is the exact
    probability of texel (i, j) under those float32 tables; the solid-angle density is
    probability * He * We / (2 pi^2 sin(theta)).
    """

    def __init__(self, radiance: torch.Tensor, rotation: torch.Tensor | None = None, samples: int = 16,
                 seed: int = 0):
        _checks.check_float_tensor(radiance, "EnvironmentMap radiance", "[He, We, 3]", last_dim=3, dims=(3,))
        height, width = radiance.shape[:2]
        for label, value in (("height", height), ("width", width)):
            if not 1 <= value <= 16384:
                raise ValueError(f"EnvironmentMap radiance {label} must be in [1, 16384], got {value}")
        check_values(radiance, "EnvironmentMap radiance", low=0.0)
        self.samples = check_int(samples, "EnvironmentMap samples", 1, 65536)
        self.seed = check_int(seed, "EnvironmentMap seed", 0, 2**32 - 1)
        self.rotation = _check_rotation(rotation)
        self.radiance = radiance.detach().float().contiguous()  # [He, We, 3]
        self._build_tables()

    def _build_tables(self) -> None:
        rad = self.radiance.double()
        height, width = rad.shape[:2]
        device = rad.device
        theta = (torch.arange(height, dtype=torch.float64, device=device) + 0.5) * (math.pi / height)
        lum = rad[..., 0] * LUMINANCE[0] + rad[..., 1] * LUMINANCE[1] + rad[..., 2] * LUMINANCE[2]
        weight = lum * torch.sin(theta)[:, None]  # [He, We]
        row_sum = weight.sum(dim=1)
        total = float(row_sum.sum())
        # A black map lights nothing: shade() skips it. Its tables stay valid (uniform).
        self.is_black = not total > 0.0
        if self.is_black:
            row_sum = torch.ones_like(row_sum)
            weight = torch.ones_like(weight)
            total = float(height)
        cols = (torch.arange(width, dtype=torch.float64, device=device) + 1) / width
        conditional = torch.where(row_sum[:, None] > 0, weight.cumsum(dim=1) / row_sum[:, None].clamp(min=1e-300),
                                  cols.expand(height, width))
        marginal = row_sum.cumsum(dim=0) / total
        # float32 tables, monotone, last entries exactly 1 (so a xi < 1 always finds an entry).
        marginal = marginal.float().clamp(max=1.0)
        marginal[-1] = 1.0
        conditional = conditional.float().clamp(max=1.0)
        conditional[:, -1] = 1.0
        zero = torch.zeros(1, dtype=torch.float64, device=device)
        p_row = torch.diff(marginal.double(), prepend=zero)
        p_col = torch.diff(conditional.double(), dim=1, prepend=zero.expand(height, 1))
        self.probability = (p_row[:, None] * p_col).float()  # [He, We], sums to 1
        self.marginal = marginal.contiguous()  # [He]
        self.conditional = conditional.contiguous()  # [He, We]
        self.texels = torch.cat([self.radiance, self.probability[..., None]], dim=-1).contiguous()  # [He, We, 4]

    @property
    def device(self) -> torch.device:
        return self.radiance.device

    def to(self, device) -> EnvironmentMap:
        out = copy.copy(self)
        for name in ("radiance", "probability", "marginal", "conditional", "texels"):
            setattr(out, name, getattr(self, name).to(device))
        return out


def _check_rotation(rotation) -> tuple[float, ...]:
    """A proper rotation [3, 3] (orthonormal within 1e-4, determinant +1) as 9 row-major floats."""
    if rotation is None:
        return (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    r = torch.as_tensor(rotation, dtype=torch.float64).detach().cpu()
    if r.shape != (3, 3):
        raise ValueError(f"EnvironmentMap rotation must have shape [3, 3], got {tuple(r.shape)}")
    error = float((r @ r.T - torch.eye(3, dtype=torch.float64)).abs().max())
    if not (error <= 1e-4 and float(torch.linalg.det(r)) > 0):
        raise ValueError(f"EnvironmentMap rotation must be a rotation matrix (R R^T = I within 1e-4, det +1), "
                         f"got R R^T - I up to {error:.3g} and det {float(torch.linalg.det(r)):.4g}")
    return tuple(float(x) for x in r.reshape(-1))


LightGroup = DirectionalLights | PointLights | EnvironmentMap


@dataclass
class PackedLights:
    """All light groups of one `shade` call in the kernel's layout. Light arrays are [Bl, L, 3] with
    Bl = 1 (shared by every image) or B."""

    directional_direction: torch.Tensor  # [Bl, L, 3] unit
    directional_radiance: torch.Tensor  # [Bl, L, 3]
    point_position: torch.Tensor  # [Bl, P, 3]
    point_intensity: torch.Tensor  # [Bl, P, 3]
    env_maps: list[EnvironmentMap]  # non-black maps only


_EMPTY: dict[torch.device, torch.Tensor] = {}


def _empty(device: torch.device) -> torch.Tensor:  # [1, 0, 3], cached: no allocation per call
    if device not in _EMPTY:
        _EMPTY[device] = torch.zeros(1, 0, 3, device=device)
    return _EMPTY[device]


def _same_device(a: torch.device, b: torch.device) -> bool:
    """cuda and cuda:0 are one device when 0 is the current one."""
    if a.type != b.type:
        return False
    if a.type != "cuda" or a.index == b.index:
        return True
    current = torch.cuda.current_device()
    return (current if a.index is None else a.index) == (current if b.index is None else b.index)


def pack_lights(lights, batch: int, device: torch.device, max_env_maps: int = 4) -> PackedLights:
    """Group the lights by kind. One group of a kind is passed as it is (no copy, [L, 3] shared by
    the batch); several groups of a kind are broadcast to [B, L, 3] and concatenated."""
    groups = list(lights) if isinstance(lights, (list, tuple)) else [lights]
    if not groups:
        raise ValueError("lights must hold at least one light group (DirectionalLights, PointLights or "
                         "EnvironmentMap)")
    pairs: dict[type, list[tuple[torch.Tensor, torch.Tensor]]] = {DirectionalLights: [], PointLights: []}
    env_maps = []
    for k, group in enumerate(groups):
        if not isinstance(group, (DirectionalLights, PointLights, EnvironmentMap)):
            raise TypeError(f"lights[{k}] must be DirectionalLights, PointLights or EnvironmentMap, "
                            f"got {type(group).__name__}")
        if not _same_device(group.device, device):
            raise ValueError(f"lights[{k}] ({type(group).__name__}) is on {group.device} but the surface maps are "
                             f"on {device}; move it with .to(device)")
        if isinstance(group, EnvironmentMap):
            if not group.is_black:
                env_maps.append(group)
            continue
        first, second = ((group.direction, group.radiance) if isinstance(group, DirectionalLights)
                         else (group.position, group.intensity))
        if first.dim() == 3 and first.shape[0] not in (1, batch):
            raise ValueError(f"lights[{k}] ({type(group).__name__}) has batch {first.shape[0]}; it must be 1 or "
                             f"the batch of the surface maps ({batch}), or use shape [L, 3]")
        if first.dim() == 2:
            first, second = first.unsqueeze(0), second.unsqueeze(0)
        pairs[type(group)].append((first, second))
    if len(env_maps) > max_env_maps:
        raise ValueError(f"at most {max_env_maps} environment maps per shade call, got {len(env_maps)}; "
                         "add maps that share a frame into one radiance map")

    def packed(kind: type) -> tuple[torch.Tensor, torch.Tensor]:
        found = pairs[kind]
        if not found:
            return _empty(device), _empty(device)
        if len(found) == 1:
            return found[0]
        shared = all(first.shape[0] == 1 for first, _ in found)
        rows = 1 if shared else batch
        return tuple(torch.cat([pair[i].expand(rows, -1, -1) for pair in found], dim=1).contiguous()
                     for i in range(2))

    return PackedLights(*packed(DirectionalLights), *packed(PointLights), env_maps)


# ---- camera -----------------------------------------------------------------------------------
def tan_half_fov(height: int, width: int, fov_deg: float = DEFAULT_FOV_DEG) -> tuple[float, float]:
    """(tan_x, tan_y) of the pinhole camera: horizontal FOV `fov_deg`, square pixels."""
    if not (isinstance(fov_deg, (int, float)) and 0.0 < fov_deg < 180.0):
        raise ValueError(f"fov_deg must be a number in (0, 180) degrees, got {fov_deg!r}")
    tan_x = math.tan(math.radians(fov_deg) / 2.0)
    return tan_x, tan_x * height / width


def view_directions(height: int, width: int, fov_deg: float = DEFAULT_FOV_DEG,
                    device: torch.device | str | None = None) -> torch.Tensor:  # [H, W, 3] float32
    """Unit vectors from each pixel's surface point toward the camera (REFERENCE.md section 4).

    Pinhole at the origin looking down -z; pixel (row, col) lies at
    x = (2 (col + 0.5) / W - 1) tan(fov/2), y = (2 (row + 0.5) / H - 1) tan(fov/2) H / W, z = -1,
    and v = normalize(-x, -y, 1). Row 0 is the BOTTOM row (y = -tan_y), as in the rasterizer's
    (nvdiffrast's) images and `sample_lights`; flip a top-down image with torch.flip(img, [1]).
    The float32 operations are those of the kernel (kernels/csrc/shade.h `pixel_view`).
    """
    height, width = _checks.check_resolution((height, width), "view_directions resolution")
    tan_x, tan_y = tan_half_fov(height, width, fov_deg)
    f32 = dict(dtype=torch.float32, device=device)
    two = torch.tensor(2.0, **f32)
    step_x = two / torch.tensor(float(width), **f32)  # float32 2 / W, as in the kernel
    step_y = two / torch.tensor(float(height), **f32)
    x = ((torch.arange(width, **f32) + 0.5) * step_x - 1.0) * torch.tensor(tan_x, **f32)
    y = ((torch.arange(height, **f32) + 0.5) * step_y - 1.0) * torch.tensor(tan_y, **f32)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    length = torch.sqrt((xx * xx + yy * yy + 1.0).double()).float()  # correctly rounded, as sqrtf
    inv = torch.reciprocal(length)
    return torch.stack([-xx * inv, -yy * inv, inv], dim=-1)
