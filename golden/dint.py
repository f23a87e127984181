"""dINT (Lee et al., EMNLP 2023, W4A8): integer weights plus denormal levels near zero.

The project's reading of the paper (``docs/formats.md``, section dINT4):

* ``DIntFormat(bits, denormals)``: sign–magnitude codes ``s|m..m``, held as unsigned bit
  patterns ``0 .. 2^bits - 1`` in int64 tensors. Magnitude code 0 is 0, then the denormal
  levels ascending, then the integers 1, 2, 3, ... up to the last magnitude code.
  ``dINT(4, (0.5,))``: 0, 0.5, 1, 2, 3, 4, 5, 6; ``dINT(4, (0.25, 0.5))``: 0, .25, .5, 1..5.
* The negative zero ``10..0`` decodes to 0 and is never produced by ``encode``.
* Rounding (``encode``): to the nearest grid value; an exact tie between two neighbouring
  grid values goes to the one whose *magnitude code* is even (its magnitude LSB is 0, as in
  IEEE round-to-nearest-even). With one denormal the integers n sit at code n + 1, so ties
  between integers go to the *odd* integer (1.5 -> 1, 2.5 -> 3); 0.25 -> 0, 0.75 -> 1.
  Saturating at ``±max_value``; the sign comes from ``x`` unless the magnitude rounds to 0.
* Arithmetic with integer activations is exact in fixed point: a weight is represented by
  ``value * 2^frac_bits`` (``frac_bits = -log2(smallest denormal)``), so a signed
  accumulator of ``W`` bits has ``W - frac_bits`` integer bits (sign included) and
  ``frac_bits`` fractional bits; wrap-around and saturation act on that fixed-point integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from quantrtl.formats.dint import DIntSpec
from quantrtl.golden import arith
from quantrtl.golden.codes import check_codes
from quantrtl.golden.integer import (
    IntFormat,
    compute_qparams,
    dequantize as int_dequantize,
    quantize as int_quantize,
)

__all__ = ["DIntFormat", "CLIP_RATIOS", "encode", "decode", "decode_fixed", "quantize",
           "dequantize", "fake_quantize", "aqas_quantize", "product_fixed", "dot", "gemm",
           "mac_trace"]


@dataclass(frozen=True)
class DIntFormat(DIntSpec):
    """``dINT(bits, denormals)`` (the descriptor ``quantrtl.formats.DIntSpec``: ``bits``
    3..8; ``denormals`` distinct powers of two below 1, stored sorted ascending) with the
    golden model's exact fixed-point magnitude table."""

    def __post_init__(self):
        super().__post_init__()
        frac_bits = self.frac_bits
        # Exact tables (not dataclass fields: equality and hashing use bits and denormals).
        fixed = (0, *(1 << (frac_bits - (1 - math.frexp(d)[1])) for d in self.denormals),
                 *(i << frac_bits for i in range(1, self.integers + 1)))
        object.__setattr__(self, "_frac_bits", frac_bits)
        object.__setattr__(self, "_fixed", fixed)

    def magnitudes(self) -> torch.Tensor:
        """The magnitude of each magnitude code ``0 .. 2^(bits-1) - 1``, float64, ascending."""
        return torch.tensor(self._fixed, dtype=torch.float64) / (1 << self._frac_bits)

    @property
    def max_value(self) -> float:
        return self._fixed[-1] / (1 << self._frac_bits)

    def values(self) -> torch.Tensor:
        """The value of every code ``0 .. 2^bits - 1`` (negative zero -> 0), float64."""
        mags = self.magnitudes()
        return torch.cat([mags, -mags]) + 0.0  # + 0.0 turns -0.0 into 0.0

    def fixed_values(self) -> torch.Tensor:
        """``value * 2^frac_bits`` of every code, exact, int64."""
        fixed = torch.tensor(self._fixed, dtype=torch.int64)
        return torch.cat([fixed, -fixed])

    def __str__(self):
        return self.name


def _check_finite(x: torch.Tensor, what: str):
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"dINT {what} contains NaN or Inf")


def _boundaries(fmt: DIntFormat) -> torch.Tensor:
    """Rounding thresholds in magnitude space: ``u`` gets magnitude code ``k`` = the number of
    thresholds strictly below ``u``. Threshold ``j`` is the midpoint of codes ``j`` and
    ``j + 1`` (exact: dyadic, a few bits), moved one ulp down when ``j`` is odd so that a
    value exactly on it goes up to the even code ``j + 1``; with ``j`` even it stays at ``j``.
    """
    mags = fmt.magnitudes()
    mids = (mags[:-1] + mags[1:]) / 2
    odd = torch.arange(len(mids)) % 2 == 1
    return torch.where(odd, torch.nextafter(mids, torch.full_like(mids, -math.inf)), mids)


def _round_magnitude(a: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """Magnitude code nearest to ``a >= 0`` (ties to the even code), saturating."""
    return torch.searchsorted(_boundaries(fmt), a)


def encode(x: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """Codes (int64) of ``x`` (a float tensor already in units of the scale).

    Nearest grid value, ties to the even magnitude code, saturating at ``±max_value``; a
    value whose magnitude rounds to 0 gets code 0 (never ``10..0``). NaN/Inf: ValueError.
    """
    x = torch.as_tensor(x).to(torch.float64)
    _check_finite(x, "encoder input")
    mag_code = _round_magnitude(x.abs(), fmt)
    negative = (x < 0) & (mag_code > 0)
    return mag_code + negative.to(torch.int64) * (1 << (fmt.bits - 1))


def _check_codes(codes, fmt: DIntFormat) -> torch.Tensor:
    return check_codes(codes, fmt.name, 0, (1 << fmt.bits) - 1)


def decode(codes: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """The value of each code, float64 (negative zero -> 0)."""
    return fmt.values()[_check_codes(codes, fmt)]


def decode_fixed(codes: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """``value * 2^frac_bits`` of each code, exact int64."""
    return fmt.fixed_values()[_check_codes(codes, fmt)]


# Clip search: alpha = ratio * max|w| per channel, ratio in 0.50, 0.51, ..., 1.00;
# scale = alpha / max_value. A channel keeps its least-error ratio (ties: the larger one).
CLIP_RATIOS = torch.arange(50, 101, dtype=torch.float64) / 100


def _channel_absmax(w: torch.Tensor, axis: int) -> tuple[torch.Tensor, list[int]]:
    """Per-channel ``max|w|`` (keepdim; all-zero channels -> 1) and the reduced dims."""
    if w.dim() == 0 or not -w.dim() <= axis < w.dim():
        raise ValueError(f"axis {axis} out of range for a {w.dim()}-d tensor")
    dims = [d for d in range(w.dim()) if d != axis % w.dim()]
    amax = w.abs().amax(dim=dims, keepdim=True) if dims else w.abs()
    return torch.where(amax > 0, amax, torch.ones_like(amax)), dims


def _candidate_scale(amax: torch.Tensor, ratio: torch.Tensor, fmt: DIntFormat):
    # Floor at the smallest normal float64 so that subnormal weights never divide by 0.
    return (amax * ratio / fmt.max_value).clamp(min=torch.finfo(torch.float64).tiny)


def _as_weights(w: torch.Tensor, what: str) -> torch.Tensor:
    w = torch.as_tensor(w)
    if not w.is_floating_point():
        raise ValueError(f"{what} must be a floating-point tensor, got {w.dtype}")
    w = w.to(torch.float64)
    if w.numel() == 0:
        raise ValueError(f"cannot quantize an empty {what}")
    _check_finite(w, what)
    return w


def _clip_search_errors(a_sorted: torch.Tensor, amax: torch.Tensor, fmt: DIntFormat):
    """Squared weight error of every candidate clip: ``[len(CLIP_RATIOS), C]`` errors and
    ``[len(CLIP_RATIOS), C, 1]`` scales, for channels ``a_sorted`` (``C x M``, ``|w|``
    ascending per row) and their ``amax`` (``C x 1``).

    Equal to summing ``(decode(encode(a / scale)) * scale - a)^2`` element by element, but
    each candidate costs one division per element: the rounding segments of a sorted row are
    found by ``searchsorted`` on ``a / scale`` (division is monotone, so the segments are
    exactly ``encode``'s), and each segment's error ``sum (a - l s)^2`` comes from prefix
    sums of ``a`` and ``a^2``.
    """
    c, m = a_sorted.shape
    zero = torch.zeros(c, 1, dtype=torch.float64)
    p1 = torch.cat([zero, a_sorted.cumsum(1)], 1)          # C x (M+1)
    p2 = torch.cat([zero, (a_sorted ** 2).cumsum(1)], 1)
    bounds = _boundaries(fmt).expand(c, -1).contiguous()  # C x (L-1)
    full = torch.full((c, 1), m, dtype=torch.int64)
    levels = fmt.magnitudes()                              # L
    errs, scales = [], []
    for ratio in CLIP_RATIOS:  # a loop over 51 candidates, never over elements
        scale = _candidate_scale(amax, ratio, fmt)
        # Elements of level j are those with bounds[j-1] < a/s <= bounds[j].
        ends = torch.cat([torch.searchsorted(a_sorted / scale, bounds, right=True), full], 1)
        starts = torch.cat([torch.zeros_like(full), ends[:, :-1]], 1)
        n = (ends - starts).to(torch.float64)
        s1 = p1.gather(1, ends) - p1.gather(1, starts)
        s2 = p2.gather(1, ends) - p2.gather(1, starts)
        ls = levels * scale                                # C x L
        err = (s2 - 2 * ls * s1 + ls ** 2 * n).sum(1)
        errs.append(err.clamp(min=0))                      # rounding of the prefix sums
        scales.append(scale)
    return torch.stack(errs), torch.stack(scales)


def _pick(errs: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Per channel, the scale of least error; among equal errors the largest ratio."""
    flipped = errs.flip(0)                                 # argmin returns the first minimum
    best = len(errs) - 1 - flipped.argmin(0)
    return scales[best, torch.arange(errs.shape[1])]


def quantize(w: torch.Tensor, fmt: DIntFormat, axis: int = 0):
    """Per-channel (one scale per index of ``axis``) dINT codes and scales.

    Each channel's clip ``alpha`` is chosen from ``CLIP_RATIOS * max|w|`` for the least
    squared error of the dequantized weights; ``scale = alpha / max_value`` (float64,
    keepdim, broadcastable against ``w``; an all-zero channel gets ``1 / max_value``).
    Returns ``(codes, scale)``.
    """
    w = _as_weights(w, "weight tensor")
    amax, _ = _channel_absmax(w, axis)
    ax = axis % w.dim()
    rows = w.abs().movedim(ax, 0).reshape(w.shape[ax], -1).contiguous()
    errs, scales = _clip_search_errors(rows.sort(1).values, amax.reshape(-1, 1), fmt)
    scale = _pick(errs, scales).reshape(amax.shape)
    return encode(w / scale, fmt), scale


def dequantize(codes: torch.Tensor, scale: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """``decode(codes) * scale``, float64."""
    return decode(codes, fmt) * scale


def fake_quantize(w: torch.Tensor, fmt: DIntFormat, axis: int = 0) -> torch.Tensor:
    """``dequantize(*quantize(w))`` in ``w``'s dtype (for error measurements)."""
    codes, scale = quantize(w, fmt, axis)
    return dequantize(codes, scale, fmt).to(torch.as_tensor(w).dtype)


def aqas_quantize(w: torch.Tensor, x_calib: torch.Tensor, fmt: DIntFormat, act_bits: int = 8):
    """Activation-quantization-aware scale search (AQAS-style) for ``Y = W X^T``.

    ``w`` is ``N x K`` (output channels x reduction), ``x_calib`` is ``T x K``. The
    activations are quantized per tensor, symmetric, to ``INT<act_bits>`` with
    ``golden.integer``; each output channel's clip is chosen from ``CLIP_RATIOS`` (as in
    ``quantize``) to minimise ``sum_t (Q(W) Q(X)^T - W X^T)[n, t]^2`` rather than the weight
    error alone. Returns ``(codes [N, K], scale [N, 1])``. On ``x_calib`` its product error
    is never above that of ``quantize``'s choice (both pick from the same candidates).
    """
    w = _as_weights(w, "weight matrix")
    x = _as_weights(x_calib, "calibration activations")
    if w.dim() != 2 or x.dim() != 2 or w.shape[1] != x.shape[1]:
        raise ValueError(f"aqas_quantize needs W [N, K] and X [T, K], got {tuple(w.shape)} "
                         f"and {tuple(x.shape)}")
    act = IntFormat(act_bits)
    qp = compute_qparams(x, act)
    xq_t = int_dequantize(int_quantize(x, act, qp), qp).T  # K x T
    reference = w @ x.T                                     # N x T
    amax, _ = _channel_absmax(w, 0)
    mags, sign, a = fmt.magnitudes(), torch.sign(w), w.abs()
    errs, scales = [], []
    for ratio in CLIP_RATIOS:
        scale = _candidate_scale(amax, ratio, fmt)
        wq = sign * mags[_round_magnitude(a / scale, fmt)] * scale
        errs.append(((wq @ xq_t - reference) ** 2).sum(1))
        scales.append(scale)
    scale = _pick(torch.stack(errs), torch.stack(scales))
    return encode(w / scale, fmt), scale


def _as_ints(x: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.is_floating_point() or x.is_complex():
        raise ValueError(f"activations must be an integer tensor (codes), got {x.dtype}")
    return x.to(torch.int64)


def product_fixed(w_codes: torch.Tensor, x_int: torch.Tensor, fmt: DIntFormat) -> torch.Tensor:
    """Exact ``w * x * 2^frac_bits`` (int64) for dINT codes and integer activations
    (broadcasting), i.e. ``decode_fixed(w_codes) * x_int``."""
    return arith.product(decode_fixed(w_codes, fmt), _as_ints(x_int))


def dot(w_codes: torch.Tensor, x_int: torch.Tensor, fmt: DIntFormat, acc_width: int,
        overflow: str = "wrap") -> torch.Tensor:
    """``sum_k w[k] x[k]`` over the last dimension, in order, in fixed point (int64).

    The accumulator is ``acc_width`` bits, signed: ``acc_width - frac_bits`` integer bits
    (sign included) and ``frac_bits`` fractional bits; it holds ``sum * 2^frac_bits``,
    wrapped modulo ``2^acc_width`` or saturated after each addition (``golden.arith.dot``).
    """
    return arith.dot(decode_fixed(w_codes, fmt), _as_ints(x_int), acc_width=acc_width,
                     overflow=overflow)


def gemm(w_codes: torch.Tensor, x_int: torch.Tensor, fmt: DIntFormat, acc_width: int,
         overflow: str = "wrap") -> torch.Tensor:
    """``C[m, n] = sum_k W[m, k] X[k, n] * 2^frac_bits`` for dINT codes ``W [M, K]`` and
    integers ``X [K, N]``; accumulator as in ``dot`` (``golden.arith.gemm``)."""
    return arith.gemm(decode_fixed(w_codes, fmt), _as_ints(x_int), acc_width=acc_width,
                      overflow=overflow)


def mac_trace(w_codes: torch.Tensor, x: torch.Tensor, valid: torch.Tensor, clear: torch.Tensor,
              fmt: DIntFormat, acc_width: int, overflow: str = "wrap") -> torch.Tensor:
    """Accumulator after each cycle of a dINT x INT MAC (the contract of ``hw.dint.DIntMAC``).

    Exactly ``golden.arith.mac_trace`` with products ``decode_fixed(w) * x``: per cycle,
    ``base = 0 if clear else acc; acc' = reduce(base + w x 2^frac_bits) if valid else base``.
    The accumulator is ``acc_width`` bits signed, ``acc_width - frac_bits`` integer bits
    (sign included) and ``frac_bits`` fractional bits: the real value is ``acc / 2^frac_bits``.
    """
    return arith.mac_trace(decode_fixed(w_codes, fmt), _as_ints(x), valid, clear,
                           acc_width=acc_width, overflow=overflow)
