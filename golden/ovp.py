"""OliVe outlier–victim pair (OVP) encoding (ISCA 2023), after ``shared/spec/formats.md``.

Values are in units of the quantization step. Codes are unsigned bit patterns (int64
tensors); elements ``2k`` and ``2k+1`` of the LAST dimension form a pair, which must
therefore have even length (``ValueError`` otherwise).

Choices this module makes (and the hardware follows):

* Decoding: a code equal to the identifier ``10..0`` is a victim (0); a code whose neighbour
  is the identifier is an abfloat outlier; otherwise both are normals. A pair of two
  identifiers (never produced by ``encode``) decodes to two zeros.
* ``<exponent, integer>`` canonical forms: int normal ``v`` → ``<0, v>``; victim → ``<0, 0>``;
  abfloat → ``<e + bias, ±(2^M + m)>``; flint4 normal → odd-part form ``<k, odd>``
  (2 → ``<1, 1>``, 6 → ``<1, 3>``, 16 → ``<4, 1>``, ...).
* Encoding: an element is an outlier when its nearest value on the combined grid (normals
  and ± outliers) is an outlier, i.e. its magnitude is past the midpoint between the
  largest normal and the smallest outlier; rounding is to the nearest grid value with
  ties to the numerically larger value (the reference kernel), saturating past the largest
  outlier. Non-outliers round on the normal grid. If both elements of a pair are outliers,
  ``both_outliers="first"`` (default, the reference) keeps the even one, ``"larger"`` keeps
  the larger magnitude (ties: the even one); the other becomes the victim.
* NaN or ±Inf input raises ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from golden import arith

__all__ = ["OVPFormat", "decode", "decode_exp_int", "encode", "pack_bytes", "unpack_bytes",
           "quantize", "dequantize", "fake_quantize", "dot", "gemm", "product_exp_int",
           "split_mul8", "CLIP_RATIOS"]

# flint4 magnitude field mmm -> value, as tabled in formats.md
FLINT4_VALUES = (0, 1, 2, 3, 16, 8, 4, 6)


@dataclass(frozen=True)
class OVPFormat:
    bits: int = 4
    normal: str = "int"
    exp_bits: int = 2
    man_bits: int = 1
    bias: int = 2
    both_outliers: str = "first"

    def __post_init__(self):
        if self.bits not in (4, 8):
            raise ValueError(f"OVP codes are 4 or 8 bits, got {self.bits!r}")
        if self.normal not in ("int", "flint") or (self.normal == "flint" and self.bits != 4):
            raise ValueError(f"normal type must be int, or flint for 4 bits; got "
                             f"{self.normal!r} with {self.bits} bits")
        if not (isinstance(self.exp_bits, int) and isinstance(self.man_bits, int)
                and self.exp_bits >= 1 and self.man_bits >= 0
                and 1 + self.exp_bits + self.man_bits == self.bits):
            raise ValueError(f"abfloat needs 1 + E + M = {self.bits} bits, got "
                             f"E={self.exp_bits}, M={self.man_bits}")
        if not isinstance(self.bias, int) or self.bias < 0:
            raise ValueError(f"bias must be a non-negative int, got {self.bias!r}")
        if self.both_outliers not in ("first", "larger"):
            raise ValueError(f"both_outliers must be 'first' or 'larger', got "
                             f"{self.both_outliers!r}")

    @classmethod
    def int4(cls, **kw):
        return cls(4, "int", 2, 1, 2, **kw)

    @classmethod
    def flint4(cls, **kw):
        return cls(4, "flint", 2, 1, 3, **kw)

    @classmethod
    def int8(cls, exp_bits: int = 2, man_bits: int = 5, bias: int = 2, **kw):
        return cls(8, "int", exp_bits, man_bits, bias, **kw)

    @property
    def identifier(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def max_normal(self) -> int:
        return 16 if self.normal == "flint" else (1 << (self.bits - 1)) - 1

    # --- tables, indexed by code -------------------------------------------------------
    def normal_table(self) -> torch.Tensor:
        """Value of every code read as a normal (the identifier reads as 0)."""
        codes = torch.arange(1 << self.bits)
        if self.normal == "int":
            values = torch.where(codes >= self.identifier, codes - (1 << self.bits), codes)
            return torch.where(codes == self.identifier, torch.zeros_like(codes), values)
        mags = torch.tensor(FLINT4_VALUES)[codes & 7]
        return torch.where(codes >= 8, -mags, mags)

    def outlier_table(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(value, exponent, integer)`` of every code read as abfloat."""
        codes = torch.arange(1 << self.bits)
        m = codes & ((1 << self.man_bits) - 1)
        e = (codes >> self.man_bits) & ((1 << self.exp_bits) - 1)
        sign = torch.where(codes >> (self.bits - 1) == 1, -1, 1)
        integer = sign * ((1 << self.man_bits) + m)
        exponent = e + self.bias
        return integer << exponent, exponent, integer

    def normal_values(self) -> torch.Tensor:
        """Sorted distinct values normals can take (the identifier excluded)."""
        table = self.normal_table()
        valid = torch.arange(1 << self.bits) != self.identifier
        return torch.unique(table[valid])

    def outlier_magnitudes(self) -> torch.Tensor:
        """Sorted positive outlier magnitudes (``e = 0, m = 0`` excluded)."""
        values = self.outlier_table()[0][:self.identifier]  # sign bit clear
        return torch.sort(values[1:]).values

    def grid(self) -> torch.Tensor:
        mags = self.outlier_magnitudes()
        return torch.unique(torch.cat([self.normal_values(), mags, -mags]))


def _pairs(codes: torch.Tensor, fmt: OVPFormat) -> tuple[torch.Tensor, torch.Tensor]:
    codes = torch.as_tensor(codes, dtype=torch.int64)
    if codes.dim() == 0 or codes.shape[-1] % 2:
        raise ValueError(f"OVP tensors pair elements along the last dimension, which must "
                         f"have even length; got shape {tuple(codes.shape)}")
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= 1 << fmt.bits):
        raise ValueError(f"OVP{fmt.bits} codes are 0..{(1 << fmt.bits) - 1}")
    return codes, torch.roll(codes.reshape(*codes.shape[:-1], -1, 2), 1, -1).reshape(codes.shape)


def _roles(codes, fmt):
    codes, neighbour = _pairs(codes, fmt)
    victim = codes == fmt.identifier
    outlier = ~victim & (neighbour == fmt.identifier)
    return codes, victim, outlier


def decode(codes: torch.Tensor, fmt: OVPFormat) -> torch.Tensor:
    """Values (int64, LSB units) of OVP codes paired along the last dimension."""
    codes, victim, outlier = _roles(codes, fmt)
    value = torch.where(outlier, fmt.outlier_table()[0][codes], fmt.normal_table()[codes])
    return torch.where(victim, torch.zeros_like(value), value)


_FLINT_EXP_INT = {0: (0, 0), 1: (0, 1), 2: (1, 1), 3: (0, 3), 4: (2, 1), 6: (1, 3),
                  8: (3, 1), 16: (4, 1)}


def decode_exp_int(codes: torch.Tensor, fmt: OVPFormat) -> tuple[torch.Tensor, torch.Tensor]:
    """``(exponent, integer)`` per element with ``value = integer << exponent`` (canonical
    forms in the module docstring)."""
    codes, victim, outlier = _roles(codes, fmt)
    _, o_exp, o_int = fmt.outlier_table()
    normal = fmt.normal_table()[codes]
    if fmt.normal == "int":
        n_exp, n_int = torch.zeros_like(normal), normal
    else:
        table = torch.zeros(17, 2, dtype=torch.int64)
        for value, pair in _FLINT_EXP_INT.items():
            table[value] = torch.tensor(pair)
        n_exp, odd = table[normal.abs()].unbind(-1)
        n_int = torch.where(normal < 0, -odd, odd)
    exp = torch.where(outlier, o_exp[codes], n_exp)
    integer = torch.where(outlier, o_int[codes], n_int)
    zero = torch.zeros_like(exp)
    return torch.where(victim, zero, exp), torch.where(victim, zero, integer)


def _round_to(grid: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Nearest value of sorted ``grid``; ties to the larger; saturating at the ends."""
    hi = torch.searchsorted(grid, x).clamp(1, len(grid) - 1)
    lo_v, hi_v = grid[hi - 1].to(x.dtype), grid[hi].to(x.dtype)
    return torch.where(hi_v - x <= x - lo_v, grid[hi], grid[hi - 1])


def _value_to_code(values: torch.Tensor, keys: torch.Tensor, codes: torch.Tensor):
    order = torch.argsort(keys)
    return codes[order][torch.searchsorted(keys[order], values)]


def encode(x: torch.Tensor, fmt: OVPFormat) -> torch.Tensor:
    """OVP codes of ``x`` (float, LSB units), pairs along the last dimension."""
    x = torch.as_tensor(x, dtype=torch.float64)
    _pairs(torch.zeros(x.shape, dtype=torch.int64), fmt)  # shape check
    if not bool(torch.isfinite(x).all()):
        raise ValueError("OVP quantizer input contains NaN or Inf")
    all_codes = torch.arange(1 << fmt.bits)
    not_id = all_codes != fmt.identifier
    normal_keys, normal_codes = fmt.normal_table()[not_id], all_codes[not_id]
    if fmt.normal == "flint":  # drop the negative zero so that 0 maps to code 0
        keep = ~((normal_keys == 0) & (normal_codes != 0))
        normal_keys, normal_codes = normal_keys[keep], normal_codes[keep]
    out_values = fmt.outlier_table()[0]
    out_codes = all_codes[(all_codes & (fmt.identifier - 1)) != 0]  # e = m = 0 excluded
    out_keys = out_values[out_codes]

    nearest = _round_to(fmt.grid(), x)
    is_outlier = nearest.abs() > fmt.max_normal
    normal_code = _value_to_code(_round_to(fmt.normal_values(), x), normal_keys, normal_codes)
    outlier_code = _value_to_code(torch.where(is_outlier, nearest, out_keys[0]), out_keys,
                                  out_codes)

    pair = lambda t: t.reshape(*t.shape[:-1], -1, 2)  # noqa: E731
    o, mag = pair(is_outlier), pair(nearest.abs())
    keep_first = o[..., 0] & (~o[..., 1] | (fmt.both_outliers == "first")
                              | (mag[..., 0] >= mag[..., 1]))
    keep_second = o[..., 1] & ~keep_first
    ident = torch.full_like(pair(normal_code)[..., 0], fmt.identifier)
    first = torch.where(keep_first, pair(outlier_code)[..., 0],
                        torch.where(keep_second, ident, pair(normal_code)[..., 0]))
    second = torch.where(keep_second, pair(outlier_code)[..., 1],
                         torch.where(keep_first, ident, pair(normal_code)[..., 1]))
    return torch.stack([first, second], -1).reshape(x.shape)


NIBBLE_ORDERS = ("low-first", "high-first")


def pack_bytes(codes: torch.Tensor, fmt: OVPFormat, nibble_order: str = "low-first"):
    """4-bit codes → one byte per pair (element 2k in the low nibble for ``low-first``);
    8-bit codes → the same codes as uint8."""
    codes, _ = _pairs(codes, fmt)
    if nibble_order not in NIBBLE_ORDERS:
        raise ValueError(f"nibble order must be one of {NIBBLE_ORDERS}, got {nibble_order!r}")
    if fmt.bits == 8:
        return codes.to(torch.uint8)
    p = codes.reshape(*codes.shape[:-1], -1, 2)
    lo, hi = (p[..., 0], p[..., 1]) if nibble_order == "low-first" else (p[..., 1], p[..., 0])
    return (lo | hi << 4).to(torch.uint8)


def unpack_bytes(data: torch.Tensor, fmt: OVPFormat, nibble_order: str = "low-first"):
    if nibble_order not in NIBBLE_ORDERS:
        raise ValueError(f"nibble order must be one of {NIBBLE_ORDERS}, got {nibble_order!r}")
    data = torch.as_tensor(data).to(torch.int64)
    if fmt.bits == 8:
        return data
    lo, hi = data & 15, data >> 4
    first, second = (lo, hi) if nibble_order == "low-first" else (hi, lo)
    return torch.stack([first, second], -1).reshape(*data.shape[:-1], -1)


# alpha = base * r, r = 0.75, 0.77, ..., 2.49 (88 candidates), base = max|mean ± 3 std|
CLIP_RATIOS = (75 + 2 * torch.arange(88, dtype=torch.float64)) / 100


def quantize(x: torch.Tensor, fmt: OVPFormat, axis: int | None = None):
    """Codes and scale with the spec's clip search: per tensor (``axis=None``, activations)
    or per index of ``axis`` (weights: ``axis=0`` of ``[N, K]``). The clip ``alpha`` maps to
    the largest normal: ``scale = alpha / max_normal``; the least-MSE ``alpha`` wins."""
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.numel() == 0:
        raise ValueError("cannot quantize an empty tensor")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("OVP quantizer input contains NaN or Inf")
    if axis is None:
        dims = list(range(x.dim()))
    else:
        if not -x.dim() <= axis < x.dim():
            raise ValueError(f"axis {axis} out of range for a {x.dim()}-d tensor")
        dims = [d for d in range(x.dim()) if d != axis % x.dim()]
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True, correction=0) if x.numel() > 1 else torch.zeros_like(mean)
    base = torch.maximum((mean + 3 * std).abs(), (mean - 3 * std).abs())
    base = torch.where(base > 0, base, x.abs().amax(dim=dims, keepdim=True).clamp(min=1e-30))
    best_err = torch.full_like(base, float("inf"))
    best_scale = base / fmt.max_normal
    for ratio in CLIP_RATIOS:
        scale = base * ratio / fmt.max_normal
        err = ((decode(encode(x / scale, fmt), fmt) * scale - x) ** 2).sum(dim=dims,
                                                                            keepdim=True)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
    return encode(x / best_scale, fmt), best_scale


def dequantize(codes: torch.Tensor, scale: torch.Tensor, fmt: OVPFormat) -> torch.Tensor:
    return decode(codes, fmt).to(torch.float64) * scale


def fake_quantize(x: torch.Tensor, fmt: OVPFormat, axis: int | None = None) -> torch.Tensor:
    codes, scale = quantize(x, fmt, axis)
    return dequantize(codes, scale, fmt).to(torch.as_tensor(x).dtype)


def _operand(values_or_codes, fmt):
    return decode(values_or_codes, fmt) if fmt is not None else \
        torch.as_tensor(values_or_codes, dtype=torch.int64)


def dot(a, a_fmt: OVPFormat, b, b_fmt: OVPFormat | None, *, acc_width: int,
        overflow: str = "wrap") -> torch.Tensor:
    """Dot product over the last dimension; ``b_fmt=None`` means ``b`` holds integers."""
    return arith.dot(decode(a, a_fmt), _operand(b, b_fmt), acc_width=acc_width,
                     overflow=overflow)


def gemm(a, a_fmt: OVPFormat, b, b_fmt: OVPFormat | None, *, acc_width: int,
         overflow: str = "wrap") -> torch.Tensor:
    """``A [M, K]`` (OVP codes, pairs along K) times ``B [K, N]`` (OVP codes paired along K,
    or integers with ``b_fmt=None``)."""
    b_values = b if b_fmt is None else decode(torch.as_tensor(b).T, b_fmt).T
    return arith.gemm(decode(a, a_fmt), b_values, acc_width=acc_width, overflow=overflow)


def product_exp_int(ca, cb, a_fmt: OVPFormat, b_fmt: OVPFormat):
    """``<e1 + e2, i1 * i2>`` of two OVP-coded tensors of one shape."""
    ea, ia = decode_exp_int(ca, a_fmt)
    eb, ib = decode_exp_int(cb, b_fmt)
    return ea + eb, ia * ib


def split_mul8(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x*y`` for int8 ``x, y`` from four 4-bit products (spec, section OVP):
    ``(xh*yh << 8) + (xh*yl << 4) + (xl*yh << 4) + xl*yl``, ``xh`` signed, ``xl`` unsigned."""
    x, y = torch.as_tensor(x, dtype=torch.int64), torch.as_tensor(y, dtype=torch.int64)
    xh, xl, yh, yl = x >> 4, x & 15, y >> 4, y & 15   # >> is arithmetic: xh is signed
    return (xh * yh << 8) + (xh * yl << 4) + (xl * yh << 4) + xl * yl
