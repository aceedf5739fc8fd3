"""`ProceduralMaterialDataset`: flat material samples straight from the generator (no files), for
training the bundled demo model.

A sample is the material seen by a camera looking straight at the flat, fronto-parallel plane: the
camera's x / y / z axes are the material's tangent / bitangent / normal, so the camera-space normal
IS the tangent-space normal map (OpenGL: +x right, +y up, +z toward the viewer). Dict of float32
tensors, channels last, plus strings:

    albedo    [S, S, 3]  linear RGB in [0, 1]
    material  [S, S, 3]  R roughness, G metallic in [0, 1], B = 0
    normal    [S, S, 3]  unit vectors (z > 0)
    height    [S, S, 1]  relief in [0, 1]
    caption, family, colour, finish   str

(the same ranges as `InteriorVerseDataset`; the trainer maps albedo / material to [-1, 1]).
Sample i is deterministic: its material seed comes from (seed, i).
"""

from __future__ import annotations

import numpy as np
import torch

from .materials import generate_material, sample_spec
from .vocabulary import FAMILIES, Combination, all_combinations


def material_seed(seed: int, index: int) -> int:
    """The material seed of sample `index` of a data set with `seed` (a 63-bit integer)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0]) >> 1


class ProceduralMaterialDataset(torch.utils.data.Dataset):
    """`length` random materials of `size` x `size` pixels (see the module docstring).

    combinations: the allowed (family, colour, finish) triples (default: all; pass the training
        half of `vocabulary.split_combinations()` to keep the held-out ones unseen).
    families: optionally keep only these families.
    """

    def __init__(self, length: int, size: int = 512, seed: int = 0, combinations: list[Combination] | None = None,
                 families: list[str] | None = None):
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be an int >= 1, got {length!r}")
        if not isinstance(size, int) or not 8 <= size <= 4096:
            raise ValueError(f"size must be an int in [8, 4096], got {size!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        pool = list(combinations) if combinations is not None else all_combinations()
        known = set(all_combinations())
        unknown = [c for c in pool if tuple(c) not in known]
        if unknown:
            raise ValueError(f"combinations must be (family, colour, finish) triples of all_combinations(), "
                             f"got {unknown[:3]}")
        if families is not None:
            bad = [f for f in families if f not in FAMILIES]
            if bad:
                raise ValueError(f"families must be among {sorted(FAMILIES)}, got {bad}")
            pool = [c for c in pool if c[0] in families]
        if not pool:
            raise ValueError("no (family, colour, finish) combination is left after the filters")
        self.length, self.size, self.seed = length, size, seed
        self.combinations = [tuple(c) for c in pool]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        index %= self.length
        spec = sample_spec(material_seed(self.seed, index), combinations=self.combinations)
        m = generate_material(spec, self.size)
        material = torch.cat([m.roughness, m.metallic, torch.zeros_like(m.roughness)], dim=-1)
        return {"albedo": m.albedo, "material": material, "normal": m.normal, "height": m.height,
                "caption": m.caption, "family": spec.family, "colour": spec.colour, "finish": spec.finish}
