"""The global sample stream: which sample every process trains on at every micro-step.

Position p of the stream is sample `perm_e[p mod N]` of epoch e = p // N, where perm_e is a
permutation of the N samples seeded by (seed, e), and the data set's own augmentation epoch
(`set_epoch`, InteriorVerse crops / flips / caption picks) is e too. Micro-step m of process r
(of W processes) with batch size B trains positions

    p = (m * W + r) * B + b,    b = 0 .. B - 1.

So the stream depends on the optimizer step only: W processes of batch B see, at every step, the
same samples as one process of batch W * B, and a run resumed at step S starts exactly where the
uninterrupted run was (micro-step S * gradient_accumulation_steps). Samples carry their position
(`"position"`), from which the flow-matching noise is drawn (flow.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .config import DataConfig
from .flow import ORDER_STREAM, stream_seed


def build_dataset(config: DataConfig) -> Dataset:
    """The configured data set: InteriorVerse files, or procedural materials generated on the fly."""
    from .data import InteriorVerseDataset, ProceduralMaterialDataset, split_combinations

    if config.kind == "interiorverse":
        return InteriorVerseDataset(config.root, caption_root=config.caption_root, split=config.split,
                                    size=config.size, random_crop=config.random_crop, hflip=config.hflip,
                                    seed=config.seed)
    combinations = split_combinations()[0] if config.exclude_held_out else None
    return ProceduralMaterialDataset(config.length, size=config.size, seed=config.seed, combinations=combinations,
                                     families=config.families)


class StreamDataset(Dataset):
    """Indexed by stream position p (see the module docstring); returns the sample dict plus
    "position": p. Safe in DataLoader workers: each worker sets the epoch on its own copy."""

    def __init__(self, dataset: Dataset, seed: int):
        if len(dataset) < 1:
            raise ValueError("the training data set is empty")
        self.dataset, self.seed = dataset, int(seed)
        self._epoch, self._order = None, None

    def __len__(self) -> int:  # the stream is unbounded; DataLoader only needs the sampler's length
        return 2**62

    def index_of(self, position: int) -> tuple[int, int]:
        """(epoch, data set index) of stream position `position`."""
        n = len(self.dataset)
        epoch = position // n
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(stream_seed(self.seed, ORDER_STREAM, epoch))
            self._order, self._epoch = torch.randperm(n, generator=generator), epoch
        return epoch, int(self._order[position % n])

    def __getitem__(self, position: int) -> dict:
        epoch, index = self.index_of(int(position))
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        sample = dict(self.dataset[index])
        sample["position"] = int(position)
        return sample


class StreamSampler(Sampler[int]):
    """Positions of process `rank` for micro-steps start .. stop - 1 (see the module docstring)."""

    def __init__(self, start_micro_step: int, stop_micro_step: int, batch_size: int, world_size: int, rank: int):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size - 1}], got {rank}")
        if not 0 <= start_micro_step <= stop_micro_step:
            raise ValueError(f"micro steps must satisfy 0 <= start <= stop, got {start_micro_step}, {stop_micro_step}")
        self.start, self.stop = start_micro_step, stop_micro_step
        self.batch_size, self.world_size, self.rank = batch_size, world_size, rank

    def __len__(self) -> int:
        return (self.stop - self.start) * self.batch_size

    def __iter__(self) -> Iterator[int]:
        for m in range(self.start, self.stop):
            base = (m * self.world_size + self.rank) * self.batch_size
            yield from range(base, base + self.batch_size)


def stream_loader(dataset: Dataset, seed: int, start_micro_step: int, stop_micro_step: int, batch_size: int,
                  world_size: int, rank: int, num_workers: int = 0) -> DataLoader:
    """A DataLoader yielding this process's micro-batches for micro-steps start .. stop - 1: dicts
    of stacked tensors (maps [B, S, S, C]), lists of strings (captions) and "position" [B] int64."""
    sampler = StreamSampler(start_micro_step, stop_micro_step, batch_size, world_size, rank)
    return DataLoader(StreamDataset(dataset, seed), batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      persistent_workers=False, drop_last=False)
