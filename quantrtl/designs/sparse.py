"""2:4 structured-sparse weights: the ``sparse24`` array PE type (``hw.pe_sparse.SparsePE``),
golden ``golden.sparse``, and its ``quantrtl explore`` pairs ``sparse24int8xint8`` and
``sparse24int4xint8``."""

from __future__ import annotations

import torch

from quantrtl.designs.mac import int_acts
from quantrtl.designs.registry import PETypeSpec, register_pair, register_pe
from quantrtl.designs.spec import FormatPair
from quantrtl.formal.step import StepTerms, nibbles, step_reference
from quantrtl.golden import sparse
from quantrtl.golden.integer import (
    IntFormat,
    compute_qparams,
    parse_int_format,
    quantize as int_quantize,
)
from quantrtl.hw.pe_sparse import SparsePE
from quantrtl.sim.gemm_sparse import SparseOperands

__all__: list[str] = []


def _signed(text: str | None, side: str):
    fx = parse_int_format(text or "int8")
    if not fx.signed:
        raise ValueError(f"PE type sparse24 takes signed {side}=intN, got {fx.name}")
    return fx


def _sparse_pe(p: dict):
    """``pe=sparse24``: A (activations) and B (weight values) signed intN, default int8."""
    fa, fb = _signed(p["a"], "a"), _signed(p["b"], "b")
    return SparsePE(a_bits=fa.bits, b_bits=fb.bits), SparseOperands(fa, fb)


def _sparse_terms(kind, widths: dict[str, int]) -> StepTerms:
    """``pe=sparse24``: per kept weight, its value times the activation its position selects
    (a behavioural ``case``), products of 4-bit halves for 8-bit fields."""
    ab, bb = kind.fa.bits, kind.fb.bits
    lines = []
    for j in range(sparse.KEEP):
        pos = f"b[{2 * bb + 2 * j + 1}:{2 * bb + 2 * j}]"
        pick = " : ".join(f"{pos} == 2'd{i} ? a[{(i + 1) * ab - 1}:{i * ab}]"
                          for i in range(sparse.GROUP - 1))
        lines.append(f"  wire [{ab - 1}:0] x_{j} = {pick} : a[{sparse.GROUP * ab - 1}:"
                     f"{(sparse.GROUP - 1) * ab}];")
    products = []
    for j in range(sparse.KEEP):
        for x, sx in nibbles(f"x_{j}", 0, ab):
            for y, sy in nibbles("b", j * bb, bb):
                products.append(f"(({x} * {y}) <<< ({sx + sy}))")

    def describe(a: int, b: int, mode: str) -> str:
        values, positions = sparse.unpack_b_lane(b, bb)
        return (f"activations {sparse.unpack_a_lane(a, ab).tolist()}, values "
                f"{values.tolist()} at positions {positions.tolist()}")

    return StepTerms({kind.modes[0]: " + ".join(products)},
                     "golden.sparse lane fields (value x selected activation)",
                     "\n".join(lines), describe)


register_pe(PETypeSpec("sparse24", _sparse_pe,
                       lambda design, kind: step_reference(design, kind, _sparse_terms)))


# -- format pairs for ``quantrtl explore``: 2:4-sparse INT8 / INT4 weights x INT8 activations ---
# A reduction length K that is not a multiple of 4 is padded with zeros to the next multiple
# (weights and activations alike), so the last group holds K mod 4 real weights.

def _sparse_weights(bits: int):
    """2:4 magnitude pruning along K (``golden.sparse.prune``), then symmetric per-output-
    channel ``INT<bits>`` (``golden.integer``, min/max) on the kept weights: ``values`` and
    ``codes`` are ``[N, K]`` with 0 at every pruned position."""
    fmt = IntFormat(bits)

    def quantize(w):
        pruned = sparse.prune(w, axis=1, pad=True)[:, :w.shape[1]]
        qp = compute_qparams(pruned, fmt, axis=0)
        codes = int_quantize(pruned, fmt, qp)
        return codes.to(torch.float64), qp.scale, codes

    return quantize


def _sparse_lanes(bits: int):
    """``x_codes [M, K]``, 2:4-sparse ``w_codes [N, K]`` -> ``pe=sparse24`` lanes ``A [M, K']``,
    ``B [K', N]``, ``K' = ceil(K / 4)`` (``golden.sparse.to_lanes`` of the compressed codes)."""

    def lanes(x_codes, w_codes):
        if x_codes.shape[-1] != w_codes.shape[-1]:
            raise ValueError(f"activations have reduction length {x_codes.shape[-1]}, the "
                             f"weights {w_codes.shape[-1]}")
        pad = (0, -w_codes.shape[-1] % sparse.GROUP)
        x, w = (torch.nn.functional.pad(t, pad) for t in (x_codes, w_codes))
        kept = (w.reshape(w.shape[0], -1, sparse.GROUP) != 0).sum(-1)
        if bool((kept > sparse.KEEP).any()):
            raise ValueError("weight codes are not 2:4 sparse (a group of four along K holds "
                             "more than two non-zeros)")
        values, positions = sparse.compress(w.T)
        return sparse.to_lanes(x, values, positions, 8, bits)

    return lanes


def _sparse_pair(bits: int) -> FormatPair:
    """``sparse24int<bits>xint8``: storage per weight is the value and its 2-bit position
    for two of every four weights, ``(2 * bits + 2 * 2) / 4``."""
    calibrate, quantize = int_acts(8)
    weights = f"sparse24int{bits}"
    return FormatPair(f"{weights}xint8", weights, "int8",
                      (sparse.KEEP * (bits + sparse.POS_BITS)) // sparse.GROUP,
                      (("pe", "sparse24"), ("a", "int8"), ("b", f"int{bits}")),
                      _sparse_weights(bits), calibrate, quantize, _sparse_lanes(bits))


register_pair(_sparse_pair(8))
register_pair(_sparse_pair(4))
