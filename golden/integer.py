"""Integer formats (``INT<b>`` two's complement, ``UINT<b>`` with zero point) and their quantizer.

The contract, shared with ``hw/``: a code is a Python/torch integer in the format's range
``qmin .. qmax``; the real value of a code ``q`` is ``(q - zero_point) * scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from quantrtl.formats.integer import IntSpec, parse_int

__all__ = ["IntFormat", "parse_int_format", "QuantParams", "compute_qparams", "quantize",
           "dequantize", "fake_quantize"]


@dataclass(frozen=True)
class IntFormat(IntSpec):
    """``INT<bits>`` (signed, two's complement) or ``UINT<bits>`` (unsigned), 2 <= bits <= 8:
    the descriptor ``quantrtl.formats.IntSpec`` with the golden model's code tensor."""

    def codes(self) -> torch.Tensor:
        """Every code of the format, ascending, as int64."""
        return torch.arange(self.qmin, self.qmax + 1, dtype=torch.int64)


def parse_int_format(text: str | IntSpec) -> IntFormat:
    """``"int8"`` → ``IntFormat(8, True)``, ``"uint4"`` → ``IntFormat(4, False)``."""
    if isinstance(text, IntFormat):
        return text
    spec = parse_int(text)
    return IntFormat(spec.bits, spec.signed)


@dataclass(frozen=True)
class QuantParams:
    """Scale and zero point, broadcastable against the tensor they were computed for."""

    scale: torch.Tensor
    zero_point: torch.Tensor


def _reduce_dims(x: torch.Tensor, axis: int | None) -> list[int]:
    if axis is None:
        return list(range(x.dim()))
    if not -x.dim() <= axis < x.dim():
        raise ValueError(f"axis {axis} out of range for a {x.dim()}-d tensor")
    axis %= x.dim()
    return [d for d in range(x.dim()) if d != axis]


def _check_finite(x: torch.Tensor):
    if not torch.is_floating_point(x):
        raise ValueError(f"quantizer input must be a floating-point tensor, got {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("quantizer input contains NaN or Inf")


def compute_qparams(x: torch.Tensor, fmt: IntFormat, *, symmetric: bool = True,
                    axis: int | None = None) -> QuantParams:
    """Min/max calibration.

    ``axis=None`` gives one scale per tensor, ``axis=k`` one per index of dimension ``k``
    (per output channel). Symmetric: zero point 0 and ``scale = max|x| / qmax_used`` where
    ``qmax_used`` is ``qmax`` (the most negative code is left to ``quantize``).
    Asymmetric: ``scale = (max - min) / (qmax - qmin)`` over a range that includes 0, and an
    integer zero point. An all-zero slice gets scale 1.
    """
    _check_finite(x)
    dims = _reduce_dims(x, axis)
    x = x.to(torch.float64)
    if x.numel() == 0:
        raise ValueError("cannot calibrate an empty tensor")
    if symmetric:
        if not fmt.signed:
            raise ValueError(f"symmetric quantization needs a signed format, got {fmt}")
        amax = x.abs().amax(dim=dims, keepdim=True)
        scale = amax / fmt.qmax
        zero_point = torch.zeros_like(scale, dtype=torch.int64)
    else:
        lo = x.amin(dim=dims, keepdim=True).clamp(max=0)
        hi = x.amax(dim=dims, keepdim=True).clamp(min=0)
        scale = (hi - lo) / (fmt.qmax - fmt.qmin)
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        zero_point = torch.round(fmt.qmin - lo / safe).to(torch.int64).clamp(fmt.qmin, fmt.qmax)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return QuantParams(scale, zero_point)


def quantize(x: torch.Tensor, fmt: IntFormat, qparams: QuantParams, *,
             restrict_range: bool = True) -> torch.Tensor:
    """Codes ``clamp(round_half_even(x / scale) + zero_point)`` as int64.

    Saturating. With ``restrict_range`` and a symmetric (zero-point 0) signed format, the
    most negative code ``-2^(b-1)`` is never produced (the spec's symmetric quantizer).
    """
    _check_finite(x)
    qmin = fmt.qmin + 1 if (restrict_range and fmt.signed
                            and bool((qparams.zero_point == 0).all())) else fmt.qmin
    q = torch.round(x.to(torch.float64) / qparams.scale) + qparams.zero_point
    return q.clamp(qmin, fmt.qmax).to(torch.int64)


def dequantize(q: torch.Tensor, qparams: QuantParams) -> torch.Tensor:
    return (q.to(torch.float64) - qparams.zero_point) * qparams.scale


def fake_quantize(x: torch.Tensor, fmt: IntFormat, *, symmetric: bool = True,
                  axis: int | None = None) -> torch.Tensor:
    """Quantize and dequantize in one step (for error measurements)."""
    qp = compute_qparams(x, fmt, symmetric=symmetric, axis=axis)
    return dequantize(quantize(x, fmt, qp), qp).to(x.dtype)
