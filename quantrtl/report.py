"""``quantrtl report``: verify and synthesize the default design set, write one folder with
``qor.json`` (every result), ``report.md`` (tables to paste) and PNG charts.

Synthesis results come from the QoR cache when nothing changed, so a second run takes
seconds. The output folder and the cache are checked before anything runs
(``quantrtl.base.cache.check_output_folder``); the files are written once every result is
in, through ``quantrtl.base.cache.output_folder``: a new folder appears whole or not at
all, in an existing one only the report's own files are replaced (a folder quantrtl did
not write is refused unless ``force``).

A job whose tool fails (a ``ToolError``: the simulator or Yosys/nextpnr crashed, timed out or
is missing) does not stop the others: the report is written with every other row, the
failed jobs are listed in ``qor.json`` (``failed``: the job, the design, the tool, the log)
and marked in ``report.md``, and then ``ToolError`` is raised (exit status 3).

A design too large for a device is not a failure: its row shows the area and "does not fit
(LUT4 5,927 / 5,280)" (what it needs and what the device has) in place of the Fmax, and
``qor.json`` has its ``fits`` and ``overflow``.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from quantrtl.base.cache import (
    check_cache,
    check_output_folder,
    output_folder,
)
from quantrtl.base.errors import ToolError
from quantrtl.base.provenance import provenance, provenance_line
from quantrtl.base.tools import install_signal_handlers, tool_versions
from quantrtl.designs import ReportRow, build, report_rows
from quantrtl.synth.flow import SynthFlags
from quantrtl.synth.targets import TARGETS, overflow_text

DEFAULT_TARGETS = ("ice40-up5k", "ecp5-25k", "xc7")
VARIANTS = ("lut", "booth", "dsp")


def default_set() -> tuple[ReportRow, ...]:
    """The report rows every design family registered (``quantrtl.designs.report_rows``)."""
    return report_rows()


def _flags(variant: str) -> SynthFlags:
    return SynthFlags(booth=variant == "booth", dsp=variant == "dsp")


def _progress(message: str):
    print(message, file=sys.stderr, flush=True)


def run_report(out: Path, *, targets=None, simulator=None, verify=True, jobs=2,
               entries=None, force=False) -> dict:
    """Verify and synthesize ``entries`` (default: ``default_set()``) and write ``out``
    (``force``: also into a folder quantrtl did not write, replacing only its own files)."""
    targets = list(targets or DEFAULT_TARGETS)
    entries = default_set() if entries is None else tuple(entries)
    designs = {e.label: build(e.design, e.params) for e in entries}  # validates everything
    check_output_folder(out, "report", force=force)
    check_cache()
    install_signal_handlers()  # stop every tool first on SIGINT/SIGTERM (jobs run in threads)
    verification, failed = [], []
    if verify:
        for i, e in enumerate(entries, 1):
            try:
                record, cached = _verified(designs[e.label], simulator)
            except ToolError as exc:
                failed.append(_failure("verify", e, None, None, exc))
                _progress(f"[verify {i}/{len(entries)}] {e.label}: FAILED: {exc}")
                continue
            verification.append({"design": e.label, **record})
            _progress(f"[verify {i}/{len(entries)}] {e.label}: {record['cycles']} cycles "
                      f"({record['mode']}) pass{' (cached)' if cached else ''}")

    runs = [(e, t, v) for e in entries for t in targets for v in VARIANTS
            if not (v == "dsp" and TARGETS[t].dsp_flag is None)]
    done = 0

    def one(run):
        from quantrtl.synth.flow import synthesize
        e, t, v = run
        try:
            return synthesize(designs[e.label].rtl, t, _flags(v), design=e.design,
                              params=e.params)
        except ToolError as exc:  # the other jobs go on; the report marks this one
            return exc

    results = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            for (e, t, v), r in zip(runs, pool.map(one, runs)):
                done += 1
                if isinstance(r, ToolError):
                    failed.append(_failure("synth", e, t, v, r))
                    _progress(f"[synth {done}/{len(runs)}] {e.label} {t} {v}: FAILED: {r}")
                    continue
                fmax = f", {r['fmax_mhz']:.0f} MHz" if r["fmax_mhz"] else ""
                if r.get("fits") is False:
                    fmax = f", {overflow_text(r['overflow'])}"
                _progress(f"[synth {done}/{len(runs)}] {e.label} {t} {v}: {r['luts']} LUTs"
                          f"{fmax}{' (cached)' if r['cached'] else ''}")
                results.append({**{k: val for k, val in r.items() if k != "cached"},
                                "label": e.label, "baseline": e.baseline})
        except BaseException:  # an interrupt: start no queued job
            pool.shutdown(wait=True, cancel_futures=True)
            raise

    qor = {"provenance": provenance(), "tools": tool_versions(), "targets": targets,
           "verification": verification, "results": results, "failed": failed}
    with output_folder(out, "report", force=force) as tmp:
        (tmp / "qor.json").write_text(json.dumps(qor, indent=2, sort_keys=True))
        charts = _charts(results, targets, tmp)
        (tmp / "report.md").write_text(render_markdown(qor, charts))
    _progress(f"report written to {out}/ (report.md, qor.json, {len(charts)} charts)")
    if failed:
        first = failed[0]
        raise ToolError(f"{len(failed)} of {len(runs) + len(entries) * verify} report jobs "
                        f"failed, the first: {first['tool']} ({first['job']} of "
                        f"{_job_name(first)}); the report in {out}/ has every other row and "
                        f"lists the failed jobs; log: {first['log']}")
    return qor


def _failure(job: str, entry: ReportRow, target, variant, exc: ToolError) -> dict:
    """A failed job's record in ``qor.json``: what ran, the tool, its log and the message
    (``ToolError`` messages start with the tool and end with ``log: <path>``)."""
    message = str(exc)
    tool = message.split(None, 1)[0].rstrip(":") if message else "tool"
    log = message.rsplit("log: ", 1)[1].strip() if "log: " in message else None
    return {"job": job, "label": entry.label, "design": entry.design,
            "params": dict(entry.params), "target": target, "variant": variant,
            "tool": tool, "log": log, "error": message}


def _job_name(f: dict) -> str:
    where = f" on {f['target']} ({f['variant']})" if f["target"] else ""
    return f"{f['label']}{where}"


def _verified(design, simulator) -> tuple[dict, bool]:
    """(record, cached) of ``quantrtl.sim.verified.verified_run``: the design's default bench,
    or the record of a pass with the very same RTL, vectors and simulator."""
    from quantrtl.sim.verified import verified_run

    record, cached, _log = verified_run(design, simulator)
    return record, cached


def _index(results):
    return {(r["label"], r["target"], r["variant"]): r for r in results}


def render_markdown(qor: dict, charts: list[str]) -> str:
    results, index = qor["results"], _index(qor["results"])
    tools = ", ".join(f"{k} {v}" for k, v in sorted(qor["tools"].items()))
    lines = ["# quantrtl QoR report", "", provenance_line(qor.get("provenance")), "",
             f"Tools: {tools}. Area from Yosys on the bare unit; Fmax from nextpnr (seed "
             "1) on the unit inside a registered wrapper, so all paths are register to "
             "register. `ratio` = LUTs / LUTs of the design named under `vs` (same target "
             "and variant); a generated MAC is compared with the hand-written baseline "
             "of the same operands.", ""]
    if qor["verification"]:
        lines += ["## Verification against the golden model", "",
                  "| design | mode | cycles checked | simulator | result |",
                  "|---|---|---:|---|---|"]
        lines += [f"| {v['design']} | {v['mode']} | {v['cycles']} | {v['simulator']} | pass |"
                  for v in qor["verification"]]
        lines.append("")
    for target in qor["targets"]:
        lines += [f"## {target}", "",
                  "| design | variant | LUTs | FFs | carry | DSPs | Fmax (MHz) | vs | ratio |",
                  "|---|---|---:|---:|---:|---:|---:|---|---:|"]
        for r in results:
            if r["target"] != target:
                continue
            base = index.get((r["baseline"], target, r["variant"])) if r["baseline"] else None
            ratio = f"{r['luts'] / base['luts']:.2f}" if base and base["luts"] else "—"
            fmax = f"{r['fmax_mhz']:.1f}" if r["fmax_mhz"] else "—"
            if r.get("fits") is False:
                fmax = overflow_text(r["overflow"])
            lines.append(f"| {r['label']} | {r['variant']} | {r['luts']} | {r['ffs']} | "
                         f"{r['carry']} | {r['dsps']} | {fmax} | {r['baseline'] or '—'} | "
                         f"{ratio} |")
        for f in qor.get("failed", []):
            if f["target"] == target:
                lines.append(f"| {f['label']} | {f['variant']} | **failed** ({f['tool']}, "
                             "see below) | | | | | | |")
        lines.append("")
    if qor.get("failed"):
        lines += ["## Failed jobs", "",
                  "These jobs' tools failed; their rows above are missing or marked.", "",
                  "| job | design | parameters | target | variant | tool | log |",
                  "|---|---|---|---|---|---|---|"]
        for f in qor["failed"]:
            params = " ".join(f"{k}={v}" for k, v in f["params"].items())
            lines.append(f"| {f['job']} | {f['label']} ({f['design']}) | {params} | "
                         f"{f['target'] or '—'} | {f['variant'] or '—'} | {f['tool']} | "
                         f"`{f['log']}` |")
        lines.append("")
    lines += [f"![{c}]({c})" for c in charts]
    return "\n".join(lines) + "\n"


def _charts(results, targets, folder: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r["label"] for r in results))
    index = _index(results)
    written = []
    for metric, unit, name in (("luts", "LUTs", "area.png"), ("fmax_mhz", "MHz", "fmax.png")):
        shown = [t for t in targets if any(index.get((lb, t, "lut"), {}).get(metric)
                                           for lb in labels)]
        if not shown:
            continue
        fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4.5), squeeze=False)
        for ax, target in zip(axes[0], shown):
            width = 0.8 / len(VARIANTS)
            for i, variant in enumerate(VARIANTS):
                values = [(index.get((lb, target, variant)) or {}).get(metric) or 0
                          for lb in labels]
                ax.bar([x + i * width for x in range(len(labels))], values, width,
                       label=variant)
            ax.set_title(target)
            ax.set_ylabel(unit)
            ax.set_xticks([x + width for x in range(len(labels))])
            ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
            ax.legend(fontsize=8)
        fig.suptitle("Area (LUTs)" if metric == "luts" else "Fmax after place and route")
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100, metadata={"Software": None})
        plt.close(fig)
        written.append(name)
    return written
