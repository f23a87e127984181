"""The runtime mixed-precision PE: per step one 8x8, two 4x8 or four 4x4 signed products.

Contract (the spec is ``golden/mixed.py``, with the bit diagrams): ``a`` and ``b`` are 16-bit
lanes; the per-step ``mode`` index selects how they are read:

* ``0`` = ``"8x8"``: ``a[0:8] * b[0:8]`` (bits 8..15 of both lanes are don't care);
* ``1`` = ``"4x8"``: ``a[0:4] * b[0:8] + a[4:8] * b[8:16]`` (``a[8:16]`` don't care);
* ``2`` = ``"4x4"``: ``sum(a[4i:4i+4] * b[4i:4i+4] for i in 0..3)``;

every field two's complement, the step exact and signed (``|step| <= 2^14``, the 8x8
mode's ``-128 * -128``). Index 3 is not a mode (its step is unspecified). The mode may change
on any step, so tiles of different modes follow each other with no reconfiguration.

Decomposition (one set of four nibble multipliers shared by all modes): with ``n_k(x)`` nibble
``k`` of ``x`` (bits ``[4k, 4k + 4)``), ``u``/``s`` the nibble read as unsigned (low half of
an int8) or signed (an int4, or the high half of an int8), each multiplier takes 4-bit
nibbles plus a mode-dependent fifth (extension) bit, and its product enters the sum at a
mode-dependent weight:

==========  ==================  ==================  ==================  ==========
multiplier  8x8                 4x8                 4x4                 weight
==========  ==================  ==================  ==================  ==========
``A``       n0(a)u * n0(b)u     n0(a)s * n0(b)u     n0(a)s * n0(b)s     0, 0, 0
``B``       n0(a)u * n1(b)s     n0(a)s * n1(b)s     n1(a)s * n1(b)s     4, 4, 0
``C``       n1(a)s * n0(b)u     n1(a)s * n3(b)s     n3(a)s * n3(b)s     4, 4, 0
``D``       n1(a)s * n1(b)s     n1(a)s * n2(b)u     n2(a)s * n2(b)s     8, 0, 0
==========  ==================  ==================  ==================  ==========

so ``step = (A + D * 2^u) + (B + C) * 2^s`` with ``u = 8`` in 8x8 (else 0) and ``s = 4``
except in 4x4. Pairing the 4x8 products this way (``a1 * b1`` high half on ``C``, low half on
``D``) leaves only two weight multiplexers -- on ``B + C`` and on ``D`` -- besides five 4-bit
operand multiplexers (B's ``a``, C's and D's ``a`` and ``b``).

Each nibble multiplier is a chain of two-operand adds, one per row (one bit of its shorter
operand times the other; the sign row subtracted), and the three sums after them are plain
adds too; every one of these results is a ``keep`` wire, so Yosys maps it as one carry chain
(one LUT per bit on iCE40, carry cells on ECP5) instead of merging them into the full-adder
tree it builds for a ``*`` (two LUTs per bit). That is much smaller on iCE40 and ECP5 but
slower: an INT8 PE built the same way has the same Fmax as this one.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data

from quantrtl.hw.pe import PEType

__all__ = ["MixedPE", "MIXED_MODES", "MIXED_ELEMENTS"]

MIXED_MODES = ("8x8", "4x8", "4x4")
MIXED_ELEMENTS = {"8x8": 1, "4x8": 2, "4x4": 4}
LANE = 16
STEP_BOUND = 128 * 128  # 8x8: -128 * -128; 4x8: 2 * 8 * 128; 4x4: 4 * 8 * 8
# An A or B lane as the multipliers read it: nibble ``k`` = bits ``[4k, 4k + 4)``, unsigned
# (each multiplier operand decides how to extend it).
NIBBLES = data.ArrayLayout(4, LANE // 4)


def _extend(nibble, signed_if):
    """A 5-bit signed operand: ``nibble`` as signed where ``signed_if`` is 1, else unsigned."""
    return Cat(nibble, nibble[3] & signed_if).as_signed()


def _carry_chain(m: Module, name: str, shape, value):
    """``value`` as a kept wire: Yosys maps each such add on its own carry chain."""
    wire = Signal(shape, name=name, attrs={"keep": 1})
    m.d.comb += wire.eq(value)
    return wire


def _multiply(m: Module, x, y, name: str):
    """Exact ``x * y`` of two signed values: rows over the bits of the shorter one, added in a
    chain; each stage adds one row to the running sum shifted right by one (the bit shifted
    out is final), so every adder is only ``len(y) + 1`` bits wide."""
    if len(x) > len(y):
        x, y = y, x
    low = []
    acc = Mux(x[0], y, 0).as_signed()
    for i in range(1, len(x)):
        low.append(acc[0])
        row = Mux(x[i], y, 0).as_signed()
        shifted = acc.as_signed() >> 1
        acc = _carry_chain(m, f"{name}_row{i}", signed(len(y) + 1),
                           shifted - row if i == len(x) - 1 else shifted + row)
    return Cat(*low, acc).as_signed()


class MixedPE(PEType):
    """Mixed-precision PE type for ``hw.array``; contract and decomposition in the module
    docstring. It has no parameters: both lane formats are fixed."""

    name = "mixed"
    a_width = LANE
    b_width = LANE
    acc_signed = True
    modes = MIXED_MODES

    def __init__(self):
        pass

    @property
    def step_bound(self) -> int:
        return STEP_BOUND

    def elements(self, mode: str) -> int:
        self.mode_index(mode)
        return MIXED_ELEMENTS[mode]

    def operands(self, m: Module, a, b, wide, half, quad):
        """The ``(x, y)`` operands of multipliers A, B, C, D (table in the module docstring)."""
        na, nb = data.View(NIBBLES, a), data.View(NIBBLES, b)
        return [
            (_extend(na[0], ~wide), _extend(nb[0], quad)),
            (_extend(Mux(quad, na[1], na[0]), ~wide), nb[1].as_signed()),
            (Mux(quad, na[3], na[1]).as_signed(), _extend(Mux(wide, nb[0], nb[3]), ~wide)),
            (Mux(quad, na[2], na[1]).as_signed(), _extend(Mux(wide, nb[1], nb[2]), ~half)),
        ]

    def combine(self, m: Module, products, wide, quad):
        """``(A + D * 2^u) + (B + C) * 2^s`` (weights in the module docstring)."""
        pa, pb, pc, pd = products
        bc = _carry_chain(m, "mx_bc", signed(10), pb + pc)           # |B + C| <= 256
        ad = _carry_chain(m, "mx_ad", signed(16), pa + Mux(wide, pd << 8, pd))
        return _carry_chain(m, "mx_step", signed(16), ad + Mux(quad, bc, bc << 4))

    def step(self, m: Module, a, b, mode):
        wide, half, quad = Signal(name="mx_8x8"), Signal(name="mx_4x8"), Signal(name="mx_4x4")
        m.d.comb += [wide.eq(~mode.any()), half.eq(mode == 1), quad.eq(mode[1])]
        products = [_multiply(m, x, y, f"mx_{name}")
                    for name, (x, y) in zip("abcd", self.operands(m, a, b, wide, half, quad))]
        return self.combine(m, products, wide, quad)
