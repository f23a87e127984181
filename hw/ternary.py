"""Ternary (1.58-bit) weights: a multiplier-free MAC and the base-3 byte unpacker.

Weight codes are 2 bits, the value's two's complement (docs/formats.md, section Ternary):
``0b00`` = 0, ``0b01`` = +1, ``0b11`` = -1; the reserved ``0b10`` counts as 0. So bit 0
says "nonzero" and bit 1 "negative", which is all the MAC needs.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from quantrtl.hw.mac import (
    MACFacts,
    check_accumulator,
    check_operand,
    delay,
    register_and_accumulate,
    unused_if_invalid,
)

__all__ = ["CODE_WIDTH", "TernaryMAC", "Base3Unpacker"]

CODE_WIDTH = 2
DIGITS = 5          # ternary weights per base-3 byte
BASE3_LIMIT = 243   # 3^5: bytes 243..255 are not base-3 bytes


class TernaryMAC(MACFacts, wiring.Component):
    """Ternary weight x signed INT activation MAC: ``acc <= (clear ? 0 : acc) + w * x``
    when ``valid``, with ``w`` in {-1, 0, +1}, so ``x`` is added, subtracted or skipped.

    Ports (``sync`` domain):

    * ``w``: 2-bit ternary code (module docstring); ``x``: ``x_width``-bit (2..8) signed.
    * ``valid``, ``clear``: as ``hw.mac.IntMAC``.
    * ``acc``: ``acc_width`` bits, signed, at least ``x_width + 1`` (one product, ``-x`` of
      the most negative ``x`` included); wraps or saturates (``overflow``).

    The addend is ``x`` gated by bit 0, negated by bit 1 as ``~p`` plus the accumulator
    adder's carry-in (``hw.mac.register_and_accumulate``): no multiplier, no negator.
    Latency ``pipeline + 1`` (0..4; stage 1 registers the gated addend, further stages the
    inputs); throughput one MAC per cycle; synchronous reset clears everything.
    """

    @unused_if_invalid
    def __init__(self, *, x_width=8, acc_width=24, pipeline=0, overflow="wrap"):
        self._x_shape = check_operand("x", x_width, True)
        check_accumulator(acc_width, x_width + 1, pipeline, overflow)
        self._acc_width, self._pipeline, self._overflow = acc_width, pipeline, overflow
        super().__init__({
            "w": In(CODE_WIDTH),
            "x": In(self._x_shape),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(signed(acc_width)),
        })

    @property
    def product_width(self) -> int:
        """Signed bits of one product ``w * x``."""
        return self._x_shape.width + 1

    @property
    def latency(self) -> int:
        return self._pipeline + 1

    def elaborate(self, platform):
        m = Module()
        w, x, valid, clear = delay(m, [self.w, self.x, self.valid, self.clear],
                                   self._pipeline - 1, "s")
        gated = Signal(self._x_shape)
        m.d.comb += gated.eq(Mux(w[0], x, 0))
        register_and_accumulate(m, self.acc, gated, valid, clear, self._pipeline,
                                self._overflow, negate=w[1])
        return m


class Base3Unpacker(wiring.Component):
    """One base-3 byte to five 2-bit ternary codes, combinational (latency 0, no clock).

    Ports: ``base3`` (8 bits, ``sum_i (w_i + 1) * 3^i``, first weight the least significant
    digit); ``codes`` (10 bits: the code of weight ``i`` in bits ``[2i, 2i + 1]``, the
    ``pack2`` layout); ``bad`` (1 bit): the byte is 243..255, and then every code is 0.

    Digits come most significant first, by comparisons with constants: with ``r`` the
    rest (the byte, then smaller), digit ``i`` is 2 if ``r >= 2 * 3^i``, 1 if ``r >= 3^i``,
    else 0, and ``r`` loses ``digit * 3^i``; the rest after digit 1 is digit 0.
    """

    def __init__(self):
        super().__init__({
            "base3": In(8),
            "codes": Out(CODE_WIDTH * DIGITS),
            "bad": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        rest = self.base3
        codes = [None] * DIGITS
        for i in reversed(range(DIGITS)):
            if i:
                unit = 3 ** i
                high, mid = rest >= 2 * unit, rest >= unit
                digit = Cat(mid & ~high, high)
                width = (unit - 1).bit_length()  # the rest is below 3^i from here on
                smaller = Signal(width, name=f"rest{i}")
                m.d.comb += smaller.eq(rest - Mux(high, 2 * unit, Mux(mid, unit, 0)))
                rest = smaller
            else:
                digit = rest
            # digit 0 (-1) -> 0b11, 1 (0) -> 0b00, 2 (+1) -> 0b01: bit 0 is "digit is
            # even", bit 1 "digit is 0"
            code = Signal(CODE_WIDTH, name=f"code{i}")
            m.d.comb += code.eq(Cat(~digit[0], ~(digit[0] | digit[1])))
            codes[i] = code
        bad = self.base3 >= BASE3_LIMIT
        m.d.comb += [self.codes.eq(Mux(bad, 0, Cat(*codes))), self.bad.eq(bad)]
        return m
