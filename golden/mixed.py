"""Runtime mixed-precision lanes: one 16-bit A lane and one 16-bit B lane per reduction step,
read as one 8x8, two 4x8 or four 4x4 signed products depending on a per-step mode.

This is the spec of the mixed-precision PE (``hw.pe_mixed.MixedPE``); the hardware is
checked against it and shares no code with it. Modes, in index order::

    mode "8x8"   (index 0, 1 element per lane)
                  15            8 7             0
        A lane:  [ don't care    |     a0 int8   ]
        B lane:  [ don't care    |     b0 int8   ]
        step = a0*b0

    mode "4x8"   (index 1, 2 elements per lane: reduction elements k, k+1)
                  15            8 7     4 3     0
        A lane:  [ don't care    | a1    | a0    ]       a0, a1: int4
                  15            8 7             0
        B lane:  [   b1 int8     |     b0 int8   ]
        step = a0*b0 + a1*b1

    mode "4x4"   (index 2, 4 elements per lane: reduction elements k .. k+3)
                  15   12 11    8 7     4 3     0
        A lane:  [ a3    | a2    | a1    | a0    ]       all int4
        B lane:  [ b3    | b2    | b1    | b0    ]       all int4
        step = a0*b0 + a1*b1 + a2*b2 + a3*b3

Every element is two's complement. "Don't care" bits may hold anything and do not change
the step. A GEMM of lane codes ``A`` (``M x K`` lanes) and ``B`` (``K x N`` lanes) in one
mode is the exact integer GEMM of the unpacked elements: lane ``A[m, k]`` holds elements
``k * e .. k * e + e - 1`` of row ``m``, lane ``B[k, n]`` the same elements of column
``n`` (``e = ELEMENTS[mode]``), so the reduction length is ``K * e``.
"""

from __future__ import annotations

import torch

__all__ = ["MODES", "LANE_BITS", "ELEMENTS", "FIELDS", "element_range", "used_bits",
           "pack", "unpack", "step", "step_bound", "gemm"]

MODES = ("8x8", "4x8", "4x4")
LANE_BITS = 16
ELEMENTS = {"8x8": 1, "4x8": 2, "4x4": 4}

# (bit offset, width) of each element in a lane, element 0 first, per side and mode.
FIELDS = {
    "a": {"8x8": ((0, 8),), "4x8": ((0, 4), (4, 4)),
          "4x4": ((0, 4), (4, 4), (8, 4), (12, 4))},
    "b": {"8x8": ((0, 8),), "4x8": ((0, 8), (8, 8)),
          "4x4": ((0, 4), (4, 4), (8, 4), (12, 4))},
}


def _fields(side: str, mode: str):
    if side not in FIELDS:
        raise ValueError(f"side must be 'a' or 'b', got {side!r}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
    return FIELDS[side][mode]


def element_range(side: str, mode: str) -> tuple[int, int]:
    """Smallest and largest element of ``side`` in ``mode`` (all elements of a lane share it)."""
    width = _fields(side, mode)[0][1]
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def used_bits(side: str, mode: str) -> int:
    """Bits ``[0, used)`` of a lane that hold elements; the rest are don't care."""
    offset, width = _fields(side, mode)[-1]
    return offset + width


def pack(elements, side: str, mode: str) -> torch.Tensor:
    """Lane codes (int64, ``0 .. 2^16 - 1``, don't-care bits 0) from ``elements``, whose last
    dimension is ``ELEMENTS[mode]`` (element 0 first); ValueError for an element out of range."""
    fields = _fields(side, mode)
    x = torch.as_tensor(elements, dtype=torch.int64)
    if x.dim() == 0 or x.shape[-1] != len(fields):
        raise ValueError(f"pack: last dimension must be {len(fields)} elements for mode "
                         f"{mode}, got shape {tuple(x.shape)}")
    lo, hi = element_range(side, mode)
    if x.numel() and (x.min() < lo or x.max() > hi):
        raise ValueError(f"pack: {side} elements of mode {mode} must be in {lo}..{hi}")
    code = torch.zeros(x.shape[:-1], dtype=torch.int64)
    for e, (offset, width) in enumerate(fields):
        code |= (x[..., e] & ((1 << width) - 1)) << offset
    return code


def unpack(codes, side: str, mode: str) -> torch.Tensor:
    """The signed elements of lane codes: a new last dimension of ``ELEMENTS[mode]``; bits
    outside the mode's fields (and above bit 15) are ignored."""
    fields = _fields(side, mode)
    c = torch.as_tensor(codes, dtype=torch.int64)
    out = []
    for offset, width in fields:
        u = (c >> offset) & ((1 << width) - 1)
        out.append(torch.where(u >= (1 << (width - 1)), u - (1 << width), u))
    return torch.stack(out, dim=-1)


def step(a_codes, b_codes, mode: str) -> torch.Tensor:
    """What one PE adds for one step: the dot product of the lanes' elements (elementwise
    over the codes' shape)."""
    return (unpack(a_codes, "a", mode) * unpack(b_codes, "b", mode)).sum(-1)


def step_bound(mode: str | None = None) -> int:
    """Largest ``|step|`` in ``mode``, or over every mode when ``mode`` is None."""
    if mode is None:
        return max(step_bound(m) for m in MODES)
    (alo, ahi), (blo, bhi) = element_range("a", mode), element_range("b", mode)
    one = max(abs(x * y) for x in (alo, ahi) for y in (blo, bhi))
    return ELEMENTS[mode] * one


def gemm(a_codes, b_codes, mode: str) -> torch.Tensor:
    """Exact ``A @ B`` (int64) of lane codes ``A`` (``M x K``) and ``B`` (``K x N``) in
    ``mode``: the integer GEMM of the unpacked ``M x K*e`` and ``K*e x N`` element matrices."""
    a = torch.as_tensor(a_codes, dtype=torch.int64)
    b = torch.as_tensor(b_codes, dtype=torch.int64)
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"gemm: expected M x K and K x N lanes, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    e = len(_fields("a", mode))
    (m, k), n = a.shape, b.shape[1]
    ea = unpack(a, "a", mode).reshape(m, k * e)                    # row m: elements in order
    eb = unpack(b, "b", mode).permute(0, 2, 1).reshape(k * e, n)   # K x e x N -> K*e x N
    return (ea[:, :, None] * eb[None, :, :]).sum(1)
