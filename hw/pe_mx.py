"""PE type of the systolic arrays (``hw.array``) for OCP MX elements: ``MXArrayPE``.

A lane is one MX *element* code (E2M1, E2M3, E3M2, E4M3, E5M2 or INT8, per side, as
``hw.mx.MXDot``'s ``a_fmt``/``b_fmt``); the block scales never enter the array (the wrapper
``hw.array_mx.MXWeightStationaryArray`` applies them once per column at the bottom edge).
The step is the exact fixed-point product ``a * b * 2^(frac_a + frac_b)`` (units
``2^-(frac_a + frac_b)``, ``hw.mx.element_frac_bits``), so the array's accumulator holds a
block's exact integer sum, ``MXDot``'s ``sum``. A NaN or infinity element code (E4M3
``S.1111.111``, E5M2 exponent ``11111``) steps 0, as in ``MXDot``; the wrapper flags the
block NaN from the codes on the edge. Code 0 (+0) steps 0.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed
from amaranth.lib import data

from quantrtl.formats.integer import IntSpec
from quantrtl.hw.array import MAX_ACC_WIDTH
from quantrtl.hw.mx import decode_element, element_format, element_max_fixed
from quantrtl.hw.pe import PEType, pack

__all__ = ["MXArrayPE", "MX_DECODES"]

MX_DECODES = ("pe", "edge")


class MXArrayPE(PEType):
    """MX element codes on both sides; see the module docstring.

    ``a_fmt``/``b_fmt``: element formats (names such as ``mxfp4``, ``mxfp8-e4m3``,
    ``mxint8``, or descriptors; ``hw.mx.element_format``). ``a_width``/``b_width``: the
    element's bits. One mode, ``"<a>x<b>"`` (``e2m1xe2m1``, ``int8xe4m3``); ``elements =
    1``; ``step_bound = max_a * max_b`` (``element_max_fixed``). E5M2 x E5M2 (65-bit
    products) is refused: the arrays' accumulators have at most 62 bits.

    ``decode``: ``"pe"`` (the default): every PE decodes its codes; ``"edge"``: one decoder
    per row / column turns a code into sign, significand and shift, which travel through
    the array instead of the code (one or two bits wider). INT8 x INT8 multiplies the
    signed codes in either case.
    """

    name = "mx"

    def __init__(self, a_fmt="mxfp4", b_fmt="mxfp4", *, decode: str = "pe"):
        self._a, self._b = element_format(a_fmt), element_format(b_fmt)
        if decode not in MX_DECODES:
            raise ValueError(f"MX decode must be one of {MX_DECODES}, got {decode!r}")
        self._edge = decode == "edge"
        if self.step_bound.bit_length() + 1 > MAX_ACC_WIDTH:
            raise ValueError(f"MX PE: {self._a.name} x {self._b.name} products need "
                             f"{self.step_bound.bit_length() + 1} bits, more than the "
                             f"arrays' {MAX_ACC_WIDTH}-bit accumulators")
        self.a_width, self.b_width = self._a.bits, self._b.bits
        self.modes = (f"{self._a.name}x{self._b.name}",)

    @property
    def a_fmt(self):
        return self._a

    @property
    def b_fmt(self):
        return self._b

    @property
    def decode(self) -> str:
        return "edge" if self._edge else "pe"

    @property
    def _int_pair(self) -> bool:
        return isinstance(self._a, IntSpec) and isinstance(self._b, IntSpec)

    @property
    def step_bound(self) -> int:
        return element_max_fixed(self._a) * element_max_fixed(self._b)

    def lane_layout(self, fmt) -> data.StructLayout:
        """An edge-decoded lane: ``sign``, ``sig`` (significand; INT8 ``|code|``) and
        ``shift`` (absent for INT8)."""
        if isinstance(fmt, IntSpec):
            return data.StructLayout({"sig": 8, "sign": 1})
        return data.StructLayout({"sig": fmt.man_bits + 1,
                                  "shift": (max(1, (1 << fmt.exp_bits) - 1)).bit_length(),
                                  "sign": 1})

    def _decoded(self, fmt) -> bool:
        return self._edge and not self._int_pair

    @property
    def a_inner_width(self) -> int:
        return self.lane_layout(self._a).size if self._decoded(self._a) else self.a_width

    @property
    def b_inner_width(self) -> int:
        return self.lane_layout(self._b).size if self._decoded(self._b) else self.b_width

    def _edge_decode(self, m: Module, fmt, lane: Value, side: str) -> Value:
        if not self._decoded(fmt):
            return lane
        sign, sig, shift, _ = decode_element(m, fmt, lane, f"mx_{side}_dec")
        fields = {"sign": sign, "sig": sig}
        if shift is not None:
            fields["shift"] = shift
        return pack(self.lane_layout(fmt), fields)

    def decode_a(self, m, lane):
        return self._edge_decode(m, self._a, lane, "a")

    def decode_b(self, m, lane):
        return self._edge_decode(m, self._b, lane, "b")

    def _fields(self, m: Module, fmt, lane: Value, side: str):
        """``(sign, significand, shift or None)`` of a lane inside the array."""
        if self._decoded(fmt):
            view = data.View(self.lane_layout(fmt), lane)
            return view.sign, view.sig, None if isinstance(fmt, IntSpec) else view.shift
        sign, sig, shift, _ = decode_element(m, fmt, lane, f"mx_{side}")
        return sign, sig, shift

    def step(self, m, a, b, mode):
        width = self.step_bound.bit_length() + 1
        total = Signal(signed(width), name="mx_step")
        if self._int_pair:
            m.d.comb += total.eq(a.as_signed() * b.as_signed())
            return total
        a_sign, a_sig, a_shift = self._fields(m, self._a, a, "a")
        b_sign, b_sig, b_shift = self._fields(m, self._b, b, "b")
        product = a_sig * b_sig
        shifts = [s for s in (a_shift, b_shift) if s is not None]
        if shifts:
            product = product << (shifts[0] if len(shifts) == 1 else shifts[0] + shifts[1])
        magnitude = Signal(width - 1, name="mx_mag")
        m.d.comb += [magnitude.eq(product),
                     total.eq(Mux(a_sign ^ b_sign, -magnitude, magnitude))]
        return total
