"""Flow matching for the trainers (REFERENCE §3), and the seeded random streams behind it.

    x_t = (1 - sigma) x0 + sigma * noise,   target v = noise - x0,   loss = MSE(v_pred, v)
    pred x0 = x_t - sigma * v_pred                                      (exact when v_pred = v)

sigma ~ U[0, 1) per sample; in stage 2 one sigma is shared by the three branches of a triple,
each branch with its own noise. The transformer is called with timestep = sigma (diffusers'
Flux multiplies by 1000 inside), the embedded guidance of the config and Flux's position ids.

Randomness: every draw of sample p of the global sample stream (see `stream.py`) comes from a
generator seeded by (train seed, stream tag, p). The draws therefore do not depend on how many
processes train, on the batch split, or on where a run was resumed: a resumed run sees exactly
the noise the uninterrupted one would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from intrinsix.generator import pack_latents, unpack_latents
from intrinsix.generator.latents import image_position_ids, text_position_ids

# Stream tags: independent random streams derived from one seed.
NOISE_STREAM = 1
CI_DROPOUT_STREAM = 2
LIGHT_STREAM = 3
ORDER_STREAM = 4


def stream_seed(seed: int, stream: int, *keys: int) -> int:
    """A 63-bit seed for (seed, stream, *keys) (numpy SeedSequence hashing: well mixed, stable)."""
    state = np.random.SeedSequence([int(seed), int(stream), *map(int, keys)]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def sample_sigma_and_noise(
    positions: Sequence[int],  # global stream positions of the samples
    seed: int,
    latent_shape: tuple[int, int, int],  # (16, h, w)
    branches: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One sigma per sample, U[0, 1), shared by its `branches` rows, and independent N(0, 1) noise
    per row. Returns sigma [N * branches] and noise [N * branches, 16, h, w], float32 on the CPU,
    rows in sample-major order (sample 0 branch 0, sample 0 branch 1, ...: the cyclic branch layout)."""
    sigmas, noises = [], []
    for p in positions:
        generator = torch.Generator().manual_seed(stream_seed(seed, NOISE_STREAM, p))
        sigma = torch.rand((), generator=generator)
        noises.append(torch.randn((branches, *latent_shape), generator=generator))
        sigmas.append(sigma.expand(branches))
    return torch.cat(sigmas), torch.cat(noises)


def noisy_latents(
    x0: torch.Tensor,  # [N, C, h, w]
    noise: torch.Tensor,  # [N, C, h, w]
    sigma: torch.Tensor,  # [N]
) -> torch.Tensor:  # [N, C, h, w]
    s = sigma.view(-1, 1, 1, 1).to(x0.dtype)
    return (1.0 - s) * x0 + s * noise


def flow_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:  # [N, C, h, w]
    return noise - x0


def predict_x0(
    x_t: torch.Tensor,  # [N, C, h, w]
    velocity: torch.Tensor,  # [N, C, h, w] predicted
    sigma: torch.Tensor,  # [N]
) -> torch.Tensor:  # [N, C, h, w]
    return x_t - sigma.view(-1, 1, 1, 1).to(velocity.dtype) * velocity


def predict_velocity(
    transformer: torch.nn.Module,  # FluxTransformer2DModel (possibly wrapped by DDP)
    x_t: torch.Tensor,  # [N, 16, h, w] float32
    sigma: torch.Tensor,  # [N]
    prompt_embeds: torch.Tensor,  # [N, L, D]
    pooled_prompt_embeds: torch.Tensor,  # [N, Dp]
    guidance: float | None,  # embedded guidance, None if the model has no guidance embedding
    dtype: torch.dtype,  # dtype of the transformer's input
) -> torch.Tensor:  # [N, 16, h, w] float32
    """One transformer call on unpacked latents (packing, position ids and the timestep handled here)."""
    rows, _, height, width = x_t.shape
    device = x_t.device
    tokens = pack_latents(x_t).to(dtype)
    guidance_t = None if guidance is None else torch.full((rows,), float(guidance), device=device, dtype=torch.float32)
    out = transformer(
        hidden_states=tokens, timestep=sigma.to(device=device, dtype=dtype), guidance=guidance_t,
        pooled_projections=pooled_prompt_embeds, encoder_hidden_states=prompt_embeds,
        txt_ids=text_position_ids(prompt_embeds.shape[1], device=device),
        img_ids=image_position_ids(height, width, device=device), return_dict=False)[0]
    return unpack_latents(out.float(), height, width)


def flow_loss(velocity: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # scalar float32
    """Mean squared error over every element (rows, channels, pixels)."""
    return torch.mean((velocity.float() - target.float()) ** 2)


def guidance_value(transformer: torch.nn.Module, guidance: float) -> float | None:
    """The guidance to pass: `guidance` if the model has a guidance embedding (FLUX.1-dev), else None."""
    config = getattr(transformer, "config", None)
    if config is None:
        config = transformer.module.config  # DDP wrapper
    return float(guidance) if config.guidance_embeds else None

