"""PE types of the systolic arrays (``hw.array``) for the OliVe OVP and dINT formats.

``OVPArrayPE`` -- OliVe's array: every operand lane is one outlier–victim *pair* (two
consecutive reduction elements ``2k, 2k+1``), decoded by one ``hw.ovp.OVPPairDecoder`` per
row (A, activations) and one per column (B, weights) on the array's edge, to the
sign–magnitude lanes of ``hw.ovp.OVPMagnitudeDecoder`` (value ``(-1)^neg * (mag << 2 *
exp2)``, the cheaper datapath of ``hw.ovp.OVPPE``). The decoded lanes, ``ArrayLayout(
StructLayout({"neg": 1, "mag": mag_width, "exp2": exp2_width}), 2)`` (element ``2k`` at
index 0), travel through the array and every PE adds, exactly, ``sum_k
(-1)^(neg_a_k ^ neg_b_k) * (mag_a_k * mag_b_k << 2 * (exp2_a_k + exp2_b_k))``. A is
OVP-coded or, with ``a=None``, a plain pair of two signed ``x_width``-bit integers (W-OVP /
A-INT8, OVPPE's ``act=None``), which multiply B's magnitudes directly. B is OVP-coded.
Nibble order as ``OVPPairDecoder`` (``"low-first"``: element ``2k`` in the low half of the
lane, the default of ``golden.ovp.pack_bytes``), the same on both sides. The accumulator
holds ``sum a * b`` exactly, in LSB units of both formats.

``DIntArrayPE`` -- dINT weights (B, sign–magnitude ``s|m..m``, ``hw.dint``) times signed
INT activations (A): the step is ``w * x * 2^frac_bits`` exactly (fixed point, as
``hw.dint.DIntMAC``; ``frac_bits = -log2(smallest denormal)``), a sum of at most a few
shifted copies of ``x`` chosen by the magnitude code, then the weight's sign. The codes are
decoded inside every PE by default; ``decode="shifts"`` / ``"magnitude"`` decode them once
per column on the edge instead (measured in ``DIntArrayPE``).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data

from quantrtl.formats.dint import DIntSpec
from quantrtl.formats.ovp import NIBBLE_ORDERS, ovp_name
from quantrtl.hw.dint import dint_magnitudes, fixed_magnitudes, frac_bits
from quantrtl.hw.mac import check_operand
from quantrtl.hw.ovp import OVPPairDecoder, OVPParams, even_shift_product, magnitude_lane_widths
from quantrtl.hw.pe import PEType, pack

__all__ = ["OVPArrayPE", "DIntArrayPE", "DINT_DECODES"]

DINT_DECODES = ("pe", "shifts", "magnitude")


def _free_name(m: Module, prefix: str) -> str:
    """``prefix0``, ``prefix1``, ...: the first name no submodule of ``m`` has yet (one
    decoder per row / column: ``ovp_a_dec<row>``, ``ovp_b_dec<column>``)."""
    n = 0
    while True:
        try:
            m.submodules[f"{prefix}{n}"]
        except AttributeError:
            return f"{prefix}{n}"
        n += 1


class OVPArrayPE(PEType):
    """OVP pairs on both sides (or a plain INT pair on A); see the module docstring.

    Lanes: ``a_width = 2 * a.bits`` (``2 * x_width`` for a plain pair), ``b_width = 2 *
    b.bits``; inside the array ``2 * (1 + mag_width + exp2_width)`` bits per OVP lane
    (``hw.ovp.magnitude_lane_widths``). One mode, ``"<a>x<b>"`` (``ovp4xovp4``,
    ``int8xovp8``, ...); ``elements = 2``.
    """

    name = "ovp"

    def __init__(self, a: OVPParams | None = OVPParams.int4(), b: OVPParams = OVPParams.int4(),
                 *, x_width: int = 8, nibble_order: str = "low-first"):
        for side, fmt in (("a", a), ("b", b)):
            if fmt is None and side == "a":
                continue
            if not isinstance(fmt, OVPParams):
                raise ValueError(f"OVP PE operand {side} must be hw.ovp.OVPParams, got {fmt!r}")
        if nibble_order not in NIBBLE_ORDERS:
            raise ValueError(f"nibble order must be one of {NIBBLE_ORDERS}, got "
                             f"{nibble_order!r}")
        if a is None:
            check_operand("a", x_width, True)
        self._a, self._b, self._x_width, self._order = a, b, x_width, nibble_order
        self.a_width = 2 * (x_width if a is None else a.bits)
        self.b_width = 2 * b.bits
        self.modes = (f"{ovp_name(a, x_width)}x{ovp_name(b)}",)

    def lane_layout(self, fmt: OVPParams | None) -> data.ArrayLayout:
        """The layout of a decoded lane inside the array: two sign–magnitude elements
        (``neg``, ``mag``, ``exp2``), element ``2k`` at index 0; for a plain INT pair (``fmt
        = None``) the A lane as it comes, two signed ``x_width``-bit halves, the low half at
        index 0."""
        if fmt is None:
            return data.ArrayLayout(signed(self._x_width), 2)
        mag_width, exp2_width = magnitude_lane_widths(fmt)
        return data.ArrayLayout(data.StructLayout({"neg": 1, "mag": mag_width,
                                                   "exp2": exp2_width}), 2)

    @property
    def a_inner_width(self) -> int:
        return self.lane_layout(self._a).size

    @property
    def b_inner_width(self) -> int:
        return self.lane_layout(self._b).size

    def _decode(self, m: Module, fmt: OVPParams, lane: Value, side: str) -> Value:
        dec = OVPPairDecoder(fmt, self._order, lanes="sign-magnitude")
        m.submodules[_free_name(m, f"ovp_{side}_dec")] = dec
        m.d.comb += dec.pair.eq(lane)
        return pack(self.lane_layout(fmt), [
            {"neg": dec.neg0, "mag": dec.mag0, "exp2": dec.exp2_0},
            {"neg": dec.neg1, "mag": dec.mag1, "exp2": dec.exp2_1}])

    def decode_a(self, m, lane):
        return lane if self._a is None else self._decode(m, self._a, lane, "a")

    def decode_b(self, m, lane):
        return self._decode(m, self._b, lane, "b")

    def _elements(self, fmt: OVPParams | None, lane: Value):
        """``[(neg, factor, exp2), (neg, factor, exp2)]`` of a decoded lane, element ``2k``
        first: value = ``(-1)^neg * (factor << 2 * exp2)``; ``factor`` is the unsigned
        magnitude, or for a plain INT pair the signed integer itself (``neg = 0``)."""
        view = data.View(self.lane_layout(fmt), lane)
        if fmt is None:
            first, second = (view[0], view[1]) if self._order == "low-first" \
                else (view[1], view[0])
            return [(Const(0, 1), first, Const(0, 1)), (Const(0, 1), second, Const(0, 1))]
        return [(view[k].neg, view[k].mag, view[k].exp2) for k in range(2)]

    def _pair_magnitudes(self, fmt: OVPParams | None) -> list[tuple[int, int]]:
        """The largest element magnitudes a pair can decode to, per case."""
        if fmt is None:
            big = 1 << (self._x_width - 1)
            return [(big, big)]
        n, o = fmt.max_normal, fmt.max_outlier
        return [(n, n), (o, 0), (0, o)]

    @property
    def step_bound(self) -> int:
        # A pair is normal-normal or outlier-victim; both signs occur, so the bound is hit.
        return max(a0 * b0 + a1 * b1 for a0, a1 in self._pair_magnitudes(self._a)
                   for b0, b1 in self._pair_magnitudes(self._b))

    def step(self, m, a, b, mode):
        """Per element ``(factor_a * factor_b) << 2 * (exp2_a + exp2_b)``, inverted when the
        signs differ; the two ``+1`` of the negations are added with the sum, as
        ``hw.ovp.OVPPE`` lets its accumulator's carry-in do."""
        width = self.step_bound.bit_length() + 1
        addends, negs = [], []
        for (na, fa, ea), (nb, fb, eb) in zip(self._elements(self._a, a),
                                              self._elements(self._b, b)):
            product, neg = even_shift_product(m, fa, ea, fb, eb, signed(width)), Signal()
            m.d.comb += neg.eq(na ^ nb)
            addend = Signal(width)
            m.d.comb += addend.eq(product ^ neg.replicate(width))
            addends.append(addend)
            negs.append(neg)
        total = Signal(signed(width))
        # modulo 2^width, exact: |sum| <= step_bound < 2^(width - 1)
        m.d.comb += total.eq(addends[0] + addends[1] + negs[0] + negs[1])
        return total

    def elements(self, mode):
        return 2


def _group(pairs, skip_zero=True) -> list[tuple[tuple[int, ...], object]]:
    """``[(code, value), ...]`` -> ``[(codes, value), ...]``, one entry per distinct value
    (in first-seen order); zero values left out with ``skip_zero`` (0 is the default)."""
    groups: dict = {}
    for code, value in pairs:
        if value or not skip_zero:
            groups.setdefault(value, []).append(code)
    return [(tuple(codes), value) for value, codes in groups.items()]


def _select(code: Value, choices) -> Value:
    """The value whose code set holds ``code``, else 0 (the sets are disjoint), as an OR of
    ``Mux(code in codes, value, 0)``. Plain expressions rather than a ``Switch``: Icarus
    evaluates continuous assignments at time 0, but may leave the ``always @*`` block of a
    ``Switch`` fed straight from an input port (column 0 of the array) at X until the port
    changes."""
    out = Const(0, 1)
    for codes, value in choices:
        out = out | Mux(code.matches(*codes), value, 0)
    return out


class DIntArrayPE(PEType):
    """dINT weight (B) × signed INT activation (A), fixed point; see the module docstring.

    ``a_width = x_width``, ``b_width = w_bits``; one mode ``"int<x>x<dint name>"``
    (``int8xdint4``); the accumulator holds ``sum w * x * 2^frac_bits``.

    ``decode``: where a weight code becomes shifts. ``"pe"`` (the default): every PE
    selects its shifted copies of ``x`` from the ``w_bits - 1``-bit magnitude code itself;
    ``"shifts"``: one decoder per column turns the code into per-term enables and shift
    selects, which travel through the array instead of the code; ``"magnitude"``: one decoder
    per column gives ``|w| * 2^frac_bits`` and every PE multiplies. Measured on a 4x4
    output-stationary dINT4 x INT8 array, iCE40 UP5K, Yosys (LUT4s / FFs / carries):
    ``pe`` 1523 / 804 / 577, ``shifts`` 1498 / 828 / 589, ``magnitude`` 1882 / 816 / 589.
    ``shifts`` saves in the PEs about what its wider weight registers cost, so the PEs
    decode the code themselves. The sign is applied last, as ``~p + sign``.
    """

    name = "dint"

    def __init__(self, *, w_bits: int = 4, denormals=(0.5,), x_width: int = 8,
                 decode: str = "pe"):
        self._magnitudes = dint_magnitudes(w_bits, denormals)
        check_operand("a", x_width, True)
        if decode not in DINT_DECODES:
            raise ValueError(f"dINT decode must be one of {DINT_DECODES}, got {decode!r}")
        self._w_bits, self._x_width, self._decode = w_bits, x_width, decode
        self._edge = decode == "shifts"
        self.a_width, self.b_width = x_width, w_bits
        self.modes = (f"int{x_width}x{DIntSpec(w_bits, tuple(denormals)).name}",)
        # Per term, per magnitude code: the left shift of x it adds, or None.
        bits_of = [[i for i in range(c.bit_length()) if c >> i & 1]
                   for c in self.fixed_magnitudes]
        n_terms = max(1, max(len(b) for b in bits_of))
        self._terms = [[b[t] if t < len(b) else None for b in bits_of] for t in range(n_terms)]
        # Edge-decoded form: per term, an enable and an index into its distinct shifts.
        self._shifts = [sorted({s for s in term if s is not None}) or [0]
                        for term in self._terms]

    @property
    def decode(self) -> str:
        """Where a weight code is decoded: ``"pe"`` (in every PE), ``"shifts"`` or
        ``"magnitude"`` (once per column, on the edge)."""
        return self._decode

    @property
    def frac_bits(self) -> int:
        return frac_bits(self._magnitudes)

    @property
    def fixed_magnitudes(self) -> tuple[int, ...]:
        """``magnitude * 2^frac_bits`` per magnitude code."""
        return fixed_magnitudes(self._magnitudes)

    @property
    def step_bound(self) -> int:
        return max(self.fixed_magnitudes) << (self._x_width - 1)

    def _sel_width(self, t: int) -> int:
        return (len(self._shifts[t]) - 1).bit_length()

    @property
    def code_layout(self) -> data.StructLayout:
        """A weight code (the B lane at the array's input): magnitude code, then sign."""
        return data.StructLayout({"mag_code": self._w_bits - 1, "sign": 1})

    @property
    def b_layout(self) -> data.StructLayout:
        """The B lane inside the array: the code (``decode="pe"``); the sign and ``|w| *
        2^frac_bits`` (``"magnitude"``); the sign and, per term ``t``, its enable ``en<t>``
        and the index ``sel<t>`` of its shift (``"shifts"``)."""
        if self._decode == "magnitude":
            return data.StructLayout({"sign": 1,
                                      "mag": max(self.fixed_magnitudes).bit_length()})
        if not self._edge:
            return self.code_layout
        fields = {"sign": 1}
        for t in range(len(self._terms)):
            fields.update({f"en{t}": 1, f"sel{t}": self._sel_width(t)})
        return data.StructLayout(fields)

    @property
    def b_inner_width(self) -> int:
        return self.b_layout.size

    def decode_b(self, m, lane):
        code = data.View(self.code_layout, lane)
        mag_code, sign = code.mag_code, code.sign
        if self._decode == "magnitude":
            mag = Signal(max(self.fixed_magnitudes).bit_length(), name="dint_mag")
            m.d.comb += mag.eq(_select(mag_code, _group(enumerate(self.fixed_magnitudes))))
            return pack(self.b_layout, {"sign": sign, "mag": mag})
        if not self._edge:
            return lane
        fields = {"sign": sign}
        for t, shifts in enumerate(self._terms):
            en = Signal(name=f"dint_en{t}")
            sel = Signal(self._sel_width(t), name=f"dint_sel{t}")
            used = [(c, s) for c, s in enumerate(shifts) if s is not None]
            m.d.comb += [en.eq(mag_code.matches(*(c for c, _ in used))),
                         sel.eq(_select(mag_code, _group(
                             (c, self._shifts[t].index(s)) for c, s in used)))]
            fields.update({f"en{t}": en, f"sel{t}": sel})
        return pack(self.b_layout, fields)

    def step(self, m, a, b, mode):
        x = a.as_signed()
        width = self._x_width + max(self.fixed_magnitudes).bit_length()
        magnitude = Signal(signed(width), name="dint_mag_x")  # |w| * 2^frac_bits * x
        b = data.View(self.b_layout, b)
        sign = b.sign
        if self._decode == "magnitude":
            m.d.comb += magnitude.eq(x * b.mag)
        else:
            terms = []
            for t, shifts in enumerate(self._terms):
                term = Signal(signed(width), name=f"dint_term{t}")
                if self._edge:
                    en, sel = b[f"en{t}"], b[f"sel{t}"]
                    picked = _select(sel, [((i,), x << s) for i, s in enumerate(self._shifts[t])])
                    m.d.comb += term.eq(Mux(en, picked, 0))
                else:
                    groups = _group(((c, s) for c, s in enumerate(shifts) if s is not None),
                                    skip_zero=False)
                    m.d.comb += term.eq(_select(b.mag_code, [(codes, x << s)
                                                           for codes, s in groups]))
                terms.append(term)
            m.d.comb += magnitude.eq(sum(terms))
        # The weight's sign: -p = ~p + 1, the 1 as a lone bit that Yosys folds into the
        # array's accumulator adder (~1520 instead of ~1800 iCE40 LUT4s for a 4x4 dINT4 x INT8
        # array, where Mux(sign, -p, p) builds a negator per PE).
        total = Signal(signed(self.step_bound.bit_length() + 1), name="dint_step")
        inverted = Signal(len(total), name="dint_inv")
        m.d.comb += [inverted.eq(magnitude ^ sign.replicate(len(total))),
                     total.eq(inverted.as_signed() + sign)]
        return total
