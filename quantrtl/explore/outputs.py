"""The files ``quantrtl explore`` writes: ``plan.json``, ``explore.json`` (every
measurement), ``report.md``, ``pareto.png`` (end-to-end accuracy against cost per MAC, one
point per uniform format pair, the plan marked) and ``heatmap.png`` (sensitivity per layer
and pair). All through ``quantrtl.base.cache.output_folder``: a new folder appears whole or
not at all, and a folder quantrtl did not write is refused unless ``force``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from quantrtl.base.cache import atomic_write, output_folder, register_output_files
from quantrtl.base.provenance import provenance_line
from quantrtl.synth.targets import overflow_text

__all__ = ["FILES", "write_outputs", "report_markdown"]

FILES = ("plan.json", "explore.json", "report.md", "pareto.png", "heatmap.png")
register_output_files("explore", FILES)  # what output_folder lets --out hold


def _json(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _f(x, digits=4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and (abs(x) < 1e-3 and x != 0):
        return f"{x:.2e}"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def report_markdown(doc: dict) -> str:
    """``report.md`` from ``explore.json``'s document (its ``timing`` is left out, so the
    same inputs give the same bytes)."""
    metric = doc["cost_metric"]
    lines = [f"# quantrtl explore: {doc['model']['name']}", "",
             f"Model `{doc['model']['folder']}`, {doc['sentences']} sentences "
             f"({doc['tokens']} tokens, {doc['pairs_of_sentences']} pairs); sensitivity on "
             f"the first {doc['sensitivity_sentences']}. Cost: {metric}. Produced by "
             f"{provenance_line(doc['provenance'])}: `{doc['command']}`.", "",
             "## Uniform formats", "",
             f"| pair | mean cosine | worst cosine | Spearman | {metric} | storage bits/weight |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, u in doc["uniform"].items():
        lines.append(f"| {name} | {_f(u['mean_cos'])} | {_f(u['worst_cos'])} | "
                     f"{_f(u['spearman'])} | {_f(u['cost'], 2)} | "
                     f"{doc['costs'][name]['weight_bits']} |")
    if doc.get("hardware"):
        lines += ["", f"## Hardware per MAC ({doc['hardware']['target']}, "
                  f"{doc['hardware']['array']})", "",
                  "| pair | LUTs/MAC | FFs/MAC | carry/MAC | DSPs/MAC | Fmax MHz |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, c in doc["costs"].items():
            fmax = _f(c["fmax_mhz"], 1)
            if c.get("fits") is False:  # not a candidate: the plan never uses it
                fmax = f"{overflow_text(c['overflow'])}, no candidate"
            lines.append(f"| {name} | {_f(c['luts_per_mac'], 1)} | {_f(c['ffs_per_mac'], 1)} "
                         f"| {_f(c['carry_per_mac'], 1)} | {_f(c['dsps_per_mac'], 2)} | "
                         f"{fmax} |")
    plan = doc["plan"]
    m = plan["measured"]
    lines += ["", f"## Plan (budget {plan['budget']})", "",
              f"{metric}: {_f(plan['cost_per_mac'], 2)}; predicted mean cosine "
              f"{_f(plan['predicted_mean_cos'])}, measured {_f(m['mean_cos'])} (worst "
              f"{_f(m['worst_cos'])}, Spearman {_f(m['spearman'])}); solver rounds: "
              f"{plan['rounds']}.", "", "| layer | pair | sensitivity |", "|---|---|---:|"]
    for layer, pair in plan["layers"].items():
        lines.append(f"| {layer} | {pair} | "
                     f"{_f(doc['layers'][layer]['pairs'][pair]['sensitivity'])} |")
    tile = doc.get("tile")
    if tile:
        lines += ["", "## Real tile on the generated array", "",
                  f"{tile['layer']} under {tile['pair']}: {tile['rows']}x{tile['cols']} "
                  f"outputs over K = {tile['reduction']} ({tile['steps']} steps), "
                  f"{tile['macs']} real MACs, bit-exact on {tile['simulator']}; "
                  f"`{tile['array']}`."]
    lines += ["", "## Per layer", "",
              "| layer | pair | weight error | output error | sensitivity |",
              "|---|---|---:|---:|---:|"]
    for layer, rec in doc["layers"].items():
        for pair, r in rec["pairs"].items():
            lines.append(f"| {layer} | {pair} | {_f(r['weight_error'])} | "
                         f"{_f(r['output_error'])} | {_f(r['sensitivity'])} |")
    return "\n".join(lines) + "\n"


SHORT = {"attention.self.query": "query", "attention.self.key": "key",
         "attention.self.value": "value", "attention.output.dense": "attn out",
         "intermediate.dense": "ffn in", "output.dense": "ffn out"}


def _short(layer: str) -> str:
    parts = layer.split(".")
    if len(parts) > 3 and parts[0] == "encoder":
        rest = ".".join(parts[3:])
        return f"L{parts[2]} {SHORT.get(rest, rest)}"
    return layer


def _charts(doc: dict, folder: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    metric = doc["cost_metric"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for name, u in doc["uniform"].items():
        ax.scatter(u["cost"], u["mean_cos"], color="tab:blue")
        ax.annotate(name, (u["cost"], u["mean_cos"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    plan = doc["plan"]
    ax.scatter(plan["cost_per_mac"], plan["measured"]["mean_cos"], marker="*", s=180,
               color="tab:red", label="plan (measured)", zorder=3)
    if plan["budget_kind"] == "cos":
        ax.axhline(plan["budget_value"], color="tab:red", linestyle=":", linewidth=1,
                   label=f"budget {plan['budget']}")
    ax.set_xlabel(metric)
    ax.set_ylabel("mean embedding cosine vs FP32")
    ax.set_title(f"{doc['model']['name']}: accuracy vs hardware cost")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(folder / "pareto.png")
    plt.close(fig)

    layers = list(doc["layers"])
    pairs = list(doc["uniform"])
    grid = [[math.log10(max(doc["layers"][n]["pairs"][p]["sensitivity"], 1e-7))
             for p in pairs] for n in layers]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(pairs), 1.2 + 0.22 * len(layers)),
                           dpi=120)
    im = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(pairs)), pairs, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(layers)), [_short(n) for n in layers], fontsize=7)
    for i, n in enumerate(layers):
        j = pairs.index(plan["layers"][n]) if plan["layers"].get(n) in pairs else None
        if j is not None:
            ax.scatter(j, i, marker="s", s=30, facecolors="none", edgecolors="red")
    fig.colorbar(im, ax=ax, label="log10 sensitivity (1 - mean cosine)")
    ax.set_title("sensitivity per layer (red: plan)", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "heatmap.png")
    plt.close(fig)


def write_outputs(out: Path, doc: dict, plan: dict, *, force: bool = False) -> Path:
    """Write every file into ``out`` (all or nothing)."""
    with output_folder(Path(out), "explore", force=force) as tmp:
        atomic_write(tmp / "explore.json", _json(doc))
        atomic_write(tmp / "plan.json", _json(plan))
        atomic_write(tmp / "report.md", report_markdown(doc))
        _charts(doc, tmp)
    return Path(out)
