"""Ternary (1.58-bit) weights: BitNet b1.58's absmean quantizer, INT8 absmax activations,
the 2-bit weight codes and the two packings (docs/formats.md, section Ternary).

Values and codes (the contract shared with ``hw/``):

* a ternary weight is a value in {-1, 0, +1}; its **2-bit code** is the value's two's
  complement, ``0 -> 0b00``, ``+1 -> 0b01``, ``-1 -> 0b11``. Code ``0b10`` is reserved:
  no packer produces it, ``decode_codes`` refuses it, and the hardware (``code_value``)
  reads it as 0.
* **2-bit packing** (``pack2``): four weights per byte, weight ``4j + i`` in bits
  ``[2i, 2i + 1]`` of byte ``j`` (first weight in the low bits).
* **1.6-bit packing** (``pack_base3``): five weights per byte, byte ``j`` =
  ``sum_i (w[5j + i] + 1) * 3^i`` (base-3 digit ``w + 1``, first weight the least
  significant digit), so a byte is 0..242; bytes 243..255 are refused on unpacking.

Quantizers, as in the BitNet authors' reference conversion (microsoft/BitNet,
``utils/preprocess-huggingface-bitnet.py``, ``quant_weight_fp16``; the same formulas are
the b1.58 paper's and its training FAQ's):

* weights (``quantize``): ``scale = max(mean |W|, 1e-5)`` per tensor (``axis=None``) or per
  index of ``axis`` (per output channel), ``q = clip(round(W / scale), -1, 1)``, rounding
  half to even (``torch.round``): ``|W / scale| = 0.5`` gives 0, ``1.5`` gives +-2 -> +-1;
* activations (``quantize_acts``): per token (one scale per index of every dimension but
  the last), ``scale = max(max |x|, 1e-5) / 127``, ``q = clip(round(x / scale), -128, 127)``,
  half to even.

Both compute in float64 and refuse NaN or Inf.
"""

from __future__ import annotations

import torch

from quantrtl.golden import arith

__all__ = ["EPS", "RESERVED_CODE", "absmean_scale", "quantize", "dequantize", "quantize_acts",
           "encode_codes", "decode_codes", "code_value", "pack2", "unpack2", "pack_base3",
           "unpack_base3", "byte_digits", "gemm"]

EPS = 1e-5            # the smallest scale (an all-zero slice gets it)
RESERVED_CODE = 0b10  # never produced; the hardware reads it as 0
WEIGHTS_PER_BYTE_2 = 4
WEIGHTS_PER_BYTE_3 = 5
BASE3_LIMIT = 3 ** WEIGHTS_PER_BYTE_3  # 243: bytes 243..255 hold no five ternary digits


def _check_float(x: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        raise ValueError(f"{what} must be a floating-point tensor, got "
                         f"{getattr(x, 'dtype', type(x).__name__)}")
    if x.numel() == 0:
        raise ValueError(f"{what} is empty")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{what} contains NaN or Inf")
    return x.to(torch.float64)


def _check_values(values) -> torch.Tensor:
    """Ternary values as int64; ``ValueError`` for anything outside {-1, 0, 1}."""
    v = torch.as_tensor(values)
    if torch.is_floating_point(v):
        if not bool((v == v.round()).all()):
            raise ValueError("ternary weights must be integers in {-1, 0, 1}")
    v = v.to(torch.int64)
    bad = (v < -1) | (v > 1)
    if bool(bad.any()):
        raise ValueError(f"a ternary weight must be -1, 0 or 1, got {int(v[bad][0])}")
    return v


def absmean_scale(w: torch.Tensor, axis: int | None = None) -> torch.Tensor:
    """``max(mean |w|, EPS)`` per tensor (``axis=None``, a 0-d tensor) or per index of
    ``axis`` (shape of ``w`` with every other dimension 1), float64."""
    w = _check_float(w, "ternary quantizer input")
    if axis is None:
        return w.abs().mean().clamp(min=EPS)
    if not -w.dim() <= axis < w.dim():
        raise ValueError(f"axis {axis} out of range for a {w.dim()}-d tensor")
    dims = [d for d in range(w.dim()) if d != axis % w.dim()]
    if not dims:
        return w.abs().clamp(min=EPS)
    return w.abs().mean(dim=dims, keepdim=True).clamp(min=EPS)


def quantize(w: torch.Tensor, axis: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BitNet b1.58 absmean quantizer: ``(values, scale)``, values int64 in {-1, 0, 1}
    with ``w ~ values * scale`` (module docstring)."""
    scale = absmean_scale(w, axis)
    q = torch.round(w.to(torch.float64) / scale).clamp(-1, 1)
    return q.to(torch.int64), scale


def dequantize(values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``values * scale`` in float64."""
    return _check_values(values).to(torch.float64) * scale


def quantize_acts(x: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Absmax INT<bits> per token (one scale per index of all but the last dimension):
    ``(codes int64, scale)`` with ``x ~ codes * scale`` (module docstring; 2 <= bits <= 8)."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"activation bits must be an int in 2..8, got {bits!r}")
    x = _check_float(x, "activation quantizer input")
    qmax = (1 << (bits - 1)) - 1
    scale = x.abs().amax(dim=-1, keepdim=True).clamp(min=EPS) / qmax
    q = torch.round(x / scale).clamp(-qmax - 1, qmax)
    return q.to(torch.int64), scale


def encode_codes(values) -> torch.Tensor:
    """Ternary values -> 2-bit codes (``value & 3``: 0 -> 0, 1 -> 1, -1 -> 3), int64."""
    return _check_values(values) & 3


def decode_codes(codes) -> torch.Tensor:
    """2-bit codes -> ternary values; ``ValueError`` for the reserved code 0b10 or a code
    outside 0..3."""
    c = torch.as_tensor(codes).to(torch.int64)
    bad = (c < 0) | (c > 3) | (c == RESERVED_CODE)
    if bool(bad.any()):
        raise ValueError(f"not a ternary 2-bit code: {int(c[bad][0])} (codes are 0b00 = 0, "
                         f"0b01 = +1, 0b11 = -1)")
    return torch.where(c == 3, -1, c)


def code_value(codes) -> torch.Tensor:
    """The value the hardware gives a 2-bit code: as ``decode_codes``, but the reserved code
    0b10 counts as 0 (so every code an input port can carry has a value)."""
    c = torch.as_tensor(codes).to(torch.int64)
    if bool(((c < 0) | (c > 3)).any()):
        raise ValueError("a ternary code is 2 bits, 0..3")
    return torch.tensor([0, 1, 0, -1], dtype=torch.int64)[c]


def _flat(values, per_byte: int) -> torch.Tensor:
    v = _check_values(values).reshape(-1)
    pad = -len(v) % per_byte
    return torch.cat([v, torch.zeros(pad, dtype=torch.int64)]).reshape(-1, per_byte)


def _check_bytes(data, count: int, per_byte: int) -> torch.Tensor:
    b = torch.as_tensor(data).reshape(-1).to(torch.int64)
    if bool(((b < 0) | (b > 255)).any()):
        raise ValueError("packed ternary data must be bytes, 0..255")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0 \
            or -(-count // per_byte) != len(b):
        raise ValueError(f"{len(b)} bytes hold {per_byte * len(b) - per_byte + 1}.."
                         f"{per_byte * len(b)} weights at {per_byte} per byte, got count "
                         f"{count!r}")
    return b


def pack2(values) -> torch.Tensor:
    """Flattened ternary values -> uint8 bytes, four 2-bit codes per byte, weight ``4j+i``
    in bits ``[2i, 2i+1]`` of byte ``j``; the last byte is padded with zeros."""
    codes = encode_codes(_flat(values, WEIGHTS_PER_BYTE_2))
    shifts = torch.arange(WEIGHTS_PER_BYTE_2) * 2
    return (codes << shifts).sum(dim=1).to(torch.uint8)


def unpack2(data, count: int) -> torch.Tensor:
    """The first ``count`` ternary values of ``pack2`` bytes (int64); ``ValueError`` for a
    reserved code 0b10 among them."""
    b = _check_bytes(data, count, WEIGHTS_PER_BYTE_2)
    codes = (b.reshape(-1, 1) >> (torch.arange(WEIGHTS_PER_BYTE_2) * 2)) & 3
    return decode_codes(codes.reshape(-1)[:count])


def pack_base3(values) -> torch.Tensor:
    """Flattened ternary values -> uint8 bytes, five per byte in base 3 (``sum_i (w[5j+i] +
    1) * 3^i``, first weight least significant); the last byte is padded with zeros."""
    digits = _flat(values, WEIGHTS_PER_BYTE_3) + 1
    powers = 3 ** torch.arange(WEIGHTS_PER_BYTE_3)
    return (digits * powers).sum(dim=1).to(torch.uint8)


def byte_digits(data) -> torch.Tensor:
    """Bytes 0..242 -> their five ternary values ``[..., 5]``, first weight first;
    ``ValueError`` naming the first byte >= 243."""
    b = torch.as_tensor(data).to(torch.int64)
    bad = (b < 0) | (b >= BASE3_LIMIT)
    if bool(bad.any()):
        raise ValueError(f"a base-3 ternary byte must be 0..{BASE3_LIMIT - 1}, got "
                         f"{int(b[bad][0])}")
    out = []
    for _ in range(WEIGHTS_PER_BYTE_3):
        out.append(b % 3 - 1)
        b = b // 3
    return torch.stack(out, dim=-1)


def unpack_base3(data, count: int) -> torch.Tensor:
    """The first ``count`` ternary values of ``pack_base3`` bytes (int64)."""
    b = _check_bytes(data, count, WEIGHTS_PER_BYTE_3)
    return byte_digits(b).reshape(-1)[:count]


def gemm(x: torch.Tensor, w_codes: torch.Tensor, *, acc_width: int = 62,
         overflow: str = "wrap") -> torch.Tensor:
    """``C = X @ W`` of integer activation codes ``x`` (``M x K``) and 2-bit ternary weight
    codes ``w_codes`` (``K x N``, the hardware's reading: ``code_value``), exact in the
    declared accumulator (``golden.arith.gemm``)."""
    return arith.gemm(torch.as_tensor(x, dtype=torch.int64), code_value(w_codes),
                      acc_width=acc_width, overflow=overflow)


# -- groups of g weights as one base-3 index (the table-lookup dot unit, hw.ternary_lut) ----

__all__ += ["group_values", "group_trace"]


def group_values(index, group: int) -> torch.Tensor:
    """Base-3 group indices -> their ``group`` ternary values ``[..., group]`` (int64), the
    ``pack_base3`` digits with ``group`` digits per index: ``index = sum_i (w_i + 1) * 3^i``,
    first weight least significant. An index ``3^group .. 2^bits - 1`` (``bits`` the
    index's width, ``ceil(log2 3^group)``) holds no weights and counts as all zero, as in
    the hardware; ``ValueError`` outside ``0 .. 2^bits - 1``."""
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise ValueError(f"a group holds at least one weight, got {group!r}")
    limit = 3 ** group
    bits = (limit - 1).bit_length()
    b = torch.as_tensor(index).to(torch.int64)
    if bool(((b < 0) | (b >= 1 << bits)).any()):
        raise ValueError(f"a base-3 index of {group} weights is {bits} bits, "
                         f"0..{(1 << bits) - 1}")
    b = torch.where(b >= limit, (limit - 1) // 2, b)  # the all-zero group's index
    out = []
    for _ in range(group):
        out.append(b % 3 - 1)
        b = b // 3
    return torch.stack(out, dim=-1)


def group_trace(x, index, valid, clear, *, acc_width: int,
                overflow: str = "wrap") -> torch.Tensor:
    """Accumulators of ``N`` columns after each cycle: per cycle ``t`` column ``j`` adds the
    ternary dot ``sum_i x[t, i] * w[t, j, i]`` of the activation codes ``x`` (``T x g``) and
    the weights of the group index ``index[t, j]`` (``T x N``, ``group_values``), under
    ``valid`` / ``clear`` as ``golden.arith.mac_trace``. Returns ``T x N`` (int64)."""
    x = torch.as_tensor(x, dtype=torch.int64)
    weights = group_values(index, x.shape[-1])                       # T x N x g
    terms = arith.dot(x[:, None, :], weights, acc_width=arith.MAX_ACC_WIDTH)
    ones = torch.ones(len(x), dtype=torch.int64)
    return torch.stack([arith.mac_trace(terms[:, j], ones, valid, clear, acc_width=acc_width,
                                        overflow=overflow)
                        for j in range(terms.shape[1])], dim=-1)
