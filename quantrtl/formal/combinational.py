"""The golden reference of a combinational unit: a case table over every input code."""

from __future__ import annotations

import re

from quantrtl.formal.reference import FULL_TABLE_LIMIT, Reference, case_table, signed_value

__all__ = ["combinational_reference"]


def combinational_reference(design, describe=None) -> Reference:
    """A case table of the golden outputs over EVERY input code of a one-input
    combinational unit (``design.vectors("exhaustive")``), and the SAT script that proves
    the unit equal to it. ``describe(code) -> str`` names an input code in the format's
    terms for a counterexample (default: its hex value only)."""
    rtl = design.rtl
    try:
        vectors = design.vectors("exhaustive", 0, 1)
    except ValueError as exc:
        raise ValueError(f"{design.label}: no exhaustive golden vectors to tabulate "
                         f"({exc})") from None
    widths = {p.name: p.width for p in rtl.ports}
    if len(vectors.stimulus) != 1:
        raise ValueError(f"{design.label}: prove tabulates units with one input port, this "
                         f"one has {', '.join(vectors.stimulus)}")
    (inp, codes), = vectors.stimulus.items()
    n = 1 << widths[inp]
    if sorted(codes) != list(range(n)):
        raise ValueError(f"{design.label}: the exhaustive vectors do not cover every code of "
                         f"{inp}")
    outs = list(vectors.expected)
    table = {o: [0] * n for o in outs}
    for t, code in enumerate(codes):
        for o in outs:
            table[o][code] = vectors.expected[o][t]
    top = f"{rtl.top}_golden"
    header = (f"module {top}(input wire [{widths[inp] - 1}:0] {inp}, " +
              ", ".join(f"output reg [{widths[o] - 1}:0] {o}" for o in outs) + ");")
    body = case_table(inp, widths[inp], [(o, widths[o], table[o]) for o in outs], False, "t")
    kind = "flat" if n <= FULL_TABLE_LIMIT else "factored"
    method = (f"SAT (yosys miter + sat -prove) against a {kind} case table of "
              f"{n} golden codes")
    script = (f"proc -norom; pmuxtree {top}; opt_clean; "
              f"miter -equiv -flatten -make_outputs {top} {rtl.top} "
              f"miter; hierarchy -top miter; opt -fast; "
              f"sat -prove trigger 0 -show-inputs -show-outputs miter")
    signed = vectors.signed_outputs

    def explain(steps, _text):
        row = steps[max(steps)]
        if inp not in row.get("in", {}):
            return None
        code = row["in"][inp][0]
        text = f"{inp}=0x{code:0{(widths[inp] + 3) // 4}x}"
        if describe is not None:
            text += f" ({describe(code)})"

        def value(side, o):
            bits, width = row[side][o]
            return signed_value(bits, width) if signed.get(o) else bits

        lanes = sorted({re.sub(r"^[a-z_]+", "", o) for o in outs})
        if all(f"exp{k}" in outs and f"int{k}" in outs for k in lanes):
            parts = []
            for k in lanes:
                gold = f"<{value('gold', f'exp{k}')}, {value('gold', f'int{k}')}>"
                gate = f"<{value('gate', f'exp{k}')}, {value('gate', f'int{k}')}>"
                mark = "" if gold == gate else "  <-- differs"
                parts.append(f"lane{k} <exp, int>: golden {gold}, unit {gate}{mark}")
            return text + ": " + "; ".join(parts)
        return text + ": " + "; ".join(
            f"{o}: golden {value('gold', o)}, unit {value('gate', o)}" for o in outs)

    return Reference(top, header + "\n" + body + "\nendmodule\n", method, script,
                     {inp: "hex"}, explain)
