"""The IntrinsiX generator as a score-distillation prior (sds.IntrinsicPrior), built on the
pipeline's own modules: the VAE encoder with `pipe.encode_image`'s input mapping and scaling
(differentiable), `pipe.transformer` (per-branch LoRA + cross-intrinsic attention),
`pipe.encode_prompt`, and the latent packing and position-id helpers of `intrinsix.generator.latents`. Nothing of the generator is modified.

One transformer call evaluates N views at once: a batch of 3N rows in the generator's cyclic
branch layout (albedo, material, normal, albedo, ...), each row with its own timestep (sigma; 0
for a held branch, as the "cross" hook does) and its view's prompt embedding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from intrinsix.generator import branch_index, pack_latents, timestep_shift_mu, unpack_latents
from intrinsix.generator.conditioning import image_to_vae_input, vae_output_to_image
from intrinsix.generator.latents import image_position_ids, text_position_ids

TextEncoder = Callable[[str], tuple[torch.Tensor, torch.Tensor]]


class IntrinsiXPrior:
    """Score-distillation prior on an `IntrinsiXPipeline`.

    pipe: the pipeline (its VAE and transformer; text encoders only if `text_encoder` is None).
    guidance: embedded guidance scale (FLUX.1-dev's distilled guidance; 3.5 as in generation).
    true_cfg_scale, negative_prompt: true classifier-free guidance v = v_neg + s (v - v_neg) when
        true_cfg_scale > 1 (doubles the transformer batch); v_neg is the prediction for
        negative_prompt, None or "" meaning the empty (unconditional) prompt. Ignored at 1.
    text_encoder: prompt -> (embeds [1, L, D], pooled [1, Dp]); default `pipe.encode_prompt`.
    Prompt encodings are cached (a room has a handful of distinct prompts).
    """

    def __init__(self, pipe, guidance: float = 3.5, true_cfg_scale: float = 1.0, negative_prompt: str | None = None,
                 text_encoder: TextEncoder | None = None):
        if pipe.vae is None:
            raise ValueError("the pipeline has no VAE: score distillation encodes rendered images with it")
        self.pipe = pipe
        self.transformer = pipe.transformer
        self.device = self.transformer.device
        self.dtype = self.transformer.dtype
        self.guidance = float(guidance)
        self.true_cfg_scale = float(true_cfg_scale)
        self.negative_prompt = (negative_prompt or "") if self.true_cfg_scale > 1.0 else None
        self._text_encoder = text_encoder or (lambda prompt: pipe.encode_prompt(prompt, self.device))
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def prompt_embedding(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:  # [L, D], [Dp]
        if prompt not in self._cache:
            with torch.no_grad():
                embeds, pooled = self._text_encoder(prompt)
            self._cache[prompt] = (embeds[0].to(self.device, self.dtype), pooled[0].to(self.device, self.dtype))
        return self._cache[prompt]

    def encode(self, images: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{branch: [N, H, W, 3]} -> {branch: [N, 16, h, w]} model-space latents, all branches in one
        VAE encoder call (the pipeline's own input mapping and latent scaling, as encode_image)."""
        vae = self.pipe.vae
        names = list(images)
        encoding = self.pipe.vae_encoding
        pixels = torch.cat([image_to_vae_input(branch_index(b), images[b], encoding) for b in names])
        moments = vae.encode(pixels.to(device=vae.device, dtype=vae.dtype)).latent_dist.mean.float()
        latents = (moments - vae.config.shift_factor) * vae.config.scaling_factor
        return dict(zip(names, latents.split([images[b].shape[0] for b in names])))

    @torch.no_grad()
    def decode(self, latents: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{branch: [N, 16, h, w] model-space latents} -> {branch: [N, H, W, 3]} on the prior's device:
        albedo / material in [0, 1], normals unit vectors (`vae_output_to_image`, as the pipeline's
        decode_latents), all branches in one VAE decoder call."""
        vae = self.pipe.vae
        names = list(latents)
        z = torch.cat([latents[b] for b in names]) / vae.config.scaling_factor + vae.config.shift_factor
        images = vae.decode(z.to(device=vae.device, dtype=vae.dtype), return_dict=False)[0]  # [sum N, 3, H, W]
        parts = images.split([latents[b].shape[0] for b in names])
        return {b: vae_output_to_image(branch_index(b), part, self.pipe.vae_encoding) for b, part in zip(names, parts)}

    def timestep_shift(self, height: int, width: int) -> float:
        config = self.pipe.scheduler.config
        factor = self.pipe.vae_scale_factor * 2
        return timestep_shift_mu((height // factor) * (width // factor), config.get("base_image_seq_len", 256),
                                 config.get("max_image_seq_len", 4096), config.get("base_shift", 0.5),
                                 config.get("max_shift", 1.15))

    def _rows(self, prompts) -> list[str]:
        """One prompt per transformer row: a view's prompt is a string (shared by its three
        branches) or a tuple of 3 (albedo, material, normal prompts)."""
        rows = []
        for prompt in prompts:
            rows += [prompt] * 3 if isinstance(prompt, str) else list(prompt)
        return rows

    def _velocity(self, tokens, timestep, prompts, text_ids, image_ids):
        rows = self._rows(prompts)
        if len(rows) != tokens.shape[0]:
            raise ValueError(f"each view prompt must be a string or a tuple of 3 strings, got {prompts!r}")
        embeds = torch.stack([self.prompt_embedding(p)[0] for p in rows])
        pooled = torch.stack([self.prompt_embedding(p)[1] for p in rows])
        guidance = None
        if self.transformer.config.guidance_embeds:
            guidance = torch.full((tokens.shape[0],), self.guidance, device=self.device, dtype=torch.float32)
        return self.transformer(hidden_states=tokens, timestep=timestep, guidance=guidance,
                                pooled_projections=pooled, encoder_hidden_states=embeds, txt_ids=text_ids,
                                img_ids=image_ids, return_dict=False)[0].float()

    @torch.no_grad()
    def predict_velocity(self, latents: torch.Tensor, sigmas: torch.Tensor, prompts: list) -> torch.Tensor:
        """latents [N, 3, C, h, w], sigmas [N, 3], prompts: N strings or (albedo, material, normal)
        tuples -> velocity [N, 3, C, h, w] float32."""
        views, branches, channels, height, width = latents.shape
        if branches != 3 or len(prompts) != views or tuple(sigmas.shape) != (views, 3):
            raise ValueError(f"need latents [N, 3, C, h, w], sigmas [N, 3] and N prompts; got {tuple(latents.shape)}, "
                             f"{tuple(sigmas.shape)}, {len(prompts)} prompts")
        rows = latents.reshape(views * 3, channels, height, width).to(self.device)
        tokens = pack_latents(rows).to(self.dtype)
        timestep = sigmas.reshape(-1).to(self.device, self.dtype)  # the transformer scales by 1000 itself
        text_ids = text_position_ids(self.prompt_embedding(self._rows(prompts[:1])[0])[0].shape[0], device=self.device)
        image_ids = image_position_ids(height, width, device=self.device)
        velocity = self._velocity(tokens, timestep, prompts, text_ids, image_ids)
        if self.true_cfg_scale > 1.0:
            negative = self._velocity(tokens, timestep, [self.negative_prompt] * views, text_ids, image_ids)
            velocity = negative + self.true_cfg_scale * (velocity - negative)
        return unpack_latents(velocity, height, width).reshape(views, 3, channels, height, width)
