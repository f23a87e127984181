"""Accuracy on real inputs: per layer x format pair errors and sensitivities, uniform-format
accuracies, and the accuracy of a whole plan.

End-to-end metric: the cosine similarity between the FP32 and the quantized model's
(L2-normalised) sentence embeddings, mean and worst over the sentences; and, over the
sentence pairs, Spearman's rank correlation between the FP32 and the quantized pair
similarities. Per layer: the weight error ``|Q(W) - W|^2 / |W|^2``, the output error
``|Q(X) Q(W)^T - X W^T|^2 / |X W^T|^2`` on the layer's captured FP32 inputs (at most
``OUTPUT_ROWS`` token rows), and the sensitivity: ``1 - mean cosine`` when only that layer
is quantized, on the first ``sens`` sentences (the run restarts at the layer's encoder
block from cached FP32 states, so earlier blocks are not recomputed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from quantrtl.explore.model import Model
from quantrtl.explore.quantize import Quantizer, calib_rows

__all__ = ["accuracy", "spearman", "Measurement", "OUTPUT_ROWS"]

OUTPUT_ROWS = 512


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation (average ranks for ties) of two 1-D tensors."""
    def ranks(x):
        x = x.to(torch.float64)
        order = torch.argsort(x, stable=True)
        r = torch.empty_like(x)
        r[order] = torch.arange(len(x), dtype=torch.float64)
        for v in torch.unique(x):  # ties: average rank
            tie = x == v
            if int(tie.sum()) > 1:
                r[tie] = r[tie].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float((ra.norm() * rb.norm()))
    return float((ra @ rb) / denom) if denom > 0 else 1.0


def accuracy(ref: torch.Tensor, emb: torch.Tensor) -> dict:
    """``mean_cos``, ``worst_cos`` over the sentences and ``spearman`` over the pairs
    (sentences ``2i, 2i+1``) of embeddings ``emb`` against ``ref`` (both normalised)."""
    cos = (ref * emb).sum(-1).to(torch.float64)
    n = ref.shape[0] // 2 * 2
    ref_sims = (ref[0:n:2] * ref[1:n:2]).sum(-1)
    sims = (emb[0:n:2] * emb[1:n:2]).sum(-1)
    return {"mean_cos": float(cos.mean()), "worst_cos": float(cos.min()),
            "spearman": spearman(ref_sims, sims) if n >= 4 else None}


class Measurement:
    """Everything measured on one model and one sentence set."""

    def __init__(self, model: Model, sentences: Sequence[str], sens: int,
                 say: Callable[[str], None] = lambda msg: None):
        self.model, self.sentences, self.say = model, tuple(sentences), say
        capture = {lin.name: [] for lin in model.linears}
        self.ref = model.embed(self.sentences, capture=capture)
        self.captured = {k: torch.cat(v) for k, v in capture.items()}
        self.tokens = int(self.captured[model.linears[0].name].shape[0])
        self.sens_sentences = self.sentences[:max(2, min(sens, len(self.sentences)))]
        self.states: list = []
        self.sens_ref = model.embed(self.sens_sentences, states=self.states)
        self.quantizer = Quantizer(model.linears, self.captured)

    def layer(self, name: str, pair) -> dict:
        """Weight error, output error and sensitivity of layer ``name`` under ``pair``."""
        q = self.quantizer.layer(name, pair)
        lin = self.quantizer.linears[name]
        w = lin.weight.to(torch.float64)
        w_err = float(((q.weight.to(torch.float64) - w) ** 2).sum() / (w ** 2).sum())
        x = calib_rows(self.captured[name], OUTPUT_ROWS)
        y = x.to(torch.float64) @ w.T
        yq = q.quantize_acts(x).to(torch.float64) @ q.weight.to(torch.float64).T
        o_err = float(((yq - y) ** 2).sum() / (y ** 2).sum().clamp(min=1e-300))
        emb = self.model.embed(self.sens_sentences, {name: q}, states=self.states,
                               first=self.model.block_of(name))
        drop = 1.0 - float((emb * self.sens_ref).sum(-1).to(torch.float64).mean())
        return {"weight_error": w_err, "output_error": o_err, "sensitivity": drop}

    def run(self, assignment: dict[str, object]) -> dict:
        """Accuracy of the whole model with layer ``name`` under ``assignment[name]`` (a
        ``FormatPair``; layers not named stay FP32), on every sentence."""
        linears = {name: self.quantizer.layer(name, pair) for name, pair in assignment.items()}
        return accuracy(self.ref, self.model.embed(self.sentences, linears))
