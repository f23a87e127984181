"""Test vectors: stimulus per cycle and the golden model's expected outputs.

Vectors are computed here, in the calling process, from ``golden/``; the simulator process
only drives and compares (``sim.benches.stream``), so it never imports torch (which takes
~6 s to import inside a simulator's embedded Python).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from quantrtl.golden.arith import mac_trace
from quantrtl.golden.integer import IntFormat

__all__ = ["Vectors", "biased_choice", "check_request", "mac_stream_vectors", "mac_vectors",
           "MODES"]

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


def check_request(mode: str, count, exhaustive_refusal: str | None = None) -> None:
    """Refuse a bad vector request before any work, with one ``ValueError``: a ``mode`` not
    in ``MODES``, ``"random"`` with a ``count`` that is not a positive int, or
    ``"exhaustive"`` where the design gives ``exhaustive_refusal`` (why it has none)."""
    if mode == "exhaustive":
        if exhaustive_refusal:
            raise ValueError(exhaustive_refusal)
    elif mode == "random":
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"random vectors need a positive count, got {count!r}")
    else:
        raise ValueError(f"unknown vector mode {mode!r} (choose from {', '.join(MODES)})")


def biased_choice(codes: torch.Tensor, extremes: torch.Tensor, count: int,
                  gen: torch.Generator, p_extreme: float = 0.3) -> torch.Tensor:
    """``count`` codes drawn uniformly from ``codes``, a share ``p_extreme`` from ``extremes``."""
    uniform = codes[torch.randint(len(codes), (count,), generator=gen)]
    extreme = extremes[torch.randint(len(extremes), (count,), generator=gen)]
    return torch.where(torch.rand(count, generator=gen) < p_extreme, extreme, uniform)


def mac_stream_vectors(a_codes: torch.Tensor, b_codes: torch.Tensor, trace, *,
                       a_extremes: torch.Tensor, b_extremes: torch.Tensor, names=("a", "b"),
                       acc_signed: bool = True, latency: int, mode: str, count: int = 0,
                       seed: int = 1, acc_width: int | None = None) -> Vectors:
    """Vectors for any MAC with ports ``<a>, <b>, valid, clear -> acc``.

    ``a_codes``/``b_codes`` are every code an operand port can carry, as the port sees them;
    ``trace(a, b, valid, clear)`` is the golden model's accumulator after each cycle.

    * exhaustive: every (a, b) pair once with ``clear`` (each product alone), then all
      pairs again in a seeded shuffle, accumulated with sparse clears, idle cycles and clears
      without ``valid``, so that narrow accumulators wrap or saturate.
    * random: ``count`` seeded cycles, 30% of the codes from the extremes so that long runs
      overflow the accumulator, ``valid`` 85% and ``clear`` 1% of cycles.

    Both then take four fixed cycles: an extreme product, ``clear`` without ``valid`` (the
    sum restarts at 0 on an idle cycle), the product again, ``clear`` without ``valid``.

    With ``acc_width`` both end with overflow runs: for every pair of extreme codes, one
    product accumulated (from a clear) long enough to pass the accumulator's range, so that
    wrap-around or saturation happens in both directions whatever the random draws did.

    Both also pulse the synchronous reset ``rst`` once, at a seeded cycle ``r`` in the
    second half: the accumulator reads 0 after edge ``r`` and the ``latency`` vectors in
    flight at that edge are lost (the pipeline registers are reset too).
    """
    check_request(mode, count)
    gen = torch.Generator().manual_seed(seed)
    if mode == "exhaustive":
        a_all = a_codes.repeat_interleave(len(b_codes))
        b_all = b_codes.repeat(len(a_codes))
        n = len(a_all)
        perm = torch.randperm(n, generator=gen)
        a, b = torch.cat([a_all, a_all[perm]]), torch.cat([b_all, b_all[perm]])
        valid = torch.cat([torch.ones(n, dtype=torch.bool), torch.rand(n, generator=gen) < 0.9])
        clear = torch.cat([torch.ones(n, dtype=torch.bool),
                           torch.rand(n, generator=gen) < 0.02])
    else:
        a = biased_choice(a_codes, a_extremes, count, gen)
        b = biased_choice(b_codes, b_extremes, count, gen)
        valid = torch.rand(count, generator=gen) < 0.85
        clear = torch.rand(count, generator=gen) < 0.01
    # Whatever the draws did: an extreme product, a clear without valid (the sum must
    # restart at 0), an idle cycle, the product again, a clear without valid.
    a = torch.cat([a, a_extremes[-1:].repeat(4)])
    b = torch.cat([b, b_extremes[-1:].repeat(4)])
    valid = torch.cat([valid, torch.tensor([True, False, True, False])])
    clear = torch.cat([clear, torch.tensor([False, True, False, True])])
    if acc_width:
        runs = _overflow_runs(trace, a_extremes, b_extremes, acc_width)
        a, b = torch.cat([a, runs[0]]), torch.cat([b, runs[1]])
        valid = torch.cat([valid, torch.ones(len(runs[0]), dtype=torch.bool)])
        clear = torch.cat([clear, runs[2]])
    n = len(a)
    r = int(torch.randint(n // 2, n, (1,), generator=gen))
    rst = torch.zeros(n, dtype=torch.bool)
    rst[r] = True
    # In the golden trace, vector u lands in the accumulator at edge u + latency - 1: the
    # vectors landing at edges r .. r + latency - 1 are lost, and edge r empties it.
    seen_valid, seen_clear = valid.clone(), clear.clone()
    lost = slice(max(0, r - latency + 1), r + 1)
    seen_valid[lost] = False
    if r - latency + 1 >= 0:
        seen_clear[r - latency + 1] = True
    acc = trace(a, b, seen_valid, seen_clear)
    na, nb = names
    return Vectors(
        stimulus={na: a.tolist(), nb: b.tolist(), "valid": valid.int().tolist(),
                  "clear": clear.int().tolist(), "rst": rst.int().tolist()},
        expected={"acc": acc.tolist()}, signed_outputs={"acc": acc_signed},
        latency=latency, idle={na: 0, nb: 0, "valid": 0, "clear": 0, "rst": 0}, seed=seed,
        mode=mode)


def _overflow_runs(trace, a_extremes, b_extremes, acc_width: int, longest: int = 4096):
    """Per pair of extreme codes: a clear, then the same product until it must overflow."""
    a_run, b_run, clear_run = [], [], []
    once = torch.ones(1, dtype=torch.bool)  # one valid cycle that starts from a clear
    for ae in a_extremes.tolist():
        for be in b_extremes.tolist():
            product = abs(int(trace(torch.tensor([ae]), torch.tensor([be]), once, once)[0]))
            if product == 0:
                continue
            length = min(longest, (1 << acc_width) // product + 2)
            a_run += [ae] * length
            b_run += [be] * length
            clear_run += [True] + [False] * (length - 1)
    return (torch.tensor(a_run, dtype=torch.int64), torch.tensor(b_run, dtype=torch.int64),
            torch.tensor(clear_run, dtype=torch.bool))


def _extremes(fmt: IntFormat) -> torch.Tensor:
    return torch.tensor([fmt.qmin, fmt.qmax])


def mac_vectors(fa: IntFormat, fb: IntFormat, *, acc_width: int, overflow: str, latency: int,
                mode: str, count: int = 0, seed: int = 1) -> Vectors:
    """Vectors for an integer MAC (``hw.mac.IntMAC``), see ``mac_stream_vectors``."""
    acc_signed = fa.signed or fb.signed

    def trace(a, b, valid, clear):
        return mac_trace(a, b, valid, clear, acc_width=acc_width, overflow=overflow,
                         signed=acc_signed)

    return mac_stream_vectors(fa.codes(), fb.codes(), trace, a_extremes=_extremes(fa),
                              b_extremes=_extremes(fb), acc_signed=acc_signed,
                              latency=latency, mode=mode, count=count, seed=seed,
                              acc_width=acc_width)
