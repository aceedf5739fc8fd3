"""load_pipeline from local folders: diffusers pipeline folders (ours and FluxPipeline's layout),
component folders without model_index.json, published and PEFT LoRA files, merged mode."""

import json

import pytest
import torch

from intrinsix.generator import (
    IntrinsiXPipeline,
    branch_lora_modules,
    detect_model_layout,
    load_pipeline,
    make_tiny_components,
    save_peft_lora,
    save_published_lora,
)
from intrinsix.generator.attention import CrossIntrinsicAttnProcessor
from intrinsix.generator.tiny import make_tiny_pipeline


@pytest.fixture(scope="module")
def reference():
    """The in-memory tiny pipeline (LoRA + CI attention) and its output for a fixed seed."""
    pipe = make_tiny_pipeline(0)
    pipe.set_progress_bar_config(disable=True)
    return pipe, generate(pipe)


def generate(pipe):
    pipe.set_progress_bar_config(disable=True)
    return pipe("weathered oak planks", height=64, width=64, num_inference_steps=2,
                generator=torch.Generator().manual_seed(4))


def save_base(tmp_path, pipe_cls=IntrinsiXPipeline):
    """Write the plain tiny components (no LoRA) as a diffusers pipeline folder."""
    folder = tmp_path / "model"
    pipe_cls(**make_tiny_components(0)).save_pretrained(str(folder))
    return folder


def test_pipeline_folder_plus_published_lora_reproduces_the_model(tmp_path, reference):
    pipe, expected = reference
    folder = save_base(tmp_path)
    lora = save_published_lora(pipe.transformer, tmp_path / "lora.safetensors", dtype=torch.float32)
    assert detect_model_layout(folder) == "pipeline"
    loaded = load_pipeline(folder, lora_path=lora)
    assert isinstance(loaded, IntrinsiXPipeline)
    assert all(isinstance(p, CrossIntrinsicAttnProcessor) for p in loaded.transformer.attn_processors.values())
    assert not any(p.requires_grad for p in loaded.transformer.parameters())
    out = generate(loaded)
    torch.testing.assert_close(out.latents, expected.latents, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.albedo, expected.albedo, rtol=1e-4, atol=1e-4)


def test_lora_file_inside_the_model_folder_is_found(tmp_path, reference):
    pipe, expected = reference
    folder = save_base(tmp_path)
    save_published_lora(pipe.transformer, folder, dtype=torch.float32)  # folder/pytorch_lora_weights.safetensors
    out = generate(load_pipeline(folder))
    torch.testing.assert_close(out.latents, expected.latents, rtol=1e-5, atol=1e-5)


def test_fluxpipeline_layout_and_component_folders(tmp_path, reference):
    from diffusers import FluxPipeline

    pipe, expected = reference
    folder = save_base(tmp_path, FluxPipeline)
    assert json.loads((folder / "model_index.json").read_text())["_class_name"] == "FluxPipeline"
    lora = save_published_lora(pipe.transformer, tmp_path / "lora.safetensors", dtype=torch.float32)
    out = generate(load_pipeline(folder, lora_path=lora))
    torch.testing.assert_close(out.latents, expected.latents, rtol=1e-5, atol=1e-5)
    (folder / "model_index.json").unlink()
    assert detect_model_layout(folder) == "components"
    out = generate(load_pipeline(folder, lora_path=lora))
    torch.testing.assert_close(out.latents, expected.latents, rtol=1e-5, atol=1e-5)


def test_peft_files_and_merged_mode(tmp_path, reference):
    pipe, expected = reference
    folder = save_base(tmp_path)
    files = {b: save_peft_lora(pipe.transformer, b, tmp_path / f"{b}.safetensors")
             for b in ("albedo", "material", "normal")}
    loaded = load_pipeline(folder, lora_path=files, lora_mode="merged")
    layers = branch_lora_modules(loaded.transformer)
    assert all(layer.merged for layer in layers.values())
    assert hasattr(loaded.transformer.single_transformer_blocks[0].attn, "branch_qkv")
    out = generate(loaded)
    torch.testing.assert_close(out.latents, expected.latents, rtol=1e-4, atol=1e-4)


def test_bad_inputs_say_what_is_missing(tmp_path, reference):
    pipe, _ = reference
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_pipeline(tmp_path / "nowhere")
    (tmp_path / "partial" / "vae").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"missing component folders \['scheduler', 'text_encoder'"):
        load_pipeline(tmp_path / "partial")
    folder = save_base(tmp_path)
    single = save_peft_lora(pipe.transformer, "albedo", tmp_path / "albedo.safetensors")
    with pytest.raises(ValueError, match="stage-1 files are per intrinsic"):
        load_pipeline(folder, lora_path=single)
    with pytest.raises(ValueError, match="lora_mode must be one of"):
        load_pipeline(folder, lora_mode="fast")
