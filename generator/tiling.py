"""Seamless (tileable) generation: wrap-around VAE convolutions and latent rolling.

Two parts, both needed for a texture that really tiles (users' request 8 in REFERENCE §7):

1. `vae_wraparound(vae)`: every padded convolution of the VAE encoder and decoder pads circularly
   (the left neighbour of column 0 is column W-1), and the encoder's asymmetric downsampling pad
   wraps too. GroupNorm statistics are global and the VAE mid-block attention has no positions,
   so the wrapped VAE is exactly translation-equivariant on the torus: decode(roll(z, s)) ==
   roll(decode(z), 8 s). No position in the image is a border any more.
2. `LatentRoller`: the transformer has absolute rotary positions, so between denoising steps the
   latents of all branches are rolled by a (random or fixed) offset; the seam the transformer
   would leave moves every step and is averaged out. The total offset is rolled back at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from diffusers.models.downsampling import Downsample2D
from torch import nn


class WrapDownsample2D(nn.Module):
    """The VAE encoder's stride-2 downsampling with a circular (0, 1, 0, 1) pad instead of zeros."""

    def __init__(self, original: Downsample2D):
        super().__init__()
        if getattr(original, "norm", None) is not None or not original.use_conv or original.padding != 0:
            raise ValueError("WrapDownsample2D only replaces the VAE's conv downsampler with padding 0 and no norm")
        self.original = original

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:  # [B, C, H, W]
        return self.original.conv(F.pad(hidden_states, (0, 1, 0, 1), mode="circular"))


def _padded_convs(module: nn.Module) -> Iterator[nn.Conv2d]:
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and any(p > 0 for p in m.padding):
            yield m


def set_vae_wraparound(vae: nn.Module, enabled: bool) -> None:
    """Switch the VAE encoder/decoder convolutions to circular padding (True) or back to zeros."""
    for part_name in ("encoder", "decoder"):
        part = getattr(vae, part_name, None)
        if part is None:
            raise TypeError(f"vae must be a diffusers AutoencoderKL (no `{part_name}`), got {type(vae).__name__}")
        for conv in _padded_convs(part):
            conv.padding_mode = "circular" if enabled else "zeros"
        for parent in list(part.modules()):
            if isinstance(parent, WrapDownsample2D):
                continue
            for name, child in list(parent.named_children()):
                if enabled and isinstance(child, Downsample2D) and child.use_conv and child.padding == 0:
                    setattr(parent, name, WrapDownsample2D(child))
                elif not enabled and isinstance(child, WrapDownsample2D):
                    setattr(parent, name, child.original)


def vae_wraparound_enabled(vae: nn.Module) -> bool:
    return any(conv.padding_mode == "circular" for conv in _padded_convs(vae.decoder))


@contextlib.contextmanager
def vae_wraparound(vae: nn.Module, enabled: bool = True) -> Iterator[nn.Module]:
    """Context manager: wrap-around padding inside, the previous state restored on exit."""
    before = vae_wraparound_enabled(vae)
    set_vae_wraparound(vae, enabled)
    try:
        yield vae
    finally:
        set_vae_wraparound(vae, before)


class LatentRoller:
    """Rolls unpacked latents [B, C, h, w] between denoising steps and remembers the total offset.

    offset: "random" (a fresh uniform offset per step, drawn from `generator`), an int (the same
        shift along both axes every step) or a pair (dy, dx) in latent pixels.
    """

    def __init__(self, height: int, width: int, offset: str | int | tuple[int, int] = "random",
                 generator: torch.Generator | None = None):
        if isinstance(offset, str):
            if offset != "random":
                raise ValueError(f"tile offset must be 'random', an int or a pair (dy, dx), got {offset!r}")
        elif isinstance(offset, int):
            offset = (offset, offset)
        elif not (isinstance(offset, tuple) and len(offset) == 2 and all(isinstance(v, int) for v in offset)):
            raise ValueError(f"tile offset must be 'random', an int or a pair (dy, dx) of ints, got {offset!r}")
        self.height, self.width = height, width
        self.offset = offset
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.total = (0, 0)  # accumulated (dy, dx): content now sits `total` pixels further down/right

    def next_shift(self) -> tuple[int, int]:
        if self.offset == "random":
            dy = int(torch.randint(0, self.height, (), generator=self.generator))
            dx = int(torch.randint(0, self.width, (), generator=self.generator))
            return dy, dx
        return self.offset

    def roll(self, latents: torch.Tensor) -> torch.Tensor:  # [B, C, h, w]
        """Roll by the next shift and add it to the total."""
        dy, dx = self.next_shift()
        self.total = ((self.total[0] + dy) % self.height, (self.total[1] + dx) % self.width)
        return torch.roll(latents, shifts=(dy, dx), dims=(-2, -1))

    def to_current(self, latents: torch.Tensor) -> torch.Tensor:
        """Bring latents given in the original frame into the current rolled frame."""
        return torch.roll(latents, shifts=self.total, dims=(-2, -1))

    def unroll(self, latents: torch.Tensor) -> torch.Tensor:
        """Back to the original frame."""
        return torch.roll(latents, shifts=(-self.total[0], -self.total[1]), dims=(-2, -1))
