"""`load_pipeline`: a ready IntrinsiXPipeline from local folders (never the network).

Accepted model folders:
- a diffusers pipeline folder (`model_index.json` + component subfolders), e.g. FLUX.1-dev as
  downloaded, or a folder written by `IntrinsiXPipeline.save_pretrained` (tiny/demo models);
- the same subfolders without `model_index.json` (scheduler/, vae/, text_encoder/, tokenizer/,
  text_encoder_2/, tokenizer_2/, transformer/), loaded component by component.

LoRA: `lora_path` is the published IntrinsiX file (or a folder holding it), or the three stage-1
PEFT files as {"albedo": ..., "material": ..., "normal": ...} / a list of 3. When `lora_path` is
None and the model folder holds `pytorch_lora_weights.safetensors`, that file is used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from .attention import set_cross_intrinsic_attention
from .defaults import generation_defaults, vae_encoding
from .fusion import fuse_branch_qkv
from .lora import branch_lora_modules, merge_branch_lora
from .pipeline import IntrinsiXPipeline
from .weights import PUBLISHED_FILE_NAME, detect_lora_layout, load_peft_loras, load_published_lora

COMPONENT_FOLDERS = ("scheduler", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "transformer")
LORA_MODES = ("batched", "merged")


def _load_components(model_dir: Path, dtype: torch.dtype) -> dict:
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
    from transformers import CLIPTextModel, CLIPTokenizer, T5EncoderModel, T5TokenizerFast

    loaders = {
        "scheduler": lambda p: FlowMatchEulerDiscreteScheduler.from_pretrained(p, local_files_only=True),
        "vae": lambda p: AutoencoderKL.from_pretrained(p, dtype=dtype, local_files_only=True),
        "text_encoder": lambda p: CLIPTextModel.from_pretrained(p, dtype=dtype, local_files_only=True),
        "tokenizer": lambda p: CLIPTokenizer.from_pretrained(p, local_files_only=True),
        "text_encoder_2": lambda p: T5EncoderModel.from_pretrained(p, dtype=dtype, local_files_only=True),
        "tokenizer_2": lambda p: T5TokenizerFast.from_pretrained(p, local_files_only=True),
        "transformer": lambda p: FluxTransformer2DModel.from_pretrained(p, dtype=dtype, local_files_only=True),
    }
    return {name: loaders[name](str(model_dir / name)) for name in COMPONENT_FOLDERS}


def detect_model_layout(model_dir: str | os.PathLike) -> str:
    """'pipeline' (model_index.json) or 'components' (subfolders only); raises FileNotFoundError
    naming what is missing otherwise."""
    path = Path(model_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"model_dir {path} is not a folder (expected a diffusers FLUX.1 folder)")
    if (path / "model_index.json").is_file():
        return "pipeline"
    missing = [name for name in COMPONENT_FOLDERS if not (path / name).is_dir()]
    if missing:
        raise FileNotFoundError(f"model_dir {path} is not a diffusers FLUX.1 folder: no model_index.json and "
                                f"missing component folders {missing}")
    return "components"


def load_lora(transformer: torch.nn.Module,
              lora_path: str | os.PathLike | Mapping | Sequence) -> str:
    """Load the published file or three PEFT files into `transformer`; returns the layout name."""
    if isinstance(lora_path, Mapping) or (isinstance(lora_path, Sequence) and not isinstance(lora_path, str)):
        load_peft_loras(transformer, lora_path)
        return "peft"
    layout = detect_lora_layout(lora_path)
    if layout == "peft":
        raise ValueError(f"lora_path {lora_path} is a single stage-1 PEFT LoRA; stage-1 files are per intrinsic: "
                         "pass {'albedo': file, 'material': file, 'normal': file}")
    load_published_lora(transformer, lora_path)
    return layout


def load_pipeline(
    model_dir: str | os.PathLike,
    lora_path: str | os.PathLike | Mapping | Sequence | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    lora_mode: str = "batched",
    sdpa_backends: Sequence | None = None,
    compile: bool = False,
) -> IntrinsiXPipeline:
    """Load a FLUX.1 folder (+ IntrinsiX LoRA) into a ready IntrinsiXPipeline.

    device: where the pipeline runs; dtype: default bfloat16 on CUDA, float32 on the CPU.
    lora_mode: "batched" (base projection once + batched low-rank deltas; least memory) or "merged"
        (per-branch merged weights, fused q/k/v; fastest, +3 copies of the adapted weights: about
        10.8 GB more for FLUX.1-dev in bf16).
    sdpa_backends: optional list of torch.nn.attention.SDPBackend for the attention processor
        (e.g. [SDPBackend.CUDNN_ATTENTION], the fastest on an H100).
    compile: regional torch.compile of the transformer blocks (the first call at each resolution
        compiles, about 15 s on an H100; worth it from a few generations on).
    The transformer gets cross-intrinsic attention; every module is in eval mode with no gradients.
    """
    if lora_mode not in LORA_MODES:
        raise ValueError(f"lora_mode must be one of {LORA_MODES}, got {lora_mode!r}")
    device = torch.device(device)
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    path = Path(model_dir)
    if detect_model_layout(path) == "pipeline":
        pipe = IntrinsiXPipeline.from_pretrained(str(path), dtype=dtype, local_files_only=True)
    else:
        pipe = IntrinsiXPipeline(**_load_components(path, dtype))
    pipe.vae_encoding = vae_encoding(generation_defaults(path))
    transformer = pipe.transformer
    if lora_path is None and (path / PUBLISHED_FILE_NAME).is_file():
        lora_path = path / PUBLISHED_FILE_NAME
    if lora_path is not None:
        load_lora(transformer, lora_path)
    set_cross_intrinsic_attention(transformer, sdpa_backends=sdpa_backends)
    pipe.to(device)
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            module.eval().requires_grad_(False)
    if lora_mode == "merged" and branch_lora_modules(transformer):
        merge_branch_lora(transformer)
        fuse_branch_qkv(transformer)
    if compile:
        transformer.compile_repeated_blocks(dynamic=False)
    return pipe
