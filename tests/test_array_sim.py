"""The systolic array streams real GEMM tiles; every result row is checked against
golden.arith.gemm, bit for bit."""

import dataclasses

import pytest

from quantrtl.designs import build
from sim.harness import VerificationError, run_vectors


@pytest.mark.parametrize("params", [
    "rows=2 cols=3 a=int4 b=int4 max_k=8",
    "rows=4 cols=4 a=int8 b=int8 max_k=16",
    "rows=3 cols=2 a=uint4 b=int8 max_k=5",
    "rows=1 cols=1 a=int2 b=uint2 max_k=3",
    "rows=4 cols=2 a=int4 b=int4 max_k=4 acc=12",  # wider than the default
])
def test_array_matches_golden_gemm(params):
    d = build("systolic-array", params.split())
    vectors = d.vectors("random", 3000, 7)
    result = run_vectors(d.rtl, vectors)
    assert result.failed == 0
    assert sum(vectors.expected["c_valid"]) >= 4 * d.params["rows"]  # tiles really came out


def test_swapped_weight_lanes_are_caught():
    """Vectors whose B lanes are wired in reverse (a lane-mapping bug) must fail."""
    d = build("systolic-array", ["rows=3", "cols=3", "a=int4", "b=int4", "max_k=6"])
    vectors = d.vectors("random", 500, 2)
    lanes = lambda w: [(w >> (4 * j)) & 15 for j in range(3)]  # noqa: E731
    swapped = [sum(v << (4 * j) for j, v in enumerate(reversed(lanes(w))))
               for w in vectors.stimulus["b"]]
    assert swapped != vectors.stimulus["b"]
    broken = dataclasses.replace(vectors, stimulus={**vectors.stimulus, "b": swapped})
    with pytest.raises(VerificationError, match=r"c\[\d+\]"):
        run_vectors(d.rtl, broken)


@pytest.mark.parametrize("bad", ["rows=0", "cols=-1", "rows=65", "max_k=0", "acc=4",
                                 "a=int9"])
def test_bad_array_parameters(bad):
    with pytest.raises(ValueError):
        build("systolic-array", [bad])
