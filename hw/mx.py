"""OCP Microscaling (MX) block dot product: ``k`` element products of two MX blocks, each
exact in fixed point, an adder tree with optional register stages, the two E8M0 scales
added: the exact block result, no rounding anywhere."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.integer import IntSpec, is_int
from quantrtl.formats.minifloat import FloatSpec, MXSpec, parse_float, parse_mx
from quantrtl.hw.fp8 import decode_float, frac_bits as float_frac_bits
from quantrtl.hw.fp32 import FP32_INF, FP32_NAN, add_fp32, round_to_fp32
from quantrtl.hw.mac import delay, unused_if_invalid

__all__ = ["MXDot", "MXDotFP32", "element_format", "element_frac_bits", "element_max_fixed",
           "decode_element", "tree_levels", "SCALE_NAN", "SCALE_BIAS", "MAX_K", "INT8_FRAC"]

SCALE_BIAS = 127   # E8M0: the scale code s stands for 2^(s - 127)
SCALE_NAN = 0xFF   # ... and 255 for NaN
MAX_K = 64
INT8_FRAC = 6      # MXINT8 elements are fixed point s1.6 (OCP MX v1.0)
EXP_WIDTH = 10     # signed bits of a_scale + b_scale - 254: -254 .. 256


def element_format(fmt) -> FloatSpec | IntSpec:
    """The element format of ``fmt``: an ``MXSpec`` (its element), a ``FloatSpec``,
    ``IntSpec(8)``, or a name (``mxfp4``, ``mxfp6-e2m3``, ..., ``mxint8``, ``e4m3``,
    ``int8``); ``ValueError`` for anything else."""
    if isinstance(fmt, MXSpec):
        return fmt.element
    if isinstance(fmt, FloatSpec):
        return fmt
    if isinstance(fmt, IntSpec):
        if fmt != IntSpec(8):
            raise ValueError(f"MX integer elements are int8, got {fmt.name}")
        return fmt
    if isinstance(fmt, str):
        if fmt.strip().lower() == "int8":
            return IntSpec(8)
        for parse in (parse_mx, parse_float):
            try:
                return element_format(parse(fmt))
            except ValueError:
                pass
    raise ValueError(f"unknown MX element type {fmt!r} (an MXSpec, FloatSpec, IntSpec(8) or "
                     f"a name such as mxfp4, mxfp6-e2m3, mxfp6-e3m2, mxfp8-e4m3, mxfp8-e5m2, "
                     f"mxint8)")


def element_bits(fmt) -> int:
    fmt = element_format(fmt)
    return fmt.bits


def element_frac_bits(fmt) -> int:
    """Fractional bits that make every finite element value an integer: ``bias - 1 + M``
    for a minifloat (E2M1 1, E2M3 3, E3M2 4, E4M3 9, E5M2 16), 6 for INT8 (``s1.6``)."""
    fmt = element_format(fmt)
    return INT8_FRAC if isinstance(fmt, IntSpec) else float_frac_bits(fmt)


def element_max_fixed(fmt) -> int:
    """The largest magnitude of an element's fixed-point value (``value * 2^frac``): the
    largest normal's significand ``2^M + max_mantissa`` shifted by ``max_exp_field - 1``
    (E2M1 12, E2M3 60, E3M2 448, E4M3 229376, E5M2 57344 * 2^16), 128 for INT8 (-128)."""
    fmt = element_format(fmt)
    if isinstance(fmt, IntSpec):
        return 1 << (fmt.bits - 1)
    return ((1 << fmt.man_bits) + fmt.max_mantissa) << (fmt.max_exp_field - 1)


def decode_element(m: Module, fmt, code, name: str):
    """``(sign, significand, shift or None, non-finite or None)`` of one element code of
    ``fmt`` (``element_format``'s result): its fixed-point magnitude (units of
    ``2^-element_frac_bits``) is ``significand << shift``. A minifloat as
    ``hw.fp8.decode_float`` (significand 0 for a NaN or infinity code); INT8 (two's
    complement): the sign bit, ``|code|`` in 8 unsigned bits, no shift, always finite."""
    if isinstance(fmt, IntSpec):
        mag = Signal(8, name=f"{name}_mag")
        m.d.comb += mag.eq(Mux(code[7], -code, code))
        return code[7], mag, None, None
    return decode_float(m, fmt, code, name)


def tree_levels(k: int) -> int:
    """Adder levels of a balanced tree over ``k`` terms: ``ceil(log2(k))``."""
    return (k - 1).bit_length()


class MXDot(wiring.Component):
    """Exact dot product of one MX block of ``a`` with one MX block of ``b``.

    Parameters: ``a_fmt``, ``b_fmt``: an ``MXSpec`` (its element counts; its block size
    does not), an element ``FloatSpec`` (E2M1, E2M3, E3M2, E4M3, E5M2 or any other
    minifloat descriptor) or ``IntSpec(8)``, or their names (``mxfp4``, ``e4m3``, ``int8``,
    ...); ``k``: elements per block, 1..64 (default 32, OCP's block); ``pipeline``:
    register stages in the adder tree, ``0 .. tree_levels(k) = ceil(log2 k)``. Anything
    else raises ``ValueError``.

    Ports (combinational with ``pipeline = 0``, else the ``sync`` domain):

    * ``a``: ``k`` element codes packed, element ``i`` at bits ``[i*w, (i+1)*w)`` (``w``
      the element's bits; an ``ArrayLayout`` view). A minifloat code is ``s|e..e|m..m``
      (``e = 0``: subnormal ``(-1)^s m 2^(1-bias-M)``, else ``(-1)^s (2^M + m)
      2^(e-bias-M)``); an INT8 code is two's complement with value ``code * 2^-6``.
      ``b`` likewise in ``b_fmt``.
    * ``a_scale``, ``b_scale``: 8-bit E8M0 scale codes, ``2^(s - 127)``; 255 is NaN.
    * ``valid``: 1 bit, passed to ``valid_out`` with the block (the datapath computes every
      cycle whatever ``valid`` is).
    * ``sum``: signed, ``sum_width = product magnitude bits + 1 + ceil(log2 k)`` bits: the
      exact ``sum_i a_i * b_i * 2^(frac_a + frac_b)`` of the element values (the scales
      left out), in units of ``2^-(frac_a + frac_b)`` (``element_frac_bits``: E2M1 1,
      E2M3 3, E3M2 4, E4M3 9, E5M2 16, INT8 6). It never overflows.
    * ``exp``: signed 10 bits, ``a_scale + b_scale - 254``: the block's power-of-two scale.
    * ``nan``: 1 bit: either scale is 255, or an element of ``a`` or ``b`` is a NaN or an
      infinity code (E4M3 ``S.1111.111``; E5M2 exponent ``11111``). ``sum`` and ``exp``
      are then still the values above, with every non-finite element counted as 0; a
      consumer ignores them.
    * ``valid_out``: ``valid`` of the block whose result is on the outputs.

    The block's exact value is ``sum * 2^(exp - frac_a - frac_b)``; it equals
    ``golden.mx.block_dot``'s ``integer * 2^exponent`` with ``integer == sum`` and
    ``exponent == exp - frac_a - frac_b`` (``frac_bits``), whenever ``nan`` is 0.

    Latency ``pipeline`` clock edges (0: combinational), one block per cycle; synchronous
    reset clears every stage (``valid_out`` and the outputs read 0 until a block arrives).

    Datapath: each element decodes to its sign, significand (``{e != 0, m}``, 0 for a
    non-finite code; INT8: ``|code|``) and shift (``max(e, 1) - 1``; INT8: 0), so that its
    fixed-point magnitude is ``significand << shift``; per lane the unsigned significand
    product is shifted left by the sum of the shifts into a ``product_width``-bit magnitude
    (INT8 x INT8: one signed 8 x 8 product, no sign–magnitude form). The sign ``s_a ^ s_b``
    is applied in the adder tree without negators: a lane enters as ``magnitude ^ -s``
    (``-magnitude - 1`` when negative) and each of the tree's ``k - 1`` adders takes one
    lane's ``s`` as its carry-in (``x + y + s``, an adder's free carry-in), the last lane is
    negated exactly. ``pipeline`` registers sit at ``pipeline`` of the ``ceil(log2 k) + 1``
    boundaries (after the products, after each tree level), spread evenly from the
    products on: stage ``j`` after level ``floor(j * (levels + 1) / pipeline)``. The scales
    are added and the NaN flag formed beside the products and travel with the tree.
    """

    @unused_if_invalid
    def __init__(self, *, a_fmt="mxfp4", b_fmt="mxfp4", k=MAX_K // 2, pipeline=0):
        self._a_fmt, self._b_fmt = element_format(a_fmt), element_format(b_fmt)
        if not is_int(k) or not 1 <= k <= MAX_K:
            raise ValueError(f"MX block size k must be an int in 1..{MAX_K}, got {k!r}")
        levels = tree_levels(k)
        if not is_int(pipeline) or not 0 <= pipeline <= levels:
            raise ValueError(f"pipeline must be 0..{levels} (the adder levels of k={k}), "
                             f"got {pipeline!r}")
        self._k, self._pipeline = k, pipeline
        super().__init__({
            # plain packed words: a port of a Layout shape would make Amaranth emit a
            # debug wire per lane (``\\a[0]``), names on which Yosys's ABC9 flow for xc7
            # aborts; the lanes are read through ArrayLayout views in ``elaborate``
            "a": In(self._lane_layout(self._a_fmt).size),
            "a_scale": In(8),
            "b": In(self._lane_layout(self._b_fmt).size),
            "b_scale": In(8),
            "valid": In(1),
            "sum": Out(signed(self.sum_width)),
            "exp": Out(signed(EXP_WIDTH)),
            "nan": Out(1),
            "valid_out": Out(1),
        })

    def _lane_layout(self, fmt) -> data.ArrayLayout:
        """``k`` lanes of ``fmt``'s codes, element ``i`` at bits ``[i*w, (i+1)*w)``."""
        shape = signed(8) if isinstance(fmt, IntSpec) else unsigned(fmt.bits)
        return data.ArrayLayout(shape, self._k)

    @property
    def a_fmt(self) -> FloatSpec | IntSpec:
        return self._a_fmt

    @property
    def b_fmt(self) -> FloatSpec | IntSpec:
        return self._b_fmt

    @property
    def k(self) -> int:
        return self._k

    @property
    def latency(self) -> int:
        return self._pipeline

    @property
    def frac_bits(self) -> int:
        """Fractional bits of ``sum``: ``frac_a + frac_b``."""
        return element_frac_bits(self._a_fmt) + element_frac_bits(self._b_fmt)

    @property
    def product_width(self) -> int:
        """Unsigned bits of the largest product magnitude ``max_a * max_b``."""
        return (element_max_fixed(self._a_fmt) * element_max_fixed(self._b_fmt)).bit_length()

    @property
    def sum_width(self) -> int:
        """Signed bits of ``sum``: a lane is ``product_width + 1`` signed bits, each tree
        level one more: ``k`` largest products of either sign fit."""
        return self.product_width + 1 + tree_levels(self._k)

    @property
    def latency_note(self) -> str:
        if not self._pipeline:
            return "combinational: sum, exp, nan and valid_out follow the inputs (latency 0)"
        return (f"a block presented at a rising edge shows on sum, exp, nan and valid_out "
                f"{self._pipeline} rising edge(s) later (pipeline)")

    throughput_note = "one block of k element pairs per cycle: a new block every cycle"

    @property
    def reset_note(self) -> str:
        if not self._pipeline:
            return "no state: rst has no effect"
        return "rst clears every pipeline stage: valid_out and the outputs read 0"

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the parameters, in bits (for the datasheet)."""
        return {"a element code": self._lane_layout(self._a_fmt).elem_shape.width,
                "b element code": self._lane_layout(self._b_fmt).elem_shape.width,
                "fractional bits of sum (frac_a + frac_b)": self.frac_bits,
                "product magnitude (unsigned)": self.product_width,
                "sum (signed)": self.sum_width, "exp (signed)": EXP_WIDTH}

    @property
    def _signed_products(self) -> bool:
        return isinstance(self._a_fmt, IntSpec) and isinstance(self._b_fmt, IntSpec)

    def _lanes(self, m: Module):
        """Per lane the tree's leaf (signed ``product_width + 1`` bits) and the sign the
        tree still has to add as a carry-in (None when the leaf is exact), and the OR of the
        non-finite flags."""
        width = self.product_width
        a_lanes = data.View(self._lane_layout(self._a_fmt), self.a)
        b_lanes = data.View(self._lane_layout(self._b_fmt), self.b)
        leaves, signs, bad = [], [], []
        xor_lanes = self._k - 1  # one carry-in per adder; the last lane is negated exactly
        for i in range(self._k):
            leaf = Signal(signed(width + 1), name=f"leaf{i}")
            if self._signed_products:
                m.d.comb += leaf.eq(a_lanes[i] * b_lanes[i])
                leaves.append(leaf)
                signs.append(None)
                continue
            a_sign, a_sig, a_shift, a_bad = decode_element(m, self._a_fmt, a_lanes[i], f"a{i}")
            b_sign, b_sig, b_shift, b_bad = decode_element(m, self._b_fmt, b_lanes[i], f"b{i}")
            bad += [f for f in (a_bad, b_bad) if f is not None]
            magnitude = Signal(width, name=f"mag{i}")
            neg = Signal(name=f"neg{i}")
            product = a_sig * b_sig
            shifts = [s for s in (a_shift, b_shift) if s is not None]
            if shifts:
                product = product << (shifts[0] if len(shifts) == 1 else shifts[0] + shifts[1])
            m.d.comb += [magnitude.eq(product), neg.eq(a_sign ^ b_sign)]
            if i < xor_lanes:
                m.d.comb += leaf.eq(Cat(magnitude, Const(0, 1)) ^ neg.replicate(width + 1))
                signs.append(neg)
            else:
                m.d.comb += leaf.eq(Mux(neg, -magnitude, magnitude))
                signs.append(None)
            leaves.append(leaf)
        return leaves, [s for s in signs if s is not None], bad

    def elaborate(self, platform):
        m = Module()
        levels = tree_levels(self._k)
        stages = {j * (levels + 1) // self._pipeline for j in range(self._pipeline)}
        nodes, carries, bad = self._lanes(m)
        exp = Signal(signed(EXP_WIDTH), name="exp_sum")
        nan = Signal(name="nan_any")
        flags = [self.a_scale == SCALE_NAN, self.b_scale == SCALE_NAN, *bad]
        m.d.comb += [exp.eq(self.a_scale + self.b_scale - 2 * SCALE_BIAS),
                     nan.eq(Cat(*flags).any())]
        side = [exp, nan, self.valid]

        def register(boundary):
            nonlocal nodes, carries, side
            regs = delay(m, [*nodes, *carries, *side], 1, f"p{boundary}")
            nodes = regs[:len(nodes)]
            carries = regs[len(nodes):len(nodes) + len(carries)]
            side = regs[len(nodes) + len(carries):]

        for level in range(1, levels + 1):
            if level - 1 in stages:
                register(level - 1)
            paired = []
            for i in range(0, len(nodes) - 1, 2):
                x, y = nodes[i], nodes[i + 1]
                node = Signal(signed(max(len(x), len(y)) + 1), name=f"t{level}_{i // 2}")
                total = x + y
                if carries:
                    total = total + carries.pop(0)
                m.d.comb += node.eq(total)
                paired.append(node)
            nodes = paired + nodes[len(paired) * 2:]
        if levels in stages:
            register(levels)
        assert len(nodes) == 1 and not carries
        m.d.comb += [self.sum.eq(nodes[0]), self.exp.eq(side[0]), self.nan.eq(side[1]),
                     self.valid_out.eq(side[2])]
        return m


class MXDotFP32(wiring.Component):
    """MX block dot products accumulated in FP32: ``hw.mx.MXDot``'s exact block result,
    rounded to IEEE binary32 and added into an FP32 accumulator (``hw.fp32``), one block per
    cycle.

    Parameters: those of ``MXDot`` (``a_fmt``, ``b_fmt``, ``k``, ``pipeline``), validated
    by it.

    Ports (``sync`` domain): ``a``, ``a_scale``, ``b``, ``b_scale`` as ``MXDot``'s;
    ``valid``, ``clear`` as ``hw.mac.IntMAC``'s: per accepted block ``acc <= (clear ? +0 :
    acc) + block`` when ``valid``, ``acc <= +0`` when only ``clear``; ``acc``: 32 bits, the
    FP32 bit pattern of the accumulator (reset: +0).

    ``block`` is the block's exact value ``sum * 2^(exp - frac_a - frac_b)`` rounded once
    to FP32 (nearest, ties to even, subnormals kept, ``±inf`` from ``2^128`` on; an exact 0
    is +0), and the addition is FP32 round to nearest, ties to even (``hw.fp32.add_fp32``),
    as ``golden.mx.dot_fp32`` defines both. A non-finite block (``MXDot``'s ``nan``) is the
    IEEE sum of its products: ``±inf`` when its only non-finite elements are E5M2
    infinities, none of them times a zero element, all of one product sign; NaN otherwise
    (a NaN scale, a NaN element, ``inf * 0``, ``+inf`` and ``-inf`` products). Every NaN
    the unit outputs is ``0x7FC00000``.

    Latency ``pipeline + 1`` (``MXDot``'s stages, then the accumulator register); one
    block per cycle. Synchronous reset clears every stage and the accumulator.
    """

    @unused_if_invalid
    def __init__(self, *, a_fmt="mxfp4", b_fmt="mxfp4", k=MAX_K // 2, pipeline=0):
        self._dot = MXDot(a_fmt=a_fmt, b_fmt=b_fmt, k=k, pipeline=pipeline)
        super().__init__({
            "a": In(len(self._dot.a)),
            "a_scale": In(8),
            "b": In(len(self._dot.b)),
            "b_scale": In(8),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(32),
        })

    @property
    def dot(self) -> MXDot:
        return self._dot

    @property
    def latency(self) -> int:
        return self._dot.latency + 1

    @property
    def latency_note(self) -> str:
        return (f"a block presented with valid (and clear) at a rising edge is in acc "
                f"{self.latency} rising edge(s) later (pipeline + 1)")

    throughput_note = "one block of k element pairs per cycle: a new block every cycle"
    reset_note = "rst clears every pipeline stage and the accumulator (+0)"

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the parameters, in bits (for the datasheet)."""
        return {**self._dot.derived_widths, "acc (FP32 bit pattern)": 32}

    def _infinities(self, m: Module):
        """``(other_nan, pos_inf, neg_inf)`` of the block on the inputs: a NaN cause other
        than infinite products (a NaN scale, a NaN element, ``inf * 0``), and whether a
        product is ``+inf`` / ``-inf``; None when neither element format has infinities."""
        dot = self._dot
        fmts = (dot.a_fmt, dot.b_fmt)
        if not any(isinstance(f, FloatSpec) and f.special == "ieee" for f in fmts):
            return None
        lanes = []
        for side, fmt, word in (("a", dot.a_fmt, self.a), ("b", dot.b_fmt, self.b)):
            if isinstance(fmt, IntSpec):
                codes = [word[8 * i:8 * (i + 1)] for i in range(self._dot.k)]
                lanes.append([(c[7], ~c.any(), Const(0, 1), Const(0, 1)) for c in codes])
                continue
            w, man = fmt.bits, fmt.man_bits
            info = []
            for i in range(self._dot.k):
                code = word[w * i:w * (i + 1)]
                exp, mant = code[man:w - 1], code[:man]
                top = exp == (1 << fmt.exp_bits) - 1
                if fmt.special == "ieee":
                    nan, inf = top & mant.any(), top & ~mant.any()
                elif fmt.special == "fn":
                    nan, inf = top & (mant == (1 << man) - 1), Const(0, 1)
                else:
                    nan, inf = Const(0, 1), Const(0, 1)
                info.append((code[w - 1], ~code[:w - 1].any(), nan, inf))
            lanes.append(info)
        causes = [self.a_scale == SCALE_NAN, self.b_scale == SCALE_NAN]
        pos, neg = [], []
        for (sa, za, na, ia), (sb, zb, nb, ib) in zip(*lanes):
            causes += [na, nb, ia & zb, ib & za]
            infinite = (ia | ib) & ~za & ~zb
            pos.append(infinite & ~(sa ^ sb))
            neg.append(infinite & (sa ^ sb))
        flags = [Signal(name=n) for n in ("other_nan", "pos_inf", "neg_inf")]
        m.d.comb += [flags[0].eq(Cat(*causes).any()), flags[1].eq(Cat(*pos).any()),
                     flags[2].eq(Cat(*neg).any())]
        return flags

    def elaborate(self, platform):
        m = Module()
        dot = m.submodules.dot = self._dot
        m.d.comb += [dot.a.eq(self.a), dot.a_scale.eq(self.a_scale), dot.b.eq(self.b),
                     dot.b_scale.eq(self.b_scale), dot.valid.eq(self.valid)]
        flags = self._infinities(m)
        side = [self.clear] + (flags or [])
        side = delay(m, side, dot.latency, "d")
        clear = side[0]
        width = dot.sum_width
        negative = dot.sum[width - 1]
        magnitude = Signal(width, name="block_mag")
        exponent = Signal(signed(EXP_WIDTH + 2), name="block_exp")
        m.d.comb += [magnitude.eq(Mux(negative, -dot.sum, dot.sum)),
                     exponent.eq(dot.exp - dot.frac_bits)]
        rounded = round_to_fp32(m, negative, magnitude, exponent, "block_rnd",
                                min_exponent=-2 * SCALE_BIAS - dot.frac_bits)
        block = Signal(32, name="block")
        if flags is None:
            m.d.comb += block.eq(Mux(dot.nan, FP32_NAN, rounded))
        else:
            other_nan, pos_inf, neg_inf = side[1:]
            infinite = ~other_nan & (pos_inf ^ neg_inf)
            special = Mux(infinite, Cat(Const(FP32_INF, 31), neg_inf), FP32_NAN)
            m.d.comb += block.eq(Mux(dot.nan, special, rounded))
        base = Signal(32, name="acc_base")
        m.d.comb += base.eq(Mux(clear, 0, self.acc))
        total = add_fp32(m, base, block, "acc_add")
        with m.If(dot.valid_out):
            m.d.sync += self.acc.eq(total)
        with m.Elif(clear):
            m.d.sync += self.acc.eq(0)
        return m
