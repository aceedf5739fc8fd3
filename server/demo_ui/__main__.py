"""`python -m intrinsix.server.demo_ui ...` is `intrinsix demo-ui ...`."""

import argparse
import sys

from .cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intrinsix")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo-ui", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
