"""The denoising loop of IntrinsiXPipeline: flow-matching Euler steps over the three branches with
the conditioning hooks, latent rolling (tiling) and true CFG.

Latents stay unpacked [3G, 16, h, w] float32 between steps (rolling and per-branch overwrites are
plain tensor ops there); they are packed into tokens and cast to the transformer dtype only for
the transformer call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .branches import NUM_BRANCHES
from .conditioning import PreparedCondition
from .latents import pack_latents, unpack_latents
from .tiling import LatentRoller


def _in_frame(t: torch.Tensor, roller: LatentRoller | None) -> torch.Tensor:
    return t if roller is None else roller.to_current(t)


def _hold(latents: torch.Tensor, k: int, value: torch.Tensor, mask: torch.Tensor | None) -> None:
    """latents[branch k rows] = value inside mask (everywhere if mask is None), in place."""
    if mask is None:
        latents[k::NUM_BRANCHES] = value
    else:
        latents[k::NUM_BRANCHES] = mask * value + (1.0 - mask) * latents[k::NUM_BRANCHES]


def apply_conditions(latents: torch.Tensor, noise: torch.Tensor, conditions: dict[int, PreparedCondition],
                     sigma: float, roller: LatentRoller | None) -> None:
    """Before a transformer call: cross branches -> clean latent; repaint branches -> clean latent
    re-noised to `sigma` with the branch's initial noise (inside the mask). In place."""
    for k, cond in conditions.items():
        clean = _in_frame(cond.latents, roller)
        mask = None if cond.mask is None else _in_frame(cond.mask, roller)
        if cond.mode == "cross":
            _hold(latents, k, clean, None)
        else:
            eps = _in_frame(noise[k::NUM_BRANCHES], roller)
            _hold(latents, k, (1.0 - sigma) * clean + sigma * eps, mask)


def run_denoising_loop(
    pipe,
    noise: torch.Tensor,  # [3G, 16, h, w] float32 initial noise
    prompt_embeds: torch.Tensor,  # [3G or 6G, L, D] transformer dtype (6G: cond rows then negative rows)
    pooled_prompt_embeds: torch.Tensor,  # [3G or 6G, Dp]
    text_ids: torch.Tensor,  # [L, 3]
    image_ids: torch.Tensor,  # [h/2 * w/2, 3]
    conditions: dict[int, PreparedCondition],
    guidance_scale: float,
    true_cfg_scale: float,
    roller: LatentRoller | None,
    callback_on_step_end: Callable | None,
    callback_on_step_end_tensor_inputs: Sequence[str],
) -> torch.Tensor:  # [3G, 16, h, w] float32 clean latents in the original frame
    transformer, scheduler = pipe.transformer, pipe.scheduler
    dtype = transformer.dtype
    rows = noise.shape[0]
    height, width = noise.shape[-2:]
    do_cfg = true_cfg_scale > 1.0
    model_rows = rows * (2 if do_cfg else 1)
    guidance = None
    if transformer.config.guidance_embeds:
        guidance = torch.full((model_rows,), float(guidance_scale), device=noise.device, dtype=torch.float32)
    cross_rows = torch.zeros(rows, dtype=torch.bool, device=noise.device)
    for k, cond in conditions.items():
        if cond.mode == "cross":
            cross_rows[k::NUM_BRANCHES] = True
    if do_cfg:
        cross_rows = torch.cat([cross_rows, cross_rows])

    latents = noise.clone()
    timesteps = scheduler.timesteps
    with pipe.progress_bar(total=len(timesteps)) as progress:
        for i, t in enumerate(timesteps):
            if pipe.interrupt:
                break
            if roller is not None:
                latents = roller.roll(latents)
            sigma = float(scheduler.sigmas[i])
            apply_conditions(latents, noise, conditions, sigma, roller)

            tokens = pack_latents(latents).to(dtype)
            if do_cfg:
                tokens = torch.cat([tokens, tokens])
            timestep = torch.full((model_rows,), float(t) / 1000.0, device=noise.device, dtype=torch.float32)
            timestep = timestep.masked_fill(cross_rows, 0.0)
            velocity = transformer(hidden_states=tokens, timestep=timestep.to(dtype), guidance=guidance,
                                   pooled_projections=pooled_prompt_embeds, encoder_hidden_states=prompt_embeds,
                                   txt_ids=text_ids, img_ids=image_ids, return_dict=False)[0].float()
            if do_cfg:
                cond_v, neg_v = velocity.chunk(2)
                velocity = neg_v + true_cfg_scale * (cond_v - neg_v)
            velocity = unpack_latents(velocity, height, width)
            latents = scheduler.step(velocity, t, latents, return_dict=False)[0]

            for k, cond in conditions.items():
                if cond.mode == "cross":
                    _hold(latents, k, _in_frame(cond.latents, roller), None)

            if callback_on_step_end is not None:
                available = {"latents": latents, "prompt_embeds": prompt_embeds}
                callback_kwargs = {name: available[name] for name in callback_on_step_end_tensor_inputs}
                outputs = callback_on_step_end(pipe, i, t, callback_kwargs) or {}
                latents = outputs.pop("latents", latents)
                prompt_embeds = outputs.pop("prompt_embeds", prompt_embeds)
            progress.update()

    if roller is not None:
        latents = roller.unroll(latents)
    for k, cond in conditions.items():
        _hold(latents, k, cond.latents, cond.mask)  # the known content exactly, at sigma 0
    return latents
