"""The quantrtl command line: real subprocesses for exit codes, in-process for the rest."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from quantrtl.cli import main

QUANTRTL = [sys.executable, "-m", "quantrtl.cli"]


def run(*args, cwd=None):
    return subprocess.run([*QUANTRTL, *args], capture_output=True, text=True, cwd=cwd,
                          env=os.environ.copy())


def files_under(path: Path) -> set:
    return {p for p in path.rglob("*")} if path.exists() else set()


@pytest.mark.parametrize("args", [
    ["verilog", "int-mac", "a=int0"],
    ["verilog", "int-mac", "a=int9"],
    ["verilog", "int-mac", "b=uint9"],
    ["synth", "int-mac", "acc=12", "--target", "xc7"],           # narrower than 8x8 product
    ["synth", "int-mac", "--target", "virtex9"],
    ["synth", "int-mac", "--target", "ice40-up5k", "--booth", "--dsp"],
    ["verify", "no-such-mac"],
    ["verify", "int-mac", "colour=blue"],
    ["verify", "int-mac", "acc"],
    ["verify", "int-mac", "pipeline=9"],
    ["verify", "int-mac", "overflow=clip"],
    ["verify", "int-mac", "--seed", "-3"],
    ["report", "--target", "virtex9", "--out", "OUT"],
    ["frobnicate"],
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, tmp_path, private_cache):
    before = files_under(private_cache)
    args = [str(tmp_path / "OUT") if a == "OUT" else a for a in args]
    proc = run(*args, "-o", str(tmp_path / "x.v")) if args[0] == "verilog" else run(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quantrtl: error:"), proc.stderr
    assert proc.stdout == ""
    assert files_under(private_cache) == before
    assert not any(tmp_path.iterdir())


def test_list_shows_designs_parameters_and_targets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("int-mac", "baseline-mac", "acc=24", "pipeline=0", "ecp5-85k", "xc7"):
        assert word in out


def test_verilog_is_byte_identical_across_processes(tmp_path):
    outs = []
    for i in range(2):
        path = tmp_path / f"mac{i}.v"
        proc = run("verilog", "int-mac", "a=int4", "b=uint8", "acc=20", "pipeline=2",
                   "-o", str(path))
        assert proc.returncode == 0, proc.stderr
        outs.append(path.read_bytes())
    assert outs[0] == outs[1] and b"module int_mac" in outs[0]
    other = run("verilog", "int-mac", "a=int4", "b=uint8", "acc=21", "pipeline=2").stdout
    assert other.encode() != outs[0]


def test_verify_passes_and_says_what_it_checked(capsys):
    assert main(["verify", "int-mac", "a=int4", "b=int4", "acc=8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS int-mac") and "cycles (exhaustive" in out


def test_synth_json(capsys):
    assert main(["synth", "int-mac", "a=int4", "b=int4", "acc=8", "--target", "xc7",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["target"] == "xc7" and result["params"]["acc"] == 8 and result["luts"] > 0
    from quantrtl import __version__
    assert result["provenance"]["quantrtl"] == __version__
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", result["provenance"]["commit"])


def test_report_writes_tables_charts_and_comes_from_cache(tmp_path, capsys):
    from quantrtl.designs import ReportRow
    from quantrtl.report import run_report
    params = {"a": "int2", "b": "int2", "acc": 6}
    entries = (ReportRow("INT2 MAC", "int-mac", params, "INT2 MAC (baseline)"),
               ReportRow("INT2 MAC (baseline)", "baseline-mac", params, None))
    out = tmp_path / "rep"
    qor = run_report(out, targets=["ice40-up5k", "xc7"], entries=entries)
    assert {p.name for p in out.iterdir()} == {"qor.json", "report.md", "area.png",
                                               "fmax.png", ".quantrtl-report"}
    assert len(qor["results"]) == 2 * (3 + 3)  # 2 designs x (ice40: lut/booth/dsp, xc7: 3)
    md = (out / "report.md").read_text()
    rows = [line.split("|")[1:-1] for line in md.splitlines() if line.startswith("| INT2")]
    generated = [r for r in rows if r[0].strip() == "INT2 MAC" and len(r) == 9]
    assert len(generated) == 6 and all(float(r[8]) > 0 for r in generated)  # a ratio each
    assert all(r[7].strip() == "INT2 MAC (baseline)" for r in generated)
    assert "## ice40-up5k" in md and "![area.png](area.png)" in md
    assert len(qor["verification"]) == 2
    capsys.readouterr()
    again = run_report(out, targets=["ice40-up5k", "xc7"], entries=entries)
    err = capsys.readouterr().err
    assert "pass (cached)" in err and "LUTs (cached)" in err
    assert again["results"] == qor["results"]
