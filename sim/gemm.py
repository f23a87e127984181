"""Golden vectors for the systolic arrays (``hw.array``): GEMM tiles streamed through their
``lib.stream`` ports, every result row checked bit for bit.

The arithmetic comes from an *operand kind* (``IntOperands`` and the kinds of the other PE
types): golden-side code that draws random lane codes, names edge-case fills, and computes
a tile's exact product from ``golden/`` -- never from ``hw/``. A kind has:

* ``name``, ``modes`` (the PE type's mode names, same order), ``a_width``, ``b_width``,
  ``acc_signed``;
* ``draw(gen, shape, side, mode)``: a tensor of lane codes (``side`` ``"a"`` or ``"b"``);
* ``lanes(side)``: every lane code that side's port carries (for exhaustive checks);
* ``fills(mode)``: ``(a_code, b_code)`` pairs for constant edge tiles (zeros, extremes);
* ``product(a, b, mode)``: the exact ``A @ B`` of lane-code tensors (int64);
* ``elements(mode)``: reduction elements per lane code (MAC counting).

Payloads are packed as ``hw.array`` declares them (``StructLayout`` fields in order, lane
``l`` of a field in bits ``[l * w, (l + 1) * w)``); results are compared modulo
``2^acc_width``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from quantrtl.golden import arith
from quantrtl.golden.integer import IntFormat
from quantrtl.sim.vectors import Vectors, biased_choice

__all__ = ["IntOperands", "SignedActOperands", "draw_codes", "mode_width",
           "os_stream_vectors", "ws_stream_vectors", "ws_schedule", "step_vectors",
           "pack_lanes", "split_lanes", "pack_fields"]

P_IDLE = 0.1


@dataclass(frozen=True)
class IntOperands:
    """INT codes on both sides (``hw.pe.IntPE``)."""

    fa: IntFormat
    fb: IntFormat
    name = "int"

    @property
    def modes(self) -> tuple[str, ...]:
        return (f"{self.fa.bits}x{self.fb.bits}",)

    @property
    def a_width(self) -> int:
        return self.fa.bits

    @property
    def b_width(self) -> int:
        return self.fb.bits

    @property
    def acc_signed(self) -> bool:
        return self.fa.signed or self.fb.signed

    def draw(self, gen, shape, side, mode):
        fmt = self.fa if side == "a" else self.fb
        return draw_codes(gen, shape, fmt.codes(), [fmt.qmin, fmt.qmax])

    def lanes(self, side):
        return (self.fa if side == "a" else self.fb).codes()

    def fills(self, mode):
        fa, fb = self.fa, self.fb
        return [(0, 0), (fa.qmax, fb.qmax), (fa.qmin, fb.qmax), (fa.qmin, fb.qmin)]

    def product(self, a, b, mode):
        return arith.gemm(a, b, acc_width=62, signed=True)

    def elements(self, mode):
        return 1


def draw_codes(gen, shape, codes, extremes) -> torch.Tensor:
    """A tensor of ``shape`` drawn from ``codes``, 30 % of it from ``extremes``
    (``sim.vectors.biased_choice``)."""
    return biased_choice(codes, torch.as_tensor(extremes), math.prod(shape),
                         gen).reshape(shape)


@dataclass(frozen=True)
class SignedActOperands:
    """Base of the kinds with one signed INT activation ``fx`` per A lane and one weight
    code per B lane (dINT, ternary). A subclass sets ``name``, ``label`` (for errors) and
    ``weight_name`` and defines ``weight_codes()`` (every B lane code, ``0 .. 2^b_width -
    1``), ``weight_extremes()``, ``fills`` and ``product``."""

    fx: IntFormat
    acc_signed = True

    def __post_init__(self):
        if not self.fx.signed:
            raise ValueError(f"{self.label} activations must be signed, got {self.fx}")

    @property
    def modes(self) -> tuple[str, ...]:
        return (f"{self.fx.name}x{self.weight_name}",)

    @property
    def a_width(self) -> int:
        return self.fx.bits

    @property
    def b_width(self) -> int:
        return (len(self.weight_codes()) - 1).bit_length()

    def elements(self, mode):
        return 1

    def draw(self, gen, shape, side, mode):
        if side == "a":
            return draw_codes(gen, shape, self.fx.codes(), [self.fx.qmin, self.fx.qmax])
        return draw_codes(gen, shape, self.weight_codes(), self.weight_extremes())

    def lanes(self, side):
        return self.fx.codes() if side == "a" else self.weight_codes()


def mode_width(kind) -> int:
    return (len(kind.modes) - 1).bit_length()


def pack_lanes(values, width: int) -> int:
    """Lane ``i`` of ``values`` at bits ``[i*width, (i+1)*width)``, two's complement."""
    mask, word = (1 << width) - 1, 0
    for lane, v in enumerate(values):
        word |= (int(v) & mask) << (lane * width)
    return word


def split_lanes(words: torch.Tensor, width: int, count: int, *,
                 signed: bool = True) -> torch.Tensor:
    """The ``count`` ``width``-bit lanes of each packed word (lane ``i`` at bits ``[i*width,
    (i+1)*width)``), ``[len(words), count]`` int64, two's complement if ``signed``."""
    raw = (words[:, None] >> (width * torch.arange(count))) & ((1 << width) - 1)
    return torch.where(raw >= 1 << (width - 1), raw - (1 << width), raw) if signed else raw


def pack_fields(fields) -> int:
    """``[(value, width), ...]`` in layout order, zero-width fields skipped."""
    word, shift = 0, 0
    for value, width in fields:
        if width:
            word |= (int(value) & ((1 << width) - 1)) << shift
            shift += width
    return word


def _garbage(gen, bits: int) -> int:
    """A random payload for a cycle without a transfer: the arrays must ignore it."""
    word = 0
    for shift in range(0, bits, 30):
        word |= int(torch.randint(1 << 30, (1,), generator=gen)) << shift
    return word & ((1 << bits) - 1)


def _check_modes(kind, modes):
    modes = tuple(modes or kind.modes)
    for mode in modes:
        if mode not in kind.modes:
            raise ValueError(f"PE type {kind.name} cannot run mode {mode!r} (it runs: "
                             f"{', '.join(kind.modes)})")
    return modes


def _result(kind, a, b, mode, acc_width) -> list[int]:
    exact = kind.product(a, b, mode)
    return arith.wrap(exact, acc_width, kind.acc_signed).tolist()


def os_stream_vectors(rows: int, cols: int, kind, *, acc_width: int, max_k: int, tiles: int,
                      modes=None, seed: int = 1, pipeline: int = 0) -> tuple[Vectors, int]:
    """Vectors for ``hw.array.OutputStationaryArray``; returns them and the MACs verified.

    Edge tiles first (``K = max_k``, every fill of ``kind`` in every mode), then ``tiles``
    seeded random tiles (``K`` 1..``max_k``, mode drawn from ``modes``), with 10% idle
    cycles, whose payload is random (it must be ignored). A ``last`` that comes too soon
    after the previous tile's is either delayed with idle cycles or offered while ``ready``
    is low (held until taken), half and half, so the back-pressure is exercised: a wrongly
    taken or dropped step changes the results.
    """
    modes = _check_modes(kind, modes)
    gen = torch.Generator().manual_seed(seed)
    gap, mw = max(rows, cols), mode_width(kind)
    work = []
    for mode in modes:
        for fa, fb in kind.fills(mode):
            work.append((mode, torch.full((rows, max_k), fa), torch.full((max_k, cols), fb)))
    for _ in range(tiles):
        k = int(torch.randint(1, max_k + 1, (1,), generator=gen))
        mode = modes[int(torch.randint(len(modes), (1,), generator=gen))]
        work.append((mode, kind.draw(gen, (rows, k), "a", mode),
                     kind.draw(gen, (k, cols), "b", mode)))

    valid, payload, emits, macs = [], [], [], 0
    word_bits = rows * kind.a_width + cols * kind.b_width + mw + 1
    previous_last = -gap
    for mode, a, b in work:
        k = a.shape[1]
        for step in range(k):
            while torch.rand(1, generator=gen).item() < P_IDLE:
                valid.append(0), payload.append(_garbage(gen, word_bits))
            last = step == k - 1
            word = pack_fields([(pack_lanes(a[:, step].tolist(), kind.a_width),
                                  rows * kind.a_width),
                                 (pack_lanes(b[step, :].tolist(), kind.b_width),
                                  cols * kind.b_width),
                                 (kind.modes.index(mode), mw), (int(last), 1)])
            if last:
                hold = torch.rand(1, generator=gen).item() < 0.5
                while len(valid) - previous_last < gap:  # not ready yet: wait or hold
                    valid.append(int(hold))
                    payload.append(word if hold else _garbage(gen, word_bits))
            valid.append(1), payload.append(word)
        previous_last = len(valid) - 1
        emits.append((previous_last, _result(kind, a, b, mode, acc_width)))
        macs += rows * cols * k * kind.elements(mode)

    n = len(valid) + cols + rows + pipeline
    pad = n - len(valid)
    valid += [0] * pad
    payload += [0] * pad
    o_valid, o_payload = [0] * n, [None] * n
    row_bits = max(1, (rows - 1).bit_length())
    for t_last, result in emits:
        for r in range(rows):
            t = t_last + cols + pipeline - 1 + r
            o_valid[t] = 1
            o_payload[t] = pack_fields([(pack_lanes(result[r], acc_width),
                                          cols * acc_width), (r, row_bits)])
    vectors = Vectors(
        stimulus={"i__valid": valid, "i__payload": payload},
        expected={"o__valid": o_valid, "o__payload": o_payload},
        signed_outputs={"o__valid": False, "o__payload": False},
        latency=1, idle={"i__valid": 0, "i__payload": 0}, seed=seed, mode="random")
    return vectors, macs


def ws_stream_vectors(rows: int, cols: int, kind, *, acc_width: int, batches: int,
                      modes=None, seed: int = 1, pipeline: int = 0,
                      max_rows: int | None = None) -> tuple[Vectors, int]:
    """Vectors for ``hw.array.WeightStationaryArray``; returns them and the MACs verified.

    Each batch is a weight tile ``B`` (``rows x cols``, loaded row by row on ``w``) and
    1..``max_rows`` (default ``2 * rows``) activation rows on ``a``, the first with
    ``swap``; edge batches (every fill, every mode) come first. Both streams offer data
    whenever they have some (10% idle cycles, random payload), so loading the next batch's
    weights overlaps the current batch and the array's ``ready`` rules decide the schedule;
    this model follows the documented rules (``w`` takes a row while fewer than ``rows``
    are loaded and no swap is in flight; a ``swap`` row waits for all ``rows``), and any
    difference changes the results.
    """
    modes = _check_modes(kind, modes)
    gen = torch.Generator().manual_seed(seed)
    mw, latency = mode_width(kind), rows + cols + 1 + pipeline  # hw.array's documented latency
    work = []
    for mode in modes:
        for fa, fb in kind.fills(mode):
            work.append((mode, torch.full((rows, rows), fa), torch.full((rows, cols), fb)))
    for _ in range(batches):
        m_rows = int(torch.randint(1, (max_rows or 2 * rows) + 1, (1,), generator=gen))
        mode = modes[int(torch.randint(len(modes), (1,), generator=gen))]
        work.append((mode, kind.draw(gen, (m_rows, rows), "a", mode),
                     kind.draw(gen, (rows, cols), "b", mode)))

    results = {}

    def expect(batch, row):  # the golden rows of a whole batch at once
        if batch not in results:
            mode, a, b = work[batch]
            results[batch] = _result(kind, a, b, mode, acc_width)
        return pack_lanes(results[batch][row], acc_width)

    def a_word(batch, row, swap):
        mode, a, _ = work[batch]
        return pack_fields([(pack_lanes(a[row].tolist(), kind.a_width), rows * kind.a_width),
                            (kind.modes.index(mode), mw), (int(swap), 1)])

    vectors = ws_schedule(
        [a.shape[0] for _, a, _ in work], rows=rows, cols=cols, latency=latency, gen=gen,
        w_word=lambda batch, row: pack_lanes(work[batch][2][row].tolist(), kind.b_width),
        a_word=a_word, expect=expect, w_bits=cols * kind.b_width,
        a_bits=rows * kind.a_width + mw + 1, seed=seed)
    macs = sum(a.shape[0] * rows * cols * kind.elements(mode) for mode, a, _ in work)
    return vectors, macs


def ws_schedule(batch_rows: list[int], *, rows: int, cols: int, latency: int, gen,
                w_word, a_word, expect, w_bits: int, a_bits: int, seed: int,
                garbage=_garbage) -> Vectors:
    """The stream vectors of a weight-stationary array (ports ``w``, ``a`` -> ``c``) for
    batches of one weight tile (``rows`` rows on ``w``) and ``batch_rows[i]`` activation
    rows on ``a`` each, the first with ``swap``; ``c`` row ``m`` expected ``latency - 1``
    cycles after its ``a`` transfer (the vectors' ``latency=1`` adds the last cycle).

    Both streams offer data whenever they have some (``P_IDLE`` idle cycles, ``garbage(gen,
    bits)`` payload), so loading the next tile overlaps the current batch and the array's
    documented ``ready`` rules decide the schedule: ``w`` takes a row while fewer than
    ``rows`` are loaded and no swap is in flight (``rows + cols - 1`` cycles after a swap
    transfer); a ``swap`` row waits for all ``rows``. Payloads come from the callbacks:
    ``w_word(batch, row)``, ``a_word(batch, row, swap)`` and ``expect(batch, row)`` (the
    packed ``c`` payload). ``gen`` is drawn in a fixed order each cycle: offer ``w``, offer
    ``a``, then whatever ``w_word`` or ``garbage`` draws for ``w``, then ``a``'s garbage.
    """
    w_valid, w_payload, a_valid, a_payload, outputs = [], [], [], [], []
    loaded = draining = 0
    wb = wr = 0          # next weight row to offer: batch wb, row wr
    ab = ar = 0          # next activation row: batch ab, row ar
    t = 0
    while ab < len(batch_rows):
        offer_w = wb < len(batch_rows) and torch.rand(1, generator=gen).item() >= P_IDLE
        offer_a = torch.rand(1, generator=gen).item() >= P_IDLE
        swap = ar == 0
        w_valid.append(int(offer_w))
        w_payload.append(w_word(wb, wr) if offer_w else garbage(gen, w_bits))
        a_valid.append(int(offer_a))
        a_payload.append(a_word(ab, ar, swap) if offer_a else garbage(gen, a_bits))
        w_take = offer_w and loaded != rows and draining == 0
        a_take = offer_a and (not swap or loaded == rows)
        if a_take:
            outputs.append((t + latency - 1, expect(ab, ar)))
            ar += 1
            if ar == batch_rows[ab]:
                ab, ar = ab + 1, 0
        if a_take and swap:
            loaded, draining = 0, rows + cols - 1
        else:
            draining = max(0, draining - 1)
            if w_take:
                loaded += 1
                wr += 1
                if wr == rows:
                    wb, wr = wb + 1, 0
        t += 1

    n = t + latency
    for lst in (w_valid, w_payload, a_valid, a_payload):
        lst += [0] * (n - len(lst))
    c_valid, c_payload = [0] * n, [None] * n
    for at, word in outputs:
        c_valid[at], c_payload[at] = 1, word
    return Vectors(
        stimulus={"w__valid": w_valid, "w__payload": w_payload, "a__valid": a_valid,
                  "a__payload": a_payload},
        expected={"c__valid": c_valid, "c__payload": c_payload},
        signed_outputs={"c__valid": False, "c__payload": False},
        latency=1, idle={"w__valid": 0, "w__payload": 0, "a__valid": 0, "a__payload": 0},
        seed=seed, mode="random")


SWEEP_MIN_DRAWN = 32  # drawn A lanes of a swept random step bench, at least
SWEEP_PARTNERS = 4    # drawn A lanes that each swept B lane meets


def step_vectors(kind, *, step_width: int, mode: str, count: int = 0,
                 seed: int = 1) -> Vectors:
    """Vectors for ``hw.pe.PEStep`` (ports ``a``, ``b``, ``mode`` -> ``step``): the golden
    value of one step, ``kind.product`` of a 1-step tile, per ``(a, b, mode)``.

    ``mode="exhaustive"``: every A code x every B code in every mode of ``kind``.
    ``"random"``: per mode, ``kind``'s fills, then ``count`` pairs (shared between the
    modes) as every combination of ``kind.draw``'s lanes: 64 B lanes x ``count / 64 / modes``
    A lanes (so the draw's edge-case share reaches both sides). A kind with a ``sweep(gen,
    side)`` (OVP: every element code in each pair position) adds swept A lanes x the 64
    drawn B lanes and ``SWEEP_PARTNERS`` drawn A lanes x swept B lanes; the drawn A lanes
    shrink by what the sweeps take, down to ``SWEEP_MIN_DRAWN``, so a small ``count`` gives
    more vectors.
    """
    mw = mode_width(kind)
    a_list, b_list, m_list, steps = [], [], [], []

    def add(a, b, mode):  # a: (M, 1) lanes, b: (1, N) lanes: all M x N pairs
        step = kind.product(a, b, mode)
        grid_a = a.expand(-1, b.shape[1]).reshape(-1)
        grid_b = b.expand(a.shape[0], -1).reshape(-1)
        a_list.extend(grid_a.tolist()), b_list.extend(grid_b.tolist())
        m_list.extend([kind.modes.index(mode)] * len(grid_a))
        steps.extend(step.reshape(-1).tolist())

    if mode == "exhaustive":
        if kind.a_width + kind.b_width + mw > 20:
            raise ValueError(f"exhaustive step vectors of {kind.name} would be "
                             f"2^{kind.a_width + kind.b_width + mw}; use mode random")
        for m in kind.modes:
            add(kind.lanes("a").reshape(-1, 1), kind.lanes("b").reshape(1, -1), m)
    elif mode == "random":
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"random vectors need a positive count, got {count!r}")
        gen = torch.Generator().manual_seed(seed)
        per_mode = max(1, -(-count // (64 * len(kind.modes))))
        for m in kind.modes:
            for fa, fb in kind.fills(m):
                add(torch.tensor([[fa]]), torch.tensor([[fb]]), m)
            if not hasattr(kind, "sweep"):
                add(kind.draw(gen, (per_mode, 1), "a", m), kind.draw(gen, (1, 64), "b", m), m)
                continue
            sweep_a, sweep_b = kind.sweep(gen, "a"), kind.sweep(gen, "b")
            budget = (-(-count // len(kind.modes)) - 64 * len(sweep_a)
                      - SWEEP_PARTNERS * len(sweep_b))
            drawn = max(SWEEP_MIN_DRAWN, -(-budget // 64))
            a = kind.draw(gen, (drawn,), "a", m)
            b = kind.draw(gen, (64,), "b", m)
            # drawn and swept A lanes x drawn B lanes; a few drawn A lanes x swept B lanes
            add(torch.cat([a, sweep_a]).reshape(-1, 1), b.reshape(1, -1), m)
            if len(sweep_b):
                add(a[:SWEEP_PARTNERS].reshape(-1, 1), sweep_b.reshape(1, -1), m)
    else:
        raise ValueError(f"unknown vector mode {mode!r}")
    stimulus = {"a": [v & ((1 << kind.a_width) - 1) for v in a_list],
                "b": [v & ((1 << kind.b_width) - 1) for v in b_list]}
    idle = {"a": 0, "b": 0}
    if mw:
        stimulus["mode"], idle["mode"] = m_list, 0
    lo, hi = arith.acc_range(step_width, kind.acc_signed)
    if steps and not lo <= min(steps) <= max(steps) <= hi:
        raise ValueError(f"a golden {kind.name} step ({min(steps)}..{max(steps)}) does not "
                         f"fit the unit's {step_width}-bit step port")
    expected = steps
    return Vectors(stimulus, {"step": expected}, {"step": kind.acc_signed}, 0, idle, seed,
                   mode)
