"""Training configurations: YAML files -> validated dataclasses (docs/training.md, "Configs").

One schema serves both stages; `load_config(path, stage)` checks the keys the stage needs:

    stage 1 "independent": `intrinsic` (albedo | material | normal); no `loss` section.
    stage 2 "align": `lora.init` with the three stage-1 files; `intrinsic` must be absent.

Every problem names the dotted key, the bad value and what is allowed, e.g.
`optimizer.lrr: unknown key (allowed: betas, eps, lr, ...)` or `lora.rank: must be an integer >= 1, got 0`.
Unknown keys are errors (a typo must not silently fall back to a default). Relative paths are
resolved against the current working directory when the trainer starts.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STAGES = ("independent", "align")
INTRINSICS = ("albedo", "material", "normal")
DATA_KINDS = ("interiorverse", "procedural")
OPTIMIZERS = ("adamw", "prodigy")
LR_SCHEDULES = ("constant", "linear", "cosine")
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
RENDER_SPACES = ("tonemapped", "linear")
BRDFS = ("disney", "ggx")
SAVE_DTYPES = ("bf16", "fp32")


class ConfigError(ValueError):
    """A training configuration is invalid; the message names the key (e.g. `lora.rank`)."""


@dataclass
class ModelConfig:
    path: str = ""  # local diffusers FLUX.1 folder (model_index.json or the component subfolders)
    gradient_checkpointing: bool = False  # transformer (and, in stage 2, VAE decoder) checkpointing
    guidance: float = 1.0  # embedded guidance during training (REFERENCE §1: training used 1.0)
    max_sequence_length: int | None = None  # T5 tokens; None = min(512, tokenizer limit)


@dataclass
class DataConfig:
    kind: str = "interiorverse"
    root: str | None = None  # InteriorVerse root (holds dataset_85/)
    caption_root: str | None = None  # default: root
    split: str = "train"
    size: int = 512  # square crop side in pixels (multiple of 16)
    random_crop: bool = True
    hflip: bool = True  # InteriorVerse only (mirrors and negates normal x)
    length: int = 10000  # procedural: number of distinct materials (the stream cycles through them)
    families: list[str] | None = None  # procedural: restrict the families
    exclude_held_out: bool = False  # procedural: only the training half of split_combinations()
    seed: int = 0  # augmentation / material seed of the data set
    num_workers: int = 0  # DataLoader workers per process


@dataclass
class LoraConfig:
    rank: int = 64  # REFERENCE §1
    alpha: float | None = None  # None = rank (scale 1.0)
    init: dict[str, str] | None = None  # stage 2: {albedo, material, normal: stage-1 LoRA file or folder}


@dataclass
class OptimizerConfig:
    name: str = "prodigy"
    lr: float = 1.0
    weight_decay: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    max_grad_norm: float = 1.0  # 0 = no clipping
    lr_schedule: str = "constant"
    warmup_steps: int = 0


@dataclass
class TrainConfig:
    seed: int = 0
    max_steps: int = 2000  # optimizer steps
    batch_size: int = 1  # samples per process per micro-batch (stage 2: triples)
    gradient_accumulation_steps: int = 10
    mixed_precision: str = "auto"  # auto = bf16 on CUDA, no on the CPU


@dataclass
class LossConfig:
    rerender_weight: float = 1.0
    num_lights: int = 5
    render_space: str = "tonemapped"  # compare log(1 + 64 x) / log(65) tone-mapped renders, or linear radiance
    brdf: str = "disney"
    ci_dropout: float = 0.25
    lpips_weight: float = 0.1  # used only when both LPIPS weight files are given
    lpips_backbone: str | None = None  # local torchvision VGG16 state dict (features.N.weight/bias)
    lpips_linear: str | None = None  # local LPIPS v0.1 VGG linear layers (lin0..lin4)


@dataclass
class OutputConfig:
    dir: str = "runs/train"
    checkpoint_every: int = 250  # optimizer steps; 0 = only the final state
    keep_checkpoints: int = 3  # 0 = keep all
    validate_every: int = 250  # optimizer steps; 0 = never
    validation_prompts: list[str] = field(
        default_factory=lambda: ["polished gold tiles", "rough red brick with grey mortar"])
    validation_steps: int = 28
    validation_size: int = 512
    validation_guidance: float = 3.5
    validation_seed: int = 0
    save_dtype: str = "fp32"  # dtype of the final LoRA file (checkpoints are always fp32)
    progress: bool = True  # tqdm bar on the main process


@dataclass
class TrainingConfig:
    stage: str
    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    optimizer: OptimizerConfig
    lora: LoraConfig
    output: OutputConfig
    loss: LossConfig
    intrinsic: str | None = None
    source: str = "<dict>"  # where the config came from (for messages)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what `config.yaml` in the output folder holds)."""
        out = dataclasses.asdict(self)
        out.pop("source")
        if self.stage == "independent":
            out.pop("loss")
        else:
            out.pop("intrinsic")
        return out


SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig, "optimizer": OptimizerConfig,
            "lora": LoraConfig, "output": OutputConfig, "loss": LossConfig}


# -- loading -----------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike, stage: str, overrides: list[str] | None = None,
                check_paths: bool = True) -> TrainingConfig:
    """Read a YAML config file for `stage` ("independent" or "align") and validate it.

    overrides: "dotted.key=value" strings applied on top of the file (values parsed as YAML),
        e.g. ["train.max_steps=10", "output.dir=/tmp/run"].
    check_paths: also check that the data folder / LoRA / LPIPS files and the model folder exist.
    Raises ConfigError naming the key; FileNotFoundError if the file itself is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(raw).__name__}")
    for item in overrides or []:
        apply_override(raw, item)
    return config_from_dict(raw, stage, source=str(path), check_paths=check_paths)


def apply_override(raw: dict, item: str) -> None:
    """Set raw[a][b] = yaml(value) for an override "a.b=value" (in place)."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r} must look like section.key=value")
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {item!r}: {part} is not a section")
        node = child
    try:
        node[parts[-1]] = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"override {item!r}: value is not valid YAML: {error}") from None


def config_from_dict(raw: Mapping[str, Any], stage: str, source: str = "<dict>",
                     check_paths: bool = True) -> TrainingConfig:
    """Validate a plain mapping (the parsed YAML) into a TrainingConfig (see `load_config`)."""
    if stage not in STAGES:
        raise ConfigError(f"stage must be one of {STAGES}, got {stage!r}")
    allowed = set(SECTIONS) | {"intrinsic", "stage"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{source}: {unknown[0]}: unknown key (allowed top-level keys: {', '.join(sorted(allowed))})")
    if "stage" in raw and raw["stage"] != stage:
        raise ConfigError(f"{source}: stage: the file is for {raw['stage']!r} but the command trains {stage!r}")
    sections = {}
    for name, cls in SECTIONS.items():
        value = raw.get(name, {})
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {name}: must be a mapping of keys, got {type(value).__name__}")
        sections[name] = _section(cls, name, value, source)
    if stage == "independent" and "loss" in raw:
        raise ConfigError(f"{source}: loss: the loss section belongs to stage 2 (align); stage 1 uses the flow "
                          "loss only")
    config = TrainingConfig(stage=stage, intrinsic=raw.get("intrinsic"), source=source, **sections)
    validate(config, check_paths=check_paths)
    return config


def _section(cls, name: str, values: Mapping[str, Any], source: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: {name}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(fields))})")
    kwargs = {}
    for key, value in values.items():
        kwargs[key] = _coerce(f"{name}.{key}", value, fields[key].type, source)
    return cls(**kwargs)


def _coerce(key: str, value: Any, annotation: str, source: str) -> Any:
    """Type check (and int -> float widening) from the dataclass annotation string."""
    optional = "None" in annotation
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{source}: {key}: must not be empty (null)")
    base = annotation.replace(" | None", "")

    def fail(kind: str):
        raise ConfigError(f"{source}: {key}: must be {kind}, got {value!r}")

    if base == "bool":
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            fail("an integer")
        return value
    if base == "float":
        if isinstance(value, str):  # PyYAML reads 1e-4 (no dot in the mantissa) as a string
            try:
                value = float(value)
            except ValueError:
                fail("a finite number")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail("a finite number")
        return float(value)
    if base == "str":
        if not isinstance(value, str):
            fail("a string")
        return value
    if base == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail("a list of strings")
        return list(value)
    if base == "list[float]":
        if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in value):
            fail("a list of numbers")
        return [float(v) for v in value]
    if base == "dict[str, str]":
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in value.items()):
            fail("a mapping of names to paths")
        return dict(value)
    raise AssertionError(f"unhandled annotation {annotation} for {key}")


# -- validation --------------------------------------------------------------------------------------


def _need(ok: bool, source: str, key: str, message: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{source}: {key}: {message}, got {value!r}")


def validate(config: TrainingConfig, check_paths: bool = True) -> None:
    """Range and consistency checks (ConfigError naming the key); with check_paths, the files too."""
    s = config.source
    m, d, t, o, lo, out, loss = (config.model, config.data, config.train, config.optimizer, config.lora,
                                 config.output, config.loss)
    if config.stage == "independent":
        _need(config.intrinsic in INTRINSICS, s, "intrinsic", f"must be one of {', '.join(INTRINSICS)}",
              config.intrinsic)
        _need(lo.init is None, s, "lora.init", "stage 1 starts from fresh adapters; lora.init is for stage 2 "
              "(align)", lo.init)
    else:
        _need(config.intrinsic is None, s, "intrinsic", "stage 2 (align) trains all three intrinsics; remove it",
              config.intrinsic)
        _need(lo.init is not None, s, "lora.init", "stage 2 needs the three stage-1 LoRA files "
              "{albedo: ..., material: ..., normal: ...}", lo.init)
        _need(set(lo.init) == set(INTRINSICS), s, "lora.init", f"must name exactly {', '.join(INTRINSICS)}",
              sorted(lo.init))
    _need(bool(m.path), s, "model.path", "must be a local diffusers FLUX.1 folder", m.path)
    _need(m.guidance >= 0, s, "model.guidance", "must be >= 0", m.guidance)
    _need(m.max_sequence_length is None or 1 <= m.max_sequence_length <= 512, s, "model.max_sequence_length",
          "must be in [1, 512]", m.max_sequence_length)

    _need(d.kind in DATA_KINDS, s, "data.kind", f"must be one of {', '.join(DATA_KINDS)}", d.kind)
    if d.kind == "interiorverse":
        _need(bool(d.root), s, "data.root", "the InteriorVerse data set needs its root folder", d.root)
        _need(d.split in ("train", "val", "test"), s, "data.split", "must be train, val or test", d.split)
    _need(d.size >= 16 and d.size % 16 == 0, s, "data.size", "must be a multiple of 16, >= 16", d.size)
    _need(d.length >= 1, s, "data.length", "must be an integer >= 1", d.length)
    _need(d.seed >= 0, s, "data.seed", "must be >= 0", d.seed)
    _need(0 <= d.num_workers <= 64, s, "data.num_workers", "must be in [0, 64]", d.num_workers)
    if d.families is not None:
        from .data import FAMILIES

        bad = [f for f in d.families if f not in FAMILIES]
        _need(not bad and bool(d.families), s, "data.families", f"must be a non-empty list of {sorted(FAMILIES)}",
              d.families)

    _need(1 <= lo.rank <= 4096, s, "lora.rank", "must be an integer in [1, 4096]", lo.rank)
    _need(lo.alpha is None or lo.alpha > 0, s, "lora.alpha", "must be > 0 (or null for alpha = rank)", lo.alpha)

    _need(o.name in OPTIMIZERS, s, "optimizer.name", f"must be one of {', '.join(OPTIMIZERS)}", o.name)
    _need(o.lr > 0, s, "optimizer.lr", "must be > 0", o.lr)
    _need(o.weight_decay >= 0, s, "optimizer.weight_decay", "must be >= 0", o.weight_decay)
    _need(len(o.betas) == 2 and all(0 <= b < 1 for b in o.betas), s, "optimizer.betas",
          "must be two numbers in [0, 1)", o.betas)
    _need(o.eps > 0, s, "optimizer.eps", "must be > 0", o.eps)
    _need(o.max_grad_norm >= 0, s, "optimizer.max_grad_norm", "must be >= 0 (0 = no clipping)", o.max_grad_norm)
    _need(o.lr_schedule in LR_SCHEDULES, s, "optimizer.lr_schedule", f"must be one of {', '.join(LR_SCHEDULES)}",
          o.lr_schedule)
    _need(0 <= o.warmup_steps <= t.max_steps, s, "optimizer.warmup_steps", f"must be in [0, train.max_steps = "
          f"{t.max_steps}]", o.warmup_steps)

    _need(t.seed >= 0, s, "train.seed", "must be >= 0", t.seed)
    _need(t.max_steps >= 1, s, "train.max_steps", "must be an integer >= 1", t.max_steps)
    _need(t.batch_size >= 1, s, "train.batch_size", "must be an integer >= 1", t.batch_size)
    _need(t.gradient_accumulation_steps >= 1, s, "train.gradient_accumulation_steps", "must be an integer >= 1",
          t.gradient_accumulation_steps)
    _need(t.mixed_precision in MIXED_PRECISION, s, "train.mixed_precision",
          f"must be one of {', '.join(MIXED_PRECISION)}", t.mixed_precision)

    _need(loss.rerender_weight >= 0, s, "loss.rerender_weight", "must be >= 0", loss.rerender_weight)
    _need(1 <= loss.num_lights <= 64, s, "loss.num_lights", "must be an integer in [1, 64]", loss.num_lights)
    _need(loss.render_space in RENDER_SPACES, s, "loss.render_space", f"must be one of {', '.join(RENDER_SPACES)}",
          loss.render_space)
    _need(loss.brdf in BRDFS, s, "loss.brdf", f"must be one of {', '.join(BRDFS)}", loss.brdf)
    _need(0 <= loss.ci_dropout <= 1, s, "loss.ci_dropout", "must be in [0, 1]", loss.ci_dropout)
    _need(loss.lpips_weight >= 0, s, "loss.lpips_weight", "must be >= 0", loss.lpips_weight)
    _need((loss.lpips_backbone is None) == (loss.lpips_linear is None), s, "loss.lpips_linear",
          "LPIPS needs both loss.lpips_backbone and loss.lpips_linear (or neither)", loss.lpips_linear)

    _need(out.checkpoint_every >= 0, s, "output.checkpoint_every", "must be >= 0 (0 = only at the end)",
          out.checkpoint_every)
    _need(out.keep_checkpoints >= 0, s, "output.keep_checkpoints", "must be >= 0 (0 = keep all)", out.keep_checkpoints)
    _need(out.validate_every >= 0, s, "output.validate_every", "must be >= 0 (0 = never)", out.validate_every)
    _need(out.validate_every == 0 or bool(out.validation_prompts), s, "output.validation_prompts",
          "must hold at least one prompt when output.validate_every > 0", out.validation_prompts)
    _need(1 <= out.validation_steps <= 1000, s, "output.validation_steps", "must be in [1, 1000]",
          out.validation_steps)
    _need(out.validation_size >= 16 and out.validation_size % 16 == 0, s, "output.validation_size",
          "must be a multiple of 16, >= 16", out.validation_size)
    _need(out.validation_guidance >= 0, s, "output.validation_guidance", "must be >= 0", out.validation_guidance)
    _need(out.save_dtype in SAVE_DTYPES, s, "output.save_dtype", f"must be one of {', '.join(SAVE_DTYPES)}",
          out.save_dtype)
    _need(bool(out.dir), s, "output.dir", "must be a folder path", out.dir)
    if check_paths:
        check_config_paths(config)


def check_config_paths(config: TrainingConfig) -> None:
    """ConfigError naming the key of any input folder or file that does not exist."""
    s = config.source
    _need(Path(config.model.path).is_dir(), s, "model.path", "folder not found (a local diffusers FLUX.1 folder)",
          config.model.path)
    if config.data.kind == "interiorverse":
        _need(Path(config.data.root).is_dir(), s, "data.root", "folder not found", config.data.root)
        if config.data.caption_root is not None:
            _need(Path(config.data.caption_root).is_dir(), s, "data.caption_root", "folder not found",
                  config.data.caption_root)
    for name, file in (config.lora.init or {}).items():
        _need(Path(file).exists(), s, f"lora.init.{name}", "file or folder not found", file)
    if config.stage == "align":
        for key in ("lpips_backbone", "lpips_linear"):
            value = getattr(config.loss, key)
            _need(value is None or Path(value).is_file(), s, f"loss.{key}",
                  "file not found (LPIPS weights are never downloaded: give a local file or null)", value)
