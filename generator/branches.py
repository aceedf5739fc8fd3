"""The three intrinsic branches of IntrinsiX and how they sit in a batch.

A generation batch holds the branches in a fixed cyclic order: batch index i belongs to branch
i % 3 (0 albedo, 1 material, 2 normal). A batch of 3 * G rows is G independent "groups" (one
albedo/material/normal triple each: several images per prompt, or conditional + unconditional rows
for true CFG). Every module of this package that treats branches differently relies on this layout.
"""

from __future__ import annotations

BRANCHES: tuple[str, ...] = ("albedo", "material", "normal")
NUM_BRANCHES = len(BRANCHES)


def branch_index(branch: str | int) -> int:
    """Index (0 albedo, 1 material, 2 normal) of a branch given by name or index."""
    if isinstance(branch, bool):
        raise TypeError(f"branch must be one of {BRANCHES} or an index 0..{NUM_BRANCHES - 1}, got {branch!r}")
    if isinstance(branch, int):
        if not 0 <= branch < NUM_BRANCHES:
            raise ValueError(f"branch index must be in [0, {NUM_BRANCHES - 1}], got {branch}")
        return branch
    if isinstance(branch, str):
        if branch not in BRANCHES:
            raise ValueError(f"branch must be one of {BRANCHES}, got {branch!r}")
        return BRANCHES.index(branch)
    raise TypeError(f"branch must be one of {BRANCHES} or an index 0..{NUM_BRANCHES - 1}, got {type(branch).__name__}")


def num_groups(batch: int, name: str = "batch") -> int:
    """Number of branch triples in a batch of `batch` rows; the batch must be a multiple of 3."""
    if batch <= 0 or batch % NUM_BRANCHES != 0:
        raise ValueError(
            f"{name} size must be a positive multiple of {NUM_BRANCHES} (rows ordered albedo, material, "
            f"normal, albedo, ...), got {batch}"
        )
    return batch // NUM_BRANCHES
