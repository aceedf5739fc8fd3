"""The UV texture maps being optimised, one set per object.

Per object k with side s_k:
  surface[k]  [s, s, 5] float32: albedo (3, linear, [0, 1]), roughness, metallic ([0, 1])
  detail[k]   [s, s, 2] float32: tangent-space normal detail x, y (OpenGL: +y up the image),
              |(x, y)| <= render.MAX_DETAIL; the normal is (x, y, sqrt(1 - x^2 - y^2))
Row 0 of every tensor is v = 0 (the kernels' texture addressing). After each optimiser step the
values are projected back into their ranges (`project_`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .render import MAX_DETAIL


@dataclass(frozen=True)
class InitialValues:
    """Starting values: a neutral, fairly rough dielectric (linear albedo 0.5)."""

    albedo: float = 0.5
    roughness: float = 0.7
    metallic: float = 0.0


class RoomTextures:
    """Trainable surface and detail maps for every object (module docstring)."""

    def __init__(self, sizes: list[int], device, initial: InitialValues = InitialValues()):
        start = torch.tensor([initial.albedo] * 3 + [initial.roughness, initial.metallic], dtype=torch.float32)
        for name, value in (("albedo", initial.albedo), ("roughness", initial.roughness),
                            ("metallic", initial.metallic)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"initial {name} must be in [0, 1], got {value}")
        self.surface = [torch.nn.Parameter(start.to(device).expand(s, s, 5).clone()) for s in sizes]
        self.detail = [torch.nn.Parameter(torch.zeros(s, s, 2, device=device)) for s in sizes]

    def maps(self, train_surface: bool, train_detail: bool) -> list[torch.Tensor]:  # per object [s, s, 7]
        """The render inputs; the part not being trained is detached (held)."""
        out = []
        for surface, detail in zip(self.surface, self.detail):
            out.append(torch.cat([surface if train_surface else surface.detach(),
                                  detail if train_detail else detail.detach()], dim=-1))
        return out

    @torch.no_grad()
    def project_(self) -> None:
        """Clamp albedo/roughness/metallic to [0, 1] and the detail to |(x, y)| <= MAX_DETAIL."""
        for surface, detail in zip(self.surface, self.detail):
            surface.clamp_(0.0, 1.0)
            length = detail.norm(dim=-1, keepdim=True)
            detail.mul_(torch.where(length > MAX_DETAIL, MAX_DETAIL / length.clamp_min(1e-12), torch.ones_like(length)))

    @torch.no_grad()
    def object_maps(self, k: int) -> dict[str, torch.Tensor]:
        """albedo [s, s, 3], roughness [s, s, 1], metallic [s, s, 1], normal [s, s, 3] (unit, tangent
        space, OpenGL); row 0 at v = 0."""
        surface, detail = self.surface[k].detach(), self.detail[k].detach()
        z = (1.0 - (detail * detail).sum(-1, keepdim=True)).clamp_min(0.0).sqrt()
        normal = torch.nn.functional.normalize(torch.cat([detail, z], dim=-1), dim=-1)
        return {"albedo": surface[..., 0:3].clone(), "roughness": surface[..., 3:4].clone(),
                "metallic": surface[..., 4:5].clone(), "normal": normal}
