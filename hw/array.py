"""Systolic GEMM arrays: output-stationary and weight-stationary, for any ``hw.pe.PEType``.

Both compute ``C = A @ B`` with ``A`` the activations (``M x K``) and ``B`` the weights
(``K x N``); a PE type (``hw.pe``) says what one cell adds per reduction step, and the edge
decoders it declares sit once per row / column, never in the cells. All streams are
``amaranth.lib.stream`` interfaces (``valid``/``ready``, payload a ``StructLayout`` whose
fields sit from bit 0 up in the order listed below; lane ``l`` of a packed field sits in
bits ``[l * w, (l + 1) * w)`` of the field). Results never stall: the
result streams are ``always_ready`` and must be taken when ``valid``.

``OutputStationaryArray(rows=R, cols=C, pe=..., max_k=K_max)`` -- a tile ``C[R x C]``:

* ``i`` (in): one reduction step per transfer: ``a`` = column ``k`` of ``A`` (``R``
  lanes), ``b`` = row ``k`` of ``B`` (``C`` lanes), ``mode`` (PE modes only), ``last``
  (the tile's final step; the next transfer starts a new tile). ``ready`` is high except
  for a step with ``last`` that arrives fewer than ``max(R, C)`` cycles after the previous
  tile's ``last`` (results are still being read), so it depends combinationally on the
  payload's ``last`` bit; tiles of ``K >= max(R, C)`` steps flow back to back.
* ``o`` (out): the tile's rows, ``R`` consecutive transfers starting ``C + pipeline``
  cycles after its ``last`` was accepted: ``c`` = ``C[r, :]`` (``C`` lanes of
  ``acc_width`` bits, two's complement when ``pe.acc_signed``) in the low bits, ``row = r``
  above it.
* Inside: lane ``i`` of ``a`` waits ``i`` cycles (skew), ``b`` lane ``j`` waits ``j``;
  operands move one PE right (``a``, with ``last``) / down (``b``) per cycle; a cycle
  without a transfer enters as ``a`` code 0, a zero step. Each PE accumulates; the last
  step copies the sum into a result register and clears the accumulator, so the next tile
  starts at once. ``acc_width`` holds ``max_k`` steps of the largest step value: no tile of up to
  ``max_k`` steps overflows.

``WeightStationaryArray(rows=R, cols=C, pe=...)`` -- ``K = R`` per pass, ``N = C``:

* ``w`` (in): one row of ``B`` per transfer (``b``, ``C`` lanes), rows ``0..R-1`` in
  order, into shadow registers (decoded on the edge first). After ``R`` rows ``ready``
  stays low until a ``swap`` has moved them into the PEs (``R + C`` cycles after the
  ``swap`` transfer): loading overlaps computing with the previous weights. The next
  ``swap`` is therefore accepted ``2R + C`` cycles after the previous one at the soonest:
  each weight tile must serve at least ``2R + C`` rows of ``A`` (``min_rows_per_tile``)
  for ``a`` to take a row every cycle.
* ``a`` (in): one row ``m`` of ``A`` per transfer (``a``, ``R`` lanes = ``A[m, 0..R-1]``),
  ``mode``, ``swap`` (this row and all later ones use the weights loaded since the
  previous swap). ``ready`` is low only for a ``swap`` before all ``R`` rows are loaded;
  it depends combinationally on the payload's ``swap`` bit, so a driver presents the
  payload with ``valid`` and holds both until the transfer.
* ``c`` (out): ``C[m, :]`` (``C`` lanes of ``acc_width`` bits) exactly
  ``R + C + 1 + pipeline`` cycles after row ``m`` was accepted, in order. ``K < R``: pad ``A``
  and ``B`` with zero rows / lanes; ``K > R``: add the partial results of several passes.
* Inside: ``a`` lane ``i`` waits ``i + 2`` cycles (its ``swap`` ``i + 1``: a PE takes its
  new weight one cycle before the swap row reaches it; no input drives logic beyond one
  register) and moves right; partial sums move down one row per cycle, those leaving
  row ``i`` in ``accumulator_width(pe, i + 1)`` bits (they hold ``i + 1`` steps); column
  ``j``'s result waits ``C - 1 - j`` cycles (de-skew). ``acc_width`` holds ``R`` steps of
  the largest step value. Every control signal of the weight loading (``w.ready``, "all
  rows loaded", the one-hot pointer to the next shadow row) is a register, and an
  accepted weight row is registered (decoded) with its one-hot row before it is written
  into the shadow registers one cycle later, so a shadow row's
  write enable is a flip-flop, one per ``write_group`` columns (on a 16 x 16 INT4 array on
  ECP5 a decoded row counter had limited Fmax to 147 MHz; on a 16 x 16 INT8 array on
  ECP5-85 ``w.valid``'s own path to 1,024 enables limited it to 90 MHz, one enable register
  per row of 128 flip-flops to 96 MHz).
* ``bram=True`` (for FPGAs short of flip-flops, e.g. iCE40, where a register fed by a
  register takes a whole logic cell): column ``j``'s shadow weights live in a memory of
  ``R`` entries read out one row per cycle in the swap's wake, and every skew or de-skew
  line of 3 or more stages is a memory written each cycle and read ``stages - 1``
  entries behind (``ram_style = "block"``). Same ports, protocol and latency.
* Reset: ``rst`` clears only the control (weight-loading state, the ``swap`` and ``c.valid``
  chains). The data registers (shadow and PE weights, operand and mode pipes, partial
  sums, de-skew) start at 0 and ignore ``rst``, so that it does not fan out to every
  flip-flop. After ``rst`` the rows in flight are dropped, loading starts again at row 0,
  and the PEs keep their weights until the next ``swap``.

Both take ``pipeline=1`` to register each PE's step value before the addition (one more
cycle of latency, a shorter critical path). Throughput of both: ``R * C`` steps per cycle
(each of ``pe.elements(mode)`` MACs).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from quantrtl.hw.mac import delay, unused_if_invalid
from quantrtl.hw.pe import PEType, accumulator_width, pack

__all__ = ["OutputStationaryArray", "WeightStationaryArray", "DATAFLOWS", "MAX_DIM"]

MAX_DIM = 64
MAX_ACC_WIDTH = 62
# Shadow flip-flops per write-enable register of the weight-stationary array (a 16 x 16
# INT8 array on ECP5-85 with one enable per row of 128: 96 MHz, 10 ns of routing).
WRITE_FANOUT = 32
DATAFLOWS = ("os", "ws")


def _check_dims(rows, cols, pe, pipeline):
    if pipeline not in (0, 1) or isinstance(pipeline, bool):
        raise ValueError(f"pipeline must be 0 or 1, got {pipeline!r}")
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIM:
            raise ValueError(f"{name} must be an int in 1..{MAX_DIM}, got {value!r}")
    if not isinstance(pe, PEType):
        raise ValueError(f"pe must be a hw.pe.PEType, got {pe!r}")


def _check_acc(acc_width, needed: int, what: str) -> int:
    if acc_width is None:
        acc_width = needed
    if isinstance(acc_width, bool) or not isinstance(acc_width, int) \
            or not needed <= acc_width <= MAX_ACC_WIDTH:
        raise ValueError(f"accumulator width must be {needed}..{MAX_ACC_WIDTH} bits for "
                         f"{what}, got {acc_width!r}")
    return acc_width


def _lanes(value, count: int, shape) -> list:
    """The ``count`` lanes of a packed payload field, read through ``ArrayLayout(shape,
    count)`` (lane ``l`` in bits ``[l * w, (l + 1) * w)``). The payload fields themselves
    stay plain: a field of a layout shape adds a wire per lane to the Verilog."""
    lanes = data.View(data.ArrayLayout(shape, count), value)
    return [lanes[n] for n in range(count)]


def _block_ram(m: Module, name: str, width: int, depth: int) -> Memory:
    """A zero-initialized memory submodule that synthesis should map to block RAM."""
    mem = Memory(shape=unsigned(width), depth=depth, init=[], attrs={"ram_style": "block"})
    m.submodules[name] = mem
    return mem


def _layout(**fields) -> data.StructLayout:
    return data.StructLayout({k: v for k, v in fields.items() if v})


class _Array(wiring.Component):
    """Shared parameters and properties."""

    def __init__(self, rows, cols, pe, acc_width, pipeline, signature):
        self._rows, self._cols, self._pe, self._acc_width = rows, cols, pe, acc_width
        self._pipeline = pipeline
        super().__init__(signature)

    @property
    def pe(self) -> PEType:
        return self._pe

    @property
    def acc_width(self) -> int:
        return self._acc_width

    @property
    def acc_shape(self):
        return signed(self._acc_width) if self._pe.acc_signed else unsigned(self._acc_width)

    @property
    def steps_per_cycle(self) -> int:
        return self._rows * self._cols

    @property
    def pipeline(self) -> int:
        """1: each PE registers its step value before adding it (one more cycle of latency,
        a shorter critical path)."""
        return self._pipeline

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the parameters, in bits (for the datasheet)."""
        return {"a lane (activation code)": self._pe.a_width,
                "b lane (weight code)": self._pe.b_width,
                "mode (per-step PE mode index)": self._pe.mode_width,
                "accumulator (result lane)": self._acc_width,
                "PE steps per cycle (R x C)": self.steps_per_cycle}

    def _lane_table(self, a: str, b: str, c: str) -> dict:
        R, C, pe = self._rows, self._cols, self._pe
        return {a: (R, pe.a_width, None), b: (C, pe.b_width, None),
                c: (C, self._acc_width, pe.acc_signed)}

    def _step(self, m, a, b, mode, name, reset_less=False):
        """The PE's step value, registered when ``pipeline`` is 1."""
        value = self._pe.step(m, a, b, mode)
        if not self._pipeline:
            return value
        reg = Signal(value.shape(), name=f"step_{name}", reset_less=reset_less)
        m.d.sync += reg.eq(value)
        return reg

    def _mode(self, payload):
        return payload.mode if self._pe.mode_width else Const(0, 1)


class OutputStationaryArray(_Array):
    """Output-stationary array; protocol, latency and widths in the module docstring."""

    @unused_if_invalid
    def __init__(self, *, rows=4, cols=4, pe: PEType, max_k=256, acc_width=None,
                 pipeline=0):
        _check_dims(rows, cols, pe, pipeline)
        if isinstance(max_k, bool) or not isinstance(max_k, int) or not 1 <= max_k <= 1 << 20:
            raise ValueError(f"max_k must be an int in 1..2^20, got {max_k!r}")
        self._max_k = max_k
        acc_width = _check_acc(acc_width, accumulator_width(pe, max_k), f"K <= {max_k}")
        step = _layout(a=rows * pe.a_width, b=cols * pe.b_width, mode=pe.mode_width, last=1)
        result = _layout(c=cols * acc_width, row=max(1, (rows - 1).bit_length()))
        super().__init__(rows, cols, pe, acc_width, pipeline, {
            "i": In(stream.Signature(step)),
            "o": Out(stream.Signature(result, always_ready=True)),
        })

    @property
    def max_k(self) -> int:
        return self._max_k

    @property
    def result_delay(self) -> int:
        """Cycles from a tile's ``last`` transfer to its row 0 on ``o``."""
        return self._cols + self._pipeline

    @property
    def tile_gap(self) -> int:
        """Least cycles between the ``last`` transfers of two tiles."""
        return max(self._rows, self._cols)

    @property
    def latency(self) -> int:
        """Cycles from a tile's ``last`` transfer to its row 0 on ``o`` (``result_delay``)."""
        return self.result_delay

    @property
    def lanes(self) -> dict:
        """``{"port.field": (lanes, bits, signed)}`` (``None``: a format code)."""
        return self._lane_table("i.a", "i.b", "o.c")

    @property
    def function_note(self) -> str:
        R, C = self._rows, self._cols
        return (f"C = A @ B, one {R} x {C} output tile per pass: each i transfer is one "
                f"reduction step (column k of A in {R} lanes, row k of B in {C} lanes); the "
                f"transfer with last ends the tile, whose {R} rows then leave on o")

    @property
    def latency_note(self) -> str:
        return (f"row 0 of a tile leaves on o {self.result_delay} cycles (C + pipeline) after "
                f"the transfer with last; rows 1..{self._rows - 1} follow on consecutive "
                f"cycles")

    @property
    def throughput_note(self) -> str:
        R, C = self._rows, self._cols
        return (f"{R * C} PE steps per cycle (R x C) while i accepts a transfer every "
                f"cycle; tiles of K >= max(R, C) = {self.tile_gap} steps flow back to back, "
                f"a shorter tile's last waits (i.ready low) until {self.tile_gap} cycles "
                f"after the previous last")

    @property
    def handshake_note(self) -> str:
        return ("i.ready = ~i.payload.last | (tile_gap cycles since the previous last): it "
                "depends combinationally on the payload's last bit, so present the payload "
                "with i.valid before looking at i.ready and hold both until accepted; o is "
                "always ready (no o.ready port): take every o transfer when o.valid is high")

    @property
    def reset_note(self) -> str:
        return ("rst empties the tile in progress and the result rows not yet sent: the "
                "next transfer on i starts a new tile")

    def elaborate(self, platform):
        m = Module()
        R, C, pe = self._rows, self._cols, self._pe
        gap = self.tile_gap
        p = self.i.payload

        # Back-pressure: a "last" must come at least `gap` cycles after the previous one.
        since = Signal(range(gap + 1), init=gap)
        m.d.comb += self.i.ready.eq(~p.last | (since == gap))
        take = Signal()
        m.d.comb += take.eq(self.i.valid & self.i.ready)
        with m.If(take & p.last):
            m.d.sync += since.eq(1)
        with m.Elif(since != gap):
            m.d.sync += since.eq(since + 1)

        # Skew: row i's operand and "last" wait i cycles, column j's operand j cycles; the
        # edge decoders then turn codes into what the PEs use. A cycle without a transfer
        # enters as code 0 (a zero step, see hw.pe), so the PEs need no valid signal.
        names = ["a", "last", "mode"]
        rows_in = []
        for i, lane in enumerate(_lanes(p.a, R, pe.a_width)):
            a, *ctrl = delay(m, [Mux(take, lane, 0), take & p.last, self._mode(p)], i, "skew",
                             [f"{n}{i}" for n in names])
            rows_in.append([pe.decode_a(m, a), *ctrl])
        down = [pe.decode_b(m, delay(m, [lane], j, "skew", [f"b{j}"])[0])
                for j, lane in enumerate(_lanes(p.b, C, pe.b_width))]

        # Each PE: acc += step; the tile's last step copies the sum into the result
        # register and clears acc (a synchronous reset: no multiplexer before the adder).
        results = [[None] * C for _ in range(R)]
        for i in range(R):
            a, last_i, mode_i = rows_in[i]
            for j in range(C):
                b = down[j]
                acc = Signal(self.acc_shape, name=f"acc_{i}_{j}")
                res = Signal(self.acc_shape, name=f"res_{i}_{j}")
                total = Signal(self.acc_width, name=f"sum_{i}_{j}")
                m.d.comb += total.eq(acc + self._step(m, a, b, mode_i, f"{i}_{j}"))
                (done,) = delay(m, [last_i], self._pipeline, "", [f"last_{i}_{j}"])
                with m.If(done):
                    m.d.sync += [acc.eq(0), res.eq(total)]
                with m.Else():
                    m.d.sync += acc.eq(total)
                results[i][j] = res
                a, last_i, mode_i = delay(m, [a, last_i, mode_i], 1, "",
                                          [f"{n}_{i}_{j + 1}" for n in names])
                down[j] = delay(m, [b], 1, "", [f"b_{i + 1}_{j}"])[0]

        # Row r of a tile is complete C + r cycles after its last step entered.
        (emit,) = delay(m, [take & p.last], self.result_delay, "", ["emit"])
        row = Signal(range(max(R, 2)))
        busy = Signal()
        out = self.o.payload
        # Plain expressions rather than an If/Switch: Icarus evaluates continuous assignments
        # at time 0, but an always @* block only once one of its inputs changes.
        m.d.comb += [self.o.valid.eq(emit | busy), out.row.eq(Mux(emit, 0, row))]
        with m.If(emit):
            m.d.sync += [row.eq(1), busy.eq(R > 1)]
        with m.Elif(busy):
            m.d.sync += row.eq(row + 1)
            with m.If(row == R - 1):
                m.d.sync += busy.eq(0)
        row_layout = data.ArrayLayout(self.acc_shape, C)
        value = pack(row_layout, results[0])
        for r in range(1, R):
            value = Mux(out.row == r, pack(row_layout, results[r]), value)
        m.d.comb += out.c.eq(value)
        return m


class WeightStationaryArray(_Array):
    """Weight-stationary array; protocol, latency and widths in the module docstring."""

    @unused_if_invalid
    def __init__(self, *, rows=4, cols=4, pe: PEType, acc_width=None, pipeline=0,
                 bram=False):
        _check_dims(rows, cols, pe, pipeline)
        acc_width = _check_acc(acc_width, accumulator_width(pe, rows), f"K = rows = {rows}")
        if not isinstance(bram, bool):
            raise ValueError(f"bram must be a bool, got {bram!r}")
        self._bram = bram
        super().__init__(rows, cols, pe, acc_width, pipeline, {
            "w": In(stream.Signature(_layout(b=cols * pe.b_width))),
            "a": In(stream.Signature(_layout(a=rows * pe.a_width, mode=pe.mode_width,
                                             swap=1))),
            "c": Out(stream.Signature(_layout(c=cols * acc_width), always_ready=True)),
        })

    @property
    def latency(self) -> int:
        """Cycles from an ``a`` transfer to its row on ``c``."""
        return self._rows + self._cols + 1 + self._pipeline

    @property
    def lanes(self) -> dict:
        """``{"port.field": (lanes, bits, signed)}`` (``None``: a format code)."""
        return self._lane_table("a.a", "w.b", "c.c")

    @property
    def function_note(self) -> str:
        R, C = self._rows, self._cols
        return (f"C = A @ B with the weights B (K x N = {R} x {C}) held in the PEs: each a "
                f"transfer is a row of A ({R} lanes), each c transfer the matching row of C "
                f"({C} lanes); w loads the next weight tile, one row of B per transfer, while "
                f"the array computes, and the first row of A with swap set uses it")

    @property
    def swap_wait(self) -> int:
        """Cycles from a ``swap`` transfer until ``w.ready`` is high again (``R + C``)."""
        return self._rows + self._cols

    @property
    def min_rows_per_tile(self) -> int:
        """Rows of ``A`` each weight tile must serve for ``a`` to take a row every cycle:
        ``swap_wait`` plus ``R`` transfers to load the next tile, ``2R + C``."""
        return self.swap_wait + self._rows

    @property
    def latency_note(self) -> str:
        return (f"row m of A leaves on c exactly {self.latency} cycles (R + C + 1 + pipeline) "
                f"after its a transfer, in order")

    @property
    def throughput_note(self) -> str:
        R, C = self._rows, self._cols
        return (f"{R * C} PE steps per cycle (R x C) while a accepts a row every cycle. Full "
                f"rate needs every weight tile to serve at least 2R + C = "
                f"{self.min_rows_per_tile} rows of A: after a swap transfer w.ready returns "
                f"R + C = {self.swap_wait} cycles later and the next tile takes R = {R} "
                f"w transfers, so the next swap is accepted no sooner than "
                f"{self.min_rows_per_tile} cycles after the previous one (a.ready is low "
                f"for a swap row until then)")

    @property
    def handshake_note(self) -> str:
        return ("a.ready = ~a.payload.swap | (all R weight rows loaded): it depends "
                "combinationally on the payload's swap bit, so present the payload with "
                "a.valid before looking at a.ready and hold both until accepted. w.ready is "
                "a register (high while shadow rows remain to load). c is always ready (no "
                "c.ready port): take every c transfer when c.valid is high")

    @property
    def reset_note(self) -> str:
        return ("rst clears only the control (weight loading restarts at row 0; the swap and "
                "c.valid chains empty, so rows in flight are dropped); data registers "
                "(weights, partial sums) ignore rst and start at 0, and the PEs keep their "
                "weights until the next swap")

    def _shadow_registers(self, m: Module, w_take, row_hot, w_row) -> list:
        """Shadow weights in flip-flops: ``shadow[i][j]``, written from the registered row
        ``w_row`` one cycle after its transfer."""
        R, C = self._rows, self._cols
        shadow = [[Signal(self._pe.b_inner_width, name=f"shadow_{i}_{j}", reset_less=True)
                   for j in range(C)] for i in range(R)]
        # The accepted row, decoded, and its one-hot row wait one cycle in registers: the
        # write enable of shadow row i is then the flip-flop write[i]. A swap comes at the
        # earliest the cycle after the last row is accepted and reaches row i i + 1 cycles
        # later, after the row is written.
        # Each row's write enable is replicated per group of columns (its own register,
        # keep), so that one flip-flop drives at most WRITE_FANOUT shadow flip-flops.
        group = self.write_group
        for i in range(R):
            for g in range(0, C, group):
                write = Signal(name=f"write_{i}_{g // group}", attrs={"keep": 1})
                m.d.sync += write.eq(w_take & row_hot[i])
                with m.If(write):
                    m.d.sync += [shadow[i][j].eq(w_row[j])
                                 for j in range(g, min(g + group, C))]
        return shadow

    def _shadow_rams(self, m: Module, swap, w_take, w_row) -> list:
        """``bram``: column ``j``'s shadow weights in a memory of ``R`` entries, written
        from the registered row ``w_row`` one cycle after its transfer; after a swap in
        cycle ``s`` column ``j``'s read port puts row ``i`` on the column's bus in cycle
        ``s + i + j + 1``, when PE ``(i, j)`` loads its weight. The weight loading keeps
        ``w.ready`` low while the reads run, so writes never meet them (except with one
        row, where the read is transparent)."""
        R, C = self._rows, self._cols
        index = Signal(range(R + 1))            # the next row to write, binary
        with m.If(swap):
            m.d.sync += index.eq(0)
        with m.Elif(w_take):
            m.d.sync += index.eq(index + 1)
        (w_addr,) = delay(m, [index], 1, "", ["w_addr"], reset_less=True)
        (w_en,) = delay(m, [w_take], 1, "", ["w_en"])
        read0 = Signal(range(R))                # row read for column 0; 0 when idle
        if R > 1:
            m.d.sync += read0.eq(Mux(swap, 1, Mux(read0 != 0, Mux(read0 == R - 1, 0,
                                                                 read0 + 1), 0)))
        bus = []
        for j in range(C):
            (addr,) = delay(m, [read0], j, "", [f"read_addr{j}"])
            mem = _block_ram(m, f"shadow_ram{j}", self._pe.b_inner_width, R)
            write = mem.write_port()
            read = mem.read_port(transparent_for=(write,) if R == 1 else ())
            m.d.comb += [write.addr.eq(w_addr[:len(write.addr)]), write.data.eq(w_row[j]),
                         write.en.eq(w_en), read.addr.eq(addr)]
            bus.append(read.data)
        return bus

    def _delay_line(self, m: Module, counter: Signal | None, signals: list, stages: int,
                    tag: str, names: list):
        """``delay(..., reset_less=True)``; with ``bram`` a line of 3 or more stages is
        a memory instead (write every cycle at ``counter``, free-running, synchronous read
        ``stages - 1`` entries behind, non-transparent), which block RAM can hold."""
        if not self._bram or stages < 3:
            return delay(m, signals, stages, tag, names, reset_less=True)
        # One memory word holds every signal, as a field named after it.
        word = data.StructLayout({name: sig.shape() for sig, name in zip(signals, names)})
        depth = 1 << (stages - 2).bit_length()  # a power of two >= stages - 1
        mem = _block_ram(m, f"{names[0]}_{tag}_ram", word.size, depth)
        write, read = mem.write_port(), mem.read_port()
        bits = depth.bit_length() - 1
        m.d.comb += [write.addr.eq(counter[:bits]),
                     write.data.eq(pack(word, dict(zip(names, signals)))), write.en.eq(1),
                     read.addr.eq((counter - (stages - 1))[:bits])]
        fields, out = data.View(word, read.data), []
        for sig, name in zip(signals, names):
            late = Signal(sig.shape(), name=f"{name}_{tag}")
            m.d.comb += late.eq(fields[name])
            out.append(late)
        return out

    def _psum_shape(self, steps: int):
        """Partial sums leaving row ``steps - 1`` hold ``steps`` step values: no wider."""
        width = min(accumulator_width(self._pe, steps), self._acc_width)
        return signed(width) if self._pe.acc_signed else unsigned(width)

    @property
    def write_group(self) -> int:
        """Columns of a shadow row that share one write-enable register."""
        return max(1, WRITE_FANOUT // self._pe.b_inner_width)

    def elaborate(self, platform):
        m = Module()
        R, C, pe = self._rows, self._cols, self._pe
        counter = None  # bram: the write address of every delay-line memory (free-running;
        if self._bram:  # their depths are powers of two)
            counter = Signal(max(R + 2, C).bit_length(), reset_less=True)
            m.d.sync += counter.eq(counter + 1)

        # Weight loading into shadow registers. Every control output is a register (its
        # next value computed here); `row_hot` is the one-hot pointer to the next row.
        row_hot = Signal(R, init=1)
        full = Signal()                       # all R rows loaded since the last swap
        draining = Signal(range(R + C + 1))   # cycles until a swap has reached every PE
        w_ready = Signal(init=1)
        m.d.comb += [
            self.w.ready.eq(w_ready),
            self.a.ready.eq(~self.a.payload.swap | full),
        ]
        a_take, swap, w_take = Signal(), Signal(), Signal()
        m.d.comb += [
            a_take.eq(self.a.valid & self.a.ready),
            swap.eq(a_take & self.a.payload.swap),
            w_take.eq(self.w.valid & w_ready),
        ]
        full_next = Signal()
        draining_next = Signal.like(draining)
        m.d.comb += [
            full_next.eq(Mux(swap, 0, full | (w_take & row_hot[R - 1]))),
            # low again at t + R + C
            draining_next.eq(Mux(swap, R + C - 1, Mux(draining != 0, draining - 1, 0))),
        ]
        m.d.sync += [
            full.eq(full_next),
            draining.eq(draining_next),
            w_ready.eq(~full_next & ~draining_next.any()),
        ]
        with m.If(swap):
            m.d.sync += row_hot.eq(1)
        with m.Elif(w_take):
            m.d.sync += row_hot.eq(row_hot << 1)
        w_lanes = [pe.decode_b(m, lane) for lane in _lanes(self.w.payload.b, C, pe.b_width)]
        # Data registers (shadow and PE weights, operand and mode pipes, partial sums,
        # de-skew) ignore rst: only the control above and the swap / valid chains below
        # are reset, so that rst does not fan out to every flip-flop of the array.
        w_row = delay(m, w_lanes, 1, "", [f"w_row{j}" for j in range(C)], reset_less=True)
        if self._bram:
            bus = self._shadow_rams(m, swap, w_take, w_row)
            shadow = [bus] * R
        else:
            shadow = self._shadow_registers(m, w_take, row_hot, w_row)
        names = ["a", "swap", "mode"]
        psum = [Const(0, self.acc_shape)] * C  # partial sums entering row i, per column
        for i, lane in enumerate(_lanes(self.a.payload.a, R, pe.a_width)):
            # The swap runs one cycle ahead of its row: a PE loads the new weight while the
            # previous row is in it, and the swap row meets the new weight. Both are
            # registered once more at the input, so that no input port drives the weight
            # enables of row 0 (128 flip-flops of a 16 x 16 INT8 array) directly.
            # Every PE's swap register is its own (keep): the chains of all rows are equal
            # delay lines, and merged, one flip-flop would drive a whole anti-diagonal.
            (swap_i,) = delay(m, [swap], i + 1, "skew", [f"swap{i}"], keep=True)
            a, mode_i = self._delay_line(m, counter, [lane, self._mode(self.a.payload)],
                                         i + 2, "skew", [f"a{i}", f"mode{i}"])
            a = pe.decode_a(m, a)
            for j in range(C):
                weight = Signal(pe.b_inner_width, name=f"w_{i}_{j}", reset_less=True)
                with m.If(swap_i):
                    m.d.sync += weight.eq(shadow[i][j])
                out = Signal(self._psum_shape(i + 1), name=f"psum_{i}_{j}", reset_less=True)
                m.d.sync += out.eq(psum[j] + self._step(m, a, weight, mode_i, f"{i}_{j}",
                                                        reset_less=True))
                psum[j] = out
                after = [f"{n}_{i}_{j + 1}" for n in names]
                a, mode_i = delay(m, [a, mode_i], 1, "", [after[0], after[2]],
                                  reset_less=True)
                (swap_i,) = delay(m, [swap_i], 1, "", [after[1]], keep=True)
        results = []
        for j in range(C):
            (late,) = self._delay_line(m, counter, [psum[j]], C - 1 - j, "deskew", [f"c{j}"])
            lane = Signal(self.acc_shape, name=f"c_lane{j}")
            m.d.comb += lane.eq(late)  # extended to acc_width
            results.append(lane)
        (valid,) = delay(m, [a_take], self.latency, "", ["c_valid"])
        m.d.comb += [self.c.valid.eq(valid),
                     self.c.payload.c.eq(pack(data.ArrayLayout(self.acc_shape, C), results))]
        return m
