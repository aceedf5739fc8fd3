"""The material bank: procedural materials generated once, kept in memory, shared by every stage.

The VAE, the base transformer and the two LoRA stages of the demo model all train on the flat
procedural materials of `training.data.ProceduralMaterialDataset` (training half of the held-out
split only). Generating a 256^2 material takes 10-35 ms of one CPU core, so the materials are made
once, in parallel DataLoader workers, and stored as float16 (about 1.2 MB per material at 256^2):

    albedo    [N, S, S, 3]  linear RGB in [0, 1]
    material  [N, S, S, 3]  R roughness, G metallic, B 0
    normal    [N, S, S, 3]  unit vectors, OpenGL tangent space = camera space of a flat view
    captions, families, colours, finishes: N strings each

`BankDataset` serves the bank with the keys and dtypes of `ProceduralMaterialDataset` (float32,
channels last) for the trainers of stage 1 and stage 2.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset

from ..data import ProceduralMaterialDataset, split_combinations

MAPS = ("albedo", "material", "normal")
# Captions a training sample is shown with (`caption_variants`) and how often: the full caption,
# the caption without its finish word, the caption without its colour word(s).
CAPTION_VARIANTS = ("full", "no finish", "no colour")
CAPTION_VARIANT_PROBABILITIES = (0.65, 0.25, 0.10)


@dataclass
class MaterialBank:
    albedo: torch.Tensor  # [N, S, S, 3] float16
    material: torch.Tensor  # [N, S, S, 3] float16
    normal: torch.Tensor  # [N, S, S, 3] float16
    captions: list[str]
    families: list[str]
    colours: list[str]
    finishes: list[str]

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def size(self) -> int:
        return int(self.albedo.shape[1])

    def to(self, device: torch.device | str) -> MaterialBank:
        """The same bank with its maps on `device` (a copy unless they are there already)."""
        return MaterialBank(self.albedo.to(device), self.material.to(device), self.normal.to(device),
                            self.captions, self.families, self.colours, self.finishes)

    def maps(self, name: str) -> torch.Tensor:
        if name not in MAPS:
            raise ValueError(f"map name must be one of {MAPS}, got {name!r}")
        return getattr(self, name)


def check_caption_dropout(value: float) -> float:
    """The probability of the empty caption must be in [0, 0.5] (more would starve the prompt)."""
    if not 0.0 <= value <= 0.5:
        raise ValueError(f"caption_dropout (--caption-dropout) must be in [0, 0.5], got {value}")
    return value


def caption_variants(caption: str, finish: str, colour: str) -> tuple[str, str, str]:
    """(full, without the finish word, without the colour word(s)) of a procedural caption, e.g.
    "matte black leather" -> ("matte black leather", "black leather", "matte leather").

    Training on the shorter captions too (word dropout, `--word-dropout`) was meant to make each word
    carry its own meaning, on the guess that the model reads an unseen combination as a whole. A
    full-size build showed no gain, and the evaluation's seen control showed why: the bundled model
    misses the colour of trained captions as often as of held-out ones (docs/demo-model.md).
    Only the first occurrence of the colour is dropped (the main colour; joint and vein colours
    come later in the caption)."""
    words = caption.split(" ")
    if not words or words[0] != finish:
        raise ValueError(f"caption must start with its finish {finish!r}, got {caption!r}")
    colour_words = colour.split(" ")
    for start in range(1, len(words) - len(colour_words) + 1):
        if words[start:start + len(colour_words)] == colour_words:
            without_colour = words[:start] + words[start + len(colour_words):]
            break
    else:
        raise ValueError(f"caption must name its colour {colour!r}, got {caption!r}")
    return caption, " ".join(words[1:]), " ".join(without_colour)


def _collate(samples: list[dict]) -> dict:
    out = {name: torch.stack([s[name] for s in samples]).half() for name in MAPS}
    for key in ("caption", "family", "colour", "finish"):
        out[key] = [s[key] for s in samples]
    return out


def make_bank(count: int, size: int, seed: int, workers: int, max_seconds: float | None = None,
              log=print) -> MaterialBank:
    """Generate up to `count` materials of `size`^2 from the training combinations (held-out ones
    excluded), with `workers` processes; stops early after `max_seconds` (at least one batch)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    dataset = ProceduralMaterialDataset(count, size=size, seed=seed, combinations=split_combinations()[0])
    batch = max(1, min(64, count // max(1, workers)))
    loader = DataLoader(dataset, batch_size=batch, num_workers=workers, collate_fn=_collate,
                        persistent_workers=False, prefetch_factor=4 if workers else None)
    parts: list[dict] = []
    began = time.perf_counter()
    made = 0
    for part in loader:
        parts.append(part)
        made += len(part["caption"])
        if max_seconds is not None and time.perf_counter() - began > max_seconds:
            log(f"bank: time limit {max_seconds:.0f} s reached after {made} materials")
            break
    del loader
    bank = MaterialBank(*(torch.cat([p[name] for p in parts]) for name in MAPS),
                        *([x for p in parts for x in p[key]] for key in ("caption", "family", "colour", "finish")))
    log(f"bank: {len(bank)} materials of {size}^2 in {time.perf_counter() - began:.1f} s")
    return bank


class BankDataset(Dataset):
    """The bank as a `ProceduralMaterialDataset`-like data set: sample i is a dict of float32
    maps [S, S, 3] (albedo, material, normal) and the strings caption, family, colour, finish.
    With `word_dropout` the caption is one of `caption_variants`, drawn with
    CAPTION_VARIANT_PROBABILITIES; with `caption_dropout` p it is the empty caption with probability
    p (what classifier-free guidance needs: the unconditional prediction); both drawn from torch's
    generator (seeded per DataLoader worker)."""

    def __init__(self, bank: MaterialBank, word_dropout: bool = False, caption_dropout: float = 0.0):
        if len(bank) < 1:
            raise ValueError("the material bank is empty")
        check_caption_dropout(caption_dropout)
        self.bank = bank
        self.word_dropout = word_dropout
        self.caption_dropout = float(caption_dropout)
        self._probabilities = torch.tensor(CAPTION_VARIANT_PROBABILITIES)

    def __len__(self) -> int:
        return len(self.bank)

    def __getitem__(self, index: int) -> dict:
        b = self.bank
        text = b.captions[index]
        if self.word_dropout:
            variant = int(torch.multinomial(self._probabilities, 1))
            text = caption_variants(text, b.finishes[index], b.colours[index])[variant]
        if self.caption_dropout > 0 and float(torch.rand(())) < self.caption_dropout:
            text = ""
        return {"albedo": b.albedo[index].float(), "material": b.material[index].float(),
                "normal": b.normal[index].float(), "caption": text, "family": b.families[index],
                "colour": b.colours[index], "finish": b.finishes[index]}
