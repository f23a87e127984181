"""Table-lookup ternary dot unit: ``n`` columns, each accumulating the dot product of ``g``
signed activations with its own group of ``g`` ternary weights, one group per cycle.

A group of ``g`` ternary weights is one **base-3 index** (docs/ternary_lut.md), the packing
of ``golden.ternary.pack_base3`` with ``g`` digits: ``idx = sum_i (w_i + 1) * 3^i``, first
weight the least significant digit, ``ceil(log2 3^g)`` bits (4, 5, 7 for g = 2, 3, 4);
indices ``3^g .. 2^bits - 1`` hold no weights and count as all zero.

The index selects its sum directly, with no decoding into weights. Negating every weight of
a group reflects its index (``idx -> 3^g - 1 - idx``), so the table holds only the
``(3^g - 1) / 2`` sums whose highest-index nonzero weight is +1 (``idx > (3^g - 1) / 2``),
built once per cycle from the activations: ``g`` of them are single activations, each
of the others one adder (2, 10, 36 adders for g = 2, 3, 4); the other half of the indices
selects the reflected entry and subtracts it.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.integer import is_int
from quantrtl.hw.mac import (
    MACFacts,
    check_accumulator,
    check_operand,
    delay,
    register_and_accumulate,
    unused_if_invalid,
)

__all__ = ["TernaryLUTDot", "index_width"]

GROUPS = (2, 3, 4)
MAX_COLUMNS = 16


def index_width(group: int) -> int:
    """Bits of one base-3 group index: ``ceil(log2 3^group)``."""
    return (3 ** group - 1).bit_length()


class TernaryLUTDot(MACFacts, wiring.Component):
    """``acc_j <= (clear ? 0 : acc_j) + sum_i w_ji * x_i`` for every column ``j`` when
    ``valid``, the sum taken from a table of the ``g`` activations' signed sums.

    Ports (``sync`` domain):

    * ``x``: ``g * x_width`` bits, lane ``i`` (signed, ``x_width`` 2..8) at bits
      ``[i * x_width, (i + 1) * x_width)``.
    * ``w``: ``n * index_width(g)`` bits, column ``j``'s base-3 group index (module
      docstring) at bits ``[j * b, (j + 1) * b)``, ``b = index_width(g)``.
    * ``valid``, ``clear``: 1 bit, as ``hw.mac.IntMAC``, for all columns at once.
    * ``acc``: ``n * acc_width`` bits, column ``j``'s signed accumulator at bits
      ``[j * acc_width, (j + 1) * acc_width)``; at least ``product_width`` bits (one group
      sum, ``g * 2^(x_width - 1)`` in magnitude); wraps or saturates (``overflow``).

    The selected entry is added as ``~entry`` plus the accumulator adder's carry-in when
    the index is in the reflected half (``hw.mac.register_and_accumulate``). Latency
    ``pipeline + 1`` (0..4; stage 1 registers each column's selected entry, further stages
    the inputs); throughput ``g * n`` MACs per cycle; synchronous reset clears everything.
    """

    @unused_if_invalid
    def __init__(self, *, group=2, columns=1, x_width=8, acc_width=24, pipeline=0,
                 overflow="wrap"):
        if isinstance(group, bool) or group not in GROUPS:
            raise ValueError(f"group size g must be one of {GROUPS}, got {group!r}")
        if not is_int(columns) or not 1 <= columns <= MAX_COLUMNS:
            raise ValueError(f"columns n must be an int in 1..{MAX_COLUMNS}, got {columns!r}")
        self._x_shape = check_operand("x", x_width, True)
        self._group, self._columns = group, columns
        check_accumulator(acc_width, self.product_width, pipeline, overflow)
        self._acc_width, self._pipeline, self._overflow = acc_width, pipeline, overflow
        super().__init__({
            "x": In(group * x_width),
            "w": In(columns * index_width(group)),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(columns * acc_width),
        })

    @property
    def product_width(self) -> int:
        """Signed bits of one column's group sum (either sign)."""
        return (self._group << (self._x_shape.width - 1)).bit_length() + 1

    @property
    def latency(self) -> int:
        return self._pipeline + 1

    @property
    def throughput_note(self) -> str:
        return (f"{self._group * self._columns} MACs per cycle: {self._columns} column(s) of "
                f"a {self._group}-weight group; new operands every cycle")

    def _table(self, m: Module, lanes: list) -> list:
        """The sums of every weight vector whose highest-index nonzero weight is +1, in
        index order (entry ``k`` is index ``(3^g + 1) / 2 + k``); one adder per entry that is
        not a single activation."""
        table = []  # (value, index) of the vectors over the lanes so far
        for i, lane in enumerate(lanes):
            width = ((i + 1) << (self._x_shape.width - 1)).bit_length() + 1
            digit = 3 ** i
            # with weight i = 0 a vector keeps its value, its index gains digit 1 (3^i);
            # with weight i = +1 (digit 2) it is x_i plus 0, an entry or an entry negated
            # (an entry's negation has index 3^i - 1 - index)
            grown = [(value, digit + index) for value, index in table]
            grown.append((lane, 2 * digit + digit // 2))
            for value, index in table:
                plus = Signal(signed(width), name=f"sum{i}_{2 * digit + index}")
                minus = Signal(signed(width), name=f"sum{i}_{3 * digit - 1 - index}")
                m.d.comb += [plus.eq(lane + value), minus.eq(lane - value)]
                grown += [(plus, 2 * digit + index), (minus, 3 * digit - 1 - index)]
            table = sorted(grown, key=lambda entry: entry[1])
        half = (3 ** len(lanes) - 1) // 2
        assert [index for _, index in table] == list(range(half + 1, 2 * half + 1))
        return [value for value, _ in table]

    def elaborate(self, platform):
        m = Module()
        g, xw, b = self._group, self._x_shape.width, index_width(self._group)
        x, w, valid, clear = delay(m, [self.x, self.w, self.valid, self.clear],
                                   self._pipeline - 1, "s")
        lanes = [x[i * xw:(i + 1) * xw].as_signed() for i in range(g)]
        table = Array(self._table(m, lanes))
        half = (3 ** g - 1) // 2
        accs = []
        for j in range(self._columns):
            idx = w[j * b:(j + 1) * b]
            upper, zero, negate = (Signal(name=f"{s}{j}") for s in ("upper", "zero", "neg"))
            k = Signal(range(half), name=f"k{j}")
            entry = Signal(signed(self.product_width), name=f"entry{j}")
            m.d.comb += [
                upper.eq(idx > half),
                zero.eq((idx == half) | (idx >= 3 ** g)),  # all-zero weights, or no weights
                negate.eq(~upper & ~zero),
                k.eq(Mux(upper, idx - (half + 1), (half - 1) - idx)),
                entry.eq(Mux(zero, 0, table[k])),
            ]
            acc = Signal(signed(self._acc_width), name=f"acc{j}")
            register_and_accumulate(m, acc, entry, valid, clear, self._pipeline,
                                    self._overflow, negate=negate)
            accs.append(acc)
        m.d.comb += self.acc.eq(Cat(*accs))
        return m
