"""Generation defaults of a model folder.

FLUX.1-dev + IntrinsiX uses 512^2, 28 steps and embedded guidance 3.5 (REFERENCE.md section 1), and
no true classifier-free guidance (`true_cfg_scale` 1: FLUX.1-dev is guidance-distilled), and its
VAE sees linear albedo and raw normal maps (`albedo_encoding`, `normal_encoding` "linear",
REFERENCE §1). A model folder may carry `intrinsix_defaults.json` with other values (the small
bundled demo model is trained at a lower resolution, needs fewer steps, was trained with caption
dropout so that it can be sampled with true classifier-free guidance against the empty prompt, and
may give its VAE sRGB albedo and companded normals: `generator.conditioning.VAEEncoding`); keys
missing from the file keep these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .conditioning import VAEEncoding

DEFAULTS_FILE = "intrinsix_defaults.json"
MAX_TRUE_CFG_SCALE = 30.0  # upper end of every true classifier-free guidance scale the tools accept
FLUX_DEFAULTS = {"size": 512, "num_inference_steps": 28, "guidance_scale": 3.5, "true_cfg_scale": 1.0,
                 "albedo_encoding": "linear", "normal_encoding": "linear"}


def generation_defaults(model_dir: str | os.PathLike) -> dict:
    """{"size": int, "num_inference_steps": int, "guidance_scale": float, "true_cfg_scale": float,
    "albedo_encoding": str, "normal_encoding": str} for a model folder. A `true_cfg_scale` above 1
    means: sample with true classifier-free guidance, the empty prompt as the negative unless the
    caller names another. The two encodings are how the folder's VAE sees the maps
    (`vae_encoding`; `load_pipeline` sets them on the pipeline; they must be what the VAE was
    trained with)."""
    values = dict(FLUX_DEFAULTS)
    path = Path(model_dir) / DEFAULTS_FILE
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from exc
        unknown = set(stored) - set(FLUX_DEFAULTS)
        if unknown:
            raise ValueError(f"{path} has unknown keys {sorted(unknown)}; allowed: {sorted(FLUX_DEFAULTS)}")
        values.update(stored)
        try:
            check_true_cfg_scale(values["true_cfg_scale"], "true_cfg_scale")
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        try:
            vae_encoding(values)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return values


def check_true_cfg_scale(value, name: str) -> None:
    """Raise ValueError ("NAME must be a number in [1, 30] (1 = off), got VALUE") unless `value` is a
    true classifier-free guidance scale the tools accept; `name` is the argument as the user wrote it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1.0 <= value <= MAX_TRUE_CFG_SCALE:
        raise ValueError(f"{name} must be a number in [1, {MAX_TRUE_CFG_SCALE:g}] (1 = off), got {value!r}")


def vae_encoding(defaults: dict) -> VAEEncoding:
    """The VAE encoding named by `generation_defaults` values."""
    return VAEEncoding(albedo=defaults["albedo_encoding"], normal=defaults["normal_encoding"])


def guidance_arguments(true_cfg_scale: float, negative_prompt: str | None = None) -> dict:
    """The pipeline keywords of true classifier-free guidance: nothing when `true_cfg_scale` is 1,
    else the scale and the negative prompt (the empty prompt when none is given: the
    unconditional prediction of a model trained with caption dropout)."""
    if true_cfg_scale <= 1.0:
        return {}
    return {"true_cfg_scale": float(true_cfg_scale), "negative_prompt": negative_prompt or ""}
