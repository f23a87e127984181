"""Exact integer arithmetic with a declared accumulator: products, dot products, GEMM tiles,
and the cycle-by-cycle behaviour of a MAC unit.

All functions take int64 code tensors and return int64. The accumulator is ``acc_width``
bits, signed (two's complement) when ``signed`` is true, and every addition into it either
wraps modulo ``2^acc_width`` (``overflow="wrap"``) or saturates at the accumulator's range
after each addition (``overflow="saturate"``). Products themselves are exact: the caller
declares an accumulator at least as wide as one product.
"""

from __future__ import annotations

import torch

__all__ = ["OVERFLOW_MODES", "acc_range", "wrap", "saturate", "product", "dot", "gemm",
           "mac_trace"]

OVERFLOW_MODES = ("wrap", "saturate")
MAX_ACC_WIDTH = 62  # int64 holds every intermediate sum exactly below this


def _check(acc_width: int, overflow: str):
    if isinstance(acc_width, bool) or not isinstance(acc_width, int) \
            or not 1 <= acc_width <= MAX_ACC_WIDTH:
        raise ValueError(f"accumulator width must be 1..{MAX_ACC_WIDTH} bits, got {acc_width!r}")
    if overflow not in OVERFLOW_MODES:
        raise ValueError(f"overflow must be one of {OVERFLOW_MODES}, got {overflow!r}")


def acc_range(acc_width: int, signed: bool = True) -> tuple[int, int]:
    """Smallest and largest value an ``acc_width``-bit accumulator holds."""
    if signed:
        return -(1 << (acc_width - 1)), (1 << (acc_width - 1)) - 1
    return 0, (1 << acc_width) - 1


def wrap(x: torch.Tensor, acc_width: int, signed: bool = True) -> torch.Tensor:
    """Reduce ``x`` modulo ``2^acc_width`` into the accumulator's range (two's complement)."""
    x = torch.as_tensor(x, dtype=torch.int64)
    mask = (1 << acc_width) - 1
    u = x & mask
    if signed:
        u = torch.where(u >= (1 << (acc_width - 1)), u - (1 << acc_width), u)
    return u


def saturate(x: torch.Tensor, acc_width: int, signed: bool = True) -> torch.Tensor:
    lo, hi = acc_range(acc_width, signed)
    return torch.as_tensor(x, dtype=torch.int64).clamp(lo, hi)


def _reduce(x: torch.Tensor, acc_width: int, signed: bool, overflow: str) -> torch.Tensor:
    return wrap(x, acc_width, signed) if overflow == "wrap" else saturate(x, acc_width, signed)


def product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact elementwise product of two code tensors."""
    return torch.as_tensor(a, dtype=torch.int64) * torch.as_tensor(b, dtype=torch.int64)


def _accumulate(products: torch.Tensor, acc_width: int, signed: bool, overflow: str,
                init: torch.Tensor | int = 0) -> torch.Tensor:
    """Sum the last dimension of ``products`` in order, starting from ``init``."""
    if overflow == "wrap":  # addition modulo 2^n is associative: reduce once at the end
        return wrap(products.sum(-1) + init, acc_width, signed)
    acc = torch.as_tensor(init, dtype=torch.int64).expand(products.shape[:-1]).clone()
    for k in range(products.shape[-1]):  # saturation is order-dependent: one step per term
        acc = saturate(acc + products[..., k], acc_width, signed)
    return acc


def dot(a: torch.Tensor, b: torch.Tensor, *, acc_width: int, overflow: str = "wrap",
        signed: bool = True) -> torch.Tensor:
    """Dot product over the last dimension, accumulated in order k = 0, 1, ..."""
    _check(acc_width, overflow)
    a, b = torch.as_tensor(a, dtype=torch.int64), torch.as_tensor(b, dtype=torch.int64)
    if a.shape[-1:] != b.shape[-1:]:
        raise ValueError(f"dot: reduction lengths differ ({a.shape[-1:]} vs {b.shape[-1:]})")
    return _accumulate(a * b, acc_width, signed, overflow)


def gemm(a: torch.Tensor, b: torch.Tensor, *, acc_width: int, overflow: str = "wrap",
         signed: bool = True, c: torch.Tensor | None = None) -> torch.Tensor:
    """GEMM tile ``C[m, n] = c[m, n] + sum_k A[m, k] * B[k, n]`` with the declared accumulator.

    ``a`` is ``M x K``, ``b`` is ``K x N``; the sum runs in order k = 0, 1, ...
    """
    _check(acc_width, overflow)
    a, b = torch.as_tensor(a, dtype=torch.int64), torch.as_tensor(b, dtype=torch.int64)
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"gemm: expected M x K and K x N, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    init = 0 if c is None else torch.as_tensor(c, dtype=torch.int64)
    prods = a[:, None, :] * b.T[None, :, :]  # M x N x K
    return _accumulate(prods, acc_width, signed, overflow, init)


def mac_trace(a: torch.Tensor, b: torch.Tensor, valid: torch.Tensor, clear: torch.Tensor, *,
              acc_width: int, overflow: str = "wrap", signed: bool = True) -> torch.Tensor:
    """Accumulator value after each cycle of a MAC unit (the contract of ``hw.mac.IntMAC``).

    Per cycle ``t`` (tensors are 1-d over time, starting from an accumulator of 0)::

        base   = 0 if clear[t] else acc
        acc'   = reduce(base + a[t] * b[t]) if valid[t] else base

    so ``clear`` with ``valid`` starts a new sum with the current product, and ``clear``
    alone empties the accumulator. Returns ``acc'`` for every ``t``.
    """
    _check(acc_width, overflow)
    a, b = torch.as_tensor(a, dtype=torch.int64), torch.as_tensor(b, dtype=torch.int64)
    valid = torch.as_tensor(valid, dtype=torch.bool)
    clear = torch.as_tensor(clear, dtype=torch.bool)
    if not a.shape == b.shape == valid.shape == clear.shape or a.dim() != 1:
        raise ValueError("mac_trace: a, b, valid and clear must be 1-d and of one length")
    terms = torch.where(valid, a * b, torch.zeros_like(a))
    if overflow == "wrap":
        # Segmented prefix sum: subtract the running sum as it stood before the last clear.
        total = torch.cumsum(terms, 0)
        before = total - terms
        t = torch.arange(len(a))
        last_clear = torch.cummax(torch.where(clear, t, torch.full_like(t, -1)), 0).values
        base = torch.where(last_clear >= 0, before[last_clear.clamp(min=0)],
                           torch.zeros_like(total))
        return wrap(total - base, acc_width, signed)
    out = torch.empty_like(terms)
    acc = torch.zeros((), dtype=torch.int64)
    for t in range(len(terms)):
        base = torch.zeros_like(acc) if clear[t] else acc
        acc = saturate(base + terms[t], acc_width, signed) if valid[t] else base
        out[t] = acc
    return out
