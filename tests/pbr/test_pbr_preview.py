"""relight_preview: the demo composite over intrinsix.kernels.shade, checked against values worked
out by hand from the REFERENCE.md section 4 formulas."""

import math

import numpy as np
import pytest
import torch

from intrinsix.pbr import TextureMap, TextureSet, light_direction, relight_preview


def tone(x):
    return math.log1p(64 * x) / math.log1p(64)


def uniform_set(size, albedo, roughness, metallic, normal=(0.0, 0.0, 1.0)):
    n = torch.nn.functional.normalize(torch.tensor(normal), dim=0)
    return TextureSet([
        TextureMap(torch.full((size, size, 3), albedo), "albedo"),
        TextureMap(torch.full((size, size, 1), roughness), "roughness"),
        TextureMap(torch.full((size, size, 1), metallic), "metallic"),
        TextureMap(n.expand(size, size, 3).clone(), "normal", normal_convention="opengl"),
    ], name="Uniform")


def test_light_direction_mapping():
    np.testing.assert_allclose(light_direction(0, 0), (0, 0, 1), atol=1e-12)
    np.testing.assert_allclose(light_direction(90, 0), (0, 1, 0), atol=1e-12)
    np.testing.assert_allclose(light_direction(0, 90), (1, 0, 0), atol=1e-12)
    np.testing.assert_allclose(light_direction(0, -90), (-1, 0, 0), atol=1e-12)
    with pytest.raises(ValueError, match=r"light_latitude_deg must be a number in \[0, 90\]"):
        light_direction(-5, 0)
    with pytest.raises(ValueError, match=r"light_longitude_deg must be a number in \[-90, 90\]"):
        light_direction(10, 120)


def test_head_on_light_matches_hand_computed_disney_value():
    # Centre pixel of an odd-sized image: v = n = l = (0, 0, 1). Disney with r = 1, m = 0, a = 0.2:
    # diffuse = a / pi * pi = 0.2; specular = D F G' pi = (1/pi)(0.04)(1/4) pi = 0.01.
    image = relight_preview(uniform_set(33, 0.2, 1.0, 0.0), 0.0, 0.0, output="float")
    assert image.shape == (33, 33, 3) and image.dtype == np.float32
    expected = tone(0.8 * (0.2 + 0.01) + 0.2 * 0.2)
    np.testing.assert_allclose(image[16, 16], [expected] * 3, atol=2e-4)
    as_bytes = relight_preview(uniform_set(33, 0.2, 1.0, 0.0), 0.0, 0.0)
    assert as_bytes.dtype == np.uint8 and int(as_bytes[16, 16, 0]) == round(expected * 255)


def test_grazing_light_leaves_only_the_albedo_term():
    # Light from latitude 90 is in the plane of a flat material: n.l = 0, no direct light.
    image = relight_preview(uniform_set(9, 0.5, 0.5, 0.0), 90.0, 0.0, output="float")
    np.testing.assert_allclose(image, tone(0.2 * 0.5), atol=1e-5)
    dark = relight_preview(uniform_set(9, 0.5, 0.5, 0.0), 30.0, 0.0, intensity=0.0, output="float")
    np.testing.assert_allclose(dark, tone(0.2 * 0.5), atol=1e-5)


def test_surfaces_facing_the_light_are_brighter():
    size = 16
    normal = torch.zeros(size, size, 3)
    normal[: size // 2] = torch.nn.functional.normalize(torch.tensor([0.0, 0.6, 0.8]), dim=0)  # top rows face up
    normal[size // 2:] = torch.nn.functional.normalize(torch.tensor([0.0, -0.6, 0.8]), dim=0)
    ts = TextureSet([TextureMap(torch.full((size, size, 3), 0.5), "albedo"),
                     TextureMap(torch.ones(size, size, 1), "roughness"),
                     TextureMap(torch.zeros(size, size, 1), "metallic"),
                     TextureMap(normal, "normal", normal_convention="opengl")], name="Ridges")
    from_top = relight_preview(ts, 60.0, 0.0, output="float")
    assert from_top[: size // 2].mean() > from_top[size // 2:].mean() + 0.1
    right = uniform_set(16, 0.5, 1.0, 0.0, normal=(0.6, 0.0, 0.8))
    assert relight_preview(right, 0.0, 60.0, output="float").mean() > \
        relight_preview(right, 0.0, -60.0, output="float").mean() + 0.1


def test_highlight_of_a_light_from_above_is_in_the_top_half():
    # A glossy flat metal reflects a light from latitude 30 toward the camera where the view vector
    # mirrors it: y = tan(30 deg) = 0.577 on the image plane, whose top edge is at tan(42.5 deg) =
    # 0.916, i.e. 18.5 % of the height below the top edge: row ~5.9 of 32 (rows are top first).
    # A weak light keeps the peak below the clamp.
    image = relight_preview(uniform_set(32, 0.8, 0.15, 1.0), 30.0, 0.0, intensity=0.2, output="float")
    brightest_row = int(image[:, 16, 0].argmax())
    assert 4 <= brightest_row <= 7


def test_size_and_bad_arguments():
    ts = uniform_set(20, 0.5, 0.5, 0.0)
    assert relight_preview(ts, 45, 0, size=10).shape == (10, 10, 3)
    assert relight_preview(ts, 45, 0, size=(6, 8)).shape == (6, 8, 3)
    with pytest.raises(ValueError, match="size must be"):
        relight_preview(ts, 45, 0, size=0)
    with pytest.raises(ValueError, match="output must be"):
        relight_preview(ts, 45, 0, output="png")
    with pytest.raises(ValueError, match="light_latitude_deg"):
        relight_preview(ts, 95, 0)
