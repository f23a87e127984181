"""``pe=ternary``: the array PE type of ternary weights times signed INT activations."""

from __future__ import annotations

from amaranth.hdl import Mux

from quantrtl.hw.mac import check_operand
from quantrtl.hw.pe import PEType
from quantrtl.hw.ternary import CODE_WIDTH

__all__ = ["TernaryPE"]


class TernaryPE(PEType):
    """A (activations): ``x_width``-bit (2..8) signed INT codes; B (weights): 2-bit ternary
    codes (``hw.ternary``: ``0b01`` = +1, ``0b11`` = -1, ``0b00`` and the reserved ``0b10`` =
    0). ``step = w * x``: ``x``, ``-x`` or 0, no multiplier; one element per step; one mode,
    ``"int<x_width>xternary"``; ``step_bound = 2^(x_width - 1)`` (``-x`` of the most negative
    ``x``). No edge decoders: the 2-bit code is what travels through the array."""

    name = "ternary"

    def __init__(self, *, x_width: int = 8):
        check_operand("a", x_width, True)
        self._x_width = x_width
        self.a_width, self.b_width = x_width, CODE_WIDTH
        self.modes = (f"int{x_width}xternary",)

    @property
    def step_bound(self) -> int:
        return 1 << (self._x_width - 1)

    def step(self, m, a, b, mode):
        x = a.as_signed()
        return Mux(b[0], Mux(b[1], -x, x), 0)
