"""Shared tiny-model inputs for the generator tests."""

from __future__ import annotations

import pytest
import torch

from intrinsix.generator.latents import image_position_ids, text_position_ids


def transformer_inputs(groups: int = 1, text_tokens: int = 8, latent: int = 8, seed: int = 0,
                       dtype: torch.dtype = torch.float64) -> dict:
    """Keyword arguments of a tiny FluxTransformer2DModel forward: 3 * groups rows."""
    g = torch.Generator().manual_seed(seed)
    rows = 3 * groups
    tokens = (latent // 2) ** 2
    return dict(
        hidden_states=torch.randn(rows, tokens, 64, generator=g, dtype=dtype),
        encoder_hidden_states=torch.randn(rows, text_tokens, 32, generator=g, dtype=dtype),
        pooled_projections=torch.randn(rows, 32, generator=g, dtype=dtype),
        timestep=torch.full((rows,), 0.6, dtype=dtype),
        guidance=torch.full((rows,), 3.5, dtype=dtype),
        txt_ids=text_position_ids(text_tokens),
        img_ids=image_position_ids(latent, latent),
        return_dict=False,
    )


@pytest.fixture
def make_inputs():
    """The `transformer_inputs` builder."""
    return transformer_inputs
