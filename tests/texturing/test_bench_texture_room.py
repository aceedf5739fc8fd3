"""bench/texture_room.py runs its CPU smoke size and reports every figure it promises."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "texture_room.py"


def test_bench_tiny_smoke_run(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_texture_room", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--tiny", "--json", str(tmp_path / "bench.json")]) == 0
    printed = capsys.readouterr().out
    assert "workload" in printed and "whole room, 560 iterations" in printed
    assert "reproduce: python bench/texture_room.py --tiny" in printed
    raw = json.loads((tmp_path / "bench.json").read_text())
    assert raw["iterations_run"] == 8 and raw["default_phase_iterations"] == [420, 140]
    assert len(raw["iteration_times_s"]["texturing"]) == 6 and len(raw["iteration_times_s"]["normal_detail"]) == 2
    assert raw["texturing_iteration_s"] > 0 and raw["normal_iteration_s"] > 0
    expected = (raw["prepare_s"] + raw["cameras_s"] + raw["first_iteration_extra_s"] + 420 * raw["texturing_iteration_s"]
                + 140 * raw["normal_iteration_s"] + raw["dilating_s"] + raw["export_s"])
    assert abs(raw["total_at_default_s"] - expected) < 1e-9
    assert raw["coverage"] > 0.8 and raw["gradient_coverage"] > 0.99 and raw["glb_bytes"] > 0
