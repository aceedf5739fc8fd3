"""Fixtures for the pbr tests: a random texture set (the glTF validator fixture is in tests/conftest.py)."""

from __future__ import annotations


import pytest

from intrinsix.pbr import TextureSet
from pbr_testing import random_generator_outputs

@pytest.fixture
def texture_set() -> TextureSet:
    albedo, material, normal = random_generator_outputs(24, 40)
    return TextureSet.from_generator(albedo, material, normal, name="RedBrick")
