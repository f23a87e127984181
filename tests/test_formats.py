"""quantrtl.formats: the one descriptor per format family, against hand-typed values from
docs/formats.md; golden and hw build on the same descriptor."""

import pytest

from quantrtl.formats import DIntSpec, IntSpec, OVPSpec, ovp_name, parse_format
from quantrtl.golden.dint import DIntFormat
from quantrtl.golden.integer import IntFormat, parse_int_format
from quantrtl.golden.ovp import OVPFormat
from quantrtl.hw.ovp import OVPParams


@pytest.mark.parametrize("name, bits, signed, qmin, qmax", [
    ("int2", 2, True, -2, 1), ("int4", 4, True, -8, 7), ("int8", 8, True, -128, 127),
    ("uint3", 3, False, 0, 7), ("uint8", 8, False, 0, 255), ("INT6", 6, True, -32, 31)])
def test_int_names_and_ranges(name, bits, signed, qmin, qmax):
    spec = parse_format(name)
    assert spec == IntSpec(bits, signed)
    assert (spec.qmin, spec.qmax, spec.name) == (qmin, qmax, name.lower())


@pytest.mark.parametrize("name, fields, max_normal, max_outlier", [
    ("ovp4", (4, "int", 2, 1, 2), 7, 96),            # E2M1 bias 2: 3 << 5
    ("ovp4-flint", (4, "flint", 2, 1, 3), 16, 192),  # bias 3: 3 << 6
    ("ovp8", (8, "int", 2, 5, 2), 127, 2016),        # E2M5 bias 2: 63 << 5
    ("ovp8-e3m4", (8, "int", 3, 4, 2), 127, 31 << 9),
    ("ovp8-e4m3b3", (8, "int", 4, 3, 3), 127, 15 << 18)])
def test_ovp_names_fields_and_ranges(name, fields, max_normal, max_outlier):
    spec = parse_format(name)
    assert spec == OVPSpec(*fields)
    assert (spec.max_normal, spec.max_outlier) == (max_normal, max_outlier)
    assert spec.max_magnitude == max(max_normal, max_outlier)
    assert spec.identifier == 1 << (fields[0] - 1)
    canonical = name if name in ("ovp4", "ovp4-flint", "ovp8") else \
        f"ovp8-e{fields[2]}m{fields[3]}b{fields[4]}"
    assert ovp_name(spec) == canonical and parse_format(canonical) == spec


@pytest.mark.parametrize("name, bits, denormals, integers, frac_bits", [
    ("dint4", 4, (0.5,), 6, 1), ("dint4-d0.25-0.5", 4, (0.25, 0.5), 5, 2),
    ("dint4-d0.25,0.5", 4, (0.25, 0.5), 5, 2), ("dint3", 3, (0.5,), 2, 1),
    ("dint8-d0.125", 8, (0.125,), 126, 3)])
def test_dint_names_and_ranges(name, bits, denormals, integers, frac_bits):
    spec = parse_format(name)
    assert spec == DIntSpec(bits, denormals)
    assert (spec.integers, spec.frac_bits) == (integers, frac_bits)
    assert parse_format(spec.name) == spec


@pytest.mark.parametrize("name, message", [
    ("int9", "2..8 bits"), ("uint1", "2..8 bits"), ("int", "unknown"), ("fp8", "unknown"),
    ("ovp5", "unknown OVP"), ("ovp8-e0m7", "E >= 1"), ("ovp8-e3m3", "1 \\+ E \\+ M"),
    ("ovp8-e5m2", "below 2\\^31"), ("dint2", "3..8 bits"), ("dint4-d0.3", "powers of two"),
    ("dint3-d0.125-0.25-0.5", "no integer level"), ("dint4-dx", "unknown dINT"),
    ("dint4-d0.5-0.5", "distinct")])
def test_bad_names_are_value_errors(name, message):
    with pytest.raises(ValueError, match=message):
        parse_format(name)


def test_ovp8_takes_e_and_m_apart_or_in_its_name():
    from quantrtl.formats import parse_ovp
    assert parse_ovp("ovp8", 3, 4) == parse_ovp("ovp8-e3m4")
    with pytest.raises(ValueError, match="both e and m"):
        parse_ovp("ovp8", 3, None)
    with pytest.raises(ValueError, match="ovp8 only"):
        parse_ovp("ovp4", 2, 1)
    with pytest.raises(ValueError, match="names its E and M"):
        parse_ovp("ovp8-e3m4", 3, 4)


def test_golden_and_hw_share_the_descriptor():
    """One validation, one set of formulas: golden's and hw's formats are descriptors."""
    assert issubclass(IntFormat, IntSpec) and issubclass(DIntFormat, DIntSpec)
    assert issubclass(OVPFormat, OVPSpec) and issubclass(OVPParams, OVPSpec)
    assert parse_int_format("uint5") == IntFormat(5, False)
    for make in (OVPFormat, OVPParams):
        with pytest.raises(ValueError, match="1 \\+ E \\+ M"):
            make(8, "int", 3, 3, 2)
    assert OVPParams.int8(3, 4).max_magnitude == OVPFormat.int8(3, 4).max_magnitude == 31 << 9
    assert DIntFormat(4, (0.25, 0.5)).max_value == 5.0


@pytest.mark.parametrize("name, bits, max_normal, emax, min_subnormal", [
    # OCP 8-bit floats and OCP MX v1.0 elements, typed from the specs' tables
    ("e5m2", 8, 57344.0, 15, 2.0 ** -16), ("fp8-e4m3", 8, 448.0, 8, 2.0 ** -9),
    ("e3m2", 6, 28.0, 4, 0.0625), ("e2m3", 6, 7.5, 2, 0.125), ("fp4-e2m1", 4, 6.0, 2, 0.5)])
def test_minifloat_ranges(name, bits, max_normal, emax, min_subnormal):
    spec = parse_format(name)
    assert (spec.bits, spec.max_normal, spec.emax, spec.min_subnormal) == \
        (bits, max_normal, emax, min_subnormal)


@pytest.mark.parametrize("name, element, block, emax, ocp", [
    ("mxfp4", "e2m1", 32, 2, True), ("mxfp6-e3m2", "e3m2", 32, 4, True),
    ("mxfp8-e4m3-k16", "e4m3", 16, 8, False), ("mxint8", "int8", 32, 0, True)])
def test_mx_names(name, element, block, emax, ocp):
    spec = parse_format(name)
    assert (spec.element.name, spec.block, spec.emax, spec.ocp) == (element, block, emax, ocp)
    assert spec.name == name


@pytest.mark.parametrize("name", ["e4m4", "e1m2", "mxfp5", "mxfp4-k0", "mxint4", "fp8"])
def test_bad_float_and_mx_names(name):
    with pytest.raises(ValueError):
        parse_format(name)


def test_mx_takes_only_the_ocp_element_types():
    from quantrtl.formats import FloatSpec, MXSpec
    with pytest.raises(ValueError, match="MX elements"):
        MXSpec(FloatSpec(3, 4, 7))                    # no OCP MX element type
    with pytest.raises(ValueError, match="MX elements"):
        MXSpec(FloatSpec(4, 3, 7, "none"))            # E4M3 without its NaN is not E4M3 fn
    assert MXSpec(FloatSpec(4, 3, 7, "fn"), 16).name == "mxfp8-e4m3-k16"
