"""Verification throughput of the systolic arrays: verified MACs per second.

    python bench/array_verify.py [--rows 8] [--cols 8] [--fmt int8] [--macs 2000000]
                                 [--dataflows os,ws] [--ws-rows N]

Streams seeded GEMM tiles (``sim.gemm``) through an ``rows x cols`` array of each dataflow
and checks every result against the golden GEMM, four ways: cocotb driving one vector per
cycle (``sim.benches.stream``, the baseline) and the batched self-checking testbench
(``sim.batch``), each on Icarus and on Verilator (when installed). MACs/s counts the
simulation run (simulator start, cocotb, every cycle checked); the simulator build is shown
separately in the wall time (Verilator compiles C++ for a minute); golden vectors are made
beforehand and timed separately. The per-cycle runs use a tenth of the MACs (they are
slow); MACs/s is what matters. Ratios are to the per-cycle Icarus run of the same dataflow,
measured in the same run. ``--ws-rows`` lets a weight tile serve up to N rows of ``A``
(the test bench's default, 2 x rows, keeps batches short to exercise the swap protocol;
a long ``M`` is how a weight-stationary array is used).
"""

from __future__ import annotations

import argparse
import time

from quantrtl.golden.integer import parse_int_format
from quantrtl.hw.array import OutputStationaryArray, WeightStationaryArray
from quantrtl.hw.pe import IntPE
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm import IntOperands, os_stream_vectors, ws_stream_vectors
from quantrtl.sim.harness import run_batched, run_vectors, simulator_available


def vectors_for(dataflow: str, rows: int, cols: int, fmt, macs: int, seed: int,
                ws_rows: int | None = None):
    pe = IntPE(a_width=fmt.bits, a_signed=fmt.signed, b_width=fmt.bits, b_signed=fmt.signed)
    kind = IntOperands(fmt, fmt)
    if dataflow == "os":
        unit = OutputStationaryArray(rows=rows, cols=cols, pe=pe, max_k=32)
        tiles = max(4, macs // (rows * cols * 16))
        vec, n = os_stream_vectors(rows, cols, kind, acc_width=unit.acc_width, max_k=32,
                                   tiles=tiles, seed=seed)
    else:
        unit = WeightStationaryArray(rows=rows, cols=cols, pe=pe)
        per_batch = (ws_rows or 2 * rows) // 2 + 1  # A rows per weight tile, on average
        batches = max(4, macs // (per_batch * rows * cols))
        vec, n = ws_stream_vectors(rows, cols, kind, acc_width=unit.acc_width,
                                   batches=batches, seed=seed, max_rows=ws_rows)
    return from_component(unit, "systolic_array"), vec, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--fmt", default="int8")
    parser.add_argument("--macs", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dataflows", default="os,ws", help="comma-separated: os, ws")
    parser.add_argument("--ws-rows", type=int, default=None,
                        help="ws: at most this many A rows per weight tile (default 2 x "
                             "rows, the test bench's; a long M keeps the array busier)")
    args = parser.parse_args()
    fmt = parse_int_format(args.fmt)
    sims = ["icarus"] + (["verilator"] if simulator_available("verilator") else [])
    print(f"{args.rows}x{args.cols} {fmt.name} array, verified MACs per second "
          f"(ratio to cocotb per-cycle on Icarus)")
    print("| dataflow | method | simulator | cycles | MACs | run s | wall s | MACs/s | ratio |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    dataflows = args.dataflows.split(",")
    if not set(dataflows) <= {"os", "ws"}:
        parser.error(f"--dataflows takes os and/or ws, got {args.dataflows!r}")
    for dataflow in dataflows:
        baseline = None
        for method, share, run in (("cocotb per cycle", 10, run_vectors),
                                   ("batched testbench", 1, run_batched)):
            t0 = time.perf_counter()
            rtl, vec, macs = vectors_for(dataflow, args.rows, args.cols, fmt,
                                         args.macs // share, args.seed, args.ws_rows)
            golden_s = time.perf_counter() - t0
            for sim in sims:
                t0 = time.perf_counter()
                result = run(rtl, vec, simulator=sim)
                wall = time.perf_counter() - t0
                assert result.failed == 0
                rate = macs / result.seconds
                baseline = baseline or rate
                print(f"| {dataflow} | {method} | {sim} | {len(vec)} | {macs} | "
                      f"{result.seconds:.2f} | {wall:.1f} | {rate:,.0f} | "
                      f"{rate / baseline:.1f} |", flush=True)
            print(f"  (golden vectors for {method}: {golden_s:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
