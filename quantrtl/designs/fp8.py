"""8-bit float weights times 8-bit float activations: ``fp8-mac`` (``hw.fp8.FP8MAC``), E4M3
or E5M2 on each side, exact products into a fixed-point accumulator."""

from __future__ import annotations

import torch

from quantrtl.designs.registry import register, register_report
from quantrtl.designs.spec import DesignSpec, Param, ReportRow
from quantrtl.formal.mac import MacOperands, mac_reference
from quantrtl.formal.reference import case_table
from quantrtl.formats.minifloat import FloatSpec, parse_float
from quantrtl.golden import minifloat
from quantrtl.golden.arith import OVERFLOW_MODES
from quantrtl.hw.fp8 import DEFAULT_TERMS, FP8MAC
from quantrtl.hw.rtl import from_component
from quantrtl.sim.vectors import mac_stream_vectors

__all__ = ["fp8_operands", "FP8_FORMATS"]

FP8_FORMATS = ("e4m3", "e5m2")


def _acc_width(text) -> int | None:
    """``acc``: an int (or its text), or ``auto`` (None: ``FP8MAC``'s default)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if text == "auto":
        return None
    try:
        return int(str(text), 0)
    except ValueError:
        raise ValueError(f"parameter acc takes an integer or auto, got {text!r}") from None


def _finite_codes(fmt: FloatSpec) -> torch.Tensor:
    return torch.arange(1 << fmt.bits)[minifloat.finite(fmt)]


def _extremes(fmt: FloatSpec) -> torch.Tensor:
    """The codes of ``+max_normal`` and ``-max_normal`` (golden's values): the products
    that overflow an accumulator fastest, in both directions."""
    codes = _finite_codes(fmt)
    values = minifloat.fixed_values(fmt)[0][codes]
    return torch.stack([codes[values.argmax()], codes[values.argmin()]])


def _make_fp8_mac(p: dict):
    wf, xf = parse_float(p["w"]), parse_float(p["x"])
    unit = FP8MAC(w_fmt=wf, x_fmt=xf, acc_width=_acc_width(p["acc"]), pipeline=p["pipeline"],
                  overflow=p["overflow"])
    # The resolved width replaces "auto", so labels, reports and proofs name it.
    p["acc"] = acc = unit.acc_width

    def trace(w, x, valid, clear):
        return minifloat.mac_trace(w, x, valid, clear, wf, xf, acc_width=acc,
                                   overflow=p["overflow"])

    def vectors(mode, count, seed):
        # Finite codes only: golden has no value for NaN/inf (the unit's choice for them,
        # a zero product, is covered by the proof). Exhaustive: every finite pair alone,
        # then shuffled and accumulated (about 2 x 64k cycles), then the overflow runs.
        return mac_stream_vectors(_finite_codes(wf), _finite_codes(xf), trace,
                                  a_extremes=_extremes(wf), b_extremes=_extremes(xf),
                                  names=("w", "x"), latency=unit.latency, mode=mode,
                                  count=count, seed=seed, acc_width=acc)

    return from_component(unit, "fp8_mac"), vectors, True


def fp8_operands(wf: FloatSpec, xf: FloatSpec, widths: dict[str, int]) -> MacOperands:
    """Minifloat codes on ``w`` and ``x``: each one's fixed-point value (``value *
    2^frac_bits``) from a case table of ``golden.minifloat.fixed_values`` over all its
    codes, NaN and infinity codes included (golden gives them 0, the unit's documented
    choice); the product is ``w_value * x_value``, in units of ``2^-(frac_w + frac_x)``."""
    tables, frac = [], 0
    for side, fmt in (("w", wf), ("x", xf)):
        fixed, fb = minifloat.fixed_values(fmt)
        values = fixed.tolist()
        frac += fb
        width = max(abs(v) for v in values).bit_length() + 1
        tables.append(case_table(f"{side}_x", widths[side], [(f"{side}_raw", width, values)],
                                 True, side) +
                      f"\n  wire signed [{width - 1}:0] {side}_value = {side}_raw;")
    return MacOperands(["w", "x"], True, "w_value * x_value",
                       f"golden.minifloat fixed-point values of {wf.name} and {xf.name} "
                       f"(x 2^{frac})", "\n".join(tables),
                       {"w": "hex", "x": "hex", "acc": f"fixed{frac}"})


def _reference(design):
    wf, xf = parse_float(design.params["w"]), parse_float(design.params["x"])
    return mac_reference(design, lambda widths: fp8_operands(wf, xf, widths))


register(DesignSpec(
    "fp8-mac", "FP8 (E4M3/E5M2) weight x FP8 activation MAC (hw.fp8.FP8MAC), exact products, "
    "fixed-point accumulator, latency pipeline+1", (
        Param("w", "choice", "e4m3", "weight format", FP8_FORMATS),
        Param("x", "choice", "e4m3", "activation format (e5m2 x e5m2: refused, its exact "
              "products need 65 bits)", FP8_FORMATS),
        Param("acc", "text", "auto", "accumulator width in bits, 2^-(frac_w+frac_x) units; "
              f"auto: room for {DEFAULT_TERMS} products of the largest magnitude, at most 62 "
              "(e4m3 x e4m3: 49, with e5m2: 62)"),
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
    ), _make_fp8_mac, reference=_reference,
    lint=((), ("w=e5m2", "pipeline=1"), ("x=e5m2", "acc=56", "overflow=saturate",
                                          "pipeline=3")),
    prove=(("acc=40",),),
    rigor=(("acc=40",),)))

# Against the INT8 MAC (24-bit accumulator); the FP8 unit's accumulator is 49 bits wide,
# room for 4096 products of 448 x 448 in units of 2^-18.
register_report(ReportRow("FP8 E4M3 MAC", "fp8-mac", {"w": "e4m3", "x": "e4m3", "acc": 49},
                          "INT8 MAC"))
