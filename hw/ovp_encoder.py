"""OliVe outlier–victim pair (OVP) encoder: two fixed-point values to one OVP pair code.

The encoder quantizes activations on their way out of an array. It follows
``docs/formats.md`` (section OVP, "Quantizer") and the choices ``golden/ovp.py``
documents, built from the format's parameters (``hw.ovp.OVPParams``) alone, never from
``golden/``:

* each element rounds to the nearest value of the combined grid (normals ∪ ± outlier
  magnitudes), ties to the numerically LARGER value, saturating beyond the largest outlier;
* an element is an outlier exactly when that rounded value is not a normal value (int4:
  ``x >= 9.5`` or ``x < -9.5``); otherwise it is the nearest normal;
* one outlier in a pair makes its neighbour the victim (the identifier ``10..0``); with two
  outliers the first (even) element is kept and the second is the victim.

How the logic is built. The grid is symmetric, so each element is worked in sign–magnitude:
``A = |X|`` and the tie direction ``d = 1`` for ``X >= 0`` (a tie rounds the magnitude up)
and ``0`` for ``X < 0`` (a tie rounds the magnitude down, i.e. to the larger value). With
``B = 2A + d`` every rounding decision "past grid value ``g`` towards ``g'``" is the constant
compare ``B > (g + g') * 2^frac_bits``. ``B`` is never built: ``E = B - 1 = 2A - [X < 0]``
is ``X``'s sign bit below its other bits, inverted when ``X < 0`` (no negation, no carry
chain), and ``B > T`` is ``E >= T``. So, all in parallel from ``E`` or ``X``:

* outlier: ``E >= (max_normal + O_min) * 2^f``, ``O_min`` the smallest outlier magnitude
  above the largest normal;
* int normal: ``(X + 2^(f-1)) >> f`` (round half up on the signed value), clamped to
  ``±max_normal`` by two compares of ``X``; flint4 normal: a priority chain of the seven
  midpoint compares of ``E`` gives the ``mmm`` field; magnitude 0 is the code 0 (never
  ``1000``);
* outlier: for every exponent ``k`` (``bias`` up to the largest the input reaches),
  ``(E + 2^(k+f)) >> (k+f+1)``, an ``(M+2)``-bit increment of ``E``'s bits from ``k + f``,
  is ``2^M + m`` rounded (or ``2^(M+1)``: next exponent, ``m = 0``); the leading one of
  ``A`` (``E >= 2^(M+k+f+1) - 1``) picks ``k``. Magnitudes below ``O_min`` (between the
  outlier threshold and ``O_min``) give ``O_min``'s code, which keeps ``e = m = 0`` out,
  and magnitudes above the largest outlier give the largest (saturation).

Formats whose outlier magnitudes below the largest normal are not all normal values
(e.g. flint4 normals with an E2M1 bias below 3, which would put the outlier 12 between the
normals 8 and 16) are refused with ``ValueError``: the outlier decision would no longer be
one threshold.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.ovp import NIBBLE_ORDERS
from quantrtl.hw.mac import unused_if_invalid
from quantrtl.hw.ovp import FLINT4_EXP_INT, OVPParams

__all__ = ["OVPPairEncoder", "MAX_IN_WIDTH", "MAX_FRAC_BITS"]

MAX_IN_WIDTH = 16
MAX_FRAC_BITS = 4


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flint_fields() -> dict[int, int]:
    """flint4 magnitude -> its ``mmm`` field (from the spec's table)."""
    return {exp_int[1] << exp_int[0]: field for field, exp_int in FLINT4_EXP_INT.items()}


class OVPPairEncoder(wiring.Component):
    """One pair of signed fixed-point values to one packed OVP pair (combinational,
    latency 0).

    Parameters: ``fmt`` (``OVPParams``: ovp4, ovp4-flint, ovp8 with any E/M/bias),
    ``in_width`` (2..16: bits of each signed two's-complement input), ``frac_bits``
    (0..4: the input ``X`` stands for ``X / 2^frac_bits`` in LSB units of the normal grid),
    ``nibble_order`` (``"low-first"`` or ``"high-first"``, as ``OVPPairDecoder``).
    Anything else raises ``ValueError``.

    Ports:

    * ``x``: ``2 * in_width`` bits, unsigned vector holding two signed values: element 2k in
      bits ``[0, in_width)``, element 2k+1 in ``[in_width, 2 * in_width)`` (whatever the
      nibble order, which applies to the output only);
    * ``pair``: ``2 * fmt.bits`` bits, the two codes packed like ``OVPPairDecoder.pair``:
      ``"low-first"`` puts element 2k's code in the low half, ``"high-first"`` in the high.
    """

    @unused_if_invalid
    def __init__(self, fmt: OVPParams, in_width: int = 6, frac_bits: int = 1,
                 nibble_order: str = "low-first"):
        if not isinstance(fmt, OVPParams):
            raise ValueError(f"fmt must be an OVPParams, got {fmt!r}")
        if not _is_int(in_width) or not 2 <= in_width <= MAX_IN_WIDTH:
            raise ValueError(f"in_width must be an int in 2..{MAX_IN_WIDTH}, got {in_width!r}")
        if not _is_int(frac_bits) or not 0 <= frac_bits <= MAX_FRAC_BITS:
            raise ValueError(f"frac_bits must be an int in 0..{MAX_FRAC_BITS}, got "
                             f"{frac_bits!r}")
        if nibble_order not in NIBBLE_ORDERS:
            raise ValueError(f"nibble order must be one of {NIBBLE_ORDERS}, got "
                             f"{nibble_order!r}")
        self._fmt, self._w, self._f, self._order = fmt, in_width, frac_bits, nibble_order
        normals = self.normal_magnitudes
        outliers = self.outlier_magnitudes
        stray = [o for o in outliers if o <= self.max_normal and o not in normals]
        if stray:
            raise ValueError(f"the encoder needs every outlier magnitude up to the largest "
                             f"normal ({self.max_normal}) to be a normal value; this format "
                             f"has the outlier(s) {stray}")
        if not any(o > self.max_normal for o in outliers):
            raise ValueError(f"this format has no outlier above the largest normal "
                             f"({self.max_normal})")
        super().__init__({"x": In(2 * in_width), "pair": Out(2 * fmt.bits)})

    # --- the format's grid, from the parameters ------------------------------------------

    @property
    def max_normal(self) -> int:
        return self._fmt.max_normal

    @property
    def normal_magnitudes(self) -> list[int]:
        if self._fmt.normal == "flint":
            return sorted(_flint_fields())
        return list(range(self.max_normal + 1))

    @property
    def outlier_magnitudes(self) -> list[int]:
        """Sorted distinct abfloat magnitudes, ``e = m = 0`` excluded."""
        f = self._fmt
        return sorted({((1 << f.man_bits) + m) << (e + f.bias)
                       for e in range(1 << f.exp_bits) for m in range(1 << f.man_bits)
                       if e or m})

    @property
    def min_outlier(self) -> int:
        """``O_min``: the smallest outlier magnitude above the largest normal."""
        return min(o for o in self.outlier_magnitudes if o > self.max_normal)

    @property
    def max_outlier(self) -> int:
        return self._fmt.max_outlier

    @property
    def latency(self) -> int:
        return 0

    # --- logic ---------------------------------------------------------------------------

    @staticmethod
    def _at_least(sig, sig_max: int, threshold: int):
        """``sig >= threshold`` for an unsigned ``sig`` of at most ``sig_max``; a constant
        where the answer is one."""
        if threshold > sig_max:
            return Const(0, 1)
        if threshold <= 0:
            return Const(1, 1)
        return sig >= threshold

    def _abfloat_fields(self, magnitude: int) -> int:
        """``e..e|m..m`` (no sign) of an outlier magnitude."""
        f = self._fmt
        for e in range(1 << f.exp_bits):
            for m in range(1 << f.man_bits):
                if ((1 << f.man_bits) + m) << (e + f.bias) == magnitude and (e or m):
                    return e << f.man_bits | m
        raise AssertionError(f"{magnitude} is not an outlier magnitude")

    def _element(self, m: Module, value, tag: str):
        """``(code, is_outlier)`` of one signed ``in_width``-bit input value."""
        fmt, w, f = self._fmt, self._w, self._f
        maxn, o_min, mask = self.max_normal, self.min_outlier, (1 << fmt.bits) - 1
        x = Signal(signed(w), name=f"{tag}_x")
        neg = Signal(name=f"{tag}_neg")
        ones = Signal(w - 1, name=f"{tag}_ones")     # |x| - neg: x's bits, inverted if x < 0
        e = Signal(w, name=f"{tag}_e2")              # E = 2|x| - neg = B - 1
        m.d.comb += [x.eq(value), neg.eq(x[w - 1]),
                     ones.eq(Mux(neg, ~x[:w - 1], x[:w - 1])), e.eq(Cat(neg, ones))]
        e_max = (1 << w) - 1
        # B = 2|x| + (x >= 0) > T  <=>  E >= T: every rounding decision is "E >= constant"
        is_out = Signal(name=f"{tag}_is_out")
        m.d.comb += is_out.eq(self._at_least(e, e_max, (maxn + o_min) << f))

        # normal code
        normal = Signal(fmt.bits, name=f"{tag}_normal")
        if fmt.normal == "int":
            # round to an integer on the signed value (ties up), clamp to +-max_normal
            rounded = Signal(signed(fmt.bits), name=f"{tag}_round")
            m.d.comb += rounded.eq((x + (1 << (f - 1))) >> f if f else x)
            half = (2 * maxn + 1) << f                 # 2 * 2^f * (max_normal + 1/2)
            hi_t, lo_t = (half + 1) // 2, -(half // 2)  # clamp at x >= hi_t and x < lo_t
            clamp_hi = x >= hi_t if hi_t < 1 << (w - 1) else Const(0, 1)
            clamp_lo = x < lo_t if lo_t > -(1 << (w - 1)) else Const(0, 1)
            m.d.comb += normal.eq(Mux(clamp_hi, maxn, Mux(clamp_lo, -maxn & mask,
                                                           rounded.as_unsigned())))
        else:
            fields = _flint_fields()
            grid = self.normal_magnitudes
            field = Signal(3, name=f"{tag}_field")
            first = True
            for lo, hi in reversed(list(zip(grid, grid[1:]))):
                above = self._at_least(e, e_max, (lo + hi) << f)
                if isinstance(above, Const):
                    continue  # never (b = 0 never rounds up)
                with (m.If(above) if first else m.Elif(above)):
                    m.d.comb += field.eq(fields[hi])
                first = False
            # otherwise magnitude 0: field 000, and the code 0 (never the negative zero)
            m.d.comb += normal.eq(Cat(field, neg & field.any()))

        # outlier code: below O_min -> O_min, above the largest outlier -> saturate; in
        # between, rounded as a float with M mantissa bits, its exponent k from the
        # leading one of |x|
        man_bits, exp_bits, bias = fmt.man_bits, fmt.exp_bits, fmt.bias
        lo_c, hi_c = o_min << f, self.max_outlier << f
        below = Signal(name=f"{tag}_below")              # |x| < O_min * 2^f
        above = Signal(name=f"{tag}_sat")                # |x| > max_outlier * 2^f
        m.d.comb += [below.eq(~self._at_least(e, e_max, 2 * lo_c - 1)),
                     above.eq(self._at_least(e, e_max, 2 * hi_c + 1))]
        kmax = (1 << exp_bits) - 1 + bias
        # |x| >= 2^(M+k+f)  <=>  E >= 2^(M+k+f+1) - 1
        ks = [k for k in range(bias, kmax + 1)
              if k == bias or (1 << (man_bits + k + f + 1)) - 1 <= e_max]
        e_sel = Signal(exp_bits, name=f"{tag}_exp")
        q_out = Signal(man_bits + 2, name=f"{tag}_q")  # 2^M + m, or 2^(M+1)
        rounded_k = {}
        for k in ks:  # (E + 2^(k+f)) >> (k+f+1): an (M+2)-bit increment of E from bit k+f
            window = Signal(man_bits + 2, name=f"{tag}_w{k}")
            q_k = Signal(man_bits + 3, name=f"{tag}_q{k}")
            m.d.comb += [window.eq(e[k + f:k + f + man_bits + 2]), q_k.eq(window + 1)]
            rounded_k[k] = q_k[1:]
        for i, k in enumerate(reversed(ks)):  # the highest exponent reached wins
            reached = Const(1, 1) if k == bias else \
                self._at_least(e, e_max, (1 << (man_bits + k + f + 1)) - 1)
            with (m.If(reached) if i == 0 else m.Else() if k == bias else m.Elif(reached)):
                m.d.comb += [e_sel.eq(k - bias), q_out.eq(rounded_k[k])]
        carry = q_out[man_bits + 1]
        e_out = Signal(exp_bits, name=f"{tag}_eout")
        m.d.comb += e_out.eq(e_sel + carry)
        fields = Signal(exp_bits + man_bits, name=f"{tag}_fields")
        rounded_fields = Cat(Mux(carry, 0, q_out[:man_bits]), e_out) if man_bits else e_out
        m.d.comb += fields.eq(Mux(below, self._abfloat_fields(o_min),
                                  Mux(above, (1 << (exp_bits + man_bits)) - 1,
                                      rounded_fields)))

        code = Signal(fmt.bits, name=f"{tag}_code")
        m.d.comb += code.eq(Mux(is_out, Cat(fields, neg), normal))
        return code, is_out

    def elaborate(self, platform):
        m = Module()
        w, bits = self._w, self._fmt.bits
        code0, out0 = self._element(m, self.x[:w], "e0")
        code1, out1 = self._element(m, self.x[w:], "e1")
        ident = self._fmt.identifier
        first, second = Signal(bits), Signal(bits)
        m.d.comb += [first.eq(Mux(out1 & ~out0, ident, code0)),   # victim of element 2k+1
                     second.eq(Mux(out0, ident, code1))]           # victim of element 2k
        low, high = (first, second) if self._order == "low-first" else (second, first)
        m.d.comb += self.pair.eq(Cat(low, high))
        return m
