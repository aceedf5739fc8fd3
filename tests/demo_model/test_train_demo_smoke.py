"""`intrinsix train demo` end to end at toy size on the CPU: every stage runs (bank, VAE, base,
stage 1 x 3 and stage 2 with the re-render loss through the compiled kernels) and the folder it
writes loads with `load_pipeline` and generates."""

import json
import math

import pytest
import torch
from safetensors import safe_open

from intrinsix.cli.main import main
from intrinsix.generator import adapted_linear_names, branch_lora_modules, detect_lora_layout, load_pipeline
from intrinsix.generator.defaults import generation_defaults
from intrinsix.training.data.vocabulary import FAMILIES
from intrinsix.generator.conditioning import VAEEncoding
from intrinsix.training.demo.build import DEMO_BASE_MAPS, GUIDED_CFG_SCALE, STAGE_MINUTES


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "model"
    code = main(["train", "demo", "--out", str(out), "--preset", "tiny", "--bank-size", "8", "--bank-workers", "0",
                 "--max-steps-per-stage", "2", "--device", "cpu", "--default-steps", "3", "--seed", "1",
                 "--vae-normal-weight", "5", "--vae-spectrum-weight", "1.5", "--vae-batch", "3",
                 "--caption-dropout", "0"])  # the default encodings (sRGB albedo, companded normals)
    assert code == 0
    return out


def test_folder_layout_report_and_dtypes(built):
    for name in ("model_index.json", "intrinsix_defaults.json", "demo_training.json",
                 "pytorch_lora_weights.safetensors", "tokenizer/tokenizer.json", "tokenizer_2/tokenizer.json",
                 "transformer/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                 "text_encoder/model.safetensors", "text_encoder_2/model.safetensors"):
        assert (built / name).is_file(), name
    assert (built.parent / "model.work" / "stage2" / "loss_log.csv").is_file()
    assert generation_defaults(built) == {"size": 32, "num_inference_steps": 3, "guidance_scale": 1.0,
                                          "true_cfg_scale": 1.0, "albedo_encoding": "srgb", "normal_encoding": "sqrt"}
    # The LoRA stages loaded the base folder with the encodings its VAE was trained with.
    base = generation_defaults(built.parent / "model.work" / "base")
    assert (base["albedo_encoding"], base["normal_encoding"]) == ("srgb", "sqrt")
    assert "true_cfg_scale" not in json.loads((built / "intrinsix_defaults.json").read_text())
    report = json.loads((built / "demo_training.json").read_text())
    for stage in ("vae", "vae_decoder", "base", "stage1_albedo", "stage1_material", "stage1_normal", "stage2"):
        assert report["stages"][stage]["steps"] == 2, stage
    assert report["stages"]["vae_decoder"]["size"] == 32  # whole materials at the generation size
    assert report["stages"]["vae_decoder"]["wraparound_fraction"] == 0.5
    for stage in ("vae", "vae_decoder", "base"):
        assert math.isfinite(report["stages"][stage]["final_loss"]), stage
    for stage in ("stage1_albedo", "stage1_material", "stage1_normal", "stage2"):
        assert all(math.isfinite(v) for v in report["stages"][stage]["final_loss"].values()), stage
    assert report["stages"]["stage2"]["rerender_loss"] is True
    assert report["stages"]["bank"]["materials"] == 8
    # The bundled model's recipe by default: a base on albedo only, the material LoRA with its own minutes.
    assert report["stages"]["base"]["maps"] == list(DEMO_BASE_MAPS) == ["albedo"]
    budgets = {name: report["stages"][f"stage1_{name}"]["budget_seconds"] for name in ("albedo", "material", "normal")}
    assert budgets == {"albedo": 60 * STAGE_MINUTES["stage1"], "material": 60 * STAGE_MINUTES["stage1_material"],
                       "normal": 60 * STAGE_MINUTES["stage1_normal"]} == {"albedo": 180.0, "material": 360.0,
                                                                           "normal": 360.0}
    vae = report["stages"]["vae"]
    assert 0.0 < vae["scaling_factor"] and "shift_factor" in vae
    assert vae["normal_weight"] == 5.0 and vae["spectrum_weight"] == 1.5 and vae["adversarial_weight"] == 0.0
    assert vae["batch_size"] == 3 and vae["latent_noise"] == 0.0
    # Relief kept by the VAE, per family of the bank: [mean tilt in, mean tilt after a round trip].
    assert vae["relief_degrees_in_out"] and all(
        len(pair) == 2 and all(0.0 <= t < 90.0 for t in pair) for pair in vae["relief_degrees_in_out"].values())
    # Albedos whose colour check passes after a round trip, per colour of the bank: [passed, tried].
    assert vae["colour_round_trip_passed"] and all(
        0 <= passed <= tried for passed, tried in vae["colour_round_trip_passed"].values())
    assert report["word_dropout"] is False and report["caption_dropout"] == 0.0
    assert (report["albedo_encoding"], report["normal_encoding"]) == ("srgb", "sqrt")
    with safe_open(str(built / "transformer" / "diffusion_pytorch_model.safetensors"), "pt") as handle:
        assert {handle.get_tensor(k).dtype for k in handle.keys()} == {torch.float16}
    assert detect_lora_layout(built / "pytorch_lora_weights.safetensors") == "published"
    with safe_open(str(built / "pytorch_lora_weights.safetensors"), "pt") as handle:
        keys = list(handle.keys())
        assert {handle.get_tensor(k).dtype for k in keys} == {torch.bfloat16}
    assert all("_name_or_path" not in p.read_text() for p in built.rglob("*.json"))
    assert "model.work" not in (built / "model_index.json").read_text()
    # TINY: 1 double block (4 targets) + 1 single block (3 targets), 3 branches, down + up.
    assert len(keys) == (4 + 3) * 3 * 2


def test_folder_loads_with_load_pipeline_and_generates(built):
    pipe = load_pipeline(built)
    assert pipe.vae_encoding == VAEEncoding(albedo="srgb", normal="sqrt")  # from intrinsix_defaults.json
    assert len(branch_lora_modules(pipe.transformer)) == len(adapted_linear_names(pipe.transformer)) == 7
    assert pipe.transformer.dtype == torch.float32  # float16 files, float32 on the CPU
    pipe.set_progress_bar_config(disable=True)
    out = pipe("polished gold tiles", height=32, width=32, num_inference_steps=3,
               generator=torch.Generator().manual_seed(0))
    for maps in (out.albedo, out.material, out.normal):
        assert maps.shape == (1, 32, 32, 3) and torch.isfinite(maps).all()
    assert float(out.albedo.min()) >= 0.0 and float(out.albedo.max()) <= 1.0
    assert torch.allclose(out.normal.norm(dim=-1), torch.ones(1, 32, 32), atol=1e-4)


def test_vae_option_keeps_that_folder_vae_and_trains_the_rest_with_word_and_caption_dropout(built, tmp_path):
    out = tmp_path / "again"
    code = main(["train", "demo", "--out", str(out), "--preset", "tiny", "--bank-size", "8", "--bank-workers", "0",
                 "--max-steps-per-stage", "2", "--device", "cpu", "--default-steps", "3", "--seed", "2",
                 "--vae", str(built), "--word-dropout", "--caption-dropout", "0.2", "--base-maps", "photo,albedo",
                 "--minutes-per-stage", "stage1=0.5,stage1_material=0.75", "--lora-rank", "6"])
    assert code == 0
    report = json.loads((out / "demo_training.json").read_text())
    # --lora-rank: the LoRA file holds rank-6 adapters (the tiny preset's are rank 4) and loads.
    assert report["sizes"]["lora_rank"] == 6
    with safe_open(str(out / "pytorch_lora_weights.safetensors"), "pt") as handle:
        ranks = {min(handle.get_slice(k).get_shape()) for k in handle.keys() if "lora" in k}
    assert ranks == {6}
    assert {m.rank for m in branch_lora_modules(load_pipeline(out).transformer).values()} == {6}
    assert report["word_dropout"] is True and report["caption_dropout"] == 0.2
    assert report["stages"]["base"]["maps"] == ["albedo", "photo"]
    budgets = {name: report["stages"][f"stage1_{name}"]["budget_seconds"] for name in ("albedo", "material", "normal")}
    assert budgets == {"albedo": 30.0, "material": 45.0, "normal": 30.0}
    assert report["normal_encoding"] == generation_defaults(out)["normal_encoding"] == "sqrt"  # the --vae folder's
    assert report["albedo_encoding"] == generation_defaults(out)["albedo_encoding"] == "srgb"
    # Trained with caption dropout: sampled with true classifier-free guidance by default.
    assert generation_defaults(out)["true_cfg_scale"] == GUIDED_CFG_SCALE > 1.0
    assert report["stages"]["vae"]["from"] == str(built) and "steps" not in report["stages"]["vae"]
    assert report["stages"]["base"]["steps"] == 2
    files = [folder / "vae" / "diffusion_pytorch_model.safetensors" for folder in (built, out)]
    with safe_open(str(files[0]), "pt") as a, safe_open(str(files[1]), "pt") as b:
        assert set(a.keys()) == set(b.keys())
        assert all(torch.equal(a.get_tensor(k), b.get_tensor(k)) for k in a.keys())
    assert json.loads((out / "vae" / "config.json").read_text())["scaling_factor"] == json.loads(
        (built / "vae" / "config.json").read_text())["scaling_factor"]
    with safe_open(str(built / "transformer" / "diffusion_pytorch_model.safetensors"), "pt") as a, \
            safe_open(str(out / "transformer" / "diffusion_pytorch_model.safetensors"), "pt") as b:
        assert any(not torch.equal(a.get_tensor(k), b.get_tensor(k)) for k in a.keys())  # a new base


def test_eval_vae_round_trip_checks_the_named_materials_through_the_vae(built, tmp_path, capsys):
    code = main(["eval", "demo", "--model", str(built), "--vae-round-trip", "--prompts", "2", "--device", "cpu",
                 "--out", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / "vae_round_trip.json").read_text())
    assert report["prompts"] == 2 and report["size"] == 32
    # The procedural materials pass their own checks; the toy VAE's round trip is what is measured.
    assert report["pass_rates"]["albedo_colour (procedural)"] == report["pass_rates"]["normals (procedural)"] == 1.0
    assert all(0.0 <= rate <= 1.0 for rate in report["pass_rates"].values())
    assert [row["prompt"] for row in report["rows"]] == ["satin beige subway tiles with dark grey grout",
                                                         "satin green ceramic tiles with grey grout"]
    assert "normals (round_trip)" in capsys.readouterr().out


def test_eval_generates_checks_and_reports_the_seen_control(built, tmp_path, capsys):
    code = main(["eval", "demo", "--model", str(built), "--prompts", "2", "--device", "cpu", "--out", str(tmp_path),
                 "--true-cfg-scale", "2"])
    assert code == 0
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["true_cfg_scale"] == 2.0
    assert (tmp_path / "contact-sheet.png").stat().st_size > 0
    held = [row for row in report["prompts"] if row["prompt"]["held_out"]]
    assert [row["prompt"]["prompt"] for row in held] == ["satin beige subway tiles with dark grey grout",
                                                        "satin green ceramic tiles with grey grout"]
    # The seen control: the trained finishes of the two tile prompts, generated for the roughness
    # order anyway (no extra generation), with the colour and normal checks.
    control = report["seen_control"]
    assert control and all(not row["prompt"]["held_out"] for row in control)
    assert {row["prompt"]["colour"] for row in control} == {"beige", "green"}
    trained = {(row["prompt"]["family"], row["prompt"]["colour"], row["prompt"]["finish"]) for row in control}
    assert not trained & {("ceramic_tiles", "beige", "satin"), ("ceramic_tiles", "green", "satin")}
    partners = len(FAMILIES["ceramic_tiles"].finishes) - 1
    assert len(report["finish_pairs"]) == 2 * partners
    assert len(control) == 2 * partners  # every other finish of beige and green tiles was trained
    assert report["generations"] == 2 + 2 * partners + 9  # held-out, their partners, the metal set
    rates = report["pass_rates"]
    assert rates["albedo colour (seen control)"]["total"] == rates["normals (seen control)"]["total"] == len(control)
    assert "albedo colour (seen control)" in capsys.readouterr().out


def test_unknown_encoding_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "demo", "--out", str(tmp_path / "m"), "--preset", "tiny", "--normal-encoding", "log"])
    assert stop.value.code == 2
    assert "argument --normal-encoding: invalid choice: 'log'" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--albedo-encoding", "--normal-encoding"])
def test_encodings_must_match_the_vae_folder(built, tmp_path, capsys, option):
    code = main(["train", "demo", "--out", str(tmp_path / "m"), "--preset", "tiny", "--device", "cpu",
                 "--vae", str(built), option, "linear"])
    assert code == 2
    key = option[2:].replace("-", "_")
    assert f"{key} 'linear' differs from the one the VAE of {built} was trained with" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_existing_output_needs_overwrite(built, capsys):
    code = main(["train", "demo", "--out", str(built), "--preset", "tiny", "--device", "cpu"])
    assert code == 2
    assert "is not empty (use --overwrite to replace it)" in capsys.readouterr().err


def test_negative_vae_weight_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "demo", "--out", str(tmp_path / "m"), "--preset", "tiny", "--vae-normal-weight", "-1"])
    assert stop.value.code == 2
    assert "--vae-normal-weight must be a finite number >= 0, got -1.0" in capsys.readouterr().err


def test_base_maps_with_base_is_refused(built, tmp_path, capsys):
    code = main(["train", "demo", "--out", str(tmp_path / "m"), "--preset", "tiny", "--device", "cpu",
                 "--base", str(built), "--base-maps", "albedo"])
    assert code == 2
    assert "base_maps (--base-maps) 'albedo' has no effect with base_from (--base)" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("args, message", [
    (["--minutes-per-stage", "lora=2"], "stage must be one of bank, vae, vae_decoder, base, stage1, stage2, "
                                        "stage1_albedo, "
                                        "stage1_material, stage1_normal, got 'lora'"),
    (["--max-steps-per-stage", "1"], "--max-steps-per-stage must be >= 2, got 1"),
    (["--bank-size", "0"], "--bank-size must be >= 1, got 0"),
    (["--vae", "/nonexistent"], "--vae /nonexistent is not a model folder with a VAE (no vae/config.json)"),
    (["--caption-dropout", "0.7"], "caption_dropout (--caption-dropout) must be in [0, 0.5], got 0.7"),
    (["--true-cfg-scale", "0.5"], "true_cfg_scale (--true-cfg-scale) must be a number in [1, 30] (1 = off), got 0.5"),
    (["--true-cfg-scale", "3", "--caption-dropout", "0"],
     "true_cfg_scale (--true-cfg-scale) above 1 needs caption_dropout (--caption-dropout) > 0"),
    (["--vae-batch", "0"], "vae_batch (--vae-batch) must be >= 1, got 0"),
    (["--vae-latent-noise", "2"], "vae_latent_noise (--vae-latent-noise) must be in [0, 1], got 2.0"),
    (["--base-maps", "albedo,height"], "base maps (--base-maps) must be distinct names out of albedo, material, "
                                       "normal, photo (at least one), got 'albedo,height'"),
    (["--lora-rank", "0"], "lora_rank (--lora-rank) must be in [1, 32] (the transformer width), got 0"),
    (["--lora-rank", "33"], "lora_rank (--lora-rank) must be in [1, 32] (the transformer width), got 33"),
])
def test_bad_options_are_one_line_errors(tmp_path, capsys, args, message):
    code = main(["train", "demo", "--out", str(tmp_path / "m"), "--preset", "tiny", "--device", "cpu", *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_demo_decoder_fine_tunes_the_decoder_in_place_and_reports_the_round_trips(built, tmp_path, capsys):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(built, model)
    code = main(["train", "demo-decoder", "--model", str(model), "--max-steps", "2", "--bank-size", "6",
                 "--bank-workers", "0", "--batch", "2", "--device", "cpu", "--seed", "3"])
    assert code == 0
    weights = "vae/diffusion_pytorch_model.safetensors"
    with safe_open(str(built / weights), "pt") as old, safe_open(str(model / weights), "pt") as new:
        assert set(old.keys()) == set(new.keys())
        encoder = [k for k in old.keys() if k.startswith("encoder.")]
        decoder = [k for k in old.keys() if k.startswith("decoder.")]
        assert encoder and decoder
        assert all(torch.equal(old.get_tensor(k), new.get_tensor(k)) for k in encoder)  # latents unchanged
        assert any(not torch.equal(old.get_tensor(k), new.get_tensor(k)) for k in decoder)
        assert {new.get_tensor(k).dtype for k in new.keys()} == {torch.float16}
    # Only the VAE's weights changed: the transformer, the LoRA and the latent statistics are the same.
    for name in ("transformer/diffusion_pytorch_model.safetensors", "pytorch_lora_weights.safetensors"):
        assert (built / name).read_bytes() == (model / name).read_bytes(), name
    config = lambda folder: json.loads((folder / "vae" / "config.json").read_text())
    assert config(model) == config(built)
    assert sorted(p.name for p in model.iterdir()) == sorted(p.name for p in built.iterdir())  # no staging left
    report = json.loads((model / "demo_training.json").read_text())["stages"]["vae_decoder"]
    assert report["size"] == 32 and report["steps"] == 2 and report["bank_materials"] == 6
    assert report["wraparound_fraction"] == 0.5  # the bundled recipe's default
    assert math.isfinite(report["final_loss"])
    for when in ("before", "after"):
        assert set(report[when]["relief_degrees_in_out"]) <= set(FAMILIES)
        assert all(0 <= passed <= tried for passed, tried in report[when]["colour_round_trip_passed"].values())
    assert "vae decoder: after 2 steps" in capsys.readouterr().out
    load_pipeline(model)


@pytest.mark.parametrize("args, message", [
    (["--minutes", "0"], "--minutes must be in (0, 600], got 0.0"),
    (["--batch", "0"], "--batch must be >= 1, got 0"),
    (["--bank-size", "0"], "--bank-size must be >= 1, got 0"),
    (["--wraparound-fraction", "2"], "--wraparound-fraction must be in [0, 1], got 2.0"),
    (["--device", "cuda:x"], "--device must be auto, cpu, cuda or cuda:N, got 'cuda:x'"),
])
def test_demo_decoder_bad_options_are_one_line_errors_that_leave_the_model_alone(built, capsys, args, message):
    before = (built / "vae" / "diffusion_pytorch_model.safetensors").read_bytes()
    code = main(["train", "demo-decoder", "--model", str(built), "--device", "cpu", *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert (built / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() == before


def test_demo_decoder_needs_a_model_folder(tmp_path, capsys):
    code = main(["train", "demo-decoder", "--model", str(tmp_path / "none"), "--device", "cpu"])
    assert code == 2
    assert f"--model {tmp_path / 'none'} has no vae/config.json: not a demo model folder" in capsys.readouterr().err
