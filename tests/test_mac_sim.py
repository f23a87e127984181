"""The generated MAC (and the hand-written baseline) in a real simulator, against golden/."""

import pytest

from quantrtl.designs import build
from quantrtl.designs.mac import baseline_mac_verilog
from quantrtl.golden.integer import IntFormat
from quantrtl.hw.rtl import RTL
from quantrtl.sim.harness import VerificationError, run_vectors, simulator_available
from quantrtl.sim.vectors import mac_vectors


def verify(design, params, mode, count=0, seed=1, **kwargs):
    d = build(design, params)
    vectors = d.vectors(mode, count, seed)
    result = run_vectors(d.rtl, vectors, **kwargs)
    assert result.tests == 1 and result.failed == 0
    return vectors, result


# Exhaustive INT4 x INT4: all 256 pairs alone, then all pairs accumulated; narrow
# accumulators so that wrap-around and saturation happen many times.
@pytest.mark.parametrize("params", [
    "acc=8 overflow=wrap pipeline=0", "acc=8 overflow=saturate pipeline=0",
    "acc=8 overflow=wrap pipeline=1", "acc=10 overflow=saturate pipeline=2",
    "acc=16 overflow=wrap pipeline=4",
])
def test_int4_mac_exhaustive(params):
    vectors, _ = verify("int-mac", ["a=int4", "b=int4", *params.split()], "exhaustive")
    assert len(vectors) > 2 * 256  # plus the overflow runs


@pytest.mark.parametrize("params", [
    "a=uint4 b=int4 acc=9 overflow=saturate", "a=int3 b=uint5 acc=8 overflow=wrap pipeline=1",
    "a=uint2 b=uint8 acc=10 overflow=saturate", "a=uint4 b=uint4 acc=8 overflow=wrap",
    "a=int2 b=int2 acc=4 overflow=saturate",
])
def test_mixed_signedness_exhaustive(params):
    verify("int-mac", params.split(), "exhaustive")


@pytest.mark.parametrize("params", [
    "a=int8 b=int8 acc=16 overflow=wrap", "a=int8 b=int8 acc=18 overflow=saturate pipeline=1",
    "a=int8 b=int8 acc=24 pipeline=2", "a=int4 b=int8 acc=12 overflow=wrap",
    "a=int4 b=int8 acc=13 overflow=saturate pipeline=1", "a=uint8 b=int7 acc=15 overflow=wrap",
])
def test_wide_macs_random(params):
    verify("int-mac", params.split(), "random", count=20000, seed=11)


@pytest.mark.parametrize("params", ["a=int8 b=int8 acc=16", "a=int4 b=uint8 acc=12",
                                    "a=int4 b=int4 acc=8"])
def test_baseline_mac_matches_golden(params):
    verify("baseline-mac", params.split(), "random", count=5000, seed=3)


def test_mutant_is_caught():
    """A MAC that subtracts instead of adding must fail, naming cycle, values and seed."""
    text = baseline_mac_verilog(IntFormat(4), IntFormat(4), 8).replace(": acc) + prod",
                                                                       ": acc) - prod")
    assert "- prod" in text
    vectors = mac_vectors(IntFormat(4), IntFormat(4), acc_width=8, overflow="wrap", latency=1,
                          mode="exhaustive", seed=5)
    with pytest.raises(VerificationError, match=r"acc\[\d+\]: got -?\d+, expected .*seed=5"):
        run_vectors(RTL("baseline_mac", text), vectors)


def test_wrong_overflow_mode_is_caught():
    """Saturating hardware checked against wrapping golden vectors must fail."""
    d = build("int-mac", ["a=int4", "b=int4", "acc=8", "overflow=saturate"])
    vectors = mac_vectors(IntFormat(4), IntFormat(4), acc_width=8, overflow="wrap", latency=1,
                          mode="exhaustive", seed=1)
    with pytest.raises(VerificationError):
        run_vectors(d.rtl, vectors)


def test_wrong_latency_is_caught():
    d = build("int-mac", ["a=int4", "b=int4", "acc=8", "pipeline=1"])
    vectors = mac_vectors(IntFormat(4), IntFormat(4), acc_width=8, overflow="wrap", latency=1,
                          mode="exhaustive", seed=1)
    with pytest.raises(VerificationError):
        run_vectors(d.rtl, vectors)


@pytest.mark.skipif(not simulator_available("verilator"), reason="Verilator not installed")
def test_verilator_runs_the_same_bench():
    vectors, result = verify("int-mac", ["a=int8", "b=int8", "acc=16", "pipeline=1"], "random",
                             count=20000, seed=2, simulator="verilator")
    assert result.simulator == "verilator"


def test_waves_are_written():
    _, result = verify("int-mac", ["a=int4", "b=int4", "acc=8"], "random", count=100,
                       waves=True)
    assert result.waves is not None and result.waves.stat().st_size > 0
