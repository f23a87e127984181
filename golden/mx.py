"""OCP Microscaling (MX v1.0) block formats: quantize, dequantize, pack to bytes, and exact
block dot products (descriptors: ``quantrtl.formats.minifloat.MXSpec`` / ``parse_mx``).

The contract:

* A block is ``spec.block`` consecutive elements along ``axis`` sharing one E8M0 scale
  ``2^(s - 127)``; scale codes ``s`` are int64 ``0 .. 254``, ``255`` is NaN. Element codes
  are int64: minifloat elements as unsigned bit patterns (``golden.minifloat``), MXINT8
  elements as signed integers ``-128 .. 127`` whose value is ``code * 2^-6`` (fixed point
  ``s1.6``, as the reference emulation microsoft/microxcaling does).
* Scale (``quantize``): ``e = floor(log2(amax)) - spec.emax`` (``amax`` the block's largest
  magnitude, ``emax`` the element's: E2M1 2, E2M3 2, E3M2 4, E4M3 8, E5M2 15, INT8 0),
  clamped to E8M0's ``[-127, 127]``; code ``e + 127``. ``floor(log2)`` is exact (the
  exponent of ``amax`` from ``frexp``, never a floating ``log2``).
* All-zero block: scale code 0 (``2^-127``, the smallest scale) and zero element codes
  (the sign of a ``-0.0`` is kept in float elements). Any scale represents zeros exactly;
  the smallest one lets a magnitude check on the scale find zero blocks, and it is what
  ``floor(log2(amax))`` tends to as ``amax -> 0`` after the clamp, and what torchao and
  gfloat produce.
* A block containing NaN or ±Inf: scale code 255 (NaN: the whole block decodes to NaN, as
  OCP MX v1.0 specifies) and element codes 0.
* Elements: ``encode(x / 2^e)`` with ``golden.minifloat.encode``: nearest, ties to even
  (``rounding="even"``) or away from zero (``"away"``, microxcaling's default rounding),
  saturating at ``±max_normal``. MXINT8: ``round(x / 2^e * 64)`` with the same tie rule,
  clamped to ``±127`` (``int_range="symmetric"``, microxcaling and OCP's symmetric range)
  or to ``-128 .. 127`` (``int_range="full"``). Division by ``2^e`` is exact in float64.
* ``pack``: element codes row-major into a little-endian bit stream, ``bits`` bits each:
  element ``i`` occupies stream bits ``bits*i .. bits*i + bits - 1`` (LSB first) and byte
  ``j`` holds stream bits ``8j .. 8j + 7``. So two E2M1 codes per byte with element ``2i``
  in the low nibble (torchao's layout), four 6-bit codes in three bytes, 8-bit codes one
  per byte (MXINT8 as two's complement). Unused final bits are 0. Scales: one byte each.
* ``block_dot``: the exact value ``integer * 2^exponent`` of one block's dot product (Python
  ints). ``dot_fp32``: each block's exact value rounded once to IEEE binary32 (nearest,
  ties to even, subnormals kept, overflow to ±inf), the rounded block values added in block
  order in binary32 (numpy ``float32`` arithmetic, which rounds to nearest-even and keeps
  subnormals; ``tests/test_golden_mx.py`` checks both), starting from +0. A block with a
  NaN scale, or a NaN or infinite element (E5M2), contributes the IEEE float64 sum of its
  decoded products (NaN or ±inf; ``inf * 0`` is NaN), so NaN propagates.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from quantrtl.formats.integer import IntSpec
from quantrtl.formats.minifloat import MXSpec, parse_mx
from quantrtl.golden import minifloat
from quantrtl.golden.codes import check_codes

__all__ = ["SCALE_BIAS", "SCALE_NAN", "INT_RANGES", "quantize", "dequantize", "scale_value",
           "split_blocks", "element_fixed", "pack", "unpack", "block_dot", "block_fp32",
           "round_fp32", "dot_fp32"]

SCALE_BIAS = 127
SCALE_NAN = 255
INT_RANGES = ("symmetric", "full")
INT8_FRAC = 6  # MXINT8 elements are s1.6


def _spec(spec) -> MXSpec:
    if isinstance(spec, (MXSpec, str)):
        return parse_mx(spec)
    raise ValueError(f"expected an MXSpec or an MX format name, got {spec!r}")


def _is_int(spec: MXSpec) -> bool:
    return isinstance(spec.element, IntSpec)


def split_blocks(x: torch.Tensor, block: int, axis: int, pad: bool,
                 what: str = "MX") -> tuple[torch.Tensor, int]:
    """``x`` with ``axis`` moved last and split into ``(..., n_blocks, block)``, and the
    axis' length before padding; ``ValueError`` (naming ``what`` quantization) for a 0-d
    tensor, a bad axis, an empty axis, or a block size that does not divide the axis
    unless ``pad`` (zero padding)."""
    if x.dim() == 0:
        raise ValueError(f"{what} quantization needs at least a 1-d tensor")
    if not -x.dim() <= axis < x.dim():
        raise ValueError(f"axis {axis} out of range for a {x.dim()}-d tensor")
    x = x.movedim(axis, -1)
    n = x.shape[-1]
    if n == 0:
        raise ValueError("cannot quantize an empty axis")
    if n % block:
        if not pad:
            raise ValueError(f"block size {block} does not divide the axis length {n} "
                             f"(pass pad=True to zero-pad)")
        x = torch.nn.functional.pad(x, (0, block - n % block))
    return x.reshape(*x.shape[:-1], x.shape[-1] // block, block), n


def quantize(x: torch.Tensor, spec: MXSpec, *, axis: int = -1, rounding: str = "even",
             pad: bool = False, int_range: str = "symmetric"
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(codes, scales)`` (int64) of a float tensor in the MX format ``spec``.

    Blocks of ``spec.block`` elements run along ``axis``; its length must be a multiple of
    the block size (ValueError), unless ``pad=True``, which zero-pads it at the end: the
    codes then have the padded length. ``scales`` has ``x``'s shape with ``axis`` of length
    ``n_blocks``. Scale and element rules: the module docstring. ``int_range`` applies to
    MXINT8 only (ValueError for ``"full"`` with float elements).
    """
    spec = _spec(spec)
    if rounding not in minifloat.ROUNDING_MODES:
        raise ValueError(f"rounding must be one of {minifloat.ROUNDING_MODES}, "
                         f"got {rounding!r}")
    if int_range not in INT_RANGES:
        raise ValueError(f"int_range must be one of {INT_RANGES}, got {int_range!r}")
    if int_range == "full" and not _is_int(spec):
        raise ValueError("int_range='full' applies to MXINT8 only")
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        raise ValueError(f"MX quantize takes a floating-point tensor, got {x.dtype}")
    blocks, _ = split_blocks(x.to(torch.float64), spec.block, axis, pad)
    special = ~torch.isfinite(blocks).all(-1)
    amax = torch.where(special[..., None], 0.0, blocks.abs()).amax(-1)
    _, e = torch.frexp(amax)  # amax = m * 2^e, 0.5 <= m < 1: floor(log2 amax) = e - 1
    exp = torch.where(amax > 0, e.to(torch.int64) - 1 - spec.emax, -SCALE_BIAS)
    exp = exp.clamp(-SCALE_BIAS, SCALE_BIAS)
    scaled = torch.ldexp(torch.where(special[..., None], 0.0, blocks), -exp[..., None])
    if _is_int(spec):
        lo = -128 if int_range == "full" else -127
        fixed = scaled * (1 << INT8_FRAC)
        if rounding == "even":
            rounded = torch.round(fixed)  # half to even
        else:
            rounded = torch.sign(fixed) * torch.floor(fixed.abs() + 0.5)  # exact in float64
        codes = rounded.clamp(lo, 127).to(torch.int64)
    else:
        codes = minifloat.encode(scaled, spec.element, rounding=rounding)
        codes = torch.where(special[..., None], 0, codes)
    scales = torch.where(special, SCALE_NAN, exp + SCALE_BIAS)
    codes = codes.reshape(*codes.shape[:-2], -1).movedim(-1, axis)
    return codes, scales.movedim(-1, axis)


def _check_scales(scales) -> torch.Tensor:
    scales = torch.as_tensor(scales)
    if scales.is_floating_point() or scales.is_complex() or scales.dtype == torch.bool:
        raise ValueError(f"E8M0 scale codes must be an integer tensor, got {scales.dtype}")
    scales = scales.to(torch.int64)
    if scales.numel() and (int(scales.min()) < 0 or int(scales.max()) > 255):
        raise ValueError("E8M0 scale codes are 0..255")
    return scales


def _check_codes(codes, spec: MXSpec) -> torch.Tensor:
    lo, hi = (-128, 127) if _is_int(spec) else (0, (1 << spec.element.bits) - 1)
    return check_codes(codes, f"{spec.name} element", lo, hi)


def scale_value(scales: torch.Tensor) -> torch.Tensor:
    """The value of each E8M0 scale code, float64: ``2^(s - 127)``, NaN for 255."""
    scales = _check_scales(scales)
    value = torch.ldexp(torch.ones(scales.shape, dtype=torch.float64), scales - SCALE_BIAS)
    return torch.where(scales == SCALE_NAN, math.nan, value)


def _element_values(codes: torch.Tensor, spec: MXSpec) -> torch.Tensor:
    if _is_int(spec):
        return codes.to(torch.float64) * 2.0 ** -INT8_FRAC
    return minifloat.decode(codes, spec.element)


def dequantize(codes: torch.Tensor, scales: torch.Tensor, spec: MXSpec, axis: int = -1
               ) -> torch.Tensor:
    """Values (float64, exact) of ``codes`` with ``scales`` as ``quantize`` returns them:
    ``codes.shape[axis]`` must be ``scales.shape[axis] * spec.block``. A NaN scale makes its
    whole block NaN; E5M2 infinities and E4M3/E5M2 NaN codes decode as such."""
    spec = _spec(spec)
    codes, scales = _check_codes(codes, spec), _check_scales(scales)
    if codes.dim() == 0 or not -codes.dim() <= axis < codes.dim():
        raise ValueError(f"axis {axis} out of range for a {codes.dim()}-d tensor")
    c, s = codes.movedim(axis, -1), scales.movedim(axis, -1)
    if c.shape[:-1] != s.shape[:-1] or c.shape[-1] != s.shape[-1] * spec.block:
        raise ValueError(f"codes {tuple(codes.shape)} and scales {tuple(scales.shape)} do not "
                         f"match blocks of {spec.block} along axis {axis}")
    values = _element_values(c, spec).reshape(*s.shape, spec.block)
    values = values * scale_value(s)[..., None]  # exact: a power of two, no over/underflow
    return values.reshape(c.shape).movedim(-1, axis)


def _bits(spec: MXSpec) -> int:
    return 8 if _is_int(spec) else spec.element.bits


def pack(codes: torch.Tensor, scales: torch.Tensor, spec: MXSpec) -> tuple[bytes, bytes]:
    """``(elements, scales)`` as bytes: element codes row-major, ``bits`` bits each, into a
    little-endian bit stream (module docstring); scale codes one byte each, row-major."""
    spec = _spec(spec)
    codes, scales = _check_codes(codes, spec).flatten(), _check_scales(scales).flatten()
    bits = _bits(spec)
    u = (codes & ((1 << bits) - 1)).tolist()  # MXINT8: two's complement byte
    stream = sum(c << (bits * i) for i, c in enumerate(u))
    n_bytes = (bits * len(u) + 7) // 8
    return stream.to_bytes(n_bytes, "little"), bytes(scales.tolist())


def unpack(elements: bytes, scales: bytes, spec: MXSpec, count: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of ``pack``: ``count`` element codes (1-d int64) and the scale codes (1-d).
    ValueError if ``elements`` is not exactly ``ceil(count * bits / 8)`` bytes."""
    spec = _spec(spec)
    bits = _bits(spec)
    if not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be an int >= 0, got {count!r}")
    if len(elements) != (bits * count + 7) // 8:
        raise ValueError(f"{count} {bits}-bit codes take {(bits * count + 7) // 8} bytes, "
                         f"got {len(elements)}")
    stream = int.from_bytes(elements, "little")
    mask = (1 << bits) - 1
    codes = torch.tensor([(stream >> (bits * i)) & mask for i in range(count)],
                         dtype=torch.int64)
    if _is_int(spec):
        codes = torch.where(codes >= 128, codes - 256, codes)
    return codes, torch.tensor(list(scales), dtype=torch.int64)


def element_fixed(codes: torch.Tensor, spec: MXSpec) -> tuple[torch.Tensor, int]:
    """``(fixed, frac_bits)``: each element's value times ``2^frac_bits``, exact int64
    (minifloat: ``golden.minifloat.fixed_values``; MXINT8: the code, 6 fractional bits).
    ValueError on a NaN or infinity code."""
    spec = _spec(spec)
    codes = _check_codes(codes, spec)
    if _is_int(spec):
        return codes, INT8_FRAC
    fixed, frac = minifloat.fixed_values(spec.element)
    if not bool(minifloat.finite(spec.element)[codes].all()):
        raise ValueError(f"{spec.name}: NaN/inf element codes have no exact value")
    return fixed[codes], frac


def _block_operands(a_codes, a_scale, b_codes, b_scale, a_spec, b_spec):
    a_spec, b_spec = _spec(a_spec), _spec(b_spec)
    a, b = _check_codes(a_codes, a_spec), _check_codes(b_codes, b_spec)
    if a.dim() != 1 or a.shape != b.shape or len(a) > min(a_spec.block, b_spec.block):
        raise ValueError("block_dot: a and b must be 1-d, of one length, at most one block")
    sa, sb = (int(_check_scales(s)) for s in (a_scale, b_scale))
    return a, b, sa, sb, a_spec, b_spec


def block_dot(a_codes: torch.Tensor, a_scale: int, b_codes: torch.Tensor, b_scale: int,
              a_spec: MXSpec, b_spec: MXSpec) -> tuple[int, int]:
    """Exact dot product of one block of ``a`` with one block of ``b``: ``(integer,
    exponent)`` (Python ints) with the value ``integer * 2^exponent``, where ``integer`` is
    the sum of the elements' fixed-point products and ``exponent = (a_scale - 127) +
    (b_scale - 127) - frac_a - frac_b``. ValueError on a NaN scale (255) or a NaN/inf
    element (``dot_fp32`` handles those)."""
    a, b, sa, sb, a_spec, b_spec = _block_operands(a_codes, a_scale, b_codes, b_scale,
                                                   a_spec, b_spec)
    if SCALE_NAN in (sa, sb):
        raise ValueError("block_dot: a NaN scale has no exact value")
    fa, fra = element_fixed(a, a_spec)
    fb, frb = element_fixed(b, b_spec)
    integer = sum(x * y for x, y in zip(fa.tolist(), fb.tolist()))  # Python ints: exact
    return integer, (sa - SCALE_BIAS) + (sb - SCALE_BIAS) - fra - frb


def round_fp32(integer: int, exponent: int) -> np.float32:
    """``integer * 2^exponent`` rounded once to IEEE binary32: nearest, ties to even,
    subnormals kept (quantum ``2^-149``), ``±inf`` when the rounded magnitude reaches
    ``2^128``; exact zero gives ``+0.0``."""
    if integer == 0:
        return np.float32(0.0)
    m = abs(integer)
    top = m.bit_length() - 1 + exponent            # value in [2^top, 2^(top+1))
    quantum = max(top - 23, -149)                  # 24-bit significand, or the subnormal ulp
    if exponent < quantum:
        shift = quantum - exponent
        r, rem = m >> shift, m & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and r & 1):
            r += 1
    else:
        r, quantum = m, exponent
    if r.bit_length() + quantum > 128:             # r * 2^quantum >= 2^128
        value = math.inf
    else:
        value = math.ldexp(r, quantum)             # exact: r < 2^25 unless shifted left
    return np.float32(value if integer > 0 else -value)


def block_fp32(a_codes, a_scale, b_codes, b_scale, a_spec, b_spec) -> np.float32:
    """One block's dot product rounded to binary32 (``round_fp32(*block_dot(...))``); a NaN
    scale or a NaN/inf element gives the float64 IEEE sum of the decoded products (NaN or
    ±inf) as binary32."""
    a, b, sa, sb, a_spec, b_spec = _block_operands(a_codes, a_scale, b_codes, b_scale,
                                                   a_spec, b_spec)
    fin_a = _is_int(a_spec) or bool(minifloat.finite(a_spec.element)[a].all())
    fin_b = _is_int(b_spec) or bool(minifloat.finite(b_spec.element)[b].all())
    if SCALE_NAN in (sa, sb) or not (fin_a and fin_b):
        va = _element_values(a, a_spec) * float(scale_value(torch.tensor(sa)))
        vb = _element_values(b, b_spec) * float(scale_value(torch.tensor(sb)))
        return np.float32((va * vb).sum().item())
    return round_fp32(*block_dot(a, sa, b, sb, a_spec, b_spec))


def dot_fp32(a_codes: torch.Tensor, a_scales: torch.Tensor, b_codes: torch.Tensor,
             b_scales: torch.Tensor, a_spec: MXSpec, b_spec: MXSpec) -> np.float32:
    """Dot product of two 1-d MX vectors of ``n_blocks`` blocks each (codes of length
    ``n_blocks * block``, scales of length ``n_blocks``; both formats of one block size):
    ``acc = +0; acc = fl32(acc + block_fp32(block k))`` for ``k = 0, 1, ...`` in binary32
    (numpy float32). Returns a numpy ``float32``."""
    a_spec, b_spec = _spec(a_spec), _spec(b_spec)
    if a_spec.block != b_spec.block:
        raise ValueError(f"block sizes differ: {a_spec.block} vs {b_spec.block}")
    k = a_spec.block
    a, b = _check_codes(a_codes, a_spec), _check_codes(b_codes, b_spec)
    sa, sb = _check_scales(a_scales), _check_scales(b_scales)
    if not (a.dim() == b.dim() == sa.dim() == sb.dim() == 1) or a.shape != b.shape \
            or len(a) != k * len(sa) or sa.shape != sb.shape:
        raise ValueError(f"dot_fp32: codes must be 1-d of length n_blocks * {k} and scales "
                         f"1-d of length n_blocks, for a and b alike")
    acc = np.float32(0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(len(sa)):
            term = block_fp32(a[i * k:(i + 1) * k], sa[i], b[i * k:(i + 1) * k], sb[i],
                              a_spec, b_spec)
            acc = np.float32(acc + term)
    return acc
