"""A sweep's charts (matplotlib, Agg): ``fmax_spread.png``, the Fmax of every seed per
design point (a bar from min to max, a dot per seed, a tick at the median; a point that does
not fit its device: a red cross on the axis, "does not fit"), one panel per target;
``area_fmax.png``, LUTs against Fmax, a dot per seed, one panel per target."""

from __future__ import annotations

from pathlib import Path

__all__ = ["charts"]


def _shown(p) -> bool:
    return bool(p["n"]) or p.get("fits") is False


def _targets(points):
    return list(dict.fromkeys(p["target"] for p in points if _shown(p)))


def charts(summary: dict, records: list[dict], folder: Path) -> list[str]:
    """Write the charts that have data into ``folder``; returns their file names."""
    points = summary["points"]
    targets = _targets(points)
    if not targets:
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fmax = {}
    for r in records:
        if r["kind"] == "synth" and r["status"] == "ok" and r.get("fmax_mhz") is not None:
            fmax.setdefault((r["label"], r["target"], r["variant"]), []).append(r["fmax_mhz"])
    written = []

    fig, axes = plt.subplots(1, len(targets), figsize=(5.5 * len(targets), 4.8),
                             squeeze=False)
    for ax, target in zip(axes[0], targets):
        shown = [p for p in points if p["target"] == target and _shown(p)]
        for x, p in enumerate(shown):
            if not p["n"]:  # does not fit the device: no Fmax
                ax.plot([x], [0], "x", color="red", markersize=8)
                ax.annotate("does not fit", (x, 0), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=7, color="red")
                continue
            values = fmax[(p["label"], target, p["variant"])]
            ax.vlines(x, p["fmax_min"], p["fmax_max"], linewidth=6, alpha=0.3)
            ax.plot([x] * len(values), values, "o", markersize=4)
            ax.plot([x - 0.25, x + 0.25], [p["fmax_median"]] * 2, "k-")
        ax.set_xticks(range(len(shown)))
        ax.set_xticklabels([f"{p['label']} ({p['variant']})" for p in shown], rotation=30,
                           ha="right", fontsize=8)
        ax.set_title(target)
        ax.set_ylabel("Fmax (MHz)")
    fig.suptitle("Fmax over placement seeds (bar: min to max, line: median)")
    fig.tight_layout()
    fig.savefig(folder / "fmax_spread.png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    written.append("fmax_spread.png")

    fig, axes = plt.subplots(1, len(targets), figsize=(5.5 * len(targets), 4.8),
                             squeeze=False)
    for ax, target in zip(axes[0], targets):
        for p in points:
            if p["target"] != target or not p["n"]:
                continue
            values = fmax[(p["label"], target, p["variant"])]
            luts = p["luts"][0] if isinstance(p["luts"], list) else p["luts"]
            ax.plot([luts] * len(values), values, "o", markersize=4,
                    label=f"{p['label']} ({p['variant']})")
        ax.set_title(target)
        ax.set_xlabel("LUTs")
        ax.set_ylabel("Fmax (MHz)")
        ax.legend(fontsize=7)
    fig.suptitle("Area against Fmax (a dot per seed)")
    fig.tight_layout()
    fig.savefig(folder / "area_fmax.png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    written.append("area_fmax.png")
    return written
