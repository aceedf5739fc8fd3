"""Optimizer and learning-rate schedule of a training run.

AdamW (torch) or Prodigy (`prodigyopt`, optional: REFERENCE §3 trains with Prodigy, lr 1.0,
weight decay 1e-4, clipping 1.0). The schedule multiplies the base lr per optimizer step:
linear warm-up from 0 over `warmup_steps`, then constant, linear decay to 0, or cosine decay to 0
at `max_steps`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from .config import OptimizerConfig


def build_optimizer(parameters: Iterable[torch.nn.Parameter], config: OptimizerConfig) -> torch.optim.Optimizer:
    """AdamW or Prodigy over the trainable parameters (ImportError naming the package if Prodigy is
    asked for and `prodigyopt` is not installed)."""
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError("no trainable parameters were given to the optimizer")
    betas = tuple(config.betas)
    if config.name == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=betas, eps=config.eps, weight_decay=config.weight_decay)
    if config.name == "prodigy":
        try:
            from prodigyopt import Prodigy
        except ImportError:
            raise ImportError("optimizer.name is 'prodigy' but the `prodigyopt` package is not installed: "
                              "pip install prodigyopt (or set optimizer.name: adamw)") from None
        return Prodigy(params, lr=config.lr, betas=betas, eps=config.eps, weight_decay=config.weight_decay,
                       decouple=True, use_bias_correction=True, safeguard_warmup=config.warmup_steps > 0)
    raise ValueError(f"optimizer.name must be 'adamw' or 'prodigy', got {config.name!r}")


def lr_factor(step: int, config: OptimizerConfig, max_steps: int) -> float:
    """Multiplier of the base lr at optimizer step `step` (0-based)."""
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.lr_schedule == "constant":
        return 1.0
    span = max(1, max_steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    if config.lr_schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_lr_scheduler(optimizer: torch.optim.Optimizer, config: OptimizerConfig,
                       max_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR following `lr_factor`; step it once per optimizer step (its state is checkpointed)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, config, max_steps))
