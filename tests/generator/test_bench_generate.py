"""bench/generate.py runs its CPU smoke size and ours agrees with the published structure."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "generate.py"


def test_bench_tiny_smoke_run(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--tiny", "--json", str(tmp_path / "bench.json")]) == 0
    printed = capsys.readouterr().out
    assert "workload" in printed and "ratio" in printed and "reproduce: python bench/generate.py --tiny" in printed
    entry = json.loads((tmp_path / "bench.json").read_text())["sizes"]["64"]
    assert entry["finite"]
    # float32 on the CPU: ours (merged, fused, batched) and the published structure agree closely.
    assert entry["forward_max_abs_diff"] < 1e-4 * max(1.0, entry["forward_max_abs"])
    assert entry["latents_max_abs_diff"] < 1e-4 * max(1.0, entry["latents_max_abs"])
    assert entry["ours_step_ms"] > 0 and entry["baseline_e2e_s"] > 0
