"""OliVe outlier–victim pair (OVP) hardware: decoders to ``<exponent, integer>`` lanes
(two's complement or sign–magnitude), an exponent–integer MAC, and processing elements
that take OVP-coded operands.

The format follows ``docs/formats.md`` (section OVP); this module builds its logic
from the format's parameters alone, never from ``golden/``:

* a code equal to the identifier ``10..0`` is a victim and decodes to ``<0, 0>``;
* a code whose neighbour is the identifier is an abfloat outlier ``s|e..e|m..m`` and
  decodes to ``<e + bias, ±(2^M + m)>``;
* otherwise the code is a normal: int normals decode to ``<0, v>`` (two's complement),
  flint4 normals (sign–magnitude) to the odd-part form ``<k, odd>`` with ``odd << k`` the
  magnitude from the flint table.

A pair whose both codes are identifiers (never produced by the encoder) decodes to two
victims, ``<0, 0>`` and ``<0, 0>``.

``OVPElementDecoder`` gives two's complement lanes, as the spec writes them (the
``ovp-decoder`` design, ``OVPPE`` with ``split``); ``OVPMagnitudeDecoder`` gives the same
values as sign–magnitude lanes with even shifts, the cheaper datapath of ``OVPPE`` and of
the arrays' OVP cells (``hw.pe_formats.OVPArrayPE``).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.ovp import NIBBLE_ORDERS, OVPSpec
from quantrtl.hw.mac import (
    MACFacts,
    check_accumulator,
    check_operand,
    delay,
    register_and_accumulate,
    unused_if_invalid,
)

__all__ = ["OVPParams", "OVPElementDecoder", "OVPMagnitudeDecoder", "OVPPairDecoder",
           "ExpIntMAC", "OVPPE", "split_multiply", "magnitude_lane_widths",
           "even_shift_product", "LANE_KINDS"]

# flint4 magnitude field mmm -> (exponent, odd integer), from the flint4 table of the spec:
# 000:0 001:1 010:2 011:3 100:16 101:8 110:4 111:6
FLINT4_EXP_INT = {0: (0, 0), 1: (0, 1), 2: (1, 1), 3: (0, 3), 4: (4, 1), 5: (3, 1),
                  6: (2, 1), 7: (1, 3)}


@dataclass(frozen=True)
class OVPParams(OVPSpec):
    """An OVP format as hardware parameters: the descriptor ``quantrtl.formats.OVPSpec``
    (``bits`` per code, the normal type, the abfloat outlier's ``exp_bits`` E, ``man_bits``
    M and ``bias``) with the widths of the ``<exponent, integer>`` lanes."""

    @property
    def max_exp(self) -> int:
        normal = max(e for e, _ in FLINT4_EXP_INT.values()) if self.normal == "flint" else 0
        return max(normal, (1 << self.exp_bits) - 1 + self.bias)

    @property
    def exp_width(self) -> int:
        return max(1, self.max_exp.bit_length())

    @property
    def int_width(self) -> int:
        """Signed bits of the integer lane."""
        normal = 3 if self.normal == "flint" else self.bits  # flint odd parts: 0, 1, 3
        outlier = self.man_bits + 2  # ±(2^M + m) < 2^(M+1)
        return max(normal, outlier)


def _code_fields(fmt: OVPParams, code) -> data.View:
    """``code`` read as an abfloat outlier ``s|e..e|m..m``: fields ``man``, ``exp`` and
    ``sign`` (the code's top bit, also a normal's sign), LSB first."""
    return data.View(data.StructLayout({"man": fmt.man_bits, "exp": fmt.exp_bits,
                                        "sign": 1}), code)


def _classify(m: Module, fmt: OVPParams, code, neighbour):
    """``victim`` (the code is the identifier; also both-identifier pairs) and ``outlier``
    (its neighbour is the identifier), 1 bit each."""
    victim, outlier = Signal(), Signal()
    m.d.comb += [victim.eq(code == fmt.identifier),
                 outlier.eq(~victim & (neighbour == fmt.identifier))]
    return victim, outlier


def _flint_fields(field, fold: bool = False):
    """A flint4 magnitude field (3 bits) to its table ``(exp, odd)`` as Mux chains; with
    ``fold``, to ``OVPMagnitudeDecoder``'s ``(exp // 2, odd << (exp % 2))``."""
    exp_of, int_of = (Const(0, 2), Const(0, 3)) if fold else (Const(0, 3), Const(0, 2))
    for f, (exp, odd) in FLINT4_EXP_INT.items():  # field 0: <0, 0>
        if f:
            if fold:
                exp, odd = exp // 2, odd << (exp % 2)
            exp_of = Mux(field == f, exp, exp_of)
            int_of = Mux(field == f, odd, int_of)
    return exp_of, int_of


class OVPElementDecoder(wiring.Component):
    """One OVP code, given its pair neighbour, to ``<exp, int>`` (combinational).

    Ports: ``code``, ``neighbour``: ``bits`` each; ``exp``: unsigned ``exp_width``;
    ``sig``: signed ``int_width`` (the integer). Value = ``sig << exp``.
    """

    @unused_if_invalid
    def __init__(self, fmt: OVPParams):
        self._fmt = fmt
        super().__init__({
            "code": In(fmt.bits), "neighbour": In(fmt.bits),
            "exp": Out(fmt.exp_width), "sig": Out(signed(fmt.int_width)),
        })

    def elaborate(self, platform):
        # Plain Mux expressions, no If/Switch: Verilog continuous assignments, which Icarus
        # evaluates at time 0 (an always @* block only runs once an input changes).
        m = Module()
        fmt, code = self._fmt, self.code
        fields = _code_fields(fmt, code)
        sign = fields.sign
        victim, outlier = _classify(m, fmt, code, self.neighbour)
        magnitude = Signal(fmt.man_bits + 1)
        m.d.comb += magnitude.eq((1 << fmt.man_bits) | fields.man)
        out_exp = fields.exp + fmt.bias
        out_sig = Mux(sign, -magnitude, magnitude)
        if fmt.normal == "int":
            norm_exp, norm_sig = 0, code.as_signed()
        else:  # flint4 normal, sign-magnitude: the field's (exp, odd) from the table
            norm_exp, odd = Signal(3), Signal(2)
            m.d.comb += [Cat(norm_exp, odd).eq(Cat(*_flint_fields(code[:3])))]
            norm_sig = Mux(sign, -odd, odd)
        m.d.comb += [
            self.exp.eq(Mux(victim, 0, Mux(outlier, out_exp, norm_exp))),
            self.sig.eq(Mux(victim, 0, Mux(outlier, out_sig, norm_sig))),
        ]
        return m


def magnitude_lane_widths(fmt: OVPParams) -> tuple[int, int]:
    """``(mag_width, exp2_width)`` of ``OVPMagnitudeDecoder``'s lanes: the largest folded
    magnitude (a normal's, or an outlier mantissa ``2^M + m`` shifted left once) and the
    largest ``exp // 2``."""
    normal = 3 if fmt.normal == "flint" else fmt.bits - 1
    return max(normal, fmt.man_bits + 2), max(1, (fmt.max_exp // 2).bit_length())


class OVPMagnitudeDecoder(wiring.Component):
    """One OVP code, given its pair neighbour, to a sign–magnitude pair with an even shift
    (combinational): value = ``(-1)^neg * (mag << 2 * exp2)``.

    Ports: ``code``, ``neighbour``: ``bits`` each; ``neg``: 1 bit, set when the value is
    negative (a victim's is 0); ``mag``: unsigned ``mag_width`` bits; ``exp2``: unsigned,
    up to ``max_exp // 2`` (widths: ``magnitude_lane_widths``). It is ``<exp, |int|>`` of
    the spec with an odd ``exp`` folded into the integer: ``<e, i>`` becomes ``<e // 2,
    |i| << (e % 2)>``. A product of two
    such lanes then shifts by even amounts only, which saves a shifter stage. Abfloat and
    flint codes are sign–magnitude already; int normals need ``|v|`` (never
    ``-2^(bits-1)``, which is the identifier).
    """

    @unused_if_invalid
    def __init__(self, fmt: OVPParams):
        self._fmt = fmt
        mag_width, exp2_width = magnitude_lane_widths(fmt)
        super().__init__({
            "code": In(fmt.bits), "neighbour": In(fmt.bits),
            "neg": Out(1), "mag": Out(mag_width), "exp2": Out(exp2_width),
        })

    @property
    def mag_width(self) -> int:
        return magnitude_lane_widths(self._fmt)[0]

    def elaborate(self, platform):
        m = Module()
        fmt, code = self._fmt, self.code
        fields = _code_fields(fmt, code)
        victim, outlier = _classify(m, fmt, code, self.neighbour)
        mantissa = Const(1 << fmt.man_bits, fmt.man_bits + 1) | fields.man
        out_exp = Signal(fmt.exp_width)
        m.d.comb += out_exp.eq(fields.exp + fmt.bias)
        out_mag = Mux(out_exp[0], mantissa << 1, mantissa)
        if fmt.normal == "int":
            low = code[:fmt.bits - 1]
            norm_exp2, norm_mag = 0, Mux(fields.sign, -low, low)[:fmt.bits - 1]
        else:  # the flint table, folded: <k, odd> -> <k // 2, odd << (k % 2)>
            norm_exp2, norm_mag = _flint_fields(code[:3], fold=True)
        m.d.comb += [
            self.neg.eq(fields.sign & ~victim),
            # A victim (the identifier) decodes as a normal to 0: int -0, flint field 000.
            self.exp2.eq(Mux(outlier, out_exp[1:], norm_exp2)),
            self.mag.eq(Mux(outlier, out_mag, norm_mag)),
        ]
        return m


LANE_KINDS = ("exp-int", "sign-magnitude")


class OVPPairDecoder(wiring.Component):
    """A packed OVP pair to two lanes (combinational).

    ``pair`` is ``2 * bits`` wide; with ``nibble_order="low-first"`` element 2k is in the
    low half, with ``"high-first"`` in the high half. Lane 0 is element 2k. With
    ``lanes="exp-int"`` each lane is ``<exp, int>`` (``OVPElementDecoder``: ``exp0``,
    ``int0``, ``exp1``, ``int1``); with ``"sign-magnitude"`` it is ``OVPMagnitudeDecoder``'s
    ``neg0``, ``mag0``, ``exp2_0``, ``neg1``, ``mag1``, ``exp2_1``.
    """

    @unused_if_invalid
    def __init__(self, fmt: OVPParams, nibble_order: str = "low-first",
                 lanes: str = "exp-int"):
        if nibble_order not in NIBBLE_ORDERS:
            raise ValueError(f"nibble order must be one of {NIBBLE_ORDERS}, got "
                             f"{nibble_order!r}")
        if lanes not in LANE_KINDS:
            raise ValueError(f"lanes must be one of {LANE_KINDS}, got {lanes!r}")
        self._fmt, self._order, self._lanes = fmt, nibble_order, lanes
        ports = {"pair": In(2 * fmt.bits)}
        for k in (0, 1):
            if lanes == "exp-int":
                ports.update({f"exp{k}": Out(fmt.exp_width),
                              f"int{k}": Out(signed(fmt.int_width))})
            else:
                mag_width, exp2_width = magnitude_lane_widths(fmt)
                ports.update({f"neg{k}": Out(1), f"mag{k}": Out(mag_width),
                              f"exp2_{k}": Out(exp2_width)})
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        codes = data.View(data.ArrayLayout(self._fmt.bits, 2), self.pair)  # low half first
        low, high = codes[0], codes[1]
        first, second = (low, high) if self._order == "low-first" else (high, low)
        for lane, (code, neighbour) in enumerate([(first, second), (second, first)]):
            if self._lanes == "exp-int":
                dec = OVPElementDecoder(self._fmt)
                outs = {f"exp{lane}": dec.exp, f"int{lane}": dec.sig}
            else:
                dec = OVPMagnitudeDecoder(self._fmt)
                outs = {f"neg{lane}": dec.neg, f"mag{lane}": dec.mag, f"exp2_{lane}": dec.exp2}
            m.submodules[f"lane{lane}"] = dec
            m.d.comb += [dec.code.eq(code), dec.neighbour.eq(neighbour)]
            m.d.comb += [getattr(self, name).eq(value) for name, value in outs.items()]
        return m


def _product_width(max_a: int, max_b: int) -> int:
    """Signed bits of a product of magnitudes up to ``max_a`` and ``max_b``."""
    return (max_a * max_b).bit_length() + 1


def split_multiply(m: Module, x, y) -> Signal:
    """Signed 8 x 8 product from four 4 x 4 multipliers (spec, section OVP):
    ``x*y = (xh*yh << 8) + (xh*yl << 4) + (xl*yh << 4) + xl*yl``, ``xh`` the signed high
    nibble, ``xl`` the unsigned low nibble. Narrower operands are sign-extended to 8 bits."""
    x8, y8 = Signal(signed(8)), Signal(signed(8))
    m.d.comb += [x8.eq(x), y8.eq(y)]
    xh, xl, yh, yl = x8[4:].as_signed(), x8[:4], y8[4:].as_signed(), y8[:4]
    prod = Signal(signed(16))
    m.d.comb += prod.eq((xh * yh << 8) + (xh * yl << 4) + (xl * yh << 4) + xl * yl)
    return prod


def _exp_int_product(m: Module, ia, ea, ib, eb, width: int, split: bool = False) -> Signal:
    """``(ia * ib) << (ea + eb)`` as a signed ``width``-bit signal; with ``split`` the
    integer product comes from four 4-bit multipliers (``split_multiply``)."""
    prod = Signal(signed(width))
    integer = split_multiply(m, ia, ib) if split else ia * ib
    m.d.comb += prod.eq(integer << (ea + eb))
    return prod


def even_shift_product(m: Module, fa, exp2_a, fb, exp2_b, shape) -> Signal:
    """``(fa * fb) << 2 * (exp2_a + exp2_b)`` as a ``shape`` signal: the product of two
    ``OVPMagnitudeDecoder`` lanes (their magnitudes, or a signed INT factor with
    ``exp2 = 0``), before its sign."""
    product = Signal(shape)
    m.d.comb += product.eq((fa * fb) << Cat(Const(0, 1), exp2_a + exp2_b))
    return product


class ExpIntMAC(wiring.Component):
    """Exponent–integer MAC: ``acc <= (clear ? 0 : acc) + ((a_int * b_int) << (a_exp +
    b_exp))`` when ``valid``.

    Ports: ``a_int`` signed ``a_int_width``, ``a_exp`` unsigned (values up to ``a_max_exp``),
    likewise ``b_*``; ``valid``, ``clear``; ``acc`` signed ``acc_width``, wrapping or
    saturating. Latency ``pipeline + 1`` (stage 1 registers the shifted product). With
    ``split`` (integers of 5..8 bits) the integer multiply is four 4-bit multipliers
    (``split_multiply``). ``max_product``: the largest product magnitude the lanes carry
    (default: ``2^(a_int_width-1+a_max_exp) * 2^(b_int_width-1+b_max_exp)``); it sets the
    product register's width and the accumulator's minimum.
    """

    @unused_if_invalid
    def __init__(self, *, a_int_width, a_max_exp, b_int_width, b_max_exp, acc_width=24,
                 pipeline=0, overflow="wrap", split=False, max_product=None):
        for name, value in (("a_int_width", a_int_width), ("b_int_width", b_int_width)):
            if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 9:
                raise ValueError(f"{name} must be 2..9, got {value!r}")
        for name, value in (("a_max_exp", a_max_exp), ("b_max_exp", b_max_exp)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 31:
                raise ValueError(f"{name} must be 0..31, got {value!r}")
        if not isinstance(split, bool):
            raise ValueError(f"split must be a bool, got {split!r}")
        if split and not 4 < max(a_int_width, b_int_width) <= 8:
            raise ValueError("split multipliers need integer lanes of 5..8 bits")
        widest = (1 << (a_int_width - 1 + a_max_exp)) * (1 << (b_int_width - 1 + b_max_exp))
        if max_product is None:
            max_product = widest
        if isinstance(max_product, bool) or not isinstance(max_product, int) \
                or not 1 <= max_product <= widest:
            raise ValueError(f"max_product must be 1..{widest}, got {max_product!r}")
        self._a = (a_int_width, a_max_exp)
        self._b = (b_int_width, b_max_exp)
        self._max_product, self._split = max_product, split
        check_accumulator(acc_width, self.product_width, pipeline, overflow)
        self._acc_width, self._pipeline, self._overflow = acc_width, pipeline, overflow
        super().__init__({
            "a_int": In(signed(a_int_width)), "a_exp": In(max(1, a_max_exp.bit_length())),
            "b_int": In(signed(b_int_width)), "b_exp": In(max(1, b_max_exp.bit_length())),
            "valid": In(1), "clear": In(1), "acc": Out(signed(acc_width)),
        })

    @property
    def product_width(self) -> int:
        """Signed bits of the largest product."""
        return _product_width(self._max_product, 1)

    @property
    def latency(self) -> int:
        return self._pipeline + 1

    def elaborate(self, platform):
        m = Module()
        ia, ea, ib, eb, valid, clear = delay(
            m, [self.a_int, self.a_exp, self.b_int, self.b_exp, self.valid, self.clear],
            self._pipeline - 1, "s")
        prod = _exp_int_product(m, ia, ea, ib, eb, self.product_width, self._split)
        register_and_accumulate(m, self.acc, prod, valid, clear, self._pipeline,
                                self._overflow)
        return m


class OVPPE(MACFacts, wiring.Component):
    """Processing element with OVP-coded weights: one element per cycle.

    Ports: ``w``, ``w_nb``: the weight's code and its pair neighbour's code; activations
    either OVP-coded (``a``, ``a_nb``, format ``act``) or, with ``act=None``, a signed
    ``x_width``-bit integer ``x`` (W4A8: OVP4 × INT8); ``valid``, ``clear``; ``acc`` signed
    ``acc_width``. Each cycle adds ``decode(w) * decode(a)`` (see the module docstring) to
    the accumulator. Latency ``pipeline + 1``.

    Datapath: sign–magnitude lanes (``OVPMagnitudeDecoder``), the weight's magnitude times
    the activation's magnitude (or times the signed INT activation), a left shift by an
    even amount, and the remaining sign applied by the accumulator (``~p`` plus carry-in).
    With ``split`` (integer lanes of 5..8 bits) the lanes are two's complement ``<exp, int>``
    (``OVPElementDecoder``) feeding an ``ExpIntMAC`` whose signed integer multiply is four
    4-bit multipliers (``split_multiply``), as a mixed 4/8-bit array would; its pipeline
    registers hold the decoded lanes.
    """

    @unused_if_invalid
    def __init__(self, weight: OVPParams, act: OVPParams | None = None, *, x_width=8,
                 acc_width=24, pipeline=0, overflow="wrap", split=False):
        if not isinstance(split, bool):
            raise ValueError(f"split must be a bool, got {split!r}")
        b_int = x_width if act is None else act.int_width
        if split and not 4 < max(weight.int_width, b_int) <= 8:
            raise ValueError("split multipliers need integer lanes of 5..8 bits (OVP8 or an "
                             "INT activation of 5..8 bits)")
        self._w, self._act, self._split = weight, act, split
        if act is None:
            check_operand("x", x_width, True)
            self._b_max = 1 << (x_width - 1)
        else:
            self._b_max = act.max_magnitude
        check_accumulator(acc_width, self.product_width, pipeline, overflow)
        self._acc_width, self._pipeline, self._overflow = acc_width, pipeline, overflow
        ports = {"w": In(weight.bits), "w_nb": In(weight.bits)}
        if act is None:
            ports["x"] = In(signed(x_width))
        else:
            ports.update({"a": In(act.bits), "a_nb": In(act.bits)})
        ports.update({"valid": In(1), "clear": In(1), "acc": Out(signed(acc_width))})
        super().__init__(ports)

    @property
    def product_width(self) -> int:
        return _product_width(self._w.max_magnitude, self._b_max)


    @property
    def latency(self) -> int:
        return self._pipeline + 1

    def elaborate(self, platform):
        m = Module()
        if self._split:
            self._split_datapath(m)
            return m
        operands = [self.w, self.w_nb] + ([self.x] if self._act is None
                                          else [self.a, self.a_nb])
        *operands, valid, clear = delay(m, operands + [self.valid, self.clear],
                                        self._pipeline - 1, "s")
        prod, negate = self._magnitude_product(m, operands)
        register_and_accumulate(m, self.acc, prod, valid, clear, self._pipeline,
                                self._overflow, negate)
        return m

    def _split_datapath(self, m):
        """Two's complement lanes (``OVPElementDecoder``) into an ``ExpIntMAC`` whose
        integer multiply is four 4-bit multipliers."""
        w_dec = m.submodules.w_dec = OVPElementDecoder(self._w)
        m.d.comb += [w_dec.code.eq(self.w), w_dec.neighbour.eq(self.w_nb)]
        if self._act is None:
            b_int, b_exp, b_width, b_max_exp = self.x, Const(0, 1), len(self.x), 0
        else:
            a_dec = m.submodules.a_dec = OVPElementDecoder(self._act)
            m.d.comb += [a_dec.code.eq(self.a), a_dec.neighbour.eq(self.a_nb)]
            b_int, b_exp = a_dec.sig, a_dec.exp
            b_width, b_max_exp = self._act.int_width, self._act.max_exp
        mac = m.submodules.mac = ExpIntMAC(
            a_int_width=self._w.int_width, a_max_exp=self._w.max_exp, b_int_width=b_width,
            b_max_exp=b_max_exp, acc_width=self._acc_width, pipeline=self._pipeline,
            overflow=self._overflow, split=True,
            max_product=self._w.max_magnitude * self._b_max)
        m.d.comb += [mac.a_int.eq(w_dec.sig), mac.a_exp.eq(w_dec.exp), mac.b_int.eq(b_int),
                     mac.b_exp.eq(b_exp), mac.valid.eq(self.valid), mac.clear.eq(self.clear),
                     self.acc.eq(mac.acc)]

    def _magnitude_product(self, m, operands):
        """Sign–magnitude lanes (``OVPMagnitudeDecoder``): ``(mag_w * b) << 2 * (exp2_w +
        exp2_b)`` and the sign ``neg_w ^ neg_b``, which the accumulator applies. ``b`` is
        the activation's magnitude, or the signed INT activation itself. Against two's
        complement lanes: 129 -> 101 iCE40 LUT4s for OVP4 x OVP4 (16-bit accumulator),
        167 -> 135 for OVP4 x INT8 (24-bit)."""
        m.submodules.w_dec = w_dec = OVPMagnitudeDecoder(self._w)
        m.d.comb += [w_dec.code.eq(operands[0]), w_dec.neighbour.eq(operands[1])]
        if self._act is None:
            b_neg, b, b_exp2 = Const(0, 1), operands[2], Const(0, 1)
            shape = signed(self.product_width)
        else:
            m.submodules.a_dec = a_dec = OVPMagnitudeDecoder(self._act)
            m.d.comb += [a_dec.code.eq(operands[2]), a_dec.neighbour.eq(operands[3])]
            b_neg, b, b_exp2 = a_dec.neg, a_dec.mag, a_dec.exp2
            shape = unsigned(self.product_width - 1)
        product = even_shift_product(m, w_dec.mag, w_dec.exp2, b, b_exp2, shape)
        negate = Signal()
        m.d.comb += negate.eq(w_dec.neg ^ b_neg)
        return product, negate
