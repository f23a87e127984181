"""The systolic arrays stream real GEMM tiles through their lib.stream ports; every result
row is checked against the golden GEMM, bit for bit."""

import dataclasses
import re

import pytest

from quantrtl.designs import build
from sim.harness import VerificationError, run_vectors


@pytest.mark.parametrize("params", [
    "rows=2 cols=3 a=int4 b=int4 max_k=8",
    "rows=4 cols=4 a=int8 b=int8 max_k=16",
    "rows=3 cols=2 a=uint4 b=int8 max_k=5",
    "rows=1 cols=1 a=int2 b=uint2 max_k=3",
    "rows=4 cols=2 a=int4 b=int4 max_k=4 acc=12",  # wider than the default
    "dataflow=ws rows=2 cols=3 a=int4 b=int4",
    "dataflow=ws rows=4 cols=4 a=int8 b=int8",
    "dataflow=ws rows=3 cols=1 a=uint4 b=int8",
    "dataflow=ws rows=1 cols=4 a=uint2 b=uint3",
    "rows=3 cols=2 a=int4 b=uint4 max_k=4 pipeline=1",
    "dataflow=ws rows=2 cols=3 a=int8 b=int4 pipeline=1",
])
def test_array_matches_golden_gemm(params):
    d = build("systolic-array", params.split())
    vectors = d.vectors("random", 3000, 7)
    result = run_vectors(d.rtl, vectors)
    assert result.failed == 0
    out = "o__valid" if d.params["dataflow"] == "os" else "c__valid"
    assert sum(vectors.expected[out]) >= 4 * d.params["rows"]  # results really came out


def _swap_lanes(words, lanes, width, offset=0):
    def swap(w):
        vals = [(w >> (offset + width * j)) & ((1 << width) - 1) for j in range(lanes)]
        cleared = w & ~(((1 << (width * lanes)) - 1) << offset)
        return cleared | sum(v << (offset + width * j) for j, v in enumerate(reversed(vals)))
    return [swap(w) for w in words]


@pytest.mark.parametrize("dataflow, port, offset", [("os", "i__payload", 12),
                                                    ("ws", "w__payload", 0)])
def test_swapped_weight_lanes_are_caught(dataflow, port, offset):
    """Vectors whose B lanes are wired in reverse (a lane-mapping bug) must fail."""
    d = build("systolic-array", ["rows=3", "cols=3", "a=int4", "b=int4",
                                 f"dataflow={dataflow}"] + (["max_k=6"] * (dataflow == "os")))
    vectors = d.vectors("random", 500, 2)
    swapped = _swap_lanes(vectors.stimulus[port], 3, 4, offset)
    assert swapped != vectors.stimulus[port]
    broken = dataclasses.replace(vectors, stimulus={**vectors.stimulus, port: swapped})
    with pytest.raises(VerificationError, match=r"__payload\[\d+\]"):
        run_vectors(d.rtl, broken)


@pytest.mark.parametrize("dataflow, ready", [("ws", "a__ready"), ("ws", "w__ready"),
                                             ("os", "i__ready")])
def test_ignoring_back_pressure_is_caught(dataflow, ready):
    """The benches offer data while ``ready`` is low (a swap before all weight rows are in,
    weight rows while a swap is in flight, a tile's last step too soon after the previous
    one): an array whose ``ready`` is stuck at 1 takes them and must fail."""
    d = build("systolic-array", [f"dataflow={dataflow}", "rows=3", "cols=2", "a=int4",
                                 "b=int4"] + (["max_k=4"] * (dataflow == "os")))
    # ready is either a wire (assign) or a register (reset 1, assigned in always @(posedge))
    line = next(ln for ln in d.rtl.text.splitlines()
                if re.match(rf"\s*(assign {ready} =|{ready} <=)", ln))
    stuck = f"  assign {ready} = 1'h1;" if "assign" in line else f"    {ready} <= 1'h1;"
    deaf = dataclasses.replace(d.rtl, text=d.rtl.text.replace(line, stuck))
    vectors = d.vectors("random", 1000, 3)
    assert run_vectors(d.rtl, vectors).failed == 0
    with pytest.raises(VerificationError):
        run_vectors(deaf, vectors)


@pytest.mark.parametrize("bad", ["rows=0", "cols=-1", "rows=65", "max_k=0", "acc=4",
                                 "a=int9", "dataflow=rs", "pe=fp4", "modes=4x4",
                                 "dataflow=ws acc=5", "dataflow=ws max_k=8",
                                 "pipeline=2"])
def test_bad_array_parameters(bad):
    with pytest.raises(ValueError):
        build("systolic-array", bad.split())
