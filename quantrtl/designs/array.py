"""Systolic GEMM arrays (``systolic-array``, ``hw.array``) and one array cell's arithmetic
(``array-pe``, ``hw.pe.PEStep``), for every registered PE type."""

from __future__ import annotations

from quantrtl.designs.registry import ARRAY_PES, array_pe, register
from quantrtl.designs.spec import DesignSpec, Param
from quantrtl.hw.array import DATAFLOWS, OutputStationaryArray, WeightStationaryArray
from quantrtl.hw.pe import PEStep
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm import os_stream_vectors, step_vectors, ws_stream_vectors

__all__: list[str] = []


def _make_array_pe(p: dict):
    pe, kind = array_pe(p)
    unit = PEStep(pe)

    def vectors(mode, count, seed):
        return step_vectors(kind, step_width=unit.step_width, mode=mode, count=count,
                            seed=seed)

    inputs = pe.a_width + pe.b_width + pe.mode_width
    return from_component(unit, "array_pe"), vectors, inputs <= 16


def _make_systolic_array(p: dict):
    if p["dataflow"] not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got "
                         f"{p['dataflow']!r}")
    pe, kind = array_pe(p)
    modes = tuple(p["modes"].split(",")) if p["modes"] else pe.modes
    for mode in modes:
        pe.mode_index(mode)  # ValueError if the PE type cannot run it
    rows, cols = p["rows"], p["cols"]
    # A PE type's spec may build its own array (a wrapper), or refuse a dataflow.
    spec = ARRAY_PES[p["pe"]]
    if p["dataflow"] == "os" and spec.os_error:
        raise ValueError(spec.os_error)
    if p["dataflow"] == "os":
        if p["bram"] == "1":
            raise ValueError("bram applies to dataflow=ws")
        if p["max_k"] is None:
            p["max_k"] = 64
        unit = OutputStationaryArray(rows=rows, cols=cols, pe=pe, max_k=p["max_k"],
                                     acc_width=p["acc"], pipeline=p["pipeline"])
    else:
        if p["max_k"] is not None:
            raise ValueError("max_k applies to dataflow=os; a weight-stationary pass "
                             "reduces over K = rows")
        ws_array = spec.ws_array
        if ws_array is not None:
            unit, vectors = ws_array(p, pe, kind)
            return from_component(unit, "systolic_array"), vectors, False
        unit = WeightStationaryArray(rows=rows, cols=cols, pe=pe, acc_width=p["acc"],
                                     pipeline=p["pipeline"],
                                     bram=p["bram"] == "1")

    def vectors(mode, count, seed):
        if mode != "random":
            raise ValueError("systolic-array vectors are random GEMM tiles (mode random)")
        if p["dataflow"] == "os":
            tiles = max(4, count // max(1, rows * cols * p["max_k"] // 2))
            return os_stream_vectors(rows, cols, kind, acc_width=unit.acc_width,
                                     max_k=p["max_k"], tiles=tiles, modes=modes,
                                     seed=seed, pipeline=p["pipeline"])[0]
        batches = max(4, count // max(1, rows * rows * cols))
        return ws_stream_vectors(rows, cols, kind, acc_width=unit.acc_width, batches=batches,
                                 modes=modes, seed=seed, pipeline=p["pipeline"])[0]

    return from_component(unit, "systolic_array"), vectors, False


def _cell_reference(design):
    """The step reference of the cell's PE type (``PETypeSpec.reference``)."""
    _, kind = array_pe(dict(design.params))
    return ARRAY_PES[design.params["pe"]].reference(design, kind)


_PE_TYPES = ", ".join(ARRAY_PES)  # the PE types registered before this module

register(DesignSpec(
    "array-pe", "one systolic-array cell's arithmetic (hw.pe.PEStep): the PE type's edge "
    "decoders and step value, combinational", (
        Param("pe", "text", "int", "PE type: " + _PE_TYPES),
        Param("a", "text", None, "activation lane format, as systolic-array's a="),
        Param("b", "text", None, "weight lane format, as systolic-array's b="),
    ), _make_array_pe, reference=_cell_reference,
    lint=(("pe=int", "a=int4", "b=int4"), ("pe=mixed",), ("pe=ovp",),
          ("pe=ovp", "a=int8", "b=ovp8"), ("pe=dint",), ("pe=mx",),
          ("pe=mx", "a=mxfp8-e5m2", "b=mxint8"), ("pe=ternary",), ("pe=sparse24",),
          ("pe=sparse24", "a=int4", "b=int4")),
    # pe=mixed proves too, in about 7 minutes, and pe=mx E4M3 x E4M3 in 2 to 3: not in the
    # quick set.
    prove=(("pe=int", "a=int4", "b=int4"), ("pe=int", "a=uint3", "b=int8"), ("pe=dint",),
           ("pe=ovp",), ("pe=ovp", "a=int8", "b=ovp8"), ("pe=mx",),
           ("pe=mx", "a=mxfp8-e4m3", "b=mxfp4"), ("pe=mx", "a=mxint8", "b=mxfp6-e2m3"),
           ("pe=ternary",), ("pe=ternary", "a=int4"), ("pe=sparse24", "a=int4", "b=int4"),
           ("pe=sparse24", "a=int8", "b=int4")),
    rigor=(("pe=int", "a=int4", "b=int4"), ("pe=mixed",), ("pe=ovp",),
           ("pe=ovp", "a=int8", "b=ovp8"), ("pe=dint",), ("pe=mx",), ("pe=ternary",),
           ("pe=sparse24", "a=int4", "b=int4"))))

register(DesignSpec(
    "systolic-array", "systolic GEMM array (hw.array), output- or weight-stationary, "
    "pluggable PE types (hw.pe); random mode's count is MACs to verify", (
        Param("rows", "int", 4, "PE rows (os: tile M; ws: K per pass), 1..64"),
        Param("cols", "int", 4, "PE columns (tile N), 1..64"),
        Param("dataflow", "choice", "os", "os: output-stationary, ws: weight-stationary",
              DATAFLOWS),
        Param("pe", "text", "int", "PE type: " + _PE_TYPES),
        Param("a", "text", None, "activation format (A, M x K): int PE intN/uintN "
              "(default int8), ovp ovp4|int8, dint intN (default int8), mixed none, mx "
              "mxfp4|mxfp6-e2m3|mxfp6-e3m2|mxfp8-e4m3|mxfp8-e5m2|mxint8 (default mxfp4; ws "
              "only, one block of K = rows per pass), ternary intN (default int8), sparse24 "
              "intN (groups of four, default int8)"),
        Param("b", "text", None, "weight format (B, K x N): int PE intN/uintN "
              "(default int8), ovp ovp4|ovp4-flint|ovp8, dint dintN[-d<levels>], "
              "mixed none, mx as a=, ternary ternary, sparse24 intN (the two kept values of "
              "each group of four, with their positions; default int8)"),
        Param("modes", "text", None, "runtime modes the bench exercises (default: all)"),
        Param("max_k", "int", None, "os: longest reduction a tile may have, in steps "
              "(default 64)"),
        Param("acc", "int", None, "accumulator bits (default: no overflow for the "
              "reduction length)"),
        Param("pipeline", "int", 0, "1: register each PE's step value (latency + 1)"),
        Param("bram", "choice", "0", "ws: 1 puts the shadow weights and the skew and "
              "de-skew lines of 3 or more stages in memories (block RAM), not flip-flops",
              ("0", "1")),
    ), _make_systolic_array,
    no_proof="an array's cell arithmetic is proved as array-pe",
    lint=((), ("dataflow=ws", "pipeline=1"), ("dataflow=ws", "bram=1"),
          ("rows=2", "cols=2", "pe=mixed"), ("rows=2", "cols=2", "pe=ovp", "dataflow=ws"),
          ("rows=2", "cols=2", "pe=dint", "pipeline=1"),
          ("rows=2", "cols=2", "pe=sparse24", "dataflow=ws")),
    # The rigor rows give lint and mutation of the whole array (skew, control, streams)
    # with the GEMM bench, at 2-bit operands so that SAT can settle the surviving mutants;
    # bram=1: the shadow memories and one skew and one de-skew line in memories.
    rigor=(("rows=2", "cols=2", "a=int2", "b=int2", "max_k=2"),
           ("rows=2", "cols=2", "a=int2", "b=int2", "dataflow=ws"),
           ("rows=2", "cols=4", "a=int2", "b=int2", "dataflow=ws", "bram=1"))))
