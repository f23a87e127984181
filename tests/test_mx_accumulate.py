"""``mx-dot accumulate=1`` (``hw.mx.MXDotFP32``, ``hw.fp32``): MX block dot products summed
in FP32, in a real simulator against golden.mx (``block_fp32`` added in binary32 as
``dot_fp32`` adds) on random and adversarial block sequences, the vectors' coverage of
ties, cancellation, overflow, subnormals, NaN and infinities, bad parameters, lint, and
hand-broken RTL."""

import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from amaranth.hdl import Fragment
from checks import verify_design

from quantrtl.designs import build
from quantrtl.designs.mx import fp32_bits, mx_spec
from quantrtl.golden import mx
from quantrtl.hw.mx import MXDotFP32
from quantrtl.hw.rtl import RTL
from quantrtl.rigor import lint, prove
from quantrtl.sim.harness import VerificationError, run_vectors

NAN, INF = 0x7FC00000, 0x7F800000


def verify(params, count=1500, seed=1, simulator=None):
    return verify_design("mx-dot", [*params, "accumulate=1"], "random", count, seed,
                         simulator=simulator)


def value(bits: int) -> np.float32:
    return np.frombuffer(bits.to_bytes(4, "little"), dtype=np.float32)[0]


def unpack(word: int, bits: int, k: int, signed: bool) -> list[int]:
    codes = [(word >> (bits * i)) & ((1 << bits) - 1) for i in range(k)]
    return [c - 256 if signed and c >= 128 else c for c in codes]


@pytest.mark.parametrize("params, seed", [
    ([], 1),                                                   # MXFP4 k=32
    (["k=4"], 2),
    (["a=mxfp8-e5m2", "b=mxfp8-e5m2", "k=8", "pipeline=3"], 3),  # infinities, 71-bit sums
    (["a=mxfp8-e4m3", "b=mxfp8-e5m2", "k=2", "pipeline=1"], 4),
    (["a=mxint8", "b=mxint8", "k=4", "pipeline=2"], 5),
    (["a=mxfp8-e5m2", "b=mxint8", "k=3", "pipeline=1"], 6),
    (["a=mxfp6-e2m3", "b=mxfp6-e3m2", "k=5"], 7),
    (["a=mxfp4", "b=mxfp8-e4m3", "k=32", "pipeline=5"], 8),
])
def test_accumulator_against_golden(params, seed):
    d, vectors = verify(params, seed=seed)
    assert vectors.latency == d.params["pipeline"] + 1
    assert sum(vectors.stimulus["rst"]) == 1 and sum(vectors.stimulus["clear"]) > 50


def test_verilator_too():
    verify(["a=mxfp8-e5m2", "b=mxfp8-e4m3", "k=4", "pipeline=2"], count=1000, seed=9,
           simulator="verilator")


def _fp32_steps(d, vectors):
    """Per valid block that the accumulator took (no reset around it): ``(before, block,
    after)`` as float32, the block from golden.mx.block_fp32."""
    p = d.params
    a_spec, b_spec = mx_spec(p["a"], p["k"]), mx_spec(p["b"], p["k"])
    bits = [8 if s.name.startswith("mxint8") else s.element.bits for s in (a_spec, b_spec)]
    st, acc = vectors.stimulus, vectors.expected["acc"]
    r = st["rst"].index(1)
    steps = []
    for t in range(1, len(acc)):
        if not st["valid"][t] or r - vectors.latency < t <= r + 1:
            continue
        a = unpack(st["a"][t], bits[0], p["k"], a_spec.name.startswith("mxint8"))
        b = unpack(st["b"][t], bits[1], p["k"], b_spec.name.startswith("mxint8"))
        block = mx.block_fp32(torch.tensor(a), st["a_scale"][t], torch.tensor(b),
                              st["b_scale"][t], a_spec, b_spec)
        before = np.float32(0.0) if st["clear"][t] else value(acc[t - 1])
        steps.append((before, block, value(acc[t]), (a, st["a_scale"][t], b,
                                                     st["b_scale"][t])))
    return steps, a_spec, b_spec


def _is_tie(exact: Fraction) -> bool:
    """Whether ``exact`` lies halfway between two neighbouring finite FP32 values."""
    x = np.float32(float(exact))
    if not np.isfinite(x) or Fraction(float(x)) == exact:
        return False
    if Fraction(float(x)) < exact:
        lo, hi = x, np.nextafter(x, np.float32(np.inf))
    else:
        lo, hi = np.nextafter(x, np.float32(-np.inf)), x
    return np.isfinite(hi) and exact == (Fraction(float(lo)) + Fraction(float(hi))) / 2


def test_vectors_cover_the_adversarial_cases():
    """The bench's sequences reach what the issue asks for: additions that tie, blocks
    whose own rounding ties, cancellation to +0, overflow to inf from finite operands,
    subnormal sums, NaN blocks, E5M2 infinite blocks and inf - inf."""
    d = build("mx-dot", ["a=mxfp8-e5m2", "b=mxfp8-e5m2", "k=4", "accumulate=1"])
    vectors = d.vectors("random", 3000, 1)
    steps, a_spec, b_spec = _fp32_steps(d, vectors)
    count = dict.fromkeys(("tie", "block_tie", "cancel", "overflow", "subnormal", "nan_block",
                           "inf_block", "inf_minus_inf"), 0)
    with np.errstate(over="ignore", invalid="ignore"):
        for before, block, after, (a, sa, b, sb) in steps:
            finite = np.isfinite(before) and np.isfinite(block)
            if finite and _is_tie(Fraction(float(before)) + Fraction(float(block))):
                count["tie"] += 1
            if finite and before != 0 and block != 0 and after == 0:
                count["cancel"] += 1
            if finite and np.isinf(after):
                count["overflow"] += 1
            if after != 0 and abs(after) < np.finfo(np.float32).tiny:
                count["subnormal"] += 1
            if np.isnan(block):
                count["nan_block"] += 1
            if np.isinf(block):
                count["inf_block"] += 1
            if np.isinf(before) and np.isinf(block) and before != block:
                count["inf_minus_inf"] += 1
            if np.isfinite(block) and block != 0:
                integer, exponent = mx.block_dot(torch.tensor(a), sa, torch.tensor(b), sb,
                                                 a_spec, b_spec)
                count["block_tie"] += _is_tie(Fraction(integer) * Fraction(2) ** exponent)
    print(count)
    assert all(n >= 3 for n in count.values()), count


def test_runs_equal_golden_dot_fp32():
    """A run of valid blocks from a clear ends at golden.mx.dot_fp32 of its blocks."""
    d = build("mx-dot", ["a=mxfp6-e3m2", "b=mxint8", "k=4", "accumulate=1"])
    vectors = d.vectors("random", 1500, 3)
    st, acc = vectors.stimulus, vectors.expected["acc"]
    a_spec, b_spec = mx_spec("mxfp6-e3m2", 4), mx_spec("mxint8", 4)
    r = st["rst"].index(1)
    starts = [t for t in range(len(acc)) if st["clear"][t]] + [len(acc)]
    checked = 0
    for s, e in zip(starts, starts[1:]):
        if not all(st["valid"][s:e]) or s <= r + 1 < e + 1:
            continue
        a = sum((unpack(w, 6, 4, False) for w in st["a"][s:e]), [])
        b = sum((unpack(w, 8, 4, True) for w in st["b"][s:e]), [])
        golden = mx.dot_fp32(torch.tensor(a), torch.tensor(st["a_scale"][s:e]),
                             torch.tensor(b), torch.tensor(st["b_scale"][s:e]), a_spec, b_spec)
        assert fp32_bits(golden) == acc[e - 1]
        checked += 1
    assert checked > 20


def test_fp32_bits():
    assert fp32_bits(np.float32("nan")) == NAN and fp32_bits(-np.float32("nan")) == NAN
    assert fp32_bits(np.float32("-inf")) == 0x80000000 | INF
    assert fp32_bits(np.float32(-0.0)) == 0x80000000 and fp32_bits(1.0) == 0x3F800000
    assert fp32_bits(np.float32(2.0 ** -149)) == 1


def test_accumulate_off_is_the_exact_unit():
    """accumulate=0 (or unset) builds the exact block unit, its Verilog and label unchanged."""
    plain, off = build("mx-dot", ["k=2"]), build("mx-dot", ["k=2", "accumulate=0"])
    assert plain.rtl.sha == off.rtl.sha and plain.label == off.label
    assert plain.label == "mx-dot a=mxfp4 b=mxfp4 k=2 pipeline=0"
    on = build("mx-dot", ["k=2", "accumulate=1"])
    assert on.label.endswith("accumulate=1") and on.rtl.top == "mx_dot_fp32"
    assert {q.name for q in on.rtl.ports} >= {"clk", "rst", "clear", "acc"}


@pytest.mark.parametrize("params, message", [
    (["accumulate=2"], "accumulate takes 0 or 1"),
    (["accumulate=-1"], "accumulate takes 0 or 1"),
    (["accumulate=x"], "accumulate takes an integer"),
    (["accumulate=1", "k=8", "pipeline=4"], "pipeline must be 0..3"),
])
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        build("mx-dot", params)


def test_no_exhaustive_vectors_and_no_proof():
    d = build("mx-dot", ["k=1", "accumulate=1"])
    assert not d.exhaustive_ok
    with pytest.raises(ValueError, match="no exhaustive vectors"):
        d.vectors("exhaustive", 0, 1)
    with pytest.raises(ValueError, match="random vectors need a positive count"):
        d.vectors("random", 0, 1)
    with pytest.raises(ValueError, match="no reference for mx-dot accumulate=1"):
        prove("mx-dot", ["k=1", "accumulate=1"])


def test_unit_latency_and_bad_unit_parameters():
    unit = MXDotFP32(k=8, pipeline=2)
    assert unit.latency == 3 and unit.dot.sum_width == 8 + 1 + 3
    Fragment.get(unit, None)  # elaborated: no UnusedElaboratable warning
    with pytest.raises(ValueError, match="pipeline must be 0..2"):
        MXDotFP32(k=4, pipeline=3)


@pytest.mark.parametrize("params", [["k=2"], ["a=mxfp8-e5m2", "b=mxfp8-e4m3", "k=4",
                                              "pipeline=2"], ["a=mxint8", "b=mxint8", "k=3"]])
def test_lint_clean(params):
    d = build("mx-dot", [*params, "accumulate=1"])
    assert lint(d.rtl, design=d.label).warnings == []


def _broken(d, pattern: str, replacement: str) -> RTL:
    text, n = re.subn(pattern, replacement, d.rtl.text)
    assert n == 1, pattern
    return RTL(d.rtl.top, text)


@pytest.mark.parametrize("signal", ["block_rnd_sticky", "acc_add_rnd_sticky"])
def test_broken_sticky_fails(signal):
    """A rounder that forgets its sticky bit rounds every above-half case as a tie: the
    block rounding's and the addition's are both caught."""
    d = build("mx-dot", ["a=mxfp8-e5m2", "b=mxfp8-e4m3", "k=4", "accumulate=1"])
    rtl = _broken(d, rf"assign {signal} = .*;", f"assign {signal} = 1'h0;")
    with pytest.raises(VerificationError, match="acc"):
        run_vectors(rtl, d.vectors("random", 1500, 1))
