"""Verilator lint of generated Verilog.

``lint(rtl)`` runs ``verilator --lint-only -Wall`` on the design's Verilog and splits the
warnings into ``warnings`` (unwaived: a design must have none) and ``waived`` (codes in
``WAIVERS``, which is ``quantrtl.hw.rtl.LINT_WAIVERS``, each justified there). Verilator
runs once with every check on and the split is made by exact warning code, which is what
``-Wno-<CODE>`` for each waiver would leave, but keeps the waived messages visible
(``LintResult.waived``, and the log) instead of silencing them. ``lint_all()`` lints every
registered design's lint parameter sets (``quantrtl.designs.lint_set()``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from quantrtl.base.errors import ToolError
from quantrtl.base.tools import run_tool
from quantrtl.designs import build, lint_set
from quantrtl.hw.rtl import LINT_WAIVERS, RTL
from quantrtl.sim.harness import rtl_path

__all__ = ["WAIVERS", "LintResult", "lint", "lint_all"]


WAIVERS = LINT_WAIVERS  # justified in quantrtl.hw.rtl


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
    source = rtl_path(rtl)
    log = source.with_name(f"{rtl.top}.lint.log")
    args = ["--lint-only", "-Wall", "-Wno-fatal", "--top-module", rtl.top, str(source)]
    proc = run_tool("verilator", args, cwd=source.parent, log=log, design=f"lint of {label}",
                    timeout=300, stdout_to_log=False)
    found = [(code, f"{code}: {msg.strip()}") for code, msg in _WARNING.findall(proc.stderr)]
    if proc.returncode != 0 or "%Error" in proc.stderr:
        raise ToolError(f"verilator: lint of {label} failed (exit {proc.returncode}); "
                        f"log: {log}")
    return LintResult(label, [w for c, w in found if c not in WAIVERS],
                      [w for c, w in found if c in WAIVERS], log)


def lint_all(sets=None) -> list[LintResult]:
    """Lint every ``(design, params)`` of ``sets`` (default: every registered design's
    lint parameter sets)."""
    results = []
    for name, params in (lint_set() if sets is None else sets):
        d = build(name, list(params))
        results.append(lint(d.rtl, design=d.label))
    return results
