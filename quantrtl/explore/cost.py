"""Hardware cost per format pair, from the real synthesis flow (cached by content).

The unit: a small output-stationary ``systolic-array`` (default 4 x 4) of the pair's PE
type, with ``max_k`` the model's longest reduction (so its accumulators are as wide as the
model needs), synthesized on the target without DSPs (``quantrtl.synth.flow``: Yosys for
area, nextpnr for Fmax where the target places). Per MAC: its LUTs, flip-flops, carry
cells and DSPs divided by the MACs it does per cycle (cells x elements per lane: 2 for OVP,
whose lanes hold a pair). So the edge decoders, skew registers and stream control of a
small array are shared out over its cells, as in a real array; a larger array spreads
them thinner. Storage: the weight code's bits (scales not counted). A pair whose array does
not fit the target's device (``fits`` False, with the synthesis flow's ``overflow``) is no
candidate on that target: ``fitting`` drops it.

Without hardware (``proxy_costs``), the cost of a pair is the product of its weight and
activation widths (a multiplier-area proxy), marked as such.
"""

from __future__ import annotations

from collections.abc import Callable

from quantrtl.designs import FormatPair, array_pe, build
from quantrtl.formats import parse_format
from quantrtl.synth.flow import SynthFlags, synthesize

__all__ = ["array_params", "synth_costs", "proxy_costs", "act_bits", "fitting"]


def array_params(pair: FormatPair, rows: int, cols: int, max_k: int) -> dict:
    """``systolic-array`` parameters of ``pair``'s PE type."""
    return {**dict(pair.array), "rows": rows, "cols": cols, "dataflow": "os",
            "max_k": max_k}


def act_bits(pair: FormatPair) -> int:
    spec = parse_format(pair.acts)
    return int(spec.bits)


def synth_costs(pairs: list[FormatPair], target: str, rows: int, cols: int, max_k: int,
                say: Callable[[str], None] = lambda msg: None) -> dict[str, dict]:
    """Pair name -> cost record (``luts_per_mac``, ``ffs_per_mac``, ``carry_per_mac``,
    ``dsps_per_mac``, ``fmax_mhz``, ``weight_bits``, the array and its synthesis)."""
    out = {}
    for pair in pairs:
        params = array_params(pair, rows, cols, max_k)
        design = build("systolic-array", params)
        _, kind = array_pe(params)
        macs = rows * cols * kind.elements(kind.modes[0])
        say(f"synthesizing {design.label} on {target} ...")
        r = synthesize(design.rtl, target, SynthFlags(), design="systolic-array",
                       params=design.params)
        out[pair.name] = {
            "luts_per_mac": r["luts"] / macs, "ffs_per_mac": r["ffs"] / macs,
            "carry_per_mac": r["carry"] / macs, "dsps_per_mac": r["dsps"] / macs,
            "fmax_mhz": r["fmax_mhz"], "weight_bits": pair.weight_bits,
            "act_bits": act_bits(pair), "macs_per_cycle": macs,
            "array": design.label, "luts": r["luts"], "ffs": r["ffs"], "carry": r["carry"],
            "dsps": r["dsps"], "fits": r["fits"], "overflow": r["overflow"],
            "timing": {"cached": r["cached"], "synthesis_seconds": r["seconds"]}}
    return out


def fitting(pairs: list[FormatPair], costs: dict[str, dict],
            say: Callable[[str], None] = lambda msg: None) -> list[FormatPair]:
    """The ``pairs`` whose cost record does not say ``fits: False`` (proxy costs always fit);
    says which it drops and why (``overflow_text``)."""
    from quantrtl.synth.targets import overflow_text

    kept = []
    for pair in pairs:
        record = costs[pair.name]
        if record.get("fits") is False:
            say(f"{pair.name}: no candidate, its {record['array']} "
                f"{overflow_text(record['overflow'])}")
        else:
            kept.append(pair)
    return kept


def proxy_costs(pairs: list[FormatPair]) -> dict[str, dict]:
    """Pair name -> ``{"proxy": weight bits x activation bits, ...}`` (no synthesis)."""
    return {p.name: {"proxy": float(p.weight_bits * act_bits(p)),
                     "weight_bits": p.weight_bits, "act_bits": act_bits(p)} for p in pairs}
