"""Inference-time fusion of the merged per-branch q/k/v projections of each attention layer.

After `merge_branch_lora`, the three adapted projections to_q, to_k, to_v of an attention layer
read the same input. `fuse_branch_qkv` concatenates their merged weights into one
[3, 3 * out, in] tensor per layer (the per-projection merged weights become views into it, so no
memory is added) and attaches a `BranchFusedQKV` module as `attn.branch_qkv`; the
cross-intrinsic attention processor then computes q, k and v of all branches with ONE batched
GEMM instead of three. `unfuse_branch_qkv` removes it again.
"""

from __future__ import annotations

import torch
from torch import nn

from .branches import NUM_BRANCHES, num_groups
from .lora import FUSED_QKV_ATTRIBUTE, BranchLoRALinear


class BranchFusedQKV(nn.Module):
    """q, k, v of every branch with one batched GEMM.

    weight: [3, 3 * out, in] merged per-branch weights (q rows, then k, then v); bias: [3 * out] or None.
    """

    def __init__(self, q: BranchLoRALinear, k: BranchLoRALinear, v: BranchLoRALinear):
        super().__init__()
        layers = (q, k, v)
        for name, layer in zip("qkv", layers):
            if not isinstance(layer, BranchLoRALinear) or not layer.merged:
                raise ValueError(f"to_{name} must be a merged BranchLoRALinear (call merge_branch_lora first), "
                                 f"got {type(layer).__name__}")
            if layer.branch_ids is not None:
                raise ValueError("fused projections need the cyclic branch layout (branch_ids must be None)")
        self.out_features = q.out_features
        weight = torch.cat([layer.merged_weight for layer in layers], dim=1)  # [3, 3*out, in]
        self.register_buffer("weight", weight, persistent=False)
        has_bias = [layer.bias is not None for layer in layers]
        if any(has_bias) and not all(has_bias):
            raise ValueError("to_q, to_k and to_v must all have a bias or none")
        bias = torch.cat([layer.bias for layer in layers]) if all(has_bias) else None
        self.register_buffer("bias", bias, persistent=False)
        # The separate layers keep working, now on views of the fused storage (no duplicate memory).
        for j, layer in enumerate(layers):
            layer.merged_weight = weight[:, j * self.out_features:(j + 1) * self.out_features]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: [3G, T, in] (cyclic branch layout) -> q, k, v each [3G, T, out]."""
        groups = num_groups(x.shape[0], "fused q/k/v input batch")
        tokens, channels = x.shape[1], x.shape[2]
        if groups == 1:
            out = torch.bmm(x, self.weight.transpose(1, 2))
        else:
            rows = x.view(groups, NUM_BRANCHES, tokens, channels).transpose(0, 1).reshape(NUM_BRANCHES, -1, channels)
            out = torch.bmm(rows, self.weight.transpose(1, 2))
            out = out.view(NUM_BRANCHES, groups, tokens, -1).transpose(0, 1).reshape(groups * NUM_BRANCHES, tokens, -1)
        if self.bias is not None:
            out = out + self.bias
        return out.split(self.out_features, dim=-1)


def fuse_branch_qkv(transformer: nn.Module) -> int:
    """Attach a BranchFusedQKV to every attention layer whose to_q/to_k/to_v are merged branch LoRA
    layers. Returns the number of fused layers."""
    count = 0
    for module in list(transformer.modules()):
        if not all(isinstance(getattr(module, n, None), BranchLoRALinear) for n in ("to_q", "to_k", "to_v")):
            continue
        if not all(getattr(module, n).merged for n in ("to_q", "to_k", "to_v")):
            raise ValueError("fuse_branch_qkv needs merged layers: call merge_branch_lora(transformer) first")
        module.add_module(FUSED_QKV_ATTRIBUTE, BranchFusedQKV(module.to_q, module.to_k, module.to_v))
        count += 1
    if count == 0:
        raise ValueError("no attention layer with BranchLoRALinear to_q/to_k/to_v found")
    return count


def unfuse_branch_qkv(transformer: nn.Module) -> None:
    """Remove the fused projections (the merged per-projection weights stay valid)."""
    for module in transformer.modules():
        if isinstance(getattr(module, FUSED_QKV_ATTRIBUTE, None), BranchFusedQKV):
            for name in ("to_q", "to_k", "to_v"):
                layer = getattr(module, name)
                if layer.merged:
                    layer.merged_weight = layer.merged_weight.contiguous()
            delattr(module, FUSED_QKV_ATTRIBUTE)
