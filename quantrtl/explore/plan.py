"""The plan solver: one format pair per linear layer, under a budget.

A plan's **cost** is the MAC-weighted mean of the hardware cost per MAC of its layers'
pairs, ``sum_l macs_l * cost(pair_l) / sum_l macs_l`` (what an array of fixed throughput
spends: LUTs per MAC from synthesis, or a proxy without it). Its **predicted accuracy** is
``1 - sum_l sensitivity(l, pair_l)``: each layer's measured drop in mean embedding cosine
when it alone is quantized, assumed additive.

Budgets: ``cos>=X`` (predicted mean cosine at least ``X``: minimise cost) or ``cost<=X``
(cost at most ``X``: maximise predicted accuracy). The solver is exact for the rounded
problem, a multiple-choice knapsack by dynamic programming: the drops are rounded *up*
to a grid of ``STEPS`` steps over the largest possible total (so the prediction never
flatters the plan), and for every grid total the cheapest assignment is kept; layers x
pairs x ``STEPS`` operations (36 x 6 x 20000 for MiniLM, well under a second).
Ties: for each grid total the lower (cost, exact drop) is kept, the first found on an exact
tie; a ``cos`` budget then takes the lowest (cost, exact drop, grid total, pair names in
alphabetical order), a ``cost`` budget the lowest (grid total, cost, pair names).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Budget", "parse_budget", "Plan", "solve", "STEPS"]

STEPS = 20000


@dataclass(frozen=True)
class Budget:
    kind: str      # "cos" or "cost"
    value: float

    def __str__(self):
        return f"cos>={self.value:g}" if self.kind == "cos" else f"cost<={self.value:g}"

    def met(self, mean_cos: float, cost: float) -> bool:
        return mean_cos >= self.value if self.kind == "cos" else cost <= self.value + 1e-12


def parse_budget(text: str) -> Budget:
    """``cos>=0.99`` (mean embedding cosine, 0 < X <= 1) or ``cost<=N`` (cost per MAC)."""
    for kind, op in (("cos", ">="), ("cost", "<=")):
        if text.startswith(kind + op):
            try:
                value = float(text[len(kind) + len(op):])
            except ValueError:
                break
            if kind == "cos" and not 0 < value <= 1:
                raise ValueError(f"budget cos>=X needs 0 < X <= 1, got {text!r}")
            if kind == "cost" and not (math.isfinite(value) and value > 0):
                raise ValueError(f"budget cost<=X needs a positive number, got {text!r}")
            return Budget(kind, value)
    raise ValueError(f"budget must be cos>=X (mean embedding cosine) or cost<=X (cost per "
                     f"MAC), got {text!r}")


@dataclass(frozen=True)
class Plan:
    assignment: dict           # layer -> pair name
    cost: float                # MAC-weighted cost per MAC
    predicted_cos: float       # 1 - sum of sensitivities

    def as_dict(self) -> dict:
        return {"layers": dict(self.assignment), "cost_per_mac": self.cost,
                "predicted_mean_cos": self.predicted_cos}


def _plan(layers, choice, drops, costs, macs) -> Plan:
    total = sum(macs[name] for name in layers)
    assignment = {name: choice[name] for name in layers}
    cost = sum(macs[n] * costs[assignment[n]] for n in layers) / total
    drop = sum(drops[n][assignment[n]] for n in layers)
    return Plan(assignment, cost, 1.0 - drop)


def solve(layers: list[str], pair_names: list[str], drops: dict, costs: dict, macs: dict,
          budget: Budget, max_drop: float | None = None) -> tuple[Plan, bool]:
    """``(plan, feasible)``: the cheapest plan whose predicted drop is at most the budget's
    (``max_drop`` overrides ``1 - budget.value`` for ``cos`` budgets: the caller tightens
    it when a measured plan misses), or the most accurate plan within a ``cost`` budget.
    When no plan meets the budget, the closest one (the most accurate for ``cos``, the
    cheapest for ``cost``) and ``False``.

    ``drops[layer][pair]`` >= 0 (negative drops count as 0), ``costs[pair]``,
    ``macs[layer]`` per token."""
    if not layers or not pair_names:
        raise ValueError("nothing to plan: no layers or no format pairs")
    d = {n: {p: max(0.0, drops[n][p]) for p in pair_names} for n in layers}
    top = sum(max(d[n].values()) for n in layers)
    unit = max(top, 1e-12) / STEPS
    total_macs = sum(macs[n] for n in layers)
    # best[g] = (cost, exact drop, choices) of the cheapest assignment with grid total g
    best: dict[int, tuple[float, float, tuple]] = {0: (0.0, 0.0, ())}
    for n in layers:
        nxt: dict[int, tuple[float, float, tuple]] = {}
        for g, (c, exact, picks) in best.items():
            for p in pair_names:
                gg = g + math.ceil(d[n][p] / unit - 1e-9)
                cand = (c + macs[n] * costs[p] / total_macs, exact + d[n][p], picks + (p,))
                old = nxt.get(gg)
                if old is None or cand[:2] < old[:2]:
                    nxt[gg] = cand
        best = nxt
    options = sorted(best.items())
    if budget.kind == "cos":
        allowed = (1.0 - budget.value) if max_drop is None else max_drop
        fits = [(c, exact, g, picks) for g, (c, exact, picks) in options
                if g * unit <= allowed + 1e-12]
        if fits:
            c, exact, g, picks = min(fits)
            return _plan(layers, dict(zip(layers, picks)), d, costs, macs), True
        g, (c, exact, picks) = options[0]  # the most accurate plan there is
        return _plan(layers, dict(zip(layers, picks)), d, costs, macs), False
    fits = [(g, c, picks) for g, (c, exact, picks) in options if c <= budget.value + 1e-12]
    if fits:
        g, c, picks = min(fits)
        return _plan(layers, dict(zip(layers, picks)), d, costs, macs), True
    c, exact, g, picks = min((c, exact, g, picks) for g, (c, exact, picks) in options)
    return _plan(layers, dict(zip(layers, picks)), d, costs, macs), False
