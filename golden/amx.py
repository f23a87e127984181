"""AMXFP4 (asymmetric microscaling FP4): blocks of E2M1 elements with two FP8 scales, one
for the positive and one for the negative elements.

The reference is the AMXFP4 authors' released code, aiha-lab/MX-QLLM (read at its commit
``4fbe697``; nothing of it is copied here). Its AMXFP4 is the element format
``fp4_e2m1_asym`` with an FP8 scale mode (``scale_mode=152``: E5M2, ``143``: E4M3), which
``microxcaling/mx/mx_ops.py`` (``quantize_mx_op``) turns into ``asym=1``; with blocks of 32
along the last axis (``microxcaling/mx/linear.py`` quantizes weights and inputs along
``axes=[-1]``) ``_quantize_mx`` calls the CUDA kernel ``quantize_mx_innermost_cuda_kernel``
of ``microxcaling/mx/cpp/mx.cuh`` (branch ``asym==1``; dispatch in
``microxcaling/mx/cpp/mx.cu``, ``quantize_mx_by_tile_cuda``); other block layouts run
``quantize_mx_by_tile_cuda_kernel`` and ``quantize_mx_cuda_kernel`` in the same file, whose
``asym==1`` branches compute the same values. The CPU path (``quantize_mx_func_cpp``) has
no ``asym`` argument, so no AMXFP4. The FP8 and FP4 roundings are microxcaling's
``quantize_elemwise`` (``microxcaling/mx/cpp/quantize.cuh``); ``fp4_e2m1_asym`` is
``ebits=2, mbits=3`` (sign and implicit bit included), ``max_norm = 6``
(``microxcaling/mx/formats.py``). What this model takes from that code:

* Scales: ``pos = max(block) / 6`` and ``neg = |min(block)| / 6`` (float32 division in the
  kernel), each replaced by 1 when it is exactly 0, then rounded to FP8 with the same
  ``rounding_mode`` as the elements, saturating, subnormals kept
  (``quantize_elemwise(scale, 4, 5, 57344.0, mode, true, true)`` for E5M2). This model
  rounds ``max / 6`` once from float64; the kernel's float32 quotient cannot land on or
  cross an FP8 midpoint it was not already on (midpoints have 4 significant bits, one
  float32 ulp of ``max`` divided by 6 exceeds half an ulp of the quotient), so for
  float32 input both give the same scale.
* A zero scale after FP8 rounding (``|max| / 6`` below half the smallest subnormal): for
  E4M3 the kernel replaces it by 1 again (``scale = (scale==0) ? 1 : scale``), for E5M2 it
  does not, and the scale stays 0. Elements then divide by 0: a nonzero element becomes
  ``±inf``, saturates to ``±6`` (code ``0x7``/``0xF``) and decodes to ``±6 * 0 = 0``; this
  model gives the same codes. A zero element divided by a zero scale is ``0/0 = NaN`` in
  the kernel and its output is NaN; E2M1 has no NaN code, so this model gives it the zero
  code (value 0) instead: the one place it does not reproduce the kernel's values. It
  happens only for E5M2 scales and blocks whose negative extreme is ``0 > min > -6 *
  2^-17`` (the zero element uses the negative scale, next item).
* Which scale: ``(x > 0) ? pos : neg``. A zero element (``+0.0`` and ``-0.0``) uses the
  negative scale; its value is 0 with any finite nonzero scale. In the codes the element's
  sign bit selects the scale when decoding: ``+0`` decodes with ``pos`` and ``-0`` with
  ``neg``, both to 0.
* All-positive and all-negative blocks: the scale of the missing sign is unused. The
  by-tile kernel starts its max and min at 0, so that scale is ``0 / 6 -> 1``; the
  innermost kernel starts them at the first element and computes ``max / 6`` even when
  ``max < 0`` (a negative, unused scale). This model takes the by-tile convention:
  ``pos`` from ``max(0, max)`` and ``neg`` from ``|min(0, min)|``, so an all-negative
  block has ``pos = 1.0`` and an all-positive block ``neg = 1.0`` (and with a zero element
  the kernels agree: that extreme is 0). An all-zero block has both scales 1.0 and zero
  element codes. Values are the same either way.
* Elements: ``x / scale`` (float32 division in the kernel) rounded to E2M1, nearest with
  the chosen tie rule, saturating at ``±6`` (``quantize_elemwise(q, 3, 2, 6, mode, true,
  true)``), subnormal 0.5 kept. ``x / scale`` is exact-rounded here from float64: as for
  the scale, a float32 or float64 quotient cannot land on an E2M1 midpoint it was not on
  (the tests compare against exact rational rounding), so for float32 input the codes are
  the kernel's.
* Rounding: the authors' runs use microxcaling's default ``round="nearest"``
  (``microxcaling/mx/specs.py``: ``round_mx_output``), which is ``rd_away``: nearest,
  ties away from zero, for the scale and the elements alike. This model's default is
  ``rounding="even"`` (ties to even, as ``golden.mx``); ``rounding="away"`` is the
  authors' setting. The one option applies to both roundings, as in the kernel.
* E4M3 scales: the kernel rounds to E4M3 with ``max_norm = 480`` (``quantize_elemwise(
  scale, 5, 4, 480, ...)``), i.e. it uses ``1.111 * 2^8``, the OCP E4M3 NaN code, as a
  value. This model stores OCP E4M3 codes and saturates at 448: blocks with ``|max|`` or
  ``|min|`` of at least ``6 * 464 = 2784`` (ties-to-even: above it) get a 448 scale here
  and a 480 scale in the kernel. E5M2 scales saturate at 57344 in both.
* Non-finite input: a block containing NaN or ±inf gets NaN scale codes (E5M2 ``0x7E``,
  E4M3 ``0x7F``, ``golden.minifloat.nan_code``) and zero element codes, so it decodes to
  NaN, as ``golden.mx`` does. The kernel does no such check; this is this model's rule.
* Blocks run along ``axis`` (default the last, as the authors quantize); a length the block
  size does not divide is a ValueError unless ``pad=True``, which zero-pads at the end
  (``golden.mx``'s convention; the kernels' partial tiles start max/min at 0, which gives
  the same scales as zero padding).

The script ``scripts/run.sh`` of the reference sets ``scale_mode=2`` (an unrounded float
scale ``max / 6``) while its README gives ``scale_mode=152`` for "AMXFP4-FP8"; this model
is the FP8 one.

Codes: element codes are E2M1 bit patterns (int64, ``golden.minifloat``); scale codes are
FP8 bit patterns of ``scale_fmt``, one ``pos`` and one ``neg`` per block, shaped like
``x`` with ``axis`` of length ``n_blocks``. ``dequantize`` multiplies each element by the
scale its sign bit selects (exact in float64). ``block_dot`` returns the exact value of
one block pair's dot product as ``(integer, exponent)``.
"""

from __future__ import annotations

import torch

from quantrtl.formats.minifloat import FloatSpec, parse_float
from quantrtl.golden import minifloat
from quantrtl.golden.codes import check_codes
from quantrtl.golden.mx import split_blocks

__all__ = ["ELEMENT", "SCALE_FORMATS", "quantize", "dequantize", "fake_quantize",
           "scale_values", "block_dot"]

ELEMENT = parse_float("e2m1")
SCALE_FORMATS = ("e5m2", "e4m3")


def _scale_spec(scale_fmt) -> FloatSpec:
    name = scale_fmt.name if isinstance(scale_fmt, FloatSpec) else str(scale_fmt).lower()
    if name not in SCALE_FORMATS:
        raise ValueError(f"AMXFP4 scales are one of {SCALE_FORMATS}, got {scale_fmt!r}")
    return parse_float(name)


def _check_block(block) -> int:
    if isinstance(block, bool) or not isinstance(block, int) or not 1 <= block <= 1024:
        raise ValueError(f"block size must be an int 1..1024, got {block!r}")
    return block


def _scale_codes(extreme: torch.Tensor, spec: FloatSpec, rounding: str) -> torch.Tensor:
    """FP8 codes of ``extreme / 6`` (``extreme >= 0``): 0 -> 1 before rounding, and for
    E4M3 also after it (the kernel's two ``(scale==0) ? 1 : scale``)."""
    raw = torch.where(extreme == 0, 1.0, extreme / ELEMENT.max_normal)
    codes = minifloat.encode(raw, spec, rounding=rounding)
    if spec.name == "e4m3":
        one = int(minifloat.encode(torch.tensor([1.0]), spec))
        codes = torch.where(minifloat.decode(codes, spec) == 0, one, codes)
    return codes


def quantize(x: torch.Tensor, *, block: int = 32, scale_fmt: str = "e5m2", axis: int = -1,
             rounding: str = "even", pad: bool = False
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(codes, pos_scale_codes, neg_scale_codes)`` (int64) of a float tensor in AMXFP4.

    ``codes``: E2M1 codes shaped like ``x`` (padded length with ``pad=True``); the scale
    codes: ``scale_fmt`` (``"e5m2"`` or ``"e4m3"``) codes shaped like ``x`` with ``axis`` of
    length ``n_blocks``. Rules: the module docstring."""
    spec = _scale_spec(scale_fmt)
    block = _check_block(block)
    if rounding not in minifloat.ROUNDING_MODES:
        raise ValueError(f"rounding must be one of {minifloat.ROUNDING_MODES}, "
                         f"got {rounding!r}")
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        raise ValueError(f"AMXFP4 quantize takes a floating-point tensor, got {x.dtype}")
    blocks, _ = split_blocks(x.to(torch.float64), block, axis, pad, "AMXFP4")
    special = ~torch.isfinite(blocks).all(-1)
    clean = torch.where(special[..., None], 0.0, blocks)
    pos_codes = _scale_codes(clean.amax(-1).clamp(min=0), spec, rounding)
    neg_codes = _scale_codes((-clean.amin(-1)).clamp(min=0), spec, rounding)
    pos = minifloat.decode(pos_codes, spec)[..., None]
    neg = minifloat.decode(neg_codes, spec)[..., None]
    scale = torch.where(clean > 0, pos, neg)               # the kernel's (x > 0) ? pos : neg
    quotient = clean / scale                               # x / 0: ±inf -> ±6; 0 / 0: NaN
    quotient = torch.where(torch.isnan(quotient), clean, quotient)  # 0/0 -> the signed zero
    codes = minifloat.encode(quotient, ELEMENT, rounding=rounding)
    codes = torch.where(special[..., None], 0, codes)
    nan = minifloat.nan_code(spec)
    pos_codes = torch.where(special, nan, pos_codes)
    neg_codes = torch.where(special, nan, neg_codes)
    codes = codes.reshape(*codes.shape[:-2], -1).movedim(-1, axis)
    return codes, pos_codes.movedim(-1, axis), neg_codes.movedim(-1, axis)


def _check_codes(codes, spec: FloatSpec, what: str) -> torch.Tensor:
    return check_codes(codes, what, 0, (1 << spec.bits) - 1)


def scale_values(scale_codes: torch.Tensor, scale_fmt: str = "e5m2") -> torch.Tensor:
    """The value of each scale code, float64 (NaN codes -> NaN)."""
    spec = _scale_spec(scale_fmt)
    return minifloat.decode(_check_codes(scale_codes, spec, f"{spec.name} scale"), spec)


def dequantize(codes: torch.Tensor, pos_scale_codes: torch.Tensor,
               neg_scale_codes: torch.Tensor, *, block: int = 32, scale_fmt: str = "e5m2",
               axis: int = -1) -> torch.Tensor:
    """Values (float64, exact) of AMXFP4 codes: each E2M1 element times the scale its sign
    bit selects (``pos`` for sign 0, ``neg`` for sign 1). ``codes.shape[axis]`` must be
    ``n_blocks * block`` with both scale tensors of ``n_blocks`` along ``axis``."""
    spec = _scale_spec(scale_fmt)
    block = _check_block(block)
    codes = _check_codes(codes, ELEMENT, "E2M1")
    pos = scale_values(pos_scale_codes, spec)
    neg = scale_values(neg_scale_codes, spec)
    if codes.dim() == 0 or not -codes.dim() <= axis < codes.dim():
        raise ValueError(f"axis {axis} out of range for a {codes.dim()}-d tensor")
    c, p, n = codes.movedim(axis, -1), pos.movedim(axis, -1), neg.movedim(axis, -1)
    if p.shape != n.shape or c.shape[:-1] != p.shape[:-1] \
            or c.shape[-1] != p.shape[-1] * block:
        raise ValueError(f"codes {tuple(codes.shape)} and scales {tuple(pos.shape)} / "
                         f"{tuple(neg.shape)} do not match blocks of {block} along "
                         f"axis {axis}")
    c = c.reshape(*p.shape, block)
    negative = (c >> (ELEMENT.bits - 1)) == 1
    values = minifloat.decode(c, ELEMENT) * torch.where(negative, n[..., None], p[..., None])
    return values.reshape(*p.shape[:-1], -1).movedim(-1, axis)


def fake_quantize(x: torch.Tensor, *, block: int = 32, scale_fmt: str = "e5m2",
                  axis: int = -1, rounding: str = "even") -> torch.Tensor:
    """``dequantize(*quantize(x))`` in ``x``'s dtype (zero-padded blocks, cut back to
    ``x``'s length), for error measurements."""
    x = torch.as_tensor(x)
    codes, pos, neg = quantize(x, block=block, scale_fmt=scale_fmt, axis=axis,
                               rounding=rounding, pad=True)
    out = dequantize(codes, pos, neg, block=block, scale_fmt=scale_fmt, axis=axis)
    return out.movedim(axis, -1)[..., :x.shape[axis]].movedim(-1, axis).to(x.dtype)


def _element_scales(codes: torch.Tensor, pos: int, neg: int, spec: FloatSpec):
    """Per element: (element fixed, scale fixed) as Python ints."""
    e_fixed, _ = minifloat.fixed_values(ELEMENT)
    s_fixed, _ = minifloat.fixed_values(spec)
    finite = minifloat.finite(spec)
    if not (bool(finite[pos]) and bool(finite[neg])):
        raise ValueError("block_dot: a NaN or infinite scale has no exact value")
    negative = (codes >> (ELEMENT.bits - 1)) == 1
    scales = torch.where(negative, s_fixed[neg], s_fixed[pos])
    return e_fixed[codes].tolist(), scales.tolist()


def block_dot(a_codes: torch.Tensor, a_pos: int, a_neg: int, b_codes: torch.Tensor,
              b_pos: int, b_neg: int, *, a_scale_fmt: str = "e5m2",
              b_scale_fmt: str = "e5m2") -> tuple[int, int]:
    """Exact dot product of one AMXFP4 block of ``a`` with one of ``b``: ``(integer,
    exponent)`` (Python ints), value ``integer * 2^exponent``. ``integer`` is the sum over
    elements of ``ea * sa * eb * sb`` in fixed point (E2M1: 1 fractional bit; scales:
    ``golden.minifloat.frac_bits``, E5M2 16, E4M3 9), each element with the scale of its
    own sign bit; ``exponent = -(1 + frac(a_scale) + 1 + frac(b_scale))``. ValueError on a
    NaN or infinite scale."""
    sa, sb = _scale_spec(a_scale_fmt), _scale_spec(b_scale_fmt)
    a = _check_codes(a_codes, ELEMENT, "E2M1")
    b = _check_codes(b_codes, ELEMENT, "E2M1")
    if a.dim() != 1 or a.shape != b.shape:
        raise ValueError("block_dot: a and b must be 1-d and of one length")
    scale_codes = [int(_check_codes(torch.tensor(s), spec, f"{spec.name} scale"))
                   for s, spec in ((a_pos, sa), (a_neg, sa), (b_pos, sb), (b_neg, sb))]
    ea, esa = _element_scales(a, scale_codes[0], scale_codes[1], sa)
    eb, esb = _element_scales(b, scale_codes[2], scale_codes[3], sb)
    integer = sum(w * x * y * z for w, x, y, z in zip(ea, esa, eb, esb))
    frac_e = minifloat.frac_bits(ELEMENT)
    return integer, -(2 * frac_e + minifloat.frac_bits(sa) + minifloat.frac_bits(sb))
