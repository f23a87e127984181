"""The systolic arrays with the OVP (edge decoders) and dINT x INT PE types of
``hw.pe_formats``: real GEMM tiles through both dataflows, every result row checked against
``golden.ovp.gemm`` / ``golden.dint.gemm`` bit for bit."""

import re

import pytest
import torch

from quantrtl.designs import array_pe, build
from quantrtl.golden.dint import DIntFormat
from quantrtl.golden.integer import IntFormat
from quantrtl.golden.ovp import OVPFormat
from quantrtl.hw.array import OutputStationaryArray
from quantrtl.hw.pe_formats import DINT_DECODES, DIntArrayPE, OVPArrayPE
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm import os_stream_vectors
from quantrtl.sim.gemm_formats import DIntOperands, OVPOperands
from quantrtl.sim.harness import VerificationError, run_vectors


def _check(params: str, tiles=40, seed=7):
    d = build("systolic-array", params.split())
    rows, cols, max_k = d.params["rows"], d.params["cols"], d.params["max_k"]
    per_tile = rows * cols * (max(1, max_k // 2) if d.params["dataflow"] == "os" else rows)
    vectors = d.vectors("random", tiles * per_tile, seed)  # ~tiles random tiles / batches
    assert run_vectors(d.rtl, vectors).failed == 0
    out = "o__valid" if d.params["dataflow"] == "os" else "c__valid"
    assert sum(vectors.expected[out]) >= 4 * d.params["rows"]  # results really came out
    return d


def _factory(params: str):
    """``(PEType, operand kind)`` of ``pe=<name> a=.. b=..``, as the design builds them."""
    return array_pe({"a": None, "b": None} | dict(kv.split("=") for kv in params.split()))


@pytest.mark.parametrize("params", [
    "rows=2 cols=3 max_k=6",                                   # ovp4 x ovp4 (defaults)
    "dataflow=ws rows=3 cols=2",
    "rows=3 cols=2 b=ovp4-flint max_k=5",
    "dataflow=ws rows=2 cols=3 b=ovp4-flint",
    "rows=1 cols=1 b=ovp8 max_k=3",
    "dataflow=ws rows=3 cols=2 b=ovp8 pipeline=1",
    "rows=2 cols=3 a=int8 b=ovp4 max_k=4 pipeline=1",
    "dataflow=ws rows=1 cols=1 a=int8 b=ovp4-flint",
    "rows=3 cols=2 a=int8 b=ovp8 max_k=4",
    "dataflow=ws rows=2 cols=3 a=int8 b=ovp8",
])
def test_ovp_array_matches_golden(params):
    d = _check("pe=ovp " + params)
    # OliVe's layout: one pair decoder per row and per column, none inside the PEs
    rows, cols = d.params["rows"], d.params["cols"]
    a_dec = set(re.findall(r"\bovp_a_dec\d+\b", d.rtl.text))
    b_dec = set(re.findall(r"\bovp_b_dec\d+\b", d.rtl.text))
    assert len(a_dec) == (0 if d.params["a"] == "int8" else rows)
    assert len(b_dec) == cols


@pytest.mark.parametrize("params", [
    "rows=2 cols=3 max_k=6",                                   # dint4 x int8 (defaults)
    "dataflow=ws rows=3 cols=2 pipeline=1",
    "rows=1 cols=1 b=dint3 a=int4 max_k=3",
    "dataflow=ws rows=1 cols=1 b=dint8",
    "rows=3 cols=2 b=dint4-d0.25-0.5 a=int6 max_k=5 pipeline=1",
    "dataflow=ws rows=2 cols=3 b=dint5-d0.125 a=int2",
])
def test_dint_array_matches_golden(params):
    _check("pe=dint " + params)


@pytest.mark.parametrize("decode, w_bits, denormals", [
    (d, w, levels) for d in DINT_DECODES if d != DIntArrayPE().decode
    for w, levels in ((4, (0.5,)), (6, (0.25, 0.5)))])
def test_dint_other_decodes(decode, w_bits, denormals):
    """The variants not chosen for pe=dint (weights decoded on the column edge to shift
    selects or to the fixed-point magnitude) compute the same GEMM."""
    pe = DIntArrayPE(w_bits=w_bits, denormals=denormals, decode=decode)
    assert pe.b_inner_width > pe.b_width
    unit = OutputStationaryArray(rows=2, cols=2, pe=pe, max_k=4)
    kind = DIntOperands(IntFormat(8), DIntFormat(w_bits, denormals))
    vectors, _ = os_stream_vectors(2, 2, kind, acc_width=unit.acc_width, max_k=4, tiles=12,
                                   seed=5)
    assert run_vectors(from_component(unit, "systolic_array"), vectors).failed == 0


@pytest.mark.parametrize("params", ["pe=ovp a=int8 b=ovp4", "pe=ovp b=ovp8",
                                    "pe=dint", "pe=dint b=dint6-d0.25-0.5 a=int4"])
def test_fills_reach_the_step_bound(params):
    """The constant edge tiles hit the largest step the accumulator is sized for: a tile of
    ``max_k`` of them fills it to its limit."""
    pe, kind = _factory(params)
    assert kind.modes == pe.modes
    (mode,) = kind.modes
    largest = max(abs(int(kind.product(torch.tensor([[a]]), torch.tensor([[b]]), mode)))
                  for a, b in kind.fills(mode))
    assert largest == pe.step_bound


@pytest.mark.parametrize("params, broken", [
    # weights packed high-first while the array reads low-first: victims land on the wrong
    # element, outliers are read as normals
    ("pe=ovp a=int8 b=ovp4", OVPOperands(None, OVPFormat.int4(), b_order="high-first")),
    ("pe=ovp", OVPOperands(OVPFormat.int4(), OVPFormat.int4(), b_order="high-first")),
    # a golden dINT with another denormal level (0.25 instead of 0.5)
    ("pe=dint", DIntOperands(IntFormat(8), DIntFormat(4, (0.25,)))),
])
def test_wrong_vectors_are_caught(params, broken):
    pe, kind = _factory(params)
    unit = OutputStationaryArray(rows=2, cols=2, pe=pe, max_k=4)
    rtl = from_component(unit, "systolic_array")

    def vectors(k):
        return os_stream_vectors(2, 2, k, acc_width=unit.acc_width, max_k=4, tiles=20,
                                 seed=4)[0]
    assert run_vectors(rtl, vectors(kind)).failed == 0
    with pytest.raises(VerificationError, match=r"__payload\[\d+\]"):
        run_vectors(rtl, vectors(broken))


def test_same_order_on_both_sides_is_a_symmetry():
    """With OVP on both sides a pair's two products are summed, so reading *both* sides in
    the other order gives the same dot product: the nibble order only matters relative to
    the other side (the cases above)."""
    kind = OVPOperands(OVPFormat.int4(), OVPFormat.int4())
    flipped = OVPOperands(OVPFormat.int4(), OVPFormat.int4(), "high-first", "high-first")
    gen = torch.Generator().manual_seed(1)
    a, b = kind.draw(gen, (3, 5), "a", None), kind.draw(gen, (5, 2), "b", None)
    assert torch.equal(kind.product(a, b, None), flipped.product(a, b, None))
    skew = OVPOperands(OVPFormat.int4(), OVPFormat.int4(), "low-first", "high-first")
    assert not torch.equal(kind.product(a, b, None), skew.product(a, b, None))


@pytest.mark.parametrize("bad", [
    "pe=ovp a=ovp8", "pe=ovp a=ovp4-flint", "pe=ovp a=int4", "pe=ovp b=int8",
    "pe=ovp b=ovp5", "pe=ovp b=dint4", "pe=ovp modes=8x8",
    "pe=dint b=dint9", "pe=dint b=dint2", "pe=dint b=int4", "pe=dint b=ovp4",
    "pe=dint b=dint4-d0.3", "pe=dint b=dint4-d0.5-0.5", "pe=dint b=dint3-d0.25-0.5-0.125",
    "pe=dint b=dint4-dx", "pe=dint a=uint8", "pe=dint a=ovp4", "pe=dint a=int9",
])
def test_bad_formats(bad):
    with pytest.raises(ValueError):
        build("systolic-array", bad.split())


def test_pe_classes_reject_bad_arguments():
    with pytest.raises(ValueError):
        OVPArrayPE(None, None)
    with pytest.raises(ValueError):
        OVPArrayPE(nibble_order="middle-first")
    with pytest.raises(ValueError):
        DIntArrayPE(x_width=9)
    with pytest.raises(ValueError):
        DIntArrayPE(decode="edge")


@pytest.mark.parametrize("fmt", [OVPFormat.int4(), OVPFormat.flint4(), OVPFormat.int8()])
def test_ovp_draws_cover_outliers_and_victims(fmt):
    kind = OVPOperands(OVPFormat.int4(), fmt)
    lanes = kind.draw(torch.Generator().manual_seed(3), (400,), "b", None)
    codes = OVPOperands._unpack(lanes, fmt.bits, "low-first").reshape(-1, 2)
    ident = codes == fmt.identifier
    one_victim = ident.sum(1) == 1
    assert one_victim.sum() > 100                              # outlier-victim pairs
    assert ident[:, 0].logical_and(~ident[:, 1]).any()         # victim first
    assert ident[:, 1].logical_and(~ident[:, 0]).any()         # victim second
    top = (1 << fmt.bits) - 1
    assert (codes == top >> 1).any() and (codes == top).any()  # largest outliers, + and -
    assert (ident.sum(1) == 0).sum() > 50                      # normal pairs


@pytest.mark.parametrize("params, code_bits", [("pe=ovp a=int8 b=ovp8", {"b": 8}),
                                               ("pe=ovp", {"a": 4, "b": 4})])
def test_ovp_cell_benches_sweep_every_code_in_each_position(params, code_bits):
    """Every B element code (and A's, when OVP) sits in each pair position of some lane,
    beside the identifier and beside another code: a decoder that misreads one code value
    cannot pass the random bench."""
    vectors = build("array-pe", params.split()).vectors("random", 4000, 1)
    for side, bits in code_bits.items():
        lanes = torch.tensor(vectors.stimulus[side])
        first, second = lanes & ((1 << bits) - 1), lanes >> bits
        ident = 1 << (bits - 1)
        for position, (here, there) in enumerate([(first, second), (second, first)]):
            for beside_identifier in (True, False):
                partner = (there == ident) if beside_identifier else (there != ident)
                seen = set(here[partner].tolist())
                assert seen == set(range(1 << bits)), (side, position, beside_identifier)


def test_dint_draws_cover_denormals_and_extremes():
    kind = DIntOperands(IntFormat(8), DIntFormat(4))
    gen = torch.Generator().manual_seed(3)
    w, x = kind.draw(gen, (400,), "b", None), kind.draw(gen, (400,), "a", None)
    for code in (1, 9, 7, 15, 8):  # denormal +/-, largest +/-, negative zero
        assert (w == code).any()
    assert (x == -128).any() and (x == 127).any()
