"""Stage 1 and stage 2 trainers on the tiny random FLUX (generator.tiny) and 32 x 32 procedural
materials, on the CPU: learning, exact resume, file layouts, validation images, the CLI.

The tiny model learns slowly (its LoRA sits on 4 small blocks), so "the loss decreases" is
measured on a fixed probe: the same 16 samples with the same noise and sigma before and after
training, which removes the step-to-step noise of random sigmas from the comparison.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file
from torch.utils.data import default_collate

from intrinsix.generator import (BRANCHES, IntrinsiXPipeline, adapted_linear_names, add_branch_lora,
                                 branch_lora_modules, load_peft_loras, load_pipeline, load_published_lora,
                                 make_tiny_components, randomize_branch_lora, save_peft_lora)
from intrinsix.training.config import config_from_dict
from intrinsix.training.loss_log import read_loss_log
from intrinsix.training.stage1 import IndependentTrainer
from intrinsix.training.stage2 import AlignTrainer
from intrinsix.training.stream import StreamDataset

TINY_CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs" / "tiny"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_flux")
    IntrinsiXPipeline(**make_tiny_components(0)).save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def stage1_files(tmp_path_factory):
    """Three stage-1 PEFT files with small random adapters (as if stage 1 had run)."""
    folder = tmp_path_factory.mktemp("stage1")
    transformer = make_tiny_components(0)["transformer"]
    add_branch_lora(transformer, rank=4, generator=torch.Generator().manual_seed(1))
    randomize_branch_lora(transformer, 2, std=0.01)
    return {b: str(save_peft_lora(transformer, b, folder / f"{b}.safetensors")) for b in BRANCHES}


def stage1_config(model, out, **train):
    raw = {"intrinsic": "albedo", "model": {"path": model},
           "data": {"kind": "procedural", "length": 2, "size": 32, "families": ["brick"]},
           "train": {"max_steps": 6, "batch_size": 2, "gradient_accumulation_steps": 1, "mixed_precision": "no",
                     **train},
           "optimizer": {"name": "adamw", "lr": 3e-2, "weight_decay": 0.0},
           "lora": {"rank": 4},
           "output": {"dir": str(out), "checkpoint_every": 3, "keep_checkpoints": 0, "validate_every": 0,
                      "progress": False}}
    return raw


def stage2_config(model, out, init, **train):
    raw = stage1_config(model, out, **{"batch_size": 1, **train})
    del raw["intrinsic"]
    raw["lora"]["init"] = init
    raw["optimizer"]["lr"] = 1e-2
    raw["loss"] = {"ci_dropout": 0.25, "num_lights": 5}
    return raw


def probe_loss(trainer, positions=range(10_000, 10_016), term="loss"):
    stream = StreamDataset(trainer.dataset, trainer.config.train.seed)
    batch = default_collate([stream[p] for p in positions])
    with torch.no_grad():
        return float(trainer.compute_loss(trainer.model, batch, 0)[term])


def lora_tensors(trainer) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in trainer.unwrapped().named_parameters() if p.requires_grad}


# -- learning ----------------------------------------------------------------------------------------


def test_stage1_loss_decreases(tiny_model, tmp_path):
    raw = stage1_config(tiny_model, tmp_path, max_steps=45)
    raw["output"]["checkpoint_every"] = 0
    trainer = IndependentTrainer(config_from_dict(raw, "independent"))
    trainer.prepare()
    before = probe_loss(trainer)
    result = trainer.train()
    after = probe_loss(trainer)
    assert after < 0.8 * before, (before, after)
    losses = [row["loss"] for row in result.losses]
    third = len(losses) // 3
    assert sum(losses[-third:]) / third < 0.9 * sum(losses[:third]) / third


def test_stage2_loss_decreases(tiny_model, stage1_files, tmp_path):
    raw = stage2_config(tiny_model, tmp_path, stage1_files, max_steps=45, batch_size=2)
    raw["optimizer"]["lr"] = 3e-2
    raw["output"]["checkpoint_every"] = 0
    trainer = AlignTrainer(config_from_dict(raw, "align"))
    trainer.prepare()
    before = {t: probe_loss(trainer, term=t) for t in ("loss", "flow", "rerender")}
    result = trainer.train()
    after = {t: probe_loss(trainer, term=t) for t in ("loss", "flow", "rerender")}
    # The re-render term has a floor here: the tiny VAE is random, so even a perfect latent does
    # not decode to the ground-truth maps. It still has to go down.
    assert after["flow"] < 0.8 * before["flow"], (before, after)
    assert after["rerender"] < 0.98 * before["rerender"], (before, after)
    assert after["loss"] < 0.9 * before["loss"], (before, after)
    losses = [row["loss"] for row in result.losses]
    third = len(losses) // 3
    assert sum(losses[-third:]) / third < 0.95 * sum(losses[:third]) / third
    assert all(row["rerender"] > 0 for row in result.losses)


def test_rerender_loss_reaches_the_lora_through_the_vae_decoder(tiny_model, stage1_files, tmp_path):
    """One step with and without the re-render term: the updates differ, so its gradient flows
    from the renders through the VAE decoder into the adapters."""
    weights = []
    for weight in (0.0, 1.0):
        raw = stage2_config(tiny_model, tmp_path / str(weight), stage1_files, max_steps=1)
        raw["loss"]["rerender_weight"] = weight
        trainer = AlignTrainer(config_from_dict(raw, "align"))
        result = trainer.train()
        weights.append(lora_tensors(trainer))
        assert (result.losses[0]["rerender"] > 0) == (weight > 0)
    difference = max((weights[0][n] - weights[1][n]).abs().max().item() for n in weights[0])
    assert difference > 1e-6


# -- exact resume ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["independent", "align"])
def test_resume_reproduces_the_uninterrupted_run(tiny_model, stage1_files, tmp_path, stage):
    def make(out):
        if stage == "independent":
            return IndependentTrainer(config_from_dict(stage1_config(tiny_model, out, gradient_accumulation_steps=2),
                                                       stage))
        return AlignTrainer(config_from_dict(stage2_config(tiny_model, out, stage1_files,
                                                           gradient_accumulation_steps=2), stage))

    straight = make(tmp_path / "straight")
    full = straight.train()
    interrupted = make(tmp_path / "resumed").train(stop_at_step=3)
    assert interrupted.final_step == 3 and interrupted.lora_path is None
    resumed_trainer = make(tmp_path / "resumed")
    resumed = resumed_trainer.train(resume="latest")

    assert [r["step"] for r in resumed.losses] == [4, 5, 6]
    for a, b in zip(full.losses[3:], resumed.losses):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-7), (key, a, b)
    for a, b in zip(full.losses[:3], interrupted.losses):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)
    weights_full, weights_resumed = lora_tensors(straight), lora_tensors(resumed_trainer)
    assert weights_full.keys() == weights_resumed.keys() and weights_full
    for name in weights_full:
        torch.testing.assert_close(weights_resumed[name], weights_full[name], rtol=1e-6, atol=1e-7)
    # The log of the resumed run reads as one run: steps 1..6 once each.
    rows = read_loss_log(tmp_path / "resumed" / "loss_log.csv")
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[4]["loss"] == pytest.approx(full.losses[4]["loss"], rel=1e-6)


def test_checkpoints_hold_the_lora_not_the_base_model(tiny_model, tmp_path):
    raw = stage1_config(tiny_model, tmp_path)
    raw["output"]["keep_checkpoints"] = 1
    IndependentTrainer(config_from_dict(raw, "independent")).train()
    folders = sorted((tmp_path / "checkpoints").iterdir())
    assert [f.name for f in folders] == ["step_0000006"]  # step 3 pruned
    files = {f.name for f in folders[0].iterdir()}
    assert "pytorch_lora_weights.safetensors" in files and "trainer_state.json" in files
    assert not any(name.startswith("model") for name in files)


# -- saved files -------------------------------------------------------------------------------------


def test_stage1_file_is_a_peft_lora_that_the_generator_loads(tiny_model, tmp_path):
    raw = {**stage1_config(tiny_model, tmp_path, max_steps=3), "intrinsic": "material"}
    raw["output"].update({"validate_every": 3, "validation_size": 32, "validation_steps": 2,
                          "validation_prompts": ["polished gold tiles", "rough red brick"]})
    trainer = IndependentTrainer(config_from_dict(raw, "independent"))
    result = trainer.train()
    # Stage 1 validates the one map it trains.
    written = sorted(p.name for p in (tmp_path / "validation" / "step_0000003").iterdir())
    assert written == ["00_material.png", "01_material.png"]
    tensors = load_file(str(result.lora_path))
    modules = adapted_linear_names(trainer.unwrapped())
    assert set(tensors) == {f"transformer.{m}.lora_{ab}.weight" for m in modules for ab in "AB"}
    with safe_open(str(result.lora_path), framework="pt") as handle:
        assert '"transformer.r": 4' in handle.metadata()["lora_adapter_metadata"]
    trained = dict(trainer.unwrapped().named_parameters())
    for m in modules:  # the trained PEFT weights, exactly (float32 file)
        assert torch.equal(tensors[f"transformer.{m}.lora_A.weight"], trained[f"{m}.lora_A.default.weight"])
        assert torch.equal(tensors[f"transformer.{m}.lora_B.weight"], trained[f"{m}.lora_B.default.weight"])
    assert any(t.abs().max() > 0 for k, t in tensors.items() if "lora_B" in k)

    fresh = make_tiny_components(0)["transformer"]
    layers = load_peft_loras(fresh, {"material": result.lora_path})
    for m in modules:
        assert torch.equal(layers[m].lora_down[1], tensors[f"transformer.{m}.lora_A.weight"])
        assert torch.equal(layers[m].lora_up[1], tensors[f"transformer.{m}.lora_B.weight"])
        assert not layers[m].lora_up[0].any() and not layers[m].lora_up[2].any()


def test_stage2_file_is_the_published_layout_and_changes_the_pipeline(tiny_model, stage1_files, tmp_path):
    raw = stage2_config(tiny_model, tmp_path, stage1_files, max_steps=3)
    raw["output"]["save_dtype"] = "fp32"
    trainer = AlignTrainer(config_from_dict(raw, "align"))
    result = trainer.train()
    tensors = load_file(str(result.lora_path))
    modules = adapted_linear_names(trainer.unwrapped())
    assert len(tensors) == len(modules) * 3 * 2
    fresh = make_tiny_components(0)["transformer"]
    layers = load_published_lora(fresh, result.lora_path)
    trained = branch_lora_modules(trainer.unwrapped())
    for m in modules:
        assert torch.equal(layers[m].lora_down, trained[m].lora_down.detach())
        assert torch.equal(layers[m].lora_up, trained[m].lora_up.detach())
    # Training moved the adapters away from the stage-1 files.
    start = make_tiny_components(0)["transformer"]
    initial = load_peft_loras(start, stage1_files)
    assert any(not torch.equal(initial[m].lora_up, trained[m].lora_up.detach()) for m in modules)

    def generate(lora):
        pipe = load_pipeline(tiny_model, lora_path=lora)
        pipe.set_progress_bar_config(disable=True)
        return pipe("polished gold tiles", height=32, width=32, num_inference_steps=2,
                    generator=torch.Generator().manual_seed(0))

    trained_out, initial_out = generate(result.lora_path), generate(stage1_files)
    assert (trained_out.albedo - initial_out.albedo).abs().max() > 1e-4
    assert (trained_out.normal - initial_out.normal).abs().max() > 1e-4


def test_stage2_bf16_file_and_validation_images(tiny_model, stage1_files, tmp_path):
    raw = stage2_config(tiny_model, tmp_path, stage1_files, max_steps=2)
    raw["output"].update({"validate_every": 2, "validation_size": 32, "validation_steps": 2,
                          "validation_prompts": ["polished gold tiles"], "save_dtype": "bf16"})
    trainer = AlignTrainer(config_from_dict(raw, "align"))
    result = trainer.train()
    tensors = load_file(str(result.lora_path))
    assert {t.dtype for t in tensors.values()} == {torch.bfloat16}
    trained = branch_lora_modules(trainer.unwrapped())
    module = adapted_linear_names(trainer.unwrapped())[0]
    assert torch.equal(tensors[f"transformer.{module}.2.lora_up.weight"],
                       trained[module].lora_up[2].detach().to(torch.bfloat16))
    folder = tmp_path / "validation" / "step_0000002"
    for name in ("albedo", "material", "normal", "relit"):
        image = Image.open(folder / f"00_{name}.png")
        assert image.size == (32, 32) and image.mode == "RGB"
    rows = read_loss_log(tmp_path / "loss_log.csv")
    assert list(rows[0]) == ["step", "loss", "flow", "rerender", "lpips", "lr", "seconds"]
    assert rows[1]["loss"] == pytest.approx(rows[1]["flow"] + rows[1]["rerender"], rel=1e-5)


# -- gradient checkpointing --------------------------------------------------------------------------


def test_gradient_checkpointing_keeps_the_ci_dropout_draws(tiny_model, stage1_files, tmp_path):
    """Recomputed blocks must take the same CI-dropout decisions as the forward pass: same
    losses and weights with and without checkpointing (dropout 0.5, so layers differ)."""
    results = []
    for checkpointing in (False, True):
        raw = stage2_config(tiny_model, tmp_path / str(checkpointing), stage1_files, max_steps=3)
        raw["model"]["gradient_checkpointing"] = checkpointing
        raw["loss"]["ci_dropout"] = 0.5
        trainer = AlignTrainer(config_from_dict(raw, "align"))
        results.append((trainer.train(), lora_tensors(trainer)))
        assert trainer.components.transformer.gradient_checkpointing is checkpointing
    (plain, plain_w), (ckpt, ckpt_w) = results
    for a, b in zip(plain.losses, ckpt.losses):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    for name in plain_w:
        torch.testing.assert_close(ckpt_w[name], plain_w[name], rtol=1e-5, atol=1e-6)


# -- the CLI, stage 1 into stage 2 -------------------------------------------------------------------


def test_cli_stage1_results_feed_stage2(tiny_model, tmp_path, capsys):
    from intrinsix.cli.main import main

    files = {}
    for branch in BRANCHES:
        out = tmp_path / f"s1_{branch}"
        code = main(["train", "independent", "--config", str(TINY_CONFIGS / "stage1.yaml"), "--quiet",
                     "--set", f"model.path={tiny_model}", "--set", f"output.dir={out}",
                     "--set", f"intrinsic={branch}", "--set", "train.max_steps=2"])
        assert code == 0
        files[branch] = out / "pytorch_lora_weights.safetensors"
        assert files[branch].is_file()
    out = tmp_path / "s2"
    code = main(["train", "align", "--config", str(TINY_CONFIGS / "stage2.yaml"), "--quiet",
                 "--set", f"model.path={tiny_model}", "--set", f"output.dir={out}", "--set", "train.max_steps=2",
                 *[arg for b in BRANCHES for arg in ("--set", f"lora.init.{b}={files[b]}")]])
    assert code == 0
    assert "trained align to step 2" in capsys.readouterr().out
    fresh = make_tiny_components(0)["transformer"]
    layers = load_published_lora(fresh, out / "pytorch_lora_weights.safetensors")
    # Each branch started from its own stage-1 file: the three adapters differ.
    layer = next(iter(layers.values()))
    assert not torch.equal(layer.lora_down[0], layer.lora_down[1])
    assert not torch.equal(layer.lora_down[1], layer.lora_down[2])


def test_config_is_not_changed_by_a_run(tiny_model, tmp_path):
    config = config_from_dict(stage1_config(tiny_model, tmp_path, max_steps=1), "independent")
    before = copy.deepcopy(config.to_dict())
    IndependentTrainer(config).train()
    assert config.to_dict() == before
    assert (tmp_path / "config.yaml").is_file()


def test_bf16_mixed_precision_keeps_float32_adapters(tiny_model, stage1_files, tmp_path):
    raw = stage2_config(tiny_model, tmp_path, stage1_files, max_steps=2, mixed_precision="bf16")
    raw["model"]["gradient_checkpointing"] = True
    trainer = AlignTrainer(config_from_dict(raw, "align"))
    result = trainer.train()
    transformer = trainer.components.transformer
    assert transformer.x_embedder.weight.dtype == torch.bfloat16  # frozen base in bf16
    assert {p.dtype for p in trainer.trainable_parameters()} == {torch.float32}
    checkpoint_file = result.checkpoint / "pytorch_lora_weights.safetensors"
    assert {t.dtype for t in load_file(str(checkpoint_file)).values()} == {torch.float32}
    assert all(math.isfinite(row["loss"]) for row in result.losses)


def test_prodigy_run_logs_the_adapted_learning_rate(tiny_model, tmp_path):
    pytest.importorskip("prodigyopt")
    raw = stage1_config(tiny_model, tmp_path, max_steps=10)
    raw["optimizer"] = {"name": "prodigy", "lr": 1.0, "weight_decay": "1e-4"}  # as PyYAML reads 1e-4
    result = IndependentTrainer(config_from_dict(raw, "independent")).train()
    lrs = [row["lr"] for row in result.losses]
    assert lrs[0] == pytest.approx(1e-6)  # lr * d, d starts at d0 = 1e-6
    assert lrs[-1] > lrs[0]  # Prodigy raised its estimate


def test_both_stages_train_on_the_interiorverse_layout(tiny_model, stage1_files, tmp_path):
    from intrinsix.training.data import make_procedural_dataset

    root = tmp_path / "iv"
    make_procedural_dataset(root, 3, views_per_scene=2, size=(48, 64), seed=0, material_size=32, progress=False)
    data = {"kind": "interiorverse", "root": str(root), "size": 32, "num_workers": 0}
    raw = stage1_config(tiny_model, tmp_path / "s1", max_steps=2)
    raw.update(intrinsic="normal", data=data)
    first = IndependentTrainer(config_from_dict(raw, "independent")).train()
    raw = stage2_config(tiny_model, tmp_path / "s2", stage1_files, max_steps=2)
    raw["data"] = data
    trainer = AlignTrainer(config_from_dict(raw, "align"))
    second = trainer.train()
    assert first.lora_path.is_file() and second.lora_path.is_file()
    assert all(row["rerender"] > 0 and math.isfinite(row["loss"]) for row in second.losses)
    batch = default_collate([StreamDataset(trainer.dataset, 0)[p] for p in (0, 1)])
    assert batch["mask"].shape == (2, 32, 32, 1) and batch["normal"].shape == (2, 32, 32, 3)


def test_lpips_term_with_local_weights(tiny_model, stage1_files, tmp_path):
    from test_trainer_rerender import write_lpips_files

    backbone, linear = write_lpips_files(tmp_path)
    raw = stage2_config(tiny_model, tmp_path / "run", stage1_files, max_steps=1)
    raw["loss"].update({"lpips_backbone": str(backbone), "lpips_linear": str(linear), "lpips_weight": 0.1})
    row = AlignTrainer(config_from_dict(raw, "align")).train().losses[0]
    assert row["lpips"] > 0
    assert row["loss"] == pytest.approx(row["flow"] + row["rerender"] + 0.1 * row["lpips"], rel=1e-5)
