"""MX block dot product (``mx-dot``, ``hw.mx.MXDot``): every element pair type in a real
simulator against golden.mx.block_dot, exhaustive element-code pairs at k=1, k=32,
pipelines, NaN scales and elements, bad parameters, lint, the proof, and hand-broken RTL."""

import re

import pytest
import torch

from quantrtl.designs import build
from quantrtl.designs.mx import MX_FORMATS, block_expected, mx_spec
from quantrtl.formats.minifloat import parse_float, parse_mx
from quantrtl.golden import mx
from quantrtl.hw.mx import MXDot, element_frac_bits, tree_levels
from quantrtl.hw.rtl import RTL
from quantrtl.rigor import lint, prove
from quantrtl.sim.harness import VerificationError, run_vectors


def verify(params, mode="random", count=600, seed=1):
    d = build("mx-dot", params)
    vectors = d.vectors(mode, count, seed)
    result = run_vectors(d.rtl, vectors)
    assert result.failed == 0
    return d, vectors


def unpack(word: int, bits: int, k: int, signed: bool) -> list[int]:
    codes = [(word >> (bits * i)) & ((1 << bits) - 1) for i in range(k)]
    return [c - 256 if signed and c >= 128 else c for c in codes]


# Every (A, B) element pair type at a small k, combinational.
@pytest.mark.parametrize("a", MX_FORMATS)
@pytest.mark.parametrize("b", MX_FORMATS)
def test_every_element_pair_type(a, b):
    verify([f"a={a}", f"b={b}", "k=3"], count=300, seed=7)


def test_k32_mxfp4_and_the_vector_kinds():
    d, vectors = verify([], count=1500, seed=2)
    assert d.params == {"a": "mxfp4", "b": "mxfp4", "k": 32, "pipeline": 0, "accumulate": None}
    exp, nan, s = vectors.expected["exp"], vectors.expected["nan"], vectors.expected["sum"]
    largest = 32 * 12 * 12  # 32 products of 6 x 6 in units of 2^-2
    assert max(s) == largest and min(s) == -largest
    assert 0 in s and any(n == 1 for n in nan)
    assert {254, -254, 256} <= set(exp)  # scales 254 + 254, 0 + 0, NaN 255 + 255
    assert max(exp) == 256 and min(exp) == -254
    scales = set(vectors.stimulus["a_scale"]) | set(vectors.stimulus["b_scale"])
    assert 255 in scales and 0 in scales


@pytest.mark.parametrize("params", [
    ["k=1", "a=mxfp4", "b=mxfp4"],
    ["k=1", "a=mxfp6-e2m3", "b=mxfp6-e3m2"],
    ["k=1", "a=mxfp6-e3m2", "b=mxfp4"],
    ["k=1", "a=mxfp4", "b=mxint8", "pipeline=0"],
])
def test_exhaustive_element_code_pairs_k1(params):
    d, vectors = verify(params, mode="exhaustive")
    a_spec, b_spec = (parse_mx(d.params[s]) for s in ("a", "b"))
    bits = [8 if s.name == "mxint8" else s.element.bits for s in (a_spec, b_spec)]
    pairs = set(zip(vectors.stimulus["a"], vectors.stimulus["b"]))
    assert len(pairs) == (1 << bits[0]) * (1 << bits[1])
    for port in ("a_scale", "b_scale"):  # every scale code on each port
        assert set(vectors.stimulus[port]) == set(range(256))


def test_exhaustive_refused_where_too_large():
    d = build("mx-dot", ["k=2"])
    assert not d.exhaustive_ok
    with pytest.raises(ValueError, match="exhaustive"):
        d.vectors("exhaustive", 0, 1)
    assert not build("mx-dot", ["k=1", "a=mxfp8-e4m3", "b=mxfp8-e5m2"]).exhaustive_ok


@pytest.mark.parametrize("params", [
    ["k=4", "pipeline=1"],
    ["k=4", "pipeline=2", "a=mxint8", "b=mxint8"],
    ["k=8", "pipeline=3", "a=mxfp8-e5m2", "b=mxfp8-e4m3"],
    ["k=5", "pipeline=2", "a=mxfp6-e2m3", "b=mxint8"],
    ["k=32", "pipeline=5", "a=mxfp8-e5m2", "b=mxfp8-e5m2"],
])
def test_pipelines(params):
    d, vectors = verify(params, count=800, seed=5)
    p = d.params["pipeline"]
    assert vectors.latency == p and "rst" in vectors.stimulus  # a reset pulse mid-run
    assert "clk" in {q.name for q in d.rtl.ports}


def test_combinational_without_pipeline():
    d = build("mx-dot", ["k=4"])
    assert not d.rtl.clocked and d.vectors("random", 10, 1).latency == 0


def test_nan_scale_and_nan_elements_set_the_flag():
    # a NaN scale on either side, and E4M3 / E5M2 NaN and infinity elements
    e4, e5 = mx_spec("mxfp8-e4m3", 2), mx_spec("mxfp8-e5m2", 2)
    one4 = 0x38  # 1.0 in E4M3
    assert block_expected([one4, one4], 255, [one4, one4], 127, e4, e4)[2] == 1
    assert block_expected([one4, one4], 127, [one4, one4], 255, e4, e4)[2] == 1
    assert block_expected([one4, 0x7F], 127, [one4, one4], 127, e4, e4) == (512 * 512, 0, 1)
    assert block_expected([0x7C, one4], 127, [one4, 0], 127, e5, e4)[2] == 1  # E5M2 +inf
    assert block_expected([one4, one4], 127, [one4, one4], 127, e4, e4) == (2 * 512 * 512,
                                                                            0, 0)
    d = build("mx-dot", ["a=mxfp8-e4m3", "b=mxfp8-e5m2", "k=2"])
    vectors = d.vectors("random", 400, 3)
    nan = vectors.expected["nan"]
    assert sum(nan) > 20
    a_codes = [unpack(w, 8, 2, False) for w in vectors.stimulus["a"]]
    assert any(0x7F in c or 0xFF in c for c in a_codes)  # a NaN element is driven
    assert run_vectors(d.rtl, vectors).failed == 0


def test_outputs_equal_golden_block_dot():
    """``(sum, exp - frac_a - frac_b)`` is ``golden.mx.block_dot``'s ``(integer,
    exponent)`` for finite blocks, the unit's contract."""
    d, vectors = verify(["a=mxfp6-e3m2", "b=mxint8", "k=4"], count=200, seed=11)
    a_spec, b_spec = mx_spec("mxfp6-e3m2", 4), mx_spec("mxint8", 4)
    frac = element_frac_bits(a_spec) + element_frac_bits(b_spec)
    assert frac == 4 + 6
    checked = 0
    for t in range(len(vectors)):
        if vectors.expected["nan"][t]:
            continue
        a = unpack(vectors.stimulus["a"][t], 6, 4, False)
        b = unpack(vectors.stimulus["b"][t], 8, 4, True)
        golden = mx.block_dot(torch.tensor(a), vectors.stimulus["a_scale"][t],
                              torch.tensor(b), vectors.stimulus["b_scale"][t], a_spec, b_spec)
        assert golden == (vectors.expected["sum"][t], vectors.expected["exp"][t] - frac)
        checked += 1
    assert checked > 100


def test_unit_parameters_and_widths():
    unit = MXDot(a_fmt="mxfp4", b_fmt=parse_float("e2m1"), k=32)
    assert (unit.frac_bits, unit.product_width, unit.sum_width, unit.latency) == (2, 8, 14, 0)
    assert MXDot(a_fmt="mxint8", b_fmt="mxint8", k=64).sum_width == 15 + 1 + 6
    assert MXDot(a_fmt="e5m2", b_fmt="e5m2", k=64, pipeline=6).sum_width == 64 + 1 + 6
    assert [tree_levels(k) for k in (1, 2, 3, 4, 5, 32, 33, 64)] == [0, 1, 2, 2, 3, 5, 6, 6]


@pytest.mark.parametrize("kwargs, message", [
    ({"a_fmt": "mxfp3"}, "unknown MX element type"),
    ({"b_fmt": "int4"}, "unknown MX element type"),
    ({"a_fmt": 7}, "unknown MX element type"),
    ({"k": 0}, "k must be"),
    ({"k": 65}, "k must be"),
    ({"k": True}, "k must be"),
    ({"k": 4, "pipeline": 3}, "pipeline must be 0..2"),
    ({"k": 1, "pipeline": 1}, "pipeline must be 0..0"),
    ({"pipeline": -1}, "pipeline must be"),
])
def test_bad_unit_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MXDot(**kwargs)


@pytest.mark.parametrize("params, message", [
    (["a=mxfp5"], "parameter a takes one of"),
    (["b=int8"], "parameter b takes one of"),
    (["k=0"], "k takes a block size 1..64"),
    (["k=100"], "k takes a block size 1..64"),
    (["k=8", "pipeline=4"], "pipeline must be 0..3"),
])
def test_bad_design_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        build("mx-dot", params)


@pytest.mark.parametrize("params", [
    [], ["a=mxfp8-e5m2", "b=mxfp8-e4m3", "k=8", "pipeline=3"],
    ["a=mxint8", "b=mxint8", "k=4", "pipeline=2"],
    ["a=mxint8", "b=mxfp6-e2m3", "k=3", "pipeline=1"],
])
def test_lint_clean(params):
    d = build("mx-dot", params)
    assert lint(d.rtl, design=d.label).warnings == []


@pytest.mark.parametrize("params", [["k=1"], ["k=2", "pipeline=1"],
                                    ["a=mxfp6-e2m3", "b=mxfp6-e2m3", "k=1"],
                                    ["a=mxint8", "b=mxint8", "k=1"]])
def test_proves_against_golden(params):
    result = prove("mx-dot", params)
    assert result.proved, result.counterexample


def _broken(d, pattern: str, replacement: str) -> RTL:
    text, n = re.subn(pattern, replacement, d.rtl.text)
    assert n >= 1, pattern
    return RTL(d.rtl.top, text)


def test_broken_exponent_add_fails():
    d = build("mx-dot", ["k=4"])
    rtl = _broken(d, r"- 8'hfe;", "- 8'hfd;")  # a_scale + b_scale - 253
    with pytest.raises(VerificationError, match="exp"):
        run_vectors(rtl, d.vectors("random", 300, 1))
    result = prove("mx-dot", ["k=1"], rtl=_broken(build("mx-dot", ["k=1"]), r"- 8'hfe;",
                                                     "- 8'hfd;"))
    assert not result.proved and "exp: golden" in result.counterexample


def test_broken_sign_carry_fails():
    """Drop the carry-in that completes a negative lane: the sum is off by one."""
    d = build("mx-dot", ["k=4"])
    text = d.rtl.text
    carry = re.search(r"^\s*assign .*\+.*\bneg0\b.*$", text, re.M)  # x + y + neg0
    assert carry is not None
    line = carry.group(0)
    rtl = RTL(d.rtl.top, text.replace(line, re.sub(r"\bneg0\b", "1'h0", line), 1))
    with pytest.raises(VerificationError, match="sum"):
        run_vectors(rtl, d.vectors("random", 300, 1))
