"""Mutation testing: the MAC bench kills the mutants Yosys makes of the MAC netlist."""

import pytest

from quantrtl.designs import build
from quantrtl.hw.rtl import RTL
from quantrtl.rigor.mutation import MUTATION_CYCLE_LIMIT, bench_vectors, mutation_test
from quantrtl.sim.harness import VerificationError, run_vectors


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


def test_cell_mutants_are_sorted_by_proof_against_golden():
    """A combinational cell with a golden reference: survivors are settled by proofs, and
    the report states the bench and the method."""
    report = mutation_test(build("array-pe", ["pe=int", "a=int4", "b=int4"]), count=8, seed=2)
    assert report.mutants == 8 and report.vectors == 256
    assert report.vectors_mode == "exhaustive"
    assert report.equivalence == "proof against the golden reference"
    assert report.killed + report.equivalent + len(report.survivors) == 8
    assert report.score >= 0.95, report.summary()


def test_long_benches_are_capped_for_mutation():
    """The OVP4 PE's exhaustive bench (~137,000 cycles) is replaced by random cycles."""
    verify, mutation = bench_vectors(build("ovp-pe", ["w=ovp4", "act=ovp4"]), 1)
    assert verify.mode == "exhaustive" and len(verify) > MUTATION_CYCLE_LIMIT
    assert mutation.mode == "random" and len(mutation) <= MUTATION_CYCLE_LIMIT
    small = build("int-mac", ["a=int4", "b=int4", "acc=8"])
    verify, mutation = bench_vectors(small, 1)
    assert mutation is verify


def test_arrays_fall_back_to_sat_against_the_original():
    from quantrtl.rigor.mutation import equivalence_check
    method, _ = equivalence_check(build("systolic-array", ["rows=1", "cols=1", "max_k=2"]))
    assert method == "SAT against the original, 24 cycles from reset"
    # a cell proved by cutting at its decoder instances: flattened mutants have none
    method, _ = equivalence_check(build("array-pe", ["pe=ovp"]))
    assert method == "SAT against the original"


def test_sat_equivalence_handles_arrays_with_memories(tmp_path):
    """A bram=1 array's netlist has memory read ports, which Yosys's SAT cannot model
    unmapped: the equivalence check maps them first, and decides both ways."""
    from quantrtl.rigor.mutation import _equivalent, _list_mutations, _write_mutants
    design = build("systolic-array", "rows=2 cols=4 a=int2 b=int2 dataflow=ws bram=1".split())
    top = design.rtl.top
    (tmp_path / "orig.v").write_text(design.rtl.text)
    mutations = _list_mutations(top, 6, 1, tmp_path, design.label)
    paths = _write_mutants(top, mutations, tmp_path, design.label)
    steps = 10  # latency 7: results are compared; SAT time grows fast with the bound
    assert _equivalent(top, tmp_path / "orig_netlist.v", tmp_path, True, steps, design.label)
    verdicts = [_equivalent(top, p, tmp_path, True, steps, design.label) for p in paths]
    assert False in verdicts, verdicts
