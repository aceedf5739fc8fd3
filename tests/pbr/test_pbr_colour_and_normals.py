"""sRGB transfer functions and normal conventions."""

import torch

from intrinsix.pbr import convert_convention, decode_normals, encode_normals, linear_to_srgb, srgb_to_linear


def test_srgb_known_values_both_segments():
    linear = torch.tensor([0.0, 0.002, 0.0031308, 0.18, 0.5, 1.0], dtype=torch.float64)
    expected = torch.tensor([0.0, 0.002 * 12.92, 0.0031308 * 12.92, 1.055 * 0.18 ** (1 / 2.4) - 0.055,
                             1.055 * 0.5 ** (1 / 2.4) - 0.055, 1.0], dtype=torch.float64)
    torch.testing.assert_close(linear_to_srgb(linear), expected, rtol=0, atol=1e-12)
    # Middle grey: linear 0.18 is sRGB ~0.4614, and sRGB 0.5 is linear ~0.2140.
    assert abs(float(linear_to_srgb(torch.tensor(0.18, dtype=torch.float64))) - 0.46135612950044164) < 1e-12
    assert abs(float(srgb_to_linear(torch.tensor(0.5, dtype=torch.float64))) - 0.21404114048223255) < 1e-12


def test_srgb_round_trip_and_8bit_codes():
    x = torch.linspace(0, 1, 10001, dtype=torch.float64)
    torch.testing.assert_close(srgb_to_linear(linear_to_srgb(x)), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, rtol=0, atol=1e-12)
    # Every 8-bit sRGB code survives decode -> encode -> quantise.
    codes = torch.arange(256, dtype=torch.float64)
    again = torch.round(linear_to_srgb(srgb_to_linear(codes / 255)) * 255)
    assert torch.equal(again, codes)


def test_srgb_is_monotonic_and_clamps():
    x = torch.linspace(-0.5, 1.5, 4001)
    y = linear_to_srgb(x)
    assert bool((y[1:] >= y[:-1]).all())
    assert float(y.min()) == 0.0 and 1.0 - 1e-6 <= float(y.max()) <= 1.0  # float32: 1.055 - 0.055


def test_directx_flips_only_y():
    n = torch.nn.functional.normalize(torch.tensor([[0.3, 0.5, 0.8], [-0.2, -0.6, 0.77]]), dim=-1)
    dx = convert_convention(n, "opengl", "directx")
    torch.testing.assert_close(dx[:, 0], n[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(dx[:, 1], -n[:, 1], rtol=0, atol=0)
    torch.testing.assert_close(dx[:, 2], n[:, 2], rtol=0, atol=0)
    torch.testing.assert_close(convert_convention(dx, "directx", "opengl"), n, rtol=0, atol=0)
    assert convert_convention(n, "opengl", "opengl") is n


def test_normal_storage_encoding_round_trip():
    n = torch.nn.functional.normalize(torch.randn(1000, 3, generator=torch.Generator().manual_seed(3)), dim=-1)
    rgb = encode_normals(n)
    assert float(rgb.min()) >= 0 and float(rgb.max()) <= 1
    torch.testing.assert_close(decode_normals(rgb), n, rtol=0, atol=1e-6)
    # The flat normal (0, 0, 1) is the familiar (0.5, 0.5, 1.0) colour.
    torch.testing.assert_close(encode_normals(torch.tensor([0.0, 0.0, 1.0])), torch.tensor([0.5, 0.5, 1.0]))
