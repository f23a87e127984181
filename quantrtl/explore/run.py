"""The whole ``quantrtl explore`` path: measure, cost, plan, verify, tile, write.

``Options`` is validated by ``check`` before any work (bad input: ``ValueError``). ``explore``
then runs, saying what it does through ``say`` (stderr on the CLI), and writes the output
folder only once everything succeeded. A budget that no plan meets is a ``ValueError``
naming the closest plan (the most accurate one for a ``cos`` budget, the cheapest for a
``cost`` budget) and its measured accuracy; nothing is written then.

Plan verification: the solver's plan runs through the whole model on every sentence. When
its measured mean cosine misses a ``cos`` budget (the per-layer drops are not exactly
additive), the drop the solver may spend is scaled by ``budget drop / measured drop`` (and
5% less) and it solves again, up to ``ROUNDS`` times; every round is recorded.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from quantrtl.base.cache import check_cache, check_output_folder
from quantrtl.base.provenance import provenance
from quantrtl.designs import get_pair, pairs
from quantrtl.explore import cost as costs_mod
from quantrtl.explore.model import load_model
from quantrtl.explore.outputs import write_outputs
from quantrtl.explore.plan import Budget, Plan, parse_budget, solve
from quantrtl.explore.sentences import SENTENCES
from quantrtl.sim.harness import check_simulator
from quantrtl.synth.targets import get_target

__all__ = ["Options", "check", "explore", "ROUNDS", "DEFAULT_BUDGET"]

ROUNDS = 4
DEFAULT_BUDGET = "cos>=0.98"


@dataclass
class Options:
    model_dir: str | None = None
    out: str = "explore"
    target: str = "ecp5-25k"
    formats: str | None = None        # comma-separated pair names (default: all)
    budget: str = DEFAULT_BUDGET
    sentences: int = len(SENTENCES)   # how many of the shipped sentences
    sens_sentences: int = 64          # sentences for the per-layer sensitivity
    hardware: bool = True             # synthesize (else the proxy cost)
    array: tuple[int, int] = (4, 4)   # the cost unit's array
    tile: tuple[int, int] | None = (16, 16)  # the real tile (None: skip)
    simulator: str = "verilator"
    force: bool = False
    command: str = ""
    parsed: dict = field(default_factory=dict)


def check(opt: Options) -> dict:
    """Validate everything that needs no model; returns the parsed pieces."""
    chosen = pairs() if opt.formats is None else tuple(
        get_pair(n.strip()) for n in opt.formats.split(",") if n.strip())
    if not chosen:
        raise ValueError("--formats names no format pair")
    if len({p.name for p in chosen}) != len(chosen):
        raise ValueError(f"--formats names a pair twice: {opt.formats}")
    budget = parse_budget(opt.budget)
    if opt.hardware:
        get_target(opt.target)
    if not 2 <= opt.sentences <= len(SENTENCES):
        raise ValueError(f"--sentences must be 2..{len(SENTENCES)}, got {opt.sentences}")
    if not 2 <= opt.sens_sentences:
        raise ValueError(f"--sens-sentences must be at least 2, got {opt.sens_sentences}")
    for what, shape in (("--array", opt.array), ("--tile", opt.tile)):
        if shape is not None and not all(1 <= v <= 64 for v in shape):
            raise ValueError(f"{what} must be RxC with 1..64 each, got {shape}")
    check_simulator(opt.simulator)
    check_output_folder(Path(opt.out), "explore", force=opt.force)
    check_cache()
    return {"pairs": chosen, "budget": budget}


def _say(msg: str):
    print(f"explore: {msg}", file=sys.stderr, flush=True)


def _closest(plan, measured, budget: Budget, metric: str) -> str:
    counts: dict[str, int] = {}
    for p in plan.assignment.values():
        counts[p] = counts.get(p, 0) + 1
    mix = ", ".join(f"{n} x{c}" for n, c in sorted(counts.items()))
    return (f"no plan meets the budget {budget}: the closest plan ({mix}; {metric} "
            f"{plan.cost:.2f}) reaches mean cosine {measured['mean_cos']:.4f} measured, "
            f"{plan.predicted_cos:.4f} predicted")


def explore(opt: Options, say: Callable[[str], None] = _say) -> dict:
    """Run everything and write ``opt.out``; returns the ``explore.json`` document."""
    from quantrtl.explore.measure import Measurement  # torch: only when running
    from quantrtl.explore.tile import run_tile
    started = time.perf_counter()
    parsed = check(opt)
    chosen, budget = parsed["pairs"], parsed["budget"]
    model = load_model(opt.model_dir)
    say(f"model {model.folder}: {len(model.linears)} linear layers")
    sentences = SENTENCES[:opt.sentences]
    meas = Measurement(model, sentences, opt.sens_sentences, say)
    say(f"FP32 run: {len(sentences)} sentences, {meas.tokens} tokens captured")

    layers: dict[str, dict] = {}
    for i, lin in enumerate(model.linears):
        n, k = lin.shape
        rec = {"shape": [n, k], "macs_per_token": n * k, "pairs": {}}
        for pair in chosen:
            rec["pairs"][pair.name] = meas.layer(lin.name, pair)
        layers[lin.name] = rec
        say(f"layer {i + 1}/{len(model.linears)} {lin.name}: " + ", ".join(
            f"{p} {r['sensitivity']:.1e}" for p, r in rec["pairs"].items()))

    max_k = max(lin.shape[1] for lin in model.linears)
    if opt.hardware:
        cost = costs_mod.synth_costs(list(chosen), opt.target, *opt.array, max_k, say)
        metric, key = "LUTs per MAC", "luts_per_mac"
        chosen = tuple(costs_mod.fitting(list(chosen), cost, say))  # no candidate otherwise
        if not chosen:
            raise ValueError(f"no format pair's {opt.array[0]}x{opt.array[1]} array fits "
                             f"{opt.target}; choose a larger target or a smaller --array")
    else:
        cost = costs_mod.proxy_costs(list(chosen))
        metric, key = "proxy cost per MAC (weight bits x activation bits)", "proxy"
    unit_cost = {p.name: cost[p.name][key] for p in chosen}

    uniform = {}
    for pair in chosen:
        acc = meas.run({lin.name: pair for lin in model.linears})
        uniform[pair.name] = {**acc, "cost": unit_cost[pair.name]}
        say(f"uniform {pair.name}: mean cosine {acc['mean_cos']:.4f}, worst "
            f"{acc['worst_cos']:.4f}, Spearman "
            + ("n/a" if acc["spearman"] is None else f"{acc['spearman']:.4f}"))

    names = [lin.name for lin in model.linears]
    drops = {n: {p: layers[n]["pairs"][p]["sensitivity"] for p in unit_cost} for n in names}
    macs = {n: layers[n]["macs_per_token"] for n in names}
    pair_names = [p.name for p in chosen]
    rounds, max_drop, final = [], None, None
    for _ in range(ROUNDS):
        plan, feasible = solve(names, pair_names, drops, unit_cost, macs, budget, max_drop)
        assignment = {n: get_pair(p) for n, p in plan.assignment.items()}
        measured = meas.run(assignment)
        met = feasible and budget.met(measured["mean_cos"], plan.cost)
        rounds.append({**plan.as_dict(), "measured": measured, "feasible": feasible,
                       "met": met, "max_drop": max_drop})
        say(f"plan: {metric} {plan.cost:.2f}, predicted mean cosine "
            f"{plan.predicted_cos:.4f}, measured {measured['mean_cos']:.4f}"
            + ("" if met else " (misses the budget)"))
        if met:
            final = (plan, measured)
            break
        if not feasible or budget.kind != "cos":
            break
        allowed = (1 - budget.value) if max_drop is None else max_drop
        measured_drop = max(1 - measured["mean_cos"], 1e-12)
        max_drop = allowed * (1 - budget.value) / measured_drop * 0.95
    if final is None:
        best = max(rounds, key=lambda r: r["measured"]["mean_cos"]) if budget.kind == "cos" \
            else rounds[-1]
        plan_closest = Plan(best["layers"], best["cost_per_mac"], best["predicted_mean_cos"])
        raise ValueError(_closest(plan_closest, best["measured"], budget, metric))
    plan, measured = final

    tile = None
    if opt.tile is not None:
        layer = max(names, key=lambda n: (layers[n]["shape"][1], -names.index(n)))
        pair = get_pair(plan.assignment[layer])
        say(f"real tile: {layer} under {pair.name}, {opt.tile[0]}x{opt.tile[1]} outputs "
            f"over K = {layers[layer]['shape'][1]} on {opt.simulator} ...")
        tile = run_tile(layer, pair, meas.quantizer, *opt.tile, simulator=opt.simulator)
        say(f"real tile: {tile['macs']} MACs bit-exact, simulator "
            f"{tile['timing']['simulator_seconds']} s")

    plan_doc = {"budget": str(budget), "budget_kind": budget.kind,
                "budget_value": budget.value, "cost_metric": metric,
                **plan.as_dict(), "measured": measured, "rounds": len(rounds)}
    doc = {
        "command": opt.command, "provenance": provenance(),
        "model": {"folder": str(model.folder), "name": model.folder.name
                  if model.folder.name != "model" else model.folder.parent.name,
                  "pooling": model.pooling, "layers": len(model.linears)},
        "sentences": len(sentences), "pairs_of_sentences": len(sentences) // 2,
        "tokens": meas.tokens, "sensitivity_sentences": len(meas.sens_sentences),
        "cost_metric": metric, "costs": cost,
        "hardware": {"target": opt.target, "array": f"{opt.array[0]}x{opt.array[1]} os, "
                     f"max_k={max_k}"} if opt.hardware else None,
        "layers": layers, "uniform": uniform, "plan": plan_doc, "solver_rounds": rounds,
        "tile": tile}
    # everything that varies between runs of the same inputs, in one place
    doc["timing"] = {
        "synthesis": {name: c.pop("timing") for name, c in cost.items() if "timing" in c},
        "tile": tile.pop("timing") if tile else None,
        "seconds": round(time.perf_counter() - started, 1)}
    write_outputs(Path(opt.out), doc, plan_doc, force=opt.force)
    say(f"wrote {opt.out} in {doc['timing']['seconds']} s")
    return doc


def command_line(argv) -> str:
    return "quantrtl explore " + " ".join(shlex.quote(a) for a in argv)
