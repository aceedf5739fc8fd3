"""`intrinsix-client` against a real server: generate with a progress bar, jobs, fetch, cancel,
info, and the exit status of refused calls."""

from __future__ import annotations

from fake_texture_backend import expected_files
from intrinsix_client.cli import main


def test_generate_fetch_jobs_info(server, tmp_path, capsys):
    out = tmp_path / "walnut"
    code = main(["generate", "polished walnut parquet", "--server", server.address, "--out", str(out),
                 "--profile", "unity", "--size", "64", "--seed", "12", "--steps", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    expected = expected_files("polished walnut parquet", 12, 64, 64, "unity", "PolishedWalnutParquet")
    assert all((out / name).read_bytes() == data for name, data in expected.items())
    assert "100% storing" in captured.err and "downloading material.json" in captured.err  # the progress bar
    job_id = captured.out.split()[1].rstrip(":")
    assert len(job_id) == 32 and "PolishedWalnutParquet (unity)" in captured.out

    assert main(["fetch", job_id, "--server", server.address, "--out", str(tmp_path / "copy")]) == 0
    assert all((tmp_path / "copy" / name).read_bytes() == data for name, data in expected.items())
    capsys.readouterr()
    assert main(["jobs", "--server", server.address, "--state", "succeeded"]) == 0
    assert job_id in capsys.readouterr().out
    assert main(["cancel", job_id, "--server", server.address]) == 0
    assert "SUCCEEDED (already finished)" in capsys.readouterr().out
    assert main(["info", "--server", server.address]) == 0
    assert "ready: True" in capsys.readouterr().out


def test_refused_and_failed_jobs_set_the_exit_status(server, tmp_path, capsys):
    code = main(["generate", "x", "--server", server.address, "--out", str(tmp_path), "--size", "0"])
    assert code == 3 and "INVALID_ARGUMENT: params.width: 0 is out of range" in capsys.readouterr().err
    code = main(["generate", "explode please", "--server", server.address, "--out", str(tmp_path / "f"), "--quiet"])
    assert code == 1 and "failed" in capsys.readouterr().err
    code = main(["generate", "a", "b", "--server", server.address, "--out", str(tmp_path)])
    assert code == 2 and "give 1 prompt or 3" in capsys.readouterr().err
