"""FuseSoC: the core `quantrtl verilog --out` writes is listed by the real fusesoc, its sim
target (the X-check testbench) passes on Icarus and its lint target runs Verilator."""

import subprocess
import sys

import pytest

from quantrtl.base.tools import find_tool, run_tool, tool_env
from quantrtl.designs import build
from quantrtl.designs.datasheet import FILES, core_file, datasheet

pytestmark = pytest.mark.skipif(find_tool("fusesoc") is None, reason="fusesoc not installed")


def _unit(tmp_path, *words):
    out = tmp_path / "unit"
    run = subprocess.run([sys.executable, "-m", "quantrtl.cli", "verilog", *words, "--out",
                          str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    name = next(line.split(":", 1)[1].strip() for line in
                (out / FILES["core"]).read_text().splitlines() if line.startswith("name:"))
    return out, name


def _fusesoc(tmp_path, unit, args, env=None):
    log = tmp_path / f"fusesoc-{args[0]}.log"
    run = run_tool("fusesoc", ["--cores-root", str(unit), *args], cwd=tmp_path, log=log,
                   design="fusesoc core", env=env, stdout_to_log=False)
    assert run.returncode == 0, f"fusesoc {' '.join(args)} failed; log: {log}"
    return run.stdout + run.stderr


@pytest.mark.skipif(find_tool("iverilog") is None, reason="Icarus not installed")
@pytest.mark.parametrize("words", [("systolic-array", "dataflow=ws"), ("ovp-pe",)],
                         ids=" ".join)
def test_core_lists_and_its_sim_target_passes(words, tmp_path):
    unit, name = _unit(tmp_path, *words)
    listed = _fusesoc(tmp_path, unit, ["core", "list"])
    assert name in listed
    out = _fusesoc(tmp_path, unit, ["run", "--build-root", str(tmp_path / "build"),
                                    "--target=sim", name])
    assert "XCHECK PASS" in out and "XCHECK FAIL" not in out, out[-2000:]


@pytest.mark.skipif(find_tool("verilator") is None, reason="Verilator not installed")
def test_lint_target_runs_verilator(tmp_path):
    unit, name = _unit(tmp_path, "systolic-array", "dataflow=ws")
    out = _fusesoc(tmp_path, unit, ["run", "--build-root", str(tmp_path / "build"),
                                    "--target=lint", name], env=tool_env("verilator"))
    assert "%Warning" not in out and "%Error" not in out, out[-2000:]
    # the core lints with -Wall and turns off only quantrtl lint's waived codes, so any
    # other warning fails the target (Verilator stops on warnings without -Wno-fatal)
    core = core_file(datasheet(build("systolic-array", ["dataflow=ws"])))
    assert "-Wall" in core and "-Wno-fatal" not in core


def test_core_names_the_unit_and_its_datasheet():
    design = build("systolic-array", ["dataflow=ws"])
    core = core_file(datasheet(design))
    assert core.startswith("CAPI=2:\n")
    assert f"name: quantrtl:unit:systolic_array_{design.rtl.sha[:8]}:" in core
    for name in FILES.values():
        if name != FILES["core"]:
            assert f"      - {name}\n" in core
