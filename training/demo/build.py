"""`intrinsix train demo`: the bundled demo model, rebuilt from scratch (docs/demo-model.md).

Stages, each with a wall-clock budget (`STAGE_MINUTES`, overridable) and optionally a step cap:

1. bank    procedural materials of the training split, generated once in worker processes;
2. vae     the 16-channel AutoencoderKL on the three map types (vae_training.py), or the VAE of
           an existing model folder (`vae_from`, `--vae`);
   vae_decoder  a trained VAE's decoder fine-tuned on whole materials at the generation size, the
           encoder frozen (decoder_finetune.py: the VAE trains on 128^2 crops, and at 256^2 its
           zero padding and GroupNorm statistics tinted dark neutrals); not for a VAE taken from
           a folder (`intrinsix train demo-decoder` fine-tunes one in place);
3. base    the FluxTransformer2DModel, fully trained by flow matching on the image types of
           `base_maps` (default `DEMO_BASE_MAPS`: albedo only, as FLUX knows photos and not
           intrinsic maps; "photo" adds renders of the materials, photos.py) with the plain
           material captions (base_training.py), saved with the VAE, the vocabulary tokenizers
           and the frozen random text encoders as a diffusers folder: the demo's "FLUX.1-dev";
4. stage1  one PEFT LoRA per intrinsic by the project's stage-1 trainer (stages.py);
5. stage2  the three LoRAs aligned by the project's stage-2 trainer: cross-intrinsic attention with
           CI-dropout and the re-render loss through the compiled shading kernels.

The result in `out`: the base folder's components in float16 (model_index.json, scheduler/,
vae/, text_encoder/, tokenizer/, text_encoder_2/, tokenizer_2/, transformer/), the stage-2 LoRA in
the published layout (`pytorch_lora_weights.safetensors`, bfloat16 like the published file),
`intrinsix_defaults.json` (size, steps, guidance, and true classifier-free guidance for a model
trained with caption dropout) and `demo_training.json` (what ran: steps,
seconds, losses, sizes). Intermediate files go to `work_dir`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from diffusers import AutoencoderKL

from intrinsix.generator import IntrinsiXPipeline, load_pipeline, load_published_lora, save_published_lora
from intrinsix.generator.conditioning import LINEAR, VAEEncoding
from intrinsix.generator.defaults import DEFAULTS_FILE, check_true_cfg_scale, generation_defaults, vae_encoding

from .architecture import DemoSizes, make_scheduler, make_text_components, make_transformer, make_vae, parameter_count
from .bank import MAPS, check_caption_dropout, make_bank
from .base_training import BaseTrainingConfig, parse_base_maps, prepare_base_data, train_base
from .stages import (BankAlignTrainer, BankIndependentTrainer, StageSettings, run_for_seconds, stage1_config,
                     stage2_config)
from .vae_training import VAETrainingConfig, colour_round_trip, relief_round_trip, set_latent_statistics, train_vae

STAGES = ("bank", "vae", "vae_decoder", "base", "stage1", "stage2")
# Optional per-intrinsic stage-1 budgets (minutes); an intrinsic without its own takes "stage1".
STAGE1_INTRINSIC_STAGES = tuple(f"stage1_{name}" for name in MAPS)
# True classifier-free guidance written as the default of a model trained with caption dropout.
GUIDED_CFG_SCALE = 2.5
# The bundled model's recipe (docs/demo-model.md), the defaults of `train demo`: minutes of wall time
# per stage on one H100 (stage1: per intrinsic, the material and normal LoRAs 6; 35 minutes in all,
# about 38 with loading, round trips and saving), the map types of the base, the VAE's encodings,
# crops per map type and latent noise, the decoder stage's batch, learning rate and share of
# wrap-around steps, and the caption dropout of the base and LoRA stages (which makes the model
# sample with true classifier-free guidance).
STAGE_MINUTES = {"bank": 1.0, "vae": 4.5, "vae_decoder": 3.0, "base": 8.0, "stage1": 3.0, "stage1_material": 6.0,
                 "stage1_normal": 6.0, "stage2": 3.5}
DEMO_BASE_MAPS = ("albedo",)
DEMO_ENCODING = VAEEncoding(albedo="srgb", normal="sqrt")
DEMO_VAE_BATCH = 32
DEMO_VAE_LATENT_NOISE = 0.0
DEMO_DECODER_BATCH = 16  # whole materials per map type and step of the decoder fine-tune
DEMO_DECODER_LR = 2e-4
DEMO_DECODER_WRAPAROUND = 0.5  # share of the decoder stage's steps decoded with wrap-around padding (--tileable)
DEMO_CAPTION_DROPOUT = 0.1
REPORT_FILE = "demo_training.json"
MAX_SHARD_SIZE = "12MB"  # weight files of the model folder stay far below the repository's 20 MiB file limit


@dataclass
class DemoBuildOptions:
    out: Path
    work_dir: Path
    device: torch.device
    sizes: DemoSizes
    seed: int = 0
    minutes: dict = field(default_factory=lambda: dict(STAGE_MINUTES))
    max_steps: int | None = None  # cap on the steps of every training stage (smoke tests)
    bank_size: int = 20000  # materials (the time budget may stop earlier)
    workers: int = 0  # processes generating the bank (0 = in this process)
    stage1_batch: int = 32  # samples per stage-1 step
    stage2_batch: int = 8  # triples per stage-2 step
    default_steps: int = 20  # num_inference_steps written to intrinsix_defaults.json
    wait_for_kernels: float = 0.0  # seconds stage 2 (and a base on photos) waits for the compiled kernels
    base_from: Path | None = None  # reuse the VAE, text parts and base transformer of this model folder
    vae_from: Path | None = None  # reuse the VAE of this model folder (the base and the LoRAs are trained)
    vae_normal_weight: float = VAETrainingConfig.normal_weight  # weight of the normal maps in the VAE loss
    vae_spectrum_weight: float = 0.0  # VAE: L1 of the normal maps' amplitude spectra (0 = off)
    vae_adversarial_weight: float = 0.0  # VAE: patch discriminator (0 = off)
    word_dropout: bool = False  # base, stage 1 and stage 2 also see captions without finish / colour word
    caption_dropout: float = DEMO_CAPTION_DROPOUT  # base, stage 1 and stage 2 see the empty caption this often
    base_maps: tuple[str, ...] | None = None  # map types the base trains on (None: DEMO_BASE_MAPS; not with
    #                                           base_from)
    true_cfg_scale: float | None = None  # written to intrinsix_defaults.json (None: GUIDED_CFG_SCALE with
    #                                      caption dropout, else 1 = off)
    albedo_encoding: str | None = None  # how the VAE sees albedo / normal maps (None: those of the `--vae` /
    normal_encoding: str | None = None  # `--base` folder, else DEMO_ENCODING, the bundled model's)
    vae_batch: int = DEMO_VAE_BATCH  # VAE crops per map type and step
    vae_latent_noise: float = DEMO_VAE_LATENT_NOISE  # VAE: decoder input noise, x posterior std
    overwrite: bool = False

    def __post_init__(self):
        check_caption_dropout(self.caption_dropout)
        if self.base_from is not None and self.base_maps is not None:
            raise ValueError(f"base_maps (--base-maps) {','.join(parse_base_maps(self.base_maps))!r} has no effect "
                             "with base_from (--base): that folder's base transformer is kept, not trained")
        self.base_maps = parse_base_maps(DEMO_BASE_MAPS if self.base_maps is None else self.base_maps)
        self.encoding  # checks the names
        if self.vae_batch < 1:
            raise ValueError(f"vae_batch (--vae-batch) must be >= 1, got {self.vae_batch}")
        if not 0.0 <= self.vae_latent_noise <= 1.0:
            raise ValueError(f"vae_latent_noise (--vae-latent-noise) must be in [0, 1], got {self.vae_latent_noise}")
        source = self.base_from or self.vae_from
        if source is not None:
            trained = generation_defaults(source)
            for key in ("albedo_encoding", "normal_encoding"):
                asked = getattr(self, key)
                if asked is not None and trained[key] != asked:
                    raise ValueError(f"{key} {asked!r} differs from the one the VAE of {source} was trained with "
                                     f"({trained[key]!r})")
        if self.true_cfg_scale is not None:
            check_true_cfg_scale(self.true_cfg_scale, "true_cfg_scale (--true-cfg-scale)")
            if self.true_cfg_scale > 1.0 and self.caption_dropout == 0.0:
                raise ValueError("true_cfg_scale (--true-cfg-scale) above 1 needs caption_dropout (--caption-dropout) "
                                 "> 0: a model never trained on the empty caption has no unconditional prediction "
                                 "to guide against")

    @property
    def encoding(self) -> VAEEncoding:
        """The encodings of the VAE this build uses (and writes to intrinsix_defaults.json)."""
        source = self.base_from or self.vae_from
        start = vae_encoding(generation_defaults(source)) if source is not None else DEMO_ENCODING
        return VAEEncoding(albedo=self.albedo_encoding or start.albedo, normal=self.normal_encoding or start.normal)

    @property
    def default_true_cfg_scale(self) -> float:
        if self.true_cfg_scale is not None:
            return self.true_cfg_scale
        return GUIDED_CFG_SCALE if self.caption_dropout > 0 else 1.0


def parse_minutes(text: str | None) -> dict:
    """'1.5' (every stage, every intrinsic) or 'base=3,stage2=1.5' (named stages; the others keep
    STAGE_MINUTES). Named items may also give one intrinsic its own stage-1 budget
    ('stage1=3,stage1_material=6'). A named 'stage1' is the budget of every intrinsic not named too:
    it replaces STAGE_MINUTES' own per-intrinsic defaults (stage1_material), so 'stage1=0.03' is short
    for all three LoRAs."""
    minutes = dict(STAGE_MINUTES)
    if not text:
        return minutes
    if "=" not in text:
        value = _minutes_value("--minutes-per-stage", text)
        return {name: value for name in STAGES}
    named = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in STAGES + STAGE1_INTRINSIC_STAGES:
            allowed = ", ".join(STAGES + STAGE1_INTRINSIC_STAGES)
            raise ValueError(f"--minutes-per-stage: stage must be one of {allowed}, got {name!r}")
        named[name] = _minutes_value(f"--minutes-per-stage {name}", value)
    if "stage1" in named:
        minutes = {name: value for name, value in minutes.items() if name not in STAGE1_INTRINSIC_STAGES}
    return {**minutes, **named}


def _minutes_value(what: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number of minutes in (0, 6000], got {text!r}") from None
    if not 0.0 < value <= 6000.0:
        raise ValueError(f"{what} must be a number of minutes in (0, 6000], got {value}")
    return value


def wait_for_kernels(seconds: float, device: torch.device, log=print) -> bool:
    """True once the compiled kernels load (with CUDA when `device` is CUDA); polls for up to
    `seconds` (a kernels build may still be running beside this one)."""
    from intrinsix.kernels import has_cuda
    from intrinsix.kernels._backend import KernelsNotBuiltError

    deadline = time.perf_counter() + seconds
    while True:
        try:
            ok = has_cuda() if device.type == "cuda" else True
            if ok:
                return True
            log("kernels: the library was built without CUDA")
            return False
        except KernelsNotBuiltError as error:
            if time.perf_counter() >= deadline:
                log(f"kernels: not available: {error}")
                return False
        time.sleep(5.0)


def _prepare_folders(options: DemoBuildOptions) -> None:
    for folder in (options.out, options.work_dir):
        if folder.exists() and any(folder.iterdir()):
            if not options.overwrite:
                raise FileExistsError(f"{folder} is not empty (use --overwrite to replace it)")
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)


def build_demo_model(options: DemoBuildOptions, log=print) -> dict:
    """Run every stage (module docstring); returns the report also written to `out/demo_training.json`."""
    _prepare_folders(options)
    _quiet_loading_bars()
    device, sizes, seed = options.device, options.sizes, options.seed
    seconds = {name: 60.0 * m for name, m in options.minutes.items()}
    cap = options.max_steps if options.max_steps is not None else 1_000_000
    encoding = options.encoding
    report = {"device": _device_name(device), "sizes": asdict(sizes), "seed": seed, "minutes": options.minutes,
              "word_dropout": options.word_dropout, "caption_dropout": options.caption_dropout,
              **encoding_defaults(encoding), "stages": {}}
    began = time.perf_counter()

    # 1. bank
    t = time.perf_counter()
    bank = make_bank(options.bank_size, sizes.image_size, seed, options.workers, seconds["bank"], log)
    report["stages"]["bank"] = {"materials": len(bank), "seconds": round(time.perf_counter() - t, 1)}

    base_dir = options.work_dir / "base"
    if options.base_from is not None:
        # Only the LoRA stages run: the base components come from an existing model folder.
        pipe = IntrinsiXPipeline.from_pretrained(str(options.base_from), dtype=torch.float32, local_files_only=True)
        pipe.save_pretrained(str(base_dir))
        write_defaults(base_dir, encoding_defaults(encoding))
        report["stages"]["base"] = {"from": str(options.base_from)}
        del pipe
    else:
        _train_base_model(options, bank, base_dir, seconds, cap, report, log)

    # 4. stage 1 (the trainers' IndependentTrainer), one LoRA per intrinsic
    cuda = device.type == "cuda"
    settings1 = StageSettings(batch_size=options.stage1_batch, lr=1e-3, rank=sizes.lora_rank,
                              workers=4 if cuda else 0, seed=seed + 7)
    stage1_files = {}
    for intrinsic in MAPS:
        trainer = BankIndependentTrainer(stage1_config(intrinsic, base_dir, options.work_dir / f"stage1_{intrinsic}",
                                                       bank, settings1), bank, options.word_dropout,
                                         options.caption_dropout)
        budget = seconds.get(f"stage1_{intrinsic}", seconds["stage1"])
        run = run_for_seconds(trainer, budget, max_steps=options.max_steps, log=log)
        stage1_files[intrinsic] = str(run.lora_path)
        report["stages"][f"stage1_{intrinsic}"] = {**_run_report(run), "budget_seconds": round(budget, 1)}
        del trainer
        _free(device)

    # 5. stage 2 (the trainers' AlignTrainer): CI attention + re-render loss (needs the kernels)
    kernels = wait_for_kernels(options.wait_for_kernels, device, log)
    settings2 = StageSettings(batch_size=options.stage2_batch, lr=5e-4, rank=sizes.lora_rank,
                              workers=4 if cuda else 0, seed=seed + 8, rerender_weight=1.0 if kernels else 0.0)
    if not kernels:
        log("stage2: WITHOUT the re-render loss (no compiled kernels): flow loss and cross-intrinsic attention only")
    trainer = BankAlignTrainer(stage2_config(stage1_files, base_dir, options.work_dir / "stage2", bank, settings2),
                               bank, options.word_dropout, options.caption_dropout)
    run = run_for_seconds(trainer, seconds["stage2"], max_steps=options.max_steps, log=log)
    report["stages"]["stage2"] = {**_run_report(run), "rerender_loss": kernels}
    del trainer
    _free(device)

    # The model folder: float16 components + the published-layout LoRA (bfloat16) + defaults.
    write_model_folder(base_dir, run.lora_path, options.out, options.default_steps, sizes.image_size,
                       options.default_true_cfg_scale, encoding)
    report["parameters"] = _parameter_report(options.out)
    report["total_seconds"] = round(time.perf_counter() - began, 1)
    report["files_mb"] = round(sum(f.stat().st_size for f in options.out.rglob("*") if f.is_file()) / 2**20, 2)
    (options.out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    log(f"demo model written to {options.out} ({report['files_mb']} MB) in {report['total_seconds']:.0f} s")
    return report


def _train_base_model(options: DemoBuildOptions, bank, base_dir: Path, seconds: dict, cap: int, report: dict,
                      log) -> None:
    """Stages 2 (VAE) and 3 (base transformer); saves the base folder (float32) to `base_dir`."""
    device, sizes, seed = options.device, options.sizes, options.seed
    encoding = options.encoding
    device_bank = bank.to(device)

    # 2. vae
    t = time.perf_counter()
    if options.vae_from is not None:
        vae = AutoencoderKL.from_pretrained(str(options.vae_from), subfolder="vae", torch_dtype=torch.float32,
                                            local_files_only=True).to(device).eval().requires_grad_(False)
        stage = {"from": str(options.vae_from), "shift_factor": vae.config.shift_factor,
                 "scaling_factor": vae.config.scaling_factor}
    else:
        vae = make_vae(sizes, seed + 1)
        crop = min(128, sizes.image_size)
        vae_config = VAETrainingConfig(max_seconds=seconds["vae"], max_steps=cap, crop=crop, seed=seed + 2,
                                       batch_size=options.vae_batch, latent_noise=options.vae_latent_noise,
                                       normal_weight=options.vae_normal_weight,
                                       spectrum_weight=options.vae_spectrum_weight,
                                       adversarial_weight=options.vae_adversarial_weight,
                                       albedo_encoding=encoding.albedo, normal_encoding=encoding.normal)
        history = train_vae(vae, device_bank, vae_config, device, log)
        stats = set_latent_statistics(vae, device_bank, device, encoding=encoding)
        stage = {"steps": len(history), "seconds": round(time.perf_counter() - t, 1),
                 "final_loss": _tail_mean(history, "loss"), "final_l1": _tail_mean(history, "l1"),
                 "batch_size": vae_config.batch_size, "latent_noise": vae_config.latent_noise,
                 "normal_weight": vae_config.normal_weight, "spectrum_weight": vae_config.spectrum_weight,
                 "adversarial_weight": vae_config.adversarial_weight, **stats}
        # 2b. the decoder at the generation size (the encoder, so the latent statistics, unchanged)
        t = time.perf_counter()
        decoder_config = decoder_stage_config(sizes.image_size, encoding, seconds["vae_decoder"], cap, seed + 9,
                                              normal_weight=options.vae_normal_weight)
        history = train_vae(vae, device_bank, decoder_config, device, log)
        report["stages"]["vae_decoder"] = {"size": sizes.image_size, "steps": len(history),
                                           "seconds": round(time.perf_counter() - t, 1),
                                           "final_loss": _tail_mean(history, "loss"),
                                           "batch_size": decoder_config.batch_size, "lr": decoder_config.lr,
                                           "wraparound_fraction": decoder_config.wraparound_fraction}
    relief = relief_round_trip(vae, device_bank, device, encoding=encoding)
    log("vae: mean tilt in / after a round trip (deg): "
        + ", ".join(f"{family} {a:.1f}/{b:.1f}" for family, (a, b) in relief.items()))
    colours = colour_round_trip(vae, device_bank, device, encoding=encoding)
    log("vae: albedos whose colour check passes after a round trip: "
        + ", ".join(f"{colour} {a}/{b}" for colour, (a, b) in colours.items()))
    report["stages"]["vae"] = {**stage, "relief_degrees_in_out": relief, "colour_round_trip_passed": colours}

    # 3. base transformer
    t = time.perf_counter()
    components = make_text_components(sizes, seed + 3)
    transformer = make_transformer(sizes, seed + 4)
    pipe = IntrinsiXPipeline(scheduler=make_scheduler(), vae=vae, transformer=transformer, **components).to(device)
    pipe.vae_encoding = encoding
    if "photo" in options.base_maps and not wait_for_kernels(options.wait_for_kernels, device, log):
        raise RuntimeError("base maps (--base-maps) 'photo' needs the compiled shading kernels, which did not load "
                           f"(waited {options.wait_for_kernels:g} s, --wait-for-kernels)")
    data = prepare_base_data(pipe, device_bank, device, seed + 5, maps=options.base_maps)
    del device_bank
    history = train_base(transformer, data, BaseTrainingConfig(max_seconds=seconds["base"], max_steps=cap,
                                                               word_dropout=options.word_dropout,
                                                               caption_dropout=options.caption_dropout,
                                                               maps=options.base_maps, seed=seed + 6),
                         device, log)
    del data
    pipe.to("cpu").save_pretrained(str(base_dir))
    write_defaults(base_dir, encoding_defaults(encoding))  # the LoRA stages load the base with it
    report["stages"]["base"] = {"maps": list(options.base_maps), "steps": len(history),
                                "seconds": round(time.perf_counter() - t, 1),
                                "final_loss": _tail_mean(history, "loss")}
    del pipe, transformer, vae
    _free(device)


def encoding_defaults(encoding: VAEEncoding) -> dict:
    """The intrinsix_defaults.json keys of a VAE encoding."""
    return {"albedo_encoding": encoding.albedo, "normal_encoding": encoding.normal}


def write_defaults(folder: Path, defaults: dict) -> None:
    (folder / DEFAULTS_FILE).write_text(json.dumps(defaults, indent=2) + "\n")
    generation_defaults(folder)  # the file must pass the loader's checks


def write_model_folder(base_dir: Path, lora_file: Path, out: Path, steps: int, size: int,
                       true_cfg_scale: float = 1.0, encoding: VAEEncoding = LINEAR) -> None:
    """Base components in float16 + the LoRA (published layout, bfloat16) + intrinsix_defaults.json."""
    pipe = IntrinsiXPipeline.from_pretrained(str(base_dir), dtype=torch.float16, local_files_only=True)
    pipe.save_pretrained(str(out), max_shard_size=MAX_SHARD_SIZE)
    transformer = pipe.transformer.float()
    load_published_lora(transformer, lora_file)
    save_published_lora(transformer, out, dtype=torch.bfloat16)
    defaults = {"size": size, "num_inference_steps": steps, "guidance_scale": 1.0}
    if true_cfg_scale > 1.0:
        defaults["true_cfg_scale"] = true_cfg_scale
    defaults.update(encoding_defaults(encoding))
    write_defaults(out, defaults)
    drop_build_paths(out)
    load_pipeline(out)  # the folder must load with exactly the loader the product uses


def drop_build_paths(folder: Path) -> None:
    """Remove the build machine's paths that diffusers records (`_name_or_path`) from the folder's JSON files."""
    for config in folder.rglob("*.json"):
        data = json.loads(config.read_text())
        if isinstance(data, dict) and data.pop("_name_or_path", None) is not None:
            config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def decoder_stage_config(size: int, encoding: VAEEncoding, max_seconds: float, max_steps: int, seed: int,
                         batch_size: int = DEMO_DECODER_BATCH, lr: float = DEMO_DECODER_LR,
                         wraparound_fraction: float = DEMO_DECODER_WRAPAROUND,
                         normal_weight: float = VAETrainingConfig.normal_weight) -> VAETrainingConfig:
    """The decoder fine-tune of stage `vae_decoder` and `train demo-decoder`: the decoder alone on
    whole materials of the generation `size`, no latent noise."""
    return VAETrainingConfig(max_seconds=max_seconds, max_steps=max_steps, batch_size=batch_size, crop=size, lr=lr,
                             warmup_steps=20, latent_noise=0.0, normal_weight=normal_weight, decoder_only=True,
                             wraparound_fraction=wraparound_fraction, albedo_encoding=encoding.albedo,
                             normal_encoding=encoding.normal, seed=seed)


def _parameter_report(folder: Path) -> dict:
    pipe = load_pipeline(folder)
    out = {name: parameter_count(module) for name, module in pipe.components.items()
           if isinstance(module, torch.nn.Module)}
    from intrinsix.generator import branch_lora_parameters

    out["lora_all_branches"] = sum(p.numel() for p in branch_lora_parameters(pipe.transformer))
    out["transformer"] -= out["lora_all_branches"]
    return out


def _run_report(run) -> dict:
    return {"steps": run.steps, "seconds": round(run.seconds, 1), "ms_per_step": round(1000 * run.seconds_per_step, 1),
            "final_loss": {k: round(v, 5) for k, v in run.final_loss.items() if k not in ("lr", "seconds")}}


def _tail_mean(history: list[dict], key: str, count: int = 50) -> float:
    tail = history[-count:]
    return round(sum(r[key] for r in tail) / max(1, len(tail)), 5)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    return f"CPU ({cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def _quiet_loading_bars() -> None:
    """diffusers / transformers print a progress bar per component load; the build loads often."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def _free(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
