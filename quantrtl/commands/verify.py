"""``quantrtl verify DESIGN [key=value ...]``: simulate a design against its golden model.

The Verilog under test is the design's generated RTL, or with ``--rtl FILE.v`` a file of
the user's (hand-written or hand-edited; its top module must have the generated Verilog's
ports: names, directions and widths), or with ``--post-synth TARGET`` the netlist Yosys maps
the design to for that target, simulated with the target's cell models (gate level).
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

from quantrtl.base.cache import check_cache
from quantrtl.commands import PARAMS_HELP, positive_arg, seed_arg
from quantrtl.designs import DESIGNS, build
from quantrtl.sim.harness import SIMULATORS, run_batched, run_vectors
from quantrtl.sim.vectors import MODES

VERB = "verify"
HELP = "simulate a design (or your netlist, or its synthesized netlist) against the golden model"


def add_arguments(p) -> None:
    from quantrtl.synth.targets import TARGETS
    p.add_argument("design", help=f"one of: {', '.join(DESIGNS)}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    p.add_argument("--mode", choices=MODES, help="default: exhaustive when the code space is "
                                                 "small, else random")
    p.add_argument("--count", type=positive_arg, default=20000, help="random vectors (20000)")
    p.add_argument("--seed", type=seed_arg, default=1)
    p.add_argument("--sim", choices=SIMULATORS, help="simulator (default: icarus if installed)")
    p.add_argument("--waves", action="store_true", help="dump waveforms (one file per run)")
    p.add_argument("--batch", action="store_true",
                   help="preload the vectors into a generated testbench (fast; clocked units)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--rtl", metavar="FILE.v",
                       help="simulate this Verilog instead of the generated one (same ports)")
    which.add_argument("--post-synth", metavar="TARGET",
                       help="simulate the netlist Yosys maps the design to for TARGET, with "
                            f"its cell models (one of: {', '.join(TARGETS)})")


def verify_design(design, *, mode: str | None, count: int, seed: int, simulator: str | None,
                  waves: bool, batch: bool = False, libraries: tuple[Path, ...] = ()):
    """Run a design's golden vectors; ``mode=None`` picks exhaustive when affordable;
    ``batch`` preloads them into a generated testbench (``sim.batch``); ``libraries`` are
    Verilog files compiled with the design (a target's cell models)."""
    mode = mode or ("exhaustive" if design.exhaustive_ok else "random")
    vectors = design.vectors(mode, count, seed)
    runner = run_batched if batch else run_vectors
    return vectors, runner(design.rtl, vectors, simulator=simulator, waves=waves,
                           libraries=libraries)


def read_user_verilog(path: str) -> str:
    """The text of the user's Verilog file ``path``; ``ValueError`` (one line) when it
    cannot be read."""
    file = Path(path)
    if file.is_dir():
        raise ValueError(f"--rtl {path} is a folder; name a Verilog file")
    try:
        return file.read_text()
    except FileNotFoundError:
        raise ValueError(f"--rtl {path}: no such file") from None
    except UnicodeDecodeError:
        raise ValueError(f"--rtl {path} is not a text file") from None
    except OSError as exc:
        raise ValueError(f"--rtl {path}: {exc.strerror or exc}") from None


def user_rtl(design, text: str, path: str):
    """The user's Verilog as the RTL to verify in place of ``design.rtl``: its top module is
    the one named like the generated top if the file has it, else the file's top module;
    its ports must equal the generated Verilog's (names, directions, widths), else
    ``ValueError`` listing the differences."""
    from quantrtl.hw.rtl import RTL
    from quantrtl.synth.flow import verilog_ports

    want = design.rtl.top
    top = want if re.search(rf"^\s*module\s+{re.escape(want)}\b", text, re.M) else None
    top, ports = verilog_ports(text, top=top, what=f"--rtl {path}")
    got = {p.name: (p.direction, p.width) for p in ports}
    expected = {p.name: (p.direction, p.width) for p in design.rtl.ports}
    if got != expected:
        diffs = [f"{n} missing ({expected[n][0]} [{expected[n][1]}])"
                 for n in expected if n not in got]
        diffs += [f"{n} not in {design.name} ({got[n][0]} [{got[n][1]}])"
                  for n in got if n not in expected]
        diffs += [f"{n} is {got[n][0]} [{got[n][1]}], expected {expected[n][0]} "
                  f"[{expected[n][1]}]" for n in got if n in expected and got[n] != expected[n]]
        raise ValueError(f"--rtl {path}: module {top}'s ports differ from {design.label}'s: "
                         f"{'; '.join(sorted(diffs))}")
    return RTL(top, text)


def _check_batchable(rtl, path: str) -> None:
    """``--batch`` reads the ports of the Verilog itself (``RTL.ports``: one port per
    ``input``/``output`` declaration); refuse a file where that reading differs from
    Yosys's."""
    from quantrtl.synth.flow import verilog_ports
    try:
        simple = {(p.name, p.direction, p.width) for p in rtl.ports}
    except ValueError:
        simple = set()
    _, ports = verilog_ports(rtl.text, top=rtl.top, what=f"--rtl {path}")
    if simple != {(p.name, p.direction, p.width) for p in ports}:
        raise ValueError(f"--rtl {path} with --batch needs one port per input/output "
                         "declaration (e.g. `input wire [3:0] a;`); leave out --batch")


def run(args) -> int:
    design = build(args.design, args.params)
    target = None
    if args.post_synth is not None:
        from quantrtl.synth.targets import get_target
        target = get_target(args.post_synth)
        if args.sim == "verilator":
            raise ValueError("--post-synth simulates the cell models under Icarus; "
                             "leave out --sim verilator")
    text = read_user_verilog(args.rtl) if args.rtl is not None else None
    check_cache()
    libraries: tuple[Path, ...] = ()
    what = design.label
    if text is not None:
        design = replace(design, rtl=user_rtl(design, text, args.rtl))
        what = f"{args.rtl} as {design.label}"
        if args.batch:
            _check_batchable(design.rtl, args.rtl)
    if target is not None:
        from quantrtl.synth.flow import cell_models, mapped_netlist
        print(f"mapping {design.label} to {target.name} cells (Yosys) ...", file=sys.stderr,
              flush=True)
        libraries = cell_models(target)
        design = replace(design, rtl=mapped_netlist(design.rtl, target))
        what = f"{design.label} after synthesis for {target.name}"
    print(f"verifying {what} ...", file=sys.stderr, flush=True)
    vectors, result = verify_design(design, mode=args.mode, count=args.count, seed=args.seed,
                                    simulator="icarus" if target else args.sim,
                                    waves=args.waves, batch=args.batch, libraries=libraries)
    print(f"PASS {what}: {len(vectors)} cycles ({vectors.mode}, seed {vectors.seed}) "
          f"on {result.simulator} in {result.seconds:.1f} s; log: {result.log}")
    if result.waves:
        print(f"waves: {result.waves}")
    return 0
