"""The golden reference of an array cell (``array-pe``): a behavioural step from golden.

Products are written with ``*`` and ``<<<`` of operands that are the lanes' bit fields
(INT, and the mixed lanes with ``golden.mixed.FIELDS``) or a case table of a golden decoder
(a dINT weight's fixed-point value from ``golden.dint.DIntFormat.fixed_values``). One
``*_terms`` builder per PE type; the OVP cells are proved compositionally
(``quantrtl.formal.ovp_cell``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quantrtl.formal.reference import Reference, case_table, signed_value
from quantrtl.golden import mixed

__all__ = ["StepTerms", "step_reference", "int_terms", "mixed_terms", "dint_terms"]


@dataclass(frozen=True)
class StepTerms:
    """Each mode's exact step expression over the ports ``a``/``b``, what the values come
    from, Verilog of golden tables the terms use, and ``describe(a, b, mode)`` naming an
    input's elements for a counterexample."""

    terms: dict[str, str]
    what: str
    tables: str = ""
    describe: Callable[[int, int, str], str] | None = None


def field_operand(side: str, offset: int, width: int, signed: bool = True) -> str:
    """The bit field ``side[offset + width - 1:offset]`` as a signed Verilog operand."""
    field = f"{side}[{offset + width - 1}:{offset}]"
    return f"$signed({field})" if signed else f"$signed({{1'b0, {field}}})"


def nibbles(side: str, offset: int, width: int) -> list[tuple[str, int]]:
    """A signed field as ``(operand, shift)`` terms: an 8-bit field ``x`` as ``16 * x[7:4]
    (signed) + x[3:0] (unsigned)``, an identity that lets SAT compare 4-bit products
    instead of an 8 x 8 multiplier with the hardware's own structure."""
    if width != 8:
        return [(field_operand(side, offset, width), 0)]
    return [(field_operand(side, offset + 4, 4), 4),
            (field_operand(side, offset, 4, signed=False), 0)]


def _product(x_terms, y_terms) -> str:
    return " + ".join(f"(({x} * {y}) <<< ({sx + sy}))" for x, sx in x_terms for y, sy in y_terms)


def int_terms(kind, widths: dict[str, int]) -> StepTerms:
    """``pe=int``: the product of the two INT codes."""
    a_op = field_operand("a", 0, kind.a_width, kind.fa.signed)
    b_op = field_operand("b", 0, kind.b_width, kind.fb.signed)
    return StepTerms({mode: f"{a_op} * {b_op}" for mode in kind.modes}, "the integer codes")


def mixed_terms(kind, widths: dict[str, int]) -> StepTerms:
    """``pe=mixed``: per mode, the sum of the products of the lanes' signed fields."""
    terms = {mode: " + ".join(_product(nibbles("a", *fa), nibbles("b", *fb))
                              for fa, fb in zip(mixed.FIELDS["a"][mode],
                                                mixed.FIELDS["b"][mode]))
             for mode in kind.modes}

    def describe(a: int, b: int, mode: str) -> str:
        return (f"a elements {mixed.unpack(a, 'a', mode).tolist()}, b elements "
                f"{mixed.unpack(b, 'b', mode).tolist()}")

    return StepTerms(terms, "integer fields of the lanes (golden.mixed.FIELDS)",
                     describe=describe)


def dint_terms(kind, widths: dict[str, int]) -> StepTerms:
    """``pe=dint``: a golden table of the weight's fixed-point value times the INT
    activation."""
    values = kind.fw.fixed_values().tolist()
    w_width = max(abs(v) for v in values).bit_length() + 1
    table = (case_table("b", widths["b"], [("b_raw", w_width, values)], True, "b") +
             f"\n  wire signed [{w_width - 1}:0] b_value = b_raw;")
    return StepTerms({kind.modes[0]: f"b_value * {field_operand('a', 0, kind.fx.bits)}"},
                     f"golden.dint fixed-point values of {kind.fw.name}", table)


def step_reference(design, kind, terms_of) -> Reference:
    """A behavioural description of an array cell's step (``array-pe``) from golden, for
    the golden operand kind ``kind`` (``sim.gemm``): ``terms_of(kind, widths) ->
    StepTerms`` writes each mode's exact step. Mode indices that name no mode are excluded
    by an ``assume``."""
    rtl = design.rtl
    widths = {q.name: q.width for q in rtl.ports}
    sw = widths["step"]
    ext = sw + 2
    modes = kind.modes
    top = f"{rtl.top}_golden"
    ports = [f"input wire [{widths['a'] - 1}:0] a", f"input wire [{widths['b'] - 1}:0] b"]
    if "mode" in widths:
        ports.append(f"input wire [{widths['mode'] - 1}:0] mode")
    ports.append(f"output wire [{sw - 1}:0] step")
    lines = [f"module {top}(" + ", ".join(ports) + ");"]

    cell = terms_of(kind, widths)
    terms, what = cell.terms, cell.what
    if cell.tables:
        lines.append(cell.tables)
    for n, mode in enumerate(modes):
        lines.append(f"  wire signed [{ext - 1}:0] step_{n} = {terms[mode]};")
    if len(modes) == 1:
        lines.append(f"  assign step = step_0[{sw - 1}:0];")
    else:
        mw = widths["mode"]
        pick = " : ".join(f"mode == {mw}'d{n} ? step_{n}" for n in range(1, len(modes)))
        lines += [f"  wire signed [{ext - 1}:0] picked = {pick} : step_0;",
                  f"  assign step = picked[{sw - 1}:0];",
                  f"  always @* assume(mode < {mw}'d{len(modes)});"]
    lines += ["endmodule", ""]
    method = (f"SAT (yosys miter + sat -prove) of the step, every input"
              f"{' and mode' if len(modes) > 1 else ''}, against a behavioural "
              f"`*`/`<<<` reference from {what}")
    sat = "sat -prove trigger 0 -set-assumes -show-inputs -show-outputs"
    script = (f"proc -norom; chformal -lower; pmuxtree {top}; opt_clean; "
              f"miter -equiv -flatten -make_outputs {top} {rtl.top} miter; "
              f"hierarchy -top miter; opt -fast; {sat} miter")

    def explain(steps, _text):
        row = steps[max(steps)]
        if "a" not in row.get("in", {}) or "step" not in row.get("gold", {}):
            return None
        a, b = row["in"]["a"][0], row["in"]["b"][0]
        index = row["in"]["mode"][0] if "mode" in row["in"] else 0
        mode = modes[index] if index < len(modes) else f"#{index}"
        text = (f"a=0x{a:0{(widths['a'] + 3) // 4}x} b=0x{b:0{(widths['b'] + 3) // 4}x} "
                f"mode {mode}")
        if index < len(modes) and cell.describe is not None:
            text += f" ({cell.describe(a, b, mode)})"
        gold = row["gold"]["step"]
        gate = row["gate"]["step"]
        signed = kind.acc_signed
        show = (lambda v: signed_value(*v)) if signed else (lambda v: v[0])
        return f"{text}: golden step {show(gold)}, unit step {show(gate)}"

    return Reference(top, "\n".join(lines), method, script, {"a": "hex", "b": "hex"},
                     explain)

