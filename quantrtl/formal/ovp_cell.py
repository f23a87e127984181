"""The compositional proof of an OVP array cell (``hw.pe_formats.OVPArrayPE``).

One Yosys run on the unflattened RTL: (1) each edge decoder instance (``ovp_b_dec0``,
``ovp_a_dec0``) against a (factored) case table over every pair code of
``golden.ovp.decode_exp_int``'s ``<e, i>`` in the cell's sign–magnitude form ``<i < 0,
|i| << (e % 2), e // 2>``; (2) the cell with the decoder instances cut out (``expose
-evert``) against a behavioural ``*``/``<<<`` step of any decoded lanes in golden's ranges.
"""

from __future__ import annotations

import re

import torch

from quantrtl.formal.reference import Reference, case_table, signed_value
from quantrtl.golden.ovp import decode_exp_int

__all__ = ["ovp_step_reference", "port_width"]

_DECODER_INSTANCE = re.compile(r"^\s*\\?(\S+)\s+(ovp_([ab])_dec\d+)\s*\(", re.M)


def port_width(text: str, module: str, port: str) -> int:
    """The width of ``port`` of ``module`` in Amaranth's Verilog ``text``."""
    body = text[text.index(f"module \\{module} "):]
    match = re.search(rf"^\s*(?:input|output)\s+(?:\[(\d+):0\]\s+)?{port}\s*;",
                      body[:body.index("endmodule")], re.M)
    if match is None:
        raise ValueError(f"no port {port} in module {module}")
    return int(match.group(1) or 0) + 1


def ovp_step_reference(design, kind) -> Reference:
    """Compositional proof of an OVP cell (``hw.pe_formats.OVPArrayPE``), in one Yosys run
    on the unflattened RTL: (1) each edge decoder instance (``ovp_b_dec0``, ``ovp_a_dec0``)
    against a (factored) case table over every pair code of ``golden.ovp.decode_exp_int``'s
    ``<e, i>`` in the cell's sign–magnitude form ``<i < 0, |i| << (e % 2), e // 2>``;
    (2) the cell with the decoder instances cut out (``expose -evert``: their outputs
    become free inputs) against ``sum_k (-1)^(neg_a_k ^ neg_b_k) * (mag_a_k * mag_b_k) <<<
    2 * (exp2_a_k + exp2_b_k)`` for every decoded lane in the golden tables' ranges (an
    ``assume``). (1) says the decoded lanes are golden's, (2) that the arithmetic on any
    such lanes is, so together the cell equals golden on every input. One SAT call over
    the uncut cell did not end in 10 minutes for OVP x INT8 (its reference relates two
    differently built decoders feeding the multipliers); cut, it proves in seconds."""
    rtl = design.rtl
    widths = {q.name: q.width for q in rtl.ports}
    top, sw = rtl.top, widths["step"]
    ext = sw + 2
    found = {side: (module, inst) for module, inst, side in _DECODER_INSTANCE.findall(rtl.text)}
    sides = ["a", "b"] if kind.a is not None else ["b"]
    if sorted(found) != sides:
        raise ValueError(f"{design.label}: prove cuts the cell at its decoder instances "
                         f"(ovp_<side>_dec), found {sorted(found) or 'none'} in this RTL "
                         f"(flattened?)")
    texts, script, ports, assumes, lanes = [], [], [], [], {}
    for side in sides:
        fmt = getattr(kind, side)
        module, inst = found[side]
        bits = fmt.bits
        mw, ew = (port_width(rtl.text, module, n) for n in ("mag0", "exp2_0"))
        sel = torch.arange(1 << (2 * bits))
        pairs = torch.stack([sel & ((1 << bits) - 1), sel >> bits], -1)  # low-first
        exp, integer = decode_exp_int(pairs, fmt)
        neg, mag, exp2 = (integer < 0).long(), integer.abs() << (exp % 2), exp // 2
        dec = f"{top}_{inst}_golden"
        outs = []
        for k in (0, 1):
            outs += [(f"neg{k}", 1, neg[:, k].tolist()), (f"mag{k}", mw, mag[:, k].tolist()),
                     (f"exp2_{k}", ew, exp2[:, k].tolist())]
            n, g, e = (f"\\{inst}.{name} " for name in (f"neg{k}", f"mag{k}", f"exp2_{k}"))
            ports += [f"input wire {n}", f"input wire [{mw - 1}:0] {g}",
                      f"input wire [{ew - 1}:0] {e}"]
            assumes += [f"{g} <= {mw}'d{int(mag[:, k].max())}",
                        f"{e} <= {ew}'d{int(exp2[:, k].max())}"]
            lanes.setdefault(side, []).append((n, f"$signed({{1'b0, {g}}})", e))
        texts.append(f"module {dec}(input wire [{2 * bits - 1}:0] pair, " +
                     ", ".join(f"output reg [{w - 1}:0] {n}" for n, w, _ in outs) + ");\n" +
                     case_table("pair", 2 * bits, outs, False, "t") + "\nendmodule\n")
        ports.append(f"output wire [{2 * bits - 1}:0] \\{inst}.pair ")
        script += [f"pmuxtree {dec}", f"miter -equiv -flatten -make_outputs {dec} {module} "
                   f"miter_{side}", f"opt -fast miter_{side}",
                   f"sat -prove trigger 0 -show-inputs -show-outputs miter_{side}"]
    if kind.a is None:  # a plain pair of int8 values, element 2k in the low byte
        w = widths["a"] // 2
        lanes["a"] = [("1'b0", f"$signed(a[{w - 1}:0])", "1'b0"),
                      ("1'b0", f"$signed(a[{2 * w - 1}:{w}])", "1'b0")]
    core = f"{top}_core_golden"
    body = [f"module {core}(input wire [{widths['a'] - 1}:0] a, "
            f"input wire [{widths['b'] - 1}:0] b, output wire [{sw - 1}:0] step, " +
            ", ".join(ports) + ");"]
    body += [f"  assign \\{found[side][1]}.pair = {side};" for side in sides]
    terms = []
    for k, ((na, fa, ea), (nb, fb, eb)) in enumerate(zip(lanes["a"], lanes["b"])):
        body.append(f"  wire signed [{ext - 1}:0] p{k} = ({fa} * {fb}) <<< "
                    f"(8'd2 * ({ea} + {eb}));")  # an 8-bit shift amount
        terms.append(f"(({na} ^ {nb}) ? -p{k} : p{k})")
    body += [f"  wire signed [{ext - 1}:0] exact = {' + '.join(terms)};",
             f"  assign step = exact[{sw - 1}:0];",
             "  always @* assume(" + " && ".join(f"({c})" for c in assumes) + ");",
             "endmodule", ""]
    texts.append("\n".join(body))
    cuts = " ".join(f"{top}/{found[side][1]}" for side in sides)
    script = ["proc -norom", "chformal -lower", "opt_clean"] + script + [
        f"expose -evert {cuts}",
        f"miter -equiv -flatten -make_outputs {core} {top} miter", "opt -fast miter",
        "sat -prove trigger 0 -set-assumes -show-inputs -show-outputs miter"]
    method = (f"compositional SAT (yosys): the edge decoder{'s' if len(sides) > 1 else ''} "
              f"({', '.join(found[s][1] for s in sides)}) against case tables of "
              f"golden.ovp.decode_exp_int over every pair code, in sign-magnitude form, then "
              f"the cell with them cut out (expose -evert) against a behavioural `*`/`<<<` "
              f"step of any decoded <neg, mag, exp2> lanes in golden's ranges")

    def lane_value(fields: dict, k: int) -> str:
        neg, mag, exp2 = (fields[n][0] for n in (f"neg{k}", f"mag{k}", f"exp2_{k}"))
        return f"{'-' if neg else ''}{mag} << {2 * exp2}"

    def explain(steps, text):
        row = steps[max(steps)]
        ins, gold, gate = row.get("in", {}), row.get("gold", {}), row.get("gate", {})
        if "pair" in ins:  # a decoder: which one is the last miter before the model
            tail = text[:text.rfind("Signal Name")]
            side = max(sides, key=lambda s: tail.rfind(f"miter_{s}"))
            names = [(f"neg{k}", f"mag{k}", f"exp2_{k}") for k in (0, 1)]
            lanes_text = "; ".join(
                f"element {k}: golden {lane_value(gold, k)}, unit {lane_value(gate, k)}"
                for k in (0, 1) if all(n in gold and n in gate for n in names[k]))
            return (f"edge decoder {found[side][1]}: pair=0x{ins['pair'][0]:x}: "
                    f"{lanes_text}")
        if "a" not in ins or "step" not in gold:
            return None
        decoded = ", ".join(f"{name}={v[0]}" for name, v in sorted(ins.items()) if "." in name)
        return (f"cell with the decoders cut: a=0x{ins['a'][0]:x}, decoded lanes {decoded}: "
                f"golden step {signed_value(*gold['step'])}, "
                f"unit step {signed_value(*gate['step'])}")

    return Reference(core, "\n".join(texts), method, "; ".join(script),
                     {"a": "hex", "b": "hex"}, explain, cases=len(sides) + 1,
                     needs_hierarchy=True)
