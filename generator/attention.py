"""Cross-intrinsic attention: the three branches attend to each other's keys and values.

An attention-processor class for diffusers' `FluxAttention` (installed with the transformer's
`set_attn_processor`, see `set_cross_intrinsic_attention`). Parameter-free (REFERENCE §1):

- queries stay per branch;
- double-stream blocks: branch b attends to [its own text keys, image keys of branches 0, 1, 2];
- single-stream blocks: every branch attends to the full (text + image) sequences of all three
  branches concatenated;
- rotary embeddings use the SAME position ids for every branch (applied per branch before the
  concatenation), which keeps the three images pixel-aligned;
- "CI-dropout" for stage-2 training: while the attention module is in training mode, each layer
  call skips the concatenation (plain per-branch attention) with probability `dropout_p`; never
  in eval mode.

Batch rows follow the cyclic branch layout of `branches.py`; a batch of 3G rows is G independent
triples (no attention across triples). The single-block case needs no copy at all: the G triples
are reshaped into G rows of 3x the sequence length and run as ONE attention call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import apply_rotary_emb
from torch import nn

from .branches import NUM_BRANCHES, num_groups
from .lora import FUSED_QKV_ATTRIBUTE


def _sdpa(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
          backends: Sequence | None) -> torch.Tensor:
    """query [N, Sq, H, D], key/value [N, Sk, H, D] -> [N, Sq, H, D] (no mask, no dropout)."""
    context = contextlib.nullcontext()
    if backends is not None:
        from torch.nn.attention import sdpa_kernel

        context = sdpa_kernel(list(backends))
    with context:
        out = F.scaled_dot_product_attention(query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2))
    return out.transpose(1, 2)


def image_stream_keys(
    key: torch.Tensor,  # [3G, Tt + Ti, H, D] text tokens first, then image tokens
    text_tokens: int,
) -> torch.Tensor:  # [3G, Tt + 3 * Ti, H, D]
    """Double-block key (or value) set of every branch: its own text tokens followed by the image
    tokens of branches 0, 1, 2 of its triple."""
    batch, seq, heads, dim = key.shape
    groups = num_groups(batch, "attention batch")
    image_tokens = seq - text_tokens
    text = key[:, :text_tokens].reshape(groups, NUM_BRANCHES, text_tokens, heads, dim)
    images = key[:, text_tokens:].reshape(groups, 1, NUM_BRANCHES * image_tokens, heads, dim)
    images = images.expand(groups, NUM_BRANCHES, NUM_BRANCHES * image_tokens, heads, dim)
    return torch.cat([text, images], dim=2).reshape(batch, text_tokens + NUM_BRANCHES * image_tokens, heads, dim)


class CrossIntrinsicAttnProcessor:
    """Attention processor for the Flux double- and single-stream attention layers (see module doc).

    dropout_p: probability in [0, 1] that a layer call skips the cross-branch concatenation while
        the attention module is in training mode (REFERENCE: 0.25 in stage 2); ignored in eval mode.
    enabled: False -> plain per-branch attention always (stage-1 training, no cross attention).
    sdpa_backends: optional list of `torch.nn.attention.SDPBackend` to restrict
        `scaled_dot_product_attention` to (e.g. [SDPBackend.CUDNN_ATTENTION]); None = PyTorch's choice.
    generator: optional torch.Generator (CPU) for the dropout draws (reproducible training).
    """

    def __init__(self, dropout_p: float = 0.0, enabled: bool = True, sdpa_backends: Sequence | None = None,
                 generator: torch.Generator | None = None):
        if not 0.0 <= float(dropout_p) <= 1.0:
            raise ValueError(f"dropout_p must be in [0, 1], got {dropout_p}")
        self.dropout_p = float(dropout_p)
        self.enabled = bool(enabled)
        self.sdpa_backends = None if sdpa_backends is None else tuple(sdpa_backends)
        self.generator = generator

    def use_cross(self, attn: nn.Module) -> bool:
        """Whether this call concatenates the branches (False: plain per-branch attention)."""
        if not self.enabled:
            return False
        if attn.training and self.dropout_p > 0.0:
            draw = torch.rand((), generator=self.generator) if self.generator is not None else torch.rand(())
            return bool(draw >= self.dropout_p)
        return True

    def __call__(
        self,
        attn: nn.Module,  # diffusers FluxAttention
        hidden_states: torch.Tensor,  # [3G, Ti, C] image stream (double) or [3G, Tt + Ti, C] (single)
        encoder_hidden_states: torch.Tensor | None = None,  # [3G, Tt, C] text stream (double blocks only)
        attention_mask: torch.Tensor | None = None,
        image_rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None,  # cos, sin [Tt + Ti, D]
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if attention_mask is not None:
            raise ValueError("CrossIntrinsicAttnProcessor does not support attention_mask (Flux uses none)")
        batch = hidden_states.shape[0]
        groups = num_groups(batch, "attention batch")
        head_dim = attn.head_dim

        fused = getattr(attn, FUSED_QKV_ATTRIBUTE, None)
        if fused is not None:
            query, key, value = fused(hidden_states)
        else:
            query, key, value = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        query = attn.norm_q(query.unflatten(-1, (-1, head_dim)))  # [3G, T, H, D]
        key = attn.norm_k(key.unflatten(-1, (-1, head_dim)))
        value = value.unflatten(-1, (-1, head_dim))

        text_tokens = 0
        if encoder_hidden_states is not None:
            text_tokens = encoder_hidden_states.shape[1]
            text_query = attn.norm_added_q(attn.add_q_proj(encoder_hidden_states).unflatten(-1, (-1, head_dim)))
            text_key = attn.norm_added_k(attn.add_k_proj(encoder_hidden_states).unflatten(-1, (-1, head_dim)))
            text_value = attn.add_v_proj(encoder_hidden_states).unflatten(-1, (-1, head_dim))
            query = torch.cat([text_query, query], dim=1)
            key = torch.cat([text_key, key], dim=1)
            value = torch.cat([text_value, value], dim=1)

        if image_rotary_emb is not None:
            # Same rotary ids for every branch: applied per branch, before any concatenation.
            query = apply_rotary_emb(query, image_rotary_emb, sequence_dim=1)
            key = apply_rotary_emb(key, image_rotary_emb, sequence_dim=1)

        seq = query.shape[1]
        if not self.use_cross(attn):
            out = _sdpa(query, key, value, self.sdpa_backends)
        elif encoder_hidden_states is None:
            # Single block: each triple becomes one row of 3x the sequence (a view, no copy); every
            # query of the triple sees the keys of all three branches.
            def rows(t):
                return t.reshape(groups, NUM_BRANCHES * seq, t.shape[2], head_dim)

            out = _sdpa(rows(query), rows(key), rows(value), self.sdpa_backends).reshape(batch, seq, -1, head_dim)
        else:
            out = _sdpa(query, image_stream_keys(key, text_tokens), image_stream_keys(value, text_tokens),
                        self.sdpa_backends)
        out = out.flatten(2, 3).to(query.dtype)  # [3G, T, H*D]

        if encoder_hidden_states is None:
            return out
        text_out, image_out = out[:, :text_tokens], out[:, text_tokens:]
        image_out = attn.to_out[1](attn.to_out[0](image_out.contiguous()))
        text_out = attn.to_add_out(text_out.contiguous())
        return image_out, text_out


def set_cross_intrinsic_attention(
    transformer: nn.Module,
    dropout_p: float = 0.0,
    enabled: bool = True,
    sdpa_backends: Sequence | None = None,
    generator: torch.Generator | None = None,
) -> CrossIntrinsicAttnProcessor:
    """Install one CrossIntrinsicAttnProcessor on every attention layer of a FluxTransformer2DModel
    (through `set_attn_processor`). The processor is shared, the dropout draw is per layer call."""
    processor = CrossIntrinsicAttnProcessor(dropout_p=dropout_p, enabled=enabled, sdpa_backends=sdpa_backends,
                                            generator=generator)
    transformer.set_attn_processor(processor)
    return processor
