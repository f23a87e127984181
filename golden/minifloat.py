"""Minifloat elements (OCP 8-bit floats E5M2 and E4M3, the MX elements E3M2, E2M3, E2M1):
values of every code, the saturating encoder and an exact fixed-point MAC.

The contract (descriptors in ``quantrtl.formats.minifloat``; the hardware builds from the
same descriptors and from ``docs/formats.md``, never from this module):

* Codes are unsigned bit patterns ``0 .. 2^bits - 1`` in int64 tensors, ``s|e..e|m..m``
  with the sign in the MSB. ``e = 0``: subnormal ``(-1)^s * m * 2^(1 - bias - M)``; else
  ``(-1)^s * (2^M + m) * 2^(e - bias - M)``. Specials by ``FloatSpec.special``: ``"ieee"``
  (E5M2): exponent all ones is ``±inf`` (``m = 0``) or NaN; ``"fn"`` (E4M3): only
  ``S.1111.111`` is NaN, no infinities; ``"none"`` (E3M2, E2M3, E2M1): every code finite.
  ``decode`` gives ``-0.0`` for the negative zero ``10..0``.
* ``encode`` rounds to the nearest finite value, ties to the even code (``rounding="even"``,
  IEEE round-to-nearest-even; the code's LSB is the mantissa's LSB) or away from zero
  (``rounding="away"``), and SATURATES: every ``|x|`` above ``max_normal``, ``±inf``
  included, gives ``±max_normal`` (OCP MX v1.0's conversion rule). Subnormals are kept; the
  sign is kept too (``-1e-9`` and ``-0.0`` give the negative zero, as IEEE casts do). NaN
  gives the format's canonical positive NaN code (E4M3 ``0x7F``, E5M2 ``0x7E``, the codes
  ml_dtypes produces); a format without NaN raises ``ValueError`` on NaN input.

  Against the reference casts (``tests/test_golden_minifloat.py`` checks each fact): below
  the overflow threshold ``encode`` equals ml_dtypes' cast and torch's ``float8_e4m3fn`` /
  ``float8_e5m2`` casts bit for bit (NaN aside). Beyond ``max_normal``: torch 2.13's CPU
  cast to ``float8_e4m3fn`` saturates to ``±448`` (``±inf`` included) and ``encode``
  matches it everywhere; ml_dtypes' ``float8_e4m3fn`` returns NaN from ``464`` (exclusive;
  the midpoint 448..480, which ties to the even 448) and both reference casts to
  ``float8_e5m2`` overflow to ``±inf`` from ``61440`` (inclusive), where ``encode`` gives
  ``±57344``. ml_dtypes' 6- and 4-bit casts saturate like ``encode``.
* Fixed point: ``frac_bits = bias - 1 + M`` makes the smallest subnormal 1, so every finite
  value is ``fixed * 2^-frac_bits`` with ``fixed`` an exact int64 (E5M2: 16 fractional
  bits, largest ``57344 * 2^16``; E4M3: 9; E3M2: 4; E2M3: 3; E2M1: 1).
* ``mac_trace`` accumulates ``decode(w) * decode(x)`` exactly in units of
  ``2^-(frac_w + frac_x)`` with ``golden.arith``: wrap or saturate, ``acc_width`` signed.
"""

from __future__ import annotations

import math

import torch

from quantrtl.formats.minifloat import FloatSpec, parse_float
from quantrtl.golden import arith
from quantrtl.golden.codes import check_codes

__all__ = ["ROUNDING_MODES", "decode", "encode", "fixed_values", "finite", "nan_code",
           "frac_bits", "product_fixed", "mac_trace"]

ROUNDING_MODES = ("even", "away")


def _spec(fmt) -> FloatSpec:
    if isinstance(fmt, FloatSpec):
        return fmt
    if isinstance(fmt, str):
        return parse_float(fmt)
    raise ValueError(f"expected a FloatSpec or a minifloat name, got {fmt!r}")


def frac_bits(fmt: FloatSpec) -> int:
    """Fractional bits of the exact fixed-point form: ``bias - 1 + man_bits``."""
    fmt = _spec(fmt)
    return fmt.bias - 1 + fmt.man_bits


def _fields(fmt: FloatSpec):
    codes = torch.arange(1 << fmt.bits, dtype=torch.int64)
    sign = codes >> (fmt.bits - 1)
    exp = (codes >> fmt.man_bits) & ((1 << fmt.exp_bits) - 1)
    man = codes & ((1 << fmt.man_bits) - 1)
    return sign, exp, man


def finite(fmt: FloatSpec) -> torch.Tensor:
    """Whether each code ``0 .. 2^bits - 1`` is a finite value (bool)."""
    fmt = _spec(fmt)
    _, exp, man = _fields(fmt)
    top = (1 << fmt.exp_bits) - 1
    if fmt.special == "ieee":
        return exp != top
    if fmt.special == "fn":
        return ~((exp == top) & (man == (1 << fmt.man_bits) - 1))
    return torch.ones_like(exp, dtype=torch.bool)


def _significand_shift(fmt: FloatSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Every code's finite value as ``sig << shift`` (``sig`` signed, ``|sig| < 2^(M+1)``,
    ``shift >= 0``) in units of the smallest subnormal; non-finite codes give ``sig = 0``."""
    sign, exp, man = _fields(fmt)
    sig = torch.where(exp == 0, man, man + (1 << fmt.man_bits))
    shift = (exp - 1).clamp(min=0)
    sig = torch.where(sign == 1, -sig, sig)
    return torch.where(finite(fmt), sig, torch.zeros_like(sig)), shift


def fixed_values(fmt: FloatSpec) -> tuple[torch.Tensor, int]:
    """``(fixed, frac_bits)``: every code's value times ``2^frac_bits``, exact int64, with
    ``frac_bits = bias - 1 + man_bits`` (the smallest subnormal is 1). NaN and infinity
    codes give 0 (see ``finite``); both zeros give 0."""
    fmt = _spec(fmt)
    sig, shift = _significand_shift(fmt)
    return sig << shift, frac_bits(fmt)


def nan_code(fmt: FloatSpec) -> int | None:
    """The canonical NaN code ``encode`` produces (E4M3 ``0x7F``, E5M2 ``0x7E``), or None."""
    fmt = _spec(fmt)
    if fmt.special == "fn":
        return (1 << (fmt.bits - 1)) - 1
    if fmt.special == "ieee":
        return (((1 << fmt.exp_bits) - 1) << fmt.man_bits) | (1 << (fmt.man_bits - 1))
    return None


def _check_codes(codes, fmt: FloatSpec) -> torch.Tensor:
    return check_codes(codes, fmt.name, 0, (1 << fmt.bits) - 1)


def _values(fmt: FloatSpec) -> torch.Tensor:
    """Every code's value, float64 (exact: at most 4 significant bits, exponents in range),
    with -0.0, ±inf and NaN."""
    sign, exp, man = _fields(fmt)
    fixed, fb = fixed_values(fmt)
    mags = fixed.abs().to(torch.float64) * 2.0 ** -fb
    values = torch.where(sign == 1, -mags, mags)
    if fmt.special == "ieee":
        inf = (exp == (1 << fmt.exp_bits) - 1) & (man == 0)
        values = torch.where(inf, torch.where(sign == 1, -math.inf, math.inf), values)
    return torch.where(finite(fmt) | (values.abs() == math.inf), values, math.nan)


def decode(codes: torch.Tensor, fmt: FloatSpec) -> torch.Tensor:
    """The value of each code, float64: NaN codes -> nan, E5M2 infinities -> ±inf, the
    negative zero -> -0.0. Codes outside ``0 .. 2^bits - 1`` or non-integer: ValueError."""
    fmt = _spec(fmt)
    return _values(fmt)[_check_codes(codes, fmt)]


def _boundaries(fmt: FloatSpec, rounding: str) -> torch.Tensor:
    """Rounding thresholds on ``|x|`` over the positive finite codes ``0 .. top`` (ascending
    in value): ``|x|`` gets the code equal to the number of thresholds strictly below it.
    Threshold ``j`` is the midpoint of codes ``j`` and ``j + 1`` (exact in float64), moved
    one float64 ulp down when the tie must go up (to ``j + 1``): for ``"even"`` when ``j``
    is odd, for ``"away"`` always."""
    fixed, fb = fixed_values(fmt)
    top = (1 << (fmt.bits - 1)) - 1
    while not bool(finite(fmt)[top]):
        top -= 1
    mags = fixed[:top + 1].to(torch.float64) * 2.0 ** -fb
    mids = (mags[:-1] + mags[1:]) / 2
    up = torch.ones(len(mids), dtype=torch.bool) if rounding == "away" \
        else torch.arange(len(mids)) % 2 == 1
    return torch.where(up, torch.nextafter(mids, torch.full_like(mids, -math.inf)), mids)


def encode(x: torch.Tensor, fmt: FloatSpec, *, rounding: str = "even") -> torch.Tensor:
    """Codes (int64) of a float tensor ``x``: nearest finite value, ties to even
    (``rounding="even"``) or away from zero (``"away"``), saturating at ``±max_normal``
    (``±inf`` too), subnormals kept, the sign kept (negative zero for ``-0.0`` and negative
    values that round to 0). NaN -> ``nan_code(fmt)``; in a format without NaN (E3M2, E2M3,
    E2M1) NaN input is a ValueError. See the module docstring for how this compares with
    ml_dtypes' and torch's casts."""
    fmt = _spec(fmt)
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"rounding must be one of {ROUNDING_MODES}, got {rounding!r}")
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        raise ValueError(f"encode takes a floating-point tensor, got {x.dtype}")
    x = x.to(torch.float64)  # exact for every float dtype torch has
    nan = torch.isnan(x)
    if fmt.special == "none" and bool(nan.any()):
        raise ValueError(f"{fmt.name} has no NaN: cannot encode NaN input")
    mag = torch.searchsorted(_boundaries(fmt, rounding), torch.where(nan, 0.0, x.abs()))
    codes = mag | (torch.signbit(x).to(torch.int64) << (fmt.bits - 1))
    if fmt.special != "none":
        codes = torch.where(nan, nan_code(fmt), codes)
    return codes


def _product_terms(w, x, wfmt: FloatSpec, xfmt: FloatSpec, acc_width: int,
                   overflow: str) -> torch.Tensor:
    """``fixed(w) * fixed(x)`` per element, reduced so that the accumulation stays exact in
    int64: for ``"wrap"`` modulo ``2^acc_width`` (exact, the sum is taken modulo the same),
    for ``"saturate"`` clamped to ``±2^62`` (a product that large saturates any accumulator
    of at most 62 bits whatever it is added to). The full product can exceed int64
    (E5M2 x E5M2: ``57344^2 * 2^32 > 2^63``), hence the ``sig << shift`` form."""
    sig_w, sh_w = _significand_shift(wfmt)
    sig_x, sh_x = _significand_shift(xfmt)
    sig = sig_w[w] * sig_x[x]                 # |sig| < 2^8
    shift = sh_w[w] + sh_x[x]
    if overflow == "wrap":
        keep = (acc_width - shift).clamp(min=0)  # low bits of sig that survive the modulus
        low = sig & ((torch.ones_like(keep) << keep) - 1)
        return arith.wrap(torch.where(shift < acc_width, low << shift.clamp(max=62), 0),
                          acc_width)
    capped = shift.clamp(max=62)
    big = sig.abs() >= (torch.ones_like(capped) << (62 - capped))
    return torch.where(big, torch.sign(sig) << 62, sig << capped)


def product_fixed(w_codes: torch.Tensor, x_codes: torch.Tensor, wfmt: FloatSpec,
                  xfmt: FloatSpec) -> torch.Tensor:
    """Exact ``decode(w) * decode(x) * 2^(frac_w + frac_x)`` (int64, broadcasting) for
    finite codes; ValueError on a non-finite code or where ``|product| >= 2^62`` in those
    units (only E5M2 x E5M2 products of magnitude ``>= 2^30``)."""
    wfmt, xfmt = _spec(wfmt), _spec(xfmt)
    w, x = _finite_codes(w_codes, wfmt, "w"), _finite_codes(x_codes, xfmt, "x")
    w, x = torch.broadcast_tensors(w, x)
    terms = _product_terms(w, x, wfmt, xfmt, 62, "saturate")
    if bool((terms.abs() >= 1 << 62).any()):
        raise ValueError("product_fixed: a product does not fit int64")
    return terms


def _finite_codes(codes, fmt: FloatSpec, what: str) -> torch.Tensor:
    codes = _check_codes(codes, fmt)
    if not bool(finite(fmt)[codes].all()):
        raise ValueError(f"{what}: {fmt.name} NaN/inf codes have no fixed-point value")
    return codes


def mac_trace(w: torch.Tensor, x: torch.Tensor, valid: torch.Tensor, clear: torch.Tensor,
              wfmt: FloatSpec, xfmt: FloatSpec, *, acc_width: int,
              overflow: str = "wrap") -> torch.Tensor:
    """Accumulator after each cycle of a minifloat x minifloat MAC (1-d tensors over time,
    from an accumulator of 0), exactly ``golden.arith.mac_trace`` with products
    ``decode(w) * decode(x) * 2^(frac_w + frac_x)``::

        base = 0 if clear[t] else acc
        acc' = reduce(base + w[t] x[t] 2^(frac_w + frac_x)) if valid[t] else base

    The accumulator is ``acc_width`` (1..62) bits signed, fixed point with
    ``frac_w + frac_x`` fractional bits (E4M3 x E4M3: 18; E5M2 x E5M2: 32), wrapped modulo
    ``2^acc_width`` or saturated after each addition. Every code, valid cycle or not, must
    be finite: NaN and infinity codes have no fixed-point value and raise ValueError (the
    MAC's bench never drives them; the hardware's behaviour on them is unspecified).
    """
    wfmt, xfmt = _spec(wfmt), _spec(xfmt)
    arith._check(acc_width, overflow)
    w, x = _finite_codes(w, wfmt, "w"), _finite_codes(x, xfmt, "x")
    valid = torch.as_tensor(valid, dtype=torch.bool)
    clear = torch.as_tensor(clear, dtype=torch.bool)
    if not w.shape == x.shape == valid.shape == clear.shape or w.dim() != 1:
        raise ValueError("mac_trace: w, x, valid and clear must be 1-d and of one length")
    terms = _product_terms(w, x, wfmt, xfmt, acc_width, overflow)
    ones = torch.ones_like(terms)
    if overflow == "saturate" or len(terms) < 1 << (64 - acc_width):
        # arith's wrap path takes a prefix sum of the terms: with each |term| < 2^(acc_width
        # - 1) it stays inside int64 for fewer than 2^(64 - acc_width) cycles.
        return arith.mac_trace(terms, ones, valid, clear, acc_width=acc_width,
                               overflow=overflow)
    out = torch.empty_like(terms)
    acc = torch.zeros((), dtype=torch.int64)
    for t in range(len(terms)):
        base = torch.zeros_like(acc) if clear[t] else acc
        acc = arith.wrap(base + terms[t], acc_width) if valid[t] else base
        out[t] = acc
    return out
