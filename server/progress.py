"""Overall job progress from per-stage steps: one monotonic fraction in [0, 1].

A backend declares its stages with relative weights (`TextureBackend.progress_stages`); the server
appends its own "storing" stage. overall = (weights of finished stages + weight of the current
stage * step / total) / sum of weights. The value never decreases: a report that would lower it
(a stage repeated, an unknown stage, a step going back) keeps the previous value. 1.0 is reached
only when the result is stored (`complete`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STORING = "storing"
STORING_WEIGHT = 0.04
# Below 1 until the result is stored, whatever the backend reports.
_BEFORE_COMPLETE = 0.999


@dataclass(frozen=True)
class ProgressSnapshot:
    stage: str
    step: int
    total: int
    overall: float  # 0..1


class ProgressTracker:
    def __init__(self, stages: Sequence[tuple[str, float]]):
        plan = [(name, float(weight)) for name, weight in stages if name != STORING]
        for name, weight in plan:
            if not weight > 0:
                raise ValueError(f"progress stage {name!r} has weight {weight}; weights must be > 0")
        backend_total = sum(w for _, w in plan) or 1.0
        # Backend stages share 1 - STORING_WEIGHT of the bar, the server's storing stage the rest.
        scale = (1.0 - STORING_WEIGHT) / backend_total
        self._start: dict[str, float] = {}
        self._weight: dict[str, float] = {}
        position = 0.0
        for name, weight in plan + [(STORING, STORING_WEIGHT / scale)]:
            self._start[name] = position * scale
            self._weight[name] = weight * scale
            position += weight
        self.snapshot = ProgressSnapshot("queued", 0, 0, 0.0)

    def update(self, stage: str, step: int, total: int) -> ProgressSnapshot:
        """Record a report; returns the new snapshot (overall clamped to be monotonic)."""
        overall = self.snapshot.overall
        if stage in self._start:
            fraction = min(max(step / total, 0.0), 1.0) if total > 0 else 0.0
            overall = max(overall, min(self._start[stage] + self._weight[stage] * fraction, _BEFORE_COMPLETE))
        self.snapshot = ProgressSnapshot(stage, int(step), int(total), overall)
        return self.snapshot

    def complete(self) -> ProgressSnapshot:
        self.snapshot = ProgressSnapshot(STORING, 1, 1, 1.0)
        return self.snapshot
