"""Cross-intrinsic attention processor vs a plain per-branch concatenation written the obvious way,
vs the published structure, plus branch mixing, triple isolation and CI-dropout."""

import math

import pytest
import torch

from intrinsix.generator import CrossIntrinsicAttnProcessor, add_branch_lora, set_cross_intrinsic_attention
from intrinsix.generator.lora import branch_lora_modules
from intrinsix.generator.reference import PublishedCrossIntrinsicAttnProcessor, add_loop_lora
from intrinsix.generator.tiny import make_tiny_transformer, randomize_branch_lora


def rotate(x, cos, sin):
    """Rotary embedding on consecutive channel pairs (x0, x1) -> (x0 c - x1 s, x1 c + x0 s).
    x: [S, H, D]; cos, sin: [S, D] (each pair's angle repeated twice)."""
    c, s = cos[:, None, 0::2], sin[:, None, 0::2]
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * c - odd * s, odd * c + even * s], dim=-1).flatten(-2)


def attend(q, k, v):
    """softmax(q k^T / sqrt(D)) v per head. q: [Sq, H, D], k/v: [Sk, H, D] -> [Sq, H, D]."""
    scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(q.shape[-1])
    return torch.einsum("hqk,khd->qhd", scores.softmax(dim=-1), v)


class ExplicitConcatProcessor:
    """Cross-intrinsic attention written the obvious way: for each row b, build its key/value list
    by concatenating tensors explicitly, row by row, and run a plain softmax attention."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, image_rotary_emb=None):
        d = attn.head_dim
        cos, sin = image_rotary_emb
        q = attn.norm_q(attn.to_q(hidden_states).unflatten(-1, (-1, d)))
        k = attn.norm_k(attn.to_k(hidden_states).unflatten(-1, (-1, d)))
        v = attn.to_v(hidden_states).unflatten(-1, (-1, d))
        text = 0
        if encoder_hidden_states is not None:
            text = encoder_hidden_states.shape[1]
            tq = attn.norm_added_q(attn.add_q_proj(encoder_hidden_states).unflatten(-1, (-1, d)))
            tk = attn.norm_added_k(attn.add_k_proj(encoder_hidden_states).unflatten(-1, (-1, d)))
            tv = attn.add_v_proj(encoder_hidden_states).unflatten(-1, (-1, d))
        outputs = []
        for b in range(hidden_states.shape[0]):
            triple = [b - b % 3 + j for j in range(3)]
            if encoder_hidden_states is not None:
                # own text + image of branch 0, 1, 2; text first (rotary ids: text, then image)
                q_b = rotate(torch.cat([tq[b], q[b]]), cos, sin)
                keys = [rotate(torch.cat([tk[b], k[b]]), cos, sin)[:text]]
                values = [tv[b]]
                for j in triple:
                    keys.append(rotate(torch.cat([tk[j], k[j]]), cos, sin)[text:])
                    values.append(v[j])
            else:
                q_b = rotate(q[b], cos, sin)
                keys = [rotate(k[j], cos, sin) for j in triple]
                values = [v[j] for j in triple]
            outputs.append(attend(q_b, torch.cat(keys), torch.cat(values)).flatten(-2))
        out = torch.stack(outputs)
        if encoder_hidden_states is None:
            return out
        return attn.to_out[1](attn.to_out[0](out[:, text:])), attn.to_add_out(out[:, :text])


def tiny_model(seed=0):
    transformer = make_tiny_transformer(seed).double().eval()
    add_branch_lora(transformer, rank=4, generator=torch.Generator().manual_seed(seed))
    randomize_branch_lora(transformer, seed=seed + 1)
    return transformer.requires_grad_(False)


@pytest.mark.parametrize("groups", [1, 2])
def test_matches_explicit_per_branch_concatenation(groups, make_inputs):
    transformer = tiny_model()
    inputs = make_inputs(groups=groups)
    set_cross_intrinsic_attention(transformer)
    ours = transformer(**inputs)[0]
    transformer.set_attn_processor(ExplicitConcatProcessor())
    explicit = transformer(**inputs)[0]
    # float64 model, but diffusers' rotary embedding (used by ours) computes in float32 while the
    # explicit version rotates in float64: agreement to ~1e-8; a wrong key set would be off by ~0.1.
    torch.testing.assert_close(ours, explicit, rtol=1e-6, atol=1e-7)


def test_matches_published_structure(make_inputs):
    transformer = tiny_model()
    inputs = make_inputs(groups=1)
    set_cross_intrinsic_attention(transformer)
    ours = transformer(**inputs)[0]
    layers = branch_lora_modules(transformer)
    add_loop_lora(transformer, {n: m.lora_down for n, m in layers.items()}, {n: m.lora_up for n, m in layers.items()})
    transformer.set_attn_processor(PublishedCrossIntrinsicAttnProcessor())
    published = transformer(**inputs)[0]
    torch.testing.assert_close(ours, published, rtol=1e-10, atol=1e-10)


def test_installed_as_attention_processor_on_every_layer():
    transformer = tiny_model()
    processor = set_cross_intrinsic_attention(transformer, dropout_p=0.25)
    processors = transformer.attn_processors
    assert len(processors) == 4 and all(p is processor for p in processors.values())


def test_branches_mix_only_through_cross_attention_and_triples_stay_apart(make_inputs):
    transformer = tiny_model()
    inputs = make_inputs(groups=2)
    poked = dict(inputs, hidden_states=inputs["hidden_states"].clone())
    poked["hidden_states"][1] += 1.0  # change the material branch of triple 0 only
    set_cross_intrinsic_attention(transformer)
    base, changed = transformer(**inputs)[0], transformer(**poked)[0]
    assert (changed[0] - base[0]).abs().max() > 1e-3  # albedo of triple 0 sees the material branch
    torch.testing.assert_close(changed[3:], base[3:], rtol=0, atol=0)  # triple 1 untouched
    set_cross_intrinsic_attention(transformer, enabled=False)
    base, changed = transformer(**inputs)[0], transformer(**poked)[0]
    torch.testing.assert_close(changed[0], base[0], rtol=0, atol=0)  # no mixing without CI


def test_ci_dropout_only_in_training_mode(make_inputs):
    transformer = tiny_model()
    inputs = make_inputs(groups=1)
    set_cross_intrinsic_attention(transformer)
    cross = transformer(**inputs)[0]
    set_cross_intrinsic_attention(transformer, enabled=False)
    plain = transformer(**inputs)[0]
    set_cross_intrinsic_attention(transformer, dropout_p=1.0)
    torch.testing.assert_close(transformer(**inputs)[0], cross, rtol=0, atol=0)  # eval: never dropped
    transformer.train()
    torch.testing.assert_close(transformer(**inputs)[0], plain, rtol=0, atol=0)  # p = 1: always dropped


def test_ci_dropout_rate_per_call():
    processor = CrossIntrinsicAttnProcessor(dropout_p=0.25, generator=torch.Generator().manual_seed(3))
    module = torch.nn.Module().train()
    kept = sum(processor.use_cross(module) for _ in range(4000))
    assert abs(kept / 4000 - 0.75) < 0.03
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\], got 1.5"):
        CrossIntrinsicAttnProcessor(dropout_p=1.5)


def test_rejects_attention_mask_and_bad_batch():
    transformer = tiny_model()
    set_cross_intrinsic_attention(transformer)
    attn = transformer.single_transformer_blocks[0].attn
    x = torch.randn(3, 5, 32, dtype=torch.float64)
    with pytest.raises(ValueError, match="attention_mask"):
        attn.processor(attn, x, attention_mask=torch.ones(3, 5))
    with pytest.raises(ValueError, match="multiple of 3"):
        attn.processor(attn, torch.randn(2, 5, 32, dtype=torch.float64))
