"""Reading and writing IntrinsiX LoRA files (local files only, safetensors).

Two layouts (REFERENCE §2):

published (one file, all three branches; what `PeterKocsis/IntrinsiX` ships, bf16):
    transformer.<module>.<k>.lora_down.weight   [r, in]
    transformer.<module>.<k>.lora_up.weight     [out, r]       k = 0 albedo, 1 material, 2 normal
    delta W_k = lora_up @ lora_down (scale 1)

stage-1 PEFT / diffusers (one file per intrinsic):
    transformer.<module>.lora_A.weight   [r, in]
    transformer.<module>.lora_B.weight   [out, r]
    delta W = (lora_alpha / r) * B @ A; alpha and r come from the file's `lora_adapter_metadata`
    ("transformer.lora_alpha", "transformer.r"), alpha = r when absent.

<module> runs over `lora.adapted_linear_names` (190 modules for FLUX.1-dev). Every problem with a
file (missing or unexpected keys, wrong shapes) is reported in one `LoraFormatError` that names the
keys with the expected and the actual shapes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .branches import BRANCHES, NUM_BRANCHES, branch_index
from .lora import (DOUBLE_BLOCK_TARGETS, SINGLE_BLOCK_TARGETS, BranchLoRALinear, add_branch_lora,
                   adapted_linear_names, branch_lora_modules)

PREFIX = "transformer."
PUBLISHED_FILE_NAME = "pytorch_lora_weights.safetensors"
_MAX_LISTED = 12

Source = str | os.PathLike | Mapping[str, torch.Tensor]


class LoraFormatError(ValueError):
    """A LoRA file does not match the transformer (the message lists every offending key)."""


def _listing(items: list[str]) -> str:
    shown = items[:_MAX_LISTED]
    more = f" ... and {len(items) - len(shown)} more" if len(items) > len(shown) else ""
    return "; ".join(shown) + more


def _read(source: Source, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str], str]:
    """(tensors, safetensors metadata, description) of a file path, a folder holding one
    *.safetensors file, or an in-memory state dict."""
    if isinstance(source, Mapping):
        return dict(source), {}, f"{what} (state dict)"
    path = Path(source)
    if path.is_dir():
        preferred = path / PUBLISHED_FILE_NAME
        candidates = [preferred] if preferred.is_file() else sorted(path.glob("*.safetensors"))
        if len(candidates) != 1:
            raise FileNotFoundError(
                f"{what}: folder {path} must hold {PUBLISHED_FILE_NAME} or exactly one *.safetensors file, "
                f"found {[c.name for c in candidates]}")
        path = candidates[0]
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no such file {path}")
    if path.suffix != ".safetensors":
        raise ValueError(f"{what}: only .safetensors files are read (no pickles), got {path.name}")
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        metadata = handle.metadata() or {}
    return load_file(str(path)), metadata, str(path)


def _check(expected: dict[str, tuple[int, ...]], tensors: Mapping[str, torch.Tensor], where: str) -> None:
    problems = []
    missing = [k for k in expected if k not in tensors]
    unexpected = sorted(k for k in tensors if k not in expected)
    wrong = [f"{k}: expected shape {list(shape)}, got {list(tensors[k].shape)}"
             for k, shape in expected.items() if k in tensors and tuple(tensors[k].shape) != shape]
    if missing:
        problems.append(f"{len(missing)} missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_listing(unexpected)}")
    if wrong:
        problems.append(f"{len(wrong)} tensors with a wrong shape: {_listing(wrong)}")
    if problems:
        raise LoraFormatError(f"{where} does not match the transformer: " + " | ".join(problems))


def _projection_shapes(transformer: nn.Module) -> dict[str, tuple[int, int]]:
    """{module path: (out_features, in_features)} of the adapted projections."""
    shapes = {}
    for name in adapted_linear_names(transformer):
        module = transformer.get_submodule(name)
        shapes[name] = (module.out_features, module.in_features)
    return shapes


def _ensure_layers(transformer: nn.Module, rank: int, alpha: float) -> dict[str, BranchLoRALinear]:
    layers = branch_lora_modules(transformer)
    if not layers:
        return add_branch_lora(transformer, rank=rank, alpha=alpha)
    ranks = {layer.rank for layer in layers.values()}
    if ranks != {rank}:
        raise LoraFormatError(f"the transformer already has branch LoRA layers of rank {sorted(ranks)} but the file "
                              f"has rank {rank}: call remove_branch_lora(transformer) first")
    return layers


def _store(layers: dict[str, BranchLoRALinear], name: str, branch: int, down: torch.Tensor, up: torch.Tensor) -> None:
    layer = layers[name]
    with torch.no_grad():
        layer.lora_down[branch].copy_(down)
        layer.lora_up[branch].copy_(up)


def _remerge(layers: dict[str, BranchLoRALinear]) -> None:
    for layer in layers.values():
        if layer.merged:
            layer.merge()


# -- published layout --------------------------------------------------------------------------------


def published_key(module: str, branch: int, part: str) -> str:
    """e.g. published_key('transformer_blocks.0.attn.to_q', 1, 'lora_down')."""
    return f"{PREFIX}{module}.{branch}.{part}.weight"


def load_published_lora(transformer: nn.Module, source: Source) -> dict[str, BranchLoRALinear]:
    """Load the published three-branch LoRA file into the transformer.

    source: a .safetensors path, a folder holding it, or a state dict in that layout.
    Adds BranchLoRALinear layers of the file's rank when the transformer has none (scale 1.0);
    existing layers (same rank) are overwritten, and re-merged if they were merged.
    Returns {module path: layer}.
    """
    tensors, _, where = _read(source, "published IntrinsiX LoRA")
    shapes = _projection_shapes(transformer)
    first = published_key(next(iter(shapes)), 0, "lora_down")
    if first not in tensors:
        _check({first: (0,)}, tensors, where)  # raises, naming the missing key
    rank = tensors[first].shape[0]
    expected = {}
    for name, (out_features, in_features) in shapes.items():
        for k in range(NUM_BRANCHES):
            expected[published_key(name, k, "lora_down")] = (rank, in_features)
            expected[published_key(name, k, "lora_up")] = (out_features, rank)
    _check(expected, tensors, where)
    layers = _ensure_layers(transformer, rank, alpha=float(rank))
    for name in shapes:
        for k in range(NUM_BRANCHES):
            _store(layers, name, k, tensors[published_key(name, k, "lora_down")],
                   tensors[published_key(name, k, "lora_up")] * (1.0 / layers[name].scale))
    _remerge(layers)
    return layers


def published_lora_state_dict(transformer: nn.Module, dtype: torch.dtype | None = torch.bfloat16) -> dict[str, torch.Tensor]:
    """The transformer's branch adapters in the published layout (scale folded into lora_up, so
    the file always means delta W = up @ down). dtype None keeps the parameters' dtype."""
    layers = branch_lora_modules(transformer)
    if not layers:
        raise ValueError("the transformer has no BranchLoRALinear layers to save")
    state = {}
    for name in adapted_linear_names(transformer):
        if name not in layers:
            raise ValueError(f"{name} is not a BranchLoRALinear: the published layout needs every adapted projection")
        layer = layers[name]
        for k in range(NUM_BRANCHES):
            down = layer.lora_down[k].detach()
            up = layer.lora_up[k].detach() * layer.scale if layer.scale != 1.0 else layer.lora_up[k].detach()
            state[published_key(name, k, "lora_down")] = down.to(dtype or down.dtype).contiguous().cpu()
            state[published_key(name, k, "lora_up")] = up.to(dtype or up.dtype).contiguous().cpu()
    return state


def save_published_lora(transformer: nn.Module, path: str | os.PathLike, dtype: torch.dtype | None = torch.bfloat16) -> Path:
    """Write the branch adapters as a published-layout .safetensors file (bf16 by default).
    A folder path gets `pytorch_lora_weights.safetensors` inside it. Returns the file path."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path.mkdir(parents=True, exist_ok=True)
        path = path / PUBLISHED_FILE_NAME
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    save_file(published_lora_state_dict(transformer, dtype), str(path),
              metadata={"format": "pt", "intrinsix_layout": "published", "branches": ",".join(BRANCHES)})
    return path


# -- stage-1 PEFT layout -------------------------------------------------------------------------


def peft_key(module: str, part: str) -> str:
    """e.g. peft_key('transformer_blocks.0.attn.to_q', 'lora_A')."""
    return f"{PREFIX}{module}.{part}.weight"


def _peft_alpha_rank(metadata: Mapping[str, str], rank: int, where: str) -> float:
    raw = metadata.get("lora_adapter_metadata")
    if not raw:
        return float(rank)
    info = json.loads(raw)
    file_rank = info.get(f"{PREFIX}r", rank)
    if int(file_rank) != rank:
        raise LoraFormatError(f"{where}: metadata says r={file_rank} but lora_A has rank {rank}")
    return float(info.get(f"{PREFIX}lora_alpha", rank))


def load_peft_loras(transformer: nn.Module, sources: Mapping[str | int, Source | None] | Sequence[Source | None]
                    ) -> dict[str, BranchLoRALinear]:
    """Load stage-1 PEFT LoRA files, one per intrinsic, into the branch adapters.

    sources: {branch name or index: file/folder/state dict} or a sequence of 3 in branch order;
    a branch given as None (or left out) gets a zero adapter (its delta is 0).
    Ranks may differ between files: adapters are zero-padded to the largest rank, which leaves
    every delta W unchanged. Each file's alpha / r scale is folded into lora_up.
    Returns {module path: layer}.
    """
    if isinstance(sources, Mapping):
        by_branch: dict[int, Source | None] = {branch_index(k): v for k, v in sources.items()}
    else:
        if isinstance(sources, (str, os.PathLike)) or len(sources) != NUM_BRANCHES:
            raise ValueError(f"sources must be a mapping branch -> file or a sequence of {NUM_BRANCHES} files "
                             f"({', '.join(BRANCHES)}), got {sources!r}")
        by_branch = dict(enumerate(sources))
    shapes = _projection_shapes(transformer)
    loaded: dict[int, tuple[dict[str, torch.Tensor], float]] = {}
    for k, source in sorted(by_branch.items()):
        if source is None:
            continue
        tensors, metadata, where = _read(source, f"{BRANCHES[k]} PEFT LoRA")
        first = peft_key(next(iter(shapes)), "lora_A")
        if first not in tensors:
            _check({first: (0,)}, tensors, where)
        rank = tensors[first].shape[0]
        expected = {}
        for name, (out_features, in_features) in shapes.items():
            expected[peft_key(name, "lora_A")] = (rank, in_features)
            expected[peft_key(name, "lora_B")] = (out_features, rank)
        _check(expected, tensors, where)
        loaded[k] = (tensors, _peft_alpha_rank(metadata, rank, where) / rank)
    if not loaded:
        raise ValueError("load_peft_loras needs at least one file")
    rank = max(t[peft_key(next(iter(shapes)), "lora_A")].shape[0] for t, _ in loaded.values())
    layers = _ensure_layers(transformer, rank, alpha=float(rank))
    for name in shapes:
        for k in range(NUM_BRANCHES):
            layer = layers[name]
            down = torch.zeros(layer.rank, layer.in_features)
            up = torch.zeros(layer.out_features, layer.rank)
            if k in loaded:
                tensors, scale = loaded[k]
                a, b = tensors[peft_key(name, "lora_A")], tensors[peft_key(name, "lora_B")]
                down[:a.shape[0]] = a.float()
                up[:, :b.shape[1]] = b.float() * (scale / layer.scale)
            _store(layers, name, k, down, up)
    _remerge(layers)
    return layers


def save_peft_lora(transformer: nn.Module, branch: str | int, path: str | os.PathLike,
                   dtype: torch.dtype | None = torch.float32) -> Path:
    """Write one branch's adapters as a stage-1 PEFT/diffusers LoRA file (alpha = r recorded in
    the `lora_adapter_metadata`; the layer scale folded into lora_B). Returns the file path."""
    k = branch_index(branch)
    layers = branch_lora_modules(transformer)
    if not layers:
        raise ValueError("the transformer has no BranchLoRALinear layers to save")
    state = {}
    rank = None
    for name in adapted_linear_names(transformer):
        layer = layers[name]
        rank = layer.rank
        a = layer.lora_down[k].detach()
        b = layer.lora_up[k].detach() * layer.scale
        state[peft_key(name, "lora_A")] = a.to(dtype or a.dtype).contiguous().cpu()
        state[peft_key(name, "lora_B")] = b.to(dtype or b.dtype).contiguous().cpu()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": "pt", "lora_adapter_metadata": json.dumps(
        {f"{PREFIX}r": rank, f"{PREFIX}lora_alpha": rank,
         f"{PREFIX}target_modules": sorted(set(DOUBLE_BLOCK_TARGETS) | set(SINGLE_BLOCK_TARGETS))})}
    save_file(state, str(path), metadata=metadata)
    return path


def detect_lora_layout(source: Source) -> str:
    """'published' or 'peft' from a file's keys (raises LoraFormatError for anything else)."""
    tensors, _, where = _read(source, "LoRA")
    keys = list(tensors)
    if any(k.endswith(".lora_down.weight") for k in keys):
        return "published"
    if any(k.endswith(".lora_A.weight") for k in keys):
        return "peft"
    raise LoraFormatError(f"{where} is neither the published IntrinsiX layout (*.<k>.lora_down.weight) nor a "
                          f"PEFT LoRA (*.lora_A.weight); first keys: {_listing(sorted(keys))}")
