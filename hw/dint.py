"""dINT weights (integer levels plus denormal levels near zero) times INT activations."""

from __future__ import annotations

from fractions import Fraction

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.dint import DIntSpec
from quantrtl.hw.mac import (
    MACFacts,
    check_accumulator,
    check_operand,
    delay,
    register_and_accumulate,
    unused_if_invalid,
)

__all__ = ["dint_magnitudes", "frac_bits", "fixed_magnitudes", "DIntMAC"]


def dint_magnitudes(bits: int, denormals) -> tuple[Fraction, ...]:
    """Magnitude of each magnitude code of ``dINT(bits, denormals)``: 0, the denormal levels
    ascending, then 1, 2, 3, ... (``docs/formats.md``, section dINT4)."""
    spec = DIntSpec(bits, tuple(denormals))  # validates (ValueError)
    levels = [Fraction(d) for d in spec.denormals]
    return (Fraction(0), *levels, *(Fraction(i) for i in range(1, spec.integers + 1)))


def frac_bits(magnitudes) -> int:
    """Fractional bits that make every magnitude (powers of two below 1 included) an
    integer."""
    smallest = min(m for m in magnitudes if m)
    return max(0, smallest.denominator.bit_length() - 1)


def fixed_magnitudes(magnitudes) -> tuple[int, ...]:
    """``magnitude * 2^frac_bits(magnitudes)`` per magnitude code (integers)."""
    return tuple(int(m * (1 << frac_bits(magnitudes))) for m in magnitudes)


class DIntMAC(MACFacts, wiring.Component):
    """dINT weight × INT activation MAC in fixed point.

    Ports (``sync`` domain):

    * ``w``: ``w_bits``-bit dINT code, sign–magnitude ``s|m..m`` (see ``dint_magnitudes``);
      the negative zero decodes to 0.
    * ``x``: ``x_width``-bit signed activation.
    * ``valid``, ``clear``: as ``hw.mac.IntMAC``.
    * ``acc``: ``acc_width`` bits, signed, fixed point with ``frac_bits`` fractional bits:
      it holds ``sum(w * x) * 2^frac_bits`` modulo ``2^acc_width`` (or saturated).

    A product is ``x`` times a small constant (``magnitude * 2^frac_bits``), built as a sum
    of at most ``terms`` shifted copies of ``x``: a denormal is one shift, the integer
    levels one or two shift-adds. The sign is applied to the sum. Latency ``pipeline + 1``.
    """

    @unused_if_invalid
    def __init__(self, *, w_bits=4, denormals=(0.5,), x_width=8, acc_width=24, pipeline=0,
                 overflow="wrap"):
        self._magnitudes = dint_magnitudes(w_bits, denormals)
        self._x_shape = check_operand("x", x_width, True)
        check_accumulator(acc_width, self.product_width, pipeline, overflow)
        self._w_bits, self._acc_width = w_bits, acc_width
        self._pipeline, self._overflow = pipeline, overflow
        super().__init__({
            "w": In(w_bits),
            "x": In(self._x_shape),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(signed(acc_width)),
        })

    @property
    def frac_bits(self) -> int:
        return frac_bits(self._magnitudes)

    @property
    def fixed_magnitudes(self) -> tuple[int, ...]:
        """``magnitude * 2^frac_bits`` per magnitude code (integers)."""
        return fixed_magnitudes(self._magnitudes)

    @property
    def product_width(self) -> int:
        """Signed bits of one fixed-point product ``±magnitude * 2^frac_bits * x``."""
        return self._x_shape.width + max(self.fixed_magnitudes).bit_length()

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the parameters, in bits (for the datasheet)."""
        return {**super().derived_widths, "fractional bits of acc": self.frac_bits}

    @property
    def latency(self) -> int:
        return self._pipeline + 1

    def _shift_terms(self) -> list[list[int | None]]:
        """Per term, per magnitude code: the left shift of ``x`` it adds, or None."""
        bits_of = [[i for i in range(c.bit_length()) if c >> i & 1]
                   for c in self.fixed_magnitudes]
        n_terms = max(len(b) for b in bits_of)
        return [[b[t] if t < len(b) else None for b in bits_of] for t in range(n_terms)]

    def elaborate(self, platform):
        m = Module()
        w, x, valid, clear = delay(m, [self.w, self.x, self.valid, self.clear],
                                   self._pipeline - 1, "s")
        mag_code, sign = w[:self._w_bits - 1], w[self._w_bits - 1]
        width = self.product_width
        magnitude_sum = Signal(signed(width))
        terms = []
        for t, shifts in enumerate(self._shift_terms()):
            term = Signal(signed(width), name=f"term{t}")
            with m.Switch(mag_code):
                for code, shift in enumerate(shifts):
                    if shift is not None:
                        with m.Case(code):
                            m.d.comb += term.eq(x << shift)
            terms.append(term)
        m.d.comb += magnitude_sum.eq(sum(terms))
        # -p = ~p + 1: the accumulator's carry-in adds the 1 (106 instead of 134 iCE40
        # LUT4s with a 24-bit accumulator).
        register_and_accumulate(m, self.acc, magnitude_sum, valid, clear, self._pipeline,
                                self._overflow, negate=sign)
        return m
