"""The loss log: one CSV row per optimizer step, written by the main process.

Columns: step, the loss terms of the stage (stage 1: loss, flow; stage 2: loss, flow, rerender,
lpips), lr (the effective learning rate: scheduled lr, times Prodigy's d estimate when Prodigy
is used), seconds (wall time of that optimizer step, all its micro-batches). Values are averaged
over the micro-batches of the step and over the processes. A resumed run keeps the rows up to
its checkpoint step and drops later ones (written by the interrupted run after its checkpoint),
so the file always reads as one uninterrupted run.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path


class LossLog:
    """CSV loss log at `path` with the given columns (after "step")."""

    def __init__(self, path: str | os.PathLike, terms: Sequence[str], resume_step: int = 0):
        self.path = Path(path)
        self.columns = ["step", *terms, "lr", "seconds"]
        kept: list[list[str]] = []
        if resume_step > 0 and self.path.is_file():
            with self.path.open(newline="") as handle:
                rows = list(csv.reader(handle))
            if rows and rows[0] == self.columns:
                kept = [row for row in rows[1:] if row and int(row[0]) <= resume_step]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.columns)
            writer.writerows(kept)

    def append(self, step: int, values: Mapping[str, float], lr: float, seconds: float) -> None:
        row = [str(step)] + [f"{float(values[name]):.8g}" for name in self.columns[1:-2]] + [f"{lr:.8g}",
                                                                                              f"{seconds:.4f}"]
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow(row)


def read_loss_log(path: str | os.PathLike) -> list[dict[str, float]]:
    """The rows of a loss log as dicts of floats (step as an int)."""
    with Path(path).open(newline="") as handle:
        return [{k: (int(v) if k == "step" else float(v)) for k, v in row.items()} for row in csv.DictReader(handle)]
