"""Mutation testing: the MAC bench kills the mutants Yosys makes of the MAC netlist."""

import pytest

from hw.rtl import RTL
from quantrtl.designs import build
from quantrtl.mutate import mutation_test
from sim.harness import VerificationError, run_vectors


def test_int4_mac_bench_kills_mutants():
    report = mutation_test(build("int-mac", ["a=int4", "b=int4", "acc=8",
                                             "overflow=saturate", "pipeline=1"]),
                           count=16, seed=3)
    assert report.mutants == 16
    assert report.killed + report.equivalent + len(report.survivors) == 16
    assert report.killed >= 12 and report.score >= 0.95, report.summary()


def test_reset_mutant_is_killed():
    """The bench pulses rst mid-stream, so a MAC that ignores rst fails."""
    design = build("int-mac", ["a=uint4", "b=int8", "acc=14"])
    assert "if (rst)" in design.rtl.text
    deaf = RTL(design.rtl.top, design.rtl.text.replace("if (rst)", "if (1'b0)"))
    with pytest.raises(VerificationError):
        run_vectors(deaf, design.vectors("random", 2000, 1))
