"""`intrinsix data ...` and `intrinsix train ...` subcommands (registered into the `intrinsix`
console script by cli/main.py).

    intrinsix data make-procedural --out DIR --scenes N [--views-per-scene K] [--size WxH] [--seed S]
                                   [--material-size PX] [--exclude-held-out] [--overwrite] [--quiet]
    intrinsix train independent --config FILE [--set KEY=VALUE ...] [--resume latest|DIR] [--quiet]
    intrinsix train align       --config FILE [--set KEY=VALUE ...] [--resume latest|DIR] [--quiet]
"""

from __future__ import annotations

import argparse
import re
import sys


def _positive_int(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= 1, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= 1, got {value}")
        return value

    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed must be an integer >= 0, got {value}")
    return value


def _size(text: str) -> tuple[int, int]:
    """'WxH' -> (height, width); 4:3 required (the InteriorVerse aspect)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"--size must be WIDTHxHEIGHT, e.g. 640x480, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if width < 4 or height < 3 or width > 8192 or 3 * width != 4 * height:
        raise argparse.ArgumentTypeError(f"--size must have a 4:3 aspect (width * 3 == height * 4) with width in "
                                         f"[4, 8192], e.g. 640x480 or 320x240, got {width}x{height}")
    return height, width


def _cmd_make_procedural(args: argparse.Namespace) -> int:
    from .data.make_procedural import make_procedural_dataset
    from .data.vocabulary import split_combinations

    combinations = split_combinations()[0] if args.exclude_held_out else None
    try:
        splits = make_procedural_dataset(args.out, args.scenes, args.views_per_scene, args.size, args.seed,
                                         args.material_size, args.overwrite, combinations, progress=not args.quiet)
    except (FileExistsError, NotADirectoryError, ValueError) as error:
        print(f"intrinsix data make-procedural: error: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    print(f"wrote {args.scenes} scenes x {args.views_per_scene} views to {args.out} ({counts})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `data` command group to the `intrinsix` parser's subparsers; returns its parser."""
    data = subparsers.add_parser("data", help="training data: procedural materials and synthetic rooms")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    make = data_sub.add_parser(
        "make-procedural",
        help="render procedural rooms into the InteriorVerse layout (EXR maps + captions)",
        description="Render N random rooms with procedural PBR materials, K views each, into "
                    "DIR/dataset_85/<scene>/<id>_{im,albedo,material,normal,depth,mask}.exr and "
                    "<id>_caption.txt, with DIR/dataset_85/{train,val,test}.txt scene lists.",
    )
    make.add_argument("--out", required=True, help="output folder (must be empty unless --overwrite)")
    make.add_argument("--scenes", required=True, type=_positive_int("--scenes"), help="number of rooms (>= 1)")
    make.add_argument("--views-per-scene", type=_positive_int("--views-per-scene"), default=4,
                      help="camera views per room (default 4)")
    make.add_argument("--size", type=_size, default=(480, 640), help="view size WIDTHxHEIGHT, 4:3 (default 640x480)")
    make.add_argument("--seed", type=_seed, default=0, help="random seed (default 0); scene k depends on (seed, k)")
    make.add_argument("--material-size", type=_positive_int("--material-size"), default=256,
                      help="texture resolution of each procedural material (default 256)")
    make.add_argument("--exclude-held-out", action="store_true",
                      help="use only the training half of the (family, colour, finish) split")
    make.add_argument("--overwrite", action="store_true", help="replace a data set written to --out before")
    make.add_argument("--quiet", action="store_true", help="no progress bar")
    make.set_defaults(func=_cmd_make_procedural)
    register_train(subparsers)
    from .demo.cli import register_demo_commands  # the demo model (training/demo/, issue 5): train demo, eval demo
    register_demo_commands(subparsers)
    return data


def _cmd_train(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config

    overrides = list(args.set or [])
    if args.quiet:
        overrides.append("output.progress=false")
    try:
        config = load_config(args.config, args.stage, overrides)
    except (ConfigError, FileNotFoundError) as error:
        print(f"intrinsix train {args.stage}: error: {error}", file=sys.stderr)
        return 2
    if args.stage == "independent":
        from .stage1 import IndependentTrainer as trainer_class
    else:
        from .stage2 import AlignTrainer as trainer_class
    try:
        result = trainer_class(config).train(resume=args.resume)
    except (ConfigError, ImportError) as error:  # e.g. lora.rank vs the stage-1 files, prodigyopt missing
        print(f"intrinsix train {args.stage}: error: {error}", file=sys.stderr)
        return 2
    if result.lora_path is not None:
        print(f"trained {args.stage} to step {result.final_step}: {result.lora_path}")
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add the `train` command group (independent, align); returns its subparsers so that other
    training commands can join the group."""
    train = subparsers.add_parser("train", help="train the IntrinsiX LoRAs (stage 1 and stage 2) with accelerate")
    train_sub = train.add_subparsers(dest="train_command", required=True)
    stages = {
        "independent": "stage 1: one LoRA for one intrinsic (albedo, material or normal), flow matching",
        "align": "stage 2: the three stage-1 LoRAs together with cross-intrinsic attention and the re-render loss",
    }
    for stage, text in stages.items():
        command = train_sub.add_parser(
            stage, help=text, description=f"{text}. Runs in one process, or in many under `accelerate launch`; "
            "see docs/training.md.")
        command.add_argument("--config", required=True,
                             help="YAML config file (e.g. training/configs/stage1_albedo.yaml)")
        command.add_argument("--set", action="append", metavar="KEY=VALUE",
                             help="override a config value, e.g. --set train.max_steps=100 (repeatable)")
        command.add_argument("--resume", default=None, metavar="latest|DIR",
                             help="continue from the newest checkpoint in output.dir ('latest') or from a folder")
        command.add_argument("--quiet", action="store_true", help="no progress bar")
        command.set_defaults(func=_cmd_train, stage=stage)
    return train_sub
