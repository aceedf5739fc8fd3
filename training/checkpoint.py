"""Checkpoints of a training run: `accelerator.save_state` folders that hold only what training
changes.

Layout: `<output.dir>/checkpoints/step_<NNNNNNN>/` with accelerate's files (optimizer state,
random states, the lr scheduler as a registered object), the LoRA in float32 in the stage's file
layout (`pytorch_lora_weights.safetensors`: stage 1 PEFT/diffusers, stage 2 published) and
`trainer_state.json` ({"step", "stage", "intrinsic", "rank"}), written last: a folder without it
is an unfinished save and is ignored. The frozen base weights are never written (accelerate's
model file is replaced by the LoRA file through a save-state hook); they come from model.path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from accelerate import Accelerator

STATE_FILE = "trainer_state.json"
_STEP_DIR = re.compile(r"^step_(\d+)$")


def checkpoint_dir(output_dir: str | os.PathLike, step: int) -> Path:
    return Path(output_dir) / "checkpoints" / f"step_{step:07d}"


def list_checkpoints(output_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, folder) of every finished checkpoint, oldest first."""
    root = Path(output_dir) / "checkpoints"
    found = []
    if root.is_dir():
        for child in root.iterdir():
            match = _STEP_DIR.match(child.name)
            if match and (child / STATE_FILE).is_file():
                found.append((int(match.group(1)), child))
    return sorted(found)


def resolve_resume(output_dir: str | os.PathLike, resume: str | os.PathLike | None) -> Path | None:
    """None -> None; "latest" -> the newest finished checkpoint of the run (None if there is none);
    a path -> that checkpoint folder (FileNotFoundError if it is not a finished checkpoint)."""
    if resume is None:
        return None
    if str(resume) == "latest":
        found = list_checkpoints(output_dir)
        return found[-1][1] if found else None
    path = Path(resume)
    if not (path / STATE_FILE).is_file():
        raise FileNotFoundError(f"resume: {path} is not a finished checkpoint folder (no {STATE_FILE})")
    return path


def read_state(folder: str | os.PathLike) -> dict:
    return json.loads((Path(folder) / STATE_FILE).read_text())


def install_hooks(accelerator: Accelerator, save_lora: Callable[[Path], None],
                  load_lora: Callable[[Path], None]) -> None:
    """Make save_state write the LoRA file (main process) instead of the full model, and
    load_state read it back (every process) instead of a model file."""

    def save_hook(models, weights, output_dir):
        if accelerator.is_main_process:
            save_lora(Path(output_dir))
        weights.clear()

    def load_hook(models, input_dir):
        models.clear()
        load_lora(Path(input_dir))

    accelerator.register_save_state_pre_hook(save_hook)
    accelerator.register_load_state_pre_hook(load_hook)


def save_checkpoint(accelerator: Accelerator, output_dir: str | os.PathLike, step: int, state: dict,
                    keep: int) -> Path:
    """save_state into the step folder, then trainer_state.json (main process), then prune to the
    `keep` newest checkpoints (0 = keep all). Every process must call this."""
    folder = checkpoint_dir(output_dir, step)
    if accelerator.is_main_process and folder.exists():
        shutil.rmtree(folder)  # a leftover from an interrupted save of the same step
    accelerator.wait_for_everyone()
    accelerator.save_state(str(folder))
    if accelerator.is_main_process:
        (folder / STATE_FILE).write_text(json.dumps({**state, "step": step}, indent=2))
        if keep > 0:
            for _, old in list_checkpoints(output_dir)[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return folder
