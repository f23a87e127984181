"""Batched verification: vectors preloaded into a generated testbench, checked in Verilog."""

import pytest

from quantrtl.designs import build
from quantrtl.golden.integer import IntFormat
from quantrtl.sim.harness import VerificationError, run_batched, simulator_available
from quantrtl.sim.vectors import mac_vectors


def test_batched_mac_passes_and_counts_every_vector():
    d = build("int-mac", ["a=int4", "b=int4", "acc=8", "pipeline=2", "overflow=saturate"])
    vectors = d.vectors("exhaustive", 0, 3)
    result = run_batched(d.rtl, vectors)
    assert result.failed == 0
    assert f"{len(vectors)} vectors match" in result.log.read_text()


def test_batched_mismatch_names_the_vector_and_seed():
    d = build("int-mac", ["a=int4", "b=int4", "acc=8", "overflow=saturate"])
    wrong = mac_vectors(IntFormat(4), IntFormat(4), acc_width=8, overflow="wrap", latency=1,
                        mode="exhaustive", seed=4)
    with pytest.raises(VerificationError, match=r"vector \d+: first of \d+ .*seed=4"):
        run_batched(d.rtl, wrong)


def test_batched_array_tiles_with_dont_cares():
    d = build("systolic-array", ["rows=3", "cols=4", "a=int8", "b=uint4", "max_k=9"])
    assert run_batched(d.rtl, d.vectors("random", 20000, 5)).failed == 0
    ws = build("systolic-array", ["dataflow=ws", "rows=3", "cols=4", "a=int8", "b=uint4"])
    assert run_batched(ws.rtl, ws.vectors("random", 20000, 5)).failed == 0


@pytest.mark.skipif(not simulator_available("verilator"), reason="Verilator not installed")
def test_batched_array_on_verilator():
    d = build("systolic-array", ["rows=8", "cols=8", "a=int4", "b=int4", "max_k=16"])
    assert run_batched(d.rtl, d.vectors("random", 100000, 6), simulator="verilator").failed == 0


def test_combinational_units_are_refused():
    d = build("ovp-decoder", [])
    with pytest.raises(ValueError, match="clocked"):
        run_batched(d.rtl, d.vectors("exhaustive", 0, 1))
