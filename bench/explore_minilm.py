"""Wall time of the whole default ``quantrtl explore`` on all-MiniLM-L6-v2, cold and cached.

    python bench/explore_minilm.py [--cache DIR] [--skip-cold] [-- extra explore options]

Cold: a fresh, empty quantrtl cache (``$QUANTRTL_CACHE`` set to a new temporary folder):
every synthesis (six 4x4 arrays on ecp5-25k), every weight quantization (OVP's clip
search) and the Verilator build of the tile's array run. Cached: the same command again
on that cache: synthesis, quantized weights, activation scales and the simulator build come
from the cache; the FP32 run, the 216 sensitivity runs, the uniform and plan runs and the
tile's simulation run again. YoWASP's own compiled-WebAssembly cache (``~/.cache/yowasp``)
is not cleared. The ratio is cached / cold, measured in the same run; each run's stderr
(the progress lines) is kept beside its output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUANTRTL = [sys.executable, "-m", "quantrtl.cli", "explore"]


def run(out: Path, cache: Path, extra: list[str]) -> tuple[float, dict]:
    env = {**os.environ, "QUANTRTL_CACHE": str(cache)}
    started = time.perf_counter()
    result = subprocess.run([*QUANTRTL, "-o", str(out), "--force", *extra], env=env,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (out.parent / f"{out.name}.stderr.txt").write_text(result.stderr)
    if result.returncode:
        sys.exit(f"quantrtl explore failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, json.loads((out / "explore.json").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", help="cache folder (default: a fresh temporary one)")
    parser.add_argument("--skip-cold", action="store_true",
                        help="only the cached run (on --cache)")
    parser.add_argument("extra", nargs="*", help="options passed to quantrtl explore")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="explore-bench-"))
    cache = Path(args.cache) if args.cache else work / "cache"
    rows = []
    if not args.skip_cold:
        seconds, doc = run(work / "cold", cache, args.extra)
        rows.append(("cold (empty cache)", seconds, doc))
    seconds, doc = run(work / "cached", cache, args.extra)
    rows.append(("cached", seconds, doc))
    print(f"outputs in {work}")
    print("| run | wall s | plan LUTs/MAC | plan mean cosine (measured) | tile MACs | tile "
          "simulator s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, seconds, doc in rows:
        plan, tile = doc["plan"], doc.get("tile") or {}
        tile_timing = (doc.get("timing") or {}).get("tile") or {}
        print(f"| {label} | {seconds:.0f} | {plan['cost_per_mac']:.2f} | "
              f"{plan['measured']['mean_cos']:.4f} | {tile.get('macs', 'n/a')} | "
              f"{tile_timing.get('simulator_seconds', 'n/a')} |")
    if len(rows) == 2:
        print(f"\ncached / cold: {rows[1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
