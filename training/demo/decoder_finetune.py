"""Fine-tuning a demo model's VAE decoder at the size the model generates at (`intrinsix train demo-decoder`).

Why: the VAE trains on crops of 128^2 (`build.py`), the model generates 256^2. Its convolutions
pad with zeros and its GroupNorm statistics are taken over the whole image, so the share of
border pixels in those statistics is part of what the decoder learnt: at another size the same
latent decodes a little differently. For dark neutral albedos that is visible: procedural black
leather (sRGB ~0.1, neutral) came back from the bundled VAE's round trip with the check's
saturation 0.02 at 128^2 but 0.11 at 256^2 and 0.17 at 384^2, a warm cast (blue at 0.84 of red),
and with wrap-around padding (`--tileable`) at 0.59 (docs/demo-model.md, "The decoder at the
generation size").

What: the encoder is frozen, so every latent the base and the LoRAs were trained on stays what it
was; the decoder alone trains on whole bank materials at the model's size (rolled and mirrored,
`vae_training.train_vae` with `decoder_only`), with the VAE's own reconstruction loss, a share of
its steps (`wraparound_fraction`) decoding with wrap-around padding as tileable generation does,
and is written back in float16. The report (`demo_training.json`, stage "vae_decoder") has the round trips
before and after: relief per family, colour checks per colour, and the saturation of black.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from intrinsix.generator.defaults import generation_defaults, vae_encoding

from ..data.colours import grey_saturation
from ..data.layout import write_text_atomic
from .bank import make_bank
from .build import (DEMO_DECODER_BATCH, DEMO_DECODER_LR, DEMO_DECODER_WRAPAROUND, REPORT_FILE, decoder_stage_config,
                    drop_build_paths)
from .vae_training import colour_round_trip, relief_round_trip, train_vae, vae_round_trip

BLACK_SAMPLES = 16  # bank albedos named "black" whose round-trip saturation is reported


@torch.no_grad()
def black_round_trip_saturation(vae: torch.nn.Module, bank, device: torch.device, encoding,
                                count: int = BLACK_SAMPLES) -> float | None:
    """Median saturation (`colours.grey_saturation`, the grey check's; < 0.2 passes) of up to
    `count` bank albedos named "black" after a VAE round trip at the bank's size; None if the bank
    has no black material."""
    index = [i for i, colour in enumerate(bank.colours) if colour == "black"][:count]
    if not index:
        return None
    values = [grey_saturation(vae_round_trip(vae, "albedo", bank.albedo[i:i + 1].to(device).float(), encoding)[0])
              for i in index]
    return round(float(torch.tensor(values).median()), 4)


def _round_trips(vae, bank, device, encoding) -> dict:
    from intrinsix.generator.tiling import vae_wraparound

    vae.eval()
    with vae_wraparound(vae):
        wrapped = black_round_trip_saturation(vae, bank, device, encoding)
    return {"relief_degrees_in_out": relief_round_trip(vae, bank, device, encoding=encoding),
            "colour_round_trip_passed": colour_round_trip(vae, bank, device, encoding=encoding),
            "black_saturation": black_round_trip_saturation(vae, bank, device, encoding),
            "black_saturation_wraparound": wrapped}


def _black_text(round_trips: dict) -> str:
    if round_trips["black_saturation"] is None:
        return "no black material in the bank"
    return (f"black saturation {round_trips['black_saturation']:.3f} "
            f"(wrap-around {round_trips['black_saturation_wraparound']:.3f}; the colour check allows < 0.2)")


def finetune_decoder(model: Path, minutes: float, device: torch.device, bank_size: int = 4000,
                     bank_minutes: float = 1.0, workers: int = 0, batch_size: int = DEMO_DECODER_BATCH,
                     lr: float = DEMO_DECODER_LR, max_steps: int | None = None,
                     wraparound_fraction: float = DEMO_DECODER_WRAPAROUND, seed: int = 0,
                     log=print) -> dict:
    """Fine-tune the decoder of `model`'s VAE (a demo model folder) for `minutes` at the model's
    generation size and replace the folder's `vae/` with it; returns the report, also stored as
    stages["vae_decoder"] in the folder's demo_training.json (when the folder has one).
    `wraparound_fraction` of the steps decode with wrap-around padding, as `--tileable` does."""
    from diffusers import AutoencoderKL

    model = Path(model)
    if not (model / "vae" / "config.json").is_file():
        raise FileNotFoundError(f"--model {model} has no vae/config.json: not a demo model folder")
    if not 0.0 < minutes <= 600.0:
        raise ValueError(f"--minutes must be in (0, 600], got {minutes}")
    if batch_size < 1:
        raise ValueError(f"--batch must be >= 1, got {batch_size}")
    if bank_size < 1:
        raise ValueError(f"--bank-size must be >= 1, got {bank_size}")
    if not 0.0 <= wraparound_fraction <= 1.0:
        raise ValueError(f"--wraparound-fraction must be in [0, 1], got {wraparound_fraction}")
    defaults = generation_defaults(model)
    size, encoding = defaults["size"], vae_encoding(defaults)
    began = time.perf_counter()
    bank = make_bank(bank_size, size, seed=seed + 1_000_003, workers=workers, max_seconds=60.0 * bank_minutes,
                     log=log).to(device)
    vae = AutoencoderKL.from_pretrained(str(model), subfolder="vae", torch_dtype=torch.float32,
                                        local_files_only=True).to(device)
    before = _round_trips(vae, bank, device, encoding)
    log(f"vae decoder: before: {_black_text(before)}")
    encoder_before = {k: v.clone() for k, v in vae.encoder.state_dict().items()}
    config = decoder_stage_config(size, encoding, 60.0 * minutes, max_steps or 1_000_000, seed, batch_size=batch_size,
                                  lr=lr, wraparound_fraction=wraparound_fraction)
    history = train_vae(vae, bank, config, device, log)
    unchanged = all(torch.equal(encoder_before[k], v) for k, v in vae.encoder.state_dict().items())
    if not unchanged:
        raise RuntimeError("the VAE encoder changed while fine-tuning its decoder")
    after = _round_trips(vae, bank, device, encoding)
    log(f"vae decoder: after {len(history)} steps: {_black_text(after)}")
    _replace_vae(vae, model)
    tail = history[-50:]
    report = {"size": size, "steps": len(history), "seconds": round(time.perf_counter() - began, 1),
              "bank_materials": len(bank), "batch_size": batch_size, "lr": lr,
              "wraparound_fraction": wraparound_fraction,
              "final_loss": round(sum(r["loss"] for r in tail) / max(1, len(tail)), 5),
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "before": before, "after": after}
    report_file = model / REPORT_FILE
    if report_file.is_file():
        data = json.loads(report_file.read_text())
        data.setdefault("stages", {})["vae_decoder"] = report
        write_text_atomic(report_file, json.dumps(data, indent=2) + "\n")
    return report


def _replace_vae(vae: torch.nn.Module, model: Path) -> None:
    """Write `vae` (float16, as the model folder keeps it) to model/vae, swapping folders only once
    the new one is complete, so a failure leaves the old VAE in place."""
    staging = Path(tempfile.mkdtemp(prefix=".vae-", dir=model))
    try:
        vae.to("cpu", torch.float16).save_pretrained(str(staging))
        staging.chmod(0o755)  # mkdtemp makes it private; the folder it replaces was not
        for file in staging.iterdir():
            file.chmod(0o644)
        drop_build_paths(staging)
        old = model / "vae"
        retired = model / ".vae-old"
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(old, retired)
        os.replace(staging, old)
        shutil.rmtree(retired)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

