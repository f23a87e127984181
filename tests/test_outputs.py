"""Nothing lost, nothing half-done: where quantrtl writes, what it refuses to touch, and how
it says no.

Every case here failed on the code before the fix (see the commit that added this file).
Reports and rigor tables run with stand-in tools (``fake_tools``): these tests are about
the folders, not the numbers. ``no_tools`` makes any simulation, synthesis or rigor row an
error, so a check that comes too late fails the test instead of running for minutes.
"""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from quantrtl.cli import main
from quantrtl.designs import ReportRow, build

MARKER = ".quantrtl-report"
PARAMS = {"a": "int2", "b": "int2", "acc": 6}
ENTRIES = (ReportRow("INT2 MAC", "int-mac", PARAMS, "INT2 MAC (baseline)"),
           ReportRow("INT2 MAC (baseline)", "baseline-mac", PARAMS, None))


class ToolStarted(Exception):
    """A simulation, synthesis or rigor row started although the run should have stopped."""


def _refuse(*args, **kwargs):
    raise ToolStarted("a tool ran before the outputs were checked")


@pytest.fixture
def no_tools(monkeypatch):
    import quantrtl.cli
    import quantrtl.commands.verify
    import quantrtl.report
    import quantrtl.rigor.table
    import quantrtl.synth.flow
    monkeypatch.setattr(quantrtl.report, "default_set", lambda: ENTRIES)
    monkeypatch.setattr(quantrtl.report, "_verified", _refuse)
    monkeypatch.setattr(quantrtl.synth.flow, "synthesize", _refuse)
    monkeypatch.setattr(quantrtl.rigor.table, "rigor_row", _refuse)
    monkeypatch.setattr(quantrtl.commands.verify, "run_vectors", _refuse)
    monkeypatch.setattr(quantrtl.commands.verify, "run_batched", _refuse)
    monkeypatch.setattr(quantrtl.cli, "synthesize", _refuse)


@pytest.fixture
def fake_tools(monkeypatch):
    import quantrtl.report
    import quantrtl.rigor.table
    import quantrtl.synth.flow
    calls = []

    def synthesize(rtl, target, flags, *, design="", params=None):
        calls.append(("synth", design, target, flags.label()))
        return {"design": design, "target": target, "variant": flags.label(), "luts": 10,
                "ffs": 2, "carry": 1, "dsps": 0, "fmax_mhz": 50.0, "cached": False}

    def verified(design, simulator):
        calls.append(("verify", design.name))
        return {"mode": "exhaustive", "cycles": 16, "simulator": "fake", "seconds": 0.0,
                "passed": True}, False

    def rigor_row(unit, **kwargs):
        calls.append(("rigor", unit.spec))
        return {"unit": unit.spec, "design": unit.design, "params": list(unit.params),
                "proved": True, "prove_seconds": 0.1, "prove_method": "fake",
                "counterexample": None, "lint_warnings": 0, "lint_waived": 0,
                "lint_unwaived": [], "mutants": 1, "killed": 1, "equivalent": 0,
                "survived": 0, "survivors": [], "score": 1.0, "simulator": "fake",
                "equivalence": "fake", "mutation_seconds": 0.0, "mutation_cached": False,
                "verify_vectors": {"mode": "exhaustive", "cycles": 16},
                "mutation_vectors": {"mode": "exhaustive", "cycles": 16, "seed": 1},
                "ok": True}

    monkeypatch.setattr(quantrtl.report, "default_set", lambda: ENTRIES)
    monkeypatch.setattr(quantrtl.report, "_verified", verified)
    monkeypatch.setattr(quantrtl.synth.flow, "synthesize", synthesize)
    monkeypatch.setattr(quantrtl.rigor.table, "rigor_row", rigor_row)
    return calls


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody may write into: mode 0555, and immutable when we are root (root
    ignores modes); skipped where neither holds."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(folder)],
                                   capture_output=True).returncode == 0
        if not immutable:
            folder.chmod(0o755)
            pytest.skip("running as root without chattr: no read-only folder to test")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def one_error_line(capsys) -> str:
    """The run's stderr must be exactly one ``quantrtl: error:`` line; returns it."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quantrtl: error:"), err
    return err[0]


def report(out, *extra) -> int:
    return main(["report", "--out", str(out), "--target", "xc7", *extra])


def rigor(out, *extra) -> int:
    return main(["rigor", "--out", str(out), "--designs", "int-mac", *extra])


# --- report --out and rigor --out -------------------------------------------------------

def test_report_refuses_a_folder_it_did_not_write(tmp_path, no_tools, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert report(out) == 2
    assert "--force" in one_error_line(capsys)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "my notes"


def test_report_out_dot_refuses_a_foreign_working_folder(tmp_path, monkeypatch, no_tools,
                                                          capsys):
    (tmp_path / "keep.txt").write_text("keep")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--out", ".", "--target", "xc7"]) == 2
    one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "sub"]


def test_report_out_dot_writes_into_an_empty_working_folder(tmp_path, monkeypatch,
                                                             fake_tools, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--out", ".", "--target", "xc7"]) == 0
    assert {"qor.json", "report.md", MARKER} <= {p.name for p in tmp_path.iterdir()}
    assert Path.cwd() == tmp_path and os.path.samefile(".", tmp_path)


def test_report_force_replaces_only_the_files_it_writes(tmp_path, fake_tools, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "report.md").write_text("my own report")
    assert report(out, "--force") == 0
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "report.md").read_text().startswith("# quantrtl QoR report")
    assert (out / MARKER).is_file()
    assert report(out) == 0  # now a quantrtl folder: no --force needed


def test_report_replaces_a_previous_report_and_keeps_what_it_did_not_write(
        tmp_path, fake_tools, capsys):
    out = tmp_path / "rep"
    assert report(out) == 0
    assert (out / MARKER).is_file()
    (out / "notes.txt").write_text("added by hand")
    (out / "qor.json").write_text("stale")
    assert report(out) == 0
    assert (out / "notes.txt").read_text() == "added by hand"
    assert (out / "qor.json").read_text().startswith("{")
    assert not [p for p in tmp_path.rglob(".*") if p.name != MARKER]  # no temp folders left


def test_report_accepts_a_report_written_before_the_marker(tmp_path, fake_tools, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "qor.json").write_text('{"provenance": {}, "results": []}')
    (out / "report.md").write_text("# old report")
    assert report(out) == 0
    assert (out / MARKER).is_file() and (out / "report.md").read_text() != "# old report"


def test_report_and_rigor_share_a_folder(tmp_path, fake_tools, capsys):
    out = tmp_path / "rep"
    assert rigor(out) == 0
    assert report(out) == 0
    assert report(out) == 0
    names = {p.name for p in out.iterdir()}
    assert {"rigor.json", "rigor.md", "qor.json", "report.md", MARKER} <= names


def test_report_files_follow_the_umask(tmp_path, fake_tools, capsys):
    old = os.umask(0o022)
    try:
        assert report(tmp_path / "rep") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "rep").stat().st_mode) == 0o755
    for name in ("qor.json", "report.md", MARKER):
        assert stat.S_IMODE((tmp_path / "rep" / name).stat().st_mode) == 0o644, name


def test_rigor_refuses_a_folder_it_did_not_write(tmp_path, no_tools, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "rigor.md").write_text("my rigor notes")
    assert rigor(out) == 2
    one_error_line(capsys)
    assert (out / "rigor.md").read_text() == "my rigor notes"


@pytest.mark.parametrize("verb", ["report", "rigor"])
def test_out_errors_come_before_any_tool(verb, tmp_path, no_tools, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    run = report if verb == "report" else rigor
    for out in (a_file, a_file / "sub", Path("/proc/quantrtl-test/x")):
        assert run(out) == 2, out
        one_error_line(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]  # no .out* folder left


@pytest.mark.parametrize("verb", ["report", "rigor"])
def test_out_in_a_read_only_folder_is_refused_before_any_tool(verb, readonly_dir, no_tools,
                                                                capsys):
    run = report if verb == "report" else rigor
    assert run(readonly_dir / "rep") == 2
    assert "rep" in one_error_line(capsys)


# --- verilog -o -------------------------------------------------------------------------

def test_verilog_dash_writes_standard_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["verilog", "int-mac", "a=int2", "b=int2", "acc=6", "-o", "-"]) == 0
    assert "module int_mac" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())


def test_verilog_dev_stdout_writes_standard_output(tmp_path):
    # Run only against the fixed code: the old code replaced /dev/stdout itself.
    proc = subprocess.run([sys.executable, "-m", "quantrtl.cli", "verilog", "int-mac",
                           "a=int2", "b=int2", "acc=6", "-o", "/dev/stdout"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "module int_mac" in proc.stdout


def test_verilog_writes_through_a_symlink(tmp_path, capsys):
    real = tmp_path / "real.v"
    real.write_text("old")
    link = tmp_path / "link.v"
    link.symlink_to(real.name)
    assert main(["verilog", "int-mac", "a=int2", "b=int2", "acc=6", "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == "real.v"
    assert "module int_mac" in real.read_text()


def test_verilog_writes_into_a_special_file(tmp_path, capsys):
    """A FIFO stands for a device file (``/dev/stdout``, a tty): written to, not replaced."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert main(["verilog", "int-mac", "a=int2", "b=int2", "acc=6", "-o",
                     str(fifo)]) == 0
        data = os.read(reader, 1 << 20)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b"module int_mac" in data
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_verilog_file_mode_follows_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert main(["verilog", "int-mac", "-o", str(tmp_path / "mac.v")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "mac.v").stat().st_mode) == 0o644


def test_verilog_output_path_errors_are_one_line(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for out in (a_file / "mac.v", tmp_path, Path("/proc/quantrtl-test.v")):
        assert main(["verilog", "int-mac", "-o", str(out)]) == 2, out
        one_error_line(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_verilog_into_a_read_only_folder_is_one_line(readonly_dir, capsys):
    assert main(["verilog", "int-mac", "-o", str(readonly_dir / "mac.v")]) == 2
    one_error_line(capsys)


# --- the cache --------------------------------------------------------------------------

def test_cache_that_is_a_file_is_one_line_before_any_tool(tmp_path, monkeypatch, no_tools,
                                                          capsys):
    a_file = tmp_path / "cache-file"
    a_file.write_text("x")
    for cache in (a_file, a_file / "sub"):
        monkeypatch.setenv("QUANTRTL_CACHE", str(cache))
        assert main(["verify", "int-mac", "a=int2", "b=int2", "acc=6"]) == 2
        assert "QUANTRTL_CACHE" in one_error_line(capsys)
        assert report(tmp_path / "rep") == 2
        one_error_line(capsys)
    assert a_file.read_text() == "x" and not (tmp_path / "rep").exists()


def test_read_only_cache_is_one_line_before_any_tool(readonly_dir, monkeypatch, no_tools,
                                                     capsys):
    monkeypatch.setenv("QUANTRTL_CACHE", str(readonly_dir))
    assert main(["synth", "int-mac", "--target", "xc7"]) == 2
    assert "QUANTRTL_CACHE" in one_error_line(capsys)


# --- parameters -------------------------------------------------------------------------

def test_a_parameter_given_twice_is_refused(capsys):
    with pytest.raises(ValueError, match=r"\ba\b.*twice|twice.*\ba\b"):
        build("int-mac", ["a=int4", "a=int8"])
    assert main(["verilog", "int-mac", "a=int4", "a=int8"]) == 2
    assert "a=int4" in one_error_line(capsys)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "0.5,inf"])
def test_non_finite_numbers_name_the_parameter(value, capsys):
    assert main(["verilog", "dint-mac", f"denormals={value}"]) == 2
    assert re.search(r"\bdenormals\b", one_error_line(capsys))


@pytest.mark.parametrize("design,word,name", [
    ("int-mac", "acc=0", "acc"),
    ("int-mac", "acc=99999999999999999999", "acc"),
    ("ovp-encoder", "width=999", "width"),
    ("dint-mac", "denormals=0.3", "denormals"),
])
def test_out_of_range_values_name_the_parameter(design, word, name, capsys):
    assert main(["verilog", design, word]) == 2
    assert re.search(rf"\b{name}\b", one_error_line(capsys))


def test_options_may_come_before_the_parameters(tmp_path, capsys):
    out = tmp_path / "mac.v"
    assert main(["verilog", "int-mac", "-o", str(out), "a=int4", "b=int4", "acc=8"]) == 0
    assert out.read_text() == build("int-mac", ["a=int4", "b=int4", "acc=8"]).rtl.text
    assert main(["verify", "int-mac", "--count", "100", "a=int2", "--mode", "random",
                 "b=int2", "acc=6"]) == 0
    out_text = capsys.readouterr().out
    assert out_text.startswith("PASS int-mac a=int2 b=int2 acc=6")
    cycles = int(re.search(r": (\d+) cycles \(random", out_text).group(1))
    assert cycles < 1000  # --count 100 (plus the overflow runs), not the default 20000
    assert main(["verilog", "int-mac", "-o", str(out), "--bogus", "a=int4"]) == 2
    one_error_line(capsys)
    assert main(["verilog", "int-mac", "-o", str(out), "acc"]) == 2
    assert "key=value" in one_error_line(capsys)


# --- waves: one file per run, its path printed on success and on failure ------------------

def _waves_line(text: str) -> Path:
    found = re.search(r"waves: (\S+?)(?:;|$)", text, re.M)
    assert found, text
    return Path(found.group(1))


def test_each_run_has_its_own_wave_file_printed_on_success(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QUANTRTL_CACHE", str(tmp_path / "cache"))
    args = ["verify", "int-mac", "a=int2", "b=int2", "acc=5", "--waves"]
    files = []
    for _ in range(2):
        assert main(args) == 0
        files.append(_waves_line(capsys.readouterr().out))
    assert files[0] != files[1]
    assert all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert files[0].read_bytes() != b"" and files[0].suffix == ".fst"


def test_the_wave_file_of_a_failing_run_is_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QUANTRTL_CACHE", str(tmp_path / "cache"))
    rtl = build("int-mac", ["a=int2", "b=int2", "acc=5"]).rtl
    broken = tmp_path / "broken.v"
    broken.write_text(rtl.text.replace("assign \\$signal$10  = clear ? 5'h00 : acc;",
                                       "assign \\$signal$10  = acc;"))
    assert main(["verify", "int-mac", "a=int2", "b=int2", "acc=5", "--rtl", str(broken),
                 "--waves"]) == 1
    err = capsys.readouterr().err
    assert "quantrtl: FAIL: " in err
    wave = _waves_line(err)
    assert wave.is_file() and wave.stat().st_size > 0


def test_an_output_writer_cannot_be_registered_twice_with_other_files():
    from quantrtl.base.cache import OUTPUT_FILES, register_output_files
    register_output_files("report", OUTPUT_FILES["report"])  # the same names: no-op
    with pytest.raises(ValueError, match="'report' is registered with other files"):
        register_output_files("report", ("qor.json",))
    assert OUTPUT_FILES["report"] == ("qor.json", "report.md", "area.png", "fmax.png")


def test_a_writer_does_not_replace_another_writers_file_of_the_same_name(tmp_path,
                                                                          monkeypatch):
    """``report`` and ``sweep`` both write ``report.md``: sharing one --out folder, the
    second refuses (exit 2 on the CLI) unless --force, which replaces the file and moves
    it to the second writer in the marker."""
    from quantrtl.base.cache import MARKER, OUTPUT_FILES, output_folder
    monkeypatch.setitem(OUTPUT_FILES, "other", ("report.md", "other.json"))
    out = tmp_path / "out"
    with output_folder(out, "report") as tmp:
        (tmp / "report.md").write_text("the QoR report")
    with pytest.raises(ValueError, match="holds quantrtl report's report.md"):
        with output_folder(out, "other") as tmp:
            (tmp / "report.md").write_text("not written")
    assert (out / "report.md").read_text() == "the QoR report"
    with output_folder(out, "other", force=True) as tmp:
        (tmp / "report.md").write_text("the other report")
        (tmp / "other.json").write_text("{}")
    assert (out / "report.md").read_text() == "the other report"
    written = json.loads((out / MARKER).read_text())["written"]
    assert written == {"other": ["other.json", "report.md"], "report": []}
