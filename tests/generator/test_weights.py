"""LoRA files: published three-branch layout and stage-1 PEFT files, written here in the exact key
layouts; the loaded model must equal W + up @ down exactly; bad files name the offending keys."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from intrinsix.generator import (
    LoraFormatError,
    adapted_linear_names,
    add_branch_lora,
    branch_lora_modules,
    detect_lora_layout,
    load_peft_loras,
    load_published_lora,
    merge_branch_lora,
    save_peft_lora,
    save_published_lora,
)
from intrinsix.generator.tiny import make_tiny_transformer, randomize_branch_lora


def published_file(path, transformer, rank=4, seed=0, dtype=torch.bfloat16):
    """A published-layout file for `transformer`, built key by key from REFERENCE §2."""
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name in adapted_linear_names(transformer):
        linear = transformer.get_submodule(name)
        for k in range(3):
            tensors[f"transformer.{name}.{k}.lora_down.weight"] = torch.randn(rank, linear.in_features, generator=g).to(dtype)
            tensors[f"transformer.{name}.{k}.lora_up.weight"] = torch.randn(linear.out_features, rank, generator=g).to(dtype)
    save_file(tensors, str(path))
    return tensors


def peft_file(path, transformer, rank, seed, alpha=None):
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name in adapted_linear_names(transformer):
        linear = transformer.get_submodule(name)
        tensors[f"transformer.{name}.lora_A.weight"] = torch.randn(rank, linear.in_features, generator=g)
        tensors[f"transformer.{name}.lora_B.weight"] = torch.randn(linear.out_features, rank, generator=g)
    metadata = {"format": "pt"}
    if alpha is not None:
        metadata["lora_adapter_metadata"] = json.dumps({"transformer.r": rank, "transformer.lora_alpha": alpha})
    save_file(tensors, str(path), metadata=metadata)
    return tensors


def test_published_layout_loads_exactly(tmp_path):
    transformer = make_tiny_transformer(0)
    base = {n: transformer.get_submodule(n).weight.detach().clone() for n in adapted_linear_names(transformer)}
    tensors = published_file(tmp_path / "pytorch_lora_weights.safetensors", transformer)
    assert len(tensors) == 14 * 3 * 2
    layers = load_published_lora(transformer, tmp_path)  # a folder holding the file works too
    assert set(layers) == set(base)
    for name, layer in layers.items():
        assert layer.rank == 4 and layer.scale == 1.0
        for k in range(3):
            up = tensors[f"transformer.{name}.{k}.lora_up.weight"].float()
            down = tensors[f"transformer.{name}.{k}.lora_down.weight"].float()
            assert torch.equal(layer.effective_weight(k), base[name].float() + up @ down)


def test_published_saver_round_trip_and_key_layout(tmp_path):
    transformer = make_tiny_transformer(0)
    add_branch_lora(transformer, rank=4, alpha=8.0)  # scale 2: folded into lora_up in the file
    randomize_branch_lora(transformer, seed=3)
    path = save_published_lora(transformer, tmp_path / "out", dtype=torch.float32)
    assert path.name == "pytorch_lora_weights.safetensors"
    saved = load_file(str(path))
    assert len(saved) == 84
    assert saved["transformer.transformer_blocks.1.attn.to_out.0.2.lora_up.weight"].shape == (32, 4)
    assert saved["transformer.single_transformer_blocks.0.attn.to_v.1.lora_down.weight"].shape == (4, 32)
    reloaded = make_tiny_transformer(0)
    load_published_lora(reloaded, path)
    originals = branch_lora_modules(transformer)
    for name, layer in branch_lora_modules(reloaded).items():
        for k in range(3):
            torch.testing.assert_close(layer.effective_weight(k), originals[name].effective_weight(k),
                                       rtol=1e-6, atol=1e-6)
    assert detect_lora_layout(path) == "published"


def test_published_load_refreshes_merged_weights(tmp_path):
    transformer = make_tiny_transformer(0)
    add_branch_lora(transformer, rank=4)
    merge_branch_lora(transformer)
    tensors = published_file(tmp_path / "l.safetensors", transformer, dtype=torch.float32)
    load_published_lora(transformer, tmp_path / "l.safetensors")
    layer = transformer.transformer_blocks[0].attn.to_q
    name = "transformer_blocks.0.attn.to_q"
    expected = layer.weight + tensors[f"transformer.{name}.2.lora_up.weight"] @ tensors[f"transformer.{name}.2.lora_down.weight"]
    torch.testing.assert_close(layer.merged_weight[2], expected, rtol=1e-6, atol=1e-6)


def test_published_errors_name_keys_and_shapes(tmp_path):
    transformer = make_tiny_transformer(0)
    tensors = published_file(tmp_path / "good.safetensors", transformer)
    bad = dict(tensors)
    del bad["transformer.single_transformer_blocks.1.attn.to_k.2.lora_up.weight"]
    bad["transformer.transformer_blocks.0.attn.add_q_proj.0.lora_down.weight"] = torch.zeros(4, 32)
    bad["transformer.transformer_blocks.0.attn.to_v.1.lora_up.weight"] = torch.zeros(31, 4)
    save_file(bad, str(tmp_path / "bad.safetensors"))
    with pytest.raises(LoraFormatError) as info:
        load_published_lora(make_tiny_transformer(0), tmp_path / "bad.safetensors")
    message = str(info.value)
    assert "1 missing keys: transformer.single_transformer_blocks.1.attn.to_k.2.lora_up.weight" in message
    assert "1 unexpected keys: transformer.transformer_blocks.0.attn.add_q_proj.0.lora_down.weight" in message
    assert "transformer.transformer_blocks.0.attn.to_v.1.lora_up.weight: expected shape [32, 4], got [31, 4]" in message
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_published_lora(make_tiny_transformer(0), tmp_path / "missing.safetensors")


def test_peft_files_load_exactly_one_per_branch(tmp_path):
    transformer = make_tiny_transformer(0)
    base = {n: transformer.get_submodule(n).weight.detach().clone() for n in adapted_linear_names(transformer)}
    files = {b: tmp_path / f"{b}.safetensors" for b in ("albedo", "material", "normal")}
    tensors = {b: peft_file(p, transformer, rank=4, seed=i) for i, (b, p) in enumerate(files.items())}
    layers = load_peft_loras(transformer, files)
    for name, layer in layers.items():
        for k, b in enumerate(files):
            expected = base[name] + tensors[b][f"transformer.{name}.lora_B.weight"] @ tensors[b][f"transformer.{name}.lora_A.weight"]
            assert torch.equal(layer.effective_weight(k), expected)
    assert detect_lora_layout(files["albedo"]) == "peft"


def test_peft_mixed_ranks_alpha_and_missing_branch(tmp_path):
    transformer = make_tiny_transformer(0)
    base = {n: transformer.get_submodule(n).weight.detach().clone() for n in adapted_linear_names(transformer)}
    albedo = peft_file(tmp_path / "a.safetensors", transformer, rank=2, seed=1, alpha=4)  # scale 2
    normal = peft_file(tmp_path / "n.safetensors", transformer, rank=4, seed=2)
    layers = load_peft_loras(transformer, [tmp_path / "a.safetensors", None, tmp_path / "n.safetensors"])
    name = "single_transformer_blocks.1.attn.to_q"
    layer = layers[name]
    assert layer.rank == 4  # padded to the largest rank
    a, b = albedo[f"transformer.{name}.lora_A.weight"], albedo[f"transformer.{name}.lora_B.weight"]
    torch.testing.assert_close(layer.effective_weight(0), base[name] + 2.0 * b @ a, rtol=1e-6, atol=1e-6)
    assert torch.equal(layer.effective_weight(1), base[name])  # no material file: zero delta
    a, b = normal[f"transformer.{name}.lora_A.weight"], normal[f"transformer.{name}.lora_B.weight"]
    assert torch.equal(layer.effective_weight(2), base[name] + b @ a)


def test_peft_saver_round_trip(tmp_path):
    transformer = make_tiny_transformer(0)
    add_branch_lora(transformer, rank=4)
    randomize_branch_lora(transformer, seed=5)
    paths = [save_peft_lora(transformer, b, tmp_path / f"{b}.safetensors") for b in ("albedo", "material", "normal")]
    keys = set(load_file(str(paths[0])))
    assert "transformer.transformer_blocks.0.attn.to_out.0.lora_A.weight" in keys and len(keys) == 28
    other = make_tiny_transformer(0)
    load_peft_loras(other, paths)
    for name, layer in branch_lora_modules(other).items():
        for k in range(3):
            torch.testing.assert_close(layer.effective_weight(k),
                                       branch_lora_modules(transformer)[name].effective_weight(k))


def test_peft_errors(tmp_path):
    transformer = make_tiny_transformer(0)
    tensors = peft_file(tmp_path / "a.safetensors", transformer, rank=4, seed=0)
    tensors["transformer.transformer_blocks.1.attn.to_q.lora_B.weight"] = torch.zeros(32, 3)
    save_file(tensors, str(tmp_path / "bad.safetensors"))
    with pytest.raises(LoraFormatError, match=r"to_q.lora_B.weight: expected shape \[32, 4\], got \[32, 3\]"):
        load_peft_loras(transformer, {"albedo": tmp_path / "bad.safetensors"})
    with pytest.raises(ValueError, match="branch must be one of"):
        load_peft_loras(transformer, {"roughness": tmp_path / "a.safetensors"})
    with pytest.raises(ValueError, match="sequence of 3"):
        load_peft_loras(transformer, [tmp_path / "a.safetensors"])
    save_file({"foo.weight": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(LoraFormatError, match="neither the published IntrinsiX layout"):
        detect_lora_layout(tmp_path / "other.safetensors")
