"""Generation defaults of a model folder.

FLUX.1-dev + IntrinsiX uses 512^2, 28 steps and embedded guidance 3.5 (REFERENCE.md section 1). A
model folder may carry `intrinsix_defaults.json` with other values (the small bundled demo model
is trained at a lower resolution and needs fewer steps); keys missing from the file keep these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULTS_FILE = "intrinsix_defaults.json"
FLUX_DEFAULTS = {"size": 512, "num_inference_steps": 28, "guidance_scale": 3.5}


def generation_defaults(model_dir: str | os.PathLike) -> dict:
    """{"size": int, "num_inference_steps": int, "guidance_scale": float} for a model folder."""
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
    return values
