"""``run_sweep``: a whole sweep, from the spec file to the output folder.

Order of work: the spec is read and checked (``spec.load_spec``: every design point built,
every target, variant and flag set checked), the jobs expanded (``jobs.expand``), the
output folder and the cache checked, the Dask cluster started or reached
(``engine.connect``), and only then the output folder (re)started. Each finished job's
record is appended to ``results.jsonl`` and reported on stderr as ``[i/n] <job>:
<result>``; at the end the folder gets the summary, ``report.md`` and the charts
(``results.finish``). Failed jobs do not stop the others; ``run_sweep`` then raises
``ToolError`` (exit status 3) after writing everything. A job whose design does not fit its
device is not a failure (``[i/n] <job>: <LUTs>, does not fit (...)``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from quantrtl.base.cache import check_cache, check_output_folder
from quantrtl.base.errors import ToolError
from quantrtl.base.provenance import provenance
from quantrtl.sweep import results
from quantrtl.sweep.engine import connect, execute
from quantrtl.sweep.jobs import expand
from quantrtl.sweep.spec import load_spec
from quantrtl.synth.targets import overflow_text

__all__ = ["plan", "run_sweep"]


def plan(spec_path: Path) -> tuple:
    """``(spec, jobs)`` of a spec file, checked (``ValueError`` if anything is off)."""
    spec = load_spec(spec_path)
    jobs = expand(spec)
    if not jobs:
        raise ValueError(f"sweep spec {spec_path}: every job is excluded")
    return spec, jobs


def _describe(record: dict) -> str:
    if record["status"] != "ok":
        return f"FAILED ({record['tool']}): {record['error']}"
    cached = " (cached)" if record.get("cached") else ""
    if record["kind"] == "verify":
        return f"{record['cycles']} cycles ({record['mode']}) pass{cached}"
    fmax = f", {record['fmax_mhz']:.1f} MHz" if record.get("fmax_mhz") else ""
    if record.get("fits") is False:
        fmax = f", {overflow_text(record['overflow'])}"
    return f"{record['luts']} LUTs{fmax}{cached}"


def run_sweep(spec_path: Path, out: Path | str, *, scheduler: str | None = None,
              workers: int | None = None, retries: int = 1, timeout: float = 20.0,
              force: bool = False) -> dict:
    """Run the sweep of ``spec_path`` into ``out`` (module docstring); returns the
    summary."""
    spec, jobs = plan(spec_path)
    out = Path(out)
    spec_text = Path(spec_path).read_text()
    check_output_folder(out, results.WRITER, force=force)
    check_cache()
    params = {p.label: p.params for p in spec.points}
    prov = provenance()  # what the jobs are started from
    log = results.ResultsLog(out / "results.jsonl")
    done: dict[str, dict] = {}
    started = time.monotonic()

    def on_record(job, record):
        if record.get("params") is None:
            record["params"] = params[job.label]
        log.append(record)
        done[job.key] = record
        print(f"[{len(done)}/{len(jobs)} {time.monotonic() - started:.0f}s] {job.name()}: "
              f"{_describe(record)}", file=sys.stderr, flush=True)

    with connect(scheduler, workers, timeout) as client:  # the folder starts once it is up
        results.start(out, spec_text, force=force)
        where = scheduler or f"a local cluster of {len(client.nthreads())}"
        print(f"sweep {spec_path}: {len(jobs)} jobs on {where}; results in "
              f"{out}/results.jsonl", file=sys.stderr, flush=True)
        started = time.monotonic()
        execute(client, jobs, on_record, retries=retries)
    records = [done[j.key] for j in jobs]
    summary = {**results.summarize(records), "provenance": prov,
               "spec": str(spec_path)}
    charts = results.finish(out, spec_text, records, summary, force=force)
    print(f"sweep written to {out}/ (results.jsonl, summary.json, report.md"
          f"{''.join(', ' + c for c in charts)})", file=sys.stderr, flush=True)
    if summary["failed"]:
        first = summary["failed"][0]
        raise ToolError(f"{len(summary['failed'])} of {len(jobs)} sweep jobs failed, the "
                        f"first: {first['tool']} ({first['label']}); {out}/report.md lists "
                        f"them; log: {first['log']}")
    return summary
