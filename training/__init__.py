"""IntrinsiX training: data sets (`intrinsix.training.data`) and the stage 1 / stage 2 trainers
(docs/training.md): `load_config`, `IndependentTrainer` / `train_independent` (stage 1),
`AlignTrainer` / `train_align` (stage 2)."""

from .config import ConfigError, TrainingConfig, load_config

_TRAINERS = {"IndependentTrainer": "stage1", "train_independent": "stage1", "AlignTrainer": "stage2",
             "train_align": "stage2"}

__all__ = ["ConfigError", "TrainingConfig", "load_config", *_TRAINERS]


def __getattr__(name: str):
    # The trainers pull in diffusers, peft and accelerate: import them only when asked for.
    if name in _TRAINERS:
        import importlib

        return getattr(importlib.import_module(f".{_TRAINERS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
