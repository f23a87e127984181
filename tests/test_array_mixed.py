"""Systolic arrays of the runtime mixed-precision PE (``pe=mixed``): GEMM tiles whose mode
(8x8, 4x8, 4x4) changes from tile to tile, every result row checked against
``golden/mixed.py``, bit for bit."""

import dataclasses

import pytest
from amaranth.hdl import Cat, Mux

from quantrtl.designs import build
from quantrtl.hw.array import OutputStationaryArray, WeightStationaryArray
from quantrtl.hw.pe_mixed import MixedPE
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm import os_stream_vectors, ws_stream_vectors
from quantrtl.sim.gemm_mixed import MixedOperands
from quantrtl.sim.harness import VerificationError, run_vectors


def _checked(params, count=1500, seed=7):
    d = build("systolic-array", ["pe=mixed", *params.split()])
    vectors = d.vectors("random", count, seed)
    assert run_vectors(d.rtl, vectors).failed == 0
    return d, vectors


@pytest.mark.parametrize("params", [
    "rows=2 cols=3 max_k=6",
    "rows=3 cols=2 max_k=3",
    "rows=1 cols=1 max_k=4",
    "rows=2 cols=2 max_k=2 modes=8x8,4x4",
    "dataflow=ws rows=2 cols=3",
    "dataflow=ws rows=3 cols=2",
    "dataflow=ws rows=1 cols=1",
])
def test_mixed_array_matches_golden_gemm(params):
    d, vectors = _checked(params)
    out = "o__valid" if d.params["dataflow"] == "os" else "c__valid"
    assert sum(vectors.expected[out]) >= 4 * d.params["rows"]  # results really came out


def test_modes_change_between_tiles():
    """The random tiles of one bench use every mode, back to back."""
    gen_modes = []
    kind = MixedOperands()

    class Spy(MixedOperands):
        def product(self, a, b, mode):
            gen_modes.append(mode)
            return kind.product(a, b, mode)

    os_stream_vectors(2, 2, Spy(), acc_width=20, max_k=4, tiles=30, seed=3)
    random_tiles = gen_modes[4 * 3:]  # after the edge tiles (4 fills x 3 modes)
    assert set(random_tiles) == {"8x8", "4x8", "4x4"}
    assert sum(x != y for x, y in zip(random_tiles, random_tiles[1:])) >= 10


def test_accumulator_sized_for_the_8x8_mode():
    d = build("systolic-array", ["pe=mixed", "rows=2", "cols=2", "max_k=64"])
    assert MixedPE().step_bound == 128 * 128
    assert "o__payload" in {p.name for p in d.rtl.ports}
    pe = MixedPE()
    assert [pe.elements(m) for m in pe.modes] == [1, 2, 4]
    assert (pe.a_width, pe.b_width, pe.mode_width) == (16, 16, 2)


@pytest.mark.parametrize("bad, match", [
    ("modes=8x8,2x2", "cannot run mode '2x2'"),
    ("modes=8x4", "cannot run mode"),
    ("a=int8", "fixed lane formats"),
    ("b=int4", "fixed lane formats"),
])
def test_bad_mixed_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        build("systolic-array", ["pe=mixed", *bad.split()])


def test_flipped_mode_field_is_caught():
    """Vectors whose mode field says 4x8 where the tile is 8x8 (and back) must fail."""
    rows, cols = 2, 2
    d = build("systolic-array", ["pe=mixed", f"rows={rows}", f"cols={cols}", "max_k=4"])
    vectors = d.vectors("random", 400, 5)
    offset = 16 * (rows + cols)  # payload: a, b, mode (2 bits), last

    def flip(word):
        mode = (word >> offset) & 3
        new = {0: 1, 1: 0}.get(mode, mode)
        return word & ~(3 << offset) | new << offset

    words = vectors.stimulus["i__payload"]
    broken = dataclasses.replace(vectors, stimulus={**vectors.stimulus,
                                                    "i__payload": [flip(w) for w in words]})
    with pytest.raises(VerificationError, match=r"o__payload\[\d+\]"):
        run_vectors(d.rtl, broken)


class _SwappedBytes(MixedPE):
    """A wiring bug in one mode: 4x8 pairs a0 with b1 and a1 with b0."""

    def step(self, m, a, b, mode):
        return super().step(m, a, Mux(mode == 1, Cat(b[8:16], b[0:8]), b), mode)


class _SignedLowNibble(MixedPE):
    """A sign bug in one mode: 8x8 reads the low nibble of ``a`` as signed (its bit 3
    weighs -8, not +8), so the step is short by ``16 * a[3] * b``."""

    def step(self, m, a, b, mode):
        s = super().step(m, a, b, mode)
        return Mux(mode == 0, s - (Mux(a[3], b[0:8].as_signed(), 0) << 4), s)


class _WrongShift(MixedPE):
    """A weight bug in one mode: 8x8 adds its high-nibble product at weight 2^4, not 2^8."""

    def combine(self, m, products, wide, quad):
        pa, pb, pc, pd = products
        return pa + Mux(wide, pd << 4, pd) + Mux(quad, pb + pc, (pb + pc) << 4)


@pytest.mark.parametrize("pe_class, dataflow", [(_SwappedBytes, "ws"),
                                                (_SignedLowNibble, "os"),
                                                (_WrongShift, "os")])
def test_broken_pe_is_caught(pe_class, dataflow):
    rows, cols, kind = 2, 2, MixedOperands()
    if dataflow == "os":
        unit = OutputStationaryArray(rows=rows, cols=cols, pe=pe_class(), max_k=4)
        vectors, _ = os_stream_vectors(rows, cols, kind, acc_width=unit.acc_width, max_k=4,
                                       tiles=8, seed=4)
    else:
        unit = WeightStationaryArray(rows=rows, cols=cols, pe=pe_class())
        vectors, _ = ws_stream_vectors(rows, cols, kind, acc_width=unit.acc_width, batches=8,
                                       seed=4)
    with pytest.raises(VerificationError):
        run_vectors(from_component(unit, "systolic_array"), vectors)


def test_broken_pe_bench_passes_the_real_pe():
    """The broken-PE vectors themselves are right: the real PE passes them."""
    good = OutputStationaryArray(rows=2, cols=2, pe=MixedPE(), max_k=4)
    vectors, _ = os_stream_vectors(2, 2, MixedOperands(), acc_width=good.acc_width, max_k=4,
                                   tiles=8, seed=4)
    assert run_vectors(from_component(good, "systolic_array"), vectors).failed == 0
