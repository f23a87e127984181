"""The golden reference of a MAC: a behavioural one-step description, proved by induction.

``acc <= rst ? 0 : valid ? reduce((clear ? 0 : acc) + product) : clear ? 0 : acc``, with
the exact product written with ``*`` and ``<<<`` in ``W + 2`` signed bits and ``reduce``
either ``sum[W-1:0]`` (wrap) or a clamp by signed comparison (saturate) -- not the
hardware's overflow-detection logic. The operand values come from golden, one builder per
format family (``int_operands``, ``dint_operands``, ``ovp_operands``): INT operands are
their codes, a dINT weight's fixed-point value is a case table of
``golden.dint.DIntFormat.fixed_values()``, an OVP element's ``<exp, int>`` a (factored)
case table of ``golden.ovp.decode_exp_int``. With ``pipeline = p`` the reference has
latency ``p + 1``: its inputs wait ``p - 1`` stages, the step's product and control one
more, and the reset clears every stage. Yosys proves by temporal induction (``sat
-tempinduct -set-init-zero -maxsteps p+1``) that ``acc`` agrees on every cycle of every
input sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from quantrtl.formal.reference import Reference, case_table, formatter, int_operand
from quantrtl.golden.dint import DIntFormat
from quantrtl.golden.integer import IntFormat
from quantrtl.golden.ovp import OVPFormat, decode_exp_int

__all__ = ["MacOperands", "mac_reference", "int_operands", "dint_operands", "ovp_operands"]


@dataclass(frozen=True)
class MacOperands:
    """A format's side of a MAC reference: the operand ports (in the order a
    counterexample lists them), whether the accumulator is signed, the Verilog of any
    golden tables, the exact product of the delayed operands ``<port>_x``, how each port is
    shown, and what the values come from."""

    ports: list[str]
    acc_signed: bool
    product: str
    what: str
    tables: str = ""
    kinds: dict[str, str] = field(default_factory=dict)


def int_operands(a: IntFormat, b: IntFormat) -> MacOperands:
    """INT codes on ports ``a`` and ``b``: the product of the codes."""
    return MacOperands(
        ["a", "b"], a.signed or b.signed,
        f"{int_operand('a_x', a.signed)} * {int_operand('b_x', b.signed)}",
        f"{a.name} x {b.name} codes",
        kinds={"a": "signed" if a.signed else "unsigned",
               "b": "signed" if b.signed else "unsigned"})


def dint_operands(fmt: DIntFormat, widths: dict[str, int]) -> MacOperands:
    """A dINT code on ``w`` (its fixed-point value from a golden table) times a signed
    INT ``x``; the accumulator is fixed point with ``fmt.frac_bits`` fractional bits."""
    values = fmt.fixed_values().tolist()
    w_width = max(abs(v) for v in values).bit_length() + 1
    tables = (case_table("w_x", widths["w"], [("w_raw", w_width, values)], True, "w") +
              f"\n  wire signed [{w_width - 1}:0] w_value = w_raw;")
    return MacOperands(["w", "x"], True, "w_value * $signed(x_x)",
                       f"golden.dint fixed-point values of {fmt.name} (x 2^{fmt.frac_bits})",
                       tables, {"w": "hex", "x": "signed", "acc": f"fixed{fmt.frac_bits}"})


def ovp_operands(w_fmt: OVPFormat, a_fmt: OVPFormat | None,
                 widths: dict[str, int]) -> MacOperands:
    """An OVP element ``w`` with its neighbour ``w_nb`` times an OVP element ``a``/``a_nb``
    (or a signed INT ``x`` when ``a_fmt`` is None): ``<exp, int>`` of each from golden
    tables over every (code, neighbour)."""
    sides = [("w", w_fmt)]
    kinds = {}
    if a_fmt is None:
        ports = ["w", "w_nb", "x"]
        kinds["x"] = "signed"
    else:
        ports = ["w", "w_nb", "a", "a_nb"]
        sides.append(("a", a_fmt))
    parts = []
    for side, gfmt in sides:
        bits = widths[side]
        sel = torch.arange(1 << (2 * bits))
        code, nb = sel & ((1 << bits) - 1), sel >> bits
        exp, integer = decode_exp_int(torch.stack([code, nb], -1), gfmt)
        exp, integer = exp[:, 0].tolist(), integer[:, 0].tolist()
        e_w = max(1, max(exp).bit_length())
        i_w = max(abs(v) for v in integer).bit_length() + 1
        parts.append(case_table(f"{{{side}_nb_x, {side}_x}}", 2 * bits,
                                [(f"{side}_exp_raw", e_w, exp),
                                 (f"{side}_int_raw", i_w, integer)], True, side) +
                     f"\n  wire signed [{i_w - 1}:0] {side}_int = {side}_int_raw;"
                     f"\n  wire [7:0] {side}_exp = {side}_exp_raw;")
        kinds.update({side: "hex", f"{side}_nb": "hex"})
    product = ("(w_int * $signed(x_x)) <<< w_exp" if a_fmt is None
               else "(w_int * a_int) <<< (w_exp + a_exp)")
    return MacOperands(ports, True, product, "golden.ovp.decode_exp_int <exp, int> tables",
                       "\n".join(parts), kinds)


def mac_reference(design, operands_of) -> Reference:
    """Behavioural one-step reference of a MAC (module docstring). ``operands_of(widths) ->
    MacOperands`` gives the format's operand values and exact product; ``design.params``
    may hold ``pipeline`` (default 0) and ``overflow`` (default ``wrap``)."""
    p, rtl = design.params, design.rtl
    if not rtl.clocked:
        raise ValueError(f"{design.label}: a MAC reference needs a clocked unit")
    widths = {q.name: q.width for q in rtl.ports}
    width = widths["acc"]
    pipeline = p.get("pipeline", 0)
    overflow = p.get("overflow", "wrap")
    ext = width + 2
    ops = operands_of(widths)
    operands, acc_signed, tables, product, what = (ops.ports, ops.acc_signed, ops.tables,
                                                   ops.product, ops.what)
    kinds: dict[str, str] = {"valid": "unsigned", "clear": "unsigned", "rst": "unsigned",
                             "clk": "unsigned", **ops.kinds}
    kinds.setdefault("acc", "signed" if acc_signed else "unsigned")
    top = f"{rtl.top}_golden"
    ports = ["input wire clk", "input wire rst"]
    for q in rtl.ports:
        if q.name not in ("clk", "rst", "acc"):
            ports.append(f"input wire [{q.width - 1}:0] {q.name}")
    ports.append(f"output reg [{width - 1}:0] acc")
    lines = [f"module {top}(" + ", ".join(ports) + ");"]
    # Latency p + 1: the inputs wait p - 1 stages, the step's product and control one more
    # (the synchronous reset clears every stage, so the steps in flight are lost).
    delayed = [q.name for q in rtl.ports if q.name not in ("clk", "rst", "acc")]
    current = {n: n for n in delayed}
    for stage in range(pipeline - 1):
        for n in delayed:
            reg = f"{n}_d{stage}"
            lines += [f"  reg [{widths[n] - 1}:0] {reg} = 0;",
                      f"  always @(posedge clk) {reg} <= rst ? {widths[n]}'h0 : {current[n]};"]
            current[n] = reg
    lines += [f"  wire [{widths[n] - 1}:0] {n}_x = {current[n]};" for n in delayed]
    if tables:
        lines.append(tables)
    lines.append(f"  wire signed [{ext - 1}:0] product_x = {product};")
    step = {"product": "product_x", "valid": "valid_x", "clear": "clear_x"}
    if pipeline >= 1:
        for n, w in (("product", ext), ("valid", 1), ("clear", 1)):
            lines += [f"  reg {'signed ' if n == 'product' else ''}[{w - 1}:0] {n}_q = 0;",
                      f"  always @(posedge clk) {n}_q <= rst ? {w}'h0 : {step[n]};"]
            step[n] = f"{n}_q"
    acc_ext = int_operand("acc", acc_signed)
    lines += [f"  wire signed [{ext - 1}:0] base = {step['clear']} ? {ext}'sd0 : {acc_ext};",
              f"  wire signed [{ext - 1}:0] sum = base + {step['product']};"]
    if overflow == "wrap":
        lines.append(f"  wire [{width - 1}:0] next = sum[{width - 1}:0];")
    else:
        lo, hi = ((-(1 << (width - 1)), (1 << (width - 1)) - 1) if acc_signed
                  else (0, (1 << width) - 1))

        def lit(v: int) -> str:
            return f"-{ext}'sd{-v}" if v < 0 else f"{ext}'sd{v}"

        lines += [f"  wire signed [{ext - 1}:0] lo = {lit(lo)};",
                  f"  wire signed [{ext - 1}:0] hi = {lit(hi)};",
                  f"  wire [{width - 1}:0] next = sum > hi ? hi[{width - 1}:0] : "
                  f"sum < lo ? lo[{width - 1}:0] : sum[{width - 1}:0];"]
    lines += ["  initial acc = 0;", "  always @(posedge clk)",
              f"    if (rst) acc <= {width}'h0;", f"    else if ({step['valid']}) acc <= next;",
              f"    else if ({step['clear']}) acc <= {width}'h0;", "endmodule", ""]
    method = (f"SAT temporal induction (yosys sat -tempinduct, length {pipeline + 1}) of acc "
              f"against a behavioural step, {overflow}, from {what}")
    script = (f"proc -norom; pmuxtree {top}; opt_clean; "
              f"miter -equiv -flatten -make_outputs {top} {rtl.top} "
              f"miter; hierarchy -top miter; opt -fast; wreduce; opt -fast; dffunmap; opt_clean; "
              f"sat -tempinduct -prove trigger 0 -set-init-zero -maxsteps {pipeline + 1} "
              f"-show-inputs -show-outputs miter")
    ins = [n for n in [*operands, "valid", "clear"] if n in delayed]

    def explain(steps, _text):
        """``from acc=S with <inputs>: reference acc'=R, design acc'=D`` (with a pipeline,
        the inputs of the ``p + 1`` cycles up to the step, oldest first)."""
        last = max(steps)
        fmt = formatter(kinds)
        next_gold = fmt("acc", *steps[last]["gold"]["acc"])
        next_gate = fmt("acc", *steps[last]["gate"]["acc"])
        if last - 1 not in steps:
            return f"initial acc: reference {next_gold}, design {next_gate}"
        before = steps[last - 1]
        state = fmt("acc", *before["gold"]["acc"])
        gate_state = fmt("acc", *before["gate"]["acc"])
        if gate_state != state:
            state = f"{state} (design {gate_state})"

        def inputs(step):
            row = steps[step]["in"]
            return " ".join(f"{n}={fmt(n, *row[n])}" for n in ["rst", *ins] if n in row)

        cycles = [s for s in range(last - 1 - pipeline, last) if s in steps]
        if len(cycles) == 1:
            told = f"with {inputs(cycles[0])}"
        else:
            told = (f"with inputs {len(cycles)} cycles back to 1: " +
                    ", ".join(f"[{inputs(s)}]" for s in cycles))
        return f"from acc={state} {told}: reference acc'={next_gold}, design acc'={next_gate}"

    return Reference(top, "\n".join(lines), method, script, kinds, explain)
