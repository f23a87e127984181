"""OVP decoders and PEs in a real simulator against golden.ovp."""

import pytest
from amaranth.hdl import Fragment, Module, Signal

from quantrtl.designs import build
from quantrtl.hw.mac import register_and_accumulate
from quantrtl.hw.ovp import ExpIntMAC, OVPMagnitudeDecoder, OVPParams
from quantrtl.sim.harness import run_vectors


def verify(design, params, mode="exhaustive", count=0, seed=1):
    d = build(design, params)
    vectors = d.vectors(mode, count, seed)
    result = run_vectors(d.rtl, vectors)
    assert result.failed == 0
    return vectors


@pytest.mark.parametrize("params", ["fmt=ovp4", "fmt=ovp4-flint", "fmt=ovp4 order=high-first"])
def test_ovp4_decoder_all_256_bytes(params):
    assert len(verify("ovp-decoder", params.split())) == 256


@pytest.mark.parametrize("params", ["fmt=ovp8", "fmt=ovp8 e=3 m=4"])
def test_ovp8_decoder_random(params):
    verify("ovp-decoder", params.split(), mode="random", count=20000, seed=8)


# W4A4: every (weight pair, activation pair) combination = 65536 products, alone and
# accumulated; W4A8: every weight pair x every int8.
@pytest.mark.parametrize("params", ["w=ovp4 act=ovp4 acc=16 overflow=saturate",
                                    "w=ovp4-flint act=ovp4 acc=20 pipeline=1",
                                    "w=ovp4 act=int8 acc=18 overflow=wrap"])
def test_ovp4_pe_exhaustive(params):
    assert len(verify("ovp-pe", params.split())) > 2 * 65536  # plus the overflow runs


@pytest.mark.parametrize("params", ["w=ovp8 act=ovp8 acc=24 overflow=saturate",
                                    "w=ovp8 act=ovp8 acc=23 split=1",
                                    "w=ovp8 act=int8 acc=24 pipeline=2 split=1",
                                    "w=ovp8 act=int8 acc=19 overflow=saturate",
                                    "w=ovp8 act=ovp8 acc=24 pipeline=2",
                                    # E4M3: exponents up to 17, also through ExpIntMAC
                                    "w=ovp8 act=ovp8 e=4 m=3 acc=44 overflow=saturate",
                                    "w=ovp8 act=int8 e=4 m=3 acc=44 split=1 pipeline=1",
                                    # flint activations; OVP4 x INT8 saturating at the
                                    # narrowest accumulator (the signed product negated)
                                    "w=ovp4 act=ovp4-flint acc=20 overflow=saturate",
                                    "w=ovp4 act=int8 acc=15 overflow=saturate"])
def test_ovp8_pe_random(params):
    verify("ovp-pe", params.split(), mode="random", count=20000, seed=9)


@pytest.mark.parametrize("bad", [["fmt=ovp4", "e=3"], ["fmt=ovp8", "e=3"],
                                 ["fmt=ovp8", "e=3", "m=3"], ["fmt=ovp5"]])
def test_bad_ovp_decoder_parameters(bad):
    with pytest.raises(ValueError):
        build("ovp-decoder", bad)


def test_pe_accumulator_must_hold_a_product():
    with pytest.raises(ValueError, match="accumulator width"):
        build("ovp-pe", ["w=ovp4", "act=ovp4", "acc=12"])


def test_split_needs_8_bit_lanes():
    with pytest.raises(ValueError, match="split"):
        build("ovp-pe", ["w=ovp4", "act=ovp4", "split=1"])


def test_ovp8_pe_random_e3m4():
    """E3M4 outliers: 5-bit mantissas, exponents up to 9 (folded: 4), 7-bit magnitudes."""
    verify("ovp-pe", ["w=ovp8", "act=ovp8", "e=3", "m=4", "acc=32"], mode="random",
           count=20000, seed=10)


@pytest.mark.parametrize("fmt, mag_width, exp2_width", [
    (OVPParams.int4(), 3, 2),     # |int| <= 7; outliers 2 + m (odd exponent: 4 + 2m); exp <= 5
    (OVPParams.flint4(), 3, 2),   # flint 6 = <1, 3> folds to <0, 6>; exp <= 6
    (OVPParams.int8(), 7, 2),     # |int| <= 127; (32 + m) << 1 <= 126; exp <= 5
    (OVPParams.int8(3, 4, 2), 7, 3)])  # 2 * (16 + m) <= 62; exp <= 9
def test_magnitude_decoder_widths(fmt, mag_width, exp2_width):
    dec = OVPMagnitudeDecoder(fmt)
    assert dec.mag_width == mag_width
    assert len(dec.mag) == mag_width and len(dec.exp2) == exp2_width
    Fragment.get(dec, None)  # it elaborates


@pytest.mark.parametrize("kwargs", [{"split": True},  # 4-bit lanes: nothing to split
                                    {"split": 1},
                                    {"max_product": 0},
                                    {"max_product": (1 << 10) + 1},  # above 2^(3+2) * 2^(3+2)
                                    {"max_product": 4, "acc_width": 3}])
def test_bad_exp_int_mac_parameters(kwargs):
    params = {"a_int_width": 4, "a_max_exp": 2, "b_int_width": 4, "b_max_exp": 2,
              "acc_width": 16} | kwargs
    with pytest.raises(ValueError):
        ExpIntMAC(**params)


def test_exp_int_mac_product_width_follows_max_product():
    # OVP8 x OVP8: lanes of 8 bits with exponents up to 5 could reach 2^24, the values
    # reach 2016^2 < 2^22: a 23-bit signed product.
    mac = ExpIntMAC(a_int_width=8, a_max_exp=5, b_int_width=8, b_max_exp=5, acc_width=23,
                    max_product=2016 * 2016, split=True)
    assert mac.product_width == 23
    Fragment.get(mac, None)


def test_negated_addend_needs_a_signed_accumulator():
    m, acc = Module(), Signal(16)  # unsigned: saturation would fire on every subtraction
    with pytest.raises(ValueError, match="signed accumulator"):
        register_and_accumulate(m, acc, Signal(8), Signal(), Signal(), 0, "saturate",
                                negate=Signal())
    Fragment.get(m, None)  # the module itself is fine (and so used)
