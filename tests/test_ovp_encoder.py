"""The OVP pair encoder (hw.ovp_encoder.OVPPairEncoder, design ``ovp-encoder``): simulated
against golden.ovp.encode through the design registry, against hand-worked codes typed from
docs/formats.md, proved equal to golden (and a broken RTL disproved), linted.

The reference is always golden (or the spec by hand), never the hardware decoder."""

import re
from pathlib import Path

import pytest
import torch

from quantrtl.designs import build
from quantrtl.golden.ovp import OVPFormat, encode
from quantrtl.hw.ovp import OVPParams
from quantrtl.hw.ovp_encoder import OVPPairEncoder
from quantrtl.hw.rtl import RTL
from quantrtl.rigor import lint, prove
from quantrtl.sim.harness import VerificationError, run_vectors, simulator_available
from quantrtl.sim.vectors import Vectors


def verify(params, mode="exhaustive", count=0, seed=1):
    design = build("ovp-encoder", params)
    vectors = design.vectors(mode, count, seed)
    assert run_vectors(design.rtl, vectors).failed == 0
    return design, vectors


def _pack_x(x0: int, x1: int, width: int) -> int:
    mask = (1 << width) - 1
    return (x0 & mask) | (x1 & mask) << width


def _pack_pair(first: int, second: int, bits: int, order: str = "low-first") -> int:
    low, high = (first, second) if order == "low-first" else (second, first)
    return low | high << bits


# --- hand-worked codes from formats.md --------------------------------------------------
# (element 2k, element 2k+1) in LSB units -> (code of 2k, code of 2k+1), worked by hand from
# the spec's tables: rounding to nearest on normals ∪ outliers, ties to the larger value,
# saturation, identifier 10..0 for the victim, the first of two outliers kept.

OVP4 = [  # int4 normals -7..7; E2M1 bias 2: 12 (e0 m1), 16, 24, 32, 48, 64, 96 (e3 m1)
    ((7.25, 0), (0x7, 0x0)),      # nearest normal 7
    ((-7.25, 3), (0x9, 0x3)),     # -7, two's complement 1001
    ((7.5, -7.5), (0x7, 0x9)),    # no normal 8: the grid goes 7, 12
    ((9.25, 1), (0x7, 0x1)),      # below the 7/12 midpoint 9.5: normal
    ((9.5, 1), (0x1, 0x8)),       # tie 7 | 12 -> 12 = (2+1)<<2: e=0 m=1; neighbour victim
    ((-9.5, 1), (0x9, 0x1)),      # tie -12 | -7 -> the larger, -7: normal
    ((-9.75, 2), (0x9, 0x8)),     # -12: s=1 e=0 m=1 (same bits as -7, neighbour = id)
    ((10, 0), (0x1, 0x8)),        # 10 -> 12
    ((0, 14), (0x8, 0x2)),        # tie 12 | 16 -> 16 = 2<<3: e=1 m=0; first is the victim
    ((0, -14), (0x8, 0x9)),       # tie -16 | -12 -> -12
    ((2.5, -2.5), (0x3, 0xE)),    # ties: 3 and -2
    ((-0.5, 0.5), (0x0, 0x1)),    # ties: 0 and 1
    ((20, -30), (0x3, 0x8)),      # both outliers: 20 -> 24 (e1 m1) kept, second victim
    ((12, 96), (0x1, 0x8)),       # both outliers, the larger second still the victim
    ((5, -30), (0x8, 0xC)),       # -30 -> -32 = -(2<<4): s=1 e=2 m=0
    ((80, 0), (0x7, 0x8)),        # tie 64 | 96 -> 96 = 3<<5: e=3 m=1
    ((-80, 0), (0xE, 0x8)),       # tie -96 | -64 -> -64: s=1 e=3 m=0
    ((100, 0), (0x7, 0x8)),       # saturates at 96
    ((-255.75, 0), (0xF, 0x8)),   # saturates at -96
]

FLINT4 = [  # ±{0,1,2,3,4,6,8,16}: mmm 000 001 010 011 110 111 101 100; E2M1 bias 3: 24..192
    ((5, -5), (0x7, 0xE)),        # tie 4 | 6 -> 6 (111); tie -6 | -4 -> -4 (1110)
    ((12, -12), (0x4, 0xD)),      # tie 8 | 16 -> 16 (100); -12 -> -8 (1101)
    ((19.75, -0.25), (0x4, 0x0)),  # 16 below the 16/24 midpoint 20; -0.25 -> 0, not 1000
    ((20, 0), (0x1, 0x8)),        # tie 16 | 24 -> 24 = (2+1)<<3: e=0 m=1
    ((-20, 0), (0xC, 0x0)),       # tie -24 | -16 -> -16: normal 1100
    ((-2.5, 3.5), (0xA, 0x6)),    # -2 (1010), tie 3 | 4 -> 4 (0110)
    ((-0.5, 0), (0x0, 0x0)),      # tie -1 | 0 -> 0
    ((30, 40), (0x2, 0x8)),       # both outliers: 30 -> 32 = 2<<4 (e1 m0) kept
    ((-160, 0), (0xE, 0x8)),      # tie -192 | -128 -> -128 = -(2<<6): s=1 e=3 m=0
    ((0, 255.75), (0x8, 0x7)),    # saturates at 192 = 3<<6: e=3 m=1
]

OVP8 = [  # int8 normals ±127; E2M5 bias 2: (32+m) << (e+2), 132 … 2016
    ((127.25, -127.25), (0x7F, 0x81)),
    ((129.25, 0), (0x7F, 0x00)),   # below the 127/132 midpoint 129.5
    ((129.5, 0), (0x01, 0x80)),    # tie -> 132 = 33<<2: e=0 m=1
    ((-129.5, 0), (0x81, 0x00)),   # tie -> -127, normal 0x81
    ((-129.75, 0), (0x81, 0x80)),  # -132: 1|00|00001, the same bits as -127
    ((254, -254), (0x20, 0x80)),   # both outliers: tie 252 | 256 -> 256 = 32<<3 (e1 m0)
    ((0, -254), (0x80, 0x9F)),     # tie -> -252 = -(63<<2): 1|00|11111
    ((2000, 0), (0x7F, 0x80)),     # tie 1984 | 2016 -> 2016 = 63<<5: e=3 m=31
    ((-2000, 0), (0xFE, 0x80)),    # -> -1984 = -(62<<5): 1|11|11110
    ((3000, 0), (0x7F, 0x80)),     # saturates at 2016
    ((-8192, 0), (0xFF, 0x80)),    # the most negative input saturates at -2016
    ((-2.5, 2.5), (0xFE, 0x03)),   # ties: -2 and 3
    ((1.75, -100.5), (0x02, 0x9C)),  # 2; tie -101 | -100 -> -100
]


@pytest.mark.parametrize("params,golden_fmt,cases", [
    ("fmt=ovp4 width=11 frac=2", OVPFormat.int4(), OVP4),
    ("fmt=ovp4 width=11 frac=2 order=high-first", OVPFormat.int4(), OVP4),
    ("fmt=ovp4-flint width=11 frac=2", OVPFormat.flint4(), FLINT4),
    ("fmt=ovp8 width=16 frac=2", OVPFormat.int8(), OVP8),
], ids=["ovp4", "ovp4-high-first", "ovp4-flint", "ovp8"])
def test_hand_worked_codes(params, golden_fmt, cases):
    design = build("ovp-encoder", params.split())
    w, f, order = design.params["width"], design.params["frac"], design.params["order"]
    bits = golden_fmt.bits
    xs = [tuple(int(v * (1 << f)) for v in values) for values, _ in cases]
    assert all(v / (1 << f) == want for (v0, v1), (values, _) in zip(xs, cases)
               for v, want in zip((v0, v1), values))  # exactly representable
    codes = [codes for _, codes in cases]
    # the golden model agrees with the hand-worked codes ...
    got = encode(torch.tensor([values for values, _ in cases], dtype=torch.float64), golden_fmt)
    assert got.tolist() == [list(c) for c in codes]
    # ... and so does the hardware, checked against the hand-worked codes themselves
    vectors = Vectors({"x": [_pack_x(x0, x1, w) for x0, x1 in xs]},
                      {"pair": [_pack_pair(c0, c1, bits, order) for c0, c1 in codes]},
                      {"pair": False}, 0, {"x": 0}, 1, "hand")
    assert run_vectors(design.rtl, vectors).failed == 0


def test_a_wrong_expectation_is_caught():
    """The bench really compares: one flipped expected bit fails."""
    design = build("ovp-encoder", [])
    vectors = design.vectors("exhaustive", 0, 1)
    pair = list(vectors.expected["pair"])
    pair[1234] ^= 1
    bad = Vectors(vectors.stimulus, {"pair": pair}, vectors.signed_outputs, 0, vectors.idle,
                  1, "exhaustive")
    with pytest.raises(VerificationError, match=r"pair\[1234\]"):
        run_vectors(design.rtl, bad)


# --- against golden through the registry ------------------------------------------------

@pytest.mark.parametrize("params", [
    "fmt=ovp4 width=8 frac=1",
    "fmt=ovp4 width=8 frac=0",
    "fmt=ovp4-flint width=8 frac=1",
    "fmt=ovp4-flint width=7 frac=3 order=high-first",
    "fmt=ovp4 width=2 frac=4",
    "fmt=ovp8 width=8 frac=0",
    "fmt=ovp8 e=3 m=4 width=8 frac=2",
])
def test_exhaustive_against_golden(params):
    design, vectors = verify(params.split())
    assert design.exhaustive_ok and len(vectors) == 1 << (2 * design.params["width"])


@pytest.mark.parametrize("params", [
    "fmt=ovp8 width=16 frac=2",
    "fmt=ovp8 width=16 frac=0 order=high-first",
    "fmt=ovp8 e=3 m=4 width=14 frac=4",
    "fmt=ovp8 e=1 m=6 width=12 frac=1",
    "fmt=ovp4 width=12 frac=4",
])
def test_random_against_golden(params):
    design, vectors = verify(params.split(), mode="random", count=20000, seed=7)
    assert not design.exhaustive_ok and len(vectors) == 20000


def test_ovp8_every_input_value_in_each_slot():
    """OVP8 at 16 bits: every one of the 65,536 values as element 2k (with a random
    neighbour) and as element 2k+1, against golden.ovp.encode."""
    design = build("ovp-encoder", ["fmt=ovp8", "width=16", "frac=2"])
    gen = torch.Generator().manual_seed(3)
    values = torch.arange(-(1 << 15), 1 << 15)
    partner = torch.randint(-(1 << 15), 1 << 15, (len(values),), generator=gen)
    x0, x1 = torch.cat([values, partner]), torch.cat([partner, values])
    codes = encode(torch.stack([x0, x1], -1).to(torch.float64) / 4, OVPFormat.int8())
    vectors = Vectors({"x": ((x0 & 0xFFFF) | (x1 & 0xFFFF) << 16).tolist()},
                      {"pair": (codes[:, 0] | codes[:, 1] << 8).tolist()},
                      {"pair": False}, 0, {"x": 0}, 3, "sweep")
    assert run_vectors(design.rtl, vectors).failed == 0


def test_random_vectors_hold_every_extreme_and_are_seeded():
    design = build("ovp-encoder", ["fmt=ovp8", "width=16", "frac=2"])
    v1, v2 = design.vectors("random", 5000, 4), design.vectors("random", 5000, 4)
    assert v1 == v2 and v1 != design.vectors("random", 5000, 5)
    xs = torch.tensor(v1.stimulus["x"])
    x0 = ((xs & 0xFFFF) ^ 0x8000) - 0x8000
    x1 = ((xs >> 16) ^ 0x8000) - 0x8000
    seen = set(x0.tolist()) | set(x1.tolist())
    for value in (-32768, 32767, 0, 518, 519, 8064, 8065, -518, -519, 1016, -1016, 8000):
        # inputs x = 4 * value: the ends, the 127/132 midpoint 129.5 (518), saturation at
        # 2016 (8064), the 252/256 tie 254 (1016) and the 1984/2016 tie 2000 (8000)
        assert value in seen, value
    both = [(a, b) for a, b in zip(x0.tolist(), x1.tolist()) if abs(a) >= 520 and abs(b) >= 520]
    assert len(both) > 1000  # many pairs of two outliers


@pytest.mark.parametrize("bad,match", [
    (["width=1"], "in_width"), (["width=17"], "in_width"), (["frac=5"], "frac_bits"),
    (["frac=-1"], "frac_bits"), (["order=middle-first"], "order"), (["fmt=ovp4", "e=3"], "e and m"),
    (["fmt=ovp8", "e=3"], "both e and m"), (["fmt=ovp5"], "fmt"),
])
def test_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        build("ovp-encoder", bad)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="OVPParams"):
        OVPPairEncoder("ovp4")
    with pytest.raises(ValueError, match="in_width"):
        OVPPairEncoder(OVPParams.int4(), in_width=True)
    with pytest.raises(ValueError, match="frac_bits"):
        OVPPairEncoder(OVPParams.int4(), frac_bits=1.0)
    with pytest.raises(ValueError, match="nibble order"):
        OVPPairEncoder(OVPParams.int4(), nibble_order="low")
    # flint normals with bias 2 would put the outlier 12 between the normals 8 and 16
    with pytest.raises(ValueError, match=r"outlier\(s\) \[12\]"):
        OVPPairEncoder(OVPParams(4, "flint", 2, 1, 2))


def test_exhaustive_vectors_refused_beyond_16_input_bits():
    design = build("ovp-encoder", ["width=9"])
    with pytest.raises(ValueError, match="exhaustive"):
        design.vectors("exhaustive", 0, 1)
    with pytest.raises(ValueError, match="positive count"):
        design.vectors("random", 0, 1)
    with pytest.raises(ValueError, match="mode"):
        design.vectors("sometimes", 10, 1)


def test_hardware_does_not_import_golden():
    from quantrtl.hw import ovp_encoder
    source = Path(ovp_encoder.__file__).read_text()
    assert not re.search(r"^\s*(from|import)\s+(quantrtl\.)?golden", source, re.M)


# --- proof and lint -------------------------------------------------------------------

@pytest.mark.parametrize("params", ["", "fmt=ovp4-flint", "fmt=ovp4 order=high-first",
                                    "fmt=ovp8 frac=0"])
def test_prove_equal_to_golden(params):
    result = prove("ovp-encoder", params.split())
    assert result.proved, result.counterexample
    assert "flat case table of 4096 golden codes" in result.method


def _mutant(params, old, new):
    rtl = build("ovp-encoder", params).rtl
    assert rtl.text.count(old) >= 1, f"mutation site {old!r} not in the RTL"
    return RTL(rtl.top, rtl.text.replace(old, new, 1))


@pytest.mark.parametrize("old,new", [
    ("} >= 6'h26;", "} >= 6'h27;"),                  # element 2k's outlier threshold 9.5 -> 10
    ("+ $signed(2'h1);", "+ $signed(2'h0);"),        # normal rounding truncates: no ties up
    ("assign second = e0_is_out ? 4'h8 : e1_code;",  # the second of two outliers kept too
     "assign second = e1_code;"),
], ids=["threshold", "ties", "victim"])
@pytest.mark.parametrize("order", ["low-first", "high-first"])
def test_broken_rtl_gives_a_golden_counterexample(old, new, order):
    params = [f"order={order}"]
    result = prove("ovp-encoder", params, rtl=_mutant(params, old, new))
    assert not result.proved
    cex = result.counterexample
    match = re.search(r"x=0x([0-9a-f]+) .*pair: golden (\d+), unit (\d+)", cex)
    assert match, cex
    x, gold, unit = int(match.group(1), 16), int(match.group(2)), int(match.group(3))
    assert gold != unit
    x0, x1 = ((x & 63) ^ 32) - 32, ((x >> 6) ^ 32) - 32  # width 6, frac 1
    assert f"element 2k={x0}, element 2k+1={x1}," in cex  # the inputs in any nibble order
    codes = encode(torch.tensor([[x0 / 2, x1 / 2]], dtype=torch.float64), OVPFormat.int4())
    first, second = int(codes[0, 0]), int(codes[0, 1])
    assert gold == (first | second << 4 if order == "low-first" else second | first << 4)


@pytest.mark.skipif(not simulator_available("verilator"), reason="Verilator not installed")
@pytest.mark.parametrize("params", ["", "fmt=ovp4-flint width=10 frac=2",
                                    "fmt=ovp8 width=16 frac=2", "fmt=ovp8 e=1 m=6 width=3",
                                    "fmt=ovp4 width=2 frac=4 order=high-first"])
def test_lint_clean(params):
    result = lint(build("ovp-encoder", params.split()).rtl)
    assert result.warnings == [], result.warnings
