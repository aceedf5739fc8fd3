"""The stage-2 losses: the re-render loss, LPIPS from local files, and the flow-matching pieces."""

from __future__ import annotations

import math

import pytest
import torch

from intrinsix.training.flow import (flow_target, noisy_latents, predict_x0, sample_sigma_and_noise,
                                     stream_seed)
from intrinsix.training.lpips import LPIPS
from intrinsix.training.rerender import rerender_loss, tone_map

G, H, W = 2, 12, 16


def random_maps(seed: int, requires_grad: bool = False, size: tuple[int, int] = (H, W)) -> dict[str, torch.Tensor]:
    H, W = size
    g = torch.Generator().manual_seed(seed)
    normal = torch.randn(G, H, W, 3, generator=g)
    normal[..., 2] = normal[..., 2].abs() + 0.5  # facing the camera
    maps = {"albedo": torch.rand(G, H, W, 3, generator=g) * 0.9 + 0.05,
            "material": torch.rand(G, H, W, 3, generator=g) * 0.9 + 0.05,
            "normal": normal / normal.norm(dim=-1, keepdim=True)}
    maps["material"][..., 2] = 0.0
    return {k: v.requires_grad_(requires_grad) for k, v in maps.items()}


def test_zero_when_prediction_equals_ground_truth():
    gt = random_maps(0)
    mask = torch.ones(G, H, W, 1)
    mask[:, :3] = 0.0
    for space in ("tonemapped", "linear"):
        out = rerender_loss({k: v.clone() for k, v in gt.items()}, gt, generator=torch.Generator().manual_seed(1),
                            mask=mask, render_space=space)
        assert out["rerender"].item() == 0.0
        assert out["pred_render"].shape == (G * 5, H, W, 3)
        assert out["pred_render"].abs().max() > 0  # the renders are not black: the light hits the maps


def test_differentiable_in_every_predicted_map():
    gt, pred = random_maps(0), random_maps(1, requires_grad=True)
    out = rerender_loss(pred, gt, generator=torch.Generator().manual_seed(1))
    assert out["rerender"].item() > 0
    out["rerender"].backward()
    for name, tensor in pred.items():
        grad = tensor.grad
        assert grad is not None and torch.isfinite(grad).all(), name
        channels = grad[..., :2] if name == "material" else grad  # material B is unused
        assert channels.abs().sum() > 0, name


def test_gradient_matches_a_finite_difference_of_the_albedo():
    """In linear render space the loss is exactly quadratic in the albedo (the render is linear
    in it), so the central difference is exact up to float rounding."""
    gt, pred = random_maps(0), random_maps(1, requires_grad=True)
    direction = torch.randn(G, H, W, 3, generator=torch.Generator().manual_seed(5)) * 0.01

    def loss_at(albedo):
        maps = {"albedo": albedo, "material": pred["material"].detach(), "normal": pred["normal"].detach()}
        return rerender_loss(maps, gt, generator=torch.Generator().manual_seed(1), render_space="linear")["rerender"]

    loss_at(pred["albedo"]).backward()
    analytic = (pred["albedo"].grad * direction).sum().item()
    with torch.no_grad():
        a = pred["albedo"].detach()
        numeric = (loss_at(a + direction).item() - loss_at(a - direction).item()) / 2.0
    assert analytic == pytest.approx(numeric, rel=1e-3)


def test_lights_come_from_the_prediction_and_are_shared_with_the_ground_truth():
    pred = random_maps(1)
    first = rerender_loss(pred, random_maps(0), generator=torch.Generator().manual_seed(3))
    second = rerender_loss(pred, random_maps(7), generator=torch.Generator().manual_seed(3))
    assert torch.equal(first["lights"].pixel, second["lights"].pixel)  # gt does not steer the lights
    assert first["lights"].direction.shape == (G, 5, 3)
    # The light at a picked pixel is the mirror direction of the predicted normal: that pixel of
    # the predicted render sees its specular peak (n.h = 1).
    row, col = first["lights"].pixel[0, 0].tolist()
    n = pred["normal"].flip(1)[0, row, col]  # kernel frame: rows from the bottom
    l = first["lights"].direction[0, 0]
    assert torch.dot(n, l).item() > 0


def test_masked_pixels_get_no_light_and_no_gradient():
    gt, pred = random_maps(0), random_maps(1, requires_grad=True)
    mask = torch.zeros(G, H, W, 1)
    mask[:, :, W // 2:] = 1.0  # right half valid
    out = rerender_loss(pred, gt, generator=torch.Generator().manual_seed(2), mask=mask)
    assert (out["lights"].pixel[..., 1] >= W // 2).all()
    out["rerender"].backward()
    assert pred["albedo"].grad[:, :, : W // 2].abs().max() == 0
    assert pred["albedo"].grad[:, :, W // 2:].abs().max() > 0


def test_tone_map_endpoints():
    x = torch.tensor([0.0, 1.0, 10.0])
    torch.testing.assert_close(tone_map(x), torch.tensor([0.0, 1.0, math.log1p(640.0) / math.log1p(64.0)]))


def test_bad_arguments_are_named():
    gt = random_maps(0)
    with pytest.raises(ValueError, match="render_space"):
        rerender_loss(gt, gt, render_space="srgb")
    with pytest.raises(ValueError, match="num_lights"):
        rerender_loss(gt, gt, num_lights=0)
    with pytest.raises(ValueError, match=r"pred\['normal'\]"):
        rerender_loss({**gt, "normal": gt["normal"][:, :4]}, gt)


# -- LPIPS -------------------------------------------------------------------------------------------


def write_lpips_files(folder, seed=0):
    """Random weights in the two published layouts: torchvision VGG16 (`features.N`) and LPIPS v0.1
    (`linN.model.1.weight`)."""
    g = torch.Generator().manual_seed(seed)
    backbone, channels = {}, 3
    index = 0
    for item in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512):
        if item == "M":
            index += 1
            continue
        scale = (2.0 / (9 * channels)) ** 0.5  # He init: activations keep their size through the layers
        backbone[f"features.{index}.weight"] = torch.randn(item, channels, 3, 3, generator=g) * scale
        backbone[f"features.{index}.bias"] = torch.zeros(item)
        channels, index = item, index + 2
    backbone["classifier.0.weight"] = torch.zeros(4, 4)  # present in torchvision files, ignored
    linear = {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1, generator=g)
              for k, c in enumerate((64, 128, 256, 512, 512))}
    torch.save(backbone, folder / "vgg16.pth")
    torch.save(linear, folder / "lpips_vgg.pth")
    return folder / "vgg16.pth", folder / "lpips_vgg.pth"


def test_lpips_from_local_files(tmp_path):
    lpips = LPIPS.from_files(*write_lpips_files(tmp_path))
    assert not any(p.requires_grad for p in lpips.parameters())
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = (x + 0.3 * torch.randn(2, 3, 32, 32)).clamp(-1, 1).requires_grad_()
    assert lpips(x, x).abs().max() == 0
    distance = lpips(x, y)
    assert distance.shape == (2,) and (distance > 0).all()
    distance.sum().backward()
    assert y.grad.abs().sum() > 0


def test_lpips_term_in_the_rerender_loss(tmp_path):
    lpips = LPIPS.from_files(*write_lpips_files(tmp_path))
    gt, pred = random_maps(0, size=(16, 16)), random_maps(1, size=(16, 16))
    same = rerender_loss(gt, gt, generator=torch.Generator().manual_seed(0), lpips=lpips)
    different = rerender_loss(pred, gt, generator=torch.Generator().manual_seed(0), lpips=lpips)
    assert same["lpips"].item() == 0.0 and different["lpips"].item() > 0.0
    assert rerender_loss(pred, gt, generator=torch.Generator().manual_seed(0))["lpips"].item() == 0.0


def test_lpips_bad_files_are_named(tmp_path):
    backbone, linear = write_lpips_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        LPIPS.from_files(tmp_path / "missing.pth", linear)
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, tmp_path / "short.pth")
    with pytest.raises(ValueError, match="lin1.model.1.weight"):
        LPIPS.from_files(backbone, tmp_path / "short.pth")
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "notvgg.pth")
    with pytest.raises(ValueError, match="lpips_backbone.*missing"):
        LPIPS.from_files(tmp_path / "notvgg.pth", linear)
    with pytest.raises(ValueError, match="at least 16"):
        LPIPS.from_files(backbone, linear)(torch.zeros(1, 3, 8, 32), torch.zeros(1, 3, 8, 32))


# -- flow matching -----------------------------------------------------------------------------------


def test_flow_matching_identities():
    x0, noise = torch.randn(3, 16, 4, 4), torch.randn(3, 16, 4, 4)
    sigma = torch.tensor([0.0, 0.3, 1.0])
    x_t = noisy_latents(x0, noise, sigma)
    torch.testing.assert_close(x_t[0], x0[0])
    torch.testing.assert_close(x_t[2], noise[2])
    torch.testing.assert_close(predict_x0(x_t, flow_target(x0, noise), sigma), x0)  # exact velocity -> exact x0


def test_noise_depends_on_the_stream_position_only():
    sigma, noise = sample_sigma_and_noise([5, 9], seed=0, latent_shape=(16, 2, 2), branches=3)
    assert sigma.shape == (6,) and noise.shape == (6, 16, 2, 2)
    assert torch.equal(sigma[0:3], sigma[0].expand(3)) and sigma[0] != sigma[3]  # shared per triple
    assert not torch.equal(noise[0], noise[1])  # own noise per branch
    alone_sigma, alone_noise = sample_sigma_and_noise([9], seed=0, latent_shape=(16, 2, 2), branches=3)
    assert torch.equal(alone_noise, noise[3:]) and torch.equal(alone_sigma, sigma[3:])
    assert stream_seed(0, 1, 9) != stream_seed(1, 1, 9)
    uniform = sample_sigma_and_noise(range(2000), seed=0, latent_shape=(1, 1, 1))[0]
    assert 0 <= uniform.min() and uniform.max() < 1 and abs(uniform.mean().item() - 0.5) < 0.03
