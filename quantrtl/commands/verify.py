"""``quantrtl verify DESIGN [key=value ...]``: simulate a design against its golden model."""

from __future__ import annotations

import sys

from quantrtl.base.cache import check_cache
from quantrtl.commands import PARAMS_HELP, positive_arg, seed_arg
from quantrtl.designs import DESIGNS, build
from quantrtl.sim.harness import SIMULATORS, run_batched, run_vectors
from quantrtl.sim.vectors import MODES

VERB = "verify"
HELP = "simulate a design against the golden model"


def add_arguments(p) -> None:
    p.add_argument("design", help=f"one of: {', '.join(DESIGNS)}")
    p.add_argument("params", nargs="*", help=PARAMS_HELP)
    p.add_argument("--mode", choices=MODES, help="default: exhaustive when the code space is "
                                                 "small, else random")
    p.add_argument("--count", type=positive_arg, default=20000, help="random vectors (20000)")
    p.add_argument("--seed", type=seed_arg, default=1)
    p.add_argument("--sim", choices=SIMULATORS, help="simulator (default: icarus if installed)")
    p.add_argument("--waves", action="store_true", help="dump waveforms")
    p.add_argument("--batch", action="store_true",
                   help="preload the vectors into a generated testbench (fast; clocked units)")


def verify_design(design, *, mode: str | None, count: int, seed: int, simulator: str | None,
                  waves: bool, batch: bool = False):
    """Run a design's golden vectors; ``mode=None`` picks exhaustive when affordable;
    ``batch`` preloads them into a generated testbench (``sim.batch``)."""
    mode = mode or ("exhaustive" if design.exhaustive_ok else "random")
    vectors = design.vectors(mode, count, seed)
    runner = run_batched if batch else run_vectors
    return vectors, runner(design.rtl, vectors, simulator=simulator, waves=waves)


def run(args) -> int:
    design = build(args.design, args.params)
    check_cache()
    print(f"verifying {design.label} ...", file=sys.stderr)
    vectors, result = verify_design(design, mode=args.mode, count=args.count, seed=args.seed,
                                    simulator=args.sim, waves=args.waves, batch=args.batch)
    print(f"PASS {design.label}: {len(vectors)} cycles ({vectors.mode}, seed {vectors.seed}) "
          f"on {result.simulator} in {result.seconds:.1f} s; log: {result.log}")
    if result.waves:
        print(f"waves: {result.waves}")
    return 0
