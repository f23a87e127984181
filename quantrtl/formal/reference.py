"""Building blocks of golden reference modules: the reference value, case tables of golden
values, and how a counterexample's bits are shown.

A reference is plain Verilog written from numbers that ``golden/`` computed; nothing here
imports ``hw/``. ``quantrtl.rigor.prover`` puts a reference and a unit in one Yosys miter.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Reference", "case_table", "bits_literal", "signed_value", "formatter",
           "int_operand", "FULL_TABLE_LIMIT", "FACTORED_TABLE_LIMIT"]

FULL_TABLE_LIMIT = 4096      # input codes up to which a table is one flat case statement
FACTORED_TABLE_LIMIT = 8192  # case items per output beyond which we refuse to tabulate


@dataclass(frozen=True)
class Reference:
    """A golden reference module and how to prove a unit equal to it."""

    top: str
    text: str
    method: str
    script: str                     # the Yosys commands after reading both files
    port_kinds: dict[str, str]      # port -> "signed", "unsigned" or "hex" for display
    explain: object                 # (rows by step, output text) -> counterexample string
    cases: int = 1                  # SAT proofs in ``script``: each must succeed
    needs_hierarchy: bool = False   # cuts at submodule instances: no flattened RTL


def bits_literal(value: int, width: int) -> str:
    return f"{width}'h{value % (1 << width):x}"


def case_table(select: str, width: int, outputs: list[tuple[str, int, list[int]]],
               declare: bool, tag: str) -> str:
    """Verilog ``always @*`` blocks that set each ``(name, width, values)`` output to
    ``values[select]`` for every code of the ``width``-bit ``select`` expression.

    Up to ``FULL_TABLE_LIMIT`` codes: one flat case statement for all outputs. Beyond, a
    lossless factoring per output: codes of one half of ``select`` that give the same
    column over the other half share a class; the table is ``case ({class, other half})``.
    A value that does not fit its output (as signed or unsigned ``width`` bits) raises
    ``ValueError``: the widths come from the unit under proof, and truncating golden's
    values to a port too narrow would hide that bug.
    """
    for name, w, values in outputs:
        wrong = [v for v in values if not -(1 << (w - 1)) <= v < 1 << w]
        if wrong:
            raise ValueError(f"the unit's {w}-bit {name} cannot hold golden's value "
                             f"{wrong[0]}: a port too narrow cannot be proved")
    n = 1 << width
    lines = []
    if declare:
        lines += [f"  reg [{w - 1}:0] {name};" for name, w, _ in outputs]
    if n <= FULL_TABLE_LIMIT:
        target = "{" + ", ".join(name for name, _, _ in outputs) + "}"
        total = sum(w for _, w, _ in outputs)
        lines += ["  always @* begin", f"    case ({select})"]
        for code in range(n):
            vals = ", ".join(bits_literal(values[code], w) for _, w, values in outputs)
            lines.append(f"      {bits_literal(code, width)}: {target} = {{{vals}}};")
        lines += [f"      default: {target} = {total}'h0;", "    endcase", "  end"]
        return "\n".join(lines)
    lo_bits = width // 2
    hi_bits = width - lo_bits
    lines.append(f"  wire [{width - 1}:0] {tag}_sel = {select};")
    for name, w, values in outputs:
        best = None
        for key_hi in (True, False):  # classify the high half (columns over the low) or v.v.
            k_bits, o_bits = (hi_bits, lo_bits) if key_hi else (lo_bits, hi_bits)
            classes: dict[tuple, int] = {}
            of_key = []
            for k in range(1 << k_bits):
                col = tuple(values[(k << lo_bits | o) if key_hi else (o << lo_bits | k)]
                            for o in range(1 << o_bits))
                of_key.append(classes.setdefault(col, len(classes)))
            if best is None or len(classes) << o_bits < len(best[2]) << best[1][1]:
                best = (key_hi, (k_bits, o_bits), list(classes), of_key)
        key_hi, (k_bits, o_bits), columns, of_key = best
        if len(columns) << o_bits > FACTORED_TABLE_LIMIT:
            raise ValueError(f"{name}: {len(columns)} x {1 << o_bits} table entries are too "
                             f"many to tabulate for a proof")
        key = f"{tag}_sel[{width - 1}:{lo_bits}]" if key_hi else f"{tag}_sel[{lo_bits - 1}:0]"
        other = f"{tag}_sel[{lo_bits - 1}:0]" if key_hi else f"{tag}_sel[{width - 1}:{lo_bits}]"
        c_bits = max(1, (len(columns) - 1).bit_length())
        cls = f"{tag}_{name}_class"
        counts = [of_key.count(c) for c in range(len(columns))]
        common = counts.index(max(counts))
        lines += [f"  reg [{c_bits - 1}:0] {cls};", "  always @* begin", f"    case ({key})"]
        for c in range(len(columns)):
            if c != common:
                keys = ", ".join(bits_literal(k, k_bits) for k in range(1 << k_bits)
                                 if of_key[k] == c)
                lines.append(f"      {keys}: {cls} = {bits_literal(c, c_bits)};")
        lines += [f"      default: {cls} = {bits_literal(common, c_bits)};", "    endcase", "  end",
                  "  always @* begin", f"    case ({{{cls}, {other}}})"]
        for c, col in enumerate(columns):
            for o, value in enumerate(col):
                lines.append(f"      {bits_literal(c << o_bits | o, c_bits + o_bits)}: "
                             f"{name} = {bits_literal(value, w)};")
        lines += [f"      default: {name} = {w}'h0;", "    endcase", "  end"]
    return "\n".join(lines)


def int_operand(name: str, signed: bool) -> str:
    return f"$signed({name})" if signed else f"$signed({{1'b0, {name}}})"


def signed_value(bits: int, width: int) -> int:
    return bits - (1 << width) if width and bits >> (width - 1) & 1 else bits


def formatter(kinds: dict[str, str]):
    def fmt(name: str, bits: int, width: int) -> str:
        kind = kinds.get(name, "unsigned")
        if kind == "signed":
            return str(signed_value(bits, width))
        if kind.startswith("fixed"):  # fixed point: the raw value and what it stands for
            value = signed_value(bits, width)
            return f"{value} (= {Decimal(value) / (1 << int(kind[5:]))})"
        if kind == "hex":
            return f"0x{bits:0{(width + 3) // 4}x}"
        return str(bits)
    return fmt
