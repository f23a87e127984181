"""A sweep's output folder, its JSON-lines results, and the summary of them.

The folder (``--out``) follows the rules of every quantrtl output folder
(``quantrtl.base.cache.output_folder``): a new, empty or quantrtl-written folder, any other
only with ``force``, and only the files listed in ``FILES`` are ever replaced.

* ``start(out, spec_text, force)``: checks and (re)starts the folder: ``spec.toml`` (the
  spec as run) and an empty ``results.jsonl``; an earlier sweep's summary files go.
* ``ResultsLog.append(record)``: one JSON line per finished job, appended (one ``write``,
  flushed to disk) as soon as the client has it, so an interrupted sweep keeps every job
  that ended. ``read_results`` skips a torn last line.
* ``finish(...)``: at the end, ``results.jsonl`` rewritten in job order (one line per job),
  ``summary.json``, ``report.md`` and the charts, through ``output_folder``.
* ``summarize(records)``: per design point (label, target, variant) the Fmax over the seeds
  (n, min, median, max), the area, and ``fits`` (False with the ``overflow`` when the design
  does not fit the device: a result, not a failure; None on a target with no device); per
  target and variant every pair of points with two or more seeds each, flagged when their
  Fmax ranges overlap (the order of the two medians may then be placement noise); the tool
  versions: ``tools`` (those of the first synth job), ``tool_sets`` (every distinct set,
  with its hosts and job count) and ``tools_differ`` (True when the workers ran different
  versions).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
from pathlib import Path

from quantrtl.base.cache import check_output_folder, output_folder, register_output_files

__all__ = ["FILES", "WRITER", "start", "finish", "ResultsLog", "read_results", "summarize"]

WRITER = "sweep"
FILES = ("spec.toml", "results.jsonl", "summary.json", "report.md", "fmax_spread.png",
         "area_fmax.png")
register_output_files(WRITER, FILES)


def start(out: Path, spec_text: str, *, force: bool = False) -> Path:
    """Check ``out`` and start it afresh (module docstring); returns ``results.jsonl``."""
    out = Path(out)
    check_output_folder(out, WRITER, force=force)
    with output_folder(out, WRITER, force=force) as tmp:
        (tmp / "spec.toml").write_text(spec_text)
        (tmp / "results.jsonl").write_text("")
    return out / "results.jsonl"


class ResultsLog:
    """Appends one JSON line per record to ``path``; each line is written whole by one
    ``write`` of an ``O_APPEND`` descriptor and synced before ``append`` returns."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def read_results(path: Path) -> list[dict]:
    """The records of a ``results.jsonl`` (a torn or garbled line is skipped)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def finish(out: Path, spec_text: str, records: list[dict], summary: dict, *,
           force: bool = False) -> list[str]:
    """Write the final files into ``out`` (module docstring); returns the chart names."""
    from quantrtl.sweep.chart import charts
    from quantrtl.sweep.report import render

    with output_folder(out, WRITER, force=force) as tmp:
        (tmp / "spec.toml").write_text(spec_text)
        (tmp / "results.jsonl").write_text(
            "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True)
                                          + "\n")
        written = charts(summary, records, tmp)
        (tmp / "report.md").write_text(render(summary, written))
    return written


def _point_key(r: dict) -> tuple:
    return (r["label"], r["target"], r["variant"])


def summarize(records: list[dict]) -> dict:
    """Points, comparisons, verification and failures of ``records`` (module docstring);
    records in job order give points in spec order."""
    synth = [r for r in records if r["kind"] == "synth"]
    groups: dict[tuple, list[dict]] = {}
    for r in synth:
        groups.setdefault(_point_key(r), []).append(r)
    points = []
    for (label, target, variant), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        no_fit = [r for r in ok if r.get("fits") is False]
        fmax = sorted(r["fmax_mhz"] for r in ok if r.get("fmax_mhz") is not None)
        luts = sorted({r["luts"] for r in ok})
        points.append({
            "label": label, "design": rs[0]["design"], "params": rs[0]["params"],
            "target": target, "variant": variant,
            "seeds": sorted(r["seed"] for r in ok if r.get("fmax_mhz") is not None),
            "n": len(fmax), "failed": len(rs) - len(ok),
            "fmax_min": fmax[0] if fmax else None,
            "fmax_median": round(statistics.median(fmax), 2) if fmax else None,
            "fmax_max": fmax[-1] if fmax else None,
            "luts": luts[0] if len(luts) == 1 else (luts or None),
            "ffs": ok[0]["ffs"] if ok else None, "dsps": ok[0]["dsps"] if ok else None,
            "rtl_sha": sorted({r["rtl_sha"] for r in ok}),
            "fits": False if no_fit else (ok[0].get("fits") if ok else None),
            "overflow": no_fit[0]["overflow"] if no_fit else [],
        })
    comparisons = []
    for a, b in itertools.combinations(points, 2):
        if (a["target"], a["variant"]) != (b["target"], b["variant"]) \
                or a["n"] < 2 or b["n"] < 2:
            continue
        overlap = max(a["fmax_min"], b["fmax_min"]) <= min(a["fmax_max"], b["fmax_max"])
        comparisons.append({"a": a["label"], "b": b["label"], "target": a["target"],
                            "variant": a["variant"], "overlap": overlap,
                            "median_ratio": round(a["fmax_median"] / b["fmax_median"], 3)})
    verification = [{k: r.get(k) for k in ("label", "mode", "cycles", "simulator", "cached")}
                    for r in records if r["kind"] == "verify" and r["status"] == "ok"]
    failed = [{k: r.get(k) for k in ("job", "kind", "label", "target", "variant", "seed",
                                     "tool", "log", "error")}
              for r in records if r["status"] != "ok"]
    tool_sets = _tool_sets(synth)
    return {"points": points, "comparisons": comparisons, "verification": verification,
            "failed": failed, "jobs": len(records),
            "tools": tool_sets[0]["tools"] if tool_sets else {},
            "tools_differ": len(tool_sets) > 1, "tool_sets": tool_sets}


def _tool_sets(synth: list[dict]) -> list[dict]:
    """Every distinct ``tools`` dict of the synth records, in order of first appearance, with
    the hosts that reported it (sorted) and its number of jobs."""
    sets: dict[str, dict] = {}
    for r in synth:
        if not r.get("tools"):
            continue
        entry = sets.setdefault(json.dumps(r["tools"], sort_keys=True),
                                {"tools": r["tools"], "hosts": set(), "jobs": 0})
        entry["hosts"].add(r.get("host") or "?")
        entry["jobs"] += 1
    return [{**e, "hosts": sorted(e["hosts"])} for e in sets.values()]
