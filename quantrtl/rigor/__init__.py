"""Checks beyond simulation, one module per concern:

* ``linter``: Verilator ``--lint-only -Wall``, waivers justified one by one;
* ``prover``: Yosys SAT equivalence with a golden reference (``quantrtl.formal``);
* ``mutation``: netlist mutants and how many the bench kills;
* ``table``: all three for every unit of the default set (``quantrtl rigor``).

``LINT_SET`` and ``PROVE_SET`` are derived from the design registry.
"""

from quantrtl.designs import lint_set, prove_set
from quantrtl.formal.reference import FULL_TABLE_LIMIT
from quantrtl.rigor.linter import WAIVERS, LintResult, lint, lint_all
from quantrtl.rigor.prover import ProofResult, prove, reference_verilog

__all__ = ["WAIVERS", "LINT_SET", "PROVE_SET", "LintResult", "ProofResult", "lint",
           "lint_all", "prove", "reference_verilog", "FULL_TABLE_LIMIT"]

LINT_SET = lint_set()
PROVE_SET = prove_set()
