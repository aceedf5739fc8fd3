"""Stage 1 and stage 2 of the demo model, run by the project's trainers (`training.stage1`,
`training.stage2`) on the demo base model.

The trainers are used unchanged, through their public API (`config_from_dict`, the trainer
classes, `train(resume=..., stop_at_step=...)`, the loss log). Two thin wrappers live here:

- `BankIndependentTrainer` / `BankAlignTrainer` feed the trainers from the in-memory material bank
  (`bank.BankDataset`, the same samples as `ProceduralMaterialDataset` of the training split)
  instead of regenerating materials every step, which would make a GPU run CPU-bound, optionally
  with word dropout (`bank.caption_variants`: some captions without their finish or colour word)
  and caption dropout (some captions empty, for classifier-free guidance);
- `run_for_seconds` gives a stage a wall-clock budget: it trains `calibration_steps` steps
  (stopping with a checkpoint, as an interrupted run would), reads the seconds per step from the
  trainer's loss log, sets `train.max_steps` to what fits in the rest of the budget and resumes
  from that checkpoint; the learning-rate schedule is constant after a short warm-up, so the
  change of `max_steps` does not alter it.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import config_from_dict
from ..loss_log import read_loss_log
from ..stage1 import IndependentTrainer
from ..stage2 import AlignTrainer
from .bank import BankDataset, MaterialBank

MAX_STEPS_CAP = 1_000_000


class BankIndependentTrainer(IndependentTrainer):
    """Stage 1 (one PEFT LoRA for one intrinsic) on the material bank."""

    def __init__(self, config, bank: MaterialBank, word_dropout: bool = False, caption_dropout: float = 0.0):
        super().__init__(config)
        self._bank = bank
        self._word_dropout = word_dropout
        self._caption_dropout = caption_dropout

    def prepare(self) -> None:
        super().prepare()
        self.dataset = BankDataset(self._bank, word_dropout=self._word_dropout, caption_dropout=self._caption_dropout)


class BankAlignTrainer(AlignTrainer):
    """Stage 2 (the three LoRAs with cross-intrinsic attention and the re-render loss) on the bank."""

    def __init__(self, config, bank: MaterialBank, word_dropout: bool = False, caption_dropout: float = 0.0):
        super().__init__(config)
        self._bank = bank
        self._word_dropout = word_dropout
        self._caption_dropout = caption_dropout

    def prepare(self) -> None:
        super().prepare()
        self.dataset = BankDataset(self._bank, word_dropout=self._word_dropout, caption_dropout=self._caption_dropout)


@dataclass
class StageSettings:
    batch_size: int  # stage 1: samples; stage 2: triples
    lr: float
    rank: int
    workers: int  # DataLoader workers reading the bank
    seed: int = 0
    warmup_steps: int = 5
    rerender_weight: float = 1.0  # stage 2 only
    ci_dropout: float = 0.25  # stage 2 only
    num_lights: int = 5  # stage 2 only


def _common(base_dir: str | os.PathLike, out_dir: str | os.PathLike, bank: MaterialBank, s: StageSettings) -> dict:
    return {
        "model": {"path": str(base_dir), "guidance": 1.0},
        # The bank replaces the generated data set; these keys describe the same samples.
        "data": {"kind": "procedural", "size": bank.size, "length": len(bank), "exclude_held_out": True,
                 "seed": s.seed, "num_workers": s.workers},
        "lora": {"rank": s.rank},
        "optimizer": {"name": "adamw", "lr": s.lr, "weight_decay": 0.0, "max_grad_norm": 1.0,
                      "lr_schedule": "constant", "warmup_steps": s.warmup_steps},
        "train": {"seed": s.seed, "max_steps": MAX_STEPS_CAP, "batch_size": s.batch_size,
                  "gradient_accumulation_steps": 1, "mixed_precision": "no"},  # float32: base_training.py says why
        "output": {"dir": str(out_dir), "checkpoint_every": 0, "keep_checkpoints": 1, "validate_every": 0,
                   "progress": False, "save_dtype": "fp32"},
    }


def stage1_config(intrinsic: str, base_dir, out_dir, bank: MaterialBank, settings: StageSettings):
    raw = _common(base_dir, out_dir, bank, settings)
    raw["intrinsic"] = intrinsic
    return config_from_dict(raw, "independent", source=f"demo stage 1 ({intrinsic})")


def stage2_config(init: dict[str, str], base_dir, out_dir, bank: MaterialBank, settings: StageSettings):
    raw = _common(base_dir, out_dir, bank, settings)
    raw["lora"]["init"] = {k: str(v) for k, v in init.items()}
    raw["loss"] = {"rerender_weight": settings.rerender_weight, "num_lights": settings.num_lights,
                   "render_space": "tonemapped", "brdf": "disney", "ci_dropout": settings.ci_dropout}
    return config_from_dict(raw, "align", source="demo stage 2")


@dataclass
class StageRun:
    lora_path: Path
    steps: int
    seconds: float
    seconds_per_step: float
    final_loss: dict  # mean of the last 20 loss-log rows, per column


def run_for_seconds(trainer, max_seconds: float, calibration_steps: int = 10, max_steps: int | None = None,
                    log=print) -> StageRun:
    """Train within about `max_seconds` of wall time (see the module docstring); `max_steps`
    caps the step count (tests). Returns where the final LoRA file is and what ran."""
    if calibration_steps < 2:
        raise ValueError(f"calibration_steps must be >= 2, got {calibration_steps}")
    began = time.perf_counter()
    cap = max_steps if max_steps is not None else MAX_STEPS_CAP
    first = min(calibration_steps, cap)
    trainer.config.train.max_steps = cap
    result = trainer.train(stop_at_step=first)
    rows = read_loss_log(trainer.output_dir / "loss_log.csv")
    # Skip the first steps (data loader start, kernel autotuning) when they are not all there is.
    timed = [r["seconds"] for r in rows if r["step"] > 2] or [r["seconds"] for r in rows]
    per_step = statistics.median(timed)
    remaining = max_seconds - (time.perf_counter() - began)
    total = min(cap, max(first, first + int(0.95 * remaining / max(per_step, 1e-6))))
    log(f"{trainer.stage}: {per_step * 1000:.0f} ms per step, {total} steps in the budget of {max_seconds:.0f} s")
    trainer.config.train.max_steps = total
    if total > result.final_step or result.lora_path is None:
        result = trainer.train(resume="latest")
    rows = read_loss_log(trainer.output_dir / "loss_log.csv")
    tail = rows[-20:]
    final = {k: sum(r[k] for r in tail) / len(tail) for k in tail[0] if k != "step"}
    return StageRun(Path(result.lora_path), result.final_step, time.perf_counter() - began, per_step, final)
