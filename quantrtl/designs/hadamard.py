"""The Hadamard transform unit ``fwht`` (``hw.fwht.FWHT``): the exact Sylvester
Walsh–Hadamard transform of one vector of ``n`` signed integers per cycle, checked against
``golden.hadamard.transform``; its proof reference is the matrix form of golden's
``hadamard_matrix``."""

from __future__ import annotations

import torch

from quantrtl.designs.registry import register
from quantrtl.designs.spec import DesignSpec, Param
from quantrtl.formal.reference import Reference, signed_value
from quantrtl.golden import hadamard
from quantrtl.hw.fwht import FWHT
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm import pack_lanes
from quantrtl.sim.vectors import MODES, Vectors

__all__ = ["EXHAUSTIVE_BITS", "fwht_inputs", "unpack_lanes"]

EXHAUSTIVE_BITS = 16  # input bits (n * width) up to which every input vector is verified


def unpack_lanes(word: int, width: int, n: int) -> list[int]:
    """The ``n`` two's complement ``width``-bit lanes of a packed word (lane 0 lowest)."""
    return [signed_value(word >> (width * i) & ((1 << width) - 1), width) for i in range(n)]


def fwht_inputs(n: int, width: int, mode: str, count: int, seed: int) -> torch.Tensor:
    """Input vectors ``[T, n]`` (int64) for ``fwht``.

    * exhaustive: every vector of ``n`` ``width``-bit lanes (``n * width <=
      EXHAUSTIVE_BITS``), in order of their packed code.
    * random: ``count`` seeded vectors, 30 % of the lanes at an extreme (min or max), a
      tenth of the vectors all-min, all-max or all-zero.

    Both end with the sign patterns of every Hadamard row (golden's matrix): ``x_j`` min
    where ``H[i, j] = 1`` and max elsewhere, and the reverse, so that every output lane
    reaches its largest magnitude of either sign."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    gen = torch.Generator().manual_seed(seed)
    if mode == "exhaustive":
        bits = n * width
        if bits > EXHAUSTIVE_BITS:
            raise ValueError(f"exhaustive vectors need n * width <= {EXHAUSTIVE_BITS} input "
                             f"bits (this is {n} x {width} = {bits})")
        codes = torch.arange(1 << bits, dtype=torch.int64)
        lanes = (codes[:, None] >> (width * torch.arange(n))) & ((1 << width) - 1)
        x = torch.where(lanes > hi, lanes - (1 << width), lanes)
    elif mode == "random":
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"random vectors need a positive count, got {count!r}")
        x = torch.randint(lo, hi + 1, (count, n), generator=gen)
        extreme = torch.where(torch.rand(count, n, generator=gen) < 0.5, lo, hi)
        x = torch.where(torch.rand(count, n, generator=gen) < 0.3, extreme, x)
        whole = torch.rand(count, generator=gen)
        x[whole < 0.03] = lo
        x[(whole >= 0.03) & (whole < 0.06)] = hi
        x[(whole >= 0.06) & (whole < 0.1)] = 0
    else:
        raise ValueError(f"unknown vector mode {mode!r} (choose from {', '.join(MODES)})")
    plus = hadamard.hadamard_matrix(n) > 0
    patterns = torch.cat([torch.where(plus, lo, hi), torch.where(plus, hi, lo)])
    return torch.cat([x, patterns])


def _make_fwht(p: dict):
    unit = FWHT(n=p["n"], width=p["width"], pipeline=p["pipeline"])
    p["pipeline"] = unit.latency  # the default, one register per stage, made explicit
    n, width, out_width, latency = unit.n, p["width"], unit.out_width, unit.latency
    exhaustive_ok = n * width <= EXHAUSTIVE_BITS

    def vectors(mode, count, seed):
        x = fwht_inputs(n, width, mode, count, seed)
        y = hadamard.transform(x)
        t = len(x)
        gen = torch.Generator().manual_seed(seed + 1)
        valid = (torch.rand(t, generator=gen) < 0.8).int().tolist()
        stim = {"x": [pack_lanes(v, width) for v in x.tolist()], "valid": valid}
        expected = {"y": [pack_lanes(v, out_width) for v in y.tolist()],
                    "valid_out": list(valid)}
        idle = {"x": 0, "valid": 0}
        if latency:
            # one synchronous reset in the second half: the vectors in flight at its edge
            # (r - latency + 1 .. r) are lost and y, valid_out read 0 for them
            r = int(torch.randint(t // 2, t, (1,), generator=gen))
            stim["rst"] = [int(u == r) for u in range(t)]
            idle["rst"] = 0
            for u in range(max(0, r - latency + 1), r + 1):
                expected["y"][u] = expected["valid_out"][u] = 0
        return Vectors(stim, expected, {"y": False, "valid_out": False}, latency, idle, seed,
                       mode)

    return from_component(unit, "fwht"), vectors, exhaustive_ok


def _reference(design) -> Reference:
    """The matrix form from golden: ``y_i = sum_j H[i, j] x_j`` with ``H`` golden's
    ``hadamard_matrix``, each lane one Verilog sum of ``+x_j`` / ``-x_j`` in ``out_width``
    signed bits (added pairwise in lane order), ``valid_out = valid``; with ``pipeline =
    p`` every output waits ``p`` registers that the reset clears. Combinational SAT
    (``p = 0``), else temporal induction of length ``p + 1``."""
    p, rtl = design.params, design.rtl
    n, width, pipeline = p["n"], p["width"], p["pipeline"]
    ow = hadamard.output_bits(width, n)
    h = hadamard.hadamard_matrix(n).tolist()
    top = f"{rtl.top}_golden"
    ports = [f"input wire [{n * width - 1}:0] x", "input wire valid",
             f"output wire [{n * ow - 1}:0] y", "output wire valid_out"]
    if pipeline:
        ports = ["input wire clk", "input wire rst", *ports]
    lines = [f"module {top}(" + ", ".join(ports) + ");"]
    for j in range(n):
        lines.append(f"  wire signed [{ow - 1}:0] x{j} = "
                     f"$signed(x[{width * (j + 1) - 1}:{width * j}]);")
    for i in range(n):
        # sum_j H[i, j] x_j, added pairwise in lane order (a balanced tree of (sign, term)
        # pairs: a term of the other sign is subtracted). The true sum fits out_width bits,
        # so this order gives the matrix form's value exactly; it keeps SAT to seconds.
        terms = [(h[i][j], f"x{j}") for j in range(n)]
        while len(terms) > 1:
            terms = [(sa, f"({a} {'+' if sa == sb else '-'} {b})")
                     for (sa, a), (sb, b) in zip(terms[::2], terms[1::2])]
        sign, total = terms[0]
        lines.append(f"  wire signed [{ow - 1}:0] y{i} = {'' if sign > 0 else '-'}{total};")
    current = ("{" + ", ".join(f"y{i}" for i in reversed(range(n))) + "}", "valid")
    for stage in range(pipeline):
        regs = (f"y_q{stage}", f"v_q{stage}")
        lines += [f"  reg [{n * ow - 1}:0] {regs[0]} = 0;", f"  reg {regs[1]} = 0;",
                  f"  always @(posedge clk) {regs[0]} <= rst ? {n * ow}'h0 : {current[0]};",
                  f"  always @(posedge clk) {regs[1]} <= rst ? 1'h0 : {current[1]};"]
        current = regs
    lines += [f"  assign y = {current[0]};", f"  assign valid_out = {current[1]};",
              "endmodule", ""]
    what = f"golden.hadamard.hadamard_matrix({n}) on {width}-bit signed lanes"
    if pipeline:
        method = (f"SAT temporal induction (yosys sat -tempinduct, length {pipeline + 1}) "
                  f"against the matrix form of {what}")
        script = (f"proc -norom; opt_clean; "
                  f"miter -equiv -flatten -make_outputs {top} {rtl.top} miter; "
                  f"hierarchy -top miter; opt -fast; wreduce; opt -fast; dffunmap; "
                  f"opt_clean; sat -tempinduct -prove trigger 0 -set-init-zero "
                  f"-maxsteps {pipeline + 1} -show-inputs -show-outputs miter")
    else:
        method = f"SAT (yosys miter + sat -prove) against the matrix form of {what}"
        script = (f"proc -norom; opt_clean; "
                  f"miter -equiv -flatten -make_outputs {top} {rtl.top} miter; "
                  f"hierarchy -top miter; opt -fast; "
                  f"sat -prove trigger 0 -show-inputs -show-outputs miter")
    kinds = {"x": "hex", "y": "hex"}

    def explain(steps, _text):
        row = steps[max(steps)]
        if "gold" not in row or "gate" not in row or "x" not in row.get("in", {}):
            return None
        text = f"x = {unpack_lanes(row['in']['x'][0], width, n)}"
        for name in ("y", "valid_out"):
            if name in row["gold"] and name in row["gate"]:
                gold, gate = row["gold"][name][0], row["gate"][name][0]
                if name == "y":
                    gold, gate = unpack_lanes(gold, ow, n), unpack_lanes(gate, ow, n)
                text += f"; {name}: golden {gold}, unit {gate}"
        return text

    return Reference(top, "\n".join(lines), method, script, kinds, explain)


register(DesignSpec(
    "fwht", "streaming Walsh–Hadamard transform (hw.fwht.FWHT): one vector of n signed "
    "lanes per cycle, exact y = H x (width + log2 n bits), latency pipeline", (
        Param("n", "int", 16, "transform length, a power of two in 2..64"),
        Param("width", "int", 8, "input lane width in bits (signed), 2..16"),
        Param("pipeline", "int", None, "register stages, 0..log2 n (unset: log2 n, one "
              "after every butterfly stage)"),
    ), _make_fwht, reference=_reference,
    lint=((), ("n=4", "width=3", "pipeline=0"), ("n=64", "pipeline=3"),
          ("n=2", "width=16", "pipeline=1"), ("n=32", "width=4", "pipeline=2"),
          ("n=4", "width=3", "pipeline=2")),
    # SAT on a loaded 2-core machine: n=4 and n=8 in 1-6 s, n=16 11 s (45 s pipelined),
    # n=32 about 2 minutes (larger n are verified by simulation)
    prove=(("n=4", "pipeline=0"), ("n=4",), ("n=8", "pipeline=0"), ("n=8", "pipeline=1"),
           ("n=4", "width=16", "pipeline=1"), ("n=2", "width=16")),
    rigor=(("n=4", "width=3", "pipeline=0"), ("n=4", "width=3", "pipeline=2"))))

