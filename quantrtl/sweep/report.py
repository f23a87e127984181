"""``report.md`` of a sweep: the Fmax distribution per design point (a point too large for its
device shows "does not fit (LUT4 5,927 / 5,280)" instead), the comparisons whose ranges
overlap, verification and failed jobs, from ``results.summarize``'s summary."""

from __future__ import annotations

from quantrtl.base.provenance import provenance_line
from quantrtl.synth.targets import overflow_text

__all__ = ["render", "fmax_table"]


def _mhz(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def fmax_table(points: list[dict]) -> list[str]:
    """Markdown rows: one per design point with its Fmax over the seeds."""
    lines = ["| design point | target | variant | LUTs | FFs | DSPs | seeds | Fmax min | "
             "median | max (MHz) | failed |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in points:
        luts = p["luts"] if not isinstance(p["luts"], list) else \
            f"{p['luts'][0]}–{p['luts'][-1]}"
        fmax = f"{_mhz(p['fmax_min'])} | {_mhz(p['fmax_median'])} | {_mhz(p['fmax_max'])}"
        if p.get("fits") is False:
            fmax = f"**{overflow_text(p['overflow'])}** | — | —"
        lines.append(f"| {p['label']} | {p['target']} | {p['variant']} | {luts} | "
                     f"{p['ffs']} | {p['dsps']} | {p['n']} | {fmax} | {p['failed']} |")
    return lines


def _tools(tools: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(tools.items()))


def render(summary: dict, charts: list[str]) -> str:
    tools = _tools(summary.get("tools", {}))
    if summary.get("tools_differ"):
        tools = "**differ between workers** (see Tool versions)"
    lines = ["# quantrtl sweep", "", provenance_line(summary.get("provenance")), "",
             f"Spec: `{summary.get('spec', '?')}`; {summary['jobs']} jobs. Tools: "
             f"{tools or 'n/a'}. Area from Yosys on the bare unit (it does not depend on the "
             "seed); Fmax from nextpnr on the unit inside a registered wrapper, once per "
             "placement seed. A design point that needs more of a resource than the device "
             "has shows \"does not fit\" with what it needs and what the device has: a "
             "result, not a failed job.", "", "## Fmax over the placement seeds", ""]
    lines += fmax_table(summary["points"])
    lines.append("")
    if summary.get("tools_differ"):
        lines += ["## Tool versions", "",
                  "The workers ran different tool versions: results of different rows (or "
                  "seeds) may not be comparable.", "",
                  "| tools | hosts | jobs |", "|---|---|---:|"]
        lines += [f"| {_tools(t['tools'])} | {', '.join(t['hosts'])} | {t['jobs']} |"
                  for t in summary["tool_sets"]]
        lines.append("")
    if summary["comparisons"]:
        lines += ["## Comparisons", "",
                  "Pairs of design points on the same target and variant. When their Fmax "
                  "ranges overlap, which one is faster may be placement noise: compare "
                  "medians over more seeds, not one seed.", "",
                  "| A | B | target | variant | median A / median B | ranges overlap |",
                  "|---|---|---|---|---:|---|"]
        for c in summary["comparisons"]:
            lines.append(f"| {c['a']} | {c['b']} | {c['target']} | {c['variant']} | "
                         f"{c['median_ratio']:.3f} | {'**yes**' if c['overlap'] else 'no'} |")
        lines.append("")
    if summary["verification"]:
        lines += ["## Verification against the golden model", "",
                  "| design point | mode | cycles | simulator | result |",
                  "|---|---|---:|---|---|"]
        lines += [f"| {v['label']} | {v['mode']} | {v['cycles']} | {v['simulator']} | pass |"
                  for v in summary["verification"]]
        lines.append("")
    if summary["failed"]:
        lines += ["## Failed jobs", "", "| job | design point | target | variant | seed | "
                  "tool | log |", "|---|---|---|---|---:|---|---|"]
        for f in summary["failed"]:
            lines.append(f"| {f['kind']} | {f['label']} | {f['target'] or '—'} | "
                         f"{f['variant'] or '—'} | {f['seed'] if f['seed'] is not None else '—'}"
                         f" | {f['tool']} | `{f['log']}` |")
        lines.append("")
    lines += [f"![{c}]({c})" for c in charts]
    return "\n".join(lines) + "\n"
