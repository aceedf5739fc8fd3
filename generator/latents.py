"""Flux latent geometry: 2x2 packing into tokens, image position ids, and the timestep shift.

A 16-channel VAE latent [B, 16, h, w] (h = H / 8) becomes (h/2 * w/2) tokens of 64 channels, the
channels of one token ordered (c, dy, dx) as in FLUX.1 (so published weights apply unchanged).
"""

from __future__ import annotations

import torch


def pack_latents(latents: torch.Tensor) -> torch.Tensor:  # [B, C, h, w] -> [B, h/2 * w/2, 4C]
    batch, channels, height, width = latents.shape
    if height % 2 or width % 2:
        raise ValueError(f"latent height and width must be even to pack 2x2 patches, got {height}x{width}")
    patches = latents.reshape(batch, channels, height // 2, 2, width // 2, 2)
    return patches.permute(0, 2, 4, 1, 3, 5).reshape(batch, (height // 2) * (width // 2), channels * 4)


def unpack_latents(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[B, h/2 * w/2, 4C] tokens -> [B, C, h, w] latents (height, width: latent size)."""
    batch, count, packed = tokens.shape
    if count != (height // 2) * (width // 2) or packed % 4:
        raise ValueError(f"tokens of shape {tuple(tokens.shape)} do not hold a {height}x{width} latent")
    patches = tokens.reshape(batch, height // 2, width // 2, packed // 4, 2, 2)
    return patches.permute(0, 3, 1, 4, 2, 5).reshape(batch, packed // 4, height, width)


def image_position_ids(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """[h/2 * w/2, 3] rotary ids (0, row, column) of the packed tokens (height, width: latent size).
    Shared by all three branches (pixel alignment)."""
    rows = torch.arange(height // 2, device=device, dtype=dtype)
    cols = torch.arange(width // 2, device=device, dtype=dtype)
    ids = torch.zeros(height // 2, width // 2, 3, device=device, dtype=dtype)
    ids[..., 1] = rows[:, None]
    ids[..., 2] = cols[None, :]
    return ids.reshape(-1, 3)


def text_position_ids(tokens: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """[tokens, 3] zeros: Flux gives all text tokens position 0."""
    return torch.zeros(tokens, 3, device=device, dtype=dtype)


def timestep_shift_mu(image_tokens: int, base_tokens: int = 256, max_tokens: int = 4096,
                      base_shift: float = 0.5, max_shift: float = 1.15) -> float:
    """Dynamic shift mu of the flow-matching schedule: linear in the token count per branch,
    base_shift at `base_tokens`, max_shift at `max_tokens` (0.63 at 1024 tokens = 512x512)."""
    slope = (max_shift - base_shift) / (max_tokens - base_tokens)
    return base_shift + slope * (image_tokens - base_tokens)
