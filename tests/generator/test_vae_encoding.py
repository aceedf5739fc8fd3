"""How the VAE sees the maps (`VAEEncoding`): LINEAR (REFERENCE §1, the real weights), sRGB albedo and
companded ("sqrt") normals, through the generator's input / output mappings, the pipeline, the
trainers' decoder and the folder defaults."""

import json
import math

import pytest
import torch

from intrinsix.generator import make_tiny_pipeline
from intrinsix.generator.conditioning import LINEAR, VAEEncoding, image_to_vae_input, vae_output_to_image
from intrinsix.generator.defaults import generation_defaults, vae_encoding
from intrinsix.pbr import linear_to_srgb
from intrinsix.training.components import decode_intrinsics

DEMO = VAEEncoding(albedo="srgb", normal="sqrt")


def tilted_normals(degrees: float, count: int = 64, seed: int = 0) -> torch.Tensor:  # [1, count, count, 3]
    """Unit normals tilted by `degrees` in random azimuths."""
    azimuth = torch.rand(1, count, count, generator=torch.Generator().manual_seed(seed)) * 2 * math.pi
    tilt = math.radians(degrees)
    return torch.stack([math.sin(tilt) * azimuth.cos(), math.sin(tilt) * azimuth.sin(),
                        torch.full_like(azimuth, math.cos(tilt))], dim=-1)


def test_linear_is_reference_section_1():
    normal = tilted_normals(20.0)
    albedo = torch.rand(1, 8, 8, 3, generator=torch.Generator().manual_seed(1))
    assert LINEAR == VAEEncoding("linear", "linear")
    torch.testing.assert_close(image_to_vae_input(2, normal), normal.permute(0, 3, 1, 2))
    torch.testing.assert_close(image_to_vae_input(0, albedo), (2 * albedo - 1).permute(0, 3, 1, 2))
    torch.testing.assert_close(image_to_vae_input(0, albedo, LINEAR), (2 * albedo - 1).permute(0, 3, 1, 2))


def test_sqrt_normals_round_trip_and_amplify_fine_relief():
    for degrees in (0.5, 3.0, 30.0, 80.0):
        normal = tilted_normals(degrees)
        pixels = image_to_vae_input(2, normal, DEMO)  # [1, 3, H, W]
        assert float(pixels.abs().max()) <= 1.0
        torch.testing.assert_close(vae_output_to_image(2, pixels, DEMO), normal, rtol=0, atol=1e-5)
    # 3 degrees of leather-like relief: |x|, |y| up to sin 3 deg = 0.052 raw, up to 0.23 companded.
    fine = tilted_normals(3.0)
    assert float(image_to_vae_input(2, fine)[:, :2].abs().amax()) < 0.053
    assert float(image_to_vae_input(2, fine, DEMO)[:, :2].abs().amax()) > 0.22
    # z and the signs stay as they were.
    torch.testing.assert_close(image_to_vae_input(2, fine, DEMO)[:, 2], fine[..., 2])
    assert torch.equal(image_to_vae_input(2, fine, DEMO)[:, :2].sign(), fine.permute(0, 3, 1, 2)[:, :2].sign())


def test_srgb_albedo_round_trips_and_spreads_dark_colours():
    albedo = torch.rand(2, 8, 8, 3, generator=torch.Generator().manual_seed(2))
    pixels = image_to_vae_input(0, albedo, DEMO)
    torch.testing.assert_close(pixels, (2 * linear_to_srgb(albedo) - 1).permute(0, 3, 1, 2))
    torch.testing.assert_close(vae_output_to_image(0, pixels, DEMO), albedo, rtol=0, atol=1e-5)
    # The vocabulary's black (linear 0.012) sits at -0.976 in linear VAE space, -0.78 in sRGB space.
    black = torch.full((1, 1, 1, 3), 0.012)
    assert float(image_to_vae_input(0, black)[0, 0]) == pytest.approx(-0.976)
    assert float(image_to_vae_input(0, black, DEMO)[0, 0]) == pytest.approx(-0.78, abs=0.01)
    # The material map is not a colour: 2x - 1 in every encoding.
    assert torch.equal(image_to_vae_input(1, albedo, DEMO), image_to_vae_input(1, albedo))


def test_decoding_is_differentiable():
    values = torch.tensor([[-0.9, -0.01, 0.0], [0.0, 0.04, 0.7]], requires_grad=True)
    DEMO.expand_normals(values).sum().backward()
    assert torch.isfinite(values.grad).all()
    torch.testing.assert_close(DEMO.expand_normals(DEMO.compand_normals(values.detach())), values.detach())
    encoded = torch.tensor([0.0, 0.02, 0.5, 1.0], requires_grad=True)
    DEMO.decode_albedo(encoded).sum().backward()
    assert torch.isfinite(encoded.grad).all()


def test_unknown_encodings_are_refused():
    with pytest.raises(ValueError, match=r"normal_encoding must be one of \('linear', 'sqrt'\), got 'log'"):
        VAEEncoding(normal="log")
    with pytest.raises(ValueError, match=r"albedo_encoding must be one of \('linear', 'srgb'\), got 'gamma'"):
        VAEEncoding(albedo="gamma")


def test_pipeline_and_trainer_decoders_use_the_encoding():
    pipe = make_tiny_pipeline(0)
    latents = torch.randn(3, 16, 8, 8, generator=torch.Generator().manual_seed(3))
    linear = pipe.decode_latents(latents)
    pipe.vae_encoding = DEMO
    demo = pipe.decode_latents(latents)
    z = latents / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor
    pixels = pipe.vae.decode(z).sample
    for k, name in enumerate(("albedo", "material", "normal")):
        torch.testing.assert_close(demo[name], vae_output_to_image(k, pixels[k:k + 1], DEMO))
    assert not torch.allclose(demo["normal"], linear["normal"]) and not torch.allclose(demo["albedo"], linear["albedo"])
    assert torch.equal(demo["material"], linear["material"])
    # Stage 2 decodes with gradients through the same mapping (it does not clamp the normals:
    # compare where the decoded values lie inside [-1, 1]).
    trainer = decode_intrinsics(pipe.vae, latents, DEMO)
    torch.testing.assert_close(trainer["albedo"], demo["albedo"], rtol=1e-4, atol=1e-4)
    inside = (pixels[2:3].abs() < 1.0).all(dim=1)  # [1, H, W]
    assert inside.float().mean() > 0.5
    torch.testing.assert_close(trainer["normal"][inside], demo["normal"][inside], rtol=1e-4, atol=1e-4)
    # encode_image companded: the tilted map's latents differ from the raw map's.
    normal = tilted_normals(5.0)
    companded = pipe.encode_image("normal", normal)
    pipe.vae_encoding = LINEAR
    assert not torch.allclose(companded, pipe.encode_image("normal", normal))


def test_trainer_decoder_turns_a_zero_normal_into_the_facing_one_like_generation():
    """A decoded normal of length 0 (raw image value 0 in every channel) is +z in training as in
    generation, with finite gradients, not a zero vector for the re-render loss to shade."""

    class ZeroVAE(torch.nn.Module):
        config = type("Config", (), {"scaling_factor": 1.0, "shift_factor": 0.0})()
        dtype = torch.float32

        def decode(self, z, return_dict=False):  # [3G, 16, h, w] -> [3G, 3, 8h, 8w] of zeros (times z)
            images = 0.0 * z[:, :3].repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)
            return (images,)

    latents = torch.randn(3, 16, 2, 2, requires_grad=True)
    maps = decode_intrinsics(ZeroVAE(), latents, DEMO)
    assert torch.equal(maps["normal"], torch.tensor([0.0, 0.0, 1.0]).expand(1, 16, 16, 3))
    maps["normal"].sum().backward()
    assert torch.isfinite(latents.grad).all()


def test_folder_defaults_name_the_encodings(tmp_path):
    assert vae_encoding(generation_defaults(tmp_path)) == LINEAR  # FLUX.1-dev
    (tmp_path / "intrinsix_defaults.json").write_text(json.dumps({"albedo_encoding": "srgb",
                                                                  "normal_encoding": "sqrt"}))
    assert vae_encoding(generation_defaults(tmp_path)) == DEMO
    (tmp_path / "intrinsix_defaults.json").write_text(json.dumps({"normal_encoding": "srgb"}))
    with pytest.raises(ValueError, match=r"intrinsix_defaults.json: normal_encoding must be one of "
                                         r"\('linear', 'sqrt'\), got 'srgb'"):
        generation_defaults(tmp_path)


def test_texturing_prior_encodes_with_finite_gradients_and_decodes_as_the_pipeline():
    from intrinsix.texturing.prior import IntrinsiXPrior

    pipe = make_tiny_pipeline(0)
    pipe.vae_encoding = DEMO
    prior = IntrinsiXPrior(pipe, guidance=1.0, text_encoder=lambda p: (torch.zeros(1, 8, 32), torch.zeros(1, 32)))
    flat = torch.zeros(1, 32, 32, 3)
    flat[..., 2] = 1.0  # x = y = 0 exactly: where sqrt would have an infinite slope
    normal = flat.clone().requires_grad_(True)
    albedo = torch.zeros(1, 32, 32, 3, requires_grad=True)  # black: sRGB's steepest point
    latents = prior.encode({"albedo": albedo, "normal": normal})
    (latents["albedo"].sum() + latents["normal"].sum()).backward()
    assert torch.isfinite(normal.grad).all() and torch.isfinite(albedo.grad).all()
    # the prior encodes albedo and normal in one VAE batch, the pipeline one image: float32 round-off
    torch.testing.assert_close(latents["normal"], pipe.encode_image("normal", flat), rtol=1e-4, atol=1e-4)
    decoded = prior.decode({name: latents[name].detach() for name in ("albedo", "normal")})
    torch.testing.assert_close(decoded["normal"], pipe.decode_latents(torch.cat([
        latents["albedo"].detach(), latents["albedo"].detach(), latents["normal"].detach()]))["normal"])
    torch.testing.assert_close(decoded["albedo"], pipe.decode_latents(torch.cat([
        latents["albedo"].detach(), latents["albedo"].detach(), latents["normal"].detach()]))["albedo"])
