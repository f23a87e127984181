"""The table-lookup ternary dot unit ``ternary-lut`` (``hw.ternary_lut.TernaryLUTDot``):
``n`` columns each add the dot product of ``g`` signed activations and a base-3 index of
``g`` ternary weights per cycle, checked against ``golden.ternary.group_trace``."""

from __future__ import annotations

from dataclasses import replace

import torch

from quantrtl.designs.registry import register, register_report
from quantrtl.designs.spec import DesignSpec, Param, ReportRow
from quantrtl.formal.mac import MacOperands, mac_reference
from quantrtl.formal.reference import Reference, case_table
from quantrtl.golden import ternary
from quantrtl.golden.arith import OVERFLOW_MODES
from quantrtl.golden.integer import parse_int_format
from quantrtl.hw.rtl import RTL, from_component
from quantrtl.hw.ternary_lut import TernaryLUTDot, index_width
from quantrtl.sim.gemm import pack_lanes, split_lanes
from quantrtl.sim.vectors import biased_choice, check_request, mac_stream_vectors

__all__: list[str] = []

EXHAUSTIVE_BITS = 12  # input bits (g * x width + n * index width) verified exhaustively


def _rows(fx, g: int, n: int, mode: str, count: int, seed: int):
    """Tables of activation rows ``[X, g]`` and index rows ``[W, n]`` whose row numbers are
    the two operand codes of ``mac_stream_vectors``, and each table's two extreme rows:
    every row (exhaustive), or ``count`` seeded rows, 30 % of their lanes at an extreme,
    then the extreme rows (random). The extremes are activations all at the minimum / all
    at the maximum and weights all -1 / all +1 (index 0 / 3^g - 1)."""
    b = index_width(g)
    x_ext = torch.tensor([[fx.qmin] * g, [fx.qmax] * g])
    w_ext = torch.tensor([[0] * n, [3 ** g - 1] * n])
    if mode == "exhaustive":
        x = split_lanes(torch.arange(1 << (g * fx.bits)), fx.bits, g)
        w = split_lanes(torch.arange(1 << (n * b)), b, n, signed=False)
        ext = lambda rows, e: torch.cat([(rows == r).all(-1).nonzero()[0] for r in e])  # noqa: E731
        return x, w, ext(x, x_ext), ext(w, w_ext)
    gen = torch.Generator().manual_seed(seed)
    x = biased_choice(fx.codes(), torch.tensor([fx.qmin, fx.qmax]), count * g, gen)
    w = biased_choice(torch.arange(1 << b), w_ext[:, 0], count * n, gen)
    x = torch.cat([x.reshape(count, g), x_ext])
    w = torch.cat([w.reshape(count, n), w_ext])
    return x, w, torch.tensor([count, count + 1]), torch.tensor([count, count + 1])


def _make(p: dict):
    fx = parse_int_format(p["x"])
    if not fx.signed:
        raise ValueError(f"ternary-lut activations must be signed intN, got {fx.name}")
    g, n, acc = p["g"], p["n"], p["acc"]
    unit = TernaryLUTDot(group=g, columns=n, x_width=fx.bits, acc_width=acc,
                         pipeline=p["pipeline"], overflow=p["overflow"])
    inputs = g * fx.bits + n * index_width(g)
    refusal = (None if inputs <= EXHAUSTIVE_BITS else
               f"exhaustive vectors need g * x bits + n * index bits <= {EXHAUSTIVE_BITS} "
               f"(this is {inputs}); use random")

    def vectors(mode, count, seed):
        check_request(mode, count, refusal)
        x, w, x_ext, w_ext = _rows(fx, g, n, mode, count, seed)
        last = {}

        def trace(a, b, valid, clear):
            # the accumulators of every column; mac_stream_vectors sees column 0 (the
            # extreme rows give every column the same sum)
            last["acc"] = ternary.group_trace(x[a], w[b], valid, clear, acc_width=acc,
                                              overflow=p["overflow"])
            return last["acc"][:, 0]

        v = mac_stream_vectors(torch.arange(len(x)), torch.arange(len(w)), trace,
                               a_extremes=x_ext, b_extremes=w_ext, names=("x", "w"),
                               latency=unit.latency, mode=mode, count=count, seed=seed,
                               acc_width=acc)
        stim = dict(v.stimulus)
        stim["x"] = [pack_lanes(x[r].tolist(), fx.bits) for r in stim["x"]]
        stim["w"] = [pack_lanes(w[r].tolist(), index_width(g)) for r in stim["w"]]
        return replace(v, stimulus=stim, signed_outputs={"acc": False},
                       expected={"acc": [pack_lanes(row, acc) for row in last["acc"].tolist()]})

    return from_component(unit, "ternary_lut"), vectors, refusal is None


def _column(value: tuple[int, int], j: int, n: int) -> tuple[int, int]:
    """Column ``j`` of a packed ``(bits, width)`` port of ``n`` equal columns."""
    bits, width = value
    w = width // n
    return bits >> (j * w) & ((1 << w) - 1), w


def _reference(design):
    """``hw.mac``'s MAC reference of one column, with the product ``sum_i w_i * x_i`` and
    ``w_i`` from a case table of ``golden.ternary.group_values`` over every index; for
    ``n > 1`` a top module runs ``n`` of them on the slices of ``w`` and ``acc``."""
    p, rtl = design.params, design.rtl
    g, n, xw = p["g"], p["n"], parse_int_format(p["x"]).bits

    def operands(widths):
        b = widths["w"]
        values = ternary.group_values(torch.arange(1 << b), g)
        tables = case_table("w_x", b, [(f"w{i}_raw", 2, values[:, i].tolist())
                                       for i in range(g)], True, "w")
        tables += "".join(f"\n  wire signed [1:0] w{i}_value = w{i}_raw;" for i in range(g))
        product = " + ".join(f"w{i}_value * $signed(x_x[{xw * (i + 1) - 1}:{xw * i}])"
                             for i in range(g))
        return MacOperands(["w", "x"], True, product,
                           f"golden.ternary.group_values of the {b}-bit index x {g} INT codes",
                           tables, {"w": "unsigned", "x": "hex"})
    if n == 1:
        return mac_reference(design, operands)
    widths = {q.name: q.width for q in rtl.ports}
    b, aw = widths["w"] // n, widths["acc"] // n
    # the reference of a one-column unit with the same ports (its body is never read)
    view = RTL(f"{rtl.top}_column", "\n".join([
        f"module {rtl.top}_column(clk, rst, x, w, valid, clear, acc);",
        "  input clk;", "  input rst;", f"  input [{widths['x'] - 1}:0] x;",
        f"  input [{b - 1}:0] w;", "  input valid;", "  input clear;",
        f"  output [{aw - 1}:0] acc;", "endmodule", ""]))
    col = mac_reference(replace(design, rtl=view), operands)
    top = f"{rtl.top}_golden"
    lines = [f"module {top}(input wire clk, input wire rst, "
             f"input wire [{widths['x'] - 1}:0] x, input wire [{n * b - 1}:0] w, "
             f"input wire valid, input wire clear, output wire [{n * aw - 1}:0] acc);"]
    lines += [f"  {col.top} column{j}(.clk(clk), .rst(rst), .x(x), "
              f".w(w[{b * (j + 1) - 1}:{b * j}]), .valid(valid), .clear(clear), "
              f".acc(acc[{aw * (j + 1) - 1}:{aw * j}]));" for j in range(n)]
    lines += ["endmodule", ""]
    pair = f"{col.top} {view.top}"
    if pair not in col.script:
        raise ValueError(f"the MAC reference's script does not name {pair}")

    def explain(steps, text):
        """The first column whose accumulators differ, told as one column's MAC."""
        last = steps[max(steps)] if steps else {}
        for j in range(n):
            if "acc" in last.get("gold", {}) and \
                    _column(last["gold"]["acc"], j, n) != _column(last["gate"]["acc"], j, n):
                cut = {s: {kind: {port: _column(v, j, n) if port in ("w", "acc") else v
                                  for port, v in row.items()}
                           for kind, row in rows.items()} for s, rows in steps.items()}
                return f"column {j}: {col.explain(cut, text)}"
        return None

    return Reference(top, col.text + "\n".join(lines), col.method + f", {n} columns",
                     col.script.replace(pair, f"{top} {rtl.top}"), col.port_kinds, explain)


register(DesignSpec(
    "ternary-lut", "table-lookup ternary dot (hw.ternary_lut.TernaryLUTDot): n columns, each "
    "a base-3 index of g weights selecting a sum of g signed INT activations, latency "
    "pipeline+1", (
        Param("g", "int", 2, "weights per group (one base-3 index), 2..4"),
        Param("n", "int", 1, "output columns sharing the table, 1..16"),
        Param("x", "format", "int8", "activation format: intN, N = 2..8"),
        Param("acc", "int", 24, "accumulator width in bits per column (at least one group "
              "sum's signed width)"),
        Param("pipeline", "int", 0, "register stages before the accumulators, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
    ), _make, reference=_reference,
    lint=((), ("g=3", "n=4", "x=int4", "acc=16", "overflow=saturate"),
          ("g=4", "n=2", "pipeline=2"), ("g=2", "n=16", "pipeline=1")),
    # SAT on the shared 2-core machine: 1-7 s, g=4 15 s (g=3 n=3 INT8 pipeline=2: 84 s;
    # g=2 n=16 INT8: over 10 minutes, verified by simulation)
    prove=(("x=int4", "acc=8", "overflow=saturate", "pipeline=1"), (), ("g=3", "pipeline=1"),
           ("g=4", "x=int4", "acc=12", "overflow=saturate"),
           ("g=3", "x=int2", "acc=5", "overflow=saturate", "pipeline=1"),
           ("n=2", "x=int2", "acc=4", "pipeline=1"),
           ("n=2", "x=int4", "acc=8", "overflow=saturate", "pipeline=1"),
           ("g=3", "n=2", "x=int4", "acc=10", "pipeline=1")),
    # 40 mutants each, exhaustive vectors, all 100 %: g=2 38 killed, 2 equivalent (79 s);
    # g=3 36 killed, 4 equivalent (39 s); n=2 38 killed, 2 equivalent (48 s)
    rigor=(("x=int4", "acc=8", "overflow=saturate", "pipeline=1"),
           ("g=3", "x=int2", "acc=5", "overflow=saturate", "pipeline=1"),
           ("n=2", "x=int2", "acc=4", "pipeline=1"))))

# 32 MACs per cycle against one ternary MAC of the same activations and accumulator: the
# row's LUTs / 32 are its LUTs per MAC (docs/ternary_lut.md)
register_report(ReportRow("Ternary LUT dot g=2 n=16 (32 MACs)", "ternary-lut",
                          {"g": 2, "n": 16, "x": "int8", "acc": 24}, "TernaryxINT8 MAC"))
