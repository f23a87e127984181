"""FP8 (E4M3/E5M2) MAC: every finite code pair in a real simulator against golden.minifloat,
the proof against golden's fixed-point values, lint, parameters, and hand-broken RTL."""

import re

import pytest

from quantrtl.designs import build
from quantrtl.formats.minifloat import parse_float
from quantrtl.golden import minifloat
from quantrtl.hw.fp8 import FP8MAC, acc_width_for, frac_bits, product_width
from quantrtl.hw.rtl import RTL, from_component
from quantrtl.rigor import lint, prove
from quantrtl.sim.harness import run_vectors
from quantrtl.sim.vectors import Vectors

PROVED = ["acc=40"]  # the registered prove/rigor set: E4M3 x E4M3, wrap, pipeline 0


def verify(params, mode="exhaustive", count=0, seed=1):
    d = build("fp8-mac", params)
    vectors = d.vectors(mode, count, seed)
    result = run_vectors(d.rtl, vectors)
    assert result.failed == 0
    return d, vectors


def finite_pairs(w, x):
    wc = [c for c in range(256) if minifloat.finite(parse_float(w))[c]]
    xc = [c for c in range(256) if minifloat.finite(parse_float(x))[c]]
    return {(a, b) for a in wc for b in xc}


# Every finite (w, x) code pair alone with clear, then all again accumulated; narrow
# accumulators make the overflow runs wrap or saturate in both directions.
@pytest.mark.parametrize("params", [
    "w=e4m3 x=e4m3 acc=40",
    "w=e5m2 x=e4m3 acc=54 overflow=saturate pipeline=2",
])
def test_every_finite_code_pair(params):
    fmts = dict(re.findall(r"(?:^| )([wx])=(\w+)", params))
    w, x = fmts["w"], fmts["x"]
    d, vectors = verify(params.split())
    pairs = finite_pairs(w, x)
    assert len(pairs) == {"e4m3": 254, "e5m2": 248}[w] * 254
    stim = vectors.stimulus
    assert set(zip(stim["w"], stim["x"])) == pairs
    assert len(vectors) > 2 * len(pairs)  # plus the overflow runs
    assert d.params["acc"] == int(params.split("acc=")[1].split()[0])


@pytest.mark.parametrize("params", [
    "x=e5m2 pipeline=1",                        # auto accumulator: 62 bits
    "w=e4m3 x=e4m3 acc=38 overflow=saturate pipeline=4",
])
def test_random_runs(params):
    verify(params.split(), mode="random", count=20000, seed=3)


def test_default_accumulator_holds_4096_largest_products():
    e4, e5 = parse_float("e4m3"), parse_float("e5m2")
    assert (frac_bits(e4), frac_bits(e5)) == (minifloat.frac_bits(e4), minifloat.frac_bits(e5))
    assert product_width(e4, e4) == 37 and product_width(e5, e4) == 51
    assert acc_width_for(e4, e4) == 49
    d = build("fp8-mac", [])
    assert d.params["acc"] == 49 and "acc=49" in d.label
    assert build("fp8-mac", ["w=e5m2"]).params["acc"] == 62  # 63 capped
    unit = FP8MAC()
    assert unit.acc_width == 49 and unit.frac_bits == 18 and unit.safe_terms >= 4096
    assert from_component(unit, "fp8_mac").text == d.rtl.text
    # 4096 products of 448 x 448 (units of 2^-18) in 49 signed bits; 8192 do not fit
    largest = (448 << 9) ** 2
    assert 4096 * largest < 1 << 48 < 8192 * largest


def test_nan_and_infinity_codes_contribute_zero():
    """The unit's documented choice (golden raises on these codes): a zero product. The
    expected values are typed by hand: 1.0 x 1.0 = 2^18 (E4M3 x E4M3), 2^25 (E5M2 x E4M3)."""
    for w_fmt, one, specials, unit in (("e4m3", 0x38, [0x7F, 0xFF], 1 << 18),
                                       ("e5m2", 0x3C, [0x7C, 0xFC, 0x7E, 0xFF], 1 << 25)):
        d = build("fp8-mac", [f"w={w_fmt}"])
        w = [one, *specials, one, 0x7F]  # x = 0x7F is E4M3's NaN
        x = [0x38] * (len(specials) + 2) + [0x7F]
        n = len(w)
        acc = [unit] * (n - 2) + [2 * unit] * 2
        vectors = Vectors({"w": w, "x": x, "valid": [1] * n, "clear": [1] + [0] * (n - 1),
                           "rst": [0] * n}, {"acc": acc}, {"acc": True}, 1,
                          {"w": 0, "x": 0, "valid": 0, "clear": 0, "rst": 0}, 1, "exhaustive")
        assert run_vectors(d.rtl, vectors).failed == 0


def test_proof_against_golden_fixed_point_values():
    result = prove("fp8-mac", PROVED)
    assert result.proved, result.counterexample
    assert "induction" in result.method and "golden.minifloat" in result.method


def test_rtl_treating_a_finite_code_as_nan_is_disproved():
    """E4M3's NaN test ``m == 111`` broken to ``m == 110``: 0x7E (448) and 0xFE (-448), which
    no bench can drive as NaN, now give 0, and the NaN codes 0x7F, 0xFF 480. The proof finds it."""
    rtl = build("fp8-mac", PROVED).rtl
    site = "assign \\$2  = w[2:0] == 3'h7;"
    assert rtl.text.count(site) == 1
    result = prove("fp8-mac", PROVED, rtl=RTL(rtl.top, rtl.text.replace(site, site.replace(
        "3'h7", "3'h6"))))
    assert not result.proved
    assert re.search(r"w=0x[7f][ef] ", result.counterexample), result.counterexample


def test_rtl_without_the_sign_carry_in_is_disproved():
    rtl = build("fp8-mac", PROVED).rtl
    site = "+ negate;"
    assert rtl.text.count(site) == 1
    result = prove("fp8-mac", PROVED, rtl=RTL(rtl.top, rtl.text.replace(site, "+ 1'h0;")))
    assert not result.proved and "reference acc'=" in result.counterexample


@pytest.mark.parametrize("params", [[], ["w=e5m2", "pipeline=1"],
                                    ["x=e5m2", "acc=56", "overflow=saturate", "pipeline=3"]])
def test_lint_clean(params):
    d = build("fp8-mac", params)
    assert lint(d.rtl, design=d.label).warnings == []


@pytest.mark.parametrize("bad", [["w=e5m2", "x=e5m2"], ["acc=36"], ["w=e5m2", "acc=50"],
                                 ["acc=63"], ["acc=wide"], ["w=e3m2"], ["x=int8"],
                                 ["pipeline=5"], ["overflow=clip"]])
def test_bad_parameters(bad):
    with pytest.raises(ValueError):
        build("fp8-mac", bad)


@pytest.mark.parametrize("kwargs", [{"w_fmt": "e9m9"}, {"x_fmt": 8}, {"acc_width": 36},
                                    {"w_fmt": "e5m2", "x_fmt": "e5m2"}, {"pipeline": -1},
                                    {"overflow": "clamp"}, {"acc_width": True}])
def test_bad_unit_parameters(kwargs):
    with pytest.raises(ValueError):
        FP8MAC(**kwargs)
