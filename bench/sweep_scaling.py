"""Scaling of ``quantrtl sweep`` on Dask: the same jobs on 1 worker and on 2 workers.

    python bench/sweep_scaling.py [--jobs 8] [--design int-mac] [--target ice40-up5k]

``--jobs`` equal small synthesis jobs (the INT4 MAC, Yosys and nextpnr, placement seeds
1..N) run on a ``LocalCluster`` of one worker process, then of two, each time into a fresh
temporary cache, so nothing is cached. The time is from the first submission to the last
result (the cluster start and YoWASP's one-off preparation on each worker are excluded and
shown apart); the ratio is 1-worker time / 2-worker time, measured in the same run. On a
2-core machine the ideal is 2.0; other load on the machine lowers it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def timed_sweep(spec: Path, workers: int) -> tuple[float, float, list[dict]]:
    """(start-up seconds, sweep seconds, records) of ``spec`` on ``workers`` local workers,
    in a fresh cache."""
    from quantrtl.base.tools import prepare_yowasp
    from quantrtl.sweep.engine import connect, execute
    from quantrtl.sweep.runner import plan

    _, jobs = plan(spec)
    with tempfile.TemporaryDirectory(prefix="quantrtl-bench-cache.") as cache:
        os.environ["QUANTRTL_CACHE"] = cache
        t0 = time.perf_counter()
        with connect(None, workers) as client:
            client.run(prepare_yowasp)  # the one-off, per worker and cache
            t1 = time.perf_counter()
            records = []
            execute(client, jobs, lambda job, record: records.append(record), retries=0)
            t2 = time.perf_counter()
    return t1 - t0, t2 - t1, records


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--design", default="int-mac")
    p.add_argument("--params", default='{ a = "int4", b = "int4", acc = 16 }',
                   help="TOML inline table")
    p.add_argument("--target", default="ice40-up5k")
    args = p.parse_args()
    old = os.environ.get("QUANTRTL_CACHE")
    print(f"load average at start {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "bench.toml"
        spec.write_text(f'targets = ["{args.target}"]\nseeds = {list(range(1, args.jobs + 1))}'
                        f'\n[[design]]\nname = "{args.design}"\nparams = {args.params}\n')
        times = {}
        try:
            for workers in (1, 2):
                startup, seconds, records = timed_sweep(spec, workers)
                bad = [r for r in records if r["status"] != "ok" or r.get("cached")]
                if bad or len(records) != args.jobs:
                    raise SystemExit(f"bench: unexpected results: {bad or len(records)}")
                busy = sum(r["seconds"] for r in records)
                times[workers] = seconds
                print(f"{workers} worker(s): {args.jobs} jobs in {seconds:.1f} s "
                      f"(sum of job times {busy:.1f} s; cluster start {startup:.1f} s)")
        finally:
            if old is None:
                os.environ.pop("QUANTRTL_CACHE", None)
            else:
                os.environ["QUANTRTL_CACHE"] = old
    print(f"speed-up 2 workers vs 1: {times[1] / times[2]:.2f}x "
          f"(os.cpu_count() = {os.cpu_count()}, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
