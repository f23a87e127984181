"""Sylvester Walsh–Hadamard transform (WHT) of length ``n = 2^k``, ``2 <= n <= 64``.

The Sylvester matrix is ``H_1 = [1]``, ``H_2m = [[H_m, H_m], [H_m, -H_m]]``: entry
``H[i, j] = (-1)^popcount(i & j)``, symmetric, rows in natural (Hadamard) order, and
``H @ H = n I``. The transform ``y = H x`` is taken along the last axis:

* ``transform``: the fast butterfly form, ``k`` stages; stage ``s`` maps each pair of lanes
  ``(j, j + 2^s)`` (bit ``s`` of ``j`` clear) to ``(x_j + x_{j+2^s}, x_j - x_{j+2^s})``.
  Exact on integer tensors (``int64``): every output of ``b``-bit signed inputs fits in
  ``b + k`` signed bits (``output_bits``), ``|y_i| <= n * 2^(b-1)``.
* ``butterfly_stage``: stage ``s`` alone (the same pairs, by lane index); ``transform`` is
  stages ``0 .. k-1`` in order, and ``stage_matrix`` is a stage's ``n x n`` matrix.
* ``matrix_transform``: ``x @ H`` with ``hadamard_matrix`` (the same numbers).
* ``inverse``: ``transform(y) / n`` (``H^-1 = H / n``); on integers exact, and a ``y`` that
  is not ``H`` of an integer vector is a ``ValueError``.

Normalisation: ``H / sqrt(n)`` is orthonormal (``orthonormal``), which is what rotating
activations before quantization uses. The unnormalised integer transform is what the
hardware computes; the ``1 / sqrt(n)`` belongs to the quantization scale: quantizing
``H x / sqrt(n)`` with scale ``s`` gives the same codes as quantizing ``H x`` with scale
``s * sqrt(n)``.
"""

from __future__ import annotations

import torch

__all__ = ["MIN_N", "MAX_N", "stages", "output_bits", "hadamard_matrix", "transform",
           "butterfly_stage", "stage_matrix", "matrix_transform", "inverse", "orthonormal"]

MIN_N, MAX_N = 2, 64


def stages(n) -> int:
    """``k = log2 n``: the butterfly stages (and output bits gained) of length ``n``."""
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_N <= n <= MAX_N \
            or n & (n - 1):
        raise ValueError(f"Hadamard length must be a power of two in {MIN_N}..{MAX_N}, "
                         f"got {n!r}")
    return n.bit_length() - 1


def output_bits(in_bits: int, n: int) -> int:
    """Signed bits that hold every output of ``in_bits``-bit signed inputs: ``in_bits + k``."""
    return in_bits + stages(n)


def hadamard_matrix(n: int) -> torch.Tensor:
    """The ``n x n`` Sylvester Hadamard matrix, ``int64`` entries ``+-1``."""
    h = torch.ones((1, 1), dtype=torch.int64)
    for _ in range(stages(n)):
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def _length(x: torch.Tensor) -> int:
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        raise ValueError("the Hadamard transform takes a tensor of at least one dimension")
    n = x.shape[-1]
    stages(n)
    if x.is_floating_point():
        if not bool(torch.isfinite(x).all()):
            raise ValueError("the Hadamard transform takes finite values")
    elif x.dtype == torch.bool or x.is_complex():
        raise ValueError(f"the Hadamard transform takes integer or real tensors, got {x.dtype}")
    return n


def transform(x: torch.Tensor) -> torch.Tensor:
    """``H x`` along the last axis by butterflies; integer inputs give exact ``int64``."""
    n = _length(x)
    y = x.to(torch.int64) if not x.is_floating_point() else x.clone()
    h = 1
    while h < n:
        pairs = y.reshape(*y.shape[:-1], n // (2 * h), 2, h)
        low, high = pairs[..., 0, :], pairs[..., 1, :]
        y = torch.stack([low + high, low - high], -2).reshape(y.shape)
        h *= 2
    return y


def butterfly_stage(x: torch.Tensor, s: int) -> torch.Tensor:
    """Butterfly stage ``s`` (``0 <= s < k``) along the last axis: for every lane ``j`` with
    bit ``s`` clear, lanes ``(j, j + 2^s)`` become ``(x_j + x_{j+2^s}, x_j - x_{j+2^s})``.
    Integer inputs give exact ``int64`` (one bit more than the inputs need)."""
    n = _length(x)
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < stages(n):
        raise ValueError(f"butterfly stage of length {n} must be 0..{stages(n) - 1}, "
                         f"got {s!r}")
    y = x.to(torch.int64) if not x.is_floating_point() else x
    lane = torch.arange(n)
    partner = y[..., lane ^ (1 << s)]
    return torch.where(lane & (1 << s) == 0, y + partner, partner - y)


def stage_matrix(n: int, s: int) -> torch.Tensor:
    """The ``n x n`` ``int64`` matrix ``S`` of ``butterfly_stage(., s)``: ``stage(x) = S x``
    (row ``i``: the signs with which each input lane enters output lane ``i``)."""
    return butterfly_stage(torch.eye(n, dtype=torch.int64), s).T.contiguous()


def matrix_transform(x: torch.Tensor) -> torch.Tensor:
    """``H x`` along the last axis as a matrix product (``H`` is symmetric)."""
    n = _length(x)
    h = hadamard_matrix(n)
    if x.is_floating_point():
        return x @ h.to(x.dtype)
    return x.to(torch.int64) @ h


def inverse(y: torch.Tensor) -> torch.Tensor:
    """``H^-1 y = transform(y) / n``; integers: exact, else ``ValueError``."""
    n = _length(y)
    z = transform(y)
    if y.is_floating_point():
        return z / n
    if bool((z % n != 0).any()):
        raise ValueError(f"not the Hadamard transform of an integer vector: H y is not a "
                         f"multiple of n = {n}")
    return z // n


def orthonormal(x: torch.Tensor) -> torch.Tensor:
    """``H x / sqrt(n)`` in floating point (its own inverse)."""
    n = _length(x)
    x = x if x.is_floating_point() else x.to(torch.float64)
    return transform(x) / n ** 0.5
