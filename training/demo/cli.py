"""`intrinsix train demo` and `intrinsix eval demo` (registered by `training/cli.py`'s `register`).

    intrinsix train demo --out DIR [--device auto|cpu|cuda[:N]] [--minutes-per-stage M | STAGE=M,...]
                         [--seed S] [--preset demo|tiny] [--bank-size N] [--bank-workers W]
                         [--max-steps-per-stage N] [--default-steps N] [--wait-for-kernels SECONDS]
                         [--base MODEL_DIR | --vae MODEL_DIR] [--vae-normal-weight W] [--vae-spectrum-weight W]
                         [--vae-adversarial-weight W] [--albedo-encoding linear|srgb]
                         [--normal-encoding linear|sqrt] [--vae-batch N] [--vae-latent-noise X]
                         [--caption-dropout P] [--lora-rank R] [--base-maps NAMES]
                         [--true-cfg-scale S] [--word-dropout]
                         [--work-dir DIR] [--overwrite]
    intrinsix train demo-decoder --model DIR [--minutes M] [--device ...] [--bank-size N] [--bank-workers W]
                                 [--batch N] [--max-steps N] [--wraparound-fraction F] [--seed S]
    intrinsix eval demo [--model DIR] [--prompts N] [--out DIR] [--sheet PNG] [--device ...] [--seed S]
                        [--true-cfg-scale S] [--vae-round-trip]

The same commands run without the console script as `python -m intrinsix.training.demo train|decoder|eval ...`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from intrinsix.generator.conditioning import ALBEDO_ENCODINGS, NORMAL_ENCODINGS
from intrinsix.generator.defaults import check_true_cfg_scale

from .base_training import BASE_MAPS
from .build import (DEMO_BASE_MAPS, DEMO_CAPTION_DROPOUT, DEMO_DECODER_WRAPAROUND, DEMO_VAE_BATCH,
                    DEMO_VAE_LATENT_NOISE, GUIDED_CFG_SCALE, STAGE_MINUTES)


def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"--device {name}: no CUDA device is available")
    return device


def _non_negative(name: str, kind: type = int):
    """argparse type: an int (kind=int) or a finite float (kind=float) >= 0, errors naming `name`."""
    what = "an integer" if kind is int else "a finite number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what} >= 0, got {text!r}") from None
        if not 0 <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be {what} >= 0, got {value}")
        return value

    return parse


def add_train_demo(train_sub: argparse._SubParsersAction, name: str = "demo") -> None:
    p = train_sub.add_parser(
        name, help="rebuild the bundled demo model from scratch (tokenizers, VAE, base, stage 1, stage 2)",
        description="Build the demo model: vocabulary tokenizers and frozen random text encoders, a VAE and a base "
                    "Flux transformer trained on procedural materials, three LoRAs by stage 1 and stage 2. "
                    "Writes a diffusers folder + pytorch_lora_weights.safetensors to --out (docs/demo-model.md).")
    p.add_argument("--out", required=True, type=Path, help="model folder to write (must be empty unless --overwrite)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    p.add_argument("--minutes-per-stage", default=None, metavar="M|STAGE=M,...",
                   help="wall-clock minutes per stage: one number for all, or e.g. 'base=3,stage2=1.5' "
                        "(stages bank, vae, vae_decoder, base, stage1 (per intrinsic), stage2; stage1_albedo, "
                        "stage1_material, stage1_normal give one intrinsic its own, a named stage1 is every other "
                        "intrinsic's; "
                        "defaults: the bundled model's GPU build, "
                        + ",".join(f"{name}={value:g}" for name, value in STAGE_MINUTES.items()) + ")")
    p.add_argument("--seed", type=_non_negative("--seed"), default=0, help="random seed (default 0)")
    p.add_argument("--preset", default="demo", choices=("demo", "tiny"),
                   help="model sizes: demo (the bundled model) or tiny (smoke tests)")
    p.add_argument("--bank-size", type=_non_negative("--bank-size"), default=20000,
                   help="procedural materials to generate at most (default 20000; the bank's time budget may "
                        "stop earlier)")
    p.add_argument("--bank-workers", type=_non_negative("--bank-workers"), default=None,
                   help="processes generating materials (default: CPU cores - 2)")
    p.add_argument("--max-steps-per-stage", type=_non_negative("--max-steps-per-stage"), default=None,
                   help="cap on the optimizer steps of every training stage (smoke tests)")
    p.add_argument("--default-steps", type=_non_negative("--default-steps"), default=20,
                   help="num_inference_steps written to intrinsix_defaults.json (default 20)")
    p.add_argument("--wait-for-kernels", type=float, default=0.0, metavar="SECONDS",
                   help="how long stage 2 waits for the compiled kernels (a build running beside this one)")
    p.add_argument("--base", type=Path, default=None, metavar="MODEL_DIR",
                   help="skip the VAE and base stages: take those parts from this model folder (its LoRA is ignored)")
    p.add_argument("--vae", type=Path, default=None, metavar="MODEL_DIR",
                   help="skip the VAE stage: take the VAE (with its latent statistics) from this model folder "
                        "and train the base and the LoRAs on its latents")
    p.add_argument("--vae-normal-weight", type=_non_negative("--vae-normal-weight", float), default=None,
                   help="weight of the normal maps in the VAE loss (default 6; the albedo and material maps weigh 1)")
    p.add_argument("--vae-spectrum-weight", type=_non_negative("--vae-spectrum-weight", float), default=0.0,
                   help="weight of the L1 between the normal maps' amplitude spectra in the VAE loss (default 0 = off)")
    p.add_argument("--vae-adversarial-weight", type=_non_negative("--vae-adversarial-weight", float), default=0.0,
                   help="weight of the patch discriminator in the VAE loss, relative to the reconstruction "
                        "gradient (default 0 = off)")
    p.add_argument("--albedo-encoding", choices=ALBEDO_ENCODINGS, default=None,
                   help="how the VAE sees albedo: 'linear' as the real weights, 'srgb' sRGB-encoded so dark "
                        "colours keep their code range (default: srgb as the bundled model, or the encoding of "
                        "the --vae / --base folder, which must match)")
    p.add_argument("--normal-encoding", choices=NORMAL_ENCODINGS, default=None,
                   help="how the VAE sees normal maps: 'linear' raw as the real weights, 'sqrt' with x and y "
                        "companded so fine relief survives (default: sqrt as the bundled model, or the encoding "
                        "of the --vae / --base folder, which must match)")
    p.add_argument("--vae-batch", type=int, default=DEMO_VAE_BATCH, metavar="N",
                   help=f"VAE crops per map type and step, >= 1 (default {DEMO_VAE_BATCH})")
    p.add_argument("--vae-latent-noise", type=float, default=DEMO_VAE_LATENT_NOISE, metavar="X",
                   help="noise added to the posterior mean the decoder sees, times the posterior std, in [0, 1] "
                        f"(default {DEMO_VAE_LATENT_NOISE:g})")
    p.add_argument("--caption-dropout", type=float, default=DEMO_CAPTION_DROPOUT, metavar="P",
                   help="train the base and the LoRAs on the empty caption with probability P in [0, 0.5] "
                        f"(default {DEMO_CAPTION_DROPOUT:g}; 0 = off), so the model can be sampled with true "
                        "classifier-free guidance")
    p.add_argument("--lora-rank", type=int, default=None, metavar="R",
                   help="rank of the branch LoRAs, in [1, transformer width] (default: the preset's, 32 for demo)")
    p.add_argument("--true-cfg-scale", type=float, default=None,
                   help="true classifier-free guidance scale written as the model's default, in [1, 30] "
                        f"(default: {GUIDED_CFG_SCALE:g} when --caption-dropout is above 0, as by default; else 1 = off)")
    p.add_argument("--word-dropout", action="store_true",
                   help="train the base and the LoRAs also on captions without their finish or colour word "
                        "(measured at full size without gain, docs/demo-model.md)")
    p.add_argument("--base-maps", default=None, metavar="NAMES",
                   help="image types the base transformer trains on, comma-separated out of "
                        f"{','.join(BASE_MAPS)} (photo: the material under a random light; default: "
                        f"{','.join(DEMO_BASE_MAPS)}, the bundled model's; not with --base)")
    p.add_argument("--work-dir", type=Path, default=None, help="intermediate files (default: <out>.work beside --out)")
    p.add_argument("--overwrite", action="store_true", help="replace --out and the work folder")
    p.set_defaults(func=_cmd_train_demo)


def _cmd_train_demo(args: argparse.Namespace) -> int:
    from .architecture import PRESETS
    from .build import DemoBuildOptions, build_demo_model, parse_minutes

    try:
        device = _device(args.device)
        minutes = parse_minutes(args.minutes_per_stage)
    except (argparse.ArgumentTypeError, ValueError) as error:
        print(f"intrinsix train demo: error: {error}", file=sys.stderr)
        return 2
    if args.bank_size < 1:
        print("intrinsix train demo: error: --bank-size must be >= 1, got 0", file=sys.stderr)
        return 2
    if args.default_steps < 1:
        print("intrinsix train demo: error: --default-steps must be >= 1, got 0", file=sys.stderr)
        return 2
    if args.max_steps_per_stage is not None and args.max_steps_per_stage < 2:
        print(f"intrinsix train demo: error: --max-steps-per-stage must be >= 2, got {args.max_steps_per_stage}",
              file=sys.stderr)
        return 2
    if args.base is not None and not (args.base / "model_index.json").is_file():
        print(f"intrinsix train demo: error: --base {args.base} is not a model folder (no model_index.json)",
              file=sys.stderr)
        return 2
    if args.vae is not None and not (args.vae / "vae" / "config.json").is_file():
        print(f"intrinsix train demo: error: --vae {args.vae} is not a model folder with a VAE (no vae/config.json)",
              file=sys.stderr)
        return 2
    if args.vae is not None and args.base is not None:
        print("intrinsix train demo: error: --vae and --base exclude each other (--base keeps the VAE too)",
              file=sys.stderr)
        return 2
    sizes = PRESETS[args.preset]
    if args.lora_rank is not None:
        try:
            sizes = dataclasses.replace(sizes, lora_rank=args.lora_rank)  # DemoSizes checks the range
        except ValueError as error:
            print(f"intrinsix train demo: error: {error}", file=sys.stderr)
            return 2
    workers = args.bank_workers if args.bank_workers is not None else max(0, (os.cpu_count() or 1) - 2)
    out = args.out.resolve()
    try:
        options = DemoBuildOptions(
            out=out, work_dir=(args.work_dir or out.with_name(out.name + ".work")).resolve(), device=device,
            sizes=sizes, seed=args.seed, minutes=minutes, max_steps=args.max_steps_per_stage,
            bank_size=args.bank_size, workers=workers, default_steps=args.default_steps,
            # The tiny preset is for smoke tests: the smallest batches the trainers take.
            stage1_batch=2 if args.preset == "tiny" else 32, stage2_batch=1 if args.preset == "tiny" else 8,
            wait_for_kernels=max(0.0, args.wait_for_kernels), base_from=args.base, vae_from=args.vae,
            vae_spectrum_weight=args.vae_spectrum_weight, vae_adversarial_weight=args.vae_adversarial_weight,
            word_dropout=args.word_dropout, caption_dropout=args.caption_dropout, true_cfg_scale=args.true_cfg_scale,
            base_maps=args.base_maps,
            albedo_encoding=args.albedo_encoding, normal_encoding=args.normal_encoding, vae_batch=args.vae_batch,
            vae_latent_noise=args.vae_latent_noise, overwrite=args.overwrite)
    except ValueError as error:  # a value out of range, an encoding against the --vae / --base folder's, ...
        print(f"intrinsix train demo: error: {error}", file=sys.stderr)
        return 2
    if args.vae_normal_weight is not None:
        options.vae_normal_weight = args.vae_normal_weight
    try:
        build_demo_model(options, log=lambda text: print(text, flush=True))
    except FileExistsError as error:
        print(f"intrinsix train demo: error: {error}", file=sys.stderr)
        return 2
    return 0


def add_train_demo_decoder(train_sub: argparse._SubParsersAction, name: str = "demo-decoder") -> None:
    p = train_sub.add_parser(
        name, help="fine-tune a demo model's VAE decoder at the model's generation size (in place)",
        description="Train the decoder of the model folder's VAE on whole procedural materials at the size the "
                    "model generates at, the encoder frozen (every latent the transformer learnt stays valid), "
                    "and replace the folder's vae/ with it. The VAE trains on 128^2 crops; at 256^2 its zero "
                    "padding and GroupNorm statistics tint dark neutrals (docs/demo-model.md).")
    p.add_argument("--model", required=True, type=Path, help="demo model folder whose vae/ is replaced")
    p.add_argument("--minutes", type=float, default=3.0, help="training time in minutes, in (0, 600] (default 3)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    p.add_argument("--bank-size", type=_non_negative("--bank-size"), default=4000,
                   help="procedural materials to generate at most (default 4000; one minute at most)")
    p.add_argument("--bank-workers", type=_non_negative("--bank-workers"), default=None,
                   help="processes generating materials (default: CPU cores - 2)")
    p.add_argument("--batch", type=_non_negative("--batch"), default=16,
                   help="materials per map type and step, >= 1 (default 16)")
    p.add_argument("--max-steps", type=_non_negative("--max-steps"), default=None,
                   help="cap on the optimizer steps (smoke tests)")
    p.add_argument("--wraparound-fraction", type=float, default=DEMO_DECODER_WRAPAROUND, metavar="F",
                   help="share of the steps decoded with wrap-around padding, as --tileable generation decodes, "
                        f"in [0, 1] (default {DEMO_DECODER_WRAPAROUND:g})")
    p.add_argument("--seed", type=_non_negative("--seed"), default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_train_demo_decoder)


def _cmd_train_demo_decoder(args: argparse.Namespace) -> int:
    from .decoder_finetune import finetune_decoder

    try:
        device = _device(args.device)
    except argparse.ArgumentTypeError as error:
        print(f"intrinsix train demo-decoder: error: {error}", file=sys.stderr)
        return 2
    workers = args.bank_workers if args.bank_workers is not None else max(0, (os.cpu_count() or 2) - 2)
    try:
        finetune_decoder(args.model, args.minutes, device, bank_size=args.bank_size, workers=workers,
                         batch_size=args.batch, max_steps=args.max_steps,
                         wraparound_fraction=args.wraparound_fraction, seed=args.seed,
                         log=lambda text: print(text, flush=True))
    except (FileNotFoundError, ValueError) as error:
        print(f"intrinsix train demo-decoder: error: {error}", file=sys.stderr)
        return 2
    return 0


def add_eval(subparsers: argparse._SubParsersAction) -> None:
    """The `eval` command group with its `demo` command."""
    evaluate = subparsers.add_parser("eval", help="evaluate models")
    add_eval_demo(evaluate.add_subparsers(dest="eval_command", required=True))


def add_eval_demo(eval_sub: argparse._SubParsersAction, name: str = "demo") -> None:
    p = eval_sub.add_parser(
        name, help="check the demo model on held-out prompts (metallic, roughness order, colour, normals)",
        description="Generate the held-out (family, colour, finish) prompts and a metal set, check each criterion "
                    "and write eval.json and a contact sheet (docs/demo-model.md).")
    p.add_argument("--model", type=Path, default=None, help="model folder (default: the bundled demo model)")
    p.add_argument("--prompts", type=_non_negative("--prompts"), default=0,
                   help="held-out prompts (default 0 = one per held-out combination, 25)")
    p.add_argument("--out", type=Path, default=Path("demo-eval"), help="folder for eval.json (default ./demo-eval)")
    p.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG (default: <out>/contact-sheet.png)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    p.add_argument("--seed", type=_non_negative("--seed"), default=0, help="prompt and noise seed (default 0)")
    p.add_argument("--true-cfg-scale", type=float, default=None,
                   help="true classifier-free guidance against the empty prompt, in [1, 30], 1 = off "
                        "(default: the model's, intrinsix_defaults.json)")
    p.add_argument("--vae-round-trip", action="store_true",
                   help="instead of generating, check the procedural materials the prompts name after a round "
                        "trip through the model's VAE (the best any transformer on it can score); writes "
                        "vae_round_trip.json")
    p.set_defaults(func=_cmd_eval_demo)


def _cmd_eval_demo(args: argparse.Namespace) -> int:
    from intrinsix.cli.generate import default_model_dir

    from .contact_sheet import write_contact_sheet
    from .evaluate import evaluate, vae_round_trip_ceiling, write_report

    model = args.model if args.model is not None else default_model_dir()
    if not model.is_dir():
        print(f"intrinsix eval demo: error: --model {model} is not a folder", file=sys.stderr)
        return 2
    try:
        if args.true_cfg_scale is not None:
            check_true_cfg_scale(args.true_cfg_scale, "--true-cfg-scale")
    except ValueError as error:
        print(f"intrinsix eval demo: error: {error}", file=sys.stderr)
        return 2
    try:
        device = _device(args.device)
    except argparse.ArgumentTypeError as error:
        print(f"intrinsix eval demo: error: {error}", file=sys.stderr)
        return 2
    if args.vae_round_trip:
        report = vae_round_trip_ceiling(model, args.prompts, args.seed, device)
        path = write_report(report, args.out / "vae_round_trip.json")
        for name, rate in report["pass_rates"].items():
            print(f"{name:<28}  {round(rate * report['prompts']):>3}/{report['prompts']:<3}  {100 * rate:5.1f} %")
        print(path)
        return 0
    report, generated = evaluate(model, args.prompts, args.seed, device, true_cfg_scale=args.true_cfg_scale,
                                 log=lambda text: print(text, flush=True))
    path = write_report(report, args.out / "eval.json")
    sheet = write_contact_sheet(generated, report, args.sheet or args.out / "contact-sheet.png")
    width = max(len(name) for name in report["pass_rates"])
    for name, r in report["pass_rates"].items():
        print(f"{name:<{width}}  {r['passed']:>3}/{r['total']:<3}  {100 * r['rate']:5.1f} %")
    print(f"{report['generations']} generations, {report['seconds_per_generation']} s each; {path}; {sheet}")
    return 0


def register_demo_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `train demo` to the existing `train` group and the `eval demo` command."""
    train = subparsers.choices.get("train")
    if train is None:
        raise RuntimeError("register_demo_commands needs the `train` command group registered first")
    train_sub = next(a for a in train._actions if isinstance(a, argparse._SubParsersAction))
    add_train_demo(train_sub)
    add_train_demo_decoder(train_sub)
    add_eval(subparsers)


def main(argv: list[str] | None = None) -> int:
    """`python -m intrinsix.training.demo train|eval ...` (same options as the console script)."""
    parser = argparse.ArgumentParser(prog="python -m intrinsix.training.demo")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_demo(sub, "train")
    add_train_demo_decoder(sub, "decoder")
    add_eval_demo(sub, "eval")
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
