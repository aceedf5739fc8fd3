"""Plain twins of the fast generator modules, written the way the published IntrinsiX code is
structured. Used by the tests (same outputs as ours) and by bench/generate.py (the baseline).

- `LoopBranchLoRALinear`: the per-branch LoRA as a Python loop over the batch rows; each row runs
  the base projection plus its own adapter separately, then the rows are concatenated.
- `PublishedCrossIntrinsicAttnProcessor`: the cross-intrinsic attention with the keys/values of
  the whole batch rearranged into one row and repeated for every branch, the rotary embedding
  repeated to match, in the [B, H, S, D] layout; eager, default `scaled_dot_product_attention`.
  Like the published code it treats the whole batch as ONE branch triple (batch must be 3).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import apply_rotary_emb
from torch import nn

from .branches import NUM_BRANCHES
from .lora import BranchLoRALinear, _replace_module, adapted_linear_names


class _BranchAdapter(nn.Module):
    """One branch's adapter: lora_down [r, in] then lora_up [out, r] (published module layout)."""

    def __init__(self, down: torch.Tensor, up: torch.Tensor, scale: float):
        super().__init__()
        self.lora_down = nn.Linear(down.shape[1], down.shape[0], bias=False, device="meta")
        self.lora_up = nn.Linear(up.shape[1], up.shape[0], bias=False, device="meta")
        self.lora_down.weight = nn.Parameter(down.detach().clone())
        self.lora_up.weight = nn.Parameter(up.detach().clone())
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lora_up(self.lora_down(x)) * self.scale


class LoopBranchLoRALinear(nn.Module):
    """Per-branch LoRA evaluated row by row: out[i] = base(x[i]) + adapter[i % 3](x[i])."""

    def __init__(self, base: nn.Linear, adapters: list[_BranchAdapter]):
        super().__init__()
        self.base = base
        self.adapters = nn.ModuleList(adapters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, in] -> [B, T, out]
        rows = [self.base(x[i:i + 1]) + self.adapters[i % NUM_BRANCHES](x[i:i + 1]) for i in range(x.shape[0])]
        return torch.cat(rows, dim=0)


def add_loop_lora(transformer: nn.Module, lora_down: dict[str, torch.Tensor], lora_up: dict[str, torch.Tensor],
                  scale: float = 1.0) -> None:
    """Install LoopBranchLoRALinear layers. lora_down[name]: [3, r, in], lora_up[name]: [3, out, r]
    for every adapted projection name (see lora.adapted_linear_names)."""
    for name in adapted_linear_names(transformer):
        base = transformer.get_submodule(name)
        if isinstance(base, BranchLoRALinear):
            base = base.to_linear()
        adapters = [_BranchAdapter(lora_down[name][k], lora_up[name][k], scale) for k in range(NUM_BRANCHES)]
        _replace_module(transformer, name, LoopBranchLoRALinear(base, adapters))


class PublishedCrossIntrinsicAttnProcessor:
    """Cross-intrinsic attention, published structure (see module docstring). Batch must be 3."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, image_rotary_emb=None):
        batch = hidden_states.shape[0]
        if batch != NUM_BRANCHES:
            raise ValueError(f"the published structure handles one branch triple: batch must be 3, got {batch}")
        heads = attn.heads

        def split_heads(t):  # [B, S, H*D] -> [B, H, S, D]
            return t.view(batch, -1, heads, attn.head_dim).transpose(1, 2)

        query = attn.norm_q(split_heads(attn.to_q(hidden_states)))
        key = attn.norm_k(split_heads(attn.to_k(hidden_states)))
        value = split_heads(attn.to_v(hidden_states))

        # Keys and values of all branches in one row, repeated for every branch.
        key = key.transpose(0, 1).reshape(1, heads, -1, attn.head_dim).repeat(batch, 1, 1, 1)
        value = value.transpose(0, 1).reshape(1, heads, -1, attn.head_dim).repeat(batch, 1, 1, 1)
        if encoder_hidden_states is not None:
            text_tokens = encoder_hidden_states.shape[1]
            key_rope = tuple(torch.cat([e[:text_tokens]] + [e[text_tokens:]] * batch, dim=0) for e in image_rotary_emb)
            text_query = attn.norm_added_q(split_heads(attn.add_q_proj(encoder_hidden_states)))
            text_key = attn.norm_added_k(split_heads(attn.add_k_proj(encoder_hidden_states)))
            text_value = split_heads(attn.add_v_proj(encoder_hidden_states))
            query = torch.cat([text_query, query], dim=2)
            key = torch.cat([text_key, key], dim=2)
            value = torch.cat([text_value, value], dim=2)
        else:
            key_rope = tuple(e.repeat(batch, 1) for e in image_rotary_emb)

        query = apply_rotary_emb(query, image_rotary_emb)
        key = apply_rotary_emb(key, key_rope)
        out = F.scaled_dot_product_attention(query, key, value)
        out = out.transpose(1, 2).reshape(batch, -1, heads * attn.head_dim).to(query.dtype)

        if encoder_hidden_states is None:
            return out
        text_out, image_out = out[:, :encoder_hidden_states.shape[1]], out[:, encoder_hidden_states.shape[1]:]
        return attn.to_out[1](attn.to_out[0](image_out)), attn.to_add_out(text_out)
