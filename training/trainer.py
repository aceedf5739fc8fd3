"""The training loop shared by stage 1 and stage 2, on `accelerate` (docs/training.md).

One optimizer step = `gradient_accumulation_steps` micro-batches of `batch_size` samples on each
of W processes (`accelerate launch`, DDP; one process works the same way). The loop:

    micro-batch -> stage loss (subclass) -> accelerator.backward under accelerator.accumulate
    -> at the step boundary: clip (max_grad_norm), optimizer step, lr schedule step,
       loss log row, tqdm (main process), checkpoint every N steps, validation images every N steps.

Exact resume: the LoRA, the optimizer and the lr schedule are checkpointed; every random draw is
a function of (train.seed, stream position) (flow.py, stream.py), so a resumed run reproduces
the uninterrupted run's losses and weights (tests/training/test_trainer_resume.py).

Subclasses (stage1.IndependentTrainer, stage2.AlignTrainer) implement:
    setup_model()             add the trainable LoRA to self.components.transformer
    trainable_parameters()    for the optimizer
    compute_loss(model, batch, micro_step) -> {"loss": scalar, <term>: scalar, ...}
    save_lora(folder, dtype) -> Path      the stage's file layout
    load_lora(folder)                     inverse of save_lora (resume)
    validation_maps / validation_relit    what validation writes
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from tqdm.auto import tqdm

from . import checkpoint
from .components import FrozenComponents, load_frozen_components
from .config import TrainingConfig
from .loss_log import LossLog
from .optim import build_lr_scheduler, build_optimizer
from .stream import build_dataset, stream_loader
from .validation import write_validation_images

logger = logging.getLogger(__name__)
FINAL_LORA_FILE = "pytorch_lora_weights.safetensors"


@dataclass
class TrainResult:
    """What a run did. losses: one dict per optimizer step of THIS run (step, loss terms, lr),
    averaged over micro-batches and processes (the loss log has the same rows)."""

    output_dir: Path
    final_step: int
    lora_path: Path | None  # the final LoRA file (None if the run stopped early, and on other than the main process)
    checkpoint: Path | None  # the last checkpoint folder written
    losses: list[dict] = field(default_factory=list)


def mixed_precision_mode(setting: str) -> str:
    """"auto" -> "bf16" with CUDA, "no" without; other settings unchanged."""
    if setting == "auto":
        return "bf16" if torch.cuda.is_available() else "no"
    return setting


class Trainer(ABC):
    """Base class; see the module docstring. `loss_terms` names the logged terms ("loss" first)."""

    stage: str = ""
    loss_terms: tuple[str, ...] = ("loss",)

    def __init__(self, config: TrainingConfig, accelerator: Accelerator | None = None):
        if config.stage != self.stage:
            raise ValueError(f"config is for stage {config.stage!r}, this trainer runs {self.stage!r}")
        self.config = config
        self.output_dir = Path(config.output.dir)
        mode = mixed_precision_mode(config.train.mixed_precision)
        if accelerator is None:
            # Several runs in one Python process (tests, notebooks): accelerate keeps its settings in
            # process-wide singletons; clear them (not the distributed state) before a new run.
            AcceleratorState._reset_state(reset_partial_state=False)
            GradientState._reset_state()
            # cpu=True without CUDA: several CPU processes (gloo) under `accelerate launch --multi_gpu`.
            accelerator = Accelerator(mixed_precision=mode, cpu=not torch.cuda.is_available(),
                                      gradient_accumulation_steps=config.train.gradient_accumulation_steps)
        self.accelerator = accelerator
        self.weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode, torch.float32)
        self.components: FrozenComponents | None = None
        self.model = None
        self.optimizer = None

    # -- stage hooks ------------------------------------------------------------------------------

    @abstractmethod
    def setup_model(self) -> None:
        """Implemented by each stage (stage1.IndependentTrainer, stage2.AlignTrainer)."""

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.components.transformer.parameters() if p.requires_grad]

    @abstractmethod
    def compute_loss(self, model, batch: dict, micro_step: int) -> dict[str, torch.Tensor]:
        """Implemented by each stage (stage1.IndependentTrainer, stage2.AlignTrainer)."""

    @abstractmethod
    def save_lora(self, folder: Path, dtype: torch.dtype | None) -> Path:
        """Implemented by each stage (stage1.IndependentTrainer, stage2.AlignTrainer)."""

    @abstractmethod
    def load_lora(self, folder: Path) -> None:
        """Implemented by each stage (stage1.IndependentTrainer, stage2.AlignTrainer)."""

    validation_maps: tuple[str, ...] = ("albedo", "material", "normal")
    validation_relit: bool = True

    def checkpoint_state(self) -> dict:
        """Identity of the run, stored in every checkpoint and checked on resume."""
        return {"stage": self.stage, "intrinsic": self.config.intrinsic, "rank": self.config.lora.rank}

    # -- helpers for subclasses -------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    def unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    # -- the run ----------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the frozen model, add the LoRA, build optimizer and schedule, wrap with accelerate."""
        cfg = self.config
        self.components = load_frozen_components(cfg.model.path, self.device, self.weight_dtype)
        self.setup_model()
        transformer = self.components.transformer
        if cfg.model.gradient_checkpointing:
            transformer.enable_gradient_checkpointing()
        transformer.train()
        params = self.trainable_parameters()
        for p in params:  # trainable adapters in float32 whatever the frozen dtype (mixed precision)
            p.data = p.data.float()
        optimizer = build_optimizer(params, cfg.optimizer)
        self.lr_scheduler = build_lr_scheduler(optimizer, cfg.optimizer, cfg.train.max_steps)
        self.model, self.optimizer = self.accelerator.prepare(transformer, optimizer)
        self.params = params
        # The schedule is stepped by hand once per optimizer step (accelerate's scheduler wrapper would
        # step it once per process); it is checkpointed as a registered object.
        self.accelerator.register_for_checkpointing(self.lr_scheduler)
        checkpoint.install_hooks(self.accelerator, lambda folder: self.save_lora(folder, None), self.load_lora)
        self.dataset = build_dataset(cfg.data)

    def resume_from(self, folder: Path) -> int:
        state = checkpoint.read_state(folder)
        expected = self.checkpoint_state()
        for key, value in expected.items():
            if state.get(key) != value:
                raise ValueError(f"resume: checkpoint {folder} has {key}={state.get(key)!r} but the config has "
                                 f"{value!r}")
        self.accelerator.load_state(str(folder))
        return int(state["step"])

    def train(self, resume: str | None = None, stop_at_step: int | None = None) -> TrainResult:
        """Run to train.max_steps (or stop after `stop_at_step`, keeping a checkpoint there, as an
        interrupted run would). resume: None, "latest" (newest checkpoint in output.dir, if any) or
        a checkpoint folder."""
        cfg, acc = self.config, self.accelerator
        if self.model is None:
            self.prepare()
        start = 0
        folder = checkpoint.resolve_resume(self.output_dir, resume)
        if folder is not None:
            start = self.resume_from(folder)
            logger.info("resumed from %s at step %d", folder, start)
        stop = cfg.train.max_steps if stop_at_step is None else min(cfg.train.max_steps, stop_at_step)
        if start > stop:
            raise ValueError(f"resume: the checkpoint is at step {start}, past the last step {stop}")
        accumulation = cfg.train.gradient_accumulation_steps
        if acc.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        log = LossLog(self.output_dir / "loss_log.csv", self.loss_terms, start) if acc.is_main_process else None
        loader = stream_loader(self.dataset, cfg.train.seed, start * accumulation, stop * accumulation,
                               cfg.train.batch_size, acc.num_processes, acc.process_index, cfg.data.num_workers)
        progress = tqdm(total=stop, initial=start, desc=f"train {self.stage}", unit="step",
                        disable=not (acc.is_main_process and cfg.output.progress))
        result = TrainResult(self.output_dir, start, None, folder)
        step, micro = start, start * accumulation
        pending: list[dict[str, torch.Tensor]] = []
        began = time.perf_counter()
        self.model.train()
        for batch in loader:
            with acc.accumulate(self.model):
                terms = self.compute_loss(self.model, batch, micro)
                acc.backward(terms["loss"])
                if acc.sync_gradients and cfg.optimizer.max_grad_norm > 0:
                    acc.clip_grad_norm_(self.params, cfg.optimizer.max_grad_norm)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            pending.append({k: terms[k].detach().float() for k in self.loss_terms})
            micro += 1
            if micro % accumulation:
                continue
            if not acc.sync_gradients:
                raise RuntimeError(f"gradient accumulation out of step at micro-batch {micro} (accelerate's "
                                   f"counter {acc.step}); was the checkpoint written mid-step?")
            lr = self._effective_lr()
            self.lr_scheduler.step()
            step += 1
            values = self._reduce(pending)
            pending = []
            seconds = time.perf_counter() - began
            began = time.perf_counter()
            result.losses.append({"step": step, **values, "lr": lr})
            if log is not None:
                log.append(step, values, lr, seconds)
            progress.update(1)
            progress.set_postfix(loss=f"{values['loss']:.4f}")
            if step == stop or (cfg.output.checkpoint_every and step % cfg.output.checkpoint_every == 0):
                result.checkpoint = checkpoint.save_checkpoint(acc, self.output_dir, step, self.checkpoint_state(),
                                                               cfg.output.keep_checkpoints)
            if cfg.output.validate_every and (step % cfg.output.validate_every == 0 or step == cfg.train.max_steps):
                self.validate(step)
        progress.close()
        result.final_step = step
        if step == cfg.train.max_steps:
            if acc.is_main_process:
                dtype = torch.bfloat16 if cfg.output.save_dtype == "bf16" else torch.float32
                result.lora_path = self.save_lora(self.output_dir, dtype)
            acc.wait_for_everyone()
        return result

    def _effective_lr(self) -> float:
        group = self.optimizer.param_groups[0]
        return float(group["lr"]) * float(group.get("d", 1.0))

    def _reduce(self, pending: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        stacked = torch.stack([torch.stack([p[k] for k in self.loss_terms]) for p in pending]).mean(dim=0)
        stacked = self.accelerator.reduce(stacked.to(self.device), reduction="mean")
        return {k: float(v) for k, v in zip(self.loss_terms, stacked.tolist())}

    def validate(self, step: int) -> list[Path]:
        """Validation images of the current weights (main process; the others wait)."""
        cfg, acc = self.config.output, self.accelerator
        written = []
        if acc.is_main_process:
            model = self.unwrapped()
            model.eval()
            try:
                with acc.autocast():
                    written = write_validation_images(
                        self.components.pipeline, self.output_dir / "validation" / f"step_{step:07d}",
                        cfg.validation_prompts, self.validation_maps, self.validation_relit, cfg.validation_size,
                        cfg.validation_steps, cfg.validation_guidance, cfg.validation_seed)
            finally:
                model.train()
        acc.wait_for_everyone()
        return written
