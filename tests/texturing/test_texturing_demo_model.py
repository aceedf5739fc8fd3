"""Room texturing with the bundled demo model on the CPU: the textures move toward the prompt.

A small room of boxes starts as a grey, fairly rough dielectric (albedo 0.5, roughness 0.7,
metallic 0). After 60 score-distillation iterations at 128^2 (image space, true CFG 5, the
texturer's defaults otherwise), "polished gold" must have made it metallic and "matte red
plastic" red, as measured over the texels the cameras see. About 30 s per prompt on 2 cores.
"""

import pytest
import torch
from texturing_testing import small_room

from intrinsix.cli.generate import default_model_dir
from intrinsix.generator import load_pipeline
from intrinsix.training.data.colours import hue_degrees, hue_difference_degrees, named_colour, saturation
from intrinsix.training.data.vocabulary import FINISHES
from intrinsix.texturing import IntrinsiXPrior, TexturingConfig, texture_room
from intrinsix.texturing.optimize import DEFAULT_TRUE_CFG_SCALE


@pytest.fixture(scope="module")
def prior():
    pipe = load_pipeline(default_model_dir())
    pipe.set_progress_bar_config(disable=True)
    return IntrinsiXPrior(pipe, guidance=1.0, true_cfg_scale=DEFAULT_TRUE_CFG_SCALE, negative_prompt="")


def _texture(prior, prompt: str) -> dict:
    config = TexturingConfig(iterations=60, resolution=128, learning_rate=0.05, views_per_iteration=2,
                             texture_budget=3 * 48 * 48, max_cameras=6, normal_fraction=0.0)
    result = texture_room(small_room(), prior, prompt, config)
    seen = [o.seen for o in result.objects]
    assert all(bool(s.any()) for s in seen)
    return {"albedo": torch.cat([o.albedo[s] for o, s in zip(result.objects, seen)]).mean(0),
            "metallic": float(torch.cat([o.metallic[..., 0][s] for o, s in zip(result.objects, seen)]).mean()),
            "roughness": float(torch.cat([o.roughness[..., 0][s] for o, s in zip(result.objects, seen)]).mean())}


def test_gold_raises_metallic(prior):
    maps = _texture(prior, "polished gold")
    assert maps["metallic"] > 0.7, maps
    assert maps["roughness"] < 0.5, maps  # polished: smoother than the starting 0.7
    albedo = maps["albedo"].tolist()
    assert albedo[0] > albedo[2] + 0.2, maps  # a warm (yellow) metal, not grey


def test_red_moves_the_albedo_hue_to_red(prior):
    maps = _texture(prior, "matte red plastic")
    albedo = maps["albedo"].tolist()
    difference = hue_difference_degrees(hue_degrees(albedo), hue_degrees(named_colour("red").linear))
    assert difference <= 30.0 and saturation(albedo) > 0.5, maps
    # matte plastic: a dielectric with the roughness of the data's "matte" (0.55-0.70), 0.05 tolerance
    assert maps["metallic"] < 0.2 and maps["roughness"] > FINISHES["matte"][0] - 0.05, maps
