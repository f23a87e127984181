"""Golden vectors for the MX arrays: the operand kind of ``pe=mx`` (``sim.gemm``) and the
streams of ``hw.array_mx.MXWeightStationaryArray``; everything from ``golden/``, never from
``hw/``.

``MXOperands`` -- a lane code is one MX element code (``golden.mx``'s convention: a
minifloat's unsigned bit pattern, an MXINT8 element's signed integer ``-128 .. 127``).
``product`` is the exact ``sum a * b * 2^(frac_a + frac_b)`` of the elements' fixed-point
values (``golden.minifloat.fixed_values``, whose NaN and infinity codes are 0; MXINT8: the
code, 6 fractional bits), which is what the array's accumulator holds: per block,
``golden.mx.block_dot``'s ``integer``.

``mx_ws_stream_vectors`` -- GEMM batches for the wrapper: weight tiles with their column
scales, activation rows with their row scales; each output row's lanes are checked against
``golden.mx.block_dot`` of the row's block with each column's block (``integer``, and
``exp = a_scale + b_scale - 254``), its NaN flag set where ``block_dot`` finds no exact value.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from quantrtl.formats.integer import IntSpec
from quantrtl.formats.minifloat import MXSpec
from quantrtl.golden import minifloat
from quantrtl.golden.mx import SCALE_BIAS, SCALE_NAN, block_dot
from quantrtl.sim.gemm import draw_codes, pack_fields, pack_lanes, ws_schedule
from quantrtl.sim.vectors import Vectors, biased_choice

__all__ = ["MXOperands", "mx_ws_stream_vectors", "EXP_WIDTH"]

EXP_WIDTH = 10  # signed bits of an output exponent a_scale + b_scale - 254: -254 .. 256


@dataclass(frozen=True)
class MXOperands:
    """MX element codes on both sides (``pe=mx``); ``a``/``b``: ``MXSpec`` (the block size
    is the wrapper's ``rows``)."""

    a: MXSpec
    b: MXSpec
    name = "mx"
    acc_signed = True

    @property
    def modes(self) -> tuple[str, ...]:
        return (f"{self.a.element.name}x{self.b.element.name}",)

    @property
    def a_width(self) -> int:
        return self.a.element.bits

    @property
    def b_width(self) -> int:
        return self.b.element.bits

    def elements(self, mode):
        return 1

    def _spec(self, side: str) -> MXSpec:
        return self.a if side == "a" else self.b

    def lanes(self, side):
        elem = self._spec(side).element
        if isinstance(elem, IntSpec):
            return torch.arange(-128, 128)
        return torch.arange(1 << elem.bits)

    def fixed(self, codes: torch.Tensor, side: str) -> torch.Tensor:
        """Each code's fixed-point value (non-finite codes 0), int64."""
        elem = self._spec(side).element
        if isinstance(elem, IntSpec):
            return codes.to(torch.int64)
        return minifloat.fixed_values(elem)[0][codes]

    def extremes(self, side: str) -> list[int]:
        """The largest magnitudes of both signs, the smallest subnormals, both zeros, and
        the non-finite codes."""
        elem = self._spec(side).element
        if isinstance(elem, IntSpec):
            return [-128, 127, -127, 1, -1, 0]
        fixed = minifloat.fixed_values(elem)[0]
        top = int(fixed.abs().max())
        codes = [c for c, v in enumerate(fixed.tolist()) if abs(v) in (top, 1)]
        codes += [0, 1 << (elem.bits - 1)]
        codes += torch.nonzero(~minifloat.finite(elem)).reshape(-1).tolist()
        return sorted(set(codes))

    def largest(self, side: str, negative: bool = False) -> int:
        """The code of the largest positive (negative) value."""
        values = self.fixed(self.lanes(side), side)
        pick = values.argmin() if negative else values.argmax()
        return int(self.lanes(side)[pick])

    def draw(self, gen, shape, side, mode):
        return draw_codes(gen, shape, self.lanes(side), self.extremes(side))

    def fills(self, mode):
        big_a, big_b = self.largest("a"), self.largest("b")
        neg_a, neg_b = self.largest("a", True), self.largest("b", True)
        return [(0, 0), (big_a, big_b), (neg_a, big_b), (neg_a, neg_b), (big_a, neg_b)]

    def product(self, a, b, mode):
        return self.fixed(a, "a") @ self.fixed(b, "b")

    def finite(self, codes: torch.Tensor, side: str) -> torch.Tensor:
        elem = self._spec(side).element
        if isinstance(elem, IntSpec):
            return torch.ones_like(codes, dtype=torch.bool)
        return minifloat.finite(elem)[codes]


def _expected_row(kind: MXOperands, a_row, a_scale: int, b, b_scales) -> list[tuple]:
    """``[(integer, exp, nan), ...]`` per column of one output row: ``golden.mx.block_dot``
    of the row's block with the column's; ``nan`` where ``block_dot`` has no exact value
    (a NaN scale, a NaN or infinity element), ``integer`` then the sum with every
    non-finite element counted as 0."""
    out = []
    for j in range(b.shape[1]):
        b_scale = int(b_scales[j])
        try:
            integer, _ = block_dot(a_row, a_scale, b[:, j], b_scale, kind.a, kind.b)
            nan = 0
        except ValueError:
            integer = int((kind.fixed(a_row, "a") * kind.fixed(b[:, j], "b")).sum())
            nan = 1
        out.append((integer, a_scale + b_scale - 2 * SCALE_BIAS, nan))
    return out


def _random_word(gen, bits: int) -> int:
    """A random payload for a cycle without a transfer (it must be ignored)."""
    return int.from_bytes(bytes(torch.randint(256, ((bits + 7) // 8,), generator=gen)
                                .tolist()), "little") % (1 << bits)


def _scales(gen, count: int) -> torch.Tensor:
    """E8M0 codes: mostly near the bias, a share of the extremes 0, 254 and NaN 255."""
    return biased_choice(torch.arange(SCALE_BIAS - 8, SCALE_BIAS + 9),
                         torch.tensor([0, 1, 254, SCALE_NAN]), count, gen, p_extreme=0.15)


def mx_ws_stream_vectors(rows: int, cols: int, kind: MXOperands, *, acc_width: int,
                         batches: int, seed: int = 1, pipeline: int = 0,
                         max_rows: int | None = None) -> tuple[Vectors, int]:
    """Vectors for ``hw.array_mx.MXWeightStationaryArray``; returns them and the MACs
    verified. As ``sim.gemm.ws_stream_vectors`` (the same documented schedule: 10% idle
    cycles with random payload, loading overlapping computing, a ``swap`` row waiting for
    all ``rows`` weight rows), with an E8M0 scale per row of A and ``cols`` column scales on
    every weight row (only the last row's count: the others are random here, so a wrong
    choice changes the results). Edge batches first (every fill with scale 127, an
    all-zero tile with the smallest scales, a NaN scale on each side), then ``batches``
    random ones."""
    gen = torch.Generator().manual_seed(seed)
    latency = rows + cols + 1 + pipeline  # hw.array's documented latency
    mode = kind.modes[0]
    work = []  # (a rows, a scales, b tile, b scales)

    def const(n, v):
        return torch.full((n,), v, dtype=torch.int64)

    for fa, fb in kind.fills(mode):
        work.append((torch.full((rows, rows), fa), const(rows, SCALE_BIAS),
                     torch.full((rows, cols), fb), const(cols, SCALE_BIAS)))
    work.append((torch.zeros(2, rows, dtype=torch.int64), const(2, 0),
                 torch.zeros(rows, cols, dtype=torch.int64), const(cols, 0)))
    big_a, big_b = kind.largest("a"), kind.largest("b")
    work.append((torch.full((2, rows), big_a), torch.tensor([SCALE_NAN, 254]),
                 torch.full((rows, cols), big_b),
                 torch.tensor([SCALE_NAN if j % 2 else 254 for j in range(cols)])))
    for _ in range(batches):
        m_rows = int(torch.randint(1, (max_rows or 2 * rows) + 1, (1,), generator=gen))
        work.append((kind.draw(gen, (m_rows, rows), "a", mode), _scales(gen, m_rows),
                     kind.draw(gen, (rows, cols), "b", mode), _scales(gen, cols)))

    wa, wb = kind.a_width, kind.b_width

    def w_word(batch, row):
        tile, scales = work[batch][2], work[batch][3]
        if row != rows - 1:  # only the last row's scales count
            scales = torch.randint(256, (cols,), generator=gen)
        return pack_fields([(pack_lanes(tile[row].tolist(), wb), cols * wb),
                            (pack_lanes(scales.tolist(), 8), cols * 8)])

    def a_word(batch, row, swap):
        a, a_scales = work[batch][0], work[batch][1]
        return pack_fields([(pack_lanes(a[row].tolist(), wa), rows * wa),
                            (int(a_scales[row]), 8), (int(swap), 1)])

    def expect(batch, row):
        a, a_scales, b, b_scales = work[batch]
        out = _expected_row(kind, a[row], int(a_scales[row]), b, b_scales)
        return pack_fields([
            (pack_lanes([r[0] for r in out], acc_width), cols * acc_width),
            (pack_lanes([r[1] for r in out], EXP_WIDTH), cols * EXP_WIDTH),
            (pack_lanes([r[2] for r in out], 1), cols)])

    vectors = ws_schedule([w[0].shape[0] for w in work], rows=rows, cols=cols,
                          latency=latency, gen=gen, w_word=w_word, a_word=a_word,
                          expect=expect, w_bits=cols * (wb + 8), a_bits=rows * wa + 9,
                          seed=seed, garbage=_random_word)
    return vectors, sum(w[0].shape[0] for w in work) * rows * cols
