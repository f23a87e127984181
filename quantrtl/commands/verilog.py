"""``quantrtl verilog DESIGN [key=value ...] [-o FILE]``: a design's Verilog."""

from __future__ import annotations

import sys
from pathlib import Path

from quantrtl.base.cache import atomic_write, check_output_file
from quantrtl.commands import PARAMS_HELP
from quantrtl.designs import DESIGNS, build

VERB = "verilog"
HELP = "print (or write) a design's Verilog"
STDOUT_NAMES = ("-", "/dev/stdout")


def add_arguments(p) -> None:
    p.add_argument("design", help=f"one of: {', '.join(DESIGNS)}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    p.add_argument("-o", "--output", help="write to this file instead of stdout (a symlink "
                                          "is written through; - is stdout)")


def run(args) -> int:
    design = build(args.design, args.params)
    if args.output is not None and args.output not in STDOUT_NAMES:
        check_output_file(Path(args.output), "-o")
        atomic_write(Path(args.output), design.rtl.text)
        print(f"wrote {args.output} ({design.rtl.top}, sha256 {design.rtl.sha[:16]})",
              file=sys.stderr)
    else:
        sys.stdout.write(design.rtl.text)
    return 0
