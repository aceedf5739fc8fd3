"""The demo model's sizes and its FLUX.1-shaped components at those sizes (fresh, untrained).

Same architecture as FLUX.1-dev + IntrinsiX (REFERENCE.md section 1), scaled down:

| part | FLUX.1-dev | demo (`DEMO`) | smoke test (`TINY`) |
|---|---|---|---|
| transformer width (heads x head dim) | 3072 (24 x 128) | 256 (4 x 64) | 32 (2 x 16) |
| double / single blocks | 19 / 38 | 2 / 6 | 1 / 1 |
| rotary axes | 16 + 56 + 56 | 8 + 28 + 28 | 4 + 6 + 6 |
| guidance embedding | yes | yes | yes |
| VAE levels (8x down), latent channels | 4, 16 | 4 (32-64-128-128), 16 | 4 (8-8-16-16), 16 |
| T5 / CLIP width, layers | 4096 / 768, 24 / 12 | 64, 2 | 32, 1 |
| T5 tokens | 512 | 24 | 24 |
| branch LoRA rank | 64 | 32 | 4 |

The scheduler is FLUX.1-dev's (`FlowMatchEulerDiscreteScheduler`, dynamic shift).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel

from .text import build_clip_tokenizer, build_t5_tokenizer, build_text_encoders


@dataclass(frozen=True)
class DemoSizes:
    """Every size of the demo model (see the module docstring)."""

    width: int = 256  # transformer hidden size = heads * head_dim
    heads: int = 4
    double_blocks: int = 2
    single_blocks: int = 6
    vae_channels: tuple[int, ...] = (32, 64, 128, 128)  # 4 levels = 8x downsampling
    vae_groups: int = 8  # GroupNorm groups (divides every VAE channel count)
    text_width: int = 64
    text_layers: int = 2
    lora_rank: int = 32
    image_size: int = 256  # training and default generation size in pixels

    def __post_init__(self):
        if self.width % self.heads or (self.width // self.heads) % 8:
            raise ValueError(f"width / heads must be a multiple of 8 (rotary axes), got {self.width} / {self.heads}")
        if len(self.vae_channels) != 4:
            raise ValueError(f"vae_channels must have 4 levels (8x downsampling as FLUX), got {self.vae_channels}")
        if any(c % self.vae_groups for c in self.vae_channels):
            raise ValueError(f"vae_groups {self.vae_groups} must divide every VAE channel count {self.vae_channels}")
        if self.image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16, got {self.image_size}")
        if not 1 <= self.lora_rank <= self.width:
            raise ValueError(f"lora_rank (--lora-rank) must be in [1, {self.width}] (the transformer width), "
                             f"got {self.lora_rank}")

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @property
    def rope_axes(self) -> tuple[int, int, int]:
        """FLUX splits the head dimension 1 : 3.5 : 3.5 (16, 56, 56 of 128); every axis even."""
        d = self.head_dim
        first = max(2, d // 8 - (d // 8) % 2)
        rest = (d - first) // 4 * 2
        return first, rest, d - first - rest


DEMO = DemoSizes()
TINY = DemoSizes(width=32, heads=2, double_blocks=1, single_blocks=1, vae_channels=(8, 8, 16, 16), vae_groups=4,
                 text_width=32, text_layers=1, lora_rank=4, image_size=32)
PRESETS = {"demo": DEMO, "tiny": TINY}


def make_scheduler() -> FlowMatchEulerDiscreteScheduler:
    """FLUX.1-dev's scheduler configuration (dynamic shifting)."""
    return FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096)


def make_vae(sizes: DemoSizes, seed: int) -> AutoencoderKL:
    """A fresh 16-channel AutoencoderKL (scaling / shift factors are set after training)."""
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=tuple(sizes.vae_channels), layers_per_block=1,
        latent_channels=16, norm_num_groups=sizes.vae_groups, sample_size=sizes.image_size, scaling_factor=1.0,
        shift_factor=0.0, use_quant_conv=False, use_post_quant_conv=False)


def make_transformer(sizes: DemoSizes, seed: int) -> FluxTransformer2DModel:
    """A fresh FluxTransformer2DModel (64 input channels = 16 latent channels x 2x2 packing)."""
    torch.manual_seed(seed)
    return FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=sizes.double_blocks, num_single_layers=sizes.single_blocks,
        attention_head_dim=sizes.head_dim, num_attention_heads=sizes.heads, joint_attention_dim=sizes.text_width,
        pooled_projection_dim=sizes.text_width, guidance_embeds=True, axes_dims_rope=sizes.rope_axes)


def make_text_components(sizes: DemoSizes, seed: int) -> dict:
    """{"tokenizer", "text_encoder", "tokenizer_2", "text_encoder_2"}: the vocabulary tokenizers and
    the seeded random frozen encoders (text.py)."""
    clip, t5 = build_text_encoders(sizes.text_width, sizes.text_layers, seed)
    return {"tokenizer": build_clip_tokenizer(), "text_encoder": clip,
            "tokenizer_2": build_t5_tokenizer(), "text_encoder_2": t5}


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
