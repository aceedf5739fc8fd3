"""`intrinsix generate`: a texture set from a saved (tiny) model folder, and clear errors."""

import json

import pytest
import torch
from PIL import Image

from intrinsix.cli.main import main
from intrinsix.generator import make_tiny_pipeline


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_model")
    torch.manual_seed(0)
    make_tiny_pipeline(seed=0).save_pretrained(folder)
    (folder / "intrinsix_defaults.json").write_text(json.dumps({"size": 32, "num_inference_steps": 2}))
    return folder


def test_generate_writes_an_unreal_texture_set(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["generate", "polished gold tiles", "--out", str(out), "--target", "unreal",
                 "--model", str(tiny_model_dir), "--seed", "3", "--device", "cpu"])
    assert code == 0
    manifest = json.loads((out / "material.json").read_text())
    names = {f["name"] for f in manifest["files"]}
    assert {"T_PolishedGoldTiles_BC.png", "T_PolishedGoldTiles_N.png", "T_PolishedGoldTiles_ORM.png"} <= names
    assert manifest["metadata"]["prompt"] == "polished gold tiles"
    assert manifest["resolution"] == {"width": 32, "height": 32}
    for entry in manifest["files"]:
        assert (out / entry["name"]).stat().st_size == entry["bytes"]
    assert Image.open(out / "preview.png").size == (32, 32)
    printed = capsys.readouterr().out.split()
    assert str(out / "material.json") in printed


def test_same_seed_gives_identical_files(tiny_model_dir, tmp_path):
    for run in ("a", "b"):
        assert main(["generate", "rough red brick", "--out", str(tmp_path / run), "--model", str(tiny_model_dir),
                     "--seed", "5", "--device", "cpu", "--target", "raw"]) == 0
    first = json.loads((tmp_path / "a" / "material.json").read_text())["files"]
    second = json.loads((tmp_path / "b" / "material.json").read_text())["files"]
    assert [f["sha256"] for f in first] == [f["sha256"] for f in second]


@pytest.mark.parametrize("args, message", [
    (["--size", "20"], "--size must be a multiple of 16 in [16, 2048], got 20"),
    (["--steps", "0"], "--steps must be in [1, 200], got 0"),
    (["--guidance", "-1"], "--guidance must be in [0, 30], got -1.0"),
    (["--true-cfg-scale", "0.5"], "--true-cfg-scale must be a number in [1, 30] (1 = off), got 0.5"),
    (["--true-cfg-scale", "2", "--negative-prompt", "x" * 2001], "--negative-prompt must have at most 2000 "
                                                                   "characters, got 2001"),
    (["--negative-prompt", "blurry"], "--negative-prompt is used only by true classifier-free guidance: pass "
                                      "--true-cfg-scale above 1 (this model's default is 1)"),
])
def test_bad_arguments_one_line_exit_2(tiny_model_dir, tmp_path, capsys, args, message):
    code = main(["generate", "wood", "--out", str(tmp_path / "o"), "--model", str(tiny_model_dir), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"intrinsix generate: error: {message}"


@pytest.mark.parametrize("prompt, message", [
    (" \t", "prompt must not be empty"),
    ("w" * 2001, "prompt must have at most 2000 characters, got 2001"),
])
def test_prompt_must_have_1_to_2000_characters(tiny_model_dir, tmp_path, capsys, prompt, message):
    code = main(["generate", prompt, "--out", str(tmp_path / "o"), "--model", str(tiny_model_dir)])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"intrinsix generate: error: {message}"
    assert not (tmp_path / "o").exists()


def test_missing_model_folder_is_a_clear_error(tmp_path, capsys):
    code = main(["generate", "wood", "--out", str(tmp_path / "o"), "--model", str(tmp_path / "nope")])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"intrinsix generate: error: model folder {tmp_path / 'nope'} does not exist"


def test_existing_files_are_not_overwritten_without_flag(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["generate", "blue plastic", "--out", str(out), "--model", str(tiny_model_dir), "--device", "cpu"]
    assert main(base + ["--seed", "1"]) == 0
    capsys.readouterr()
    assert main(base + ["--seed", "2"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(base + ["--seed", "2", "--overwrite"]) == 0


def test_true_cfg_default_comes_from_the_model_folder(tiny_model_dir, tmp_path):
    """A model whose intrinsix_defaults.json names true_cfg_scale is sampled with classifier-free
    guidance against the empty prompt unless the command turns it off or names a negative."""
    guided = tmp_path / "guided_model"
    guided.mkdir()
    for item in tiny_model_dir.iterdir():
        (guided / item.name).symlink_to(item)
    (guided / "intrinsix_defaults.json").unlink()
    (guided / "intrinsix_defaults.json").write_text(json.dumps({"size": 32, "num_inference_steps": 2,
                                                                "true_cfg_scale": 3.0}))

    def run(name, *extra):
        assert main(["generate", "red plastic", "--out", str(tmp_path / name), "--model", str(guided),
                     "--device", "cpu", "--target", "raw", *extra]) == 0
        manifest = json.loads((tmp_path / name / "material.json").read_text())
        return manifest["metadata"], [f["sha256"] for f in manifest["files"]]

    default_meta, default_files = run("default")
    off_meta, off_files = run("off", "--true-cfg-scale", "1")
    negative_meta, negative_files = run("negative", "--negative-prompt", "blue")
    assert default_meta["true_cfg_scale"] == 3.0 and default_meta["negative_prompt"] == ""
    assert off_meta["true_cfg_scale"] == 1.0 and "negative_prompt" not in off_meta
    assert negative_meta["negative_prompt"] == "blue"
    assert len({tuple(default_files), tuple(off_files), tuple(negative_files)}) == 3


def test_model_defaults_reject_a_bad_true_cfg_scale(tmp_path):
    from intrinsix.generator.defaults import generation_defaults, guidance_arguments

    (tmp_path / "intrinsix_defaults.json").write_text(json.dumps({"true_cfg_scale": 0.5}))
    with pytest.raises(ValueError, match=r"true_cfg_scale must be a number in \[1, 30\] \(1 = off\), got 0.5"):
        generation_defaults(tmp_path)
    assert guidance_arguments(1.0, "blue") == {}
    assert guidance_arguments(2.5) == {"true_cfg_scale": 2.5, "negative_prompt": ""}
