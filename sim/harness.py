"""Run a cocotb bench on generated RTL in a real simulator (Icarus by default, or Verilator).

``run_bench(rtl, "quantrtl.sim.benches.mac", config)`` writes the Verilog into the content-addressed
cache (``<cache>/rtl/<sha>/<top>.v``), builds it for the simulator under
``<cache>/sim/<simulator>/<sha>``, hands ``config`` to the bench as JSON (Amaranth bakes
parameters into the Verilog, so the bench learns them this way) and raises
``VerificationError`` with the log's path when any test fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from quantrtl.base.cache import atomic_write, cache_root, entry_lock, open_cache, set_aside
from quantrtl.base.errors import ToolError, VerificationError
from quantrtl.base.tools import find_tool, install_hint, require_tool, run_command, tool_env
from quantrtl.hw.rtl import RTL
from quantrtl.sim.vectors import Vectors

# ToolError and VerificationError live in quantrtl.base.errors; they stay importable here.
__all__ = ["SIMULATORS", "ToolError", "VerificationError", "BenchResult", "rtl_path",
           "default_simulator", "simulator_available", "simulator_tool", "run_bench",
           "run_vectors", "run_batched", "CONFIG_ENV"]

SIMULATORS = ("icarus", "verilator")
CONFIG_ENV = "QUANTRTL_BENCH_CONFIG"
_SIMULATOR_TOOLS = {"icarus": "iverilog", "verilator": "verilator"}


@dataclass(frozen=True)
class BenchResult:
    design: str
    simulator: str
    tests: int
    failed: int
    seconds: float
    log: Path
    waves: Path | None


def rtl_path(rtl: RTL) -> Path:
    """The Verilog file of ``rtl`` in the cache, written once per content hash.

    A file already there is hashed again before it is trusted: one that does not hash to
    ``rtl.sha`` (truncated, edited by hand) is reported, moved aside and written anew."""
    path = open_cache() / "rtl" / rtl.sha[:20] / f"{rtl.top}.v"
    try:
        found = path.read_bytes()
    except FileNotFoundError:
        found = None
    except OSError as exc:
        set_aside(path, f"cannot be read ({exc.strerror or exc})")
        found = None
    if found is not None:
        if hashlib.sha256(rtl.top.encode() + b"\n" + found).hexdigest() == rtl.sha:
            return path
        set_aside(path, "does not hash to its RTL's sha256 (truncated or edited)")
    atomic_write(path, rtl.text)
    return path


def simulator_tool(simulator: str) -> str:
    """The executable a simulator runs as (``iverilog`` for Icarus)."""
    return _SIMULATOR_TOOLS[check_simulator(simulator)]


def simulator_available(simulator: str) -> bool:
    return find_tool(simulator_tool(simulator)) is not None


def default_simulator() -> str:
    """``$QUANTRTL_SIM`` if set, else Icarus if installed, else Verilator if installed."""
    chosen = os.environ.get("QUANTRTL_SIM")
    if chosen:
        return check_simulator(chosen)
    for simulator in SIMULATORS:
        if simulator_available(simulator):
            return simulator
    raise ToolError(f"no simulator found: install Icarus Verilog ({install_hint('iverilog')}) "
                    f"or Verilator ({install_hint('verilator')}), or run `make test` "
                    "which does it")


def check_simulator(simulator: str) -> str:
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r} (choose from {', '.join(SIMULATORS)})")
    return simulator


def run_bench(rtl: RTL, bench: str, config: dict, *, simulator: str | None = None,
              waves: bool = False, seed: int = 1, testcase: str | None = None,
              libraries: tuple[Path, ...] = ()) -> BenchResult:
    """Build ``rtl`` (with the Verilog ``libraries``, e.g. a target's cell models) and run
    the cocotb test module ``bench`` with ``config``.

    Returns the test counts; raises ``VerificationError`` on a failing test and
    ``ToolError`` when the simulator is missing or does not build the design. Each run has
    its own folder (``runs/<bench>-<pid>-<ns>`` under the build folder) holding its log and,
    with ``waves``, its wave file; both paths are in the result and in the error messages.
    Identical runs share a build folder and take turns on it (``entry_lock``); the simulator
    runs in its own process group and does not outlive quantrtl (``run_command``).
    """
    from cocotb_tools.runner import get_results, get_runner

    simulator = check_simulator(simulator) if simulator else default_simulator()
    libraries = tuple(Path(p) for p in libraries)
    tag = rtl.sha[:20]
    if libraries:
        tag += "-" + hashlib.sha256(b"".join(
            str(p.resolve()).encode() + b"\n" + p.read_bytes() for p in libraries)
        ).hexdigest()[:8]
    build_dir = cache_root() / "sim" / simulator / (tag + ("-waves" if waves else ""))
    require_tool(simulator_tool(simulator), design=f"simulation of {rtl.top}",
                 log=build_dir / "missing-simulator.log")
    source = rtl_path(rtl)
    run_tag = f"{bench.rsplit('.', 1)[-1]}-{os.getpid()}-{time.monotonic_ns()}"
    test_dir = build_dir / "runs" / run_tag
    test_dir.mkdir(parents=True, exist_ok=True)
    config_path = atomic_write(test_dir / "config.json", json.dumps(config, sort_keys=True))
    build_log, test_log = build_dir / "build.log", test_dir / "sim.log"
    # Icarus dumps into the build folder unless told otherwise: one file per run instead
    wave_file = (test_dir / f"{rtl.top}.fst" if simulator == "icarus"
                 else test_dir / "dump.vcd") if waves else None
    plusargs = [f"+dumpfile_path={wave_file}"] if waves and simulator == "icarus" else []
    seen = f"; log: {test_log}" + (f"; waves: {wave_file}" if wave_file else "")

    env_changes = tool_env(simulator_tool(simulator))
    saved = {k: os.environ.get(k) for k in env_changes}
    os.environ.update(env_changes)
    try:
        runner = get_runner(simulator)
        _own_process_groups(runner)
        build_args = ["-Wno-fatal", "--no-timing"] if simulator == "verilator" else []
        with entry_lock(build_dir, f"simulating {rtl.top} on {simulator}"):
            _prune_runs(build_dir / "runs")
            try:
                runner.build(sources=[*libraries, source], hdl_toplevel=rtl.top,
                             includes=sorted({str(p.parent) for p in libraries}),
                             build_dir=build_dir, timescale=("1ns", "1ps"), waves=waves,
                             build_args=build_args, always=simulator == "icarus",
                             log_file=build_log)
            except (Exception, SystemExit) as exc:
                raise ToolError(f"{simulator}: build of {rtl.top} failed ({exc}); log: "
                                f"{build_log}") from None
            started = time.perf_counter()
            results_xml = test_dir / "results.xml"
            try:
                runner.test(test_module=bench, hdl_toplevel=rtl.top, build_dir=build_dir,
                            test_dir=test_dir, results_xml=str(results_xml), seed=seed,
                            waves=waves, testcase=testcase, log_file=test_log,
                            plusargs=plusargs,
                            extra_env={CONFIG_ENV: str(config_path),
                                       "PYTHONPATH": os.pathsep.join(sys.path)})
            except (Exception, SystemExit) as exc:  # under pytest the runner exits on a failure
                if not results_xml.exists():
                    raise ToolError(f"{simulator}: simulation of {rtl.top} did not run "
                                    f"({exc}){seen}") from None
            seconds = time.perf_counter() - started
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if not results_xml.exists():
        raise ToolError(f"{simulator}: simulation of {rtl.top} wrote no results{seen}")
    tests, failed = get_results(results_xml)
    if wave_file is not None and not wave_file.exists():
        found = sorted(test_dir.glob("*.fst")) + sorted(test_dir.glob("*.vcd"))
        wave_file = found[0] if found else None
        seen = f"; log: {test_log}" + (f"; waves: {wave_file}" if wave_file else "")
    result = BenchResult(rtl.top, simulator, tests, failed, seconds, test_log, wave_file)
    if tests == 0:
        raise VerificationError(f"{rtl.top}: bench {bench} ran no test (seed {seed}){seen}")
    if failed:
        raise VerificationError(f"{rtl.top}: {failed} of {tests} bench tests failed on "
                                f"{simulator} (seed {seed}): {_first_failure(test_log)}"
                                f"{seen}")
    config_path.unlink()  # vectors can be megabytes; a pass keeps only its log
    return result


_WARNED_HOOK = False


def _own_process_groups(runner) -> None:
    """Make the cocotb runner start its commands (compiler, simulator) through
    ``quantrtl.base.tools.run_command``: own process group, stopped with quantrtl, killed
    when quantrtl dies. This replaces a private method of cocotb's runner (cocotb has no
    public hook; ``tests/test_faults.py`` fails when a cocotb release drops it); without
    it, a warning says that simulators may outlive an interrupted quantrtl."""
    if not callable(getattr(runner, "_execute_cmds", None)):
        global _WARNED_HOOK
        if not _WARNED_HOOK:
            _WARNED_HOOK = True
            print("quantrtl: warning: this cocotb runner has no _execute_cmds hook; an "
                  "interrupted quantrtl may leave its simulator running", file=sys.stderr)
        return

    def execute(cmds, cwd, stdout=None):
        for cmd in cmds:
            status = run_command(cmd, cwd=cwd, env=runner.env, stdout=stdout)
            if status != 0:
                raise RuntimeError(f"Command failed with return code: {status}")

    runner._execute_cmds = execute


KEPT_RUNS = 16  # run folders (log, results, waves) kept per build folder, newest first


def _prune_runs(runs: Path) -> None:
    """Remove all but the ``KEPT_RUNS`` newest run folders (the one about to run is the
    newest), so that the cache does not grow with every run of the same Verilog."""
    try:
        folders = sorted((p for p in runs.iterdir() if p.is_dir()),
                         key=lambda p: p.stat().st_mtime_ns, reverse=True)
    except OSError:
        return
    for old in folders[KEPT_RUNS:]:
        shutil.rmtree(old, ignore_errors=True)


def _first_failure(log: Path) -> str:
    """The first mismatch line the bench logged, for a one-line error."""
    try:
        for line in log.read_text(errors="replace").splitlines():
            if "MISMATCH" in line:
                return line.split("MISMATCH", 1)[1].strip(" :")
    except OSError:
        pass
    return "see the log"


def run_vectors(rtl: RTL, vectors: Vectors, **kwargs) -> BenchResult:
    """Drive ``vectors`` into ``rtl`` cycle by cycle and compare every output (see
    ``sim.benches.stream``); keyword arguments go to ``run_bench``."""
    return run_bench(rtl, "quantrtl.sim.benches.stream", vectors.to_config(), seed=vectors.seed,
                     **kwargs)


def run_batched(rtl: RTL, vectors: Vectors, **kwargs) -> BenchResult:
    """Like ``run_vectors``, with the vectors preloaded into a generated testbench
    (``sim.batch``): no Python per cycle, for long runs and large units."""
    from quantrtl.sim.batch import batch_rtl
    tb, config = batch_rtl(rtl, vectors)
    return run_bench(tb, "quantrtl.sim.benches.batch", config, seed=vectors.seed, **kwargs)
