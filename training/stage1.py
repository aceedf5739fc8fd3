"""Stage 1 ("independent"): one PEFT LoRA for one intrinsic (REFERENCE §3), no cross attention.

The frozen FLUX transformer gets a PEFT LoRA (rank / alpha from `lora`, A ~ N(0, 1/r), B = 0:
PEFT's "gaussian" init) on the published targets: the image-stream `to_q, to_k, to_v, to_out.0`
of the double blocks and `to_q, to_k, to_v` of the single blocks (`adapted_linear_names`, 190
modules for FLUX.1-dev). Attention is diffusers' plain Flux processor. The loss is flow matching
on the VAE latents of the intrinsic's ground-truth map (albedo / material in [0, 1] -> [-1, 1],
normals raw), captions through the frozen text encoders.

Files: `pytorch_lora_weights.safetensors` written by diffusers' `FluxLoraLoaderMixin.save_lora_weights`
(keys `transformer.<module>.lora_A.weight` / `lora_B.weight`, PEFT config in the
`lora_adapter_metadata`), the stage-1 layout that `intrinsix.generator.load_peft_loras`,
`load_pipeline(lora_path={...})` and diffusers' `load_lora_weights` read.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import FluxPipeline
from diffusers.models.transformers.transformer_flux import FluxAttnProcessor
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file

from intrinsix.generator import adapted_linear_names

from .components import encode_intrinsic, encode_text
from .flow import flow_loss, flow_target, guidance_value, noisy_latents, predict_velocity, sample_sigma_and_noise
from .flow import stream_seed
from .trainer import FINAL_LORA_FILE, Trainer

LORA_INIT_STREAM = 5


def peft_lora_config(transformer: torch.nn.Module, rank: int, alpha: float | None) -> LoraConfig:
    """The published stage-1 adapter: the 190 target projections (exact module names), no dropout."""
    return LoraConfig(r=rank, lora_alpha=float(rank if alpha is None else alpha), lora_dropout=0.0,
                      init_lora_weights="gaussian", target_modules=adapted_linear_names(transformer))


class IndependentTrainer(Trainer):
    """Stage 1 for `config.intrinsic` (see the module docstring)."""

    stage = "independent"
    loss_terms = ("loss", "flow")
    validation_relit = False

    @property
    def validation_maps(self) -> tuple[str, ...]:
        return (self.config.intrinsic,)

    def setup_model(self) -> None:
        transformer = self.components.transformer
        transformer.set_attn_processor(FluxAttnProcessor())
        lora = peft_lora_config(transformer, self.config.lora.rank, self.config.lora.alpha)
        # The adapters' random init comes from the global RNG inside PEFT: seed it for this call only.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(stream_seed(self.config.train.seed, LORA_INIT_STREAM) % 2**63)
            transformer.add_adapter(lora)
        self.lora_config = lora

    def compute_loss(self, model, batch: dict, micro_step: int) -> dict[str, torch.Tensor]:
        cfg = self.config
        x0 = encode_intrinsic(self.components, cfg.intrinsic, batch[cfg.intrinsic].to(self.device))
        sigma, noise = sample_sigma_and_noise(batch["position"].tolist(), cfg.train.seed, tuple(x0.shape[1:]))
        sigma, noise = sigma.to(self.device), noise.to(self.device)
        x_t = noisy_latents(x0, noise, sigma)
        embeds, pooled = encode_text(self.components, batch["caption"], cfg.model.max_sequence_length)
        velocity = predict_velocity(model, x_t, sigma, embeds, pooled,
                                    guidance_value(model, cfg.model.guidance), self.weight_dtype)
        loss = flow_loss(velocity, flow_target(x0, noise))
        return {"loss": loss, "flow": loss.detach()}

    def lora_state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """{'<module>.lora_A.weight': [r, in], '<module>.lora_B.weight': [out, r]} on the CPU."""
        state = get_peft_model_state_dict(self.unwrapped())
        return {k: v.detach().to(dtype or v.dtype).contiguous().cpu() for k, v in state.items()}

    def save_lora(self, folder: Path, dtype: torch.dtype | None) -> Path:
        FluxPipeline.save_lora_weights(str(folder), transformer_lora_layers=self.lora_state_dict(dtype),
                                       transformer_lora_adapter_metadata=self.lora_config.to_dict(),
                                       weight_name=FINAL_LORA_FILE)
        return Path(folder) / FINAL_LORA_FILE

    def load_lora(self, folder: Path) -> None:
        tensors = load_file(str(Path(folder) / FINAL_LORA_FILE))
        prefix = "transformer."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        model = self.unwrapped()
        result = set_peft_model_state_dict(model, state)
        unexpected = getattr(result, "unexpected_keys", None) or []
        if unexpected or len(state) != len(tensors):
            raise ValueError(f"resume: {folder / FINAL_LORA_FILE} does not match the adapter "
                             f"({len(unexpected)} unexpected keys, e.g. {unexpected[:2]})")
        for p in self.trainable_parameters():
            p.data = p.data.float()


def train_independent(config, resume: str | None = None, stop_at_step: int | None = None):
    """Train one stage-1 LoRA; returns trainer.TrainResult (the final file in result.lora_path)."""
    return IndependentTrainer(config).train(resume=resume, stop_at_step=stop_at_step)
