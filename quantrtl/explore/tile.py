"""One real tile of a real layer under the plan, through the generated systolic array.

The tile: the first ``rows`` captured input tokens of the layer (its FP32 activations from
the sentences) and its first ``cols`` output channels, over the layer's whole reduction
length ``K``, quantized exactly as the plan's pair does it in the model (the same weight
codes, the same calibrated activation scale). Its lanes (``FormatPair.lanes``) stream into
an output-stationary ``systolic-array`` of ``rows x cols`` cells of the pair's PE type with
``max_k`` = the tile's steps, simulated with the vectors preloaded into a generated
testbench (``sim.harness.run_batched``, Verilator by default): every result lane is checked
bit for bit against the golden operand kind's product. Before that, the golden product is
checked against the explore model's own integer product, ``acc_scale * Q(X) Q(W)^T`` in
LSB units, so the hardware computes exactly what the accuracy figures assumed.
"""

from __future__ import annotations

import time

import torch

from quantrtl.base.errors import VerificationError
from quantrtl.designs import FormatPair, array_pe, build
from quantrtl.golden import arith
from quantrtl.sim.gemm import mode_width, pack_fields, pack_lanes
from quantrtl.sim.harness import run_batched
from quantrtl.sim.vectors import Vectors

__all__ = ["tile_vectors", "run_tile"]


def tile_vectors(kind, a: torch.Tensor, b: torch.Tensor, acc_width: int) -> Vectors:
    """Stimulus and expected outputs of one ``A [R, K] x B [K, C]`` tile through
    ``hw.array.OutputStationaryArray`` (``R x C`` cells, pipeline 0): ``K`` transfers on
    ``i`` (A column, B row, mode 0, ``last`` on the final one), then row ``r`` of the result
    on ``o`` ``C - 1 + r`` cycles after ``last`` (the array's documented latency)."""
    rows, k = a.shape
    cols = b.shape[1]
    mw = mode_width(kind)
    valid, payload = [], []
    for step in range(k):
        valid.append(1)
        payload.append(pack_fields([
            (pack_lanes(a[:, step].tolist(), kind.a_width), rows * kind.a_width),
            (pack_lanes(b[step].tolist(), kind.b_width), cols * kind.b_width),
            (0, mw), (int(step == k - 1), 1)]))
    result = arith.wrap(kind.product(a, b, kind.modes[0]), acc_width, kind.acc_signed)
    n = k + cols + rows
    valid += [0] * (n - k)
    payload += [0] * (n - k)
    o_valid, o_payload = [0] * n, [None] * n
    row_bits = max(1, (rows - 1).bit_length())
    for r in range(rows):
        t = k - 1 + cols - 1 + r
        o_valid[t] = 1
        o_payload[t] = pack_fields([
            (pack_lanes(result[r].tolist(), acc_width), cols * acc_width), (r, row_bits)])
    return Vectors(stimulus={"i__valid": valid, "i__payload": payload},
                   expected={"o__valid": o_valid, "o__payload": o_payload},
                   signed_outputs={"o__valid": False, "o__payload": False},
                   latency=1, idle={"i__valid": 0, "i__payload": 0}, seed=0, mode="random")


def run_tile(layer: str, pair: FormatPair, quantizer, rows: int, cols: int,
             simulator: str = "verilator") -> dict:
    """Simulate the tile of ``layer`` under ``pair``; ``VerificationError`` if the array or
    the golden product disagrees. Returns its record (shape, MACs, times, log)."""
    w_values, _, w_codes = quantizer.weights(layer, pair)
    x = quantizer.captured[layer]
    q = quantizer.layer(layer, pair)
    if x.shape[0] < rows or w_codes.shape[0] < cols:
        raise ValueError(f"tile {rows}x{cols} does not fit layer {layer} "
                         f"({x.shape[0]} tokens, {w_codes.shape[0]} outputs)")
    x_values, x_codes = pair.quantize_acts(x[:rows].to(torch.float64), q.a_scale)
    a, b = pair.lanes(x_codes, w_codes[:cols])
    k_steps = int(a.shape[1])
    params = {**dict(pair.array), "rows": rows, "cols": cols, "dataflow": "os",
              "max_k": k_steps}
    design = build("systolic-array", params)
    _, kind = array_pe(params)
    exact = kind.product(a, b, kind.modes[0])
    model = (x_values @ w_values[:cols].T) * pair.acc_scale
    if not torch.equal(exact.to(torch.float64), model):
        raise VerificationError(f"{pair.name}: the golden array product of the {layer} tile "
                                f"differs from the explore model's quantized product")
    ports = {p.name: p.width for p in design.rtl.ports}
    acc_width = (ports["o__payload"] - max(1, (rows - 1).bit_length())) // cols
    vectors = tile_vectors(kind, a, b, acc_width)
    started = time.perf_counter()
    result = run_batched(design.rtl, vectors, simulator=simulator)
    wall = time.perf_counter() - started
    reduction = int(x.shape[1])
    return {"layer": layer, "pair": pair.name, "array": design.label, "rows": rows,
            "cols": cols, "reduction": reduction, "steps": k_steps,
            "macs": rows * cols * reduction, "acc_width": acc_width,
            "cycles": len(vectors), "simulator": result.simulator, "bit_exact": True,
            "timing": {"simulator_seconds": round(result.seconds, 2),
                       "wall_seconds": round(wall, 2), "log": str(result.log)}}
