"""Golden-side operand kinds (``sim.gemm``) for the OVP and dINT PE types of
``hw.pe_formats``; everything here comes from ``golden/``, never from ``hw/``.

``OVPOperands`` -- a lane code is one outlier–victim pair packed in ``2 * bits`` bits
(``a=None``: a pair of two int8 values, two's complement, 16 bits): with ``"low-first"``
element ``2k`` is in the low half (``golden.ovp.pack_bytes``'s order, extended to the
16-bit lanes of OVP8 and INT8 pairs). ``product`` unpacks the lanes to codes along K and
computes ``golden.ovp.gemm``: the exact ``sum a * b`` in LSB units of both formats (values
are integers; no scaling), which is what the array's accumulator holds (mod
``2^acc_width``).

``DIntOperands`` -- A: signed INT values; B: dINT codes. ``product`` is
``golden.dint.gemm``: ``sum x * w * 2^frac_bits`` (fixed point with ``frac_bits =
-log2(smallest denormal)``, 1 for ``dint4``), again exactly the accumulator's contents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from quantrtl.formats.ovp import ovp_name
from quantrtl.golden import dint as gdint, ovp as govp
from quantrtl.golden.dint import DIntFormat
from quantrtl.golden.ovp import OVPFormat
from quantrtl.sim.gemm import SignedActOperands
from quantrtl.sim.vectors import biased_choice

__all__ = ["OVPOperands", "DIntOperands"]


def _draws(count: int, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(count, generator=gen)


@dataclass(frozen=True)
class OVPOperands:
    """OVP pairs on B and on A (``a=None``: plain int8 pairs on A, W-OVP/A-INT8).

    ``a_order``/``b_order``: the nibble (half) order in which this bench packs each side's
    lanes; the hardware reads both ``"low-first"``.
    """

    a: OVPFormat | None
    b: OVPFormat
    a_order: str = "low-first"
    b_order: str = "low-first"
    name = "ovp"

    def __post_init__(self):
        for order in (self.a_order, self.b_order):
            if order not in govp.NIBBLE_ORDERS:
                raise ValueError(f"nibble order must be one of {govp.NIBBLE_ORDERS}, got "
                                 f"{order!r}")

    @property
    def modes(self) -> tuple[str, ...]:
        return (f"{ovp_name(self.a)}x{ovp_name(self.b)}",)

    @property
    def a_width(self) -> int:
        return 16 if self.a is None else 2 * self.a.bits

    @property
    def b_width(self) -> int:
        return 2 * self.b.bits

    acc_signed = True

    def elements(self, mode):
        return 2

    # -- lanes <-> element codes -------------------------------------------------------
    @staticmethod
    def _pack(first, second, bits: int, order: str) -> torch.Tensor:
        low, high = (first, second) if order == "low-first" else (second, first)
        mask = (1 << bits) - 1
        return (torch.as_tensor(low) & mask) | ((torch.as_tensor(high) & mask) << bits)

    @staticmethod
    def _unpack(lanes: torch.Tensor, bits: int, order: str) -> torch.Tensor:
        """``[..., n]`` lanes -> ``[..., 2n]`` codes (unsigned), element ``2k`` first."""
        lanes = torch.as_tensor(lanes, dtype=torch.int64)
        if bits == 4:  # the golden storage format itself
            return govp.unpack_bytes(lanes, govp.OVPFormat.int4(), order)
        mask = (1 << bits) - 1
        low, high = lanes & mask, (lanes >> bits) & mask
        first, second = (low, high) if order == "low-first" else (high, low)
        return torch.stack([first, second], -1).reshape(*lanes.shape[:-1], -1)

    def _side(self, side: str):
        return (self.a, self.a_order) if side == "a" else (self.b, self.b_order)

    def lanes(self, side):
        return torch.arange(1 << (self.a_width if side == "a" else self.b_width))

    # -- drawing ---------------------------------------------------------------------
    @staticmethod
    def _extreme_pairs(fmt: OVPFormat | None) -> list[tuple[int, int]]:
        """``(first, second)`` element codes of edge-case pairs."""
        if fmt is None:
            return [(-128, -128), (127, 127), (-128, 127), (127, -128)]
        ident, ones = fmt.identifier, (1 << fmt.bits) - 1
        top_pos, top_neg = ones >> 1, ones  # largest outliers, + and -
        smallest = 0                        # e = m = 0: the outlier encode never produces
        n = (1 << (fmt.bits - 1)) - 1 if fmt.normal == "int" else 4  # flint: 16 is 0b100
        neg_n = (1 << fmt.bits) - n if fmt.normal == "int" else 8 | n
        return [(top_pos, ident), (ident, top_pos), (top_neg, ident), (ident, top_neg),
                (smallest, ident), (n, n), (neg_n, neg_n), (n, neg_n), (ident, ident)]

    def draw(self, gen, shape, side, mode):
        fmt, order = self._side(side)
        count = math.prod(shape)
        if fmt is None:  # two int8 values per lane, 30% from the extremes
            vals = torch.arange(-128, 128)
            first = biased_choice(vals, torch.tensor([-128, 127]), count, gen)
            second = biased_choice(vals, torch.tensor([-128, 127]), count, gen)
            return self._pack(first, second, 8, order).reshape(shape)
        bits, ident = fmt.bits, fmt.identifier
        # 40%: any pair at all (normal pairs mostly; identifiers, double identifiers)
        lanes = torch.randint(1 << (2 * bits), (count,), generator=gen)
        first, second = self._unpack(lanes.reshape(count, 1), bits, "low-first").T
        # 35%: an outlier (any non-identifier code) with its victim, either position
        code = torch.randint((1 << bits) - 1, (count,), generator=gen)
        code = code + (code >= ident).to(torch.int64)
        outlier_first = _draws(count, gen) < 0.5
        o_first = torch.where(outlier_first, code, torch.full_like(code, ident))
        o_second = torch.where(outlier_first, torch.full_like(code, ident), code)
        # 25%: the extreme pairs
        ext = torch.tensor(self._extreme_pairs(fmt))
        pick = ext[torch.randint(len(ext), (count,), generator=gen)]
        u = _draws(count, gen)
        first = torch.where(u < 0.4, first, torch.where(u < 0.75, o_first, pick[:, 0]))
        second = torch.where(u < 0.4, second, torch.where(u < 0.75, o_second, pick[:, 1]))
        return self._pack(first, second, bits, order).reshape(shape)

    def sweep(self, gen, side):
        """Lanes (1-D) that put every element code in each position of a pair, once beside
        the identifier and once beside a random other code: ``4 * 2^bits`` lanes, none for
        a plain INT side. A decoder bug tied to one code value (a comparison with the
        identifier that ignores a bit, say) is then met by every bench."""
        fmt, order = self._side(side)
        if fmt is None:
            return torch.zeros(0, dtype=torch.int64)
        bits, ident = fmt.bits, fmt.identifier
        codes = torch.arange(1 << bits)
        other = torch.randint((1 << bits) - 1, codes.shape, generator=gen)
        other = other + (other >= ident).to(torch.int64)  # any code but the identifier
        ids = torch.full_like(codes, ident)
        first = torch.cat([codes, ids, codes, other])
        second = torch.cat([ids, codes, other, codes])
        return self._pack(first, second, bits, order)

    def fills(self, mode):
        """Zeros, the largest products of both signs, outliers that meet victims, and the
        largest normal pairs (``K = max_k`` of them fills the accumulator to its bound)."""
        def lane(fmt, order, pair):
            bits = 8 if fmt is None else fmt.bits
            return int(self._pack(pair[0], pair[1], bits, order))
        a = [lane(self.a, self.a_order, pair) for pair in self._extreme_pairs(self.a)]
        b = [lane(self.b, self.b_order, pair) for pair in self._extreme_pairs(self.b)]
        if self.a is None:
            # (-128, -128) times the largest outliers / the largest normal pair
            return [(0, 0), (a[0], b[0]), (a[0], b[2]), (a[0], b[6]), (a[1], b[5])]
        return [(0, 0), (a[0], b[0]), (a[2], b[0]), (a[0], b[1]), (a[5], b[6]),
                (a[6], b[6])]

    # -- the golden product --------------------------------------------------------------
    def product(self, a, b, mode):
        b_codes = self._unpack(torch.as_tensor(b).T, self.b.bits, self.b_order)  # N x 2K
        if self.a is None:
            a_vals = self._unpack(torch.as_tensor(a), 8, self.a_order)            # M x 2K
            a_vals = torch.where(a_vals >= 128, a_vals - 256, a_vals)
            # C^T = B^T A^T, with golden.ovp.gemm's B side holding the INT8 values
            return govp.gemm(b_codes, self.b, a_vals.T, None, acc_width=62).T
        a_codes = self._unpack(torch.as_tensor(a), self.a.bits, self.a_order)     # M x 2K
        return govp.gemm(a_codes, self.a, b_codes.T, self.b, acc_width=62)


@dataclass(frozen=True)
class DIntOperands(SignedActOperands):
    """Signed INT activations on A, dINT weight codes on B (``hw.pe_formats.DIntArrayPE``)."""

    fw: DIntFormat
    name = "dint"
    label = "dINT"

    @property
    def weight_name(self) -> str:
        return self.fw.name

    def weight_codes(self) -> torch.Tensor:
        return torch.arange(1 << self.fw.bits)

    def weight_extremes(self) -> list[int]:
        half = 1 << (self.fw.bits - 1)
        # largest +/-, smallest denormal +/-, the negative zero
        return [half - 1, 2 * half - 1, 1, half + 1, half]

    def fills(self, mode):
        big, neg, den, neg_den, neg_zero = self.weight_extremes()
        fx = self.fx
        return [(0, 0), (fx.qmin, big), (fx.qmin, neg), (fx.qmax, neg), (fx.qmin, neg_den),
                (fx.qmax, neg_zero)]

    def product(self, a, b, mode):
        # C[m, n] = sum_k x[m, k] w[k, n] 2^frac = (W^T X^T)^T with golden.dint.gemm
        a, b = torch.as_tensor(a, dtype=torch.int64), torch.as_tensor(b, dtype=torch.int64)
        return gdint.gemm(b.T, a.T, self.fw, acc_width=62).T
