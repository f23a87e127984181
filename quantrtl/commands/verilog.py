"""``quantrtl verilog DESIGN [key=value ...] [-o FILE | --out DIR [--force]]``: a design's
Verilog; with ``--out``, the unit as IP: Verilog, datasheet (Markdown and JSON), a FuseSoC
core and an X-check testbench (``quantrtl.designs.datasheet``)."""

from __future__ import annotations

import sys
from pathlib import Path

from quantrtl.base.cache import (
    atomic_write,
    check_output_file,
    check_output_folder,
    output_folder,
    register_output_files,
)
from quantrtl.commands import FORCE_HELP, PARAMS_HELP
from quantrtl.designs import DESIGNS, build
from quantrtl.designs.datasheet import FILES, unit_files

VERB = "verilog"
HELP = "print (or write) a design's Verilog; --out: with its datasheet and FuseSoC core"
STDOUT_NAMES = ("-", "/dev/stdout")
WRITER = "verilog"
register_output_files(WRITER, FILES.values())  # what --out may hold


def add_arguments(p) -> None:
    p.add_argument("design", help=f"one of: {', '.join(DESIGNS)}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", help="write to this file instead of stdout (a symlink "
                                            "is written through; - is stdout)")
    out.add_argument("--out", metavar="DIR",
                     help="write the unit into folder DIR: " + ", ".join(FILES.values()))
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def run(args) -> int:
    if args.force and args.out is None:
        raise ValueError("--force applies to --out")
    if args.out is not None:
        check_output_folder(Path(args.out), WRITER, force=args.force)
    design = build(args.design, args.params)
    if args.out is not None:
        files = unit_files(design)
        with output_folder(Path(args.out), WRITER, force=args.force) as tmp:
            for name, text in files.items():
                atomic_write(tmp / name, text)
        print(f"wrote {args.out}/ ({', '.join(files)}; {design.rtl.top}, sha256 "
              f"{design.rtl.sha[:16]})", file=sys.stderr)
    elif args.output is not None and args.output not in STDOUT_NAMES:
        check_output_file(Path(args.output), "-o")
        atomic_write(Path(args.output), design.rtl.text)
        print(f"wrote {args.output} ({design.rtl.top}, sha256 {design.rtl.sha[:16]})",
              file=sys.stderr)
    else:
        sys.stdout.write(design.rtl.text)
    return 0
