"""`intrinsix texture-room`: a room file + a saved tiny model -> texture sets and room.glb; clear
one-line errors (exit 2) for bad meshes and arguments."""

import argparse
import json

import numpy as np
import pytest
import torch
from texturing_testing import cube, write_glb

from intrinsix.cli.errors import CLIError
from intrinsix.generator import make_tiny_pipeline
from intrinsix.texturing import cli


def run(argv) -> tuple[int, str]:
    """What cli/main.py does for a registered subcommand: parse, run, CLIError -> exit 2."""
    parser = argparse.ArgumentParser(prog="intrinsix")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0), ""
    except CLIError as exc:
        return 2, f"intrinsix {args.command}: error: {exc}"


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_model")
    torch.manual_seed(0)
    make_tiny_pipeline(seed=0).save_pretrained(folder)
    (folder / "intrinsix_defaults.json").write_text(json.dumps({"size": 32, "num_inference_steps": 2}))
    return folder


@pytest.fixture
def room_file(tmp_path):
    shell_positions, shell_triangles, _ = cube(4.0)
    crate_positions, crate_triangles, crate_uvs = cube(0.8)
    path = tmp_path / "room.glb"
    write_glb(path, [
        {"name": "walls", "positions": shell_positions + np.float32([0, 2, 0]), "triangles": shell_triangles[:, ::-1]},
        {"name": "crate", "positions": crate_positions + np.float32([0.6, 0.4, 0.2]), "triangles": crate_triangles,
         "uvs": crate_uvs},
    ])
    return path


def test_texture_room_writes_sets_and_room_glb(tiny_model_dir, room_file, tmp_path, capsys):
    out = tmp_path / "out"
    code, _ = run(["texture-room", str(room_file), "--prompt", "a tidy storage room", "--object-prompt",
                   "crate=a red wooden crate", "--out", str(out), "--target", "unreal", "--model", str(tiny_model_dir),
                   "--iterations", "3", "--texture-budget", "96", "--device", "cpu", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out / "room.glb") in printed and "texel coverage" in printed
    report = json.loads((out / "room.json").read_text())
    assert [o["name"] for o in report["objects"]] == ["Walls", "Crate"]
    assert [o["uv_source"] for o in report["objects"]] == ["xatlas", "file"]
    assert report["objects"][1]["prompt"] == "a red wooden crate" and report["resolution"] == 32
    assert report["iterations"] == 3 and report["metadata"]["prompt"] == "a tidy storage room"
    for name in ("Walls", "Crate"):
        manifest = json.loads((out / name / "material.json").read_text())
        assert {f["name"] for f in manifest["files"]} >= {f"T_{name}_BC.png", f"T_{name}_N.png", f"T_{name}_ORM.png"}
    assert (out / "room.glb").read_bytes()[:4] == b"glTF"
    # Same seed and arguments: the same files (deterministic on the CPU).
    code, _ = run(["texture-room", str(room_file), "--prompt", "a tidy storage room", "--object-prompt",
                   "crate=a red wooden crate", "--out", str(out), "--target", "unreal", "--model", str(tiny_model_dir),
                   "--iterations", "3", "--texture-budget", "96", "--device", "cpu", "--quiet"])
    assert code == 0  # identical bytes are left alone, so no --overwrite is needed


def test_errors_are_one_line_and_exit_2(tiny_model_dir, room_file, tmp_path):
    bad = tmp_path / "flat.glb"
    write_glb(bad, [{"name": "line", "positions": np.float32([[0, 0, 0], [1, 0, 0], [2, 0, 0]]),
                     "triangles": [[0, 1, 2]]}])
    base = ["--prompt", "x", "--out", str(tmp_path / "o"), "--model", str(tiny_model_dir), "--device", "cpu"]
    code, message = run(["texture-room", str(bad), *base])
    assert code == 2 and message == ("intrinsix texture-room: error: object 'line': all 1 triangles are degenerate "
                                     "(zero area: repeated or collinear corners); a room object needs at least 1 "
                                     "triangle with non-zero area")
    code, message = run(["texture-room", str(room_file), *base, "--object-prompt", "sofa=green"])
    assert code == 2 and "--object-prompt: the room has no object named 'sofa'" in message
    code, message = run(["texture-room", str(room_file), *base, "--iterations", "0"])
    assert (code, message) == (2, "intrinsix texture-room: error: --iterations must be in [1, 20000], got 0")
    code, message = run(["texture-room", str(room_file), *base, "--true-cfg-scale", "0.5"])
    assert (code, message) == (2, "intrinsix texture-room: error: --true-cfg-scale must be a number in [1, 30] "
                                  "(1 = off), got 0.5")
    code, message = run(["texture-room", str(room_file), *base, "--prompt", "  "])
    assert (code, message) == (2, "intrinsix texture-room: error: --prompt must not be empty")
    code, message = run(["texture-room", str(room_file), *base, "--negative-prompt", "n" * 2001])
    assert (code, message) == (2, "intrinsix texture-room: error: --negative-prompt must have at most 2000 characters, "
                                  "got 2001")
    code, message = run(["texture-room", str(tmp_path / "none.glb"), *base])
    assert code == 2 and message.endswith("none.glb does not exist")
