"""Integer multiply–accumulate unit."""

import functools

from amaranth.hdl import Fragment, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["IntMAC", "MACFacts", "check_operand", "check_accumulator", "check_mac_params", "delay",
           "accumulate", "register_and_accumulate", "unused_if_invalid"]

OVERFLOW_MODES = ("wrap", "saturate")
MAX_ACC_WIDTH = 62
MAX_PIPELINE = 4


def unused_if_invalid(init):
    """Decorate a Component's ``__init__``: if it raises (bad parameters), mark the half-built
    object as used so that Amaranth does not also warn that it was never elaborated.

    ``Fragment.get`` is Amaranth's public way to use an elaboratable; the half-built object's
    own ``elaborate`` cannot run, so an empty one (for this instance only) stands in."""
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except Exception:
            self.elaborate = lambda platform: Fragment()
            Fragment.get(self, None)
            raise
    return wrapper


def check_operand(name: str, width, is_signed) -> Shape:
    """Validate an operand of 2..8 bits; return its Amaranth shape."""
    if isinstance(width, bool) or not isinstance(width, int) or not 2 <= width <= 8:
        raise ValueError(f"{name}: operand width must be an int in 2..8, got {width!r}")
    if not isinstance(is_signed, bool):
        raise ValueError(f"{name}: signedness must be a bool, got {is_signed!r}")
    return signed(width) if is_signed else unsigned(width)


def check_accumulator(acc_width, min_width: int, pipeline, overflow):
    """Validate a MAC's accumulator width (at least ``min_width``, the signed bits of one
    product), pipeline depth and overflow mode."""
    if isinstance(pipeline, bool) or not isinstance(pipeline, int) \
            or not 0 <= pipeline <= MAX_PIPELINE:
        raise ValueError(f"pipeline depth must be 0..{MAX_PIPELINE}, got {pipeline!r}")
    if overflow not in OVERFLOW_MODES:
        raise ValueError(f"overflow must be one of {OVERFLOW_MODES}, got {overflow!r}")
    if isinstance(acc_width, bool) or not isinstance(acc_width, int) \
            or not min_width <= acc_width <= MAX_ACC_WIDTH:
        raise ValueError(f"accumulator width must be {min_width}..{MAX_ACC_WIDTH} bits (one "
                         f"product needs {min_width}), got {acc_width!r}")


def check_mac_params(a_width, a_signed, b_width, b_signed, acc_width, pipeline, overflow):
    """Validate MAC parameters (see ``IntMAC``); return the operands' shapes."""
    a_shape = check_operand("a", a_width, a_signed)
    b_shape = check_operand("b", b_width, b_signed)
    check_accumulator(acc_width, a_width + b_width, pipeline, overflow)
    return a_shape, b_shape


class MACFacts:
    """Datasheet facts every MAC with ``valid``/``clear`` and ``acc`` shares (mixed into
    IntMAC, DIntMAC, OVPPE, FP8MAC): it needs ``latency``, ``product_width`` and ``_acc_width``."""

    throughput_note = "one MAC per cycle: new operands may be presented every cycle"
    reset_note = "rst clears the accumulator and every pipeline register"

    @property
    def latency_note(self) -> str:
        return (f"operands presented with valid (and clear) at a rising edge show in acc "
                f"{self.latency} rising edge(s) later (pipeline + 1)")

    @property
    def derived_widths(self) -> dict:
        """Widths that follow from the parameters, in bits (for the datasheet)."""
        return {"product (signed bits)": self.product_width,
                "accumulator": self._acc_width}


class IntMAC(MACFacts, wiring.Component):
    """Integer MAC: ``acc <= (clear ? 0 : acc) + a * b`` when ``valid``.

    Ports (all in the ``sync`` domain):

    * ``a``: ``a_width`` bits, two's complement if ``a_signed``; ``b`` likewise.
    * ``valid``, ``clear``: 1 bit. Per accepted cycle, ``clear`` restarts the sum: with
      ``valid`` the accumulator becomes the new product, without it 0.
    * ``acc``: ``acc_width`` bits, signed if either operand is signed. On overflow the sum
      wraps modulo ``2^acc_width`` (``"wrap"``) or clamps to the range (``"saturate"``).

    Latency: inputs presented in cycle ``t`` are reflected in ``acc`` after ``pipeline + 1``
    clock edges. ``pipeline = 0`` multiplies combinationally into the accumulator; stage 1
    registers the product; each further stage registers the operands once more before the
    multiplier. Throughput one MAC per cycle. Synchronous reset clears everything.
    """

    @unused_if_invalid
    def __init__(self, *, a_width=8, a_signed=True, b_width=8, b_signed=True, acc_width=24,
                 pipeline=0, overflow="wrap"):
        a_shape, b_shape = check_mac_params(a_width, a_signed, b_width, b_signed, acc_width,
                                            pipeline, overflow)
        self._a_shape, self._b_shape = a_shape, b_shape
        self._acc_width, self._pipeline, self._overflow = acc_width, pipeline, overflow
        super().__init__({
            "a": In(a_shape),
            "b": In(b_shape),
            "valid": In(1),
            "clear": In(1),
            "acc": Out(self.acc_shape),
        })

    @property
    def acc_shape(self) -> Shape:
        is_signed = self._a_shape.signed or self._b_shape.signed
        return signed(self._acc_width) if is_signed else unsigned(self._acc_width)

    @property
    def product_width(self) -> int:
        return self._a_shape.width + self._b_shape.width


    @property
    def latency(self) -> int:
        """Clock edges from an input to its effect on ``acc``."""
        return self._pipeline + 1

    def elaborate(self, platform):
        m = Module()
        a, b, valid, clear = delay(m, [self.a, self.b, self.valid, self.clear],
                                   self._pipeline - 1, "s")
        width = self._acc_width
        prod = Signal(width)  # the exact product, sign- or zero-extended to W bits
        if self._pipeline >= 1:  # product register, product-wide
            prod_r = Signal(signed(self.product_width) if self.acc_shape.signed
                            else unsigned(self.product_width))
            m.d.sync += prod_r.eq(a * b)
            valid, clear = delay(m, [valid, clear], 1, "p")
            m.d.comb += prod.eq(prod_r)
        else:
            # Operands extended to W bits before the multiplier, so that Yosys merges
            # multiplier and adder into one $macc (225 instead of 327 iCE40 LUT4s for an
            # 8x8 MAC with a 24-bit accumulator).
            a_ext, b_ext = Signal(self.acc_shape), Signal(self.acc_shape)
            m.d.comb += [a_ext.eq(a), b_ext.eq(b), prod.eq(a_ext * b_ext)]
        accumulate(m, self.acc, prod, valid, clear, self._overflow)
        return m


def delay(m: Module, signals: list, stages: int, tag: str, names=None, *,
          reset_less: bool = False, keep: bool = False) -> list:
    """Register ``signals`` (any values) ``stages`` times (0 or fewer: unchanged); return
    the outputs, named ``<name>_<tag><stage>`` (``names`` overrides the signals' names).
    ``reset_less``: the registers ignore ``rst`` (they still start at 0). ``keep``: the
    registers carry the ``keep`` attribute (the QoR flow then never merges them with an
    equal register elsewhere)."""
    names = names or [getattr(s, "name", "d") for s in signals]
    attrs = {"keep": 1} if keep else {}
    for stage in range(max(stages, 0)):
        delayed = [Signal(s.shape(), name=f"{n}_{tag}{stage}", reset_less=reset_less,
                          attrs=attrs)
                   for s, n in zip(signals, names)]
        m.d.sync += [d.eq(s) for d, s in zip(delayed, signals)]
        signals = delayed
    return signals


def register_and_accumulate(m: Module, acc: Signal, prod, valid, clear, pipeline: int,
                            overflow: str, negate=None):
    """The common tail of a MAC: with ``pipeline >= 1`` register the exact product (and its
    control), then extend it to the accumulator and ``accumulate``.

    With ``negate`` (1 bit) the addend is ``-prod`` when ``negate`` is set: ``~prod`` plus
    the accumulator adder's carry-in, so a sign–magnitude datapath needs no negator. That
    needs a signed accumulator (an unsigned one saturates on every subtraction)."""
    if negate is not None and not acc.shape().signed:
        raise ValueError("a negated addend needs a signed accumulator")
    if pipeline >= 1 and negate is None:
        prod, valid, clear = delay(m, [prod, valid, clear], 1, "p")
    elif pipeline >= 1:
        prod, valid, clear, negate = delay(m, [prod, valid, clear, negate], 1, "p")
    prod_w = Signal(len(acc))
    if negate is None:
        m.d.comb += prod_w.eq(prod)
        accumulate(m, acc, prod_w, valid, clear, overflow)
    else:
        m.d.comb += prod_w.eq(prod ^ negate.replicate(len(acc)))
        accumulate(m, acc, prod_w, valid, clear, overflow, carry_in=negate)


def accumulate(m: Module, acc: Signal, prod: Signal, valid, clear, overflow: str,
               carry_in=0):
    """``acc <= (clear ? 0 : acc) + prod`` when ``valid``, else ``0`` when ``clear``.

    ``prod`` is ``len(acc)`` bits: the exact addend, sign- or zero-extended like ``acc``.
    ``carry_in`` (1 bit) is added too, so ``prod = ~p, carry_in = 1`` adds ``-p``.
    The addition is modulo ``2^len(acc)``; with ``overflow="saturate"`` an overflow (both
    addends of one sign and the sum of the other, or a carry out when unsigned) clamps.
    """
    width = len(acc)
    base, total = Signal(width), Signal(width)
    m.d.comb += [base.eq(Mux(clear, 0, acc)), total.eq(base + prod + carry_in)]
    if overflow == "wrap":
        new = total
    elif acc.shape().signed:
        msb = width - 1
        too_high = ~base[msb] & ~prod[msb] & total[msb]
        too_low = base[msb] & prod[msb] & ~total[msb]
        new = Mux(too_high, (1 << msb) - 1, Mux(too_low, 1 << msb, total))
    else:
        new = Mux(total < base, (1 << width) - 1, total)
    with m.If(valid):
        m.d.sync += acc.eq(new)
    with m.Elif(clear):
        m.d.sync += acc.eq(0)
