"""Operand kind of the runtime mixed-precision PE (``hw.pe_mixed.MixedPE``) for the GEMM
benches of ``sim.gemm``: lane codes, fills and exact products from ``golden/mixed.py``.

Drawn lanes hold elements biased to their format's extremes; every bit a mode ignores (the
upper byte of both lanes in 8x8, of the A lane in 4x8) holds random garbage, so hardware that
reads a don't-care bit fails the bench.
"""

from __future__ import annotations

import torch

from quantrtl.golden import mixed
from quantrtl.sim.vectors import biased_choice

__all__ = ["MixedOperands"]

# Garbage in the don't-care bits of the constant fills, one pattern per fill.
_FILL_GARBAGE = (0xFF, 0xA5, 0x80, 0x7F)


def _garbage(code, side: str, mode: str, bits):
    """``code`` with its don't-care bits (above ``used_bits``) replaced by ``bits``."""
    used = mixed.used_bits(side, mode)
    return code | ((bits & ((1 << (mixed.LANE_BITS - used)) - 1)) << used)


class MixedOperands:
    """16-bit mixed-precision lanes on both sides; modes ``8x8``, ``4x8``, ``4x4``."""

    name = "mixed"
    modes = mixed.MODES
    a_width = mixed.LANE_BITS
    b_width = mixed.LANE_BITS
    acc_signed = True

    def _check(self, mode):
        if mode not in self.modes:
            raise ValueError(f"PE type {self.name} cannot run mode {mode!r} (it runs: "
                             f"{', '.join(self.modes)})")

    def lanes(self, side):
        return torch.arange(1 << mixed.LANE_BITS)

    def draw(self, gen, shape, side, mode):
        self._check(mode)
        lo, hi = mixed.element_range(side, mode)
        e = mixed.ELEMENTS[mode]
        count = e
        for n in shape:
            count *= n
        elements = biased_choice(torch.arange(lo, hi + 1), torch.tensor([lo, hi]), count,
                                 gen).reshape(*shape, e)
        code = mixed.pack(elements, side, mode)
        noise = torch.randint(1 << mixed.LANE_BITS, tuple(shape), generator=gen)
        return _garbage(code, side, mode, noise)

    def fills(self, mode):
        self._check(mode)
        e = mixed.ELEMENTS[mode]
        (alo, ahi), (blo, bhi) = mixed.element_range("a", mode), mixed.element_range("b", mode)
        pairs = [(0, 0), (ahi, bhi), (alo, bhi), (alo, blo)]
        out = []
        for (x, y), junk in zip(pairs, _FILL_GARBAGE):
            a = mixed.pack(torch.full((e,), x), "a", mode)
            b = mixed.pack(torch.full((e,), y), "b", mode)
            out.append((int(_garbage(a, "a", mode, junk)), int(_garbage(b, "b", mode, junk))))
        return out

    def product(self, a, b, mode):
        return mixed.gemm(a, b, mode)

    def elements(self, mode):
        self._check(mode)
        return mixed.ELEMENTS[mode]
