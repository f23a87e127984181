"""The designs quantrtl can generate, their parameters, and how each one is verified.

``build(name, params)`` validates everything (raising ``ValueError`` before any RTL exists)
and returns a ``Design``: its RTL and a ``vectors(mode, count, seed)`` function that asks
``golden/`` for per-cycle stimulus and expected outputs (``sim.vectors.Vectors``), which
``sim.harness.run_vectors`` checks in a simulator.

One module per design family registers its designs, array PE types and report rows
(``registry.register``, ``register_pe``, ``register_report``); everything the tools
exercise (lint, prove, rigor and report sets, the CLI's lists) is derived from the
registry. Importing this package imports every family, in the order the CLI lists them.
"""

import importlib

from quantrtl.designs.registry import (
    ARRAY_PES,
    DESIGNS,
    PAIRS,
    PETypeSpec,
    array_pe,
    build,
    get_pair,
    get_spec,
    lint_set,
    pairs,
    provable,
    prove_set,
    register_pair,
    report_rows,
    rigor_set,
)
from quantrtl.designs.spec import Design, DesignSpec, FormatPair, Param, ReportRow, parse_params

__all__ = ["Param", "Design", "DesignSpec", "ReportRow", "PETypeSpec", "DESIGNS",
           "ARRAY_PES", "build", "get_spec", "parse_params", "array_pe", "lint_set",
           "prove_set", "rigor_set", "report_rows", "provable", "FormatPair", "PAIRS",
           "pairs", "get_pair", "register_pair"]

# Registration order is the order the CLI lists designs in and the report's row order;
# ``array`` comes last because its help names every registered PE type.
FAMILIES = ("mac", "mixed", "dint", "ovp", "fp8", "mx", "mx_array", "ternary", "ternary_lut",
            "hadamard", "sparse", "array")
for _family in FAMILIES:
    importlib.import_module(f"quantrtl.designs.{_family}")
