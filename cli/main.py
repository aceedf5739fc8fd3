"""`intrinsix` console script: dispatches to the subcommands that each package registers."""

from __future__ import annotations

import argparse
import sys

from .errors import CLIError


def _cmd_info(args: argparse.Namespace) -> int:
    import torch

    from intrinsix import __version__
    from intrinsix.kernels import has_cuda

    print(f"intrinsix {__version__}")
    print(f"torch {torch.__version__}, CUDA devices visible: {torch.cuda.device_count()}")
    print(f"kernels built with CUDA: {has_cuda()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from intrinsix.server import cli as server_cli
    from intrinsix.server.demo_ui import cli as demo_ui_cli
    from intrinsix.texturing import cli as texturing_cli
    from intrinsix.training import cli as training_cli

    from . import generate

    parser = argparse.ArgumentParser(prog="intrinsix", description="IntrinsiX: text to PBR texture sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="print versions and whether the kernels have CUDA")
    info.set_defaults(func=_cmd_info)
    generate.register(sub)
    training_cli.register(sub)
    server_cli.register(sub)
    demo_ui_cli.register(sub)
    texturing_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"intrinsix {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
