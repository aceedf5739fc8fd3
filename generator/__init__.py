"""IntrinsiX generator: text -> albedo, material and normal maps with FLUX.1 + per-branch LoRA.

Public API (see docs/generator.md):
- IntrinsiXPipeline, IntrinsiXOutput: the diffusers-style pipeline and its output.
- load_pipeline: a ready pipeline from local folders (FLUX.1-dev + the IntrinsiX LoRA).
- BranchCondition: per-branch "cross" / "repaint" conditioning for room texturing.
- BranchLoRALinear, add_branch_lora, merge_branch_lora, ...: the batched per-branch LoRA.
- CrossIntrinsicAttnProcessor, set_cross_intrinsic_attention: cross-intrinsic attention.
- load_published_lora, save_published_lora, load_peft_loras, save_peft_lora: weight files.
- make_tiny_components, make_tiny_pipeline: tiny random components for tests and the demo model.
"""

from .attention import CrossIntrinsicAttnProcessor, set_cross_intrinsic_attention
from .branches import BRANCHES, NUM_BRANCHES, branch_index
from .conditioning import BranchCondition
from .fusion import BranchFusedQKV, fuse_branch_qkv, unfuse_branch_qkv
from .latents import pack_latents, timestep_shift_mu, unpack_latents
from .loading import detect_model_layout, load_lora, load_pipeline
from .lora import (
    BranchLoRALinear,
    adapted_linear_names,
    add_branch_lora,
    branch_lora_modules,
    branch_lora_parameters,
    merge_branch_lora,
    remove_branch_lora,
    set_branch_ids,
    unmerge_branch_lora,
)
from .pipeline import IntrinsiXOutput, IntrinsiXPipeline
from .tiling import LatentRoller, set_vae_wraparound, vae_wraparound
from .tiny import make_tiny_components, make_tiny_pipeline, randomize_branch_lora
from .weights import (
    LoraFormatError,
    detect_lora_layout,
    load_peft_loras,
    load_published_lora,
    published_lora_state_dict,
    save_peft_lora,
    save_published_lora,
)

__all__ = [
    "BRANCHES", "NUM_BRANCHES", "BranchCondition", "BranchFusedQKV", "BranchLoRALinear",
    "CrossIntrinsicAttnProcessor", "IntrinsiXOutput", "IntrinsiXPipeline", "LatentRoller", "LoraFormatError",
    "adapted_linear_names", "add_branch_lora", "branch_index", "branch_lora_modules", "branch_lora_parameters",
    "detect_lora_layout", "detect_model_layout", "fuse_branch_qkv", "load_lora", "load_peft_loras",
    "load_pipeline", "load_published_lora", "make_tiny_components", "make_tiny_pipeline", "merge_branch_lora",
    "pack_latents", "published_lora_state_dict", "randomize_branch_lora", "remove_branch_lora",
    "save_peft_lora", "save_published_lora", "set_branch_ids", "set_cross_intrinsic_attention",
    "set_vae_wraparound", "timestep_shift_mu", "unfuse_branch_qkv", "unmerge_branch_lora", "unpack_latents",
    "vae_wraparound",
]
