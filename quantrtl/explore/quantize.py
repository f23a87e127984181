"""Quantize one linear layer under one format pair, as its PE consumes it.

Weights: the pair's quantizer (``FormatPair.quantize_weights``, per output channel).
Activations: static, one scale per tensor, calibrated by the pair on the layer's captured
FP32 inputs (at most ``CALIB_ROWS`` token rows, evenly spaced, so that OVP's clip search
stays quick); at run time each input is encoded with that scale (saturating). A layer then
computes ``Q(x) Q(W)^T + b`` with both operands dequantized (float64 quantization, float32
product): the same numbers the array's integer accumulator holds, times the two scales.

Quantized weights are memoised per ``(layer, weight format)`` within one process: pairs
that share a weight format (OVP4xOVP4, OVP4xINT8) share the quantizer's work. Across runs,
weights and activation scales are cached (``<cache>/explore``) under a key of the tensor's
bytes, the format and the source of ``golden/`` and of the module defining the quantizer:
OVP's clip search costs seconds per layer, and a second run skips it. An entry is checked
(``read_entry``'s sidecar and the blob's sha256) and rebuilt when it does not match.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from quantrtl import golden
from quantrtl.base.cache import atomic_write, cache_root, content_key, read_entry, write_entry
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


@functools.cache
def _golden_source() -> str:
    parts = [f.read_bytes() for f in sorted(Path(golden.__path__[0]).glob("*.py"))]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _source_of(fn) -> str:
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    try:
        text = inspect.getsource(module) if module else repr(fn)
    except (OSError, TypeError):
        text = repr(fn)
    return hashlib.sha256(text.encode()).hexdigest()


def _tensor_sha(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def _folder() -> Path:
    return cache_root() / "explore"


def cached_weights(w: torch.Tensor, pair: FormatPair):
    """``pair.quantize_weights(w)`` through the cache."""
    key = content_key("weights", _tensor_sha(w), pair.weights, _golden_source(),
                      _source_of(pair.quantize_weights))
    entry, blob = _folder() / f"w-{key}.json", _folder() / f"w-{key}.pt"
    meta = read_entry(entry, key)
    if meta is not None and blob.is_file():
        data = blob.read_bytes()
        if hashlib.sha256(data).hexdigest() == meta.get("sha256"):
            t = torch.load(io.BytesIO(data), weights_only=True)
            return t["values"], t["scale"], t["codes"]
    values, scale, codes = pair.quantize_weights(w)
    buf = io.BytesIO()
    torch.save({"values": values, "scale": scale, "codes": codes}, buf)
    atomic_write(blob, buf.getvalue())
    write_entry(entry, key, {"sha256": hashlib.sha256(buf.getvalue()).hexdigest()})
    return values, scale, codes


def cached_scale(x: torch.Tensor, pair: FormatPair) -> torch.Tensor:
    """``pair.calibrate_acts(x)`` through the cache."""
    key = content_key("acts", _tensor_sha(x), pair.acts, pair.name, _golden_source(),
                      _source_of(pair.calibrate_acts))
    entry = _folder() / f"a-{key}.json"
    meta = read_entry(entry, key, require=("scale",))
    if meta is not None:
        return torch.tensor(float.fromhex(meta["scale"]), dtype=torch.float64)
    scale = pair.calibrate_acts(x).to(torch.float64).reshape(())
    write_entry(entry, key, {"scale": float(scale).hex()})
    return scale


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
            self._weights[key] = cached_weights(w, pair)
        return self._weights[key]

    def layer(self, name: str, pair: FormatPair) -> QuantLayer:
        key = (name, pair.name)
        if key not in self._layers:
            values, scale, _ = self.weights(name, pair)
            a_scale = cached_scale(calib_rows(self.captured[name]).to(torch.float64), pair)
            self._layers[key] = QuantLayer(pair, (values * scale).to(torch.float32), scale,
                                           a_scale, self.linears[name].bias)
        return self._layers[key]
