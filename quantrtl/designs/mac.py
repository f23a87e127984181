"""Integer MACs: ``int-mac`` (``hw.mac.IntMAC``), the hand-written ``baseline-mac`` every
generated design is compared with, and the ``int`` array PE type."""

from __future__ import annotations

import torch

from quantrtl.designs.registry import (
    PETypeSpec,
    register,
    register_pair,
    register_pe,
    register_report,
)
from quantrtl.designs.spec import DesignSpec, FormatPair, Param, ReportRow
from quantrtl.formal.mac import int_operands, mac_reference
from quantrtl.formal.step import int_terms, step_reference
from quantrtl.golden.arith import OVERFLOW_MODES
from quantrtl.golden.integer import (
    IntFormat,
    QuantParams,
    compute_qparams,
    parse_int_format,
    quantize as int_quantize,
)
from quantrtl.hw.mac import IntMAC, check_mac_params
from quantrtl.hw.pe import IntPE
from quantrtl.hw.rtl import RTL, from_component
from quantrtl.sim.gemm import IntOperands
from quantrtl.sim.vectors import Vectors, mac_vectors

__all__ = ["baseline_mac_verilog", "mac_vectors_of", "int_acts"]


def mac_vectors_of(a: IntFormat, b: IntFormat, acc: int, overflow: str, latency: int):
    def vectors(mode: str, count: int, seed: int) -> Vectors:
        return mac_vectors(a, b, acc_width=acc, overflow=overflow, latency=latency, mode=mode,
                           count=count, seed=seed)
    return vectors


def _make_int_mac(p: dict):
    a, b = parse_int_format(p["a"]), parse_int_format(p["b"])
    unit = IntMAC(a_width=a.bits, a_signed=a.signed, b_width=b.bits, b_signed=b.signed,
                  acc_width=p["acc"], pipeline=p["pipeline"], overflow=p["overflow"])
    rtl = from_component(unit, "int_mac")
    return rtl, mac_vectors_of(a, b, p["acc"], p["overflow"], unit.latency), a.bits + b.bits <= 10


def baseline_mac_verilog(a: IntFormat, b: IntFormat, acc: int) -> str:
    """A MAC as an engineer writes it by hand: ``acc <= acc + a * b`` in plain Verilog."""
    def operand(name, fmt):
        return f"$signed({name})" if fmt.signed else f"$signed({{1'b0, {name}}})"
    return f"""module baseline_mac (
  input wire clk,
  input wire rst,
  input wire [{a.bits - 1}:0] a,
  input wire [{b.bits - 1}:0] b,
  input wire valid,
  input wire clear,
  output reg [{acc - 1}:0] acc
);
  wire signed [{acc - 1}:0] prod = {operand('a', a)} * {operand('b', b)};
  always @(posedge clk)
    if (rst) acc <= 0;
    else if (valid) acc <= (clear ? {acc}'d0 : acc) + prod;
    else if (clear) acc <= 0;
endmodule
"""


def _make_baseline_mac(p: dict):
    a, b = parse_int_format(p["a"]), parse_int_format(p["b"])
    check_mac_params(a.bits, a.signed, b.bits, b.signed, p["acc"], 0, "wrap")
    rtl = RTL("baseline_mac", baseline_mac_verilog(a, b, p["acc"]))
    return rtl, mac_vectors_of(a, b, p["acc"], "wrap", 1), a.bits + b.bits <= 10



def _int_pe(p: dict):
    """``pe=int``: A and B intN or uintN, N = 2..8 (default int8)."""
    a, b = parse_int_format(p["a"] or "int8"), parse_int_format(p["b"] or "int8")
    return (IntPE(a_width=a.bits, a_signed=a.signed, b_width=b.bits, b_signed=b.signed),
            IntOperands(a, b))



def _int_reference(design):
    a, b = parse_int_format(design.params["a"]), parse_int_format(design.params["b"])
    return mac_reference(design, lambda widths: int_operands(a, b))


_OPERANDS = (
    Param("a", "format", "int8", "operand A format: intN or uintN, N = 2..8"),
    Param("b", "format", "int8", "operand B format: intN or uintN, N = 2..8"),
    Param("acc", "int", 24, "accumulator width in bits (at least the product's width)"),
)


register(DesignSpec(
    "int-mac", "integer MAC (hw.mac.IntMAC), latency pipeline+1", _OPERANDS + (
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
    ), _make_int_mac, reference=_int_reference,
    lint=((), ("a=int4", "b=int4", "acc=8"),
          ("a=uint3", "b=int8", "acc=20", "overflow=saturate", "pipeline=3"),
          ("a=uint8", "b=uint8", "acc=16", "overflow=saturate"),
          ("a=int8", "b=int8", "acc=24", "pipeline=1")),
    prove=(("a=int4", "b=int4", "acc=8"), ("a=int8", "b=int8", "acc=24"),
           ("a=uint3", "b=int8", "acc=12", "overflow=saturate"),
           ("a=uint8", "b=uint8", "acc=16", "overflow=saturate"),
           ("a=int8", "b=int8", "acc=24", "pipeline=1"),
           ("a=uint3", "b=int8", "acc=20", "overflow=saturate", "pipeline=3")),
    rigor=(("a=int8", "b=int8", "acc=24"),
           ("a=uint3", "b=int8", "acc=20", "overflow=saturate", "pipeline=3"))))

register(DesignSpec(
    "baseline-mac", "hand-written Verilog `acc <= acc + a*b` (QoR baseline), latency 1, "
    "wraps", _OPERANDS, _make_baseline_mac, reference=_int_reference,
    lint=((), ("a=uint4", "b=int8", "acc=16")),
    prove=((), ("a=uint4", "b=int6", "acc=12"))))

register_pe(PETypeSpec("int", _int_pe,
                       lambda design, kind: step_reference(design, kind, int_terms)))


def _mac_rows(label: str, a: str, b: str, acc: int) -> tuple[ReportRow, ReportRow]:
    """A generated MAC and its hand-written baseline (the row it is divided by)."""
    params = {"a": a, "b": b, "acc": acc}
    return (ReportRow(label, "int-mac", params, f"{label} (baseline)"),
            ReportRow(f"{label} (baseline)", "baseline-mac", params, None))


register_report(*_mac_rows("INT4 MAC", "int4", "int4", 16),
                *_mac_rows("INT4xINT8 MAC", "int4", "int8", 24),
                *_mac_rows("INT8 MAC", "int8", "int8", 24))


# -- format pairs for ``quantrtl explore`` (weights x activations on pe=int) ------------------

def int_acts(bits: int):
    """``(calibrate_acts, quantize_acts)`` of symmetric per-tensor ``INT<bits>`` activations
    (``golden.integer``: scale = max|x| / qmax over the calibration set, saturating)."""
    fmt = IntFormat(bits)

    def calibrate(x):
        return compute_qparams(x, fmt).scale.reshape(())

    def quantize(x, scale):
        q = int_quantize(x, fmt, QuantParams(scale, torch.zeros((), dtype=torch.int64)))
        return q.to(torch.float64), q

    return calibrate, quantize


def _int_weights(bits: int):
    """Per-output-channel symmetric min/max ``INT<bits>`` weights (``golden.integer``)."""
    fmt = IntFormat(bits)

    def quantize(w):
        qp = compute_qparams(w, fmt, axis=0)
        codes = int_quantize(w, fmt, qp)
        return codes.to(torch.float64), qp.scale, codes

    return quantize


def _int_lanes(x_codes, w_codes):
    return x_codes, w_codes.T


def _int_pair(w_bits: int, a_bits: int) -> FormatPair:
    calibrate, quantize = int_acts(a_bits)
    return FormatPair(f"int{w_bits}xint{a_bits}", f"int{w_bits}", f"int{a_bits}", w_bits,
                      (("pe", "int"), ("a", f"int{a_bits}"), ("b", f"int{w_bits}")),
                      _int_weights(w_bits), calibrate, quantize, _int_lanes)


register_pair(_int_pair(8, 8))
register_pair(_int_pair(4, 4))
register_pair(_int_pair(4, 8))
