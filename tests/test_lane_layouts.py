"""Structured array lanes (``amaranth.lib.data`` layouts): ``hw.pe.pack`` and the layouts the
PE types read their operands through. (That the generated Verilog is unchanged by reading
lanes through views is checked by ``scripts/verilog_hashes.py``.)"""

import pytest
from amaranth.hdl import Const, signed
from amaranth.lib import data

from quantrtl.hw.ovp import OVPParams, magnitude_lane_widths
from quantrtl.hw.pe import pack
from quantrtl.hw.pe_formats import DINT_DECODES, DIntArrayPE, OVPArrayPE
from quantrtl.hw.pe_mixed import LANE, NIBBLES

SM = data.StructLayout({"neg": 1, "mag": 3, "exp2": 2})


def test_pack_round_trips_through_a_view():
    layout = data.ArrayLayout(SM, 2)
    word = pack(layout, [{"neg": Const(1, 1), "mag": Const(5, 3), "exp2": Const(2, 2)},
                         {"neg": Const(0, 1), "mag": Const(7, 3), "exp2": Const(1, 2)}])
    assert len(word) == layout.size == 12
    # element 0 in the low bits, fields in declaration order: neg, mag, exp2
    assert Const.cast(word).value == (1 | 5 << 1 | 2 << 4) | (0 | 7 << 1 | 1 << 4) << 6
    view = data.View(layout, Const.cast(word))
    assert Const.cast(view[1].mag).value == 7
    assert Const.cast(view[0].exp2).value == 2


def test_pack_of_signed_fields_reads_back_signed():
    layout = data.ArrayLayout(signed(4), 2)
    view = data.View(layout, pack(layout, [Const(-3, signed(4)), Const(5, signed(4))]))
    assert view[0].shape() == view[1].shape() == signed(4)
    # (an ``as_signed()`` is not constant-castable: read each lane's bits, then as signed)
    word = Const.cast(view.as_value()).value
    assert [Const(word >> 4 * k & 15, signed(4)).value for k in range(2)] == [-3, 5]


def test_pack_rejects_a_field_of_the_wrong_width():
    with pytest.raises(ValueError, match="'mag'.* 3 bits"):
        pack(SM, {"neg": Const(0, 1), "mag": Const(0, 4), "exp2": Const(0, 2)})


def test_pack_needs_every_field():
    with pytest.raises(KeyError):
        pack(SM, {"neg": Const(0, 1), "mag": Const(0, 3)})


@pytest.mark.parametrize("fmt", [OVPParams.int4(), OVPParams.flint4()])
def test_ovp_lane_layout_is_two_sign_magnitude_elements(fmt):
    pe = OVPArrayPE(fmt, fmt)
    mag_width, exp2_width = magnitude_lane_widths(fmt)
    layout = pe.lane_layout(fmt)
    assert layout == data.ArrayLayout(data.StructLayout(
        {"neg": 1, "mag": mag_width, "exp2": exp2_width}), 2)
    assert pe.a_inner_width == pe.b_inner_width == 2 * (1 + mag_width + exp2_width)


def test_ovp_plain_int_pair_is_two_signed_halves():
    pe = OVPArrayPE(None, OVPParams.int4(), x_width=8)
    assert pe.lane_layout(None) == data.ArrayLayout(signed(8), 2)
    assert pe.a_inner_width == pe.a_width == 16


@pytest.mark.parametrize("decode", DINT_DECODES)
def test_dint_lane_layouts(decode):
    pe = DIntArrayPE(w_bits=4, denormals=(0.25, 0.5), decode=decode)
    assert pe.code_layout.size == pe.b_width == 4
    fields = dict(pe.b_layout)
    assert pe.b_inner_width == pe.b_layout.size
    assert fields["sign"].width == 1
    if decode == "pe":
        assert pe.b_layout == pe.code_layout
    elif decode == "magnitude":
        assert fields["mag"].width == max(pe.fixed_magnitudes).bit_length()
    else:
        assert set(fields) == {"sign"} | {f"{f}{t}" for t in range(len(fields) // 2)
                                          for f in ("en", "sel")}


def test_mixed_lanes_are_four_nibbles():
    assert NIBBLES.size == LANE
    assert [NIBBLES[k].offset for k in range(4)] == [0, 4, 8, 12]
