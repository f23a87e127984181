"""Soak benchmark: many small ``quantrtl synth`` / ``verify`` processes on one cache, some
killed with ``SIGKILL`` at random moments, then a full rerun.

    .venv/bin/python bench/soak.py                  # 200 jobs, 3 at a time, 30 % killed
    .venv/bin/python bench/soak.py --jobs 60 --parallel 2 --seed 7

Jobs are drawn (seeded) from a few tiny configurations: synthesis of 2-bit MACs on iCE40,
ECP5 and xc7 with several nextpnr seeds (so that many distinct cache entries are built, and
killed while being built), simulation, and gate-level simulation of a mapped netlist. A
killed job gets ``SIGKILL`` on the ``quantrtl`` process alone, after a random delay: its
tools must die with it. Then every distinct job runs once more on the soaked cache and
once on a fresh cache, and the benchmark prints:

* corrupt entries reused: distinct jobs whose rerun on the soaked cache differs from the
  fresh cache's run (must be 0); entries found corrupt and rebuilt are counted apart;
* orphan processes: processes still alive with the soaked cache in their environment once
  every job has ended (must be 0);
* temporaries left: quantrtl temporary files and folders in the soaked cache after the
  rerun (must be 0);
* failed reruns (must be 0).

Exit status 0 when all four are 0, else 1. Nothing here runs under pytest: it takes
minutes (each ``quantrtl`` process starts in about 2 s, a cold synthesis takes 5-15 s).

    .venv/bin/python bench/soak.py --cold-yowasp    # parallel tools, empty YoWASP cache

starts one synthesis per target family at once with an empty YoWASP cache
(``YOWASP_CACHE_DIR``) and an empty quantrtl cache: the first tool run of each YoWASP tool
compiles its WebAssembly (minutes), which is when a parallel run used to die of
``SIGBUS``. It prints each job's exit status and counts tool runs killed by a signal (the
logs' "was killed by" notes); exit status 0 when every job passed and none was killed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUANTRTL = str(Path(sys.executable).with_name("quantrtl"))
MAC = ["a=int2", "b=int2", "acc=5"]

# (verb and arguments) of the distinct jobs; synthesis with --json so results compare
CONFIGS: list[list[str]] = [
    *[["synth", "int-mac", *MAC, "--target", "ice40-up5k", "--seed", str(s), "--json"]
      for s in range(1, 5)],
    *[["synth", "baseline-mac", *MAC, "--target", "ecp5-25k", "--seed", str(s), "--json"]
      for s in range(1, 4)],
    ["synth", "int-mac", "a=int3", "b=int2", "acc=6", "--target", "xc7", "--json"],
    ["verify", "int-mac", *MAC],
    ["verify", "baseline-mac", "a=int3", "b=int2", "acc=6"],
    ["verify", "int-mac", *MAC, "--post-synth", "ice40-up5k"],
]
QOR_FIELDS = ("luts", "ffs", "carry", "dsps", "fmax_mhz", "cells")
# quantrtl's temporaries (quantrtl.base.cache: atomic_write, atomic_dir, verilog_ports)
LEFTOVER = re.compile(r"\.(?P<name>.+?)\.(?:old\.)?[a-z0-9_]{8}(?:\.tmp)?")


def run(args: list[str], cache: Path, timeout: float = 900) -> tuple[int, str, str]:
    proc = subprocess.run([QUANTRTL, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "QUANTRTL_CACHE": str(cache)})
    return proc.returncode, proc.stdout, proc.stderr


def outcome(args: list[str], status: int, out: str) -> object:
    """What a job's result is, for comparison: the QoR numbers of a synthesis, the pass
    line of a verification (without times and paths)."""
    if status != 0:
        return f"exit {status}"
    if args[0] == "synth":
        doc = json.loads(out)
        return {k: doc[k] for k in QOR_FIELDS}
    return re.sub(r" in [\d.]+ s; log: .*", "", out.strip())


def processes_using(cache: Path) -> list[str]:
    marker = f"QUANTRTL_CACHE={cache}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"{pid}: {cmd.decode(errors='replace')[:120]}")
        except OSError:
            continue
    return found


def leftovers(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if LEFTOVER.fullmatch(p.name)
            and not any(LEFTOVER.fullmatch(q.name) for q in p.relative_to(cache).parents
                        if q.name)]


def soak(cache: Path, jobs: int, parallel: int, kill: float, rng: random.Random,
         max_delay: float) -> dict:
    """Run ``jobs`` random jobs, ``parallel`` at a time, killing a fraction ``kill`` of them
    after a random delay; returns counts."""
    queue = [rng.choice(CONFIGS) for _ in range(jobs)]
    running: list[tuple[subprocess.Popen, float | None]] = []
    counts = {"started": 0, "killed": 0, "ended": 0, "failed": 0, "waited": 0}
    logs = cache.parent / "soak-stderr"
    logs.mkdir(exist_ok=True)
    started, reported = time.monotonic(), 0
    try:
        _soak_loop(queue, running, counts, logs, cache, parallel, kill, rng, max_delay,
                   jobs, started, reported)
    finally:  # an interrupted soak leaves no quantrtl running (each stops its own tools)
        for proc, _ in running:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in running:
            proc.wait()
    counts["waited"] = sum("waiting for another quantrtl job" in p.read_text()
                           for p in logs.glob("*.err"))
    counts["seconds"] = round(time.monotonic() - started, 1)
    return counts


def _soak_loop(queue, running, counts, logs, cache, parallel, kill, rng, max_delay, jobs,
               started, reported):
    devnull = subprocess.DEVNULL
    while queue or running:
        while queue and len(running) < parallel:
            args = queue.pop()
            err = (logs / f"{counts['started']}.err").open("w")
            proc = subprocess.Popen([QUANTRTL, *args], stdout=devnull, stderr=err,
                                    env={**os.environ, "QUANTRTL_CACHE": str(cache)})
            err.close()
            deadline = time.monotonic() + rng.uniform(0, max_delay) \
                if rng.random() < kill else None
            running.append((proc, deadline))
            counts["started"] += 1
        time.sleep(0.05)
        for item in list(running):
            proc, deadline = item
            if proc.poll() is not None:
                running.remove(item)
                counts["ended"] += 1
                counts["failed"] += proc.returncode not in (0, -signal.SIGKILL)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                running.remove(item)
                counts["killed"] += 1
        if counts["started"] >= reported + 20 and queue:
            reported = counts["started"]
            print(f"  {counts['started']}/{jobs} started, {counts['killed']} killed "
                  f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)


COLD_JOBS = [CONFIGS[0], CONFIGS[4], CONFIGS[7]]  # iCE40, ECP5, xc7: every YoWASP tool


def cold_yowasp() -> int:
    """Parallel synthesis on empty YoWASP and quantrtl caches (module docstring)."""
    work = Path(tempfile.mkdtemp(prefix="quantrtl-cold-"))
    env = {**os.environ, "YOWASP_CACHE_DIR": str(work / "yowasp"),
           "QUANTRTL_CACHE": str(work / "cache")}
    try:
        started = time.monotonic()
        procs = [subprocess.Popen([QUANTRTL, *args], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for args in COLD_JOBS]
        statuses = []
        for args, proc in zip(COLD_JOBS, procs):
            try:
                out, err = proc.communicate()
            except BaseException:  # interrupted: stop every job before its folder goes
                for other in procs:
                    other.terminate()
                for other in procs:
                    other.wait()
                raise
            statuses.append(proc.returncode)
            print(f"  exit {proc.returncode}: {' '.join(args)}"
                  + ("" if proc.returncode == 0 else f": {err.strip()[-300:]}"),
                  file=sys.stderr)
        logs = list((work / "cache").rglob("*.log"))
        killed = sum(p.read_text(errors="replace").count(" was killed by ") for p in logs)
        prepared = sorted(p.stem for p in (work / "cache" / "yowasp").glob("*.log"))
        summary = {"jobs": len(COLD_JOBS), "passed": statuses.count(0),
                   "tool runs killed by a signal": killed, "prepared once": prepared,
                   "yowasp cache MB": round(sum(p.stat().st_size for p in
                                                (work / "yowasp").rglob("*")
                                                if p.is_file()) / 1e6),
                   "seconds": round(time.monotonic() - started, 1)}
        print(json.dumps(summary, indent=1))
        return 0 if statuses.count(0) == len(COLD_JOBS) and killed == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--kill", type=float, default=0.3, help="fraction of jobs killed")
    parser.add_argument("--max-delay", type=float, default=8.0,
                        help="latest kill, in seconds after the start")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold-yowasp", action="store_true",
                        help="parallel synthesis on an empty YoWASP cache instead")
    args = parser.parse_args(argv)
    if args.cold_yowasp:
        return cold_yowasp()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="quantrtl-soak-"))
    soaked, fresh = work / "soaked", work / "fresh"
    try:
        print(f"soak: {args.jobs} jobs, {args.parallel} at a time, {args.kill:.0%} killed "
              f"within {args.max_delay:g} s, seed {args.seed}, cache {soaked}",
              file=sys.stderr)
        counts = soak(soaked, args.jobs, args.parallel, args.kill, rng, args.max_delay)
        time.sleep(1.0)
        orphans = processes_using(soaked)
        for line in orphans:
            print(f"  orphan: {line}", file=sys.stderr)

        differ, failed, rebuilt = [], [], 0
        for config in CONFIGS:  # the full rerun, then the same job on a fresh cache
            status, out, err = run(config, soaked)
            rebuilt += err.count("quantrtl: warning: cache entry")
            if status != 0:
                failed.append((config, err.strip().splitlines()[-1:]))
            clean = run(config, fresh)
            if outcome(config, status, out) != outcome(config, clean[0], clean[1]):
                differ.append(config)
        left = leftovers(soaked)
        for path in left:
            print(f"  left: {path}", file=sys.stderr)
        for config, err in failed:
            print(f"  rerun failed: {' '.join(config)}: {err}", file=sys.stderr)
        summary = {**counts, "distinct jobs": len(CONFIGS),
                   "corrupt entries reused": len(differ),
                   "corrupt entries found and rebuilt": rebuilt,
                   "orphan processes": len(orphans), "temporaries left": len(left),
                   "failed reruns": len(failed),
                   "locks": len(list(soaked.rglob("*.lock")))}
        print(json.dumps(summary, indent=1))
        bad = len(differ) + len(orphans) + len(left) + len(failed)
        return 0 if bad == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
