"""Processing-element types for ``hw.array.SystolicArray``.

A PE type describes only the arithmetic of one array cell; the array does the rest (edge
skew, operand movement, accumulation, result streaming) identically for every type, so a
new number format plugs in by subclassing ``PEType``:

* ``a_width`` / ``b_width``: bits of one row lane of operand A (activations) / one column
  lane of operand B (weights) at the array's input, per reduction step.
* ``decode_a(m, lane)`` / ``decode_b(m, lane)``: combinational logic the array places once
  per row / column on its edge (OliVe's decoders), never inside the PEs; the result is what
  travels through the array (``a_inner_width`` / ``b_inner_width`` bits). Default: none.
* ``modes``: names of the runtime modes (a ``mode`` index travels with every step, so it may
  change between tiles, or even between steps); one mode means no mode input.
* ``step(m, a, b, mode)``: combinational; the exact value one PE adds to its accumulator for
  one step (for a mixed-precision or OVP PE, a sum of several products), as an Amaranth
  value that is signed when ``acc_signed``; zero whenever the A lane code is 0 (the arrays
  feed code 0 on idle cycles). ``PEStep`` wraps the edge decoders and the step of a PE
  type as a combinational unit (design ``array-pe``) for exhaustive checks and proofs.
* ``step_bound``: the largest ``|step|`` over every input and mode; the array sizes its
  accumulators from it and the reduction length, so that no tile overflows.
* ``elements(mode)``: reduction elements one step carries in that mode (1 for INT, 2 for
  an OVP pair, 1/2/4 for the mixed-precision PE), for MAC counts.

Structured lanes (an OVP pair's two sign–magnitude elements, a dINT weight's sign and
magnitude code, the mixed-precision PE's nibbles) are described by ``amaranth.lib.data``
layouts: a decoder returns ``pack(layout, fields)`` and ``step`` reads its operand as
``data.View(layout, lane)``. The lanes themselves stay plain values and the array's
registers plain ``Signal(width)``: a ``Signal`` of a layout adds a wire per field to the
Verilog.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from quantrtl.hw.mac import check_operand

__all__ = ["PEType", "IntPE", "PEStep", "accumulator_width", "pack"]


def pack(layout, fields) -> Value:
    """The lane word of ``layout`` (a ``StructLayout`` or ``ArrayLayout``, nested ones
    included) whose fields hold ``fields``: a dict by field name, or a sequence by index;
    a field of a layout shape takes a dict or sequence itself. A plain value (the fields
    concatenated in offset order, no signal), to be read back as ``data.View(layout,
    word)``. Each value must be exactly as wide as its field."""
    layout = data.Layout.cast(layout)
    parts, offset = [], 0
    for key, field in sorted(layout, key=lambda item: item[1].offset):
        value = fields[key]
        if isinstance(field.shape, data.Layout):
            value = pack(field.shape, value)
        value = Value.cast(value)
        if field.offset != offset or len(value) != field.width:
            raise ValueError(f"field {key!r} of {layout!r} is {field.width} bits at offset "
                             f"{field.offset}, got {len(value)} bits at offset {offset}")
        parts.append(value)
        offset += field.width
    if offset != layout.size:
        raise ValueError(f"{layout!r} has padding after bit {offset}")
    return Cat(*parts)


class PEType:
    """Base class; see the module docstring for the contract."""

    name = "pe"
    a_width: int
    b_width: int
    acc_signed = True
    modes: tuple[str, ...] = ("default",)

    @property
    def mode_width(self) -> int:
        """Bits of the per-step mode index (0 when there is one mode)."""
        return (len(self.modes) - 1).bit_length()

    @property
    def a_inner_width(self) -> int:
        return self.a_width

    @property
    def b_inner_width(self) -> int:
        return self.b_width

    def decode_a(self, m: Module, lane: Value) -> Value:
        return lane

    def decode_b(self, m: Module, lane: Value) -> Value:
        return lane

    def step(self, m: Module, a: Value, b: Value, mode: Value | None) -> Value:
        raise NotImplementedError

    @property
    def step_bound(self) -> int:
        raise NotImplementedError

    def elements(self, mode: str) -> int:
        return 1

    def mode_index(self, mode: str) -> int:
        """The index of ``mode``, or ``ValueError`` naming the modes this PE runs."""
        if mode not in self.modes:
            raise ValueError(f"PE type {self.name} cannot run mode {mode!r} (it runs: "
                             f"{', '.join(self.modes)})")
        return self.modes.index(mode)


def accumulator_width(pe: PEType, steps: int) -> int:
    """Bits that hold any sum of ``steps`` step values of ``pe`` without overflow."""
    magnitude = steps * pe.step_bound
    return magnitude.bit_length() + 1 if pe.acc_signed else magnitude.bit_length()


class IntPE(PEType):
    """``a * b`` for integer codes of 2..8 bits, signed (two's complement) or unsigned per
    side; one reduction element per step; one mode, named ``"<a_width>x<b_width>"``."""

    name = "int"

    def __init__(self, *, a_width=8, a_signed=True, b_width=8, b_signed=True):
        self._a = check_operand("a", a_width, a_signed)
        self._b = check_operand("b", b_width, b_signed)
        self.a_width, self.b_width = a_width, b_width
        self.acc_signed = a_signed or b_signed
        self.modes = (f"{a_width}x{b_width}",)

    @property
    def step_bound(self) -> int:
        def extremes(shape):
            return (-(1 << shape.width - 1), (1 << shape.width - 1) - 1) if shape.signed \
                else (0, (1 << shape.width) - 1)
        return max(abs(x * y) for x in extremes(self._a) for y in extremes(self._b))

    def step(self, m, a, b, mode):
        a_op = a.as_signed() if self._a.signed else a.as_unsigned()
        b_op = b.as_signed() if self._b.signed else b.as_unsigned()
        return a_op * b_op


class PEStep(wiring.Component):
    """One array cell's arithmetic as a combinational unit, for proofs and lint: the PE
    type's edge decoders and its step, ``step = pe.step(decode_a(a), decode_b(b), mode)``.

    Ports: ``a`` (``pe.a_width`` bits, one A lane code), ``b`` (``pe.b_width``), ``mode``
    (``pe.mode_width`` bits, only for PE types with several modes; an index that names no
    mode gives an unspecified step), ``step`` (``step_width`` bits, two's complement when
    ``pe.acc_signed``: the exact value the cell adds to its accumulator). No clock: the
    array adds registers around exactly this logic.
    """

    def __init__(self, pe: PEType):
        if not isinstance(pe, PEType):
            raise ValueError(f"pe must be a hw.pe.PEType, got {pe!r}")
        self._pe = pe
        members = {"a": In(pe.a_width), "b": In(pe.b_width)}
        if pe.mode_width:
            members["mode"] = In(pe.mode_width)
        shape = signed(self.step_width) if pe.acc_signed else unsigned(self.step_width)
        members["step"] = Out(shape)
        super().__init__(members)

    @property
    def pe(self) -> PEType:
        return self._pe

    @property
    def step_width(self) -> int:
        """Bits that hold every step value: ``accumulator_width(pe, 1)``."""
        return accumulator_width(self._pe, 1)

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the PE type, in bits (for the datasheet)."""
        return {"a lane (activation code)": self._pe.a_width,
                "b lane (weight code)": self._pe.b_width,
                "mode (per-step PE mode index)": self._pe.mode_width,
                "step value": self.step_width}

    def elaborate(self, platform):
        m = Module()
        a = self._pe.decode_a(m, self.a)
        b = self._pe.decode_b(m, self.b)
        mode = self.mode if self._pe.mode_width else Const(0, 1)
        m.d.comb += self.step.eq(self._pe.step(m, a, b, mode))
        return m
