"""AMXFP4 block dot product (``amx-dot``, ``hw.amx.AMXDot``) in a real simulator against
golden.amx.block_dot: exhaustive element-code pairs at k=1 with every scale code on each
port, random / quantized / all-positive / all-negative / zero blocks at k=32, pipelines,
E4M3 scales, non-finite scales, bad parameters, lint, and hand-broken RTL (no proof: see
the registration)."""

import re

import pytest
import torch
from amaranth.hdl import Fragment
from checks import verify_design

from quantrtl.designs import build
from quantrtl.designs.mx import amx_expected
from quantrtl.golden import amx
from quantrtl.hw.amx import AMXDot
from quantrtl.hw.rtl import RTL
from quantrtl.rigor import lint, prove
from quantrtl.sim.harness import VerificationError, run_vectors


def codes(word: int, k: int) -> list[int]:
    return [(word >> (4 * i)) & 0xF for i in range(k)]


def blocks(vectors, k):
    st = vectors.stimulus
    for t in range(len(vectors)):
        yield (t, codes(st["a"][t], k), st["a_pos"][t], st["a_neg"][t], codes(st["b"][t], k),
               st["b_pos"][t], st["b_neg"][t])


def test_k32_and_the_block_kinds():
    d, vectors = verify_design("amx-dot", [], "random", 900, seed=2)
    assert d.params == {"a_scale": "e5m2", "b_scale": "e5m2", "k": 32, "pipeline": 0}
    seen = {"positive": 0, "negative": 0, "zero": 0, "nan": sum(vectors.expected["nan"]),
            "mixed": 0}
    for _, a, *_ in blocks(vectors, 32):
        values = [c for c in a if c & 7]
        if not values:
            seen["zero"] += 1
        elif all(c < 8 for c in values):
            seen["positive"] += 1
        elif all(c >= 8 for c in values):
            seen["negative"] += 1
        else:
            seen["mixed"] += 1
    assert all(n >= 20 for n in seen.values()), seen


@pytest.mark.parametrize("params, seed", [
    (["k=4"], 3),
    (["k=8", "pipeline=2", "a_scale=e4m3"], 4),
    (["k=3", "pipeline=1", "b_scale=e4m3"], 5),
    (["k=64", "pipeline=1", "a_scale=e4m3", "b_scale=e4m3"], 6),
])
def test_configurations(params, seed):
    d, vectors = verify_design("amx-dot", params, "random", 700, seed=seed)
    assert vectors.latency == d.params["pipeline"]


def test_exhaustive_k1():
    """Every (a, b) E2M1 code pair with every scale code on each of the four scale ports."""
    d, vectors = verify_design("amx-dot", ["k=1"], "exhaustive")
    st = vectors.stimulus
    assert len(set(zip(st["a"], st["b"]))) == 256
    for port in ("a_pos", "a_neg", "b_pos", "b_neg"):
        assert set(st[port]) == set(range(256))


def test_expected_values_are_golden_block_dot():
    """The vectors' expected sums (from golden's tables) equal golden.amx.block_dot's
    integer, block by block, and its exponent is ``-frac_bits`` of the unit."""
    for params in (["k=5"], ["k=3", "a_scale=e4m3"], ["k=32", "b_scale=e4m3"]):
        d = build("amx-dot", params)
        vectors = d.vectors("random", 300, 7)
        unit = AMXDot(a_scale_fmt=d.params["a_scale"], b_scale_fmt=d.params["b_scale"],
                      k=d.params["k"])
        checked = 0
        for t, a, ap, an, b, bp, bn in blocks(vectors, d.params["k"]):
            want = amx_expected(a, ap, an, b, bp, bn, d.params["a_scale"], d.params["b_scale"])
            assert want == (vectors.expected["sum"][t], vectors.expected["nan"][t])
            if not want[1]:
                _, exponent = amx.block_dot(torch.tensor(a), ap, an, torch.tensor(b), bp, bn,
                                            a_scale_fmt=d.params["a_scale"],
                                            b_scale_fmt=d.params["b_scale"])
                assert exponent == -unit.frac_bits
                checked += 1
        assert checked > 150
        Fragment.get(unit, None)


def test_quantized_blocks_round_trip():
    """A block golden.amx.quantize made dots to the float64 dot of its dequantized values."""
    x = torch.tensor([3.0, -0.25, 0.0, -7.5, 1.0, 2.5, -0.0, 0.125])
    y = torch.tensor([-1.0, 4.0, 2.0, 0.5, -3.0, 0.0, 1.5, -2.0])
    cx, px, nx = amx.quantize(x, block=8)
    cy, py, ny = amx.quantize(y, block=8)
    s, nan = amx_expected(cx.tolist(), int(px[0]), int(nx[0]), cy.tolist(), int(py[0]),
                          int(ny[0]), "e5m2", "e5m2")
    dx = amx.dequantize(cx, px, nx, block=8)
    dy = amx.dequantize(cy, py, ny, block=8)
    assert nan == 0 and s * 2.0 ** -34 == float((dx * dy).sum())


def test_unit_widths():
    unit = AMXDot(k=32)
    assert (unit.frac_bits, unit.class_width, unit.sum_width, unit.latency) == (34, 13, 77, 0)
    unit4 = AMXDot(a_scale_fmt="e4m3", b_scale_fmt="e4m3", k=1, pipeline=2)
    assert (unit4.frac_bits, unit4.sum_width, unit4.latency) == (20, 44, 2)
    Fragment.get(unit, None)
    Fragment.get(unit4, None)


@pytest.mark.parametrize("kwargs, message", [
    ({"a_scale_fmt": "e8m0"}, "AMXFP4 scales are one of"),
    ({"b_scale_fmt": "e3m2"}, "AMXFP4 scales are one of"),
    ({"k": 0}, "block size k must be"),
    ({"k": 65}, "block size k must be"),
    ({"pipeline": 3}, "pipeline must be 0..2"),
    ({"pipeline": True}, "pipeline must be 0..2"),
])
def test_bad_unit_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AMXDot(**kwargs)


@pytest.mark.parametrize("params, message", [
    (["a_scale=e8m0"], "parameter a_scale takes one of"),
    (["k=0"], "k takes a block size 1..64"),
    (["pipeline=3"], "pipeline must be 0..2"),
])
def test_bad_design_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        build("amx-dot", params)


def test_exhaustive_refused_above_k1():
    with pytest.raises(ValueError, match="exhaustive vectors need k=1"):
        build("amx-dot", ["k=2"]).vectors("exhaustive", 0, 1)


@pytest.mark.parametrize("params", [[], ["a_scale=e4m3", "k=8", "pipeline=2"],
                                    ["b_scale=e4m3", "k=3", "pipeline=1"],
                                    ["k=2", "a_scale=e4m3", "b_scale=e4m3"]])
def test_lint_clean(params):
    d = build("amx-dot", params)
    assert lint(d.rtl, design=d.label).warnings == []


def test_no_proof_says_why():
    with pytest.raises(ValueError, match="no reference for amx-dot .*exhaustively at k=1"):
        prove("amx-dot", ["k=1"])


def test_broken_scale_selection_fails():
    """The classes with a negative ``a`` element multiply by ``a_pos``'s significand."""
    d = build("amx-dot", ["k=4"])
    text = d.rtl.text
    pos = re.search(r"assign a_pos_sig = (\\\$\d+ \[2:0\]);", text).group(1)
    neg = re.search(r"assign a_neg_sig = (\\\$\d+ \[2:0\]);", text).group(1)
    lines = [line.replace(neg, pos) if re.search(r"= c1\d_t\d+_0 \* ", line) else line
             for line in text.splitlines()]
    rtl = RTL(d.rtl.top, "\n".join(lines) + "\n")
    assert rtl.text != text
    with pytest.raises(VerificationError, match="sum"):
        run_vectors(rtl, d.vectors("random", 300, 1))
