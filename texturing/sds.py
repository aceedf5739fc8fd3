"""Score distillation (SDS) with a three-branch flow-matching prior.

The prior (IntrinsiX, or a stand-in with the same interface) models clean branch latents x0 with
the rectified flow used in training (REFERENCE.md section 3):

    x_sigma = (1 - sigma) * x0 + sigma * eps,     eps ~ N(0, I),     velocity target  v = eps - x0.

Given a predicted velocity v_hat(x_sigma, sigma, prompt), the denoised estimate is
x0_hat = x_sigma - sigma * v_hat. The SDS gradient with respect to the latent x0 of a rendered
image is defined here as

    g = x0 - x0_hat = sigma * (v_hat - (eps - x0)),

i.e. the flow-matching residual (predicted minus sampled velocity) weighted by w(sigma) = sigma,
with no gradient through the prior (DreamFusion's stop-gradient, and its noise subtraction: eps
is known, so (eps - x0) is the "true" velocity of the sampled path). Descending g moves x0 toward
the prior's denoised estimate; the chain rule then carries it through the VAE encoder to the
rendered maps and through the renderer to the UV textures. It is applied as the surrogate loss
L = sum(stop_grad(g) * x0) / N, whose gradient with respect to x0 is exactly g / N (N views).

Image space (`space="image"`): the same denoised estimate, decoded by the VAE, is the target
of the rendered image itself: L = sum((I - stop_grad(D(x0_hat)))^2) / (2 N), whose gradient with
respect to the image I is (I - D(x0_hat)) / N. This skips the VAE encoder's Jacobian (whose
transpose need not map a latent step toward "red" to a pixel step toward red: with the small demo
model, latent SDS brightened a "red" room toward magenta) at the cost of one VAE decode; the
rendered image still goes through the encoder to make x0, without gradient.

Branches: the optimised ("free") branches share one sigma per view (IntrinsiX trains the three
branches with one shared sigma) and are noised; the held branches are given clean at timestep 0,
the generator's "cross" conditioning, and get no gradient. sigma is drawn as t ~ U(t_low, t_high)
and shifted like the generator's schedule, sigma = e^mu / (e^mu + 1/t - 1) (mu from the token count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

BRANCHES = ("albedo", "material", "normal")
SPACES = ("latent", "image")  # where the distillation loss compares (module docstring)


@runtime_checkable
class IntrinsicPrior(Protocol):
    """What score distillation needs from a three-branch prior."""

    def encode(self, images: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{branch: [N, H, W, 3] images (albedo/material in [0, 1], normals unit vectors in camera
        space)} -> {branch: [N, C, h, w] latents}; differentiable with respect to the images (one
        call may batch its branches together)."""

    def predict_velocity(self, latents: torch.Tensor, sigmas: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """latents [N, 3, C, h, w] (branch order albedo, material, normal), sigmas [N, 3] (0 = a held,
        clean branch), prompts: N strings -> velocity [N, 3, C, h, w] float32 (no gradient needed)."""

    def timestep_shift(self, height: int, width: int) -> float:
        """mu of the sigma shift for images of this size."""

    def decode(self, latents: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{branch: [N, C, h, w] latents} -> {branch: [N, H, W, 3] images} in the `encode` image
        conventions (albedo / material in [0, 1], normals unit vectors); no gradient needed."""


def shift_sigma(t: torch.Tensor, mu: float) -> torch.Tensor:
    """The flow-matching time shift of FLUX: sigma = e^mu / (e^mu + 1/t - 1), t in (0, 1]."""
    return math.exp(mu) / (math.exp(mu) + (1.0 / t - 1.0))


def sample_sigmas(count: int, t_low: float, t_high: float, mu: float, generator: torch.Generator) -> torch.Tensor:
    """[count] sigmas: t ~ U(t_low, t_high) (CPU generator), shifted by mu."""
    if not 0.0 < t_low <= t_high < 1.0:
        raise ValueError(f"need 0 < t_low <= t_high < 1, got t_low={t_low}, t_high={t_high}")
    t = t_low + (t_high - t_low) * torch.rand(count, generator=generator, dtype=torch.float64)
    return shift_sigma(t, mu).float()


@dataclass
class DistillationStep:
    """loss: scalar surrogate whose gradient w.r.t. each free branch's latent is g / N (latent
    space) or w.r.t. each free branch's image is (I - D(x0_hat)) / N (image space).
    gradient_norm: RMS of that g or I - D(x0_hat) over the free branches (a diagnostic)."""

    loss: torch.Tensor
    gradient_norm: float


def score_distillation(
    prior: IntrinsicPrior,
    images: dict[str, torch.Tensor],  # branch -> [N, H, W, 3]; free branches carry autograd history
    free: tuple[str, ...],  # branches to optimise; the others are held clean ("cross")
    sigmas: torch.Tensor,  # [N] noise level per view, in (0, 1)
    prompts: list[str],  # one per view
    generator: torch.Generator,  # CPU generator for eps (same seed, same noise on any device)
    space: str = "latent",  # "latent" or "image" (module docstring)
) -> DistillationStep:
    """One SDS evaluation (module docstring). Call `.loss.backward()` to get the gradients."""
    unknown = [b for b in free if b not in BRANCHES]
    if unknown or not free:
        raise ValueError(f"free must name 1..3 of {BRANCHES}, got {free}")
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    if set(images) != set(BRANCHES):
        raise ValueError(f"images must hold the three branches {BRANCHES}, got {sorted(images)}")
    count = sigmas.shape[0]
    if space == "latent":
        latents = prior.encode({b: images[b] for b in BRANCHES if b in free})
        held = [b for b in BRANCHES if b not in free]
    else:  # the images carry the gradient; the latents are only the prior's input
        latents, held = {}, list(BRANCHES)
    if held:
        with torch.no_grad():
            latents.update(prior.encode({b: images[b].detach() for b in held}))
    clean = torch.stack([latents[b] for b in BRANCHES], dim=1)  # [N, 3, C, h, w]
    device = clean.device
    eps = torch.randn(clean.shape, generator=generator, dtype=torch.float32).to(device)
    free_mask = torch.tensor([b in free for b in BRANCHES], device=device)
    sigma = sigmas.to(device=device, dtype=torch.float32)
    branch_sigmas = torch.where(free_mask[None, :], sigma[:, None], torch.zeros_like(sigma[:, None]))  # [N, 3]
    s = branch_sigmas[:, :, None, None, None]
    with torch.no_grad():
        x0 = clean.detach().float()
        noisy = (1.0 - s) * x0 + s * eps
        velocity = prior.predict_velocity(noisy, branch_sigmas, prompts).float()
        gradient = s * (velocity - (eps - x0))  # = x0 - x0_hat on free branches, 0 on held ones
    loss = clean.new_zeros((), dtype=torch.float32)
    squares = 0.0
    elements = 0
    if space == "image":
        with torch.no_grad():
            targets = prior.decode({b: (x0 - gradient)[:, k] for k, b in enumerate(BRANCHES) if b in free})
    for k, branch in enumerate(BRANCHES):
        if branch not in free:
            continue
        if space == "latent":
            g = gradient[:, k]
            loss = loss + (g * latents[branch].float()).sum() / count
        else:
            image = images[branch].float()
            g = image.detach() - targets[branch].to(image.device, torch.float32)
            loss = loss + (g * image).sum() / count
        squares += float((g * g).sum())
        elements += g.numel()
    return DistillationStep(loss=loss, gradient_norm=math.sqrt(squares / max(elements, 1)))
