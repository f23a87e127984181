"""2:4 structured sparsity: magnitude pruning, the compressed form, exact sparse dot and GEMM,
and the lane words of ``pe=sparse24`` (docs/formats.md, section 2:4 structured sparsity).

Groups are four consecutive elements along the **reduction axis** (``axis``; for a GEMM
``X @ W`` the weights' axis 0). Contract shared with ``hw/``:

* **pruning** (``prune``/``keep_mask``): in each group the two elements of largest magnitude
  stay, the other two become 0. Ties: the lower index wins (``|w| = [3, 5, 3, 3]`` keeps
  indices 0 and 1). A group with fewer than two non-zeros still names two positions.
* **compressed form** (``compress``): a reduction length ``K`` becomes ``K / 2`` values and
  ``K / 2`` positions; entries ``2g`` and ``2g + 1`` are group ``g``'s two kept elements,
  positions (0..3, within the group) strictly ascending. ``decompress`` refuses positions out
  of range or not strictly ascending.
* ``K`` not divisible by 4 is an error unless ``pad=True``, which appends zeros to the next
  multiple of 4 (the padded elements are zero and are never selected over a non-zero).
* **lane words** (``pe=sparse24``, one array step): the A lane holds four activations of
  ``a_bits`` each, element ``i`` in bits ``[i * a_bits, (i + 1) * a_bits)``; the B lane
  holds ``value0`` (bits ``[0, b)``), ``value1`` (``[b, 2b)``), ``position0``
  (``[2b, 2b + 2)``) and ``position1`` (``[2b + 2, 2b + 4)``), values two's complement. The
  cell's step is ``value0 * x[position0] + value1 * x[position1]`` for *any* positions (it
  does not check their order: ``expand`` is that reading).
"""

from __future__ import annotations

import torch

from quantrtl.golden import arith

__all__ = ["GROUP", "KEEP", "keep_mask", "prune", "compress", "decompress", "expand",
           "sparse_dot", "sparse_gemm", "pack_a_lane", "unpack_a_lane", "pack_b_lane",
           "unpack_b_lane", "to_lanes", "lane_gemm"]

GROUP = 4     # elements per group along the reduction axis
KEEP = 2      # elements kept per group
POS_BITS = 2  # bits of one position


def _check_tensor(x, what: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{what} must be a tensor, got {type(x).__name__}")
    if x.dim() == 0 or x.numel() == 0:
        raise ValueError(f"{what} must have at least one dimension and one element")
    if torch.is_floating_point(x) and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{what} contains NaN or Inf")
    return x


def _groups(w: torch.Tensor, axis: int, pad: bool) -> torch.Tensor:
    """``w`` with ``axis`` moved last and split into groups: ``(..., K / 4, 4)``."""
    w = _check_tensor(w, "weights").movedim(axis, -1)
    k = w.shape[-1]
    if k % GROUP:
        if not pad:
            raise ValueError(f"2:4 sparsity needs a reduction length divisible by 4, got {k} "
                             f"(pass pad=True to pad it with zeros)")
        w = torch.nn.functional.pad(w, (0, GROUP - k % GROUP))
    return w.reshape(*w.shape[:-1], -1, GROUP)


def _positions(groups: torch.Tensor) -> torch.Tensor:
    """The two kept positions of each group, ascending: the largest magnitudes, the lower
    index first among equal ones (a stable sort of the negated magnitudes)."""
    order = torch.sort(-groups.abs().to(torch.float64), dim=-1, stable=True).indices
    return torch.sort(order[..., :KEEP], dim=-1).values


def keep_mask(w: torch.Tensor, *, axis: int = 0, pad: bool = False) -> torch.Tensor:
    """Boolean mask of the elements 2:4 magnitude pruning keeps, ``w``'s shape (padded along
    ``axis`` when ``pad``)."""
    groups = _groups(w, axis, pad)
    mask = torch.zeros(groups.shape, dtype=torch.bool)
    mask.scatter_(-1, _positions(groups), True)
    return mask.reshape(*mask.shape[:-2], -1).movedim(-1, axis)


def prune(w: torch.Tensor, *, axis: int = 0, pad: bool = False) -> torch.Tensor:
    """``w`` with two of every four elements along ``axis`` set to 0 (same dtype)."""
    groups = _groups(w, axis, pad)
    mask = keep_mask(w, axis=axis, pad=pad).movedim(axis, -1).reshape(groups.shape)
    pruned = torch.where(mask, groups, torch.zeros((), dtype=groups.dtype))
    return pruned.reshape(*pruned.shape[:-2], -1).movedim(-1, axis)


def compress(w: torch.Tensor, *, axis: int = 0,
             pad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(values, positions)`` of 2:4 magnitude pruning: ``axis`` of length ``K`` becomes
    ``K / 2``; entries ``2g``, ``2g + 1`` are group ``g``'s kept elements (``w``'s dtype) and
    their positions 0..3 (int64), ascending."""
    groups = _groups(w, axis, pad)
    pos = _positions(groups)
    values = torch.gather(groups, -1, pos)
    flat = [t.reshape(*t.shape[:-2], -1).movedim(-1, axis) for t in (values, pos)]
    return flat[0], flat[1]


def _check_compressed(values, positions, axis: int, strict: bool):
    values = _check_tensor(values, "values")
    positions = _check_tensor(positions, "positions")
    if values.shape != positions.shape:
        raise ValueError(f"values {tuple(values.shape)} and positions "
                         f"{tuple(positions.shape)} differ in shape")
    if torch.is_floating_point(positions):
        raise ValueError("positions must be integers")
    values, positions = values.movedim(axis, -1), positions.movedim(axis, -1).to(torch.int64)
    if values.shape[-1] % KEEP:
        raise ValueError(f"a compressed reduction axis holds two entries per group, got "
                         f"{values.shape[-1]}")
    if bool(((positions < 0) | (positions >= GROUP)).any()):
        raise ValueError(f"positions must be 0..{GROUP - 1}, got "
                         f"{positions.min().item()}..{positions.max().item()}")
    values = values.reshape(*values.shape[:-1], -1, KEEP)
    positions = positions.reshape(*positions.shape[:-1], -1, KEEP)
    if strict and bool((positions[..., 0] >= positions[..., 1]).any()):
        raise ValueError("the two positions of a group must be distinct and ascending")
    return values, positions


def _scatter(values, positions, axis: int, strict: bool) -> torch.Tensor:
    values, positions = _check_compressed(values, positions, axis, strict)
    dense = torch.zeros(*values.shape[:-1], GROUP, dtype=values.dtype)
    dense.scatter_add_(-1, positions, values)
    return dense.reshape(*dense.shape[:-2], -1).movedim(-1, axis)


def decompress(values: torch.Tensor, positions: torch.Tensor, *, axis: int = 0) -> torch.Tensor:
    """The dense tensor of a compressed form (``K / 2`` -> ``K`` along ``axis``, zeros where
    nothing was kept). ``ValueError`` for positions outside 0..3 or not strictly ascending."""
    return _scatter(values, positions, axis, strict=True)


def expand(values: torch.Tensor, positions: torch.Tensor, *, axis: int = 0) -> torch.Tensor:
    """The hardware's reading of a compressed form: like ``decompress`` but any positions
    0..3 are accepted, and two equal positions add their values."""
    return _scatter(values, positions, axis, strict=False)


def _int(x, what: str) -> torch.Tensor:
    x = _check_tensor(x, what)
    if torch.is_floating_point(x) or torch.is_complex(x):
        raise ValueError(f"{what} must be integer codes, got {x.dtype}")
    return x.to(torch.int64)


def _pad_reduction(x: torch.Tensor, k: int, pad: bool) -> torch.Tensor:
    if x.shape[-1] == k:
        return x
    if pad and k - GROUP < x.shape[-1] < k:
        return torch.nn.functional.pad(x, (0, k - x.shape[-1]))
    raise ValueError(f"activations have reduction length {x.shape[-1]}, the compressed "
                     f"weights {k}{'' if pad else ' (pad=True pads a shorter one)'}")


def sparse_dot(x: torch.Tensor, values: torch.Tensor, positions: torch.Tensor, *,
               pad: bool = False) -> int:
    """Exact ``sum_k x[k] * w[k]`` of integer activations ``x`` (length ``K``) and a
    compressed integer weight vector (length ``K / 2`` each)."""
    x = _int(x, "activations")
    if x.dim() != 1 or values.dim() != 1:
        raise ValueError("sparse_dot takes 1-d activations and a 1-d compressed vector")
    w = decompress(_int(values, "values"), positions)
    return int((_pad_reduction(x, len(w), pad) * w).sum())


def sparse_gemm(x: torch.Tensor, values: torch.Tensor, positions: torch.Tensor, *,
                pad: bool = False, acc_width: int = 62, overflow: str = "wrap") -> torch.Tensor:
    """``C = X @ W`` of integer activations ``x`` (``M x K``) and compressed integer weights
    (``K / 2 x N``, compressed along axis 0), exact in the declared accumulator
    (``golden.arith.gemm``)."""
    x = _int(x, "activations")
    if x.dim() != 2 or values.dim() != 2:
        raise ValueError("sparse_gemm takes M x K activations and K/2 x N compressed weights")
    w = decompress(_int(values, "values"), positions)
    return arith.gemm(_pad_reduction(x, w.shape[0], pad), w, acc_width=acc_width,
                      overflow=overflow)


def _fields(word: torch.Tensor, widths: list[int], signed: list[bool]) -> list[torch.Tensor]:
    word, out, shift = torch.as_tensor(word, dtype=torch.int64), [], 0
    for width, sign in zip(widths, signed):
        f = (word >> shift) & ((1 << width) - 1)
        out.append(torch.where(f >= 1 << (width - 1), f - (1 << width), f) if sign else f)
        shift += width
    return out


def _word(fields: list[torch.Tensor], widths: list[int]) -> torch.Tensor:
    word, shift = 0, 0
    for f, width in zip(fields, widths):
        word = word + ((torch.as_tensor(f, dtype=torch.int64) & ((1 << width) - 1)) << shift)
        shift += width
    return word


def pack_a_lane(x: torch.Tensor, a_bits: int) -> torch.Tensor:
    """A lane words (unsigned) of groups ``x`` (``(..., 4)`` signed codes)."""
    return _word(list(torch.as_tensor(x).unbind(-1)), [a_bits] * GROUP)


def unpack_a_lane(word: torch.Tensor, a_bits: int) -> torch.Tensor:
    """The four signed activations ``(..., 4)`` of A lane words."""
    return torch.stack(_fields(word, [a_bits] * GROUP, [True] * GROUP), dim=-1)


def pack_b_lane(values: torch.Tensor, positions: torch.Tensor, b_bits: int) -> torch.Tensor:
    """B lane words (unsigned) of ``values`` and ``positions`` (each ``(..., 2)``)."""
    v, p = torch.as_tensor(values).unbind(-1), torch.as_tensor(positions).unbind(-1)
    return _word([*v, *p], [b_bits] * KEEP + [POS_BITS] * KEEP)


def unpack_b_lane(word: torch.Tensor, b_bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(values, positions)``, each ``(..., 2)``, of B lane words."""
    f = _fields(word, [b_bits] * KEEP + [POS_BITS] * KEEP, [True] * KEEP + [False] * KEEP)
    return torch.stack(f[:KEEP], dim=-1), torch.stack(f[KEEP:], dim=-1)


def to_lanes(x: torch.Tensor, values: torch.Tensor, positions: torch.Tensor, a_bits: int,
             b_bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The lane words of ``sparse_gemm(x, values, positions)``: A lanes ``M x K / 4`` (group
    ``s`` of each row of ``x``) and B lanes ``K / 4 x N`` (group ``s`` of each column)."""
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] % GROUP or values.shape != (x.shape[1] // KEEP,
                                                              positions.shape[1]):
        raise ValueError(f"to_lanes takes M x K activations (K a multiple of 4) and K/2 x N "
                         f"compressed weights, got {tuple(x.shape)} and {tuple(values.shape)}")
    groups = x.shape[1] // GROUP

    def pairs(t):  # K/2 x N -> K/4 x N x 2
        return torch.as_tensor(t).reshape(groups, KEEP, -1).movedim(1, 2)

    return (pack_a_lane(x.reshape(x.shape[0], groups, GROUP), a_bits),
            pack_b_lane(pairs(values), pairs(positions), b_bits))


def lane_gemm(a: torch.Tensor, b: torch.Tensor, a_bits: int, b_bits: int) -> torch.Tensor:
    """Exact ``A @ B`` of lane words, ``pe=sparse24``'s reading: ``a`` is ``M x S`` A lanes,
    ``b`` is ``S x N`` B lanes; step ``s`` of ``C[m, n]`` adds ``value0 * x[position0] +
    value1 * x[position1]`` (any positions, ``expand``)."""
    x = unpack_a_lane(a, a_bits)                     # M x S x 4
    values, positions = unpack_b_lane(b, b_bits)     # S x N x 2 each
    dense = expand(values.movedim(1, 0).reshape(b.shape[1], -1),
                   positions.movedim(1, 0).reshape(b.shape[1], -1), axis=1)  # N x 4S
    return arith.gemm(x.reshape(x.shape[0], -1), dense.T, acc_width=62)
