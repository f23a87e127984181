"""Portable Verilog: every registered design, driven by a plain-Verilog testbench that
declares ``reg rst = 1;`` (``quantrtl.designs.xcheck``), shows no X on any output from the
first cycle on, under Icarus in Verilog-2005 and SystemVerilog mode, and under Verilator
gives the same output trace whatever random values fill uninitialised state, and the same
trace as Icarus."""

import re
from pathlib import Path

import pytest

from quantrtl.base.tools import find_tool, run_tool
from quantrtl.designs import DESIGNS, build
from quantrtl.designs.xcheck import TB_TOP, xcheck_testbench
from quantrtl.hw.rtl import RTL

CYCLES = 120
SEED = 20261130
ICARUS_MODES = ("-g2005", "-g2012")

# every registered design at its defaults, and the 4x4 INT8 arrays of both dataflows
CASES = [(name, ()) for name in DESIGNS] + [
    ("systolic-array", ("dataflow=ws",)), ("systolic-array", ("dataflow=os",))]


def _id(case):
    name, params = case
    return " ".join([name, *params])


def _files(tmp_path: Path, rtl: RTL) -> list[str]:
    (tmp_path / "dut.v").write_text(rtl.text)
    (tmp_path / "tb.v").write_text(xcheck_testbench(rtl, cycles=CYCLES, seed=SEED))
    return ["tb.v", "dut.v"]


def _icarus(tmp_path: Path, rtl: RTL, mode: str) -> str:
    sources = _files(tmp_path, rtl)
    log = tmp_path / f"icarus{mode}.log"
    build_run = run_tool("iverilog", [mode, "-o", "sim.vvp", "-s", TB_TOP, *sources],
                         cwd=tmp_path, log=log, design=rtl.top)
    assert build_run.returncode == 0, f"iverilog failed, log: {log}"
    run = run_tool("vvp", ["-n", "sim.vvp"], cwd=tmp_path, log=log, design=rtl.top,
                   stdout_to_log=False)
    assert run.returncode == 0, f"vvp failed, log: {log}"
    return run.stdout


def _verdict(out: str, what: str) -> list[str]:
    """The TRACE lines of a run that must have ended in XCHECK PASS."""
    x_lines = [line for line in out.splitlines() if line.startswith("X on")]
    assert "XCHECK PASS" in out, f"{what}: {len(x_lines)} X samples, first: " + \
        "; ".join(x_lines[:3])
    trace = [line for line in out.splitlines() if line.startswith("TRACE")]
    assert len(trace) == CYCLES, f"{what}: {len(trace)} cycles sampled"
    return trace


needs_icarus = pytest.mark.skipif(not (find_tool("iverilog") and find_tool("vvp")),
                                  reason="Icarus Verilog not installed")
needs_verilator = pytest.mark.skipif(not find_tool("verilator"),
                                     reason="Verilator not installed")


@needs_icarus
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_no_x_under_icarus(case, tmp_path):
    name, params = case
    rtl = build(name, list(params)).rtl
    traces = [_verdict(_icarus(tmp_path, rtl, mode), f"{_id(case)} icarus {mode} seed {SEED}")
              for mode in ICARUS_MODES]
    assert traces[0] == traces[1], f"{_id(case)}: Icarus modes disagree"


@needs_verilator
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_same_trace_under_verilator_whatever_the_initial_fill(case, tmp_path):
    name, params = case
    rtl = build(name, list(params)).rtl
    sources = _files(tmp_path, rtl)
    log = tmp_path / "verilator.log"
    built = run_tool("verilator", ["--binary", "--timing", "-CFLAGS", "-fcoroutines",
                                   "-Wno-fatal", "-Wno-lint", "-Wno-style",
                                   "--x-initial", "unique", "--x-assign", "unique",
                                   "--top-module", TB_TOP, "-Mdir", "obj", "-o", "sim",
                                   *sources], cwd=tmp_path, log=log, design=rtl.top)
    assert built.returncode == 0, f"verilator build failed, log: {log}"
    traces = []
    for fill in ("+verilator+rand+reset+0", "+verilator+rand+reset+1",
                 "+verilator+rand+reset+2 +verilator+seed+7",
                 "+verilator+rand+reset+2 +verilator+seed+8"):
        run = run_tool(str(tmp_path / "obj" / "sim"), fill.split(), cwd=tmp_path, log=log,
                       design=rtl.top, stdout_to_log=False)
        assert run.returncode == 0, f"simulation failed, log: {log}"
        traces.append(_verdict(run.stdout, f"{_id(case)} verilator {fill}"))
    for fill, trace in zip(("ones", "random 7", "random 8"), traces[1:]):
        assert trace == traces[0], f"{_id(case)}: trace with {fill} initial fill differs " \
                                   f"from zeros (seed {SEED})"
    icarus = _verdict(_icarus(tmp_path, rtl, "-g2012"), f"{_id(case)} icarus seed {SEED}")
    assert icarus == traces[0], f"{_id(case)}: Icarus and Verilator traces differ (seed {SEED})"


_PORTABLE_TRIGGER = re.compile(
    r"^(\s*)reg (\\\$auto\S+ );\n\s*/\* verilator lint_off INITIALDLY \*/\n"
    r"\s*initial \S+ <= 1'h0;\n\s*/\* verilator lint_on INITIALDLY \*/$", re.M)


@needs_icarus
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_the_check_fails_with_the_initializer_trigger(dataflow, tmp_path):
    """The X check can fail: with the trigger Yosys writes (a declaration initializer), the
    arrays show X under Icarus in SystemVerilog mode."""
    rtl = build("systolic-array", [f"dataflow={dataflow}"]).rtl
    assert len(_PORTABLE_TRIGGER.findall(rtl.text)) == 1
    old = RTL(rtl.top, _PORTABLE_TRIGGER.sub(r"\1reg \2 = 0;", rtl.text))
    out = _icarus(tmp_path, old, "-g2012")
    assert "XCHECK FAIL" in out and "X on" in out
