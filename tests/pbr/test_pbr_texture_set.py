"""TextureMap / TextureSet construction, conversions and input validation; material names."""

import pytest
import torch

from intrinsix.pbr import (TextureMap, TextureSet, check_material_name, linear_to_srgb, material_name_from_prompt)

from pbr_testing import random_generator_outputs


def test_from_generator_splits_material_and_keeps_linear_opengl():
    albedo, material, normal = random_generator_outputs(8, 12, seed=1)
    ts = TextureSet.from_generator(albedo, material, normal, name="Slate", tiling=True)
    assert ts.resolution == (8, 12) and ts.tiling and ts.name == "Slate"
    assert list(ts.maps) == ["albedo", "roughness", "metallic", "normal"]
    torch.testing.assert_close(ts["albedo"].data, albedo, rtol=0, atol=0)
    torch.testing.assert_close(ts["roughness"].data[..., 0], material[..., 0], rtol=0, atol=0)
    torch.testing.assert_close(ts["metallic"].data[..., 0], material[..., 1], rtol=0, atol=0)
    torch.testing.assert_close(ts["normal"].data, normal, rtol=0, atol=3e-7)  # renormalised
    assert ts["albedo"].color_space == "linear" and ts["normal"].normal_convention == "opengl"
    assert all(m.tiling and not m.derived for m in ts.maps.values())


def test_numpy_inputs_are_accepted():
    albedo, material, normal = (t.numpy() for t in random_generator_outputs(4, 4))
    ts = TextureSet.from_generator(albedo, material, normal)
    assert ts["albedo"].data.dtype == torch.float32


def test_srgb_albedo_and_directx_normals_are_converted_on_the_way_in():
    albedo, material, normal = random_generator_outputs(6, 6, seed=2)
    dx = normal * torch.tensor([1.0, -1.0, 1.0])
    ts = TextureSet([TextureMap(linear_to_srgb(albedo), "albedo", color_space="srgb"),
                     TextureMap(material[..., :1], "roughness"), TextureMap(material[..., 1:2], "metallic"),
                     TextureMap(dx, "normal", normal_convention="directx")], name="Converted")
    assert ts["albedo"].color_space == "linear"
    torch.testing.assert_close(ts["albedo"].data, albedo, rtol=0, atol=2e-6)
    assert ts["normal"].normal_convention == "opengl"
    torch.testing.assert_close(ts["normal"].data, normal, rtol=0, atol=1e-6)


def test_derived_maps_are_marked_and_cached_in_the_new_set():
    ts = TextureSet.from_generator(*random_generator_outputs(16, 16), name="Derived")
    full = ts.with_derived()
    assert "height" not in ts and "height" in full and "ambient_occlusion" in full
    assert full["height"].derived and full["ambient_occlusion"].derived
    assert full["height"].height_scale > 0
    assert full.with_derived()["height"] is full["height"]


@pytest.mark.parametrize("bad, message", [
    (lambda a, m, n: (a.clone().index_put_((torch.tensor([0]),), torch.tensor(float("nan"))), m, n), "NaN"),
    (lambda a, m, n: (a, m, n.clone().index_put_((torch.tensor([1]),), torch.tensor(float("inf")))), "NaN or infinite"),
    (lambda a, m, n: (a[..., :2], m, n), r"albedo map must have shape \[H, W, 3\]"),
    (lambda a, m, n: (a[None], m, n), r"albedo map must have shape \[H, W, 3\]"),
    (lambda a, m, n: (a, m[..., :2], n), r"material must have shape \[H, W, 3\]"),
    (lambda a, m, n: (a, m, n[:4]), "one resolution"),
    (lambda a, m, n: (a * 2, m, n), r"values must lie in \[0.0, 1.0\], got values in"),
    (lambda a, m, n: (a, m - 0.5, n), r"roughness map values must lie in \[0.0, 1.0\]"),
    (lambda a, m, n: (a, m, n * 0.5), "unit vectors"),
])
def test_bad_generator_outputs_raise_clear_errors(bad, message):
    albedo, material, normal = bad(*random_generator_outputs(6, 6))
    with pytest.raises(ValueError, match=message):
        TextureSet.from_generator(albedo, material, normal, name="Bad")


def test_bad_types_and_map_fields():
    albedo, material, normal = random_generator_outputs(4, 4)
    with pytest.raises(TypeError, match="floating-point"):
        TextureMap((albedo * 255).to(torch.uint8), "albedo")
    with pytest.raises(TypeError, match="torch.Tensor or numpy array"):
        TextureMap([[0.5]], "roughness")
    with pytest.raises(ValueError, match="semantic must be one of"):
        TextureMap(albedo, "diffuse")
    with pytest.raises(ValueError, match="only albedo may be sRGB"):
        TextureMap(material[..., :1], "roughness", color_space="srgb")
    with pytest.raises(ValueError, match="needs normal_convention"):
        TextureMap(normal, "normal")
    with pytest.raises(ValueError, match="normal_convention must be one of"):
        TextureMap(normal, "normal", normal_convention="vulkan")
    with pytest.raises(ValueError, match="needs height_scale"):
        TextureMap(material[..., :1], "height")
    with pytest.raises(ValueError, match="missing"):
        TextureSet([TextureMap(albedo, "albedo")], name="Partial")
    # Tiny float noise outside the range is clamped, not rejected.
    clamped = TextureMap(albedo + 5e-4, "albedo")
    assert float(clamped.data.max()) <= 1.0


def test_material_names_from_prompts():
    assert material_name_from_prompt("polished gold tiles") == "PolishedGoldTiles"
    assert material_name_from_prompt("  rusty   iron-plate, worn ") == "RustyIronPlateWorn"
    assert material_name_from_prompt("../../etc/passwd") == "EtcPasswd"
    assert material_name_from_prompt("3d bricks") == "M3dBricks"
    assert material_name_from_prompt("café crème") == "CafeCreme"
    assert material_name_from_prompt("木の床") == "Material"
    assert len(material_name_from_prompt("word " * 100)) == 64
    for prompt in ("a/b\\c", "..", "C:\\Windows", "name\0with nul"):
        check_material_name(material_name_from_prompt(prompt))


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "a\\b", "..", ".hidden", "has space", "1abc", "dot.name",
                                  "x" * 65, "nul\0"])
def test_unsafe_material_names_are_rejected(name):
    with pytest.raises(ValueError, match="material name"):
        check_material_name(name)
    with pytest.raises(ValueError, match="material name"):
        TextureSet.from_generator(*random_generator_outputs(2, 2), name=name)
