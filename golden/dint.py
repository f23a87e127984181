"""dINT (Lee et al., EMNLP 2023, W4A8): integer weights plus denormal levels near zero.

The project's reading of the paper (``shared/spec/formats.md``, section dINT4):

* ``DIntFormat(bits, denormals)``: sign–magnitude codes ``s|m..m`` (unsigned bit patterns in
  int64 tensors). Magnitude code 0 is 0, then the denormal levels ascending, then the
  integers 1, 2, 3, ... For ``dINT(4, (0.5,))``: 0, 0.5, 1, 2, 3, 4, 5, 6.
* The negative zero ``10..0`` decodes to 0 and is never produced by ``encode``.
* Rounding: to the nearest grid value; a tie goes to the grid value whose magnitude code is
  even ("ties to even on the value grid"); saturating at ``±max_value``.
* Arithmetic with INT activations is exact in fixed point: values are scaled by
  ``2^frac_bits`` (``frac_bits = -log2(smallest denormal)``), so an accumulator of ``W`` bits
  has ``W - frac_bits`` integer bits (sign included) and ``frac_bits`` fractional bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from golden import arith
from golden.integer import IntFormat, compute_qparams, dequantize as int_dequantize, \
    quantize as int_quantize

__all__ = ["DIntFormat", "encode", "decode", "decode_fixed", "quantize", "dequantize",
           "fake_quantize", "aqas_quantize", "product_fixed", "dot", "gemm", "mac_trace"]


@dataclass(frozen=True)
class DIntFormat:
    """``dINT(bits, denormals)``; ``bits`` 3..8, denormals powers of two below 1."""

    bits: int = 4
    denormals: tuple = (0.5,)

    def __post_init__(self):
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) \
                or not 3 <= self.bits <= 8:
            raise ValueError(f"dINT width must be 3..8 bits, got {self.bits!r}")
        levels = tuple(sorted(float(d) for d in self.denormals))
        for d in levels:
            if math.isnan(d) or not 0 < d < 1 or math.log2(d) != round(math.log2(d)):
                raise ValueError(f"denormal levels must be powers of two below 1, got {d}")
        if len(set(levels)) != len(levels):
            raise ValueError(f"denormal levels must be distinct, got {levels}")
        if (1 << (self.bits - 1)) - 1 - len(levels) < 1:
            raise ValueError(f"{len(levels)} denormal levels leave no integer level in "
                             f"{self.bits} bits")
        object.__setattr__(self, "denormals", levels)

    @property
    def name(self) -> str:
        if self.denormals == (0.5,):
            return f"dint{self.bits}"
        return f"dint{self.bits}-d" + "-".join(f"{d:g}" for d in self.denormals)

    @property
    def frac_bits(self) -> int:
        return -int(math.log2(min(self.denormals)))

    def magnitudes(self) -> torch.Tensor:
        """The magnitude of each magnitude code, float64."""
        n_int = (1 << (self.bits - 1)) - 1 - len(self.denormals)
        return torch.tensor([0.0, *self.denormals, *range(1, n_int + 1)], dtype=torch.float64)

    @property
    def max_value(self) -> float:
        return float(self.magnitudes()[-1])

    def values(self) -> torch.Tensor:
        """The value of every code ``0 .. 2^bits - 1`` (negative zero → 0), float64."""
        mags = self.magnitudes()
        return torch.cat([mags, -mags])

    def fixed_values(self) -> torch.Tensor:
        """``value * 2^frac_bits`` of every code, exact int64."""
        return (self.values() * (1 << self.frac_bits)).to(torch.int64)


def _check_finite(x: torch.Tensor):
    if not bool(torch.isfinite(x).all()):
        raise ValueError("dINT quantizer input contains NaN or Inf")


def encode(x: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """Codes of ``x`` (already in units of the scale): nearest grid value, ties to the even
    magnitude code, saturating; a value rounding to 0 gets code 0."""
    x = torch.as_tensor(x, dtype=torch.float64)
    _check_finite(x)
    mags = fmt.magnitudes()
    a = x.abs().clamp(max=fmt.max_value)
    hi = torch.searchsorted(mags, a).clamp(1, len(mags) - 1)   # first magnitude >= a
    lo = hi - 1
    d_lo, d_hi = a - mags[lo], mags[hi] - a
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (hi % 2 == 0))
    mag_code = torch.where(pick_hi, hi, lo)
    negative = (x < 0) & (mag_code > 0)
    return mag_code + negative.to(torch.int64) * (1 << (fmt.bits - 1))


def _check_codes(codes: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    codes = torch.as_tensor(codes, dtype=torch.int64)
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= 1 << fmt.bits):
        raise ValueError(f"{fmt.name} codes are 0..{(1 << fmt.bits) - 1}")
    return codes


def decode(codes: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    return fmt.values()[_check_codes(codes, fmt)]


def decode_fixed(codes: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """``value * 2^frac_bits`` as int64."""
    return fmt.fixed_values()[_check_codes(codes, fmt)]


# Clip search: alpha = ratio * max|w| per channel, ratio in 0.50, 0.51, ..., 1.00.
CLIP_RATIOS = torch.arange(50, 101, dtype=torch.float64) / 100


def _channel_absmax(w: torch.Tensor, axis: int) -> tuple[torch.Tensor, list[int]]:
    if w.dim() == 0 or not -w.dim() <= axis < w.dim():
        raise ValueError(f"axis {axis} out of range for a {w.dim()}-d tensor")
    dims = [d for d in range(w.dim()) if d != axis % w.dim()]
    amax = w.abs().amax(dim=dims, keepdim=True) if dims else w.abs()
    return torch.where(amax > 0, amax, torch.ones_like(amax)), dims


def quantize(w: torch.Tensor, fmt: DIntFormat, axis: int = 0):
    """Per-channel (along ``axis``) codes and scales, each channel's clip ``alpha`` chosen
    from ``CLIP_RATIOS * max|w|`` for the least MSE; ``scale = alpha / max_value``."""
    w = torch.as_tensor(w, dtype=torch.float64)
    if w.numel() == 0:
        raise ValueError("cannot quantize an empty tensor")
    _check_finite(w)
    amax, dims = _channel_absmax(w, axis)
    best_err = torch.full_like(amax, float("inf"))
    best_scale = amax / fmt.max_value
    for ratio in CLIP_RATIOS:
        scale = amax * ratio / fmt.max_value
        err = ((decode(encode(w / scale, fmt), fmt) * scale - w) ** 2)
        err = err.sum(dim=dims, keepdim=True) if dims else err
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
    return encode(w / best_scale, fmt), best_scale


def dequantize(codes: torch.Tensor, scale: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    return decode(codes, fmt) * scale


def fake_quantize(w: torch.Tensor, fmt: DIntFormat, axis: int = 0) -> torch.Tensor:
    codes, scale = quantize(w, fmt, axis)
    return dequantize(codes, scale, fmt).to(torch.as_tensor(w).dtype)


def aqas_quantize(w: torch.Tensor, x_calib: torch.Tensor, fmt: DIntFormat, act_bits: int = 8):
    """Activation-quantization-aware scale search (AQAS-style).

    ``w`` is ``N x K`` (output channels x reduction), ``x_calib`` is ``T x K``. Activations
    are quantized per tensor, symmetric, to ``INT<act_bits>``; each output channel's weight
    clip is chosen from ``CLIP_RATIOS`` to minimise ``|Q(W) Q(X)^T - W X^T|^2`` over the
    calibration rows, not the weight error alone. Returns ``(codes, scale)`` with ``scale``
    of shape ``N x 1``.
    """
    w = torch.as_tensor(w, dtype=torch.float64)
    x = torch.as_tensor(x_calib, dtype=torch.float64)
    if w.dim() != 2 or x.dim() != 2 or w.shape[1] != x.shape[1]:
        raise ValueError(f"aqas_quantize needs W [N, K] and X [T, K], got {tuple(w.shape)} "
                         f"and {tuple(x.shape)}")
    _check_finite(w)
    _check_finite(x)
    act = IntFormat(act_bits)
    qp = compute_qparams(x, act)
    xq = int_dequantize(int_quantize(x, act, qp), qp)
    reference = w @ x.T                                   # N x T
    amax, _ = _channel_absmax(w, 0)
    best_err = torch.full_like(amax, float("inf"))
    best_scale = amax / fmt.max_value
    for ratio in CLIP_RATIOS:
        scale = amax * ratio / fmt.max_value
        wq = decode(encode(w / scale, fmt), fmt) * scale
        err = ((wq @ xq.T - reference) ** 2).sum(dim=1, keepdim=True)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
    return encode(w / best_scale, fmt), best_scale


def product_fixed(w_codes: torch.Tensor, x: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """Exact ``w * x * 2^frac_bits`` for dINT codes ``w_codes`` and integers ``x``."""
    return decode_fixed(w_codes, fmt) * torch.as_tensor(x, dtype=torch.int64)


def dot(w_codes, x, fmt: DIntFormat, *, acc_width: int, overflow: str = "wrap"):
    """Fixed-point dot product over the last dimension (``frac_bits`` fractional bits)."""
    return arith.dot(decode_fixed(w_codes, fmt), x, acc_width=acc_width, overflow=overflow)


def gemm(w_codes, x, fmt: DIntFormat, *, acc_width: int, overflow: str = "wrap"):
    """``W [M, K]`` (dINT codes) times ``X [K, N]`` (integers), fixed point."""
    return arith.gemm(decode_fixed(w_codes, fmt), x, acc_width=acc_width, overflow=overflow)


def mac_trace(w_codes, x, valid, clear, fmt: DIntFormat, *, acc_width: int,
              overflow: str = "wrap"):
    """``golden.arith.mac_trace`` on fixed-point products: the accumulator of a dINT × INT
    MAC after each cycle, holding ``sum * 2^frac_bits`` in ``acc_width`` signed bits."""
    return arith.mac_trace(decode_fixed(w_codes, fmt), x, valid, clear, acc_width=acc_width,
                           overflow=overflow)
