"""Test vectors: stimulus per cycle and the golden model's expected outputs.

Vectors are computed here, in the calling process, from ``golden/``; the simulator process
only drives and compares (``sim.benches.stream``), so it never imports torch (which takes
~6 s to import inside a simulator's embedded Python).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from golden.arith import mac_trace
from golden.integer import IntFormat

__all__ = ["Vectors", "extreme_biased_codes", "mac_vectors", "MODES"]

MODES = ("exhaustive", "random")


@dataclass(frozen=True)
class Vectors:
    """One vector per clock cycle; ``expected[name][t]`` is output ``name`` ``latency``
    edges after vector ``t``. ``idle`` is applied during reset and after the last vector."""

    stimulus: dict[str, list[int]]
    expected: dict[str, list[int]]
    signed_outputs: dict[str, bool]
    latency: int
    idle: dict[str, int]
    seed: int
    mode: str

    def __len__(self):
        return len(next(iter(self.stimulus.values())))

    def to_config(self) -> dict:
        return asdict(self)


def extreme_biased_codes(fmt: IntFormat, count: int, gen: torch.Generator,
                         p_extreme: float = 0.3) -> torch.Tensor:
    """Uniform random codes, with a share ``p_extreme`` replaced by ``qmin`` or ``qmax``."""
    uniform = torch.randint(fmt.qmin, fmt.qmax + 1, (count,), generator=gen)
    extreme = torch.where(torch.rand(count, generator=gen) < 0.5,
                          torch.tensor(fmt.qmin), torch.tensor(fmt.qmax))
    return torch.where(torch.rand(count, generator=gen) < p_extreme, extreme, uniform)


def _all_pairs(fa: IntFormat, fb: IntFormat) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = fa.codes(), fb.codes()
    return a.repeat_interleave(len(b)), b.repeat(len(a))


def mac_vectors(fa: IntFormat, fb: IntFormat, *, acc_width: int, overflow: str, latency: int,
                mode: str, count: int = 0, seed: int = 1) -> Vectors:
    """Vectors for a MAC with ports ``a, b, valid, clear -> acc``.

    * exhaustive: every (a, b) pair once with ``clear`` (each product alone), then all pairs
      again in a seeded shuffle, accumulated with sparse clears, idle cycles and clears
      without ``valid``, so the accumulator runs into wrap-around or saturation.
    * random: ``count`` seeded cycles, codes biased toward the extremes so that long runs
      overflow the accumulator, ``valid`` 85% and ``clear`` 1% of cycles.
    """
    gen = torch.Generator().manual_seed(seed)
    if mode == "exhaustive":
        a_all, b_all = _all_pairs(fa, fb)
        n = len(a_all)
        perm = torch.randperm(n, generator=gen)
        a, b = torch.cat([a_all, a_all[perm]]), torch.cat([b_all, b_all[perm]])
        valid = torch.cat([torch.ones(n, dtype=torch.bool), torch.rand(n, generator=gen) < 0.9])
        clear = torch.cat([torch.ones(n, dtype=torch.bool),
                           torch.rand(n, generator=gen) < 0.02])
    elif mode == "random":
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"random vectors need a positive count, got {count!r}")
        a, b = extreme_biased_codes(fa, count, gen), extreme_biased_codes(fb, count, gen)
        valid = torch.rand(count, generator=gen) < 0.85
        clear = torch.rand(count, generator=gen) < 0.01
    else:
        raise ValueError(f"unknown vector mode {mode!r} (choose from {', '.join(MODES)})")
    acc_signed = fa.signed or fb.signed
    acc = mac_trace(a, b, valid, clear, acc_width=acc_width, overflow=overflow,
                    signed=acc_signed)
    return Vectors(
        stimulus={"a": a.tolist(), "b": b.tolist(), "valid": valid.int().tolist(),
                  "clear": clear.int().tolist()},
        expected={"acc": acc.tolist()}, signed_outputs={"acc": acc_signed},
        latency=latency, idle={"a": 0, "b": 0, "valid": 0, "clear": 0}, seed=seed, mode=mode)
