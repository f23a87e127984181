"""The golden operand kind of ``pe=sparse24`` (``sim.gemm``'s contract): A lanes of four
signed INT activations, B lanes of two signed INT weight values and their 2-bit positions,
products from ``golden.sparse.lane_gemm``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from quantrtl.golden import sparse
from quantrtl.golden.integer import IntFormat
from quantrtl.sim.vectors import biased_choice

__all__ = ["SparseOperands"]

_PATTERNS = torch.tensor([(p, q) for p in range(4) for q in range(4)])  # any pair, as read


@dataclass(frozen=True)
class SparseOperands:
    """``fa`` (signed intN) activation groups x 2:4-compressed ``fb`` (signed intN) weights
    (``hw.pe_sparse``)."""

    fa: IntFormat
    fb: IntFormat
    name = "sparse24"
    acc_signed = True

    def __post_init__(self):
        if not (self.fa.signed and self.fb.signed):
            raise ValueError(f"pe=sparse24 takes signed formats, got {self.fa} x {self.fb}")

    @property
    def modes(self) -> tuple[str, ...]:
        return (f"{self.fa.name}x{self.fb.name}-2:4",)

    @property
    def a_width(self) -> int:
        return sparse.GROUP * self.fa.bits

    @property
    def b_width(self) -> int:
        return sparse.KEEP * (self.fb.bits + sparse.POS_BITS)

    def elements(self, mode):
        return sparse.GROUP

    def _values(self, fmt, count, gen):
        return biased_choice(fmt.codes(), torch.tensor([fmt.qmin, fmt.qmax]), count, gen)

    def draw(self, gen, shape, side, mode):
        count = math.prod(shape)
        if side == "a":
            x = self._values(self.fa, count * sparse.GROUP, gen).reshape(count, sparse.GROUP)
            return sparse.pack_a_lane(x, self.fa.bits).reshape(shape)
        v = self._values(self.fb, count * sparse.KEEP, gen).reshape(count, sparse.KEEP)
        p = _PATTERNS[torch.randint(len(_PATTERNS), (count,), generator=gen)]
        return sparse.pack_b_lane(v, p, self.fb.bits).reshape(shape)

    def lanes(self, side):
        return torch.arange(1 << (self.a_width if side == "a" else self.b_width))

    def sweep(self, gen, side):
        """A: each activation code in each of the four elements (the others drawn); B: every
        position pair x every value pair at 4 bits or less, else x the value extremes."""
        fa, fb = self.fa, self.fb
        if side == "a":
            codes = fa.codes()
            x = self._values(fa, len(codes) * sparse.GROUP * sparse.GROUP, gen)
            x = x.reshape(sparse.GROUP, len(codes), sparse.GROUP)
            for i in range(sparse.GROUP):
                x[i, :, i] = codes
            return sparse.pack_a_lane(x.reshape(-1, sparse.GROUP), fa.bits)
        vals = fb.codes() if fb.bits <= 4 else torch.tensor([fb.qmin, -1, 0, 1, fb.qmax])
        pairs = torch.cartesian_prod(vals, vals)
        v = pairs.repeat(len(_PATTERNS), 1)
        p = _PATTERNS.repeat_interleave(len(pairs), dim=0)
        return sparse.pack_b_lane(v, p, fb.bits)

    def fills(self, mode):
        fa, fb = self.fa, self.fb

        def a(value):
            return int(sparse.pack_a_lane(torch.tensor([value] * sparse.GROUP), fa.bits))

        def b(value, p=(0, 1)):
            return int(sparse.pack_b_lane(torch.tensor([value] * sparse.KEEP),
                                          torch.tensor(p), fb.bits))

        return [(0, 0), (a(fa.qmin), b(fb.qmin)), (a(fa.qmin), b(fb.qmax, (2, 3))),
                (a(fa.qmax), b(fb.qmin, (1, 3))), (a(fa.qmax), b(fb.qmax, (0, 3)))]

    def product(self, a, b, mode):
        return sparse.lane_gemm(a, b, self.fa.bits, self.fb.bits)
