"""Per-branch LoRA: batched layer vs the per-branch formula and the loop twin, merged mode, fusion,
and that the branches are batched (no Python loop over branches)."""

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from intrinsix.generator import (
    BranchLoRALinear,
    adapted_linear_names,
    add_branch_lora,
    branch_lora_modules,
    branch_lora_parameters,
    fuse_branch_qkv,
    merge_branch_lora,
    remove_branch_lora,
    set_branch_ids,
    unmerge_branch_lora,
)
from intrinsix.generator.reference import LoopBranchLoRALinear, _BranchAdapter
from intrinsix.generator.tiny import make_tiny_transformer, randomize_branch_lora


def random_layer(in_features=12, out_features=10, rank=3, alpha=None, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    base = nn.Linear(in_features, out_features).to(dtype)
    layer = BranchLoRALinear.from_linear(base, rank=rank, alpha=alpha, generator=g)
    with torch.no_grad():
        layer.lora_up.copy_(torch.randn(layer.lora_up.shape, generator=g, dtype=dtype))
    return base, layer.eval()


def per_branch_formula(base, layer, x):
    """out[i] = W x[i] + b + scale * up_k down_k x[i], k = i % 3, one row at a time."""
    rows = []
    for i in range(x.shape[0]):
        k = i % 3
        delta = (x[i] @ layer.lora_down[k].T) @ layer.lora_up[k].T
        rows.append(base(x[i]) + layer.scale * delta)
    return torch.stack(rows)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("alpha", [None, 6.0])
def test_batched_delta_matches_per_branch_formula(groups, alpha):
    base, layer = random_layer(alpha=alpha)
    x = torch.randn(3 * groups, 5, 12, dtype=torch.float64)
    expected = per_branch_formula(base, layer, x)
    # float64 throughout: only summation order differs, so agreement is to ~1e-14.
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)
    assert layer.scale == (alpha or 3) / 3


def test_matches_loop_twin_forward_and_backward():
    base, layer = random_layer()
    adapters = [_BranchAdapter(layer.lora_down[k], layer.lora_up[k], layer.scale) for k in range(3)]
    twin = LoopBranchLoRALinear(base, adapters)
    x = torch.randn(6, 4, 12, dtype=torch.float64)
    cotangent = torch.randn(6, 4, 10, dtype=torch.float64)
    ours = layer(x)
    v_down, v_up = torch.autograd.grad(ours, (layer.lora_down, layer.lora_up), cotangent)
    theirs = twin(x)
    grads = torch.autograd.grad(theirs, [p for a in adapters for p in (a.lora_down.weight, a.lora_up.weight)], cotangent)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    for k in range(3):
        torch.testing.assert_close(v_down[k], grads[2 * k], rtol=1e-11, atol=1e-11)
        torch.testing.assert_close(v_up[k], grads[2 * k + 1], rtol=1e-11, atol=1e-11)
    assert layer.weight.grad is None and not layer.weight.requires_grad


class CountOps(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("merged", [False, True])
def test_one_base_gemm_and_batched_branch_products(merged):
    """The branches are handled by batched products: the op count does not grow with the branches."""
    _, layer = random_layer()
    if merged:
        layer.merge()
    x = torch.randn(3, 7, 12, dtype=torch.float64)
    with CountOps() as ops:
        layer(x)
    matmuls = [n for n in ops.names if n in ("linear", "bmm", "baddbmm", "matmul", "mm", "addmm", "einsum")]
    if merged:
        assert matmuls == ["bmm"]
    else:
        assert matmuls == ["linear", "bmm", "baddbmm"]


def test_merged_equals_unmerged_and_unmerge_restores():
    _, layer = random_layer()
    x = torch.randn(6, 4, 12, dtype=torch.float64)
    before = layer(x)
    layer.merge()
    assert layer.merged and layer.merged_weight.shape == (3, 10, 12)
    torch.testing.assert_close(layer(x), before, rtol=1e-12, atol=1e-12)
    for k in range(3):
        torch.testing.assert_close(layer.merged_weight[k], layer.effective_weight(k).double(), rtol=1e-6, atol=1e-7)
    layer.unmerge()
    assert not layer.merged
    torch.testing.assert_close(layer(x), before, rtol=0, atol=0)


def test_merged_layer_refuses_training():
    _, layer = random_layer()
    layer.merge()
    layer.train()
    with pytest.raises(RuntimeError, match="unmerge"):
        layer(torch.randn(3, 2, 12, dtype=torch.float64))


def test_branch_ids_pin_rows_to_one_branch():
    base, layer = random_layer()
    x = torch.randn(2, 4, 12, dtype=torch.float64)
    layer.branch_ids = torch.tensor([1, 1])
    expected = torch.stack([base(x[i]) + layer.scale * (x[i] @ layer.lora_down[1].T) @ layer.lora_up[1].T
                            for i in range(2)])
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)
    layer.merge()
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_bad_batch_and_rank_errors():
    _, layer = random_layer()
    with pytest.raises(ValueError, match="multiple of 3.*got 4"):
        layer(torch.randn(4, 2, 12, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"rank must be an integer in \[1, 10\].*got 11"):
        BranchLoRALinear.from_linear(nn.Linear(12, 10), rank=11)


def test_add_branch_lora_targets_exactly_the_reference_projections():
    transformer = make_tiny_transformer(0)
    layers = add_branch_lora(transformer, rank=4)
    # 2 double blocks x (to_q, to_k, to_v, to_out.0) + 2 single blocks x (to_q, to_k, to_v)
    assert list(layers) == adapted_linear_names(transformer)
    assert len(layers) == 2 * 4 + 2 * 3
    assert "transformer_blocks.0.attn.to_out.0" in layers
    assert not any("add_" in name or "proj_mlp" in name for name in layers)
    # Text-stream projections stay plain linears.
    assert type(transformer.transformer_blocks[0].attn.add_q_proj) is nn.Linear
    assert all(isinstance(transformer.get_submodule(n), BranchLoRALinear) for n in layers)
    params = branch_lora_parameters(transformer)
    assert len(params) == 2 * len(layers) and all(p.requires_grad for p in params)
    # Fresh adapters are the identity (up = 0), down ~ N(0, 1/r).
    assert all(float(layer.lora_up.detach().abs().max()) == 0 for layer in layers.values())
    with pytest.raises(ValueError, match="already has"):
        add_branch_lora(transformer)
    remove_branch_lora(transformer)
    assert not branch_lora_modules(transformer)
    assert type(transformer.transformer_blocks[0].attn.to_q) is nn.Linear


def test_full_model_branch_counts_for_flux_dev():
    """190 adapted linears and 74.7 M adapter parameters per branch at FLUX.1-dev size (meta device)."""
    from diffusers import FluxTransformer2DModel

    with torch.device("meta"):
        transformer = FluxTransformer2DModel(guidance_embeds=True)
    layers = add_branch_lora(transformer, rank=64)
    assert len(layers) == 190
    per_branch = sum(layer.lora_down[0].numel() + layer.lora_up[0].numel() for layer in layers.values())
    assert per_branch == 74_711_040  # 190 x 64 x (3072 + 3072): 74.7 M (224 M for the three branches)


def test_fusion_keeps_outputs_and_shares_storage(make_inputs):
    transformer = make_tiny_transformer(0).double()
    add_branch_lora(transformer, rank=4)
    randomize_branch_lora(transformer, seed=1)
    inputs = make_inputs(groups=2)
    with torch.no_grad():
        before = transformer(**inputs)[0]
        merge_branch_lora(transformer)
        assert fuse_branch_qkv(transformer) == 4  # 2 double + 2 single attention layers
        fused = transformer(**inputs)[0]
    attn = transformer.transformer_blocks[0].attn
    assert attn.branch_qkv.weight.shape == (3, 3 * 32, 32)
    assert attn.to_k.merged_weight.untyped_storage().data_ptr() == attn.branch_qkv.weight.untyped_storage().data_ptr()
    torch.testing.assert_close(fused, before, rtol=1e-10, atol=1e-10)
    unmerge_branch_lora(transformer)
    assert not hasattr(attn, "branch_qkv")
    set_branch_ids(transformer, None)
    with pytest.raises(ValueError, match=r"values must lie in \[0, 2\]"):
        set_branch_ids(transformer, torch.tensor([0, 3]))
