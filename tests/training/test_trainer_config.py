"""Training configs: the repository's YAML files, validation errors that name the key, the CLI
refusing a bad config before anything is loaded, the optimizer choice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml

from intrinsix.training.config import ConfigError, config_from_dict, load_config
from intrinsix.training.optim import build_lr_scheduler, build_optimizer, lr_factor

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


def minimal(tmp_path, stage="independent", **sections):
    (tmp_path / "model").mkdir(exist_ok=True)
    raw = {"model": {"path": str(tmp_path / "model")}, "data": {"kind": "procedural"},
           "output": {"dir": str(tmp_path / "out")}}
    if stage == "independent":
        raw["intrinsic"] = "albedo"
    else:
        files = {}
        for b in ("albedo", "material", "normal"):
            files[b] = str(tmp_path / f"{b}.safetensors")
            Path(files[b]).write_bytes(b"")
        raw["lora"] = {"init": files}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values) if isinstance(values, dict) else raw.__setitem__(name, values)
    return raw


def test_repository_configs_hold_the_published_hyper_parameters():
    for name in ("stage1_albedo", "stage1_material", "stage1_normal"):
        c = load_config(CONFIGS / f"{name}.yaml", "independent", check_paths=False)
        assert c.intrinsic == name.split("_")[1]
        assert (c.lora.rank, c.lora.alpha) == (64, 64)
        assert (c.optimizer.name, c.optimizer.lr, c.optimizer.weight_decay, c.optimizer.max_grad_norm) == \
            ("prodigy", 1.0, 1e-4, 1.0)
        assert (c.train.batch_size, c.train.gradient_accumulation_steps, c.train.max_steps) == (1, 10, 2000)
        assert (c.data.size, c.data.hflip, c.train.mixed_precision) == (512, True, "auto")
    c = load_config(CONFIGS / "stage2_align.yaml", "align", check_paths=False)
    assert (c.loss.ci_dropout, c.loss.num_lights, c.loss.rerender_weight, c.loss.lpips_weight) == (0.25, 5, 1.0, 0.1)
    assert set(c.lora.init) == {"albedo", "material", "normal"} and c.model.gradient_checkpointing
    assert c.output.save_dtype == "bf16"
    for path, stage in ((CONFIGS / "stage1_procedural.yaml", "independent"),
                        (CONFIGS / "stage2_procedural.yaml", "align"),
                        (CONFIGS / "tiny" / "stage1.yaml", "independent"),
                        (CONFIGS / "tiny" / "stage2.yaml", "align")):
        assert load_config(path, stage, check_paths=False).stage == stage


@pytest.mark.parametrize("change, key", [
    ({"optimizer": {"lrr": 1.0}}, "optimizer.lrr: unknown key"),
    ({"colour": "red"}, "colour: unknown key"),
    ({"lora": {"rank": 0}}, "lora.rank: must be an integer in [1, 4096], got 0"),
    ({"lora": {"rank": "64"}}, "lora.rank: must be an integer, got '64'"),
    ({"intrinsic": "roughness"}, "intrinsic: must be one of albedo, material, normal, got 'roughness'"),
    ({"data": {"kind": "interiorverse", "root": "/no/such/folder"}}, "data.root: folder not found"),
    ({"data": {"kind": "interiorverse"}}, "data.root: the InteriorVerse data set needs its root folder"),
    ({"data": {"size": 500}}, "data.size: must be a multiple of 16"),
    ({"model": {"path": "/no/such/model"}}, "model.path: folder not found"),
    ({"optimizer": {"name": "sgd"}}, "optimizer.name: must be one of adamw, prodigy"),
    ({"optimizer": {"betas": [0.9, 1.5]}}, "optimizer.betas"),
    ({"train": {"mixed_precision": "fp8"}}, "train.mixed_precision"),
    ({"train": {"max_steps": 0}}, "train.max_steps: must be an integer >= 1"),
    ({"loss": {"num_lights": 5}}, "loss: the loss section belongs to stage 2"),
    ({"lora": {"init": {"albedo": "a"}}}, "lora.init: stage 1 starts from fresh adapters"),
    ({"output": {"validate_every": 10, "validation_prompts": []}}, "output.validation_prompts"),
])
def test_stage1_errors_name_the_key(tmp_path, change, key):
    raw = minimal(tmp_path, **change)
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, "independent", source="cfg.yaml")
    assert key in str(info.value)
    assert str(info.value).startswith("cfg.yaml: ")


@pytest.mark.parametrize("change, key", [
    ({"intrinsic": "albedo"}, "intrinsic: stage 2 (align) trains all three"),
    ({"lora": {"init": {"albedo": "a", "material": "m"}}}, "lora.init: must name exactly albedo, material, normal"),
    ({"loss": {"ci_dropout": 1.5}}, "loss.ci_dropout: must be in [0, 1], got 1.5"),
    ({"loss": {"render_space": "srgb"}}, "loss.render_space"),
    ({"loss": {"lpips_backbone": "/x/vgg.pth"}}, "loss.lpips_linear: LPIPS needs both"),
    ({"loss": {"lpips_backbone": "/x/vgg.pth", "lpips_linear": "/x/lin.pth"}}, "loss.lpips_backbone: file not found"),
])
def test_stage2_errors_name_the_key(tmp_path, change, key):
    raw = minimal(tmp_path, "align", **change)
    with pytest.raises(ConfigError, match=None) as info:
        config_from_dict(raw, "align")
    assert key in str(info.value)


def test_stage2_missing_init_file_is_named(tmp_path):
    raw = minimal(tmp_path, "align")
    raw["lora"]["init"]["normal"] = str(tmp_path / "missing.safetensors")
    with pytest.raises(ConfigError, match="lora.init.normal: file or folder not found"):
        config_from_dict(raw, "align")


def test_yaml_file_overrides_and_stage_mismatch(tmp_path):
    raw = minimal(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    c = load_config(path, "independent", ["train.max_steps=7", "intrinsic=normal", "optimizer.betas=[0.8, 0.9]"])
    assert (c.train.max_steps, c.intrinsic, c.optimizer.betas) == (7, "normal", [0.8, 0.9])
    with pytest.raises(ConfigError, match="must look like section.key=value"):
        load_config(path, "independent", ["train.max_steps"])
    path.write_text(yaml.safe_dump({**raw, "stage": "align"}))
    with pytest.raises(ConfigError, match="stage: the file is for 'align'"):
        load_config(path, "independent")
    path.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path, "independent")
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", "independent")


def test_cli_refuses_a_bad_config_before_loading_anything(tmp_path, capsys):
    from intrinsix.cli.main import main

    raw = minimal(tmp_path, lora={"rank": 0})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["train", "independent", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "intrinsix train independent: error:" in err and "lora.rank" in err
    assert main(["train", "align", "--config", str(path)]) == 2
    assert "intrinsic: stage 2 (align) trains all three" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_optimizers_and_schedule(tmp_path, monkeypatch):
    params = [torch.nn.Parameter(torch.zeros(3))]
    c = config_from_dict(minimal(tmp_path, optimizer={"name": "adamw", "lr": 0.5}), "independent").optimizer
    assert isinstance(build_optimizer(params, c), torch.optim.AdamW)
    c = config_from_dict(minimal(tmp_path), "independent").optimizer
    monkeypatch.setitem(sys.modules, "prodigyopt", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install prodigyopt"):
        build_optimizer(params, c)
    monkeypatch.undo()
    try:
        import prodigyopt
    except ImportError:
        prodigyopt = None
    if prodigyopt is not None:
        optimizer = build_optimizer(params, c)
        assert isinstance(optimizer, prodigyopt.Prodigy)
        assert optimizer.param_groups[0]["weight_decay"] == 1e-4
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1), requires_grad=False)], c)

    c = config_from_dict(minimal(tmp_path, optimizer={"lr_schedule": "cosine", "warmup_steps": 2},
                                 train={"max_steps": 10}), "independent").optimizer
    factors = [lr_factor(s, c, 10) for s in range(10)]
    assert factors[:3] == [0.5, 1.0, 1.0] and factors[-1] < 0.05
    assert all(a >= b for a, b in zip(factors[1:], factors[2:]))
    optimizer = torch.optim.AdamW(params, lr=2.0)
    scheduler = build_lr_scheduler(optimizer, c, 10)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1.0)  # step 0: half of the warm-up
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2.0)
