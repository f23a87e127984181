"""The ``mx`` PE type (``hw.pe_mx.MXArrayPE``) and the MX weight-stationary array
(``hw.array_mx.MXWeightStationaryArray``): the cell's step against golden's fixed-point
element values, exhaustively where small; random MX GEMMs (scales, NaN scales, non-finite
elements, weight swaps) through the real simulator, every row checked against
``golden.mx.block_dot``."""

import pytest

from quantrtl.designs import build
from quantrtl.designs.datasheet import datasheet
from quantrtl.formats.minifloat import MXSpec, parse_mx
from quantrtl.hw.array_mx import MXWeightStationaryArray
from quantrtl.hw.pe import PEStep
from quantrtl.hw.pe_mx import MXArrayPE
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm import step_vectors
from quantrtl.sim.gemm_mx import MXOperands, mx_ws_stream_vectors
from quantrtl.sim.harness import VerificationError, run_vectors

SEED = 11


def _kind(a: str, b: str, block: int = 32) -> MXOperands:
    return MXOperands(MXSpec(parse_mx(a).element, block), MXSpec(parse_mx(b).element, block))


@pytest.mark.parametrize("a, b", [
    ("mxfp4", "mxfp4"), ("mxfp6-e2m3", "mxfp4"), ("mxfp6-e3m2", "mxfp6-e2m3"),
    ("mxint8", "mxfp4"), ("mxfp4", "mxfp8-e4m3"), ("mxfp8-e5m2", "mxfp4")])
def test_cell_exhaustive(a, b):
    d = build("array-pe", ["pe=mx", f"a={a}", f"b={b}"])
    vectors = d.vectors("exhaustive", 0, SEED)
    assert len(vectors.stimulus["a"]) == 1 << (d.rtl.ports[0].width + d.rtl.ports[1].width)
    assert run_vectors(d.rtl, vectors).failed == 0


@pytest.mark.parametrize("a, b", [("mxfp8-e4m3", "mxfp8-e4m3"), ("mxint8", "mxint8"),
                                  ("mxfp8-e5m2", "mxfp8-e4m3"), ("mxint8", "mxfp8-e5m2")])
def test_cell_random_8bit(a, b):
    d = build("array-pe", ["pe=mx", f"a={a}", f"b={b}"])
    assert run_vectors(d.rtl, d.vectors("random", 3000, SEED)).failed == 0, f"seed {SEED}"


@pytest.mark.parametrize("a, b", [("mxfp4", "mxfp6-e3m2"), ("mxint8", "mxfp4")])
def test_cell_edge_decode(a, b):
    """The variant not chosen (codes decoded once per row / column on the edge) computes
    the same step, exhaustively."""
    pe = MXArrayPE(a, b, decode="edge")
    unit = PEStep(pe)
    kind = _kind(a, b)
    vectors = step_vectors(kind, step_width=unit.step_width, mode="exhaustive")
    assert run_vectors(from_component(unit, "array_pe"), vectors).failed == 0


def _gemm(params: str, batches: int = 12, seed: int = SEED):
    d = build("systolic-array", ["pe=mx", "dataflow=ws", *params.split()])
    rows, cols = d.params["rows"], d.params["cols"]
    vectors = d.vectors("random", batches * rows * rows * cols, seed)
    result = run_vectors(d.rtl, vectors)
    assert result.failed == 0, f"seed {seed}"
    assert sum(vectors.expected["c__valid"]) >= 4 * rows  # results really came out
    return d, vectors


@pytest.mark.parametrize("params", [
    "rows=2 cols=2",                                            # mxfp4 x mxfp4
    "rows=4 cols=3 a=mxfp8-e4m3 b=mxfp8-e4m3 pipeline=1",
    "rows=3 cols=4 a=mxint8 b=mxfp8-e5m2",
    "rows=2 cols=3 a=mxfp8-e5m2 b=mxfp6-e2m3 bram=1",
    "rows=1 cols=2 a=mxfp6-e3m2 b=mxint8 pipeline=1",
    "rows=3 cols=1 a=mxint8 b=mxint8",
])
def test_mx_gemm_matches_golden(params):
    _gemm(params)


def test_mx_gemm_edge_decode():
    """The wrapper around edge-decoding PEs: the same results."""
    unit = MXWeightStationaryArray(rows=3, cols=2, a_fmt="mxfp4", b_fmt="mxfp8-e4m3",
                                   decode="edge")
    kind = _kind("mxfp4", "mxfp8-e4m3", 3)
    vectors, _ = mx_ws_stream_vectors(3, 2, kind, acc_width=unit.acc_width, batches=10,
                                      seed=SEED)
    assert run_vectors(from_component(unit, "systolic_array"), vectors).failed == 0


@pytest.mark.parametrize("field", ["exp", "nan", "c"])
def test_bench_can_fail(field):
    """A wrong exponent, NaN flag or sum in one result row fails the check."""
    d = build("systolic-array", ["pe=mx", "dataflow=ws", "rows=2", "cols=2"])
    vectors = d.vectors("random", 100, SEED)
    width = next(q.width for q in d.rtl.ports if q.name == "c__payload")
    acc = (width - 2 * (10 + 1)) // 2  # c, exp (10 bits) and nan per column
    bit = {"c": 0, "exp": 2 * acc, "nan": 2 * acc + 20}[field]
    payload = vectors.expected["c__payload"]
    t = next(t for t, v in enumerate(vectors.expected["c__valid"]) if v)
    payload[t] ^= 1 << bit
    with pytest.raises(VerificationError):
        run_vectors(d.rtl, vectors)


def test_bad_parameters():
    with pytest.raises(ValueError, match="dataflow=ws only"):
        build("systolic-array", ["pe=mx"])
    with pytest.raises(ValueError, match="PE type mx takes a="):
        build("array-pe", ["pe=mx", "a=e4m3"])
    with pytest.raises(ValueError, match="products need 65 bits"):
        build("systolic-array", ["pe=mx", "dataflow=ws", "a=mxfp8-e5m2", "b=mxfp8-e5m2"])
    with pytest.raises(ValueError, match="decode"):
        MXArrayPE(decode="column")


def test_datasheets():
    sheet = datasheet(build("systolic-array", ["pe=mx", "dataflow=ws", "rows=2", "cols=2"]))
    assert sheet["derived_widths"]["block size k (= R)"] == 2
    assert sheet["latency"]["cycles"] == 5
    for params in ([], ["pipeline=2", "a=mxint8"]):
        sheet = datasheet(build("mx-dot", params))
        assert sheet["derived_widths"]["sum (signed)"] > 0
        assert sheet["throughput"] and sheet["reset"] and sheet["latency"]["note"]
