"""Ternary (1.58-bit, BitNet b1.58) weights: ``ternary-mac`` (``hw.ternary.TernaryMAC``),
the base-3 byte unpacker ``ternary-unpack`` (``hw.ternary.Base3Unpacker``) and the
``ternary`` array PE type (``hw.pe_ternary.TernaryPE``)."""

from __future__ import annotations

import torch

from quantrtl.designs.mac import int_acts
from quantrtl.designs.registry import (
    PETypeSpec,
    register,
    register_pair,
    register_pe,
    register_report,
)
from quantrtl.designs.spec import DesignSpec, FormatPair, Param, ReportRow
from quantrtl.formal.combinational import combinational_reference
from quantrtl.formal.mac import MacOperands, mac_reference
from quantrtl.formal.reference import case_table
from quantrtl.formal.step import StepTerms, field_operand, step_reference
from quantrtl.golden import ternary
from quantrtl.golden.arith import OVERFLOW_MODES, mac_trace
from quantrtl.golden.integer import parse_int_format
from quantrtl.hw.pe_ternary import TernaryPE
from quantrtl.hw.rtl import from_component
from quantrtl.hw.ternary import Base3Unpacker, TernaryMAC
from quantrtl.sim.gemm_ternary import TernaryOperands
from quantrtl.sim.vectors import Vectors, mac_stream_vectors

__all__: list[str] = []

_W_CODES = torch.arange(4)  # every 2-bit code, the reserved 0b10 included


def _signed_acts(name: str, what: str):
    fx = parse_int_format(name)
    if not fx.signed:
        raise ValueError(f"{what} activations must be signed intN, got {fx.name}")
    return fx


def _make_ternary_mac(p: dict):
    fx = _signed_acts(p["x"], "ternary-mac")
    unit = TernaryMAC(x_width=fx.bits, acc_width=p["acc"], pipeline=p["pipeline"],
                      overflow=p["overflow"])

    def trace(w, x, valid, clear):
        return mac_trace(ternary.code_value(w), x, valid, clear, acc_width=p["acc"],
                         overflow=p["overflow"])

    def vectors(mode, count, seed):
        return mac_stream_vectors(_W_CODES, fx.codes(), trace,
                                  a_extremes=torch.tensor([1, 3]),
                                  b_extremes=torch.tensor([fx.qmin, fx.qmax]),
                                  names=("w", "x"), latency=unit.latency, mode=mode,
                                  count=count, seed=seed, acc_width=p["acc"])

    return from_component(unit, "ternary_mac"), vectors, True


def _code_table(select: str, port_width: int, name: str) -> str:
    """Verilog: ``<name>_value``, golden's value of the 2-bit code ``select``."""
    values = ternary.code_value(torch.arange(1 << port_width)).tolist()
    return (case_table(select, port_width, [(f"{name}_raw", 2, values)], True, name) +
            f"\n  wire signed [1:0] {name}_value = {name}_raw;")


def _mac_reference(design):
    def operands(widths):
        return MacOperands(["w", "x"], True, "w_value * $signed(x_x)",
                           "golden.ternary.code_value of the 2-bit weight code x INT code",
                           _code_table("w_x", widths["w"], "w"),
                           {"w": "hex", "x": "signed"})
    return mac_reference(design, operands)


def _make_unpacker(p: dict):
    unit = Base3Unpacker()

    def vectors(mode, count, seed):
        if mode == "exhaustive":
            byte = torch.arange(256)
        elif mode == "random":
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"random vectors need a positive count, got {count!r}")
            byte = torch.randint(256, (count,), generator=torch.Generator().manual_seed(seed))
        else:
            raise ValueError(f"unknown vector mode {mode!r}")
        bad = byte >= ternary.BASE3_LIMIT
        digits = ternary.byte_digits(torch.where(bad, 0, byte))
        word = (ternary.encode_codes(digits) << (2 * torch.arange(5))).sum(dim=-1)
        word = torch.where(bad, 0, word)
        return Vectors({"base3": byte.tolist()},
                       {"codes": word.tolist(), "bad": bad.to(torch.int64).tolist()},
                       {"codes": False, "bad": False}, 0, {"base3": 0}, seed, mode)

    return from_component(unit, "ternary_unpack"), vectors, True


def _unpacker_reference(design):
    def describe(code: int) -> str:
        if code >= ternary.BASE3_LIMIT:
            return f"byte {code} (not a base-3 byte)"
        return f"byte {code}, weights {ternary.byte_digits(code).tolist()}"
    return combinational_reference(design, describe)


def _ternary_pe(p: dict):
    """``pe=ternary``: B (weights) ``b=ternary`` 2-bit codes, A (activations) signed intN
    (default int8)."""
    b = p["b"] or "ternary"
    if b != "ternary":
        raise ValueError(f"PE type ternary takes weights b=ternary, got b={b!r}")
    fx = _signed_acts(p["a"] or "int8", "PE type ternary")
    return TernaryPE(x_width=fx.bits), TernaryOperands(fx)


def _ternary_terms(kind, widths: dict[str, int]) -> StepTerms:
    """``pe=ternary``: golden's value of the weight code times the INT activation."""
    return StepTerms({kind.modes[0]: f"b_value * {field_operand('a', 0, kind.a_width)}"},
                     "golden.ternary.code_value of the 2-bit weight code",
                     _code_table("b", widths["b"], "b"))


register(DesignSpec(
    "ternary-mac", "ternary weight (2-bit code) x signed INT activation MAC, add / subtract "
    "/ skip (hw.ternary.TernaryMAC), latency pipeline+1", (
        Param("x", "format", "int8", "activation format: intN, N = 2..8"),
        Param("acc", "int", 24, "accumulator width in bits (at least x's width + 1)"),
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
    ), _make_ternary_mac, reference=_mac_reference,
    lint=((), ("x=int4", "acc=16", "overflow=saturate"), ("pipeline=2",),
          ("x=int4", "acc=8", "overflow=saturate", "pipeline=1")),
    prove=((), ("x=int4", "acc=8", "overflow=saturate"), ("pipeline=1",),
           ("x=int8", "acc=12", "overflow=saturate", "pipeline=2")),
    rigor=((), ("x=int4", "acc=8", "overflow=saturate", "pipeline=1"))))

register(DesignSpec(
    "ternary-unpack", "base-3 byte to five 2-bit ternary codes, flags bytes >= 243 "
    "(hw.ternary.Base3Unpacker), combinational", (),
    _make_unpacker, reference=_unpacker_reference,
    lint=((),), prove=((),), rigor=((),)))

register_pe(PETypeSpec("ternary", _ternary_pe,
                       lambda design, kind: step_reference(design, kind, _ternary_terms)))

# against the INT MACs of the same activation width and accumulator
register_report(
    ReportRow("TernaryxINT8 MAC", "ternary-mac", {"x": "int8", "acc": 24}, "INT8 MAC"),
    ReportRow("TernaryxINT4 MAC", "ternary-mac", {"x": "int4", "acc": 16}, "INT4 MAC"))


# -- format pair for ``quantrtl explore``: ternary weights x INT8 activations (W1.58A8) --------
# explore calibrates activations statically, one scale per tensor (``int_acts``), not per
# token as BitNet b1.58 does at run time.

def _ternary_weights(w):
    """Per output channel absmean (``golden.ternary.quantize``); codes are the 2-bit codes."""
    values, scale = ternary.quantize(w, axis=0)
    return values.to(torch.float64), scale, ternary.encode_codes(values)


def _ternary_pair() -> FormatPair:
    calibrate, quantize = int_acts(8)
    return FormatPair("ternaryxint8", "ternary", "int8", 2,
                      (("pe", "ternary"), ("a", "int8"), ("b", "ternary")), _ternary_weights,
                      calibrate, quantize, lambda x_codes, w_codes: (x_codes, w_codes.T))


register_pair(_ternary_pair())
