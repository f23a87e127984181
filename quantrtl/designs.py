"""The designs quantrtl can generate, their parameters, and how each one is verified.

A design is named on the command line with ``key=value`` parameters, e.g.
``int-mac a=int4 b=int8 acc=20 pipeline=1``. ``build(name, params)`` validates everything
(raising ``ValueError`` before any RTL exists) and returns a ``Design``: its RTL, the cocotb
bench that checks it against ``golden/``, and the bench configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from golden.arith import OVERFLOW_MODES
from golden.integer import IntFormat, parse_int_format
from hw.mac import IntMAC, check_mac_params
from hw.rtl import RTL, from_component
from sim.vectors import Vectors, mac_vectors

__all__ = ["Param", "DesignSpec", "Design", "DESIGNS", "build", "parse_params"]


@dataclass(frozen=True)
class Param:
    name: str
    kind: str            # "format", "int" or "choice"
    default: object
    help: str
    choices: tuple = ()

    def parse(self, text: str):
        if self.kind == "format":
            return parse_int_format(text).name
        if self.kind == "int":
            try:
                return int(text, 0)
            except ValueError:
                raise ValueError(f"parameter {self.name} takes an integer, got {text!r}") \
                    from None
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
        return f"{self.name} " + " ".join(f"{k}={v}" for k, v in self.params.items())


@dataclass(frozen=True)
class DesignSpec:
    name: str
    summary: str
    params: tuple[Param, ...]
    make: Callable[[dict], tuple[RTL, Callable, bool]] = field(repr=False)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


def _mac_vectors(a: IntFormat, b: IntFormat, acc: int, overflow: str, latency: int):
    def vectors(mode: str, count: int, seed: int) -> Vectors:
        return mac_vectors(a, b, acc_width=acc, overflow=overflow, latency=latency, mode=mode,
                           count=count, seed=seed)
    return vectors


def _make_int_mac(p: dict):
    a, b = parse_int_format(p["a"]), parse_int_format(p["b"])
    unit = IntMAC(a_width=a.bits, a_signed=a.signed, b_width=b.bits, b_signed=b.signed,
                  acc_width=p["acc"], pipeline=p["pipeline"], overflow=p["overflow"])
    rtl = from_component(unit, "int_mac")
    return rtl, _mac_vectors(a, b, p["acc"], p["overflow"], unit.latency), a.bits + b.bits <= 10


def baseline_mac_verilog(a: IntFormat, b: IntFormat, acc: int) -> str:
    """A MAC as an engineer writes it by hand: ``acc <= acc + a * b`` in plain Verilog."""
    def operand(name, fmt):
        return f"$signed({name})" if fmt.signed else f"$signed({{1'b0, {name}}})"
    return f"""module baseline_mac (
  input wire clk,
  input wire rst,
  input wire [{a.bits - 1}:0] a,
  input wire [{b.bits - 1}:0] b,
  input wire valid,
  input wire clear,
  output reg [{acc - 1}:0] acc
);
  wire signed [{acc - 1}:0] prod = {operand('a', a)} * {operand('b', b)};
  always @(posedge clk)
    if (rst) acc <= 0;
    else if (valid) acc <= (clear ? {acc}'d0 : acc) + prod;
    else if (clear) acc <= 0;
endmodule
"""


def _make_baseline_mac(p: dict):
    a, b = parse_int_format(p["a"]), parse_int_format(p["b"])
    check_mac_params(a.bits, a.signed, b.bits, b.signed, p["acc"], 0, "wrap")
    rtl = RTL("baseline_mac", baseline_mac_verilog(a, b, p["acc"]))
    return rtl, _mac_vectors(a, b, p["acc"], "wrap", 1), a.bits + b.bits <= 10


_OPERANDS = (
    Param("a", "format", "int8", "operand A format: intN or uintN, N = 2..8"),
    Param("b", "format", "int8", "operand B format: intN or uintN, N = 2..8"),
    Param("acc", "int", 24, "accumulator width in bits (at least the product's width)"),
)

DESIGNS: dict[str, DesignSpec] = {d.name: d for d in [
    DesignSpec("int-mac", "integer MAC (hw.mac.IntMAC), latency pipeline+1", _OPERANDS + (
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
    ), _make_int_mac),
    DesignSpec("baseline-mac", "hand-written Verilog `acc <= acc + a*b` (QoR baseline), "
               "latency 1, wraps", _OPERANDS, _make_baseline_mac),
]}


def get_spec(name: str) -> DesignSpec:
    try:
        return DESIGNS[name]
    except KeyError:
        raise ValueError(f"unknown design {name!r} (choose from {', '.join(DESIGNS)})") \
            from None


def parse_params(spec: DesignSpec, items: list[str]) -> dict:
    """``["a=int4", "acc=16"]`` → the full parameter dict with defaults filled in."""
    known = {p.name: p for p in spec.params}
    params = spec.defaults()
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {item!r} is not of the form key=value")
        if key not in known:
            raise ValueError(f"design {spec.name} has no parameter {key!r} "
                             f"(it has: {', '.join(known)})")
        params[key] = known[key].parse(value)
    return params


def build(name: str, params: dict | list[str] | None = None) -> Design:
    spec = get_spec(name)
    if params is None or isinstance(params, list):
        params = parse_params(spec, params or [])
    else:
        params = {**spec.defaults(), **params}
        unknown = set(params) - {p.name for p in spec.params}
        if unknown:
            raise ValueError(f"design {name} has no parameter(s) {', '.join(sorted(unknown))}")
    rtl, vectors, exhaustive_ok = spec.make(params)
    return Design(name, params, rtl, vectors, exhaustive_ok)
