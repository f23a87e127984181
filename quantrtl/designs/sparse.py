"""2:4 structured-sparse weights: the ``sparse24`` array PE type (``hw.pe_sparse.SparsePE``),
golden ``golden.sparse``."""

from __future__ import annotations

from quantrtl.designs.registry import PETypeSpec, register_pe
from quantrtl.formal.step import StepTerms, nibbles, step_reference
from quantrtl.golden import sparse
from quantrtl.golden.integer import parse_int_format
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
