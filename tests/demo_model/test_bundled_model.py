"""The bundled demo model (generator/demo_model/, the default of `intrinsix generate`): its files,
its size, and that `load_pipeline` loads it and generates material sets that obey the prompt's
basic physics (a metal is metallic, a rough brick is rougher than polished gold). The full
quality evaluation is `intrinsix eval demo` (docs/demo-model.md)."""

import json

import pytest
import torch
from safetensors import safe_open

from intrinsix.cli.generate import default_model_dir
from intrinsix.generator import (CrossIntrinsicAttnProcessor, adapted_linear_names, branch_lora_modules,
                                 detect_lora_layout, load_pipeline)
from intrinsix.generator.defaults import generation_defaults, guidance_arguments

MAX_MEGABYTES = 40.0


@pytest.fixture(scope="module")
def folder(monkeypatch_module):
    monkeypatch_module.delenv("INTRINSIX_MODEL", raising=False)
    path = default_model_dir()
    assert path.name == "demo_model" and path.is_dir(), f"the bundled demo model is missing at {path}"
    return path


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture(scope="module")
def pipe(folder):
    pipeline = load_pipeline(folder)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def test_files_size_and_formats(folder):
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    assert total <= MAX_MEGABYTES, f"the demo model takes {total:.1f} MB, at most {MAX_MEGABYTES} are allowed"
    for sub in ("scheduler", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "transformer"):
        assert (folder / sub).is_dir(), sub
    assert detect_lora_layout(folder / "pytorch_lora_weights.safetensors") == "published"
    # The transformer is stored in shards of at most 12 MB (no file over the repository's 20 MiB limit).
    shards = sorted((folder / "transformer").glob("diffusion_pytorch_model-*.safetensors"))
    assert shards and all(f.stat().st_size <= 12 * 10**6 for f in shards)
    for shard in shards:
        with safe_open(str(shard), "pt") as handle:
            assert {handle.get_tensor(k).dtype for k in handle.keys()} == {torch.float16}
    defaults = generation_defaults(folder)
    assert defaults["size"] == 256 and 1 <= defaults["num_inference_steps"] <= 28
    report = json.loads((folder / "demo_training.json").read_text())
    assert report["stages"]["stage2"]["rerender_loss"] is True
    assert set(report["stages"]) >= {"bank", "vae", "base", "stage1_albedo", "stage1_material", "stage1_normal",
                                     "stage2"}


def test_loads_with_branch_lora_and_cross_intrinsic_attention(pipe):
    transformer = pipe.transformer
    assert len(branch_lora_modules(transformer)) == len(adapted_linear_names(transformer)) == 2 * 4 + 6 * 3
    assert all(isinstance(p, CrossIntrinsicAttnProcessor) for p in transformer.attn_processors.values())
    assert transformer.dtype == torch.float32


def generate(pipe, folder, prompt):
    d = generation_defaults(folder)
    out = pipe(prompt, height=d["size"], width=d["size"], num_inference_steps=d["num_inference_steps"],
               guidance_scale=d["guidance_scale"], generator=torch.Generator().manual_seed(0),
               **guidance_arguments(d["true_cfg_scale"]))  # as `intrinsix generate` samples it
    for maps in (out.albedo, out.material, out.normal):
        assert maps.shape == (1, 256, 256, 3) and torch.isfinite(maps).all()
        assert float(maps.min()) >= -1.0 and float(maps.max()) <= 1.0
    assert torch.allclose(out.normal.norm(dim=-1), torch.ones(1, 256, 256), atol=1e-4)
    assert float((out.normal[..., 2] > 0).float().mean()) > 0.99
    return out


def test_generates_metal_and_dielectric_sets_that_follow_the_prompt(pipe, folder):
    gold = generate(pipe, folder, "polished gold tiles")
    brick = generate(pipe, folder, "rough red brick with grey mortar")
    assert float(gold.material[..., 1].mean()) > 0.7  # metallic
    assert float(brick.material[..., 1].mean()) < 0.2
    assert float(gold.material[..., 0].mean()) < float(brick.material[..., 0].mean())  # polished < rough
    r, g, b = gold.albedo.reshape(-1, 3).mean(dim=0).tolist()
    assert r > g > b  # gold is warm: red > green > blue


def test_held_out_prompts_get_their_colour_and_painted_metal_is_paint(pipe, folder):
    """Two held-out combinations (never trained, `split_combinations`) that earlier models got wrong:
    teal tiles came out as violet-blue normal maps (the branch-agnostic base), pink painted metal as
    metal (build E2). docs/demo-model.md, "Quality"."""
    from intrinsix.training.data.colours import mean_albedo_matches
    from intrinsix.training.data.vocabulary import split_combinations

    held_out = set(split_combinations()[1])  # (family, colour, finish)
    assert {("ceramic_tiles", "teal", "glossy"), ("painted_metal", "pink", "glossy")} <= held_out
    tiles = generate(pipe, folder, "glossy teal subway tiles with light grey grout")
    ok, why = mean_albedo_matches("teal", tiles.albedo[0])
    assert ok, why
    paint = generate(pipe, folder, "glossy pink painted metal")
    ok, why = mean_albedo_matches("pink", paint.albedo[0])
    assert ok, why
    assert float(paint.material[..., 1].mean()) < 0.2  # paint is a dielectric
    assert float(paint.material[..., 0].mean()) < 0.3  # glossy


def test_bundled_tokenizers_are_the_ones_train_demo_builds(folder):
    from transformers import CLIPTokenizer, T5TokenizerFast

    from intrinsix.training.demo.text import build_clip_tokenizer, build_t5_tokenizer

    text = "glossy teal subway tiles with light grey grout, shiny velvet 42!"
    bundled = CLIPTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
    assert bundled(text).input_ids == build_clip_tokenizer()(text).input_ids and len(bundled) == 711
    bundled = T5TokenizerFast.from_pretrained(str(folder / "tokenizer_2"), local_files_only=True)
    assert bundled(text).input_ids == build_t5_tokenizer()(text).input_ids and bundled.model_max_length == 24
