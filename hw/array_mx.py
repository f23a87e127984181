"""A weight-stationary systolic array for OCP MX blocks: ``MXWeightStationaryArray``.

``hw.array.WeightStationaryArray(rows=R, cols=C, pe=hw.pe_mx.MXArrayPE(a_fmt, b_fmt))``
computes, per row of A and column of B, the exact integer sum of one block of ``k = R``
element products (``MXDot``'s ``sum``); this wrapper adds the E8M0 block scales beside it,
once per column at the array's bottom edge, never in the PEs: A's scale travels with its
row through a delay line of the array's latency, B's column scales are held per weight
tile. Ports (``amaranth.lib.stream``, payload fields from bit 0 up in the order listed;
lane ``l`` of a field in bits ``[l * w, (l + 1) * w)``):

* ``w`` (in): ``b`` (``C`` element codes: row ``i`` of the weight tile, one element of
  each column's block), ``scale`` (``C`` E8M0 codes, 8 bits each). Rows ``0..R-1`` in
  order, as ``WeightStationaryArray``'s ``w``; the ``scale`` of the tile's last row
  (row ``R-1``) is the tile's column scales, the other rows' ``scale`` is ignored (send
  the same scales on every row if that is simpler).
* ``a`` (in): ``a`` (``R`` element codes: one block of a row of A), ``scale`` (its E8M0
  code), ``swap`` (as ``WeightStationaryArray``: this and later rows use the tile loaded
  since the previous swap).
* ``c`` (out, always ready): per column ``j`` the block result of the row with column
  ``j``'s block: ``c`` (``C`` lanes of ``acc_width`` bits, signed: the exact ``sum_i a_i
  * b_ij * 2^frac_bits``, units ``2^-frac_bits``, ``frac_bits = frac_a + frac_b``), ``exp``
  (``C`` lanes, signed ``EXP_WIDTH = 10`` bits: ``a_scale + b_scale_j - 254``), ``nan``
  (``C`` bits: a scale is 255, or an element of the row's or the column's block is a NaN
  or an infinity code; ``c`` and ``exp`` are then the values above with those elements
  counted as 0). The block's value is ``c * 2^(exp - frac_bits)``, ``hw.mx.MXDot``'s
  convention: ``golden.mx.block_dot``'s ``(integer, exponent)`` is ``(c, exp -
  frac_bits)`` whenever ``nan`` is 0.

Latency, throughput, handshake and reset are exactly ``WeightStationaryArray``'s: row
``m``'s results leave ``R + C + 1 + pipeline`` cycles after its ``a`` transfer; ``a.ready``
depends combinationally on ``a.payload.swap``. K > R: split K into blocks of R, one pass
per block, and add the block results (each with its own exponent). ``rst`` also clears the
NaN flags gathered from the tile being loaded and the scale and flag registers.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.integer import IntSpec
from quantrtl.hw.array import WeightStationaryArray
from quantrtl.hw.mac import delay, unused_if_invalid
from quantrtl.hw.mx import SCALE_BIAS, SCALE_NAN, element_frac_bits
from quantrtl.hw.pe import pack
from quantrtl.hw.pe_mx import MXArrayPE

__all__ = ["MXWeightStationaryArray", "EXP_WIDTH"]

EXP_WIDTH = 10  # signed bits of a_scale + b_scale - 254: -254 .. 256


def _non_finite(fmt, code):
    """1 when the element code is a NaN or infinity code of ``fmt``, else None (INT8 and
    formats without such codes)."""
    if isinstance(fmt, IntSpec) or fmt.special == "none":
        return None
    man, top = code[:fmt.man_bits], code[fmt.man_bits:fmt.bits - 1].all()
    return top if fmt.special == "ieee" else top & man.all()


def _any_non_finite(fmt, word, lanes: int):
    w = fmt.bits
    flags = [_non_finite(fmt, word[w * i:w * (i + 1)]) for i in range(lanes)]
    flags = [f for f in flags if f is not None]
    return Cat(*flags).any() if flags else Const(0, 1)


class MXWeightStationaryArray(wiring.Component):
    """MX block GEMM on a weight-stationary array; see the module docstring.

    Parameters: ``rows`` (R: the block size, K per pass), ``cols`` (C), ``a_fmt`` /
    ``b_fmt`` (element formats, as ``MXArrayPE``), ``acc_width`` (default: exact for R
    products), ``pipeline`` (0 or 1), ``bram``, ``decode`` (``MXArrayPE``'s): passed to
    ``WeightStationaryArray``, which validates them.
    """

    @unused_if_invalid
    def __init__(self, *, rows=4, cols=4, a_fmt="mxfp4", b_fmt="mxfp4", acc_width=None,
                 pipeline=0, bram=False, decode="pe"):
        pe = MXArrayPE(a_fmt, b_fmt, decode=decode)
        self._array = WeightStationaryArray(rows=rows, cols=cols, pe=pe, acc_width=acc_width,
                                            pipeline=pipeline, bram=bram)
        self._rows, self._cols, self._pe = rows, cols, pe
        acc = self._array.acc_width

        def layout(**fields):
            return data.StructLayout(fields)

        super().__init__({
            "w": In(stream.Signature(layout(b=cols * pe.b_width, scale=8 * cols))),
            "a": In(stream.Signature(layout(a=rows * pe.a_width, scale=8, swap=1))),
            "c": Out(stream.Signature(layout(c=cols * acc, exp=cols * EXP_WIDTH, nan=cols),
                                      always_ready=True)),
        })

    @property
    def array(self) -> WeightStationaryArray:
        return self._array

    @property
    def pe(self) -> MXArrayPE:
        return self._pe

    @property
    def acc_width(self) -> int:
        return self._array.acc_width

    @property
    def frac_bits(self) -> int:
        """Fractional bits of a ``c`` lane: ``frac_a + frac_b``."""
        return element_frac_bits(self._pe.a_fmt) + element_frac_bits(self._pe.b_fmt)

    @property
    def latency(self) -> int:
        return self._array.latency

    @property
    def lanes(self) -> dict:
        """``{"port.field": (lanes, bits, signed)}`` (``None``: a format code)."""
        R, C = self._rows, self._cols
        return {"a.a": (R, self._pe.a_width, None), "w.b": (C, self._pe.b_width, None),
                "w.scale": (C, 8, None), "c.c": (C, self.acc_width, True),
                "c.exp": (C, EXP_WIDTH, True), "c.nan": (C, 1, False)}

    @property
    def derived_widths(self) -> dict:
        return {**self._array.derived_widths, "block size k (= R)": self._rows,
                "fractional bits of a c lane (frac_a + frac_b)": self.frac_bits,
                "exp lane (signed)": EXP_WIDTH}

    @property
    def function_note(self) -> str:
        R, C = self._rows, self._cols
        return (f"MX block GEMM: each a transfer is one block of {R} elements of a row of A "
                f"with its scale, each c transfer that row's {C} block results with column "
                f"j's block of B ({R} x {C} elements, C column scales, loaded on w while "
                f"the array computes): exact integer sum, exponent and NaN flag per column")

    @property
    def latency_note(self) -> str:
        return self._array.latency_note

    @property
    def throughput_note(self) -> str:
        return self._array.throughput_note

    @property
    def handshake_note(self) -> str:
        return self._array.handshake_note

    @property
    def reset_note(self) -> str:
        return (self._array.reset_note + "; rst also clears the NaN flags of the tile being "
                "loaded and the scale and NaN registers of the loaded and active tiles")

    def elaborate(self, platform):
        m = Module()
        R, C, pe = self._rows, self._cols, self._pe
        arr = m.submodules.array = self._array
        w, a = self.w.payload, self.a.payload
        m.d.comb += [
            arr.w.valid.eq(self.w.valid), arr.w.payload.b.eq(w.b), self.w.ready.eq(arr.w.ready),
            arr.a.valid.eq(self.a.valid), arr.a.payload.a.eq(a.a),
            arr.a.payload.swap.eq(a.swap), self.a.ready.eq(arr.a.ready),
        ]
        w_take, a_take = Signal(), Signal()
        m.d.comb += [w_take.eq(self.w.valid & self.w.ready),
                     a_take.eq(self.a.valid & self.a.ready)]
        swap = a_take & a.swap

        # Column scales and NaN flags: gathered while a tile loads (the last row's scales
        # count), moved to `pending` on its swap, to `active` when the swap row's results
        # reach the bottom edge (latency - 1 cycles later; the next swap comes no sooner
        # than 2R + C >= latency - 1 cycles after, so `pending` is never overwritten early).
        b_codes = data.View(data.ArrayLayout(pe.b_width, C), w.b)
        b_scales = data.View(data.ArrayLayout(8, C), w.scale)
        loading = [Signal(name=f"b_nan_load{j}") for j in range(C)]
        scale_load = [Signal(8, name=f"b_scale_load{j}") for j in range(C)]
        pending = [Signal(9, name=f"b_pending{j}") for j in range(C)]  # {nan, scale}
        active = [Signal(9, name=f"b_active{j}") for j in range(C)]
        (arrive,) = delay(m, [swap], self.latency - 1, "", ["swap_out"])
        for j in range(C):
            bad = _any_non_finite(pe.b_fmt, b_codes[j], 1)
            with m.If(swap):
                m.d.sync += [pending[j].eq(Cat(scale_load[j],
                                               loading[j] | (scale_load[j] == SCALE_NAN))),
                             loading[j].eq(0)]
            with m.Elif(w_take):
                m.d.sync += [loading[j].eq(loading[j] | bad), scale_load[j].eq(b_scales[j])]
            with m.If(arrive):
                m.d.sync += active[j].eq(pending[j])

        # A's scale and NaN flag travel beside the row, through the array's latency.
        a_nan = _any_non_finite(pe.a_fmt, a.a, R) | (a.scale == SCALE_NAN)
        a_scale, a_bad = delay(m, [a.scale, a_nan], self.latency, "", ["a_scale", "a_nan"],
                               reset_less=True)
        exps, nans = [], []
        for j in range(C):
            exp = Signal(signed(EXP_WIDTH), name=f"exp{j}")
            nan = Signal(name=f"nan{j}")
            m.d.comb += [exp.eq(a_scale + active[j][:8] - 2 * SCALE_BIAS),
                         nan.eq(a_bad | active[j][8])]
            exps.append(exp)
            nans.append(nan)
        out = self.c.payload
        m.d.comb += [self.c.valid.eq(arr.c.valid), out.c.eq(arr.c.payload.c),
                     out.exp.eq(pack(data.ArrayLayout(signed(EXP_WIDTH), C), exps)),
                     out.nan.eq(Cat(*nans))]
        return m
