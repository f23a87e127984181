"""``quantrtl sweep SPEC.toml --out DIR``: a design-space sweep on Dask distributed.

The spec (``quantrtl.sweep.spec``; docs/sweep.md) is checked whole before anything runs:
bad input is one ``quantrtl: error:`` line and exit status 2, as is a scheduler that does
not answer. ``--dry-run`` prints the jobs and runs nothing. Failed jobs do not stop the
others; the exit status is then 3, after every other result is written.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from quantrtl.commands import FORCE_HELP, positive_arg

VERB = "sweep"
HELP = "run a design-space sweep (designs x params x targets x variants x seeds) on Dask"


def _retries(text: str) -> int:
    value = int(text, 0)
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"must be 0..10, got {value}")
    return value


def _timeout(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be a number of seconds in (0, 3600], got "
                                         f"{text}")
    return value


def add_arguments(p) -> None:
    p.add_argument("spec", type=Path, help="the sweep spec, a TOML file (docs/sweep.md)")
    p.add_argument("--out", type=Path, help="output folder (results.jsonl, summary.json, "
                                            "report.md, charts); required unless --dry-run")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running Dask scheduler (tcp://host:8786) whose workers have "
                        "quantrtl installed; default: a local cluster")
    p.add_argument("--workers", type=positive_arg,
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--retries", type=_retries, default=1,
                   help="times a failed job is run again before it is recorded as failed (1)")
    p.add_argument("--timeout", type=_timeout, default=20.0,
                   help="seconds to wait for the scheduler and for its first worker (20)")
    p.add_argument("--dry-run", action="store_true", help="print the jobs, run nothing")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def run(args) -> int:
    from quantrtl.sweep.engine import STOP, stop_on_signal
    from quantrtl.sweep.runner import plan, run_sweep

    if args.scheduler and args.workers:
        raise ValueError("--workers sizes the local cluster; with --scheduler the cluster's "
                         "own workers run the jobs")
    if args.dry_run:
        spec, jobs = plan(args.spec)
        for job in jobs:
            print(f"{job.key}  {job.name()}")
        print(f"{len(jobs)} jobs ({len(spec.points)} design points)", file=sys.stderr)
        return 0
    if args.out is None:
        raise ValueError("--out DIR is required (or pass --dry-run)")
    # SIGINT (Ctrl-C) and SIGTERM end the sweep: the cluster is closed, results.jsonl kept
    STOP.clear()
    before = {sig: signal.signal(sig, stop_on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run_sweep(args.spec, args.out, scheduler=args.scheduler, workers=args.workers,
                  retries=args.retries, timeout=args.timeout, force=args.force)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    return 0
