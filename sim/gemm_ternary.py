"""The golden operand kind of ``pe=ternary`` (``sim.gemm``'s contract): signed INT
activation codes on A, 2-bit ternary weight codes on B, products from ``golden.ternary``."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from quantrtl.golden import ternary
from quantrtl.golden.integer import IntFormat
from quantrtl.sim.vectors import biased_choice

__all__ = ["TernaryOperands"]

# every 2-bit code, the reserved 0b10 included (the hardware reads it as 0)
_CODES = torch.arange(4)
_EXTREMES = torch.tensor([1, 3])  # +1 and -1


@dataclass(frozen=True)
class TernaryOperands:
    """``fx`` (signed intN) activations x ternary weight codes (``hw.pe_ternary``)."""

    fx: IntFormat
    name = "ternary"
    acc_signed = True
    b_width = 2

    def __post_init__(self):
        if not self.fx.signed:
            raise ValueError(f"ternary PE activations must be signed, got {self.fx}")

    @property
    def modes(self) -> tuple[str, ...]:
        return (f"{self.fx.name}xternary",)

    @property
    def a_width(self) -> int:
        return self.fx.bits

    def elements(self, mode):
        return 1

    def draw(self, gen, shape, side, mode):
        count = 1
        for n in shape:
            count *= n
        if side == "a":
            codes, ext = self.fx.codes(), torch.tensor([self.fx.qmin, self.fx.qmax])
        else:
            codes, ext = _CODES, _EXTREMES
        return biased_choice(codes, ext, count, gen).reshape(shape)

    def lanes(self, side):
        return self.fx.codes() if side == "a" else _CODES

    def fills(self, mode):
        fx = self.fx
        return [(0, 0), (fx.qmin, 3), (fx.qmin, 1), (fx.qmax, 3), (fx.qmax, 1),
                (fx.qmin, ternary.RESERVED_CODE)]

    def product(self, a, b, mode):
        return ternary.gemm(a, b)
