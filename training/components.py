"""The frozen FLUX.1 parts the trainers use: loading, text encoding, VAE encoding and decoding.

Everything here is frozen (no parameter requires grad). `decode_intrinsics` keeps the autograd
graph to its input latents: stage 2 decodes the predicted clean latents WITH gradients
(REFERENCE §3) so that the re-render loss reaches the LoRAs through the VAE decoder.

Latent convention (as the pipeline's): model-space latents are (vae_mean - shift) * scale, float32,
[N, 16, H/8, W/8]; images enter the VAE in [-1, 1] (REFERENCE §1): albedo and material as
2x - 1 from [0, 1], normals raw (unit camera-space vectors).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from intrinsix.generator import IntrinsiXPipeline, branch_index, load_pipeline
from intrinsix.generator.conditioning import LINEAR, VAEEncoding, image_to_vae_input, normalise_decoded_normals
from intrinsix.generator.weights import PUBLISHED_FILE_NAME


@dataclass
class FrozenComponents:
    """The loaded pipeline (scheduler, VAE, text encoders, tokenizers, transformer) and its dtype."""

    pipeline: IntrinsiXPipeline
    dtype: torch.dtype  # dtype of the frozen weights (bf16 for bf16 mixed precision, else float32)

    @property
    def transformer(self) -> torch.nn.Module:
        return self.pipeline.transformer

    @property
    def vae(self) -> torch.nn.Module:
        return self.pipeline.vae


def load_frozen_components(model_path: str | os.PathLike, device: torch.device, dtype: torch.dtype) -> FrozenComponents:
    """Load a local diffusers FLUX.1 folder (never the network) with every module frozen, in eval mode.

    The training transformer starts from the base model: a folder that carries an IntrinsiX LoRA
    file (`pytorch_lora_weights.safetensors`) is refused, since the pipeline loader would apply it.
    """
    path = Path(model_path)
    if (path / PUBLISHED_FILE_NAME).is_file():
        raise ValueError(f"model.path {path} holds {PUBLISHED_FILE_NAME}: training starts from the base FLUX.1 model; "
                         "point model.path at a folder without a LoRA file (stage 2 takes the stage-1 LoRAs "
                         "from lora.init)")
    pipe = load_pipeline(path, device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return FrozenComponents(pipeline=pipe, dtype=dtype)


@torch.no_grad()
def encode_text(
    components: FrozenComponents,
    captions: Sequence[str],
    max_sequence_length: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Captions -> (T5 embeddings [N, L, D], CLIP pooled [N, Dp]) in the frozen dtype, on the
    transformer's device."""
    pipe = components.pipeline
    device = pipe.transformer.device
    embeds, pooled = pipe.encode_prompt(list(captions), device=device, max_sequence_length=max_sequence_length)
    return embeds.to(components.dtype), pooled.to(components.dtype)


def to_vae_input(branch: str, image: torch.Tensor,
                 encoding: VAEEncoding = LINEAR) -> torch.Tensor:  # [N, H, W, 3] -> [N, 3, H, W] in [-1, 1], float32
    """albedo / material in [0, 1] -> 2x - 1; normal (unit vectors) raw for the LINEAR encoding
    (REFERENCE §1); other encodings as `VAEEncoding` says: the generator's `image_to_vae_input` for
    a branch given by name."""
    return image_to_vae_input(branch_index(branch), image, encoding)


@torch.no_grad()
def encode_intrinsic(
    components: FrozenComponents,
    branch: str,
    image: torch.Tensor,  # [N, H, W, 3] float: albedo/material in [0, 1], normal unit vectors
) -> torch.Tensor:  # [N, 16, H/8, W/8] float32, model space
    """VAE-encode ground-truth maps of one branch. Uses the posterior mean (not a sample): the
    FLUX VAE's posterior standard deviation is tiny, and a deterministic encoding keeps runs
    reproducible without another random stream."""
    vae = components.vae
    pixels = to_vae_input(branch, image.to(vae.device, torch.float32), components.pipeline.vae_encoding).to(vae.dtype)
    mean = vae.encode(pixels).latent_dist.mean.float()
    return (mean - vae.config.shift_factor) * vae.config.scaling_factor


def decode_intrinsics(
    vae: torch.nn.Module,
    latents: torch.Tensor,  # [3G, 16, h, w] model space, rows albedo, material, normal, albedo, ...
    encoding: VAEEncoding = LINEAR,
) -> dict[str, torch.Tensor]:
    """Decode WITH gradients (stage-2 re-render loss) into maps, float32, channels last:

    albedo   [G, H, W, 3] in [0, 1]  ((img + 1) / 2, clamped, decoded by `encoding`: linear albedo)
    material [G, H, W, 3] in [0, 1]  (R roughness, G metallic)
    normal   [G, H, W, 3] unit vectors (img expanded by `encoding`, then normalised as generation
             does, a zero vector as +z; for LINEAR = normalize(2 * img01 - 1) of REFERENCE §1)
    """
    z = latents / vae.config.scaling_factor + vae.config.shift_factor
    images = vae.decode(z.to(vae.dtype), return_dict=False)[0].float().permute(0, 2, 3, 1)  # [3G, H, W, 3]
    albedo = encoding.decode_albedo((images[0::3] + 1.0) * 0.5)
    material = ((images[1::3] + 1.0) * 0.5).clamp(0.0, 1.0)
    normal = normalise_decoded_normals(encoding.expand_normals(images[2::3]))  # as generation does
    return {"albedo": albedo, "material": material, "normal": normal}
