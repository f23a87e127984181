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


# --- the SAT comparison with the original, on small hand-written netlists ----------------

_ACC = """module acc8(clk, rst, x, acc);
  input clk;
  input rst;
  input [3:0] x;
  output [7:0] acc;
  reg [7:0] acc = 8'h00;
  always @(posedge clk) acc <= rst ? 8'h00 : NEXT;
endmodule
"""


def _netlists(tmp_path, gold_next: str, **mutants: str):
    """``orig_netlist.v`` and one ``<name>.v`` per mutant in ``tmp_path``: the 8-bit
    accumulator ``_ACC`` with ``NEXT`` replaced."""
    (tmp_path / "orig_netlist.v").write_text(_ACC.replace("NEXT", gold_next))
    paths = {}
    for name, nxt in mutants.items():
        paths[name] = tmp_path / f"{name}.v"
        paths[name].write_text(_ACC.replace("NEXT", nxt))
    return paths


def test_sat_comparison_sees_a_bit_the_mutant_sets_where_the_original_has_0(tmp_path):
    """With ``miter -ignore_gold_x`` and no undef modelling, Yosys SAT compared only the
    bits where the original reads 1: a mutant that only sets bits passed as equivalent."""
    from quantrtl.rigor.mutation import _equivalent
    paths = _netlists(tmp_path, "acc + x", sets="(acc + x) | 8'h80",
                      clears="(acc + x) & 8'h7f")
    assert _equivalent("acc8", paths["sets"], tmp_path, True, 12, "acc8") is False
    assert _equivalent("acc8", paths["clears"], tmp_path, True, 12, "acc8") is False  # 9 x 15 > 127


def test_register_matched_induction_settles_a_sequential_mutant_unbounded(tmp_path):
    """An equivalent mutant of a sequential unit is proved by the register-matched
    induction (its log says so), with no bounded run; an identical netlist needs no SAT."""
    from quantrtl.rigor.mutation import _equivalent
    paths = _netlists(tmp_path, "acc + x", same="acc + {x[3:1], x[0]}", copy="acc + x")
    assert _equivalent("acc8", paths["same"], tmp_path, True, 6, "acc8") is True
    assert "no model found: SUCCESS" in (tmp_path / "same.induct.log").read_text()
    assert not (tmp_path / "same.equiv.log").exists()
    (tmp_path / "copy.v").write_text((tmp_path / "orig_netlist.v").read_text())
    assert _equivalent("acc8", paths["copy"], tmp_path, True, 6, "acc8") is True
    assert not (tmp_path / "copy.induct.log").exists()


def test_a_difference_only_from_an_unreachable_state_falls_back_to_bounded_sat(tmp_path):
    """A counter 0..9 whose mutant differs only from state 12, which no input sequence
    reaches: the induction cannot settle it (state 12 is free there), the bounded
    comparison from reset proves it equal; a reachable difference is found."""
    from quantrtl.rigor.mutation import _equivalent
    gold = "(acc == 8'd9) ? 8'd0 : acc + x[0]"
    paths = _netlists(tmp_path, gold, unreachable=f"(acc == 8'd12) ? 8'd3 : {gold}",
                      reachable=f"(acc == 8'd8) ? 8'd3 : {gold}")
    assert _equivalent("acc8", paths["unreachable"], tmp_path, True, 16, "acc8") is True
    assert "model found: FAIL" in (tmp_path / "unreachable.induct.log").read_text()
    assert (tmp_path / "unreachable.equiv.log").exists()
    assert _equivalent("acc8", paths["reachable"], tmp_path, True, 16, "acc8") is False
