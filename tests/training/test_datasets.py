"""`intrinsix data make-procedural`, the InteriorVerse layout it writes, and the two data sets."""

import argparse
import json

import numpy as np
import pytest
import torch

from intrinsix.training import cli
from intrinsix.training.data import InteriorVerseDataset, ProceduralMaterialDataset, layout, vocabulary
from intrinsix.training.data.exr import read_exr, write_exr
from intrinsix.training.data.make_procedural import make_procedural_dataset, split_scenes
from intrinsix.training.data.render import render_view
from intrinsix.training.data.scene import sample_cameras, sample_scene

SIZE = (24, 32)  # (height, width), 4:3
MAPS = ("im", "albedo", "material", "normal", "depth", "mask")


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="intrinsix")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("procedural")
    rc = run_cli(["data", "make-procedural", "--out", str(out), "--scenes", "2", "--views-per-scene", "2",
                  "--size", "32x24", "--seed", "3", "--material-size", "32", "--quiet"])
    assert rc == 0
    return out


def test_make_procedural_writes_exactly_the_layout(tiny_set):
    files = sorted(str(p.relative_to(tiny_set)) for p in tiny_set.rglob("*") if p.is_file())
    expected = ["dataset_85/procedural.json", "dataset_85/test.txt", "dataset_85/train.txt", "dataset_85/val.txt"]
    for scene in ("scene_00000", "scene_00001"):
        for view in ("000", "001"):
            expected += [f"dataset_85/{scene}/{view}_{kind}.exr" for kind in MAPS]
            expected.append(f"dataset_85/{scene}/{view}_caption.txt")
    assert files == sorted(expected)
    assert (tiny_set / "dataset_85/train.txt").read_text() == "scene_00000\nscene_00001\n"
    assert (tiny_set / "dataset_85/val.txt").read_text() == ""
    record = json.loads((tiny_set / "dataset_85/procedural.json").read_text())
    assert record["seed"] == 3 and record["size"] == {"width": 32, "height": 24} and record["fov_deg"] == 85.0
    image = read_exr(tiny_set / "dataset_85/scene_00000/000_im.exr")
    depth = read_exr(tiny_set / "dataset_85/scene_00000/000_depth.exr")
    assert image.shape == (24, 32, 3) and image.dtype == np.float32 and depth.shape == (24, 32, 1)
    captions = (tiny_set / "dataset_85/scene_00000/000_caption.txt").read_text().splitlines()
    assert len(captions) >= 2 and captions[0].startswith("a room with ")


def test_files_hold_the_rendered_maps_and_the_data_set_returns_them_exactly(tiny_set):
    ds = InteriorVerseDataset(tiny_set, split="train", size=None, hflip=False)
    assert len(ds) == 4 and [(s, v) for s, v, _ in ds.items][:2] == [("scene_00000", "000"), ("scene_00000", "001")]
    scene = sample_scene(3 * 1_000_003 + 1, 32)  # make_procedural's seed of scene 1
    camera = sample_cameras(scene, 2, 3 * 1_000_003 + 1)[1]
    maps = render_view(scene, camera, SIZE)
    sample = ds[3]  # scene_00001 / 001
    assert (sample["scene"], sample["view"]) == ("scene_00001", "001")
    for key in ("image", "albedo", "material", "normal", "depth", "mask"):
        stored = torch.from_numpy(read_exr(layout.map_path(tiny_set / "dataset_85/scene_00001", "001", key)))
        assert torch.equal(stored, getattr(maps, key)), key  # EXR float32 round trip is exact
        assert torch.equal(sample[key], stored), key  # every pixel is valid in a closed room
        assert sample[key].dtype == torch.float32
    lines = (tiny_set / "dataset_85/scene_00001/001_caption.txt").read_text().splitlines()
    assert sample["caption"] in lines
    torch.testing.assert_close(sample["normal"].norm(dim=-1), torch.ones(SIZE), atol=1e-5, rtol=0)


def test_crop_flip_and_caption_choice(tiny_set):
    plain = InteriorVerseDataset(tiny_set, size=16, random_crop=False, hflip=False)
    flipping = InteriorVerseDataset(tiny_set, size=16, random_crop=False, hflip=True, seed=1)
    seen_flip = seen_plain = 0
    captions = set()
    for epoch in range(12):
        flipping.set_epoch(epoch)
        a, b = plain[0], flipping[0]
        captions.add(b["caption"])
        assert a["image"].shape == (16, 16, 3) and a["mask"].shape == (16, 16, 1)
        if torch.equal(a["albedo"], b["albedo"]):
            seen_plain += 1
            assert torch.equal(a["normal"], b["normal"])
            continue
        seen_flip += 1
        for key in ("image", "albedo", "material", "depth", "mask"):
            assert torch.equal(b[key], a[key].flip(1)), key
        assert torch.equal(b["normal"][..., 0], -a["normal"][..., 0].flip(1))  # mirrored: normal x negated
        assert torch.equal(b["normal"][..., 1:], a["normal"][..., 1:].flip(1))
    assert seen_flip and seen_plain
    assert len(captions) >= 2  # one line of the caption file at random
    # Random crops move with the epoch and stay inside the resized (short side 16) view.
    cropping = InteriorVerseDataset(tiny_set, size=16, random_crop=True, hflip=False, seed=2)
    crops = set()
    for epoch in range(8):
        cropping.set_epoch(epoch)
        crops.add(cropping[0]["depth"].sum().item())
    assert len(crops) >= 2
    cropping.set_epoch(0)
    assert torch.equal(cropping[0]["image"], cropping[0]["image"])  # deterministic for (seed, epoch, index)


def test_invalid_pixels_and_material_blue_channel(tmp_path):
    folder = tmp_path / "dataset_85" / "room"
    folder.mkdir(parents=True)
    (tmp_path / "dataset_85" / "train.txt").write_text("room\n")
    h, w = 3, 4
    image = np.full((h, w, 3), 0.5, np.float32)
    albedo = np.full((h, w, 3), 0.25, np.float32)
    material = np.full((h, w, 3), 0.75, np.float32)  # B = 0.75 must come back as 0
    normal = np.zeros((h, w, 3), np.float32)
    normal[..., 2] = 2.0  # not unit: normalised
    depth = np.full((h, w), 1500.0, np.float32)
    mask = np.ones((h, w), np.float32)
    mask[0, 0] = 0.0  # masked out
    depth[0, 1] = np.inf  # invalid depth
    normal[0, 2] = 0.0  # no normal
    image[0, 3] = np.inf  # broken radiance
    for key, value in (("image", image), ("albedo", albedo), ("material", material), ("normal", normal),
                       ("depth", depth), ("mask", mask)):
        write_exr(layout.map_path(folder, "7", key), value)
    (folder / "7_caption.txt").write_text("first line\n\nsecond line\n")
    sample = InteriorVerseDataset(tmp_path, size=None, hflip=False)[0]
    valid = torch.ones(h, w, dtype=torch.bool)
    valid[0] = False
    assert torch.equal(sample["mask"][..., 0], valid.float())
    assert torch.all(sample["albedo"][~valid] == 0) and torch.all(sample["image"][~valid] == 0)
    assert torch.all(sample["depth"][~valid] == 0) and torch.all(sample["depth"][valid] == 1500.0)
    assert torch.equal(sample["normal"][~valid], torch.tensor([0.0, 0.0, 1.0]).expand(4, 3))
    assert torch.equal(sample["normal"][valid], torch.tensor([0.0, 0.0, 1.0]).expand(8, 3))
    assert torch.all(sample["material"][valid][:, :2] == 0.75) and torch.all(sample["material"][..., 2] == 0)
    assert sample["caption"] in ("first line", "second line")


def test_data_set_errors_name_the_problem(tiny_set, tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        InteriorVerseDataset(tiny_set, split="training")
    with pytest.raises(ValueError, match="split 'val' of .* has no views"):
        InteriorVerseDataset(tiny_set, split="val")
    with pytest.raises(FileNotFoundError, match="scene list for split 'train' not found"):
        InteriorVerseDataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="have no caption file"):
        InteriorVerseDataset(tiny_set, caption_root=tmp_path)
    with pytest.raises(ValueError, match="smaller than the crop size 64"):
        InteriorVerseDataset(tiny_set, size=64, resize_short_side=False)[0]


def test_cli_refuses_bad_arguments_and_non_empty_output(tiny_set, tmp_path, capsys):
    for argv, message in ((["--scenes", "0"], "--scenes must be an integer >= 1, got 0"),
                          (["--scenes", "two"], "--scenes must be an integer >= 1, got 'two'"),
                          (["--scenes", "1", "--size", "100x100"], "--size must have a 4:3 aspect"),
                          (["--scenes", "1", "--size", "big"], "--size must be WIDTHxHEIGHT"),
                          (["--scenes", "1", "--seed", "-3"], "--seed must be an integer >= 0")):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(["data", "make-procedural", "--out", str(tmp_path / "x"), *argv])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    before = sorted(p.stat().st_mtime_ns for p in tiny_set.rglob("*.exr"))
    assert run_cli(["data", "make-procedural", "--out", str(tiny_set), "--scenes", "1", "--quiet"]) == 2
    assert "is not empty; pass --overwrite" in capsys.readouterr().err
    assert sorted(p.stat().st_mtime_ns for p in tiny_set.rglob("*.exr")) == before


def test_overwrite_replaces_an_earlier_set(tmp_path):
    make_procedural_dataset(tmp_path, 2, 1, (6, 8), seed=0, material_size=16, progress=False)
    make_procedural_dataset(tmp_path, 1, 1, (6, 8), seed=1, material_size=16, overwrite=True, progress=False)
    assert sorted(p.name for p in (tmp_path / "dataset_85").iterdir() if p.is_dir()) == ["scene_00000"]
    assert json.loads((tmp_path / "dataset_85/procedural.json").read_text())["seed"] == 1
    assert not list(tmp_path.rglob("*.tmp"))


def test_split_rule():
    names = [f"s{i}" for i in range(25)]
    splits = split_scenes(names)
    assert [len(splits[k]) for k in ("train", "val", "test")] == [21, 2, 2]
    assert sum(splits.values(), []) == names
    assert [len(v) for v in split_scenes(names[:3]).values()] == [1, 1, 1]
    assert [len(v) for v in split_scenes(names[:2]).values()] == [2, 0, 0]


def test_procedural_material_dataset():
    train, held = vocabulary.split_combinations()
    ds = ProceduralMaterialDataset(6, size=32, seed=4, combinations=train)
    a, b = ds[2], ds[2]
    assert a["caption"] == b["caption"] and torch.equal(a["albedo"], b["albedo"])
    assert a["albedo"].shape == (32, 32, 3) and a["material"].shape == (32, 32, 3) and a["normal"].shape == (32, 32, 3)
    assert torch.all(a["material"][..., 2] == 0) and float(a["material"].max()) <= 1.0
    torch.testing.assert_close(a["normal"].norm(dim=-1), torch.ones(32, 32), atol=1e-5, rtol=0)
    samples = [ds[i] for i in range(len(ds))]
    assert len({s["caption"] for s in samples}) >= 4
    assert all((s["family"], s["colour"], s["finish"]) not in set(held) for s in samples)
    metals = ProceduralMaterialDataset(3, size=16, families=["gold", "steel"])
    assert all(float(metals[i]["material"][..., 1].mean()) > 0.7 for i in range(3))
    with pytest.raises(ValueError, match="families must be among"):
        ProceduralMaterialDataset(3, families=["lava"])
    with pytest.raises(ValueError, match="length must be an int >= 1"):
        ProceduralMaterialDataset(0)
    with pytest.raises(IndexError):
        ds[6]
