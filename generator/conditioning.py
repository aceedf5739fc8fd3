"""Per-branch conditioning hooks (used by room texturing).

A branch can be tied to known content while the other branches are generated around it:

- mode "cross": the branch's latent is overwritten with the clean conditioning latent before every
  transformer call and after every scheduler step, and the branch is given timestep 0 (it reads as
  a finished image to the other branches through the cross-intrinsic attention).
- mode "repaint": before every transformer call the branch's latent is replaced by the clean latent
  re-noised to the current sigma, x = (1 - sigma) * x0 + sigma * noise (with the branch's own
  initial noise), inside `mask` (1 = known); outside the mask the branch is generated freely. At
  the end the known region is set to x0.

The content is given either as an image in the branch's natural units or as VAE latents:
    albedo, material: [N, H, W, 3] float in [0, 1] (linear albedo; material R roughness, G metallic)
    normal:           [N, H, W, 3] float unit vectors, OpenGL camera space (+x right, +y up, +z to the viewer)
    latents:          [N, 16, H/8, W/8] in the transformer's latent space ((z - shift) * scale)
N is the number of images per prompt, or 1 (broadcast).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from intrinsix.pbr.colorspace import linear_to_srgb, srgb_to_linear

MODES = ("cross", "repaint")


def _is_tensor(value, dims: int) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == dims


def _describe(value) -> str:
    return f"shape {list(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__


@dataclass
class BranchCondition:
    """Known content for one branch; see the module docstring for units and shapes."""

    mode: str
    image: torch.Tensor | None = None  # [N, H, W, 3]
    latents: torch.Tensor | None = None  # [N, 16, h, w]
    mask: torch.Tensor | None = None  # repaint only: [N, H, W] or [N, h, w], 1 = known, 0 = free

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"BranchCondition.mode must be one of {MODES}, got {self.mode!r}")
        if (self.image is None) == (self.latents is None):
            raise ValueError("BranchCondition needs exactly one of `image` [N, H, W, 3] or `latents` [N, 16, h, w]")
        if self.image is not None and not (_is_tensor(self.image, 4) and self.image.shape[-1] == 3):
            raise ValueError(f"BranchCondition.image must be a tensor [N, H, W, 3], got {_describe(self.image)}")
        if self.latents is not None and not _is_tensor(self.latents, 4):
            raise ValueError(f"BranchCondition.latents must be a tensor [N, C, h, w], got {_describe(self.latents)}")
        if self.mask is not None:
            if self.mode != "repaint":
                raise ValueError("BranchCondition.mask is only supported in mode 'repaint' (a 'cross' branch is "
                                 "held entirely at timestep 0)")
            if not _is_tensor(self.mask, 3):
                raise ValueError("BranchCondition.mask must be a tensor [N, H, W] (pixels) or [N, h, w] (latent), "
                                 f"got {_describe(self.mask)}")


@dataclass
class PreparedCondition:
    """A condition resolved for the denoising loop (latent resolution, one row per group)."""

    mode: str
    latents: torch.Tensor  # [G, 16, h, w] float32 clean latents
    mask: torch.Tensor | None  # [G, 1, h, w] float32 in [0, 1], or None (whole branch)


ALBEDO_ENCODINGS = ("linear", "srgb")
NORMAL_ENCODINGS = ("linear", "sqrt")
_SQRT_BREAK = 1e-4  # "sqrt": |x|, |y| below this are companded linearly (finite slope at 0)


@dataclass(frozen=True)
class VAEEncoding:
    """How a model's VAE sees the albedo and normal maps (the material map always enters as 2x - 1).

    albedo "linear" (REFERENCE §1, the real weights): 2a - 1 of the linear albedo a. "srgb": 2 s - 1
        of its sRGB encoding s, as image VAEs see photographs: dark colours get the code range the
        eye gives them (linear black 0.012 sits at -0.98, next to the clamp; sRGB black 0.11 at
        -0.78), and an error in VAE space is an error of the displayed colour.
    normal "linear" (REFERENCE §1): the unit vectors raw. "sqrt": x and y through sign(v) sqrt(|v|),
        z raw: the 1-5 degree relief of fabric, leather and concrete (|x|, |y| ~ 0.02-0.09) becomes
        0.14-0.3, no longer a faint signal on top of z ~ 1 that an L1-trained VAE drops.
    A model folder names its encodings in intrinsix_defaults.json (generator.defaults).
    """

    albedo: str = "linear"
    normal: str = "linear"

    def __post_init__(self):
        if self.albedo not in ALBEDO_ENCODINGS:
            raise ValueError(f"albedo_encoding must be one of {ALBEDO_ENCODINGS}, got {self.albedo!r}")
        if self.normal not in NORMAL_ENCODINGS:
            raise ValueError(f"normal_encoding must be one of {NORMAL_ENCODINGS}, got {self.normal!r}")

    def compand_normals(self, normal: torch.Tensor) -> torch.Tensor:  # [..., 3] unit -> [..., 3] in [-1, 1]
        """"sqrt": x, y -> sign(v) sqrt(|v|), with a linear segment v / sqrt(t) below |v| = t = 1e-4
        so that the slope stays finite (at most 100) for gradients through the encoder (room
        texturing encodes rendered normal maps with gradients)."""
        if self.normal == "linear":
            return normal
        xy = normal[..., :2]
        magnitude = xy.abs()
        curve = xy.sign() * magnitude.clamp_min(_SQRT_BREAK).sqrt()
        companded = torch.where(magnitude < _SQRT_BREAK, xy / _SQRT_BREAK ** 0.5, curve)
        return torch.cat([companded, normal[..., 2:]], dim=-1)

    def expand_normals(self, values: torch.Tensor) -> torch.Tensor:  # [..., 3] -> [..., 3], not normalised
        """The inverse of `compand_normals` on decoded values (differentiable: v |v|, linear below
        |v| = sqrt(t))."""
        if self.normal == "linear":
            return values
        xy = values[..., :2]
        linear = xy * _SQRT_BREAK ** 0.5
        return torch.cat([torch.where(xy.abs() < _SQRT_BREAK ** 0.5, linear, xy * xy.abs()), values[..., 2:]], dim=-1)

    def encode_albedo(self, albedo: torch.Tensor) -> torch.Tensor:  # [...] linear in [0, 1] -> [...] in [0, 1]
        return linear_to_srgb(albedo) if self.albedo == "srgb" else albedo.clamp(0.0, 1.0)

    def decode_albedo(self, values: torch.Tensor) -> torch.Tensor:  # [...] in [0, 1] -> [...] linear in [0, 1]
        """The inverse of `encode_albedo` (differentiable)."""
        return srgb_to_linear(values) if self.albedo == "srgb" else values.clamp(0.0, 1.0)


LINEAR = VAEEncoding()  # REFERENCE §1: what the real FLUX.1-dev + IntrinsiX weights were trained with


def image_to_vae_input(branch: int, image: torch.Tensor,
                       encoding: VAEEncoding = LINEAR) -> torch.Tensor:  # [N, H, W, 3] -> [N, 3, H, W] in [-1, 1]
    """Albedo (linear [0, 1]) -> 2 e - 1 of `encoding.encode_albedo`; material [0, 1] -> 2x - 1;
    normals (in [-1, 1]) through `encoding.compand_normals` (raw for LINEAR, REFERENCE §1)."""
    image = image.float()
    if branch == 2:
        return encoding.compand_normals(image.clamp(-1.0, 1.0)).permute(0, 3, 1, 2)
    if branch == 0:
        image = encoding.encode_albedo(image)
    return (image.clamp(0.0, 1.0) * 2.0 - 1.0).permute(0, 3, 1, 2)


def vae_output_to_image(branch: int, pixels: torch.Tensor,
                        encoding: VAEEncoding = LINEAR) -> torch.Tensor:  # [N, 3, H, W] ~[-1, 1] -> [N, H, W, 3]
    """The inverse of `image_to_vae_input` for decoded pixels (float32, on their device):
    (x + 1) / 2 clamped to [0, 1], then for albedo `encoding.decode_albedo` (linear albedo); for
    normals back to [-1, 1], `encoding.expand_normals` and normalised, a zero vector becoming +z
    (facing the viewer)."""
    images = ((pixels.float() + 1.0) / 2.0).clamp(0.0, 1.0).permute(0, 2, 3, 1)
    if branch == 0:
        return encoding.decode_albedo(images)
    if branch == 1:
        return images
    return normalise_decoded_normals(encoding.expand_normals(2.0 * images - 1.0))


def normalise_decoded_normals(normal: torch.Tensor) -> torch.Tensor:  # [..., 3] -> [..., 3] unit
    """Unit vectors; a (near) zero vector becomes +z (facing the viewer)."""
    length = normal.norm(dim=-1, keepdim=True)
    facing = torch.tensor([0.0, 0.0, 1.0], device=normal.device).expand_as(normal)
    return torch.where(length > 1e-6, normal / length.clamp_min(1e-6), facing)


def broadcast_rows(t: torch.Tensor, rows: int, name: str) -> torch.Tensor:
    if t.shape[0] == rows:
        return t
    if t.shape[0] == 1:
        return t.expand(rows, *t.shape[1:])
    raise ValueError(f"{name} has {t.shape[0]} rows; expected 1 or {rows} (images per prompt)")


def mask_to_latent(mask: torch.Tensor, rows: int, height: int, width: int, latent_height: int,
                   latent_width: int) -> torch.Tensor:  # -> [rows, 1, h, w]
    """A pixel or latent-resolution mask as [rows, 1, h, w] in [0, 1] (area average for pixels)."""
    mask = broadcast_rows(mask.float(), rows, "BranchCondition.mask")[:, None]
    if tuple(mask.shape[-2:]) == (latent_height, latent_width):
        return mask.clamp(0.0, 1.0)
    if tuple(mask.shape[-2:]) == (height, width):
        return F.adaptive_avg_pool2d(mask, (latent_height, latent_width)).clamp(0.0, 1.0)
    raise ValueError(f"BranchCondition.mask must be {height}x{width} (pixels) or {latent_height}x{latent_width} "
                     f"(latent), got {tuple(mask.shape[-2:])}")
