"""Quantize one linear layer under one format pair, as its PE consumes it.

Weights: the pair's quantizer (``FormatPair.quantize_weights``, per output channel).
Activations: static, one scale per tensor, calibrated by the pair on the layer's captured
FP32 inputs (at most ``CALIB_ROWS`` token rows, evenly spaced, so that OVP's clip search
stays quick); at run time each input is encoded with that scale (saturating). A layer then
computes ``Q(x) Q(W)^T + b`` with both operands dequantized (float64 quantization, float32
product): the same numbers the array's integer accumulator holds, times the two scales.

Quantized weights are memoised per ``(layer, weight format)`` within one process: pairs
that share a weight format (OVP4xOVP4, OVP4xINT8) share the quantizer's work.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from quantrtl.designs import FormatPair

__all__ = ["QuantLayer", "Quantizer", "CALIB_ROWS"]

CALIB_ROWS = 256


@dataclass(frozen=True)
class QuantLayer:
    """One layer under one pair: dequantized weights (float32 ``[N, K]``), the per-channel
    weight scale, the activation scale, and the layer's bias."""

    pair: FormatPair
    weight: torch.Tensor
    w_scale: torch.Tensor
    a_scale: torch.Tensor
    bias: torch.Tensor

    def quantize_acts(self, x: torch.Tensor) -> torch.Tensor:
        """Dequantized activations (float32) of ``x`` (``[..., K]``)."""
        values, _ = self.pair.quantize_acts(x.to(torch.float64), self.a_scale)
        return (values * self.a_scale).to(torch.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(self.quantize_acts(x), self.weight, self.bias)


def calib_rows(x: torch.Tensor, limit: int = CALIB_ROWS) -> torch.Tensor:
    """At most ``limit`` rows of ``x``, evenly spaced (deterministic)."""
    if x.shape[0] <= limit:
        return x
    return x[torch.linspace(0, x.shape[0] - 1, limit).round().to(torch.int64)]


class Quantizer:
    """Builds ``QuantLayer``s for a model's linear layers from their captured inputs."""

    def __init__(self, linears, captured: dict[str, torch.Tensor]):
        self.linears = {lin.name: lin for lin in linears}
        self.captured = captured
        self._weights: dict[tuple[str, str], tuple] = {}
        self._layers: dict[tuple[str, str], QuantLayer] = {}

    def weights(self, name: str, pair: FormatPair):
        """``(values, scale, codes)`` of layer ``name``'s weight under ``pair``."""
        key = (name, pair.weights)
        if key not in self._weights:
            w = self.linears[name].weight.to(torch.float64)
            self._weights[key] = pair.quantize_weights(w)
        return self._weights[key]

    def layer(self, name: str, pair: FormatPair) -> QuantLayer:
        key = (name, pair.name)
        if key not in self._layers:
            values, scale, _ = self.weights(name, pair)
            a_scale = pair.calibrate_acts(calib_rows(self.captured[name]).to(torch.float64))
            self._layers[key] = QuantLayer(pair, (values * scale).to(torch.float32), scale,
                                           a_scale, self.linears[name].bias)
        return self._layers[key]
