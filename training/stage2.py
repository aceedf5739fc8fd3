"""Stage 2 ("align"): the three stage-1 LoRAs trained together (REFERENCE §3).

- The stage-1 PEFT files (`lora.init`) are loaded into the per-branch form
  (`intrinsix.generator.load_peft_loras` -> `BranchLoRALinear`, adapters in float32, all trainable).
- Cross-intrinsic attention on every layer with CI-dropout `loss.ci_dropout` (0.25) in training
  mode. The per-layer dropout draws come from the global CPU generator, re-seeded from the stream
  position before every micro-batch: torch's activation checkpointing restores that generator when
  it recomputes a block, so a recomputed layer takes the same decision as the forward pass did.
- A micro-batch of G samples is 3G rows (albedo, material, normal, albedo, ...), one caption
  embedding per sample shared by its three rows, ONE sigma per sample shared by its three
  branches, independent noise per branch.
- Loss = flow MSE + rerender_weight * re-render loss (+ lpips_weight * LPIPS with local weights):
  pred x0 = x_t - sigma * v_pred, decoded by the frozen VAE decoder WITH gradients, rendered against
  the ground-truth maps under 5 importance-sampled lights (rerender.py).
- Gradient checkpointing (`model.gradient_checkpointing`) covers the transformer blocks and the
  VAE decoder.

Files: the published key layout (`save_published_lora`: `transformer.<module>.<k>.lora_down/up.weight`,
k = 0 albedo, 1 material, 2 normal) in `pytorch_lora_weights.safetensors`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.nn.attention import SDPBackend

from intrinsix.generator import (NUM_BRANCHES, branch_lora_modules, branch_lora_parameters, load_peft_loras,
                                 load_published_lora, save_published_lora, set_cross_intrinsic_attention)

from .components import decode_intrinsics, encode_intrinsic, encode_text
from .config import ConfigError
from .flow import (CI_DROPOUT_STREAM, LIGHT_STREAM, flow_loss, flow_target, guidance_value, noisy_latents,
                   predict_velocity, predict_x0, sample_sigma_and_noise, stream_seed)
from .lpips import LPIPS
from .rerender import rerender_loss
from .trainer import FINAL_LORA_FILE, Trainer

BRANCH_NAMES = ("albedo", "material", "normal")


TRAINING_SDPA_BACKENDS = (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH)


class AlignTrainer(Trainer):
    """Stage 2 (see the module docstring)."""

    stage = "align"
    loss_terms = ("loss", "flow", "rerender", "lpips")

    def setup_model(self) -> None:
        cfg = self.config
        transformer = self.components.transformer
        layers = load_peft_loras(transformer, {name: cfg.lora.init[name] for name in BRANCH_NAMES})
        ranks = {layer.rank for layer in layers.values()}
        if ranks != {cfg.lora.rank}:
            raise ConfigError(f"{cfg.source}: lora.rank: {cfg.lora.rank}, but the stage-1 files in lora.init have "
                              f"rank {sorted(ranks)}")
        for p in branch_lora_parameters(transformer):
            p.requires_grad_(True)
        # cuDNN's fused attention BACKWARD fails on the FLUX.1-dev shapes with concatenated K/V
        # (torch 2.11, H100: "mha_graph.execute ... is_good()" / illegal address; bench/train_stage2.py):
        # training uses flash / memory-efficient attention, inference may still pick cuDNN.
        self.processor = set_cross_intrinsic_attention(transformer, dropout_p=cfg.loss.ci_dropout,
                                                       sdpa_backends=TRAINING_SDPA_BACKENDS)
        if cfg.model.gradient_checkpointing:
            self.components.vae.enable_gradient_checkpointing()
        self.lpips = None
        if cfg.loss.lpips_backbone is not None and cfg.loss.lpips_weight > 0:
            self.lpips = LPIPS.from_files(cfg.loss.lpips_backbone, cfg.loss.lpips_linear).to(self.device)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return branch_lora_parameters(self.components.transformer)

    def compute_loss(self, model, batch: dict, micro_step: int) -> dict[str, torch.Tensor]:
        cfg, device = self.config, self.device
        positions = batch["position"].tolist()
        groups = len(positions)
        maps = {name: batch[name].to(device) for name in BRANCH_NAMES}
        x0 = torch.stack([encode_intrinsic(self.components, name, maps[name]) for name in BRANCH_NAMES], dim=1)
        x0 = x0.reshape(groups * NUM_BRANCHES, *x0.shape[2:])  # rows albedo, material, normal, albedo, ...
        sigma, noise = sample_sigma_and_noise(positions, cfg.train.seed, tuple(x0.shape[1:]), branches=NUM_BRANCHES)
        sigma, noise = sigma.to(device), noise.to(device)
        x_t = noisy_latents(x0, noise, sigma)
        embeds, pooled = encode_text(self.components, batch["caption"], cfg.model.max_sequence_length)
        embeds = embeds.repeat_interleave(NUM_BRANCHES, dim=0)
        pooled = pooled.repeat_interleave(NUM_BRANCHES, dim=0)
        # CI-dropout draws: global CPU generator, seeded per micro-batch (see the module docstring).
        torch.default_generator.manual_seed(stream_seed(cfg.train.seed, CI_DROPOUT_STREAM, positions[0]))
        velocity = predict_velocity(model, x_t, sigma, embeds, pooled, guidance_value(model, cfg.model.guidance),
                                    self.weight_dtype)
        flow = flow_loss(velocity, flow_target(x0, noise))
        zero = flow.new_zeros(())
        rerender, perceptual = zero, zero
        if cfg.loss.rerender_weight > 0 or self.lpips is not None:
            pred = decode_intrinsics(self.components.vae, predict_x0(x_t, velocity, sigma),
                                     self.components.pipeline.vae_encoding)
            generator = torch.Generator(device=device).manual_seed(
                stream_seed(cfg.train.seed, LIGHT_STREAM, positions[0]))
            mask = batch["mask"].to(device) if "mask" in batch else None
            terms = rerender_loss(pred, maps, num_lights=cfg.loss.num_lights, generator=generator, mask=mask,
                                  brdf=cfg.loss.brdf, render_space=cfg.loss.render_space, lpips=self.lpips)
            rerender, perceptual = terms["rerender"], terms["lpips"]
        loss = flow + cfg.loss.rerender_weight * rerender + cfg.loss.lpips_weight * perceptual
        return {"loss": loss, "flow": flow.detach(), "rerender": rerender.detach(), "lpips": perceptual.detach()}

    def save_lora(self, folder: Path, dtype: torch.dtype | None) -> Path:
        return save_published_lora(self.unwrapped(), folder, dtype=dtype)

    def load_lora(self, folder: Path) -> None:
        model = self.unwrapped()
        load_published_lora(model, Path(folder) / FINAL_LORA_FILE)
        for layer in branch_lora_modules(model).values():
            if layer.lora_down.dtype != torch.float32:
                raise ValueError(f"resume: adapters of {folder} loaded as {layer.lora_down.dtype}, expected float32")


def train_align(config, resume: str | None = None, stop_at_step: int | None = None):
    """Train stage 2 from the three stage-1 LoRAs; returns trainer.TrainResult."""
    return AlignTrainer(config).train(resume=resume, stop_at_step=stop_at_step)
