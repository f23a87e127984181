"""OCP MX elements in the systolic arrays: the ``mx`` array PE type (``hw.pe_mx.MXArrayPE``,
``array-pe pe=mx``) and its weight-stationary array with the block scales applied on the
bottom edge (``hw.array_mx.MXWeightStationaryArray``, ``systolic-array pe=mx
dataflow=ws``)."""

from __future__ import annotations

import torch

from quantrtl.designs.registry import PETypeSpec, register_pe
from quantrtl.formal.reference import case_table
from quantrtl.formal.step import StepTerms, step_reference
from quantrtl.formats.minifloat import MX_NAMES, MXSpec, parse_mx
from quantrtl.hw.array_mx import MXWeightStationaryArray
from quantrtl.hw.pe_mx import MXArrayPE
from quantrtl.sim.gemm_mx import MXOperands, mx_ws_stream_vectors

__all__: list[str] = []

DEFAULT_BLOCK = 32


def _spec(name: str, side: str, block: int) -> MXSpec:
    if name not in MX_NAMES:
        raise ValueError(f"PE type mx takes {side}=" + f" or {side}=".join(MX_NAMES) +
                         f", got {side}={name!r}")
    return MXSpec(parse_mx(name).element, block)


def _mx_pe(p: dict):
    """``pe=mx``: MX element codes on both sides (default mxfp4); the kind's block size is
    ``rows`` (the weight-stationary pass), 32 for a lone cell."""
    block = p.get("rows") or DEFAULT_BLOCK
    a = _spec(p["a"] or "mxfp4", "a", block)
    b = _spec(p["b"] or "mxfp4", "b", block)
    return MXArrayPE(a.element, b.element), MXOperands(a, b)


def _ws_array(p: dict, pe: MXArrayPE, kind: MXOperands):
    rows, cols = p["rows"], p["cols"]
    unit = MXWeightStationaryArray(rows=rows, cols=cols, a_fmt=pe.a_fmt, b_fmt=pe.b_fmt,
                                   acc_width=p["acc"], pipeline=p["pipeline"],
                                   bram=p["bram"] == "1")

    def vectors(mode, count, seed):
        if mode != "random":
            raise ValueError("systolic-array vectors are random GEMM tiles (mode random)")
        batches = max(4, count // max(1, rows * rows * cols))
        return mx_ws_stream_vectors(rows, cols, kind, acc_width=unit.acc_width,
                                    batches=batches, seed=seed, pipeline=p["pipeline"])[0]

    return unit, vectors


def _mx_terms(kind: MXOperands, widths: dict[str, int]) -> StepTerms:
    """Golden case tables of each side's fixed-point element values (non-finite codes 0),
    multiplied."""
    tables, ops = [], []
    for side in ("a", "b"):
        width = widths[side]
        codes = kind.lanes(side)
        codes = sorted(codes.tolist(), key=lambda c: c & ((1 << width) - 1))
        values = kind.fixed(torch.tensor(codes), side).tolist()
        vw = max(abs(v) for v in values).bit_length() + 1
        tables.append(case_table(side, width, [(f"{side}_raw", vw, values)], True, side) +
                      f"\n  wire signed [{vw - 1}:0] {side}_value = {side}_raw;")
        ops.append(f"{side}_value")
    what = (f"golden.minifloat.fixed_values / MXINT8 codes of {kind.a.element.name} and "
            f"{kind.b.element.name}")
    return StepTerms({kind.modes[0]: f"{ops[0]} * {ops[1]}"}, what, "\n".join(tables))


def _reference(design, kind):
    return step_reference(design, kind, _mx_terms)


register_pe(PETypeSpec(
    "mx", _mx_pe, _reference, ws_array=_ws_array,
    os_error="pe=mx runs dataflow=ws only: the block scales are applied per column at the "
             "bottom edge of a weight-stationary pass (one block of K = rows)"))
