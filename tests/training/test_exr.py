"""The data set's EXR reader / writer: exact float32 round trip, channel layouts, atomic writes, errors."""

import numpy as np
import pytest
import torch

from intrinsix.training.data.exr import read_exr, write_exr


def test_float32_round_trip_is_bit_exact_including_inf(tmp_path):
    rng = np.random.default_rng(0)
    rgb = (rng.standard_normal((5, 7, 3)) * 1e3).astype(np.float32)
    rgb[0, 0] = [np.inf, -np.inf, 1e-38]
    depth = rng.uniform(100, 9000, (5, 7)).astype(np.float32)
    depth[2, 3] = np.inf
    write_exr(tmp_path / "a.exr", rgb)
    write_exr(tmp_path / "d.exr", torch.from_numpy(depth))
    back_rgb, back_depth = read_exr(tmp_path / "a.exr"), read_exr(tmp_path / "d.exr")
    assert back_rgb.dtype == np.float32 and back_rgb.shape == (5, 7, 3)
    assert back_depth.shape == (5, 7, 1)
    assert np.array_equal(back_rgb.view(np.uint32), rgb.view(np.uint32))
    assert np.array_equal(back_depth[..., 0].view(np.uint32), depth.view(np.uint32))


def test_channel_order_is_rgb_and_no_temporary_file_is_left(tmp_path):
    image = np.zeros((2, 3, 3), np.float32)
    image[..., 0], image[..., 1], image[..., 2] = 1.0, 2.0, 3.0
    write_exr(tmp_path / "c.exr", image)
    assert read_exr(tmp_path / "c.exr")[0, 0].tolist() == [1.0, 2.0, 3.0]
    write_exr(tmp_path / "c.exr", image * 2)  # replaces the file
    assert read_exr(tmp_path / "c.exr")[1, 2].tolist() == [2.0, 4.0, 6.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.exr"]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="shape \\[H, W\\], \\[H, W, 1\\] or \\[H, W, 3\\], got \\(2, 2, 2\\)"):
        write_exr(tmp_path / "x.exr", np.zeros((2, 2, 2), np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        write_exr(tmp_path / "x.exr", np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match="NaN"):
        write_exr(tmp_path / "x.exr", np.full((2, 2), np.nan, np.float32))
    assert not list(tmp_path.iterdir())
    with pytest.raises(FileNotFoundError, match="missing.exr"):
        read_exr(tmp_path / "missing.exr")
    (tmp_path / "bad.exr").write_bytes(b"not an exr file")
    with pytest.raises(ValueError, match="cannot read EXR file .*bad.exr"):
        read_exr(tmp_path / "bad.exr")
