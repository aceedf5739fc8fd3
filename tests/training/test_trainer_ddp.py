"""Two-process data-parallel stage 1 on the CPU through `accelerate launch` (gloo): it finishes and
agrees with one process that trains on the same global batch (issue 9 builds on this).

Two processes of batch 1 see stream positions (2m, 2m + 1) at micro-step m, exactly what one
process of batch 2 sees, with the same noise (flow.py draws it from the position), and DDP averages
the gradients as the batch mean does: the loss logs agree and the weights agree to float rounding.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from intrinsix.generator import IntrinsiXPipeline, make_tiny_components
from intrinsix.training.config import load_config
from intrinsix.training.loss_log import read_loss_log
from intrinsix.training.stage1 import IndependentTrainer

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "training" / "configs" / "tiny" / "stage1.yaml")


def test_two_processes_agree_with_one(tmp_path):
    model = tmp_path / "tiny"
    IntrinsiXPipeline(**make_tiny_components(0)).save_pretrained(str(model))
    common = [f"model.path={model}", "train.max_steps=2", "output.checkpoint_every=0"]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "-m", "intrinsix.cli.main", "train", "independent", "--config", CONFIG, "--quiet"]
    for item in [*common, f"output.dir={tmp_path / 'two'}", "train.batch_size=1"]:
        command += ["--set", item]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("trained independent to step 2") == 1  # by the main process only
    two_log = read_loss_log(tmp_path / "two" / "loss_log.csv")

    config = load_config(CONFIG, "independent", [*common, f"output.dir={tmp_path / 'one'}", "train.batch_size=2",
                                                 "output.progress=false"])
    one = IndependentTrainer(config).train()
    assert [row["step"] for row in two_log] == [1, 2]
    for a, b in zip(one.losses, two_log):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    one_w = load_file(str(tmp_path / "one" / "pytorch_lora_weights.safetensors"))
    two_w = load_file(str(tmp_path / "two" / "pytorch_lora_weights.safetensors"))
    assert one_w.keys() == two_w.keys()
    moved = max(t.abs().max().item() for k, t in one_w.items() if "lora_B" in k)
    assert moved > 1e-3  # the adapters trained (B starts at 0)
    for key in one_w:
        torch.testing.assert_close(two_w[key], one_w[key], rtol=1e-3, atol=1e-4)
