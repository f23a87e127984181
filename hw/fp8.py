"""8-bit float (OCP FP8 E4M3 / E5M2, any ``FloatSpec``) weights times 8-bit float
activations, exact products into a fixed-point (Kulisch-style) accumulator."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.minifloat import FloatSpec, parse_float
from quantrtl.hw.mac import (
    MAX_ACC_WIDTH,
    MACFacts,
    check_accumulator,
    delay,
    register_and_accumulate,
    unused_if_invalid,
)

__all__ = ["FP8MAC", "decode_float", "frac_bits", "magnitude_width", "product_width",
           "acc_width_for", "DEFAULT_TERMS"]

DEFAULT_TERMS = 1 << 12  # products of the largest magnitude the default accumulator holds


def _fmt(fmt) -> FloatSpec:
    """A ``FloatSpec`` or a name ``parse_float`` knows (``ValueError`` otherwise)."""
    if isinstance(fmt, FloatSpec):
        return fmt
    if not isinstance(fmt, str):
        raise ValueError(f"a float format is a FloatSpec or a name like 'e4m3', got {fmt!r}")
    return parse_float(fmt)


def frac_bits(fmt) -> int:
    """Fractional bits that make every finite value of ``fmt`` an integer: ``bias - 1 +
    man_bits`` (the smallest subnormal is 1)."""
    fmt = _fmt(fmt)
    return fmt.bias - 1 + fmt.man_bits


def _max_shift(fmt: FloatSpec) -> int:
    """Left shift of the significand of the largest finite exponent field: ``e - 1``."""
    return fmt.max_exp_field - 1


def magnitude_width(fmt) -> int:
    """Unsigned bits of ``|value| * 2^frac_bits`` over the finite codes: ``man_bits + 1``
    significand bits shifted left by up to ``max_exp_field - 1``."""
    fmt = _fmt(fmt)
    return fmt.man_bits + 1 + _max_shift(fmt)


def product_width(w_fmt, x_fmt) -> int:
    """Signed bits of one exact fixed-point product (``magnitude_width`` of both plus a
    sign): 37 for E4M3 x E4M3, 51 for E5M2 x E4M3, 65 for E5M2 x E5M2."""
    return magnitude_width(w_fmt) + magnitude_width(x_fmt) + 1


def acc_width_for(w_fmt, x_fmt, terms: int = DEFAULT_TERMS) -> int:
    """Signed accumulator bits that hold ``terms`` products of the largest magnitude (of
    either sign) without overflow: ``product_width + ceil(log2(terms))``."""
    if isinstance(terms, bool) or not isinstance(terms, int) or terms < 1:
        raise ValueError(f"the reduction length must be a positive int, got {terms!r}")
    return product_width(w_fmt, x_fmt) + (terms - 1).bit_length()


def decode_float(m: Module, fmt: FloatSpec, code, name: str):
    """``(sign, significand, shift, non_finite)`` of the ``fmt`` code ``code``: its
    fixed-point magnitude (units of ``2^-frac_bits(fmt)``) is ``significand << shift``,
    ``shift = max(exp, 1) - 1``, and a NaN or infinity code has significand 0.
    ``non_finite`` is 1 for such a code (exponent all ones for ``ieee``, ``S.1..1.1..1``
    for ``fn``), or None for a format without one. Adds ``<name>_sig``/``<name>_shift``
    to ``m``'s comb domain."""
    fields = data.View(data.StructLayout({"man": fmt.man_bits, "exp": fmt.exp_bits,
                                          "sign": 1}), code)
    sig = Signal(fmt.man_bits + 1, name=f"{name}_sig")
    shift = Signal(range(max(2, 1 << fmt.exp_bits)), name=f"{name}_shift")
    normal = fields.exp != 0
    top = (1 << fmt.exp_bits) - 1
    bad = None
    if fmt.special == "ieee":
        bad = fields.exp == top
    elif fmt.special == "fn":
        bad = (fields.exp == top) & (fields.man == (1 << fmt.man_bits) - 1)
    significand = fields.man | (normal << fmt.man_bits)
    m.d.comb += [sig.eq(significand if bad is None else Mux(bad, 0, significand)),
                 shift.eq(Mux(normal, fields.exp - 1, 0))]
    return fields.sign, sig, shift, bad


class FP8MAC(MACFacts, wiring.Component):
    """Minifloat weight × minifloat activation MAC with an exact fixed-point accumulator.

    Parameters: ``w_fmt``, ``x_fmt`` (``quantrtl.formats.minifloat.FloatSpec`` or a name,
    e.g. ``"e4m3"``, ``"e5m2"``), ``acc_width`` (default: ``acc_width_for(w_fmt, x_fmt)``,
    room for ``2^12`` products of the largest magnitude, at most 62), ``pipeline`` 0..4,
    ``overflow`` ``"wrap"`` or ``"saturate"``. Bad parameters raise ``ValueError``: an
    unknown format, an accumulator narrower than one product or wider than 62 bits (so
    E5M2 x E5M2, whose exact product needs 65 bits, is refused), a bad pipeline depth or
    overflow mode.

    Ports (``sync`` domain):

    * ``w``: ``w_fmt.bits``-bit code ``s|e..e|m..m``; ``x`` likewise in ``x_fmt``. A code
      with ``e = 0`` is subnormal, ``(-1)^s * m * 2^(1 - bias - M)``, else ``(-1)^s * (2^M
      + m) * 2^(e - bias - M)``.
    * ``valid``, ``clear``: as ``hw.mac.IntMAC``: per accepted cycle ``acc <= (clear ? 0 :
      acc) + w * x`` when ``valid``, ``acc <= 0`` when only ``clear``.
    * ``acc``: ``acc_width`` bits, signed two's complement, fixed point with ``frac_w +
      frac_x`` fractional bits (``frac_bits(fmt) = bias - 1 + M``: 9 for E4M3, 16 for
      E5M2; so units of ``2^-18`` for E4M3 x E4M3): it holds ``sum(w * x) * 2^(frac_w +
      frac_x)`` exactly, modulo ``2^acc_width`` (``wrap``) or clamped to its range
      (``saturate``). Every product is exact: no rounding anywhere.

    Non-finite codes (E5M2: exponent all ones, infinities and NaNs; E4M3 fn: ``S.1111.111``,
    NaN) contribute a zero product: they are not propagated, there is no NaN or infinity
    flag. The golden model refuses them; the benches never drive them; the proof's reference
    states this choice for them explicitly.

    Datapath: each operand decodes to its sign, significand ``{e != 0, m}`` (``M + 1``
    bits, zero for a non-finite code) and shift ``max(e, 1) - 1`` (so the fixed-point
    operand is ``significand << shift``); the unsigned ``(Mw + 1) x (Mx + 1)``-bit
    significand product is shifted left by the sum of the shifts into a
    ``product_width - 1``-bit magnitude (36 bits for E4M3 x E4M3); the sign ``s_w ^ s_x``
    is applied in the accumulator's adder (``~p`` plus a carry-in, see
    ``hw.mac.register_and_accumulate``).

    Latency ``pipeline + 1``: ``pipeline - 1`` stages register the operands, the last
    registers the magnitude, its sign and the control. One operation per cycle.
    Synchronous reset clears everything.
    """

    @unused_if_invalid
    def __init__(self, *, w_fmt="e4m3", x_fmt="e4m3", acc_width=None, pipeline=0,
                 overflow="wrap"):
        self._w_fmt, self._x_fmt = _fmt(w_fmt), _fmt(x_fmt)
        need = self.product_width
        if need > MAX_ACC_WIDTH:
            raise ValueError(f"an exact {self._w_fmt.name} x {self._x_fmt.name} product "
                             f"needs {need} signed bits, more than the {MAX_ACC_WIDTH}-bit "
                             f"accumulator limit")
        if acc_width is None:
            acc_width = min(acc_width_for(self._w_fmt, self._x_fmt), MAX_ACC_WIDTH)
        check_accumulator(acc_width, need, pipeline, overflow)
        self._acc_width, self._pipeline, self._overflow = acc_width, pipeline, overflow
        super().__init__({
            "w": In(self._w_fmt.bits),
            "x": In(self._x_fmt.bits),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(signed(acc_width)),
        })

    @property
    def w_fmt(self) -> FloatSpec:
        return self._w_fmt

    @property
    def x_fmt(self) -> FloatSpec:
        return self._x_fmt

    @property
    def acc_width(self) -> int:
        return self._acc_width

    @property
    def frac_bits(self) -> int:
        """Fractional bits of ``acc``: ``frac_bits(w_fmt) + frac_bits(x_fmt)``."""
        return frac_bits(self._w_fmt) + frac_bits(self._x_fmt)

    @property
    def product_width(self) -> int:
        """Signed bits of one exact fixed-point product."""
        return product_width(self._w_fmt, self._x_fmt)

    @property
    def safe_terms(self) -> int:
        """Products of the largest finite magnitude (either sign) that ``acc`` holds from
        zero without overflow (a reduction this long never wraps or saturates)."""
        largest = (int(self._w_fmt.max_normal * (1 << frac_bits(self._w_fmt))) *
                   int(self._x_fmt.max_normal * (1 << frac_bits(self._x_fmt))))
        return (1 << (self._acc_width - 1)) // largest

    @property
    def latency(self) -> int:
        return self._pipeline + 1

    @property
    def derived_widths(self) -> dict:
        """``MACFacts``'s widths and the fixed point of ``acc``, in bits."""
        return {**super().derived_widths,
                "fractional bits of acc (frac_w + frac_x)": self.frac_bits}

    def elaborate(self, platform):
        m = Module()
        w, x, valid, clear = delay(m, [self.w, self.x, self.valid, self.clear],
                                   self._pipeline - 1, "s")
        w_sign, w_sig, w_shift, _ = decode_float(m, self._w_fmt, w, "w")
        x_sign, x_sig, x_shift, _ = decode_float(m, self._x_fmt, x, "x")
        sig_product = Signal(unsigned(len(w_sig) + len(x_sig)))
        shift = Signal(range((1 << self._w_fmt.exp_bits) + (1 << self._x_fmt.exp_bits) - 1))
        magnitude = Signal(unsigned(self.product_width - 1))
        negate = Signal()
        m.d.comb += [sig_product.eq(w_sig * x_sig),
                     shift.eq(w_shift + x_shift),
                     magnitude.eq(sig_product << shift),
                     negate.eq(w_sign ^ x_sign)]
        register_and_accumulate(m, self.acc, magnitude, valid, clear, self._pipeline,
                                self._overflow, negate=negate)
        return m
