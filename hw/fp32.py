"""IEEE binary32 circuits: round an exact ``magnitude * 2^exponent`` to FP32 and add two
FP32 values, both round-to-nearest, ties to even, subnormals kept, overflow to ``±inf``.
Combinational (latency 0): each function adds its logic to ``m``'s comb domain and returns
a 32-bit FP32 bit pattern ``s|eeeeeeee|m..m`` (23 mantissa bits)."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned

__all__ = ["round_to_fp32", "add_fp32", "bit_length", "trailing_zeros", "FP32_NAN",
           "FP32_INF", "MAN_BITS", "SUBNORMAL_LSB"]

MAN_BITS = 23           # stored mantissa bits; 24 with the hidden bit
SUBNORMAL_LSB = -149    # the smallest subnormal is 2^-149
FP32_INF = 0x7F800000   # +inf; -inf has bit 31 set
FP32_NAN = 0x7FC00000   # the one NaN the circuits output (sign 0, quiet)
_EXP_TOP = 0xFF


def bit_length(m: Module, value, name: str) -> Signal:
    """``floor(log2 value) + 1`` of the unsigned ``value`` (0 for 0), ``range(len + 1)``."""
    n = len(value)
    out = Signal(range(n + 1), name=name)
    length = Const(0, range(n + 1))
    for i in range(n):
        length = Mux(value[i], i + 1, length)
    m.d.comb += out.eq(length)
    return out


def trailing_zeros(m: Module, value, name: str) -> Signal:
    """Zero bits below the lowest one of the unsigned ``value`` (``len(value)`` for 0)."""
    n = len(value)
    out = Signal(range(n + 1), name=name)
    count = Const(n, range(n + 1))
    for i in reversed(range(n)):
        count = Mux(value[i], i, count)
    m.d.comb += out.eq(count)
    return out


def round_to_fp32(m: Module, sign, magnitude, exponent, name: str, *,
                  min_exponent: int | None = None) -> Signal:
    """The FP32 pattern of ``(-1)^sign * magnitude * 2^exponent``.

    ``magnitude``: unsigned, any width ``W``; ``exponent``: signed, any width, at least
    ``min_exponent`` (default: the smallest its width holds; a tighter bound makes the
    shifter and sticky logic smaller). Rounded once to nearest, ties to even, onto the
    quantum ``2^max(e_top - 23, -149)`` (``e_top`` the exponent of the leading one); a
    rounded magnitude of ``2^128`` or more gives ``±inf``; ``magnitude = 0`` gives ``±0``
    with ``sign`` (a nonzero value that rounds to 0 keeps its sign too). Datapath: bit
    length ``L`` of the magnitude, right shift ``s = max(L - 24, -149 - exponent)`` (of
    the magnitude with 23 zero bits appended, so a negative ``s`` is an exact left shift),
    guard bit, sticky from the trailing-zero count of the bits that can fall below the
    guard, ``+1`` on ``guard & (sticky | lsb)``, then ``((exponent + s + 149) << 23) +
    rounded`` as an integer, so that a carry out of the significand or out of the
    subnormal range steps the exponent field."""
    width = len(magnitude)
    if min_exponent is None:
        min_exponent = -(1 << (len(exponent) - 1))
    max_shift = max(width - (MAN_BITS + 1), SUBNORMAL_LSB - min_exponent)
    t_max = max_shift + MAN_BITS
    e_width = max(len(exponent), (abs(min_exponent) + width + 200).bit_length()) + 2
    length = bit_length(m, magnitude, f"{name}_len")
    shift = Signal(signed(e_width), name=f"{name}_shift")
    by_length = length - (MAN_BITS + 1)
    floor = Signal(signed(e_width), name=f"{name}_floor")  # -149 - exponent
    m.d.comb += [floor.eq(SUBNORMAL_LSB - exponent),
                 shift.eq(Mux(by_length > floor, by_length, floor))]
    # s + 23 >= 0 unless the magnitude is 0 (then the output is 0 whatever t is)
    t = Signal(range(t_max + 1), name=f"{name}_t")
    m.d.comb += t.eq(shift + MAN_BITS)
    window = Signal(MAN_BITS + 2, name=f"{name}_window")  # {kept 24 bits, guard}
    m.d.comb += window.eq(Cat(Const(0, MAN_BITS + 1), magnitude) >> t)
    guard, kept = window[0], window[1:]
    sticky = Signal(name=f"{name}_sticky")
    low = min(width, t_max - (MAN_BITS + 1))  # magnitude bits that can fall below the guard
    if low > 0:
        tz = trailing_zeros(m, magnitude[:low], f"{name}_tz")
        m.d.comb += sticky.eq(tz + MAN_BITS + 1 < t)
    rounded = Signal(MAN_BITS + 2, name=f"{name}_rounded")
    m.d.comb += rounded.eq(kept + (guard & (sticky | kept[0])))
    field = Signal(signed(e_width), name=f"{name}_field")
    m.d.comb += field.eq(exponent + shift - SUBNORMAL_LSB)  # >= 0 for a nonzero magnitude
    total = Signal(unsigned(e_width + MAN_BITS + 1), name=f"{name}_bits")
    m.d.comb += total.eq((field.as_unsigned() << MAN_BITS) + rounded)
    out = Signal(32, name=name)
    overflow = total[MAN_BITS:] >= FP32_INF >> MAN_BITS  # exponent field 255 or more
    mag31 = Mux(magnitude.any(), Mux(overflow, FP32_INF, total[:31]), 0)
    m.d.comb += out.eq(Cat(mag31[:31], sign))
    return out


def _fields(m: Module, x, name: str):
    """``(sign, exponent field, effective exponent max(e, 1), significand {e != 0, man},
    nan, inf)`` of the FP32 pattern ``x``."""
    man, exp, sign = x[:MAN_BITS], x[MAN_BITS:31], x[31]
    eff = Signal(8, name=f"{name}_eff")
    sig = Signal(MAN_BITS + 1, name=f"{name}_sig")
    m.d.comb += [eff.eq(Mux(exp.any(), exp, 1)), sig.eq(Cat(man, exp.any()))]
    top = exp == _EXP_TOP
    return sign, eff, sig, top & man.any(), top & ~man.any()


def add_fp32(m: Module, x, y, name: str) -> Signal:
    """The FP32 pattern of ``x + y`` (32-bit FP32 patterns), IEEE 754 round to nearest,
    ties to even: subnormal operands and results kept, overflow to ``±inf``, ``inf - inf``
    and any NaN operand give ``FP32_NAN``, an exact zero sum is ``-0`` only for ``-0 +
    -0``. Datapath: the operand of larger magnitude is ``A``; ``B``'s significand, with 3
    extra low bits, is shifted right by the exponent difference (at most 27) and the bits
    shifted out are ORed into its lowest bit (sticky); the 28-bit sum or difference, in
    units of ``2^(e_A - 153)``, is rounded once by ``round_to_fp32``."""
    x_sign, x_eff, x_sig, x_nan, x_inf = _fields(m, x, f"{name}_x")
    y_sign, y_eff, y_sig, y_nan, y_inf = _fields(m, y, f"{name}_y")
    swap = Signal(name=f"{name}_swap")
    m.d.comb += swap.eq(y[:31] > x[:31])
    a_sign, a_eff, a_sig = (Mux(swap, q, p) for p, q in
                            ((x_sign, y_sign), (x_eff, y_eff), (x_sig, y_sig)))
    b_sign, b_eff, b_sig = (Mux(swap, p, q) for p, q in
                            ((x_sign, y_sign), (x_eff, y_eff), (x_sig, y_sig)))
    diff = Signal(8, name=f"{name}_diff")
    m.d.comb += diff.eq(a_eff - b_eff)
    wide = MAN_BITS + 4  # 24-bit significand and 3 low bits: guard, round, sticky
    b_tz = trailing_zeros(m, b_sig, f"{name}_btz")
    b_aligned = Signal(wide, name=f"{name}_balign")
    m.d.comb += b_aligned.eq((Cat(Const(0, 3), b_sig) >> diff) |
                             (b_sig.any() & (b_tz + 3 < diff)))
    a_ext = Cat(Const(0, 3), a_sig)
    total = Signal(wide + 1, name=f"{name}_sum")
    subtract = a_sign ^ b_sign
    m.d.comb += total.eq(Mux(subtract, a_ext - b_aligned, a_ext + b_aligned))
    exponent = Signal(signed(10), name=f"{name}_exp")
    lsb = 127 + MAN_BITS + 3  # the sum's units: 2^(e_A - 153), e_A >= 1
    m.d.comb += exponent.eq(a_eff - lsb)
    sign = Mux(total.any(), a_sign, a_sign & b_sign)
    rounded = round_to_fp32(m, sign, total, exponent, f"{name}_rnd", min_exponent=1 - lsb)
    out = Signal(32, name=name)
    nan = x_nan | y_nan | (x_inf & y_inf & (x_sign != y_sign))
    inf_sign = Mux(x_inf, x_sign, y_sign)
    m.d.comb += out.eq(Mux(nan, FP32_NAN,
                           Mux(x_inf | y_inf, Cat(Const(FP32_INF, 31), inf_sign), rounded)))
    return out
