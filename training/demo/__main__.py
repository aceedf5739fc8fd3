"""`python -m intrinsix.training.demo train ...` / `... eval ...` (see cli.py)."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
