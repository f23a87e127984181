"""``pe=sparse24``: the array PE type of 2:4 structured-sparse weights times signed INT
activations (lane layouts: ``golden/sparse.py``)."""

from __future__ import annotations

from amaranth.hdl import Mux, Signal, signed
from amaranth.lib import data

from quantrtl.hw.mac import check_operand
from quantrtl.hw.pe import PEType

__all__ = ["SparsePE"]

GROUP = 4     # activations per A lane
KEEP = 2      # weight values (and multipliers) per B lane
POS_BITS = 2


class SparsePE(PEType):
    """A lane: a group of four signed ``a_bits`` (2..8) activations, element ``i`` in bits
    ``[i * a_bits, (i + 1) * a_bits)``. B lane: two signed ``b_bits`` (2..8) weight values
    then their two 2-bit positions within the group (``value0``, ``value1``, ``position0``,
    ``position1`` from bit 0). ``step = value0 * x[position0] + value1 * x[position1]``:
    two multipliers behind two 4:1 multiplexers, four reduction elements per step; any
    positions are read (the order is the compressor's job). One mode,
    ``"int<a>xint<b>-2:4"``; ``step_bound = 2 * 2^(a_bits - 1) * 2^(b_bits - 1)``. No edge
    decoders: positions and values travel through the array (stationary in ``ws``)."""

    name = "sparse24"

    def __init__(self, *, a_bits: int = 8, b_bits: int = 8):
        check_operand("a", a_bits, True)
        check_operand("b", b_bits, True)
        self._a_bits, self._b_bits = a_bits, b_bits
        self._a_layout = data.ArrayLayout(signed(a_bits), GROUP)
        self._b_layout = data.StructLayout({
            "values": data.ArrayLayout(signed(b_bits), KEEP),
            "positions": data.ArrayLayout(POS_BITS, KEEP)})
        self.a_width, self.b_width = self._a_layout.size, self._b_layout.size
        self.modes = (f"int{a_bits}xint{b_bits}-2:4",)

    @property
    def step_bound(self) -> int:
        return KEEP << (self._a_bits + self._b_bits - 2)

    def elements(self, mode: str) -> int:
        self.mode_index(mode)
        return GROUP

    def step(self, m, a, b, mode):
        x, w = data.View(self._a_layout, a), data.View(self._b_layout, b)

        def select(p):  # a 4:1 multiplexer on the two position bits
            return Mux(p[1], Mux(p[0], x[3], x[2]), Mux(p[0], x[1], x[0]))

        products = []
        for j in range(KEEP):
            # a kept wire: each product is its own multiplier and the sum one carry chain,
            # not one merged adder tree (smaller: ECP5 760 LUTs instead of 870, xc7 302
            # instead of 365, INT8 x INT8)
            product = Signal(signed(self._a_bits + self._b_bits), name=f"s24_p{j}",
                             attrs={"keep": 1})
            m.d.comb += product.eq(w.values[j] * select(w.positions[j]))
            products.append(product)
        return products[0] + products[1]
