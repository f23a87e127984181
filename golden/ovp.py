"""OliVe outlier–victim pair (OVP) encoding (ISCA 2023), after ``docs/formats.md``.

The contract, shared with ``hw/ovp.py``:

* Codes are UNSIGNED bit patterns ``0 .. 2^bits - 1`` in int64 tensors; values are int64 in
  units of the quantization step (LSB). Elements ``2k`` and ``2k+1`` of the LAST dimension
  form a pair, so that dimension must have even length (``ValueError`` otherwise).
* Normals: int is two's complement in ``-(2^(b-1)-1) .. 2^(b-1)-1``; flint4 is sign–magnitude
  ``s|mmm`` with ``mmm`` = 000..111 → 0, 1, 2, 3, 16, 8, 4, 6. The identifier ``10..0`` is
  never a normal (for flint4 it is the negative zero).
* Outliers are abfloat ``s|e..e|m..m``: ``(-1)^s * (2^M + m) << (e + bias)``; ``e = m = 0`` is
  never produced by ``encode``.
* Decoding a pair: an identifier is a victim (0); a code whose neighbour is the identifier
  is an abfloat outlier; otherwise both codes are normals. A pair of two identifiers (an
  invalid pair ``encode`` never produces) decodes to two zeros.
* ``<exponent, integer>`` canonical forms (value = ``integer << exponent``): int normal ``v``
  → ``<0, v>``; victim → ``<0, 0>``; abfloat → ``<e + bias, ±(2^M + m)>``; flint4 normals →
  odd-part form ``0 → <0,0>, 1 → <0,1>, 2 → <1,1>, 3 → <0,3>, 4 → <2,1>, 6 → <1,3>,
  8 → <3,1>, 16 → <4,1>`` (negatives: negative integer).

Encoding (``encode``, the golden side only): each element rounds to the nearest value of
the combined grid (normals ∪ ± outlier magnitudes), ties to the numerically LARGER value
(the reference kernel), saturating beyond the largest outlier. The element is an outlier
exactly when that rounded value is not a normal value: for int4, ``x >= 9.5`` or
``x < -9.5`` (``-9.5`` ties to ``-7``). Non-outliers thus sit on the nearest normal value
(the same rounding restricted to the normals). In a pair with one outlier the neighbour
becomes the victim (identifier); with two outliers ``both_outliers="first"`` (the default,
the reference) keeps the even one and ``"larger"`` keeps the one of larger input
magnitude ``|x|`` (before rounding; ties keep the even one). The kept outlier keeps its
grid value. NaN or ±Inf input raises ``ValueError``. (Where outlier magnitudes overlap
the normal range, e.g. OVP8 E3M4 bias 2 from 68, a value that is also a normal is a normal.)

``quantize`` is the spec's tensor-level quantizer (clip search over ``CLIP_RATIOS``);
``dot``/``gemm`` accumulate ``decode(a) * decode(b)`` exactly with ``golden.arith``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from quantrtl.formats.integer import is_int
from quantrtl.formats.ovp import NIBBLE_ORDERS, OVPSpec
from quantrtl.golden import arith
from quantrtl.golden.codes import check_codes

__all__ = ["OVPFormat", "FLINT4_VALUES", "NIBBLE_ORDERS", "CLIP_RATIOS", "decode",
           "decode_exp_int", "encode", "pack_bytes", "unpack_bytes", "quantize", "dequantize",
           "fake_quantize", "dot", "gemm", "product_exp_int", "split_mul8"]

# flint4 magnitude field mmm -> value, as tabled in formats.md
FLINT4_VALUES = (0, 1, 2, 3, 16, 8, 4, 6)
BOTH_OUTLIER_RULES = ("first", "larger")
LUT_LIMIT = 1 << 16  # rounding by table up to this many entries, by binary search beyond

# Clip search: alpha = base * r, r = 0.75, 0.77, ..., 2.49 (88 candidates)
CLIP_RATIOS = tuple((75 + 2 * i) / 100 for i in range(88))


@dataclass(frozen=True)
class OVPFormat(OVPSpec):
    """An OVP format (the descriptor ``quantrtl.formats.OVPSpec``: ``bits`` per code, the
    normal type, the abfloat outlier's ``exp_bits`` E, ``man_bits`` M and ``bias``) with
    the encoder's rule for a pair of two outliers and the golden value tables."""

    both_outliers: str = "first"

    def __post_init__(self):
        super().__post_init__()
        if self.both_outliers not in BOTH_OUTLIER_RULES:
            raise ValueError(f"both_outliers must be one of {BOTH_OUTLIER_RULES}, got "
                             f"{self.both_outliers!r}")

    @property
    def name(self) -> str:
        normal = "-flint" if self.normal == "flint" else ""
        return f"ovp{self.bits}{normal}-e{self.exp_bits}m{self.man_bits}b{self.bias}"

    def __str__(self):
        return self.name

    def normal_values(self) -> torch.Tensor:
        """Sorted distinct values a normal code takes, int64."""
        return _tables(self).normal_values.clone()

    def outlier_magnitudes(self) -> torch.Tensor:
        """Sorted positive outlier magnitudes (``e = m = 0`` excluded), int64."""
        mags = _tables(self).outlier_values
        return mags[mags > 0].clone()

    def grid(self) -> torch.Tensor:
        """Sorted union of the normal values and ± outlier magnitudes, int64."""
        return _tables(self).grid.clone()


@dataclass(frozen=True)
class _Tables:
    normal_by_code: torch.Tensor    # value of each code read as a normal (identifier: 0)
    normal_exp: torch.Tensor        # <exp, int> of each code read as a normal
    normal_int: torch.Tensor
    outlier_by_code: torch.Tensor   # value, exp, int of each code read as abfloat
    outlier_exp: torch.Tensor
    outlier_int: torch.Tensor
    normal_values: torch.Tensor     # sorted
    outlier_values: torch.Tensor    # sorted, both signs, e = m = 0 excluded
    grid: torch.Tensor              # sorted normals ∪ outliers
    grid_codes: torch.Tensor        # code of each grid value: normal code if it is a normal
    grid_sums: torch.Tensor         # grid[j] + grid[j+1], float64: 2x >= sum -> round up
    grid_is_outlier: torch.Tensor   # grid value is not a normal value
    lut_low: int                    # rounding by table: floor(2x) - lut_low indexes the
    lut_value: torch.Tensor | None  # rounded value (float64) and whether it is an outlier
    lut_outlier: torch.Tensor | None


# <exp, odd> of the flint4 magnitudes 0, 1, 2, 3, 4, 6, 8, 16
_FLINT_EXP_INT = {0: (0, 0), 1: (0, 1), 2: (1, 1), 3: (0, 3), 4: (2, 1), 6: (1, 3), 8: (3, 1),
                  16: (4, 1)}


@lru_cache(maxsize=None)
def _tables(fmt: OVPFormat) -> _Tables:
    codes = torch.arange(1 << fmt.bits, dtype=torch.int64)
    ident = codes == fmt.identifier
    if fmt.normal == "int":
        normal = torch.where(codes >= fmt.identifier, codes - (1 << fmt.bits), codes)
        normal = torch.where(ident, torch.zeros_like(codes), normal)
        n_exp, n_int = torch.zeros_like(normal), normal
    else:
        mags = torch.tensor(FLINT4_VALUES, dtype=torch.int64)[codes & 7]
        sign = torch.where(codes >= 8, -1, 1)
        normal = sign * mags
        pairs = torch.tensor([_FLINT_EXP_INT[int(v)] for v in mags], dtype=torch.int64)
        n_exp, n_int = pairs[:, 0], sign * pairs[:, 1]
    m = codes & ((1 << fmt.man_bits) - 1)
    e = (codes >> fmt.man_bits) & ((1 << fmt.exp_bits) - 1)
    o_int = torch.where(codes >= fmt.identifier, -1, 1) * ((1 << fmt.man_bits) + m)
    o_exp = e + fmt.bias
    outlier = o_int << o_exp

    # Value -> code for the encoder: every normal code but the identifier (flint: +0 only
    # for zero), every abfloat code but e = m = 0.
    normal_keys = normal[~ident]
    normal_codes = codes[~ident]
    normal_values, first = torch.unique(normal_keys, return_inverse=True)
    # the smallest code of each value: 0 (not a negative zero) for flint zero
    order = torch.full_like(normal_values, 1 << fmt.bits)
    order = order.scatter_reduce(0, first, normal_codes, reduce="amin")
    o_valid = (codes & (fmt.identifier - 1)) != 0
    o_vals, o_order = torch.sort(outlier[o_valid])
    o_codes = codes[o_valid][o_order]
    grid = torch.unique(torch.cat([normal_values, o_vals]))
    sums = grid[:-1] + grid[1:]
    grid_is_outlier = ~torch.isin(grid, normal_values)
    n_at = torch.searchsorted(normal_values, grid).clamp(max=len(normal_values) - 1)
    o_at = torch.searchsorted(o_vals, grid).clamp(max=len(o_vals) - 1)
    grid_codes = torch.where(grid_is_outlier, o_codes[o_at], order[n_at])
    # The midpoint sums are integers, so "2x >= sum" is "floor(2x) >= sum": one table
    # indexed by floor(2x), clamped to [sums[0] - 1, sums[-1]], holds the rounding.
    lut_low, lut_value, lut_outlier = int(sums[0]) - 1, None, None
    if int(sums[-1]) - lut_low < LUT_LIMIT:
        k = torch.arange(lut_low, int(sums[-1]) + 1, dtype=torch.int64)
        idx = torch.searchsorted(sums, k, right=True)
        lut_value, lut_outlier = grid[idx].to(torch.float64), grid_is_outlier[idx]
    return _Tables(normal, n_exp, n_int, outlier, o_exp, o_int, normal_values, o_vals, grid,
                   grid_codes, sums.to(torch.float64), grid_is_outlier, lut_low, lut_value,
                   lut_outlier)


def _check_codes(codes, fmt: OVPFormat) -> torch.Tensor:
    codes = check_codes(codes, f"OVP{fmt.bits}", 0, (1 << fmt.bits) - 1)
    _check_pairs(codes.shape)
    return codes


def _check_pairs(shape):
    if len(shape) == 0 or shape[-1] % 2:
        raise ValueError(f"OVP pairs elements along the last dimension, which must have even "
                         f"length; got shape {tuple(shape)}")


def _pairs(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(*t.shape[:-1], -1, 2)


def _roles(codes: torch.Tensor, fmt: OVPFormat):
    """``(victim, outlier)`` masks of each element."""
    ident = codes == fmt.identifier
    p = _pairs(ident)
    neighbour_ident = torch.stack([p[..., 1], p[..., 0]], -1).reshape(codes.shape)
    return ident, ~ident & neighbour_ident


def decode(codes: torch.Tensor, fmt: OVPFormat) -> torch.Tensor:
    """Values (int64, LSB units) of OVP codes paired along the last dimension."""
    codes = _check_codes(codes, fmt)
    t = _tables(fmt)
    victim, outlier = _roles(codes, fmt)
    value = torch.where(outlier, t.outlier_by_code[codes], t.normal_by_code[codes])
    return torch.where(victim, torch.zeros_like(value), value)


def decode_exp_int(codes: torch.Tensor, fmt: OVPFormat) -> tuple[torch.Tensor, torch.Tensor]:
    """``(exponent, integer)`` int64 per element with ``value == integer << exponent``, in
    the canonical forms of the module docstring (what the hardware decoders output)."""
    codes = _check_codes(codes, fmt)
    t = _tables(fmt)
    victim, outlier = _roles(codes, fmt)
    exp = torch.where(outlier, t.outlier_exp[codes], t.normal_exp[codes])
    integer = torch.where(outlier, t.outlier_int[codes], t.normal_int[codes])
    zero = torch.zeros_like(exp)
    return torch.where(victim, zero, exp), torch.where(victim, zero, integer)


def _check_finite(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.is_complex():
        raise ValueError("OVP quantizer input must be real")
    x = x.to(torch.float64).contiguous()
    if not bool(torch.isfinite(x).all()):
        raise ValueError("OVP quantizer input contains NaN or Inf")
    return x


class _Work:
    """Buffers for one encoding pass over a tensor of ``shape`` (reused by the clip search)."""

    def __init__(self, shape):
        self.x2 = torch.empty(shape, dtype=torch.float64)
        self.floor = torch.empty(shape, dtype=torch.float64)
        self.index = torch.empty(shape, dtype=torch.int64)
        self.value = torch.empty(shape, dtype=torch.float64)
        self.outlier = torch.empty(shape, dtype=torch.bool)


def _round(w: _Work, t: _Tables) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest combined-grid value (float64) of every ``x = w.x2 / 2``, ties to the larger,
    saturating; and whether that value is an outlier. ``x2 >= grid[j] + grid[j+1]`` rounds
    up past ``grid[j]``; both values land in ``w``."""
    if t.lut_value is None:
        idx = torch.searchsorted(t.grid_sums, w.x2, right=True)
        w.value.copy_(t.grid[idx])
        w.outlier.copy_(t.grid_is_outlier[idx])
        return w.value, w.outlier
    torch.floor(w.x2, out=w.floor).clamp_(t.lut_low, t.lut_low + len(t.lut_value) - 1)
    index = w.index.copy_(w.floor).sub_(t.lut_low).view(-1)
    torch.index_select(t.lut_value, 0, index, out=w.value.view(-1))
    torch.index_select(t.lut_outlier, 0, index, out=w.outlier.view(-1))
    return w.value, w.outlier


def _kept(is_out: torch.Tensor, x: torch.Tensor, fmt: OVPFormat):
    """Per pair: whether the even (``keep0``) or odd (``keep1``) element stays an outlier
    (``x`` is the input, or any positive multiple of it); the other one is the victim."""
    o = _pairs(is_out)
    o0, o1 = o[..., 0], o[..., 1]
    if fmt.both_outliers == "first":
        keep0 = o0
    else:
        mag = _pairs(x).abs()
        keep0 = o0 & (~o1 | (mag[..., 0] >= mag[..., 1]))
    return keep0, o1 & ~keep0


def _encode_values(w: _Work, fmt: OVPFormat) -> torch.Tensor:
    """What ``decode(encode(x))`` gives, as float64 in ``w.value``, for ``x = w.x2 / 2``."""
    value, is_out = _round(w, _tables(fmt))
    keep0, keep1 = _kept(is_out, w.x2, fmt)
    v = _pairs(value)
    v[..., 1].masked_fill_(keep0, 0)
    v[..., 0].masked_fill_(keep1, 0)
    return value


def encode(x: torch.Tensor, fmt: OVPFormat) -> torch.Tensor:
    """OVP codes (int64) of ``x`` (real, already in LSB units), pairs along the last
    dimension; rounding, outlier and victim rules in the module docstring."""
    x = _check_finite(x)
    _check_pairs(x.shape)
    t = _tables(fmt)
    w = _Work(x.shape)
    torch.mul(x, 2, out=w.x2)
    nearest, is_out = _round(w, t)
    codes = t.grid_codes[torch.searchsorted(t.grid, nearest.to(torch.int64))]
    keep0, keep1 = _kept(is_out, x, fmt)
    c = _pairs(codes)
    c[..., 1].masked_fill_(keep0, fmt.identifier)  # the victims
    c[..., 0].masked_fill_(keep1, fmt.identifier)
    return codes


def pack_bytes(codes: torch.Tensor, fmt: OVPFormat, nibble_order: str = "low-first"):
    """uint8 storage. 4 bits: one byte per pair, element ``2k`` in the low nibble
    (``"low-first"``) or the high nibble (``"high-first"``); 8 bits: the codes as uint8."""
    if nibble_order not in NIBBLE_ORDERS:
        raise ValueError(f"nibble order must be one of {NIBBLE_ORDERS}, got {nibble_order!r}")
    codes = _check_codes(codes, fmt)
    if fmt.bits == 8:
        return codes.to(torch.uint8)
    p = _pairs(codes)
    lo, hi = (p[..., 0], p[..., 1]) if nibble_order == "low-first" else (p[..., 1], p[..., 0])
    return (lo | hi << 4).to(torch.uint8)


def unpack_bytes(data: torch.Tensor, fmt: OVPFormat, nibble_order: str = "low-first"):
    """Inverse of ``pack_bytes``: int64 codes (twice as many for 4 bits)."""
    if nibble_order not in NIBBLE_ORDERS:
        raise ValueError(f"nibble order must be one of {NIBBLE_ORDERS}, got {nibble_order!r}")
    data = torch.as_tensor(data)
    if data.is_floating_point() or data.is_complex() or data.dtype == torch.bool \
            or data.dim() == 0:
        raise ValueError(f"packed OVP data must be a non-scalar integer tensor, got "
                         f"{data.dtype} of shape {tuple(data.shape)}")
    data = data.to(torch.int64)
    if data.numel() and (int(data.min()) < 0 or int(data.max()) > 255):
        raise ValueError("packed OVP data are bytes 0..255")
    if fmt.bits == 8:
        return _check_codes(data, fmt)
    lo, hi = data & 15, data >> 4
    first, second = (lo, hi) if nibble_order == "low-first" else (hi, lo)
    return torch.stack([first, second], -1).reshape(*data.shape[:-1], -1)


def _reduce_dims(x: torch.Tensor, axis: int | None) -> list[int]:
    if axis is None:
        return list(range(x.dim()))
    if is_int(axis) and -x.dim() <= axis < x.dim():
        axis %= x.dim()
        if axis == x.dim() - 1:
            raise ValueError("the channel axis cannot be the last (pair) dimension: both "
                             "elements of a pair share one scale")
        return [d for d in range(x.dim()) if d != axis]
    raise ValueError(f"axis {axis!r} out of range for a {x.dim()}-d tensor")


def quantize(x: torch.Tensor, fmt: OVPFormat, axis: int | None = None):
    """``(codes, scale)`` with the spec's clip search.

    ``axis=None``: one scale per tensor (activations); ``axis=k``: one per index of
    dimension ``k`` (weights ``[N, K]``: ``axis=0``); ``scale`` keeps the reduced dimensions
    (size 1). Per slice, ``base = max(|mean ± 3·std|)`` (unbiased std, as the reference),
    ``alpha = base * r`` for ``r`` in ``CLIP_RATIOS``, ``scale = alpha / max_normal``; the
    ``alpha`` with the least squared error of the dequantized slice wins (the smallest ``r``
    on a tie). An all-zero slice gets ``base = 1``. ``x`` real and finite, last dim even;
    ``ValueError`` also when ``|x|`` is so large (~1e307) that a candidate scale overflows.
    """
    x = _check_finite(x)
    _check_pairs(x.shape)
    if x.numel() == 0:
        raise ValueError("cannot quantize an empty tensor")
    dims = _reduce_dims(x, axis)
    # statistics of x / max|x| (no overflow of the squares), scaled back
    amax = x.abs().amax(dim=dims, keepdim=True)
    unit = torch.where(amax > 0, amax, torch.ones_like(amax))
    mean = (x / unit).mean(dim=dims, keepdim=True)
    std = (x / unit).std(dim=dims, keepdim=True)  # at least 2 elements per slice: a pair
    base = torch.maximum((mean + 3 * std).abs(), (mean - 3 * std).abs()) * unit
    base = torch.where(base > 0, base, torch.ones_like(base))
    if not bool(torch.isfinite(base * CLIP_RATIOS[-1] / fmt.max_normal).all()):
        raise ValueError("OVP quantizer input too large: the clip search's scale overflows")
    best_err = torch.full_like(base, float("inf"))
    best_scale = base * CLIP_RATIOS[0] / fmt.max_normal
    w = _Work(x.shape)
    for ratio in CLIP_RATIOS:
        scale = base * ratio / fmt.max_normal
        x2 = torch.div(x, scale / 2, out=w.x2)  # == 2 * (x / scale) exactly, as in encode()
        # sum (v*scale - x)^2 = sum (2v - x2)^2 * scale^2 / 4
        err = (_encode_values(w, fmt).mul_(2).sub_(x2).square_().sum(dim=dims, keepdim=True)
               * (scale ** 2 / 4))
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
    return encode(x / best_scale, fmt), best_scale


def dequantize(codes: torch.Tensor, scale: torch.Tensor, fmt: OVPFormat) -> torch.Tensor:
    """``decode(codes) * scale`` in float64."""
    return decode(codes, fmt).to(torch.float64) * torch.as_tensor(scale, dtype=torch.float64)


def fake_quantize(x: torch.Tensor, fmt: OVPFormat, axis: int | None = None) -> torch.Tensor:
    """Quantize and dequantize in one step (for error measurements), in ``x``'s dtype."""
    codes, scale = quantize(x, fmt, axis)
    return dequantize(codes, scale, fmt).to(torch.as_tensor(x).dtype)


def _int8_values(b) -> torch.Tensor:
    b = torch.as_tensor(b)
    if b.is_floating_point() or b.is_complex() or b.dtype == torch.bool:
        raise ValueError(f"INT8 operands must be an integer tensor, got {b.dtype}")
    b = b.to(torch.int64)
    if b.numel() and (int(b.min()) < -128 or int(b.max()) > 127):
        raise ValueError("INT8 operands are -128..127")
    return b


def dot(a, a_fmt: OVPFormat, b, b_fmt: OVPFormat | None, acc_width: int,
        overflow: str = "wrap") -> torch.Tensor:
    """Dot product over the last dimension of ``decode(a) * decode(b)`` (``b_fmt=None``:
    ``b`` holds INT8 values), accumulated as ``golden.arith.dot`` (signed ``acc_width``)."""
    b_values = _int8_values(b) if b_fmt is None else decode(b, b_fmt)
    return arith.dot(decode(a, a_fmt), b_values, acc_width=acc_width, overflow=overflow)


def gemm(a, a_fmt: OVPFormat, b, b_fmt: OVPFormat | None, acc_width: int,
         overflow: str = "wrap") -> torch.Tensor:
    """``C = A @ B`` as ``golden.arith.gemm``: ``A [M, K]`` OVP codes paired along K (rows),
    ``B [K, N]`` OVP codes paired along K (columns) or INT8 values with ``b_fmt=None``."""
    b = torch.as_tensor(b)
    if b.dim() != 2:
        raise ValueError(f"gemm: B must be K x N, got shape {tuple(b.shape)}")
    b_values = _int8_values(b) if b_fmt is None else decode(b.T, b_fmt).T
    return arith.gemm(decode(a, a_fmt), b_values, acc_width=acc_width, overflow=overflow)


def product_exp_int(ca, cb, fmt_a: OVPFormat, fmt_b: OVPFormat | None):
    """``<e1 + e2, i1 * i2>`` elementwise for two tensors of one shape (``fmt_b=None``:
    ``cb`` holds INT8 values, ``<0, v>``)."""
    ea, ia = decode_exp_int(ca, fmt_a)
    if fmt_b is None:
        ib = _int8_values(cb)
        eb = torch.zeros_like(ib)
    else:
        eb, ib = decode_exp_int(cb, fmt_b)
    if ea.shape != eb.shape:
        raise ValueError(f"product_exp_int: shapes differ ({tuple(ea.shape)} vs "
                         f"{tuple(eb.shape)})")
    return ea + eb, ia * ib


def split_mul8(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x * y`` for int8 ``x, y`` from four 4-bit products (spec, section OVP):
    ``(xh*yh << 8) + (xh*yl << 4) + (xl*yh << 4) + xl*yl`` with ``xh = x >> 4`` signed
    (-8..7) and ``xl = x & 15`` unsigned (0..15)."""
    x, y = _int8_values(x), _int8_values(y)
    xh, xl, yh, yl = x >> 4, x & 15, y >> 4, y & 15  # >> is arithmetic: xh is signed
    return (xh * yh << 8) + (xh * yl << 4) + (xl * yh << 4) + xl * yl
