"""The ``quantrtl`` command line.

Every verb that takes a design takes its parameters as ``key=value`` words after the design
name (``quantrtl synth int-mac a=int4 b=int8 acc=20 --target ecp5-25k``); options may come
before, between or after them. ``quantrtl list`` shows each design's parameters and
defaults. Bad input, including an output path or cache folder quantrtl cannot write,
exits with status 2 and one line on stderr, before anything is written or run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from quantrtl.base.cache import check_cache
from quantrtl.base.errors import ToolError, VerificationError
from quantrtl.base.provenance import provenance
from quantrtl.commands import FORCE_HELP, PARAMS_HELP, add_verbs, positive_arg, seed_arg
from quantrtl.designs import DESIGNS, build, provable
from quantrtl.sim.harness import SIMULATORS
from quantrtl.synth.flow import SynthFlags, check_flags, synthesize
from quantrtl.synth.targets import TARGETS, get_target, overflow_text


class UsageError(Exception):
    """Bad command-line input: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


class _VersionShown(Exception):
    """``--version`` printed its line: exit status 0."""


def version_line() -> str:
    """``quantrtl <version> (commit <sha>[-dirty])``, without the commit outside a checkout."""
    prov = provenance()
    commit = f" (commit {prov['commit']})" if prov["commit"] else ""
    return f"quantrtl {prov['quantrtl']}{commit}"


class _VersionAction(argparse.Action):
    """Like argparse's ``version`` action, but computes the line (a git call) only when
    asked and lets ``main`` return 0 instead of exiting."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())
        raise _VersionShown()


def cmd_list(args) -> int:
    for spec in DESIGNS.values():
        print(f"{spec.name}: {spec.summary}")
        for p in spec.params:
            choices = f" ({'|'.join(p.choices)})" if p.choices else ""
            print(f"    {p.name}={p.default}  {p.help}{choices}")
    print("targets: " + ", ".join(f"{t.name}{'' if t.has_pnr else ' (area only)'}"
                                  for t in TARGETS.values()))
    return 0


def cmd_synth(args) -> int:
    design = build(args.design, args.params)
    target = get_target(args.target)
    flags = SynthFlags(booth=args.booth, dsp=args.dsp, seed=args.seed, pnr=not args.no_pnr,
                       router=args.router)
    check_flags(target, flags)
    check_cache()
    print(f"synthesizing {design.label} for {target.name} ({flags.label()}) ...",
          file=sys.stderr)
    result = synthesize(design.rtl, target, flags, design=design.name, params=design.params)
    if args.json:
        print(json.dumps({**result, "provenance": provenance()}, indent=2, sort_keys=True))
    else:
        fmax = f"Fmax {result['fmax_mhz']:.1f} MHz" if result["fmax_mhz"] \
            else "Fmax n/a (no place and route)"
        if result.get("fits") is False:  # a result, not a failure: exit status 0
            fmax = overflow_text(result["overflow"])
        print(f"{design.label} on {target.name} [{flags.label()}]: {result['luts']} LUTs, "
              f"{result['ffs']} FFs, {result['carry']} carry, {result['dsps']} DSPs, "
              f"{fmax}{' (cached)' if result['cached'] else ''}")
        print(f"logs: {Path(result['logs']['yosys.log']).parent}")
    return 0


def cmd_prove(args) -> int:
    from quantrtl.rigor import prove
    design = build(args.design, args.params)
    check_cache()
    result = prove(design.name, design.params)
    if result.proved:
        print(f"PROVED {design.label}: equal to the golden model ({result.method}; "
              f"{result.seconds:.1f} s); log: {result.log}")
        return 0
    print(f"DISPROVED {design.label} ({result.seconds:.1f} s): {result.counterexample}; "
          f"log: {result.log}")
    return 1


def cmd_lint(args) -> int:
    from quantrtl.rigor import WAIVERS, lint
    design = build(args.design, args.params)
    check_cache()
    result = lint(design.rtl, design=design.label)
    for warning in result.warnings:
        print(f"  {warning}")
    print(f"{design.label}: {len(result.warnings)} lint warnings (verilator -Wall), "
          f"{len(result.waived)} waived ({len(WAIVERS)} codes, justified in "
          f"quantrtl/rigor/linter.py); log: {result.log}")
    return 1 if result.warnings else 0


def cmd_mutate(args) -> int:
    from quantrtl.rigor.mutation import mutation_test
    design = build(args.design, args.params)
    check_cache()
    print(f"mutation testing {design.label} ({args.count} mutants) ...", file=sys.stderr)
    report = mutation_test(design, count=args.count, seed=args.seed, simulator=args.sim,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(report.summary())
    for survivor in report.survivors:
        print(f"  survived: {survivor}")
    print(f"work folder: {report.log_dir}")
    return 0


def cmd_report(args) -> int:
    from quantrtl.report import run_report
    targets = args.target or None
    for t in targets or []:
        get_target(t)
    run_report(Path(args.out), targets=targets, simulator=args.sim, verify=not args.no_verify,
               jobs=args.jobs, force=args.force)
    return 0


def cmd_rigor(args) -> int:
    from quantrtl.rigor.table import render_markdown, resolve_units, run_rigor
    units = resolve_units(args.designs)
    doc = run_rigor(Path(args.out), units=units, count=args.count, seed=args.seed,
                    simulator=args.sim, force=args.force)
    sys.stdout.write(render_markdown(doc))
    return 0 if doc["ok"] else 1


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="quantrtl", description=__doc__.split("\n\n")[0].strip(),
                     epilog="Design parameters are key=value words after the design name; "
                            "`quantrtl list` shows them.")
    parser.add_argument("--version", action=_VersionAction,
                        help="print the quantrtl version and git commit, then exit")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    sub.add_parser("list", help="designs, their parameters, and targets").set_defaults(
        func=cmd_list)
    add_verbs(sub)

    p = sub.add_parser("synth", help="synthesize (and place and route) a design")
    p.add_argument("design", help=f"one of: {', '.join(DESIGNS)}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    p.add_argument("--target", required=True, help=f"one of: {', '.join(TARGETS)}")
    p.add_argument("--booth", action="store_true", help="Booth-encode LUT multipliers")
    p.add_argument("--dsp", action="store_true", help="use hard DSP multipliers")
    p.add_argument("--no-pnr", action="store_true", help="area only, skip nextpnr")
    p.add_argument("--seed", type=seed_arg, default=1, help="nextpnr seed (1)")
    p.add_argument("--router", choices=("router1", "router2"), default="router1",
                   help="nextpnr router (router2: much faster on large arrays)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("prove", help="formal equivalence with the golden model (Yosys SAT)")
    p.add_argument("design", help=f"one of: {', '.join(provable())}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    p.set_defaults(func=cmd_prove)

    p = sub.add_parser("lint", help="Verilator -Wall lint of a design's Verilog")
    p.add_argument("design", help=f"one of: {', '.join(DESIGNS)}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("mutate", help="mutation score of a design's bench (Yosys mutate)")
    p.add_argument("design", help=f"one of: {', '.join(DESIGNS)}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    p.add_argument("--count", type=positive_arg, default=40, help="mutants (40)")
    p.add_argument("--seed", type=seed_arg, default=1)
    p.add_argument("--sim", choices=SIMULATORS)
    p.set_defaults(func=cmd_mutate)

    p = sub.add_parser("report", help="verify and synthesize the default design set; write "
                                      "qor.json, report.md and charts")
    p.add_argument("--out", default="report", help="output folder (report)")
    p.add_argument("--target", action="append", help="limit to these targets (repeatable)")
    p.add_argument("--sim", choices=SIMULATORS)
    p.add_argument("--no-verify", action="store_true", help="skip simulation")
    p.add_argument("--jobs", type=positive_arg, default=2, help="parallel tool runs (2)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("rigor", help="prove, lint and mutation-test the default units; "
                                     "write rigor.json and rigor.md")
    p.add_argument("--out", default="report", help="output folder (report)")
    p.add_argument("--count", type=positive_arg, default=40, help="mutants per unit (40)")
    p.add_argument("--seed", type=seed_arg, default=1)
    p.add_argument("--sim", choices=SIMULATORS)
    p.add_argument("--designs", nargs="+", metavar="DESIGN",
                   help="design names (their default-set entries) or quoted 'name k=v ...' "
                        "units; default: the whole default set")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.set_defaults(func=cmd_rigor)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None):
    """``parser.parse_args``, except that a design's ``key=value`` words may also follow
    its options (argparse takes a run of positionals only once; the words it leaves over
    are appended to ``params`` in order). Anything else left over is an error."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        words = [w for w in extra if not w.startswith("-")]
        if words != extra or not hasattr(args, "params"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.params = [*args.params, *words]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parse_args(parser, argv)
        return args.func(args)
    except _VersionShown:
        return 0
    except (UsageError, ValueError) as exc:
        print(f"quantrtl: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path that passed the checks and failed later
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"quantrtl: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except VerificationError as exc:
        print(f"quantrtl: FAIL: {exc}", file=sys.stderr)
        return 1
    except ToolError as exc:
        print(f"quantrtl: tool error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
