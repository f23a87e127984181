"""AMXFP4 (asymmetric microscaling FP4) block dot product: E2M1 elements with two FP8
scales per block and side, one for the positive and one for the negative elements; the
element products of each of the four sign classes summed apart, each sum multiplied by its
two scales, the exact result out."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.integer import is_int
from quantrtl.formats.minifloat import FloatSpec, parse_float
from quantrtl.hw.fp8 import decode_float, frac_bits
from quantrtl.hw.mac import delay, unused_if_invalid
from quantrtl.hw.mx import MAX_K, tree_levels

__all__ = ["AMXDot", "ELEMENT", "SCALE_FORMATS", "MAX_PIPELINE"]

ELEMENT = parse_float("e2m1")
SCALE_FORMATS = ("e5m2", "e4m3")
MAX_PIPELINE = 2
_CLASSES = ((0, 0), (0, 1), (1, 0), (1, 1))  # (sign of a's element, sign of b's element)


def _scale_format(fmt) -> FloatSpec:
    name = fmt.name if isinstance(fmt, FloatSpec) else fmt
    if name not in SCALE_FORMATS:
        raise ValueError(f"AMXFP4 scales are one of {', '.join(SCALE_FORMATS)}, got {fmt!r}")
    return parse_float(name)


def _max_fixed(fmt: FloatSpec) -> int:
    """Largest finite magnitude of ``fmt`` times ``2^frac_bits(fmt)``."""
    return ((1 << fmt.man_bits) + fmt.max_mantissa) << (fmt.max_exp_field - 1)


class AMXDot(wiring.Component):
    """Exact dot product of one AMXFP4 block of ``a`` with one of ``b``.

    Parameters: ``a_scale_fmt``, ``b_scale_fmt``: ``"e5m2"`` (default) or ``"e4m3"`` (or
    their ``FloatSpec``); ``k``: elements per block, 1..64 (default 32); ``pipeline``:
    0..2 register stages (1: after the four sums, 2: also after the scaling). Anything else
    raises ``ValueError``.

    Ports (combinational with ``pipeline = 0``, else the ``sync`` domain):

    * ``a``: ``k`` E2M1 codes ``s|ee|m`` packed, element ``i`` at bits ``[4i, 4i + 4)``;
      ``a_pos``, ``a_neg``: 8-bit codes of ``a``'s two scales in ``a_scale_fmt``: an element
      whose sign bit is 0 (``+0`` included) takes ``a_pos``, one whose sign bit is 1 (``-0``
      included) ``a_neg``. ``b``, ``b_pos``, ``b_neg`` likewise. A scale's sign is honoured.
    * ``valid``: 1 bit, passed to ``valid_out`` with the block.
    * ``sum``: signed ``sum_width`` bits, the exact ``sum_i a_i * s(a_i) * b_i * s(b_i)``
      in units of ``2^-frac_bits`` (``frac_bits = 2 * 1 + frac(a_scale) + frac(b_scale)``,
      ``frac`` E5M2 16, E4M3 9: 34 for E5M2 scales on both sides): golden.amx.block_dot's
      integer, whose exponent is ``-frac_bits``. It never overflows.
    * ``nan``: 1 bit, one of the four scale codes is not finite (E5M2 exponent ``11111``,
      E4M3 ``S.1111.111``); such a scale counts as 0 in ``sum``.
    * ``valid_out``: ``valid`` of the block on the outputs.

    Datapath: per lane the E2M1 magnitudes (``{e != 0, m} << max(e - 1, 0)``, units of
    ``1/2``) are multiplied (at most 144, units of ``1/4``) and the product enters the one of
    four unsigned adder trees that its sign class ``(s_a, s_b)`` selects (no negation in the
    trees). Each class sum ``P`` is multiplied by the significands of its two scales and
    shifted left by the sum of their shifts (``hw.fp8.decode_float``), then the four terms
    are added with the sign ``s_a ^ s_b ^ sign(scale_a) ^ sign(scale_b)``.

    Latency ``pipeline`` clock edges, one block per cycle; synchronous reset clears every
    stage.
    """

    @unused_if_invalid
    def __init__(self, *, a_scale_fmt="e5m2", b_scale_fmt="e5m2", k=MAX_K // 2, pipeline=0):
        self._a_scale, self._b_scale = _scale_format(a_scale_fmt), _scale_format(b_scale_fmt)
        if not is_int(k) or not 1 <= k <= MAX_K:
            raise ValueError(f"AMXFP4 block size k must be an int in 1..{MAX_K}, got {k!r}")
        if not is_int(pipeline) or not 0 <= pipeline <= MAX_PIPELINE:
            raise ValueError(f"pipeline must be 0..{MAX_PIPELINE}, got {pipeline!r}")
        self._k, self._pipeline = k, pipeline
        super().__init__({
            "a": In(ELEMENT.bits * k),
            "a_pos": In(8),
            "a_neg": In(8),
            "b": In(ELEMENT.bits * k),
            "b_pos": In(8),
            "b_neg": In(8),
            "valid": In(1),
            "sum": Out(signed(self.sum_width)),
            "nan": Out(1),
            "valid_out": Out(1),
        })

    @property
    def k(self) -> int:
        return self._k

    @property
    def latency(self) -> int:
        return self._pipeline

    @property
    def latency_note(self) -> str:
        if not self._pipeline:
            return "combinational: sum, nan and valid_out follow the inputs (latency 0)"
        return (f"a block presented at a rising edge shows on sum, nan and valid_out "
                f"{self._pipeline} rising edge(s) later (pipeline)")

    throughput_note = "one block of k element pairs and their four scales per cycle"

    @property
    def reset_note(self) -> str:
        if not self._pipeline:
            return "no state: the unit has no clock or reset"
        return "rst clears every pipeline stage: valid_out, nan and sum read 0"

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the parameters, in bits (for the datasheet)."""
        return {"element code (E2M1)": ELEMENT.bits, "scale code": 8,
                "fractional bits of sum (2 + frac_a_scale + frac_b_scale)": self.frac_bits,
                "sign class sum (unsigned, units of 1/4)": self.class_width,
                "sum (signed)": self.sum_width}

    @property
    def a_scale_fmt(self) -> FloatSpec:
        return self._a_scale

    @property
    def b_scale_fmt(self) -> FloatSpec:
        return self._b_scale

    @property
    def frac_bits(self) -> int:
        """Fractional bits of ``sum``: ``2 * 1 + frac(a_scale_fmt) + frac(b_scale_fmt)``."""
        return 2 * frac_bits(ELEMENT) + frac_bits(self._a_scale) + frac_bits(self._b_scale)

    @property
    def class_width(self) -> int:
        """Unsigned bits of one sign class's sum of element products (units of 1/4)."""
        return (self._k * _max_fixed(ELEMENT) ** 2).bit_length()

    @property
    def sum_width(self) -> int:
        """Signed bits of ``sum``: ``k`` largest products times the largest scales, + sign."""
        largest = (self._k * _max_fixed(ELEMENT) ** 2 * _max_fixed(self._a_scale) *
                   _max_fixed(self._b_scale))
        return largest.bit_length() + 1

    def _class_sums(self, m: Module):
        """The four classes' unsigned sums of element-magnitude products."""
        lanes = data.ArrayLayout(unsigned(ELEMENT.bits), self._k)
        a_lanes, b_lanes = data.View(lanes, self.a), data.View(lanes, self.b)
        width = (_max_fixed(ELEMENT) ** 2).bit_length()
        leaves = {c: [] for c in _CLASSES}
        for i in range(self._k):
            a_sign, a_sig, a_shift, _ = decode_float(m, ELEMENT, a_lanes[i], f"a{i}")
            b_sign, b_sig, b_shift, _ = decode_float(m, ELEMENT, b_lanes[i], f"b{i}")
            product = Signal(width, name=f"mag{i}")
            m.d.comb += product.eq((a_sig * b_sig) << (a_shift + b_shift))
            for sa, sb in _CLASSES:
                leaf = Signal(width, name=f"c{sa}{sb}_leaf{i}")
                hit = (a_sign == sa) & (b_sign == sb)
                m.d.comb += leaf.eq(Mux(hit, product, 0))
                leaves[(sa, sb)].append(leaf)
        sums = []
        for c in _CLASSES:
            nodes = leaves[c]
            for level in range(1, tree_levels(self._k) + 1):
                paired = []
                for j in range(0, len(nodes) - 1, 2):
                    node = Signal(max(len(nodes[j]), len(nodes[j + 1])) + 1,
                                  name=f"c{c[0]}{c[1]}_t{level}_{j // 2}")
                    m.d.comb += node.eq(nodes[j] + nodes[j + 1])
                    paired.append(node)
                nodes = paired + nodes[len(paired) * 2:]
            total = Signal(self.class_width, name=f"c{c[0]}{c[1]}_sum")
            m.d.comb += total.eq(nodes[0])
            sums.append(total)
        return sums

    def elaborate(self, platform):
        m = Module()
        sums = self._class_sums(m)
        scales, bad = {}, []
        for name, fmt in (("a_pos", self._a_scale), ("a_neg", self._a_scale),
                          ("b_pos", self._b_scale), ("b_neg", self._b_scale)):
            sign, sig, shift, flag = decode_float(m, fmt, getattr(self, name), name)
            scales[name] = (sign, sig, shift)
            bad.append(flag)
        nan = Signal(name="nan_any")
        m.d.comb += nan.eq(Cat(*bad).any())
        flat = [v for name in ("a_pos", "a_neg", "b_pos", "b_neg") for v in scales[name]]
        regs = delay(m, [*sums, *flat, nan, self.valid], min(self._pipeline, 1), "p0")
        sums, flat, side = regs[:4], regs[4:16], regs[16:]
        scales = {name: flat[3 * i:3 * i + 3]
                  for i, name in enumerate(("a_pos", "a_neg", "b_pos", "b_neg"))}
        terms, signs = [], []
        for (sa, sb), total in zip(_CLASSES, sums):
            a_sign, a_sig, a_shift = scales["a_neg" if sa else "a_pos"]
            b_sign, b_sig, b_shift = scales["b_neg" if sb else "b_pos"]
            term = Signal(self.sum_width - 1, name=f"c{sa}{sb}_term")
            negative = Signal(name=f"c{sa}{sb}_neg")
            m.d.comb += [term.eq((total * a_sig * b_sig) << (a_shift + b_shift)),
                         negative.eq(a_sign ^ b_sign ^ (sa ^ sb))]
            terms.append(term)
            signs.append(negative)
        regs = delay(m, [*terms, *signs, *side], self._pipeline - 1, "p1")
        terms, signs, side = regs[:4], regs[4:8], regs[8:]
        result = 0
        for term, negative in zip(terms, signs):
            signed_term = Signal(signed(self.sum_width), name=f"{term.name}_signed")
            m.d.comb += signed_term.eq(Mux(negative, -term, term))
            result = result + signed_term
        m.d.comb += [self.sum.eq(result), self.nan.eq(side[0]), self.valid_out.eq(side[1])]
        return m
