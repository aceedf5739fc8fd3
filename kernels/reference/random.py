"""Twin of the counter-based random numbers of kernels/csrc/common.h, bit for bit.

uint32 arithmetic is emulated in int64 tensors: every product of a value below 2^32 and a
multiplier below 2^30 fits in 63 bits, and each step is reduced modulo 2^32 with a mask.
"""

from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF


def pcg_hash(value: torch.Tensor) -> torch.Tensor:  # int64 in [0, 2^32) -> int64 in [0, 2^32)
    """PCG-RXS-M-XS 32-bit output permutation used as an integer hash (common.h `pcg_hash`)."""
    state = (value * 747796405 + 2891336453) & _MASK32
    shift = (state >> 28) + 4
    word = (((state >> shift) ^ state) * 277803737) & _MASK32
    return (word >> 22) ^ word


def random_uniform(
    seed: int,
    pixel: torch.Tensor,  # int64, any shape: pixel index (wraps modulo 2^32 as uint32 does)
    sample: torch.Tensor | int,  # int64 tensor broadcastable with pixel, or an int
    dim: int,  # in [0, 16)
) -> torch.Tensor:  # float32, shape of the broadcast, values in [0, 1) with 24 random bits
    """common.h `random_uniform(seed, pixel, sample, dim)`."""
    pixel = torch.as_tensor(pixel, dtype=torch.int64) & _MASK32
    sample = torch.as_tensor(sample, dtype=torch.int64, device=pixel.device)
    key = pcg_hash((seed & _MASK32) ^ pcg_hash(pixel))
    counter = (sample * 16 + dim) & _MASK32
    h = pcg_hash(key ^ pcg_hash(counter))
    return (h >> 8).to(torch.float32) * (1.0 / 16777216.0)
