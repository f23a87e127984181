"""Hostile input, property-based: every quantizer and the parameter parser either returns a
documented result or raises ValueError, never anything else."""

import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from quantrtl.cli import main
from quantrtl.designs import DESIGNS, build
from quantrtl.golden import dint, ovp
from quantrtl.golden.integer import IntFormat, compute_qparams, quantize

FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)
FINITE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32)
settings.register_profile("quantrtl", max_examples=150, deadline=None)
settings.load_profile("quantrtl")


@given(st.lists(FLOATS, min_size=0, max_size=40), st.integers(2, 8), st.booleans())
def test_int_quantizer_gives_codes_in_range_or_value_error(values, bits, half):
    x = torch.tensor(values, dtype=torch.float32)
    x = x.half() if half else x
    fmt = IntFormat(bits)
    try:
        qp = compute_qparams(x, fmt)
        codes = quantize(x, fmt, qp)
    except ValueError:
        assert not values or not all(math.isfinite(v) for v in values) \
            or not all(math.isfinite(float(v)) for v in x.tolist())
        return
    assert codes.dtype == torch.int64 and codes.shape == x.shape
    assert bool(((codes >= -fmt.qmax) & (codes <= fmt.qmax)).all())


@given(st.lists(FINITE, min_size=0, max_size=32))
def test_ovp_encode_is_on_the_grid_and_pairs_are_valid(values):
    fmt = ovp.OVPFormat.int4()
    x = torch.tensor(values, dtype=torch.float64)
    if len(values) % 2:
        with pytest.raises(ValueError, match="even length"):
            ovp.encode(x, fmt)
        return
    codes = ovp.encode(x, fmt)
    pairs = codes.reshape(-1, 2)
    assert not bool(((pairs[:, 0] == 8) & (pairs[:, 1] == 8)).any())  # never two identifiers
    decoded = ovp.decode(codes, fmt)
    assert set(decoded.tolist()) <= set(fmt.grid().tolist())
    # each element is rounded (the widest gap of the int4 OVP grid is 64..96: error <= 16,
    # plus whatever lies beyond the largest outlier) or pruned as a victim (0)
    rounded = (decoded - x).abs() <= (x.abs() - 96).clamp(min=0) + 16
    assert bool((rounded | (decoded == 0)).all())


@given(st.lists(FLOATS, min_size=1, max_size=16))
def test_ovp_quantize_rejects_non_finite(values):
    x = torch.tensor(values + values, dtype=torch.float64)  # even length
    if all(math.isfinite(v) for v in values):
        codes, scale = ovp.quantize(x, ovp.OVPFormat.flint4())
        assert codes.shape == x.shape and bool((scale > 0).all())
    else:
        with pytest.raises(ValueError, match="NaN or Inf"):
            ovp.quantize(x, ovp.OVPFormat.flint4())


@given(st.lists(FINITE, min_size=1, max_size=32))
def test_dint_encode_never_gives_negative_zero(values):
    codes = dint.encode(torch.tensor(values, dtype=torch.float64), dint.DIntFormat())
    assert bool(((codes >= 0) & (codes < 16) & (codes != 8)).all())


def test_non_contiguous_and_half_inputs():
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(1))
    t = x.T  # non-contiguous
    assert not t.is_contiguous()
    c1, s1 = ovp.quantize(t.contiguous(), ovp.OVPFormat.int4(), axis=0)
    c2, s2 = ovp.quantize(t, ovp.OVPFormat.int4(), axis=0)
    assert torch.equal(c1, c2) and torch.equal(s1, s2)
    codes, _ = dint.quantize(x.half(), dint.DIntFormat())
    assert codes.shape == x.shape


TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_=-.,", max_size=12)
KEYS = sorted({p.name for spec in DESIGNS.values() for p in spec.params})
WORDS = st.one_of(TEXT, st.builds("{}={}".format, st.sampled_from(KEYS), TEXT))


@given(st.sampled_from(sorted(DESIGNS)), st.lists(WORDS, max_size=3))
@settings(max_examples=60)
def test_parameter_parser_builds_or_says_value_error(name, words):
    known = {p.name for p in DESIGNS[name].params}
    malformed = [w for w in words if "=" not in w or w.partition("=")[0] not in known]
    try:
        d = build(name, words)
    except ValueError as e:
        assert str(e).strip()  # says what is wrong
        return
    assert not malformed, f"{name} accepted {malformed}"
    assert d.name == name and set(d.params) == known
    assert d.rtl.ports and f"module {d.rtl.top}" in d.rtl.text


@pytest.mark.parametrize("args", [
    ["verilog", "systolic-array", "rows=10000", "cols=10000"],
    ["verilog", "int-mac", "acc=99999999999999999999"],
    ["verilog", "dint-mac", "denormals=nan"],
    ["verilog", "int-mac", "pipeline=1.5"],
])
def test_absurd_sizes_are_refused_quickly(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quantrtl: error:")
