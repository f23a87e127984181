"""The golden operand kind of ``pe=ternary`` (``sim.gemm``'s contract): signed INT
activation codes on A, 2-bit ternary weight codes on B, products from ``golden.ternary``."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from quantrtl.golden import ternary
from quantrtl.sim.gemm import SignedActOperands

__all__ = ["TernaryOperands"]

# every 2-bit code, the reserved 0b10 included (the hardware reads it as 0)
_CODES = torch.arange(4)
_EXTREMES = torch.tensor([1, 3])  # +1 and -1


@dataclass(frozen=True)
class TernaryOperands(SignedActOperands):
    """``fx`` (signed intN) activations x ternary weight codes (``hw.pe_ternary``)."""

    name = "ternary"
    label = "ternary PE"
    weight_name = "ternary"

    def weight_codes(self) -> torch.Tensor:
        return _CODES

    def weight_extremes(self) -> torch.Tensor:
        return _EXTREMES

    def fills(self, mode):
        fx = self.fx
        return [(0, 0), (fx.qmin, 3), (fx.qmin, 1), (fx.qmax, 3), (fx.qmax, 1),
                (fx.qmin, ternary.RESERVED_CODE)]

    def product(self, a, b, mode):
        return ternary.gemm(a, b)
