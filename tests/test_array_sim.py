"""The systolic arrays stream real GEMM tiles through their lib.stream ports; every result
row is checked against the golden GEMM, bit for bit."""

import dataclasses
import re

import pytest

from quantrtl.designs import build
from quantrtl.sim.gemm import pack_lanes as _pack
from quantrtl.sim.harness import VerificationError, run_vectors
from quantrtl.sim.vectors import Vectors


@pytest.mark.parametrize("params", [
    "rows=2 cols=3 a=int4 b=int4 max_k=8",
    "rows=4 cols=4 a=int8 b=int8 max_k=16",
    "rows=3 cols=2 a=uint4 b=int8 max_k=5",
    "rows=1 cols=1 a=int2 b=uint2 max_k=3",
    "rows=4 cols=2 a=int4 b=int4 max_k=4 acc=12",  # wider than the default
    "dataflow=ws rows=2 cols=3 a=int4 b=int4",
    "dataflow=ws rows=3 cols=2 a=int4 b=int4 acc=16",  # graded partial sums sign-extended
    "dataflow=ws rows=4 cols=5 a=int4 b=int4 bram=1",  # shadow, skew, de-skew in memories
    "dataflow=ws rows=1 cols=4 a=uint2 b=uint3 bram=1",  # one row: the read is transparent
    "dataflow=ws rows=3 cols=4 a=int8 b=int4 pipeline=1 bram=1",
    "dataflow=ws rows=4 cols=6 a=int8 b=int8",  # two write-enable groups per row: 4 + 2
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
                                 "dataflow=os bram=1", "dataflow=ws bram=2",
                                 "pipeline=2"])
def test_bad_array_parameters(bad):
    with pytest.raises(ValueError):
        build("systolic-array", bad.split())


def test_ws_write_enables_are_replicated_per_column_group():
    """One keep register per 32 shadow flip-flops: a row of six INT8 columns has two."""
    d = build("systolic-array", "dataflow=ws rows=2 cols=6 a=int8 b=int8".split())
    names = set(re.findall(r"reg (write_\d+_\d+) ", d.rtl.text))
    assert names == {"write_0_0", "write_0_1", "write_1_0", "write_1_1"}
    for name in names:
        assert re.search(rf"\(\* keep = 32'd1 \*\)\s*reg {name} ", d.rtl.text), name


@pytest.mark.parametrize("bram", ["0", "1"])
def test_ws_reset_clears_control_and_keeps_weights(bram):
    """``rst`` in a weight-stationary array (the contract in ``hw.array``): the row in
    flight is dropped, loading restarts at shadow row 0 (a half-loaded tile is forgotten),
    and the PEs keep their weights, reset-less, until the next swap."""
    d = build("systolic-array", f"dataflow=ws rows=2 cols=2 a=int4 b=int4 bram={bram}".split())
    acc = next(p.width for p in d.rtl.ports if p.name == "c__payload") // 2
    B, J, B2 = [[1, 2], [3, -4]], [[7, 7], [7, 7]], [[-8, 5], [0, 6]]
    x1, x2, x_lost, x3, x4 = [1, 1], [-3, 2], [5, 5], [2, -1], [7, -8]
    n = 16
    s = {k: [0] * n for k in ("w__valid", "w__payload", "a__valid", "a__payload", "rst")}
    exp = {"c__valid": [0] * n, "c__payload": [None] * n}

    def weight(t, row):
        s["w__valid"][t], s["w__payload"][t] = 1, _pack(row, 4)

    def act(t, x, swap, w=None):  # a row accepted at t comes out at t + R + C + 1 - 1
        s["a__valid"][t], s["a__payload"][t] = 1, _pack(x, 4) | (swap << 8)
        if w is not None:
            exp["c__valid"][t + 4] = 1
            exp["c__payload"][t + 4] = _pack([sum(x[k] * w[k][j] for k in range(2))
                                              for j in range(2)], acc)

    weight(0, B[0]), weight(1, B[1])
    act(2, x1, 1, B), act(3, x2, 0, B)
    weight(6, J[0])                  # half a tile loaded when rst comes
    act(7, x_lost, 0)                # in flight at the reset: no result
    s["rst"][8] = 1
    act(9, x3, 0, B)                 # no swap since the reset: the old weights
    weight(9, B2[0]), weight(10, B2[1])
    act(11, x4, 1, B2)
    vectors = Vectors(stimulus=s, expected=exp,
                      signed_outputs={"c__valid": False, "c__payload": False}, latency=1,
                      idle={k: 0 for k in s}, seed=0, mode="hand")
    assert run_vectors(d.rtl, vectors).failed == 0
