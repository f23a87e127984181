"""What a design is: its parameters, its registration and a built instance.

A design is named on the command line with ``key=value`` parameters, e.g.
``int-mac a=int4 b=int8 acc=20 pipeline=1``. Its ``DesignSpec`` (registered by one module
of this package per design family) says everything the tools need to know about it: its
parameters, how to make its RTL and golden vectors, its proof reference, the parameter
sets that lint, prove, the rigor table and the report exercise, and its help.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from quantrtl.formats.integer import parse_int
from quantrtl.hw.rtl import RTL
from quantrtl.sim.vectors import Vectors

__all__ = ["Param", "Design", "DesignSpec", "ReportRow", "FormatPair", "parse_params"]

INT_LIMIT = 2**31 - 1  # no integer parameter comes near; larger ones stop before any RTL


@dataclass(frozen=True)
class Param:
    name: str
    kind: str            # "format", "int", "floats", "text" or "choice"
    default: object
    help: str
    choices: tuple = ()

    def parse(self, text: str):
        if self.kind == "format":
            try:
                return parse_int(text).name
            except ValueError as exc:
                raise ValueError(f"parameter {self.name}: {exc}") from None
        if self.kind == "int":
            try:
                value = int(text, 0)
            except ValueError:
                raise ValueError(f"parameter {self.name} takes an integer, got {text!r}") \
                    from None
            if abs(value) > INT_LIMIT:
                raise ValueError(f"parameter {self.name} is out of range, got {text}")
            return value
        if self.kind == "text":
            if not text or any(c.isspace() for c in text):
                raise ValueError(f"parameter {self.name} takes a non-empty word, got {text!r}")
            return text
        if self.kind == "floats":
            try:
                values = [float(v) for v in text.split(",")]
            except ValueError:
                raise ValueError(f"parameter {self.name} takes comma-separated numbers, got "
                                 f"{text!r}") from None
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"parameter {self.name} takes finite numbers, got {text!r}")
            return ",".join(str(v) for v in values)
        if text not in self.choices:
            raise ValueError(f"parameter {self.name} takes one of {', '.join(self.choices)}, "
                             f"got {text!r}")
        return text


@dataclass(frozen=True)
class Design:
    name: str
    params: dict
    rtl: RTL
    vectors: Callable[[str, int, int], Vectors]  # (mode, count, seed) -> golden vectors
    exhaustive_ok: bool              # whether mode "exhaustive" is affordable

    @property
    def label(self) -> str:
        return " ".join([self.name, *(f"{k}={v}" for k, v in self.params.items()
                                      if v is not None)])


@dataclass(frozen=True)
class ReportRow:
    """One row of ``quantrtl report``: ``design`` at ``params``, its LUTs divided by those
    of the row labelled ``baseline`` (``None``: the row is a baseline)."""

    label: str
    design: str
    params: dict
    baseline: str | None


@dataclass(frozen=True)
class FormatPair:
    """A weights x activations format pair that ``quantrtl explore`` can give a linear layer
    ``Y = X W^T`` (``W [N, K]``, ``X [T, K]``), and the array PE that runs it.

    * ``quantize_weights(w) -> (values, scale, codes)``: ``w`` float64 ``[N, K]``; ``values``
      float64 in units of ``scale`` (``[N, 1]``, per output channel), so ``values * scale``
      is the quantized weight; ``codes`` int64, what the PE's B lanes are built from.
    * ``calibrate_acts(x) -> scale``: one 0-d float64 scale for activations like ``x``
      (float64 ``[T, K]``; static, per tensor).
    * ``quantize_acts(x, scale) -> (values, codes)``: ``x`` float64 ``[..., K]``.
    * ``lanes(x_codes [M, K], w_codes [N, K]) -> (A [M, K'], B [K', N])``: lane codes of
      ``systolic-array`` with ``array`` (A activations, B weights); its golden operand kind's
      ``product(A, B)`` equals ``acc_scale * (x_values @ w_values.T)`` exactly.
    * ``weight_bits``: storage bits per weight code (scales not included).
    """

    name: str                 # "int4xint8": weights x activations, lower case
    weights: str              # weight format name
    acts: str                 # activation format name
    weight_bits: int
    array: tuple[tuple[str, str], ...]  # systolic-array parameters of its PE: pe=, a=, b=
    quantize_weights: Callable = field(repr=False)
    calibrate_acts: Callable = field(repr=False)
    quantize_acts: Callable = field(repr=False)
    lanes: Callable = field(repr=False)
    acc_scale: int = 1        # the accumulator holds sum(x * w) * acc_scale (dINT: 2^frac)

    @property
    def label(self) -> str:
        return f"{self.weights.upper()}x{self.acts.upper()}"


ParamSets = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class DesignSpec:
    """A registered design.

    * ``make(params) -> (RTL, vectors(mode, count, seed), exhaustive_ok)``: validates
      every parameter (``ValueError``) before any RTL exists.
    * ``reference(design) -> quantrtl.formal.reference.Reference``: the golden reference
      ``quantrtl prove`` compares the RTL with (``None``: the design has none;
      ``no_proof`` says why and what is proved instead).
    * ``lint``, ``prove``, ``rigor``: parameter sets (``key=value`` words) that
      ``quantrtl lint``'s tests, the quick proof regression and the rigor table exercise.
    """

    name: str
    summary: str
    params: tuple[Param, ...]
    make: Callable[[dict], tuple[RTL, Callable, bool]] = field(repr=False)
    reference: Callable | None = field(default=None, repr=False)
    no_proof: str = ""
    lint: ParamSets = ((),)
    prove: ParamSets = ()
    rigor: ParamSets = ((),)

    def __post_init__(self):
        if (self.reference is None) == (not self.no_proof):
            raise ValueError(f"design {self.name}: give either a proof reference or the "
                             f"reason it has none (no_proof)")
        if not getattr(self.make, "names_parameters", False):
            object.__setattr__(self, "make", _naming_parameters(self, self.make))

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


def _naming_parameters(spec: DesignSpec, make: Callable) -> Callable:
    """``make`` whose ``ValueError``s (a value out of range, two that do not fit together)
    start with the design and the parameters that differ from the defaults, e.g.
    ``int-mac acc=0: accumulator width must be 16..62 bits ...``, unless they already
    name a parameter."""

    @functools.wraps(make)
    def named(params: dict):
        try:
            return make(params)
        except ValueError as exc:
            message = str(exc)
            defaults = spec.defaults()
            given = [f"{k}={v}" for k, v in params.items()
                     if k in defaults and v != defaults[k] and v is not None]
            if not given or message.startswith(("parameter ", f"{spec.name} ")):
                raise
            raise ValueError(f"{spec.name} {' '.join(given)}: {message}") from exc

    named.names_parameters = True
    return named


def parse_params(spec: DesignSpec, items: list[str]) -> dict:
    """``["a=int4", "acc=16"]`` → the full parameter dict with defaults filled in. A key
    given twice is an error (not "the last one wins")."""
    known = {p.name: p for p in spec.params}
    params = spec.defaults()
    given: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {item!r} is not of the form key=value")
        if key not in known:
            raise ValueError(f"design {spec.name} has no parameter {key!r} "
                             f"(it has: {', '.join(known)})")
        if key in given:
            raise ValueError(f"parameter {key} given twice ({given[key]}, {item})")
        given[key] = item
        params[key] = known[key].parse(value)
    return params
