"""dINT weights times INT activations: ``dint-mac`` (``hw.dint.DIntMAC``) and the
``dint`` array PE type."""

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
from quantrtl.formal.mac import dint_operands, mac_reference
from quantrtl.formal.step import dint_terms, step_reference
from quantrtl.formats.dint import parse_dint
from quantrtl.golden.arith import OVERFLOW_MODES
from quantrtl.golden.dint import (
    DIntFormat,
    decode as dint_decode,
    mac_trace as dint_trace,
    quantize as dint_quantize,
)
from quantrtl.golden.integer import parse_int_format
from quantrtl.hw.dint import DIntMAC
from quantrtl.hw.pe_formats import DIntArrayPE
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm_formats import DIntOperands
from quantrtl.sim.vectors import mac_stream_vectors

__all__: list[str] = []


def _weight_format(p: dict) -> DIntFormat:
    return DIntFormat(p["w_bits"], tuple(float(d) for d in p["denormals"].split(",")))


def _make_dint_mac(p: dict):
    x = parse_int_format(p["x"])
    if not x.signed:
        raise ValueError(f"dint-mac activations must be signed, got {x}")
    denormals = tuple(float(d) for d in p["denormals"].split(","))
    unit = DIntMAC(w_bits=p["w_bits"], denormals=denormals, x_width=x.bits, acc_width=p["acc"],
                   pipeline=p["pipeline"], overflow=p["overflow"])
    fmt = _weight_format(p)
    half = 1 << (p["w_bits"] - 1)

    def trace(w, xs, valid, clear):
        return dint_trace(w, xs, valid, clear, fmt, acc_width=p["acc"], overflow=p["overflow"])

    def vectors(mode, count, seed):
        return mac_stream_vectors(torch.arange(2 * half), x.codes(), trace,
                                  a_extremes=torch.tensor([half - 1, 2 * half - 1]),
                                  b_extremes=torch.tensor([x.qmin, x.qmax]), names=("w", "x"),
                                  latency=unit.latency, mode=mode, count=count, seed=seed,
                                  acc_width=p["acc"])

    return from_component(unit, "dint_mac"), vectors, p["w_bits"] + x.bits <= 12



def _dint_pe(p: dict):
    """``pe=dint``: B (weights) dintN, N = 3..8, denormal level 0.5, or with other levels
    ``dint4-d0.25-0.5`` (``golden.dint.DIntFormat.name``); A (activations) signed intN
    (default int8) (``hw.pe_formats.DIntArrayPE``)."""
    b = p["b"] or "dint4"
    try:
        spec = parse_dint(b)
    except ValueError as exc:
        raise ValueError(f"PE type dint takes weights b=dintN (N = 3..8, denormal 0.5) or "
                         f"b=dintN-d<levels> (e.g. dint4-d0.25-0.5), got b={b!r}: "
                         f"{exc}") from None
    fw = DIntFormat(spec.bits, spec.denormals)
    fx = parse_int_format(p["a"] or "int8")
    if not fx.signed:
        raise ValueError(f"PE type dint takes signed activations a=intN, got a={fx.name}")
    return (DIntArrayPE(w_bits=fw.bits, denormals=fw.denormals, x_width=fx.bits),
            DIntOperands(fx, fw))



def _reference(design):
    fmt = _weight_format(design.params)
    return mac_reference(design, lambda widths: dint_operands(fmt, widths))


register(DesignSpec(
    "dint-mac", "dINT weight x signed INT activation MAC (hw.dint.DIntMAC), fixed-point "
    "accumulator, latency pipeline+1", (
        Param("w_bits", "int", 4, "dINT weight width, 3..8"),
        Param("denormals", "floats", "0.5", "denormal levels, powers of two below 1"),
        Param("x", "format", "int8", "activation format: intN, N = 2..8"),
        Param("acc", "int", 24, "accumulator width in bits, fractional bits included"),
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
    ), _make_dint_mac, reference=_reference,
    lint=((), ("denormals=0.25,0.5", "pipeline=1", "overflow=saturate")),
    prove=((), ("denormals=0.25,0.5", "overflow=saturate", "pipeline=1")),
    rigor=((), ("denormals=0.25,0.5", "overflow=saturate", "pipeline=1"))))

register_pe(PETypeSpec("dint", _dint_pe,
                       lambda design, kind: step_reference(design, kind, dint_terms)))

# W4A8: against the INT8 MAC with the same 24-bit accumulator
register_report(ReportRow("dINT4xINT8 MAC", "dint-mac", {"acc": 24}, "INT8 MAC"))


# -- format pair for ``quantrtl explore``: dINT4 weights x INT8 activations (W4A8) -----------

def _dint_pair(name: str) -> FormatPair:
    spec = parse_dint(name)
    fmt = DIntFormat(spec.bits, spec.denormals)
    calibrate, quantize = int_acts(8)

    def weights(w):  # per output channel, golden.dint's clip search
        codes, scale = dint_quantize(w, fmt, axis=0)
        return dint_decode(codes, fmt), scale, codes

    return FormatPair(f"{name}xint8", name, "int8", fmt.bits,
                      (("pe", "dint"), ("a", "int8"), ("b", name)), weights, calibrate,
                      quantize, lambda x_codes, w_codes: (x_codes, w_codes.T),
                      acc_scale=1 << spec.frac_bits)


register_pair(_dint_pair("dint4"))
