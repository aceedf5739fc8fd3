"""How the VAE sees normal maps: "linear" (raw, REFERENCE §1) and "sqrt" (x, y companded), through
the generator's input / output mappings, the pipeline, the trainers' decoder and the folder defaults."""

import json
import math

import pytest
import torch

from intrinsix.generator import make_tiny_pipeline
from intrinsix.generator.conditioning import (compand_normals, expand_normals, image_to_vae_input,
                                              vae_output_to_image)
from intrinsix.generator.defaults import generation_defaults
from intrinsix.training.components import decode_intrinsics


def tilted_normals(degrees: float, count: int = 64, seed: int = 0) -> torch.Tensor:  # [1, count, count, 3]
    """Unit normals tilted by `degrees` in random azimuths."""
    azimuth = torch.rand(1, count, count, generator=torch.Generator().manual_seed(seed)) * 2 * math.pi
    tilt = math.radians(degrees)
    return torch.stack([math.sin(tilt) * azimuth.cos(), math.sin(tilt) * azimuth.sin(),
                        torch.full_like(azimuth, math.cos(tilt))], dim=-1)


def test_linear_is_raw_as_the_real_weights():
    normal = tilted_normals(20.0)
    torch.testing.assert_close(image_to_vae_input(2, normal), normal.permute(0, 3, 1, 2))
    torch.testing.assert_close(image_to_vae_input(2, normal, "linear"), normal.permute(0, 3, 1, 2))


def test_sqrt_round_trips_and_amplifies_fine_relief():
    for degrees in (0.5, 3.0, 30.0, 80.0):
        normal = tilted_normals(degrees)
        pixels = image_to_vae_input(2, normal, "sqrt")  # [1, 3, H, W]
        assert float(pixels.abs().max()) <= 1.0
        torch.testing.assert_close(vae_output_to_image(2, pixels, "sqrt"), normal, rtol=0, atol=1e-5)
    # 3 degrees of leather-like relief: |x|, |y| up to sin 3 deg = 0.052 raw, up to 0.23 companded.
    fine = tilted_normals(3.0)
    assert float(image_to_vae_input(2, fine, "linear")[:, :2].abs().amax()) < 0.053
    assert float(image_to_vae_input(2, fine, "sqrt")[:, :2].abs().amax()) > 0.22
    # z and the signs stay as they were.
    torch.testing.assert_close(image_to_vae_input(2, fine, "sqrt")[:, 2], fine[..., 2])
    assert torch.equal(image_to_vae_input(2, fine, "sqrt")[:, :2].sign(), fine.permute(0, 3, 1, 2)[:, :2].sign())


def test_expand_is_differentiable_at_zero_and_inverts_compand():
    values = torch.tensor([[-0.9, -0.01, 0.0], [0.0, 0.04, 0.7]], requires_grad=True)
    expand_normals(values, "sqrt").sum().backward()
    assert torch.isfinite(values.grad).all()
    torch.testing.assert_close(expand_normals(compand_normals(values.detach(), "sqrt"), "sqrt"), values.detach())


def test_albedo_and_material_ignore_the_encoding():
    image = torch.rand(2, 8, 8, 3, generator=torch.Generator().manual_seed(1))
    for branch in (0, 1):
        assert torch.equal(image_to_vae_input(branch, image, "sqrt"), image_to_vae_input(branch, image))


def test_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match=r"normal_encoding must be one of \('linear', 'sqrt'\), got 'log'"):
        image_to_vae_input(2, tilted_normals(1.0), "log")


def test_pipeline_and_trainer_decoders_use_the_encoding():
    pipe = make_tiny_pipeline(0)
    latents = torch.randn(3, 16, 8, 8, generator=torch.Generator().manual_seed(3))
    linear = pipe.decode_latents(latents)["normal"]
    pipe.normal_encoding = "sqrt"
    sqrt = pipe.decode_latents(latents)["normal"]
    z = latents / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor
    pixels = pipe.vae.decode(z).sample[2:3]
    torch.testing.assert_close(sqrt, vae_output_to_image(2, pixels, "sqrt"))
    assert not torch.allclose(sqrt, linear)
    # Stage 2 decodes with gradients through the same mapping (it does not clamp: compare where the
    # decoded values lie inside [-1, 1]).
    trainer = decode_intrinsics(pipe.vae, latents, "sqrt")["normal"]
    inside = (pixels.abs() < 1.0).all(dim=1)  # [1, H, W]
    assert inside.float().mean() > 0.5
    torch.testing.assert_close(trainer[inside], sqrt[inside], rtol=1e-4, atol=1e-4)
    # encode_image companded: the tilted map's latents differ from the raw map's.
    normal = tilted_normals(5.0)
    companded = pipe.encode_image("normal", normal)
    pipe.normal_encoding = "linear"
    assert not torch.allclose(companded, pipe.encode_image("normal", normal))


def test_folder_defaults_name_the_encoding(tmp_path):
    assert generation_defaults(tmp_path)["normal_encoding"] == "linear"  # FLUX.1-dev: raw
    (tmp_path / "intrinsix_defaults.json").write_text(json.dumps({"normal_encoding": "sqrt"}))
    assert generation_defaults(tmp_path)["normal_encoding"] == "sqrt"
    (tmp_path / "intrinsix_defaults.json").write_text(json.dumps({"normal_encoding": "srgb"}))
    with pytest.raises(ValueError, match=r"normal_encoding must be one of \('linear', 'sqrt'\), got 'srgb'"):
        generation_defaults(tmp_path)
