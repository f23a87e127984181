"""Output-stationary systolic GEMM array with integer PEs.

``SystolicArray(rows=R, cols=C, ...)`` computes tiles ``C[R x C] = A[R x K] @ B[K x C]``.

Protocol (``sync`` domain, no back-pressure):

* Each cycle with ``valid`` carries one reduction step ``k``: lane ``i`` of ``a`` is
  ``A[i, k]``, lane ``j`` of ``b`` is ``B[k, j]`` (lane 0 in the low bits). ``last`` marks
  the final ``k`` of a tile; the next valid cycle starts a new tile. Idle cycles (``valid``
  low) may appear anywhere.
* Results leave row by row: ``c_valid`` is high for ``R`` consecutive cycles starting
  ``C`` cycles after the ``last`` step entered, with ``c_row = r`` and lane ``j`` of ``c``
  holding ``C[r, j]`` (signed, ``acc_width`` bits, wrapping).
* Tiles may follow back to back when ``K >= max(R, C)``; shorter tiles need
  ``max(R, C) - K`` idle cycles after them.

Inside, lane ``i`` of ``a`` is delayed ``i`` cycles and lane ``j`` of ``b`` ``j`` cycles
(skew), operands move one PE right (``a``) or down (``b``) per cycle with their control, and
each PE copies its finished sum into a result register, so that the next tile can start
while results are read. Peak throughput ``R * C`` MACs per cycle.

``acc_width`` defaults to the product width plus ``ceil(log2(max_k))``: no tile with
``K <= max_k`` can overflow.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.mac import check_operand, delay, unused_if_invalid

__all__ = ["SystolicArray"]

MAX_DIM = 64


class SystolicArray(wiring.Component):
    @unused_if_invalid
    def __init__(self, *, rows=4, cols=4, a_width=8, a_signed=True, b_width=8, b_signed=True,
                 max_k=256, acc_width=None):
        for name, value in (("rows", rows), ("cols", cols)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIM:
                raise ValueError(f"{name} must be an int in 1..{MAX_DIM}, got {value!r}")
        if isinstance(max_k, bool) or not isinstance(max_k, int) or not 1 <= max_k <= 1 << 20:
            raise ValueError(f"max_k must be an int in 1..2^20, got {max_k!r}")
        self._a = check_operand("a", a_width, a_signed)
        self._b = check_operand("b", b_width, b_signed)
        self._rows, self._cols, self._max_k = rows, cols, max_k
        needed = a_width + b_width + (max_k - 1).bit_length()
        if acc_width is None:
            acc_width = needed
        if isinstance(acc_width, bool) or not isinstance(acc_width, int) \
                or not needed <= acc_width <= 62:
            raise ValueError(f"accumulator width must be {needed}..62 bits for K <= {max_k}, "
                             f"got {acc_width!r}")
        self._acc_width = acc_width
        super().__init__({
            "a": In(rows * a_width), "b": In(cols * b_width),
            "valid": In(1), "last": In(1),
            "c": Out(cols * acc_width), "c_valid": Out(1),
            "c_row": Out(max(1, (rows - 1).bit_length())),
        })

    @property
    def acc_width(self) -> int:
        return self._acc_width

    @property
    def macs_per_cycle(self) -> int:
        return self._rows * self._cols

    @property
    def result_delay(self) -> int:
        """Cycles from the ``last`` step entering to row 0 of its results leaving."""
        return self._cols

    def elaborate(self, platform):
        m = Module()
        R, C, W = self._rows, self._cols, self._acc_width
        aw, bw = self._a.width, self._b.width
        acc_shape = signed(W) if (self._a.signed or self._b.signed) else unsigned(W)

        # A step is the first of its tile if no step since the last "last" (or reset).
        in_tile = Signal()
        with m.If(self.valid):
            m.d.sync += in_tile.eq(~self.last)
        first = Signal()
        m.d.comb += first.eq(self.valid & ~in_tile)

        # Skew: row i's operand and control wait i cycles, column j's operand j cycles.
        ctrl = ["a", "valid", "first", "last"]
        a_in = [delay(m, [self.a[i * aw:(i + 1) * aw], self.valid, first, self.last], i,
                      "skew", [f"{n}{i}" for n in ctrl]) for i in range(R)]
        b_in = [delay(m, [self.b[j * bw:(j + 1) * bw]], j, "skew", [f"b{j}"])[0]
                for j in range(C)]

        results = [[None] * C for _ in range(R)]
        down = list(b_in)  # the b operand entering row i, per column
        for i in range(R):
            a, valid, first_i, last_i = a_in[i]
            for j in range(C):
                b = down[j]
                acc = Signal(acc_shape, name=f"acc_{i}_{j}")
                res = Signal(acc_shape, name=f"res_{i}_{j}")
                a_op = a.as_signed() if self._a.signed else a
                b_op = b.as_signed() if self._b.signed else b
                total = Signal(W, name=f"sum_{i}_{j}")
                m.d.comb += total.eq(Mux(first_i, 0, acc) + a_op * b_op)
                with m.If(valid):
                    m.d.sync += acc.eq(total)
                    with m.If(last_i):
                        m.d.sync += res.eq(total)
                results[i][j] = res
                # operands and control move on: a right, b down
                a, valid, first_i, last_i = delay(m, [a, valid, first_i, last_i], 1, "",
                                                  [f"{n}_{i}_{j + 1}" for n in ctrl])
                down[j] = delay(m, [b], 1, "", [f"b_{i + 1}_{j}"])[0]

        # Row r of a tile is complete C + r cycles after its last step entered.
        (emit,) = delay(m, [self.valid & self.last], C, "", ["emit"])
        row = Signal(range(max(R, 2)))
        busy = Signal()
        # Plain expressions rather than an If/Switch: Icarus evaluates continuous assignments
        # at time 0, but an always @* block only once one of its inputs changes.
        m.d.comb += [self.c_valid.eq(emit | busy), self.c_row.eq(Mux(emit, 0, row))]
        with m.If(emit):
            m.d.sync += [row.eq(1), busy.eq(R > 1)]
        with m.Elif(busy):
            m.d.sync += row.eq(row + 1)
            with m.If(row == R - 1):
                m.d.sync += busy.eq(0)
        out = Cat(*results[0])
        for r in range(1, R):
            out = Mux(self.c_row == r, Cat(*results[r]), out)
        m.d.comb += self.c.eq(out)
        return m
