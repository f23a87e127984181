"""QoR cache: seconds of a cold synthesis run against the same request served from the cache.

    python bench/synth_cache.py [design param=value ...]

Default request: ``int-mac a=int4 b=int4 acc=8`` on ``ice40-hx8k``, synthesis only (no
place-and-route), the configuration ``tests/test_synth.py`` checks for a cache hit. The cold
run builds into a fresh, empty cache (a temporary ``$QUANTRTL_CACHE``); each cached run reads
the stored result back. Prints the cold seconds, the best of 5 cached runs and their ratio.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from quantrtl.designs import build
from quantrtl.synth.flow import SynthFlags, synthesize

TARGET = "ice40-hx8k"
FLAGS = SynthFlags(pnr=False)
CACHED_RUNS = 5


def timed(rtl) -> tuple[float, dict]:
    started = time.perf_counter()
    result = synthesize(rtl, TARGET, FLAGS)
    return time.perf_counter() - started, result


def main(argv: list[str]) -> int:
    name, *params = argv or ["int-mac", "a=int4", "b=int4", "acc=8"]
    rtl = build(name, params).rtl
    with tempfile.TemporaryDirectory(prefix="quantrtl-bench-") as root:
        os.environ["QUANTRTL_CACHE"] = root
        cold, first = timed(rtl)
        runs = [timed(rtl) for _ in range(CACHED_RUNS)]
    if first["cached"] or not all(r["cached"] for _, r in runs):
        print("error: the cold run was cached or a repeated run was not", file=sys.stderr)
        return 1
    cached = min(seconds for seconds, _ in runs)
    print(f"{' '.join([name, *params])} on {TARGET}, {FLAGS.label()}")
    print(f"cold   {cold:9.4f} s")
    print(f"cached {cached:9.4f} s (best of {CACHED_RUNS})")
    print(f"ratio  {cold / cached:9.0f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
