"""Score distillation: the flow-matching SDS gradient as defined, the IntrinsiX prior against the
generator's own denoising step, and textures moving to what the prior predicts."""

import pytest
import torch
from texturing_testing import BRANCHES, TargetPrior

from intrinsix.generator import BranchCondition, make_tiny_pipeline
from intrinsix.texturing.optimize import TexturingConfig, texture_room
from intrinsix.texturing.prior import IntrinsiXPrior
from intrinsix.texturing.sds import score_distillation


class FixedVelocityPrior(TargetPrior):
    def __init__(self, velocity):
        super().__init__({})
        self.velocity = velocity
        self.calls = []

    def predict_velocity(self, latents, sigmas, prompts):
        self.calls.append((latents.clone(), sigmas.clone(), list(prompts)))
        return self.velocity


def test_sds_gradient_is_sigma_times_velocity_residual():
    g = torch.Generator().manual_seed(0)
    images = {b: torch.rand(2, 4, 4, 3, generator=g).requires_grad_(True) for b in BRANCHES}
    velocity = torch.randn(2, 3, 3, 4, 4, generator=g)
    prior = FixedVelocityPrior(velocity)
    sigmas = torch.tensor([0.3, 0.8])
    step = score_distillation(prior, images, ("albedo", "material"), sigmas, ["a", "b"], torch.Generator().manual_seed(7))
    step.loss.backward()
    x0 = torch.stack([images[b].detach().permute(0, 3, 1, 2) for b in BRANCHES], dim=1)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(7))
    s = sigmas.view(2, 1, 1, 1, 1)
    expected = s * (velocity - (eps - x0)) / 2  # g / N
    for k, branch in enumerate(("albedo", "material")):
        assert torch.allclose(images[branch].grad.permute(0, 3, 1, 2), expected[:, k], atol=1e-6)
    assert images["normal"].grad is None  # held branch: no gradient
    noisy, given_sigmas, prompts = prior.calls[0]
    assert torch.allclose(given_sigmas, torch.tensor([[0.3, 0.3, 0.0], [0.8, 0.8, 0.0]]))
    assert torch.allclose(noisy[:, 2], x0[:, 2])  # the held branch goes in clean ("cross")
    assert torch.allclose(noisy[:, :2], (1 - s) * x0[:, :2] + s * eps[:, :2], atol=1e-6)
    assert prompts == ["a", "b"]


def test_image_space_gradient_pulls_each_image_to_the_decoded_estimate():
    g = torch.Generator().manual_seed(1)
    images = {b: torch.rand(2, 4, 4, 3, generator=g).requires_grad_(True) for b in BRANCHES}
    # TargetPrior's velocity makes x0_hat exactly the target colour; its decode is the identity layout.
    targets = {"albedo": (1.0, 0.0, 0.0), "material": (0.2, 1.0, 0.0)}
    step = score_distillation(TargetPrior(targets), images, ("albedo", "material"), torch.tensor([0.5, 0.9]),
                              ["a", "b"], torch.Generator().manual_seed(7), space="image")
    step.loss.backward()
    for branch, colour in targets.items():
        expected = (images[branch].detach() - torch.tensor(colour)) / 2  # (I - D(x0_hat)) / N
        assert torch.allclose(images[branch].grad, expected, atol=1e-6)
    assert images["normal"].grad is None
    with pytest.raises(ValueError, match=r"space must be one of \('latent', 'image'\), got 'pixels'"):
        score_distillation(TargetPrior(targets), images, ("albedo",), torch.tensor([0.5, 0.9]), ["a", "b"],
                           torch.Generator(), space="pixels")


def test_intrinsix_prior_matches_one_generator_step():
    """One Euler step from sigma 1 of the pipeline's own loop gives x = noise - v; the prior must
    predict the same v for the same inputs, with the normal branch held clean by "cross"."""
    pipe = make_tiny_pipeline(seed=0)
    pipe.set_progress_bar_config(disable=True)
    prior = IntrinsiXPrior(pipe, guidance=3.5)
    noise = torch.randn(3, 16, 4, 4, generator=torch.Generator().manual_seed(1))
    held = torch.randn(1, 16, 4, 4, generator=torch.Generator().manual_seed(2))
    out = pipe("red brick wall", height=32, width=32, num_inference_steps=1, latents=noise.clone(),
               conditioning={"normal": BranchCondition("cross", latents=held)}, output_type="latent")
    latents = noise.clone().reshape(1, 3, 16, 4, 4)
    latents[:, 2] = held
    velocity = prior.predict_velocity(latents, torch.tensor([[1.0, 1.0, 0.0]]), ["red brick wall"])
    stepped = latents[0] - velocity[0]
    assert torch.allclose(out.latents[0, :2], stepped[:2], atol=1e-5)
    # The prior's encoder is the pipeline's VAE encoder, and it carries gradients to the images.
    images = {"albedo": torch.rand(1, 32, 32, 3, requires_grad=True),
              "normal": torch.nn.functional.normalize(torch.randn(2, 32, 32, 3), dim=-1).requires_grad_(True)}
    latents = prior.encode(images)
    (latents["albedo"].sum() + latents["normal"].sum()).backward()
    assert all(image.grad is not None and image.grad.abs().sum() > 0 for image in images.values())
    for branch, image in images.items():  # batched branches = the pipeline's own encoding, one by one
        assert torch.allclose(latents[branch], pipe.encode_image(branch, image.detach()), atol=1e-5)


def test_true_guidance_of_the_prior_steers_from_the_negative_or_the_empty_prompt():
    """negative_prompt None means the empty (unconditional) prompt under true guidance, the same
    prediction as ""; a real negative prompt changes it; at true_cfg_scale 1 it is not encoded."""
    pipe = make_tiny_pipeline(seed=0)
    encoded = []

    def text_encoder(prompt):
        encoded.extend(prompt if isinstance(prompt, list) else [prompt])
        return pipe.encode_prompt(prompt, pipe.transformer.device)

    latents = torch.randn(1, 3, 16, 4, 4, generator=torch.Generator().manual_seed(3))
    sigmas = torch.tensor([[0.7, 0.7, 0.7]])

    def velocity(**kwargs):
        prior = IntrinsiXPrior(pipe, guidance=3.5, text_encoder=text_encoder, **kwargs)
        return prior.predict_velocity(latents, sigmas, ["red brick wall"])

    default = velocity(true_cfg_scale=2.0)
    assert "" in encoded
    assert torch.allclose(default, velocity(true_cfg_scale=2.0, negative_prompt=""), atol=1e-6)
    assert not torch.allclose(default, velocity(true_cfg_scale=2.0, negative_prompt="blue tiles"), atol=1e-4)
    encoded.clear()
    plain = velocity(true_cfg_scale=1.0, negative_prompt="blue tiles")
    assert encoded == ["red brick wall"] and not torch.allclose(plain, default, atol=1e-4)


def test_textures_move_to_what_the_prior_predicts(box_room_scene):
    """A prior that always predicts red albedo, roughness 0.2 and metallic 1 pulls every texel that
    a camera sees there."""
    config = TexturingConfig(iterations=24, normal_fraction=0.0, resolution=48, views_per_iteration=2,
                             learning_rate=0.08, texture_budget=3 * 64 * 64)
    result = texture_room(box_room_scene, TargetPrior({"albedo": (1.0, 0.0, 0.0), "material": (0.2, 1.0, 0.0)}),
                          "a red room", config)
    seen = torch.cat([o.seen.reshape(-1) for o in result.objects])
    albedo = torch.cat([o.albedo.reshape(-1, 3) for o in result.objects])[seen]
    metallic = torch.cat([o.metallic.reshape(-1) for o in result.objects])[seen]
    roughness = torch.cat([o.roughness.reshape(-1) for o in result.objects])[seen]
    assert albedo[:, 0].mean() > 0.9 and albedo[:, 1:].mean() < 0.1  # from 0.5 grey to red
    assert metallic.mean() > 0.85  # from 0
    assert (roughness.mean() - 0.2).abs() < 0.15  # from 0.7
    hidden = torch.cat([(o.atlas & ~o.seen).reshape(-1) for o in result.objects])
    assert hidden.any()  # e.g. the boxes' bottoms, which rest on the floor: no camera sees them
