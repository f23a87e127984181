"""Streaming fast Walsh–Hadamard transform: one vector of ``n`` integers per cycle."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from quantrtl.formats.integer import is_int
from quantrtl.hw.mac import delay, unused_if_invalid

__all__ = ["FWHT", "ButterflyStage", "MIN_N", "MAX_N", "MIN_WIDTH", "MAX_WIDTH"]

MIN_N, MAX_N = 2, 64
MIN_WIDTH, MAX_WIDTH = 2, 16


def _check_length_and_width(n_what: str, n, width_what: str, width, max_width: int) -> None:
    """``ValueError`` unless ``n`` is a power of two in ``MIN_N..MAX_N`` and ``width`` an
    int in ``MIN_WIDTH..max_width``."""
    if not is_int(n) or not MIN_N <= n <= MAX_N or n & (n - 1):
        raise ValueError(f"{n_what} n must be a power of two in {MIN_N}..{MAX_N}, got {n!r}")
    if not is_int(width) or not MIN_WIDTH <= width <= max_width:
        raise ValueError(f"{width_what} must be an int in {MIN_WIDTH}..{max_width}, "
                         f"got {width!r}")


class ButterflyStage(wiring.Component):
    """Butterfly stage ``stage`` (``0 <= stage < log2 n``) of the ``n``-point transform,
    combinational: for every lane ``j`` with bit ``stage`` clear, lanes ``(j, j + 2^stage)``
    of ``a`` become ``(a_j + a_{j+2^stage}, a_j - a_{j+2^stage})`` on ``b``, exact.

    Ports: ``a``: ``n`` signed ``width``-bit lanes packed (lane ``j`` at bits ``[j*width,
    (j+1)*width)``); ``b``: ``n`` signed ``width + 1``-bit lanes packed likewise. In the
    Verilog of an enclosing unit its module's ports are ``a`` whole or one port ``a<j>``
    per lane (as the parent drives them) and one output ``s<stage+1>_<j>`` per lane.
    Parameters: ``n`` a power of two in 2..64, ``width`` 2..21 (an ``FWHT`` stage's input
    lanes have at most 16 + 5 bits), ``stage`` 0..log2 n - 1; anything else raises
    ``ValueError``.
    """

    @unused_if_invalid
    def __init__(self, *, n: int, width: int, stage: int):
        _check_length_and_width("butterfly stage length", n, "butterfly stage width", width,
                                MAX_WIDTH + 5)
        if not is_int(stage) or not 0 <= stage < n.bit_length() - 1:
            raise ValueError(f"butterfly stage of n={n} must be 0..{n.bit_length() - 2}, "
                             f"got {stage!r}")
        self._n, self._width, self._stage = n, width, stage
        super().__init__({"a": In(n * width), "b": Out(n * (width + 1))})

    def elaborate(self, platform):
        m = Module()
        n, h = self._n, 1 << self._stage
        # named input lanes: a stage fed lane by lane gets the Verilog ports a0 .. a<n-1>
        lanes = [Signal(signed(self._width), name=f"a{j}") for j in range(n)]
        m.d.comb += [lane.eq(v) for lane, v in zip(
            lanes, data.View(data.ArrayLayout(signed(self._width), n), self.a))]
        out = [Signal(signed(self._width + 1), name=f"s{self._stage + 1}_{j}")
               for j in range(n)]
        for j in range(n):
            if not j & h:
                m.d.comb += [out[j].eq(lanes[j] + lanes[j + h]),
                             out[j + h].eq(lanes[j] - lanes[j + h])]
        m.d.comb += self.b.eq(Cat(*out))
        return m


class FWHT(wiring.Component):
    """Exact Sylvester Walsh–Hadamard transform ``y = H_n x`` of one vector per cycle.

    Parameters: ``n``: the length, a power of two in 2..64 (default 16; ``k = log2 n``
    butterfly stages); ``width``: bits of each input, two's complement, 2..16 (default 8);
    ``pipeline``: register stages, ``0..k`` (default ``None``: ``k``, one register after
    every butterfly stage). Anything else raises ``ValueError``.

    Ports (combinational with ``pipeline = 0``, else the ``sync`` domain):

    * ``x``: ``n`` signed ``width``-bit lanes packed, lane ``i`` at bits
      ``[i*width, (i+1)*width)``.
    * ``valid``: 1 bit, carried to ``valid_out`` with its vector (the datapath computes
      every cycle whatever ``valid`` is; there is no ``ready``: one vector per cycle).
    * ``y``: ``n`` signed lanes of ``out_width = width + k`` bits packed likewise:
      ``y_i = sum_j (-1)^popcount(i & j) x_j``, exact (it never overflows).
    * ``valid_out``: ``valid`` of the vector whose transform is on ``y``.

    Datapath: ``k`` radix-2 butterfly stages; stage ``s`` turns lanes ``(j, j + 2^s)``
    (bit ``s`` of ``j`` clear) into ``(a + b, a - b)``, one bit wider than its inputs, so
    stage ``s`` is ``n`` adders of ``width + s + 1`` bits, the submodule ``stage<s+1>`` (a
    ``ButterflyStage``; its instance in the Verilog is named so). With ``pipeline = p >= 1`` a
    register follows stage ``ceil((j + 1) k / p)`` for ``j = 0 .. p - 1`` (the last one
    registers ``y``). Latency ``pipeline`` clock edges; throughput one vector per cycle;
    synchronous reset clears every stage (``y`` and ``valid_out`` read 0 until the first
    vector after it arrives).

    The ``1 / sqrt(n)`` of the orthonormal transform is not applied: it belongs to the
    quantization scale of ``y``.
    """

    @unused_if_invalid
    def __init__(self, *, n=16, width=8, pipeline=None):
        _check_length_and_width("FWHT length", n, "FWHT input width", width, MAX_WIDTH)
        k = n.bit_length() - 1
        if pipeline is None:
            pipeline = k
        if not is_int(pipeline) or not 0 <= pipeline <= k:
            raise ValueError(f"FWHT pipeline must be 0..{k} (the butterfly stages of n={n}), "
                             f"got {pipeline!r}")
        self._n, self._width, self._k, self._pipeline = n, width, k, pipeline
        super().__init__({
            # plain packed words, read through ArrayLayout views (see hw.mx.MXDot)
            "x": In(n * width),
            "valid": In(1),
            "y": Out(n * self.out_width),
            "valid_out": Out(1),
        })

    @property
    def n(self) -> int:
        return self._n

    @property
    def stages(self) -> int:
        """Butterfly stages, ``log2 n``."""
        return self._k

    @property
    def out_width(self) -> int:
        """Signed bits of each output lane: ``width + log2 n``."""
        return self._width + self._k

    @property
    def latency(self) -> int:
        return self._pipeline

    @property
    def registered_stages(self) -> tuple[int, ...]:
        """The butterfly stages (1..k) that a register follows."""
        p, k = self._pipeline, self._k
        return tuple(-(-(j + 1) * k // p) for j in range(p))

    @property
    def latency_note(self) -> str:
        return (f"a vector presented with valid at a rising edge shows on y with valid_out "
                f"{self.latency} rising edge(s) later (pipeline)" if self.latency else
                "combinational: y follows x in the same cycle")

    throughput_note = "one vector of n lanes per cycle: a new x may be presented every cycle"
    handshake_note = ("valid travels with its vector to valid_out; no ready: the unit takes "
                      "a vector every cycle and the datapath runs whatever valid is")

    @property
    def reset_note(self) -> str:
        return ("rst clears every pipeline register: y and valid_out read 0 until a vector "
                "arrives" if self.latency else None)

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the parameters, in bits (for the datasheet)."""
        return {"input lane (signed)": self._width, "butterfly stages": self._k,
                "output lane (signed)": self.out_width, "x": self._n * self._width,
                "y": self._n * self.out_width}

    def elaborate(self, platform):
        m = Module()
        lanes = list(data.View(data.ArrayLayout(signed(self._width), self._n), self.x))
        valid = self.valid
        registered = set(self.registered_stages)
        for s in range(self._k):
            w = self._width + s
            stage = m.submodules[f"stage{s + 1}"] = ButterflyStage(n=self._n, width=w, stage=s)
            m.d.comb += stage.a.eq(Cat(*lanes))
            lanes = list(data.View(data.ArrayLayout(signed(w + 1), self._n), stage.b))
            if s + 1 in registered:
                names = [f"s{s + 1}_{j}" for j in range(self._n)] + ["valid"]
                *lanes, valid = delay(m, [*lanes, valid], 1, f"r{s + 1}_", names)
        m.d.comb += [self.y.eq(Cat(*lanes)), self.valid_out.eq(valid)]
        return m
