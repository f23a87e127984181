"""Runtime mixed-precision lanes: the ``mixed`` array PE type (one 8x8, two 4x8 or four
4x4 signed products per PE and cycle, the mode chosen per step)."""

from __future__ import annotations

from quantrtl.designs.registry import PETypeSpec, register_pe
from quantrtl.formal.step import mixed_terms, step_reference
from quantrtl.hw.pe_mixed import MixedPE
from quantrtl.sim.gemm_mixed import MixedOperands

__all__: list[str] = []


def _mixed_pe(p: dict):
    """``pe=mixed``: runtime mixed-precision lanes, 16 bits on both sides, modes 8x8, 4x8,
    4x4 (``hw.pe_mixed.MixedPE``, spec ``golden/mixed.py``); no a= or b=."""
    if p["a"] is not None or p["b"] is not None:
        raise ValueError("PE type mixed has fixed lane formats (16-bit lanes, modes 8x8, "
                         "4x8, 4x4 chosen per step with modes=); drop a= and b=")
    return MixedPE(), MixedOperands()


register_pe(PETypeSpec("mixed", _mixed_pe,
                       lambda design, kind: step_reference(design, kind, mixed_terms)))
