"""Portable Verilog under Yosys's own simulation: every registered design (the cases of
``tests/test_portable.py``), driven by the plain-Verilog X-check bench under Icarus
(``-g2012``), which dumps the unit's ports to an FST file (Yosys 0.23 reads VCD only
through GTKWave's ``vcd2fst``); Yosys's ``sim`` replays those inputs into the generated
Verilog (``read_verilog; prep``, no testbench) and must show no X or Z on any output at any
sample, reset included, and the same outputs as Icarus at every clock edge (``-sim-cmp``)
and at every sample of the bench's trace.

Needs a Yosys with ``sim`` on PATH (``scripts/ensure-yosys-sim.sh``; the YoWASP Yosys has
none): skipped without one, a failure when ``CI`` is set.
"""

import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
from test_portable import CASES, CYCLES, SEED, _id, _verdict, needs_icarus

from quantrtl.base.tools import find_tool, run_tool
from quantrtl.designs import build
from quantrtl.designs.xcheck import CLOCK_PERIOD_PS, TB_TOP, xcheck_testbench
from quantrtl.hw.rtl import RTL


@cache
def _yosys_problem() -> str:
    """Why Yosys's simulation cannot run here ('' when it can)."""
    yosys = find_tool("yosys")
    if yosys is None:
        return "no 'yosys' on PATH (apt-get install yosys, or scripts/ensure-yosys-sim.sh)"
    run = subprocess.run([yosys, "-h", "sim"], capture_output=True, text=True,
                         check=False)
    if run.returncode != 0 or "-sim-cmp" not in run.stdout:
        return f"{yosys} has no 'sim' command with -sim-cmp (Debian's yosys 0.23 has)"
    return ""


@pytest.fixture
def yosys_sim():
    problem = _yosys_problem()
    if problem and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"Yosys simulation needed in CI: {problem}")
    if problem:
        pytest.skip(problem)


def _vcd_outputs(path: Path, names: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Each top-level ``names`` signal's value changes in a VCD file: (time, bits)."""
    ids, changes, time, scope = {}, {n: [] for n in names}, 0, []
    for line in path.read_text().splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "$scope":
            scope.append(words[2])
        elif words[0] == "$upscope":
            scope.pop()
        elif words[0] == "$var" and len(scope) == 1 and words[4] in changes:
            ids.setdefault(words[3], []).append(words[4])
        elif words[0].startswith("#"):
            time = int(words[0][1:])
        elif words[0][0] in "bB" and len(words) == 2:
            for name in ids.get(words[1], ()):
                changes[name].append((time, words[0][1:].lower()))
        elif words[0][0] in "01xzXZ" and len(words) == 1:
            for name in ids.get(words[0][1:], ()):
                changes[name].append((time, words[0][0].lower()))
    return changes


def _at(changes: list[tuple[int, str]], time: int) -> str:
    """The value last set before ``time``."""
    value = "x"
    for t, bits in changes:
        if t >= time:
            break
        value = bits
    return value


def _yosys_trace(rtl: RTL, tmp_path: Path, what: str) -> list[str]:
    """Icarus runs the X-check bench (it must pass) and dumps the ports; Yosys's ``sim``
    replays the inputs; the Yosys outputs sampled like the bench's TRACE lines, as such
    lines, after checking them for X and Z."""
    (tmp_path / "dut.v").write_text(rtl.text)
    (tmp_path / "tb.v").write_text(xcheck_testbench(rtl, cycles=CYCLES, seed=SEED,
                                                    dump="icarus.fst"))
    log = tmp_path / "icarus.log"
    built = run_tool("iverilog", ["-g2012", "-o", "sim.vvp", "-s", TB_TOP, "tb.v", "dut.v"],
                     cwd=tmp_path, log=log, design=rtl.top)
    assert built.returncode == 0, f"iverilog failed, log: {log}"
    run = run_tool("vvp", ["-n", "sim.vvp", "-fst"], cwd=tmp_path, log=log, design=rtl.top,
                   stdout_to_log=False)
    assert run.returncode == 0, f"vvp failed, log: {log}"
    icarus = _verdict(run.stdout, f"{what} icarus seed {SEED}")

    log = tmp_path / "yosys.log"
    clock = "-clock clk " if rtl.clocked else ""
    script = (f"read_verilog dut.v; prep -top {rtl.top}; sim {clock}-r icarus.fst "
              f"-scope {TB_TOP} -sim-cmp -vcd yosys.vcd")
    sim = run_tool("yosys", ["-p", script], cwd=tmp_path, log=log, design=rtl.top)
    differ = re.findall(r"^Warning: Signal .* in file .*$", log.read_text(), re.M)
    assert sim.returncode == 0, f"{what}: Yosys sim failed (seed {SEED}): " + \
        "; ".join(differ[:3]) + f"; log: {log}"

    # names as the bench's TRACE lines and Yosys's VCD spell them (no escaping backslash)
    widths = {p.name.removeprefix("\\"): p.width for p in rtl.ports if p.direction == "output"}
    outputs = list(widths)
    changes = _vcd_outputs(tmp_path / "yosys.vcd", outputs)
    lines = []
    for cycle in range(CYCLES):
        values = {n: _at(changes[n], (cycle + 1) * CLOCK_PERIOD_PS) for n in outputs}
        bad = [f"{n}={v}" for n, v in values.items() if set(v) & set("xz")]
        assert not bad, f"{what}: X/Z under Yosys sim at cycle {cycle}: {', '.join(bad)} " \
                        f"(seed {SEED}, log: {log})"
        lines.append(f"TRACE {cycle} " + " ".join(f"{n}={int(v, 2):0{-(-widths[n] // 4)}x}"
                                                 for n, v in values.items()))
    first = next((k for k, (a, b) in enumerate(zip(icarus, lines)) if a != b), None)
    assert first is None, f"{what}: Yosys sim and Icarus differ from cycle {first} " \
                          f"(seed {SEED}): {lines[first]} vs {icarus[first]}"
    return lines


@needs_icarus
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_same_trace_under_yosys_sim(case, tmp_path, yosys_sim):
    name, params = case
    _yosys_trace(build(name, list(params)).rtl, tmp_path, _id(case))


# Hand-made units that are not portable, with the message the check must give: a race
# between two clocked processes with blocking assignments (Icarus runs them in order, so
# ``b`` takes the new ``a``; Yosys makes two flip-flops in a row), and two drivers of one
# net that Icarus resolves and Yosys's simulation shows as X.
NOT_PORTABLE = {
    "race": ("""  reg [7:0] a = 0;
  reg [7:0] b = 0;
  always @(posedge clk) a = d;
  always @(posedge clk) b = a;
  assign q = b;""", r"Signal 'xcheck_tb\.q' in file 8'[01]{8} in simulation '8'[01]{8}'"),
    "two_drivers": ("""  reg [7:0] r = 0;
  always @(posedge clk) r <= d;
  assign q = d[0] ? r : 8'bz;
  assign q = d[0] ? 8'bz : 8'h00;""", r"Signal 'xcheck_tb\.q' in file 8'[01]{8} in simulation "
                                       r"'8'x'"),
}


@needs_icarus
@pytest.mark.parametrize("name", sorted(NOT_PORTABLE))
def test_the_check_fails_on_a_unit_that_is_not_portable(name, tmp_path, yosys_sim):
    body, message = NOT_PORTABLE[name]
    rtl = RTL(name, f"module {name} (\n  input clk,\n  input rst,\n  input [7:0] d,\n"
                    f"  output [7:0] q\n);\n{body}\nendmodule\n")
    with pytest.raises(AssertionError, match=f"{name}: Yosys sim failed .*{message}"):
        _yosys_trace(rtl, tmp_path, name)
