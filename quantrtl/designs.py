"""The designs quantrtl can generate, their parameters, and how each one is verified.

A design is named on the command line with ``key=value`` parameters, e.g.
``int-mac a=int4 b=int8 acc=20 pipeline=1``. ``build(name, params)`` validates everything
(raising ``ValueError`` before any RTL exists) and returns a ``Design``: its RTL and a
``vectors(mode, count, seed)`` function that asks ``golden/`` for per-cycle stimulus and
expected outputs (``sim.vectors.Vectors``), which ``sim.harness.run_vectors`` checks in a
simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from quantrtl.golden.arith import OVERFLOW_MODES, mac_trace
from quantrtl.golden.integer import IntFormat, parse_int_format
from quantrtl.hw.array import DATAFLOWS, OutputStationaryArray, WeightStationaryArray
from quantrtl.hw.dint import DIntMAC
from quantrtl.hw.mac import IntMAC, check_mac_params
from quantrtl.hw.pe import IntPE, PEStep
from quantrtl.hw.ovp import NIBBLE_ORDERS, OVPPE, OVPPairDecoder, OVPParams
from quantrtl.hw.rtl import RTL, from_component
from quantrtl.sim.gemm import IntOperands, os_stream_vectors, step_vectors, ws_stream_vectors
from quantrtl.sim.vectors import Vectors, mac_stream_vectors, mac_vectors

__all__ = ["Param", "DesignSpec", "Design", "DESIGNS", "build", "parse_params"]


@dataclass(frozen=True)
class Param:
    name: str
    kind: str            # "format", "int", "floats", "text" or "choice"
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
        if self.kind == "text":
            if not text or any(c.isspace() for c in text):
                raise ValueError(f"parameter {self.name} takes a non-empty word, got {text!r}")
            return text
        if self.kind == "floats":
            try:
                return ",".join(str(float(v)) for v in text.split(","))
            except ValueError:
                raise ValueError(f"parameter {self.name} takes comma-separated numbers, got "
                                 f"{text!r}") from None
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


def _make_dint_mac(p: dict):
    from quantrtl.golden.dint import DIntFormat
    from quantrtl.golden.dint import mac_trace as dint_trace
    x = parse_int_format(p["x"])
    if not x.signed:
        raise ValueError(f"dint-mac activations must be signed, got {x}")
    denormals = tuple(float(d) for d in p["denormals"].split(","))
    unit = DIntMAC(w_bits=p["w_bits"], denormals=denormals, x_width=x.bits, acc_width=p["acc"],
                   pipeline=p["pipeline"], overflow=p["overflow"])
    fmt = DIntFormat(p["w_bits"], denormals)
    half = 1 << (p["w_bits"] - 1)

    def trace(w, xs, valid, clear):
        return dint_trace(w, xs, valid, clear, fmt, acc_width=p["acc"], overflow=p["overflow"])

    def vectors(mode, count, seed):
        return mac_stream_vectors(torch.arange(2 * half), x.codes(), trace,
                                  a_extremes=torch.tensor([half - 1, 2 * half - 1]),
                                  b_extremes=torch.tensor([x.qmin, x.qmax]), names=("w", "x"),
                                  latency=unit.latency, mode=mode, count=count, seed=seed,
                                  acc_width=p["acc"])

    return from_component(unit, "dint_mac"), vectors, p["w_bits"] + x.bits <= 12


# OVP formats by name: (hardware parameters, golden format), 8-bit with E/M from params.
OVP_FORMATS = ("ovp4", "ovp4-flint", "ovp8")


def _ovp_format(name: str, e, m):
    from quantrtl.golden.ovp import OVPFormat
    if name not in OVP_FORMATS:
        raise ValueError(f"unknown OVP format {name!r} (choose from {', '.join(OVP_FORMATS)})")
    if name == "ovp8":
        e, m = (2, 5) if e is None and m is None else (e, m)
        if e is None or m is None:
            raise ValueError("ovp8 needs both e and m (E + M = 7), or neither for E2M5")
        return OVPParams.int8(e, m), OVPFormat.int8(exp_bits=e, man_bits=m)
    if e is not None or m is not None:
        raise ValueError(f"e and m apply to ovp8 only; {name} is E2M1")
    if name == "ovp4":
        return OVPParams.int4(), OVPFormat.int4()
    return OVPParams.flint4(), OVPFormat.flint4()


def _decode_pairs(golden_fmt, first: torch.Tensor, second: torch.Tensor):
    """Golden ``<exp, int>`` and values of the pairs ``(first, second)``: index ``[..., 0]``
    is element ``first`` (with neighbour ``second``), ``[..., 1]`` element ``second``."""
    from quantrtl.golden.ovp import decode, decode_exp_int
    pairs = torch.stack([first, second], dim=-1)
    exp, integer = decode_exp_int(pairs, golden_fmt)
    return exp, integer, decode(pairs, golden_fmt)


def _make_ovp_decoder(p: dict):
    hw_fmt, golden_fmt = _ovp_format(p["fmt"], p["e"], p["m"])
    unit = OVPPairDecoder(hw_fmt, p["order"])
    bits = hw_fmt.bits

    def vectors(mode, count, seed):
        if mode == "exhaustive":
            pair = torch.arange(1 << (2 * bits))
        elif mode == "random":
            if count < 1:
                raise ValueError(f"random vectors need a positive count, got {count!r}")
            gen = torch.Generator().manual_seed(seed)
            pair = torch.randint(1 << (2 * bits), (count,), generator=gen)
        else:
            raise ValueError(f"unknown vector mode {mode!r}")
        low, high = pair & ((1 << bits) - 1), pair >> bits
        first, second = (low, high) if p["order"] == "low-first" else (high, low)
        exp, integer, _ = _decode_pairs(golden_fmt, first, second)
        return Vectors({"pair": pair.tolist()},
                       {"exp0": exp[:, 0].tolist(), "int0": integer[:, 0].tolist(),
                        "exp1": exp[:, 1].tolist(), "int1": integer[:, 1].tolist()},
                       {"exp0": False, "int0": True, "exp1": False, "int1": True},
                       0, {"pair": 0}, seed, mode)

    return from_component(unit, "ovp_decoder"), vectors, bits == 4


def _make_ovp_encoder(p: dict):
    """``ovp-encoder``: two signed ``width``-bit fixed-point values (``frac`` fractional
    bits) in one port ``x`` (element 2k low) to one packed OVP pair, expected codes from
    ``golden.ovp.encode``. Exhaustive up to 16 input bits; random mode mixes in every grid
    point, tie and boundary value of the input range (``_encoder_extremes``)."""
    from quantrtl.golden.ovp import encode, pack_bytes
    from quantrtl.hw.ovp_encoder import OVPPairEncoder
    from quantrtl.sim.vectors import biased_choice
    hw_fmt, golden_fmt = _ovp_format(p["fmt"], p["e"], p["m"])
    w, f, order = p["width"], p["frac"], p["order"]
    unit = OVPPairEncoder(hw_fmt, w, f, order)
    bits, mask, lo, hi = hw_fmt.bits, (1 << w) - 1, -(1 << (w - 1)), (1 << (w - 1)) - 1

    def expected(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        codes = encode(torch.stack([x0, x1], -1).to(torch.float64) / (1 << f), golden_fmt)
        if bits == 4:
            return pack_bytes(codes, golden_fmt, order).to(torch.int64).reshape(-1)
        first, second = codes[:, 0], codes[:, 1]
        low, high = (first, second) if order == "low-first" else (second, first)
        return low | high << 8

    def extremes() -> torch.Tensor:
        """Input values (signed, in ``[lo, hi]``) at and around every grid value and every
        midpoint of the combined grid (exact ties where ``2^frac`` allows), the ends of the
        range and the saturation boundary."""
        grid = golden_fmt.grid().tolist()
        points = {lo, lo + 1, -1, 0, 1, hi - 1, hi}
        for g in grid:
            points |= {(g << f) - 1, g << f, (g << f) + 1}
        for a, b in zip(grid, grid[1:]):
            tie2 = (a + b) << f  # 2X at the exact midpoint
            points |= {tie2 // 2 - 1, tie2 // 2, tie2 // 2 + 1, tie2 // 2 + 2}
        return torch.tensor(sorted(v for v in points if lo <= v <= hi), dtype=torch.int64)

    def vectors(mode, count, seed):
        if mode == "exhaustive":
            if 2 * w > 16:
                raise ValueError(f"exhaustive vectors need 2 * width <= 16 input bits, got "
                                 f"{2 * w}")
            x = torch.arange(1 << (2 * w))
            x0, x1 = x & mask, x >> w
            x0, x1 = x0 - ((x0 >> (w - 1)) << w), x1 - ((x1 >> (w - 1)) << w)
        elif mode == "random":
            if count < 1:
                raise ValueError(f"random vectors need a positive count, got {count!r}")
            gen = torch.Generator().manual_seed(seed)
            ext, values = extremes(), torch.arange(lo, hi + 1)
            x0 = biased_choice(values, ext, count, gen)
            x1 = biased_choice(values, ext, count, gen)
            k = min(count, len(ext))  # every extreme once in each slot, paired with another
            x0[:k] = ext[:k]
            x1[:k] = ext[torch.randperm(len(ext), generator=gen)][:k]
            x = (x0 & mask) | (x1 & mask) << w
        else:
            raise ValueError(f"unknown vector mode {mode!r}")
        return Vectors({"x": x.tolist()}, {"pair": expected(x0, x1).tolist()},
                       {"pair": False}, 0, {"x": 0}, seed, mode)

    return from_component(unit, "ovp_encoder"), vectors, 2 * w <= 16


def _split_pair_ports(vectors: Vectors, packed: str, ports: tuple[str, str], bits: int):
    """Replace a packed stimulus ``code | neighbour << bits`` by two ports."""
    stim = dict(vectors.stimulus)
    codes = torch.tensor(stim.pop(packed))
    stim = {ports[0]: (codes & ((1 << bits) - 1)).tolist(), ports[1]: (codes >> bits).tolist(),
            **stim}
    idle = {k: v for k, v in vectors.idle.items() if k != packed} | {ports[0]: 0, ports[1]: 0}
    return replace(vectors, stimulus=stim, idle=idle)


def _largest_outliers(fmt: OVPParams) -> torch.Tensor:
    """Packed pairs ``code | identifier << bits`` holding the largest outliers, + and -."""
    ones = (1 << fmt.bits) - 1
    return torch.tensor([(fmt.identifier << fmt.bits) | ones >> 1,
                         (fmt.identifier << fmt.bits) | ones])


def _make_ovp_pe(p: dict):
    w_hw, w_golden = _ovp_format(p["w"], p["e"], p["m"])
    plain_act = p["act"] == "int8"
    if plain_act:
        a_hw = a_golden = None
    else:
        a_hw, a_golden = _ovp_format(p["act"], p["e"], p["m"])
    unit = OVPPE(w_hw, a_hw, acc_width=p["acc"], pipeline=p["pipeline"],
                 overflow=p["overflow"], split=p["split"] == "1")
    wb = w_hw.bits

    def values(golden_fmt, packed, bits):  # element = low half, its neighbour = high half
        low, high = packed & ((1 << bits) - 1), packed >> bits
        return _decode_pairs(golden_fmt, low, high)[2][..., 0]

    def trace(wp, ap, valid, clear):
        w = values(w_golden, wp, wb)
        a = ap if plain_act else values(a_golden, ap, a_hw.bits)
        return mac_trace(w, a, valid, clear, acc_width=p["acc"], overflow=p["overflow"])

    def vectors(mode, count, seed):
        w_codes = torch.arange(1 << (2 * wb))
        if plain_act:
            a_codes, a_ext = torch.arange(-128, 128), torch.tensor([-128, 127])
        else:
            a_codes, a_ext = torch.arange(1 << (2 * a_hw.bits)), _largest_outliers(a_hw)
        vec = mac_stream_vectors(w_codes, a_codes, trace, a_extremes=_largest_outliers(w_hw),
                                 b_extremes=a_ext,
                                 names=("wp", "x" if plain_act else "ap"),
                                 latency=unit.latency, mode=mode, count=count, seed=seed,
                                 acc_width=p["acc"])
        vec = _split_pair_ports(vec, "wp", ("w", "w_nb"), wb)
        if not plain_act:
            vec = _split_pair_ports(vec, "ap", ("a", "a_nb"), a_hw.bits)
        return vec

    return from_component(unit, "ovp_pe"), vectors, wb == 4 and (plain_act or a_hw.bits == 4)


def _int_pe(p: dict):
    a, b = parse_int_format(p["a"] or "int8"), parse_int_format(p["b"] or "int8")
    return (IntPE(a_width=a.bits, a_signed=a.signed, b_width=b.bits, b_signed=b.signed),
            IntOperands(a, b))


# PE type name -> params -> (hw.pe.PEType, golden-side operand kind of sim.gemm). Each
# factory reads the formats a= and b= (None: its defaults) and raises ValueError for
# formats it cannot take.
def _ovp_pe(p: dict):
    """``pe=ovp``: A (activations) ovp4 or int8 pairs, B (weights) ovp4, ovp4-flint or ovp8;
    decoders on the array's edges (``hw.pe_formats.OVPArrayPE``)."""
    from quantrtl.hw.pe_formats import OVPArrayPE
    from quantrtl.sim.gemm_formats import OVPOperands
    a, b = p["a"] or "ovp4", p["b"] or "ovp4"
    if a not in ("ovp4", "int8"):
        raise ValueError(f"PE type ovp takes activations a=ovp4 or a=int8, got a={a!r}")
    if b not in OVP_FORMATS:
        raise ValueError(f"PE type ovp takes weights b={' or b='.join(OVP_FORMATS)}, got "
                         f"b={b!r}")
    a_hw, a_golden = (None, None) if a == "int8" else _ovp_format(a, None, None)
    b_hw, b_golden = _ovp_format(b, None, None)
    return OVPArrayPE(a_hw, b_hw), OVPOperands(a_golden, b_golden)


def _dint_pe(p: dict):
    """``pe=dint``: B (weights) dintN, N = 3..8, denormal level 0.5, or with other levels
    ``dint4-d0.25-0.5`` (``golden.dint.DIntFormat.name``); A (activations) signed intN
    (default int8) (``hw.pe_formats.DIntArrayPE``)."""
    import re

    from quantrtl.golden.dint import DIntFormat
    from quantrtl.hw.pe_formats import DIntArrayPE
    from quantrtl.sim.gemm_formats import DIntOperands
    b = p["b"] or "dint4"
    match = re.fullmatch(r"dint(\d)(?:-d(.+))?", b)
    levels = re.findall(r"\d+\.?\d*(?:e-\d+)?", match.group(2)) \
        if match and match.group(2) else ["0.5"]
    if not match or (match.group(2) and "-".join(levels) != match.group(2)):
        raise ValueError(f"PE type dint takes weights b=dintN (N = 3..8, denormal 0.5) or "
                         f"b=dintN-d<levels> (e.g. dint4-d0.25-0.5), got b={b!r}")
    fw = DIntFormat(int(match.group(1)), tuple(float(d) for d in levels))
    fx = parse_int_format(p["a"] or "int8")
    if not fx.signed:
        raise ValueError(f"PE type dint takes signed activations a=intN, got a={fx.name}")
    return (DIntArrayPE(w_bits=fw.bits, denormals=fw.denormals, x_width=fx.bits),
            DIntOperands(fx, fw))


def _mixed_pe(p: dict):
    """``pe=mixed``: runtime mixed-precision lanes, 16 bits on both sides, modes 8x8, 4x8,
    4x4 (``hw.pe_mixed.MixedPE``, spec ``golden/mixed.py``); no a= or b=."""
    from quantrtl.hw.pe_mixed import MixedPE
    from quantrtl.sim.gemm_mixed import MixedOperands
    if p["a"] is not None or p["b"] is not None:
        raise ValueError("PE type mixed has fixed lane formats (16-bit lanes, modes 8x8, "
                         "4x8, 4x4 chosen per step with modes=); drop a= and b=")
    return MixedPE(), MixedOperands()


ARRAY_PES: dict[str, Callable[[dict], tuple]] = {
    "int": _int_pe,
    "mixed": _mixed_pe,
    "ovp": _ovp_pe,
    "dint": _dint_pe,
}


def _array_pe(p: dict):
    """``(hw.pe.PEType, operand kind)`` of ``pe=``, ``a=``, ``b=`` (ValueError if unknown)."""
    try:
        factory = ARRAY_PES[p["pe"]]
    except KeyError:
        raise ValueError(f"unknown PE type {p['pe']!r} (choose from "
                         f"{', '.join(ARRAY_PES)})") from None
    return factory(p)


def _make_array_pe(p: dict):
    pe, kind = _array_pe(p)
    unit = PEStep(pe)

    def vectors(mode, count, seed):
        return step_vectors(kind, step_width=unit.step_width, mode=mode, count=count,
                            seed=seed)

    inputs = pe.a_width + pe.b_width + pe.mode_width
    return from_component(unit, "array_pe"), vectors, inputs <= 16


def _make_systolic_array(p: dict):
    if p["dataflow"] not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got "
                         f"{p['dataflow']!r}")
    pe, kind = _array_pe(p)
    modes = tuple(p["modes"].split(",")) if p["modes"] else pe.modes
    for mode in modes:
        pe.mode_index(mode)  # ValueError if the PE type cannot run it
    rows, cols = p["rows"], p["cols"]
    if p["dataflow"] == "os":
        if p["bram"] == "1":
            raise ValueError("bram applies to dataflow=ws")
        if p["max_k"] is None:
            p["max_k"] = 64
        unit = OutputStationaryArray(rows=rows, cols=cols, pe=pe, max_k=p["max_k"],
                                     acc_width=p["acc"], pipeline=p["pipeline"])
    else:
        if p["max_k"] is not None:
            raise ValueError("max_k applies to dataflow=os; a weight-stationary pass "
                             "reduces over K = rows")
        unit = WeightStationaryArray(rows=rows, cols=cols, pe=pe, acc_width=p["acc"],
                                     pipeline=p["pipeline"],
                                     bram=p["bram"] == "1")

    def vectors(mode, count, seed):
        if mode != "random":
            raise ValueError("systolic-array vectors are random GEMM tiles (mode random)")
        if p["dataflow"] == "os":
            tiles = max(4, count // max(1, rows * cols * p["max_k"] // 2))
            return os_stream_vectors(rows, cols, kind, acc_width=unit.acc_width,
                                     max_k=p["max_k"], tiles=tiles, modes=modes,
                                     seed=seed, pipeline=p["pipeline"])[0]
        batches = max(4, count // max(1, rows * rows * cols))
        return ws_stream_vectors(rows, cols, kind, acc_width=unit.acc_width, batches=batches,
                                 modes=modes, seed=seed, pipeline=p["pipeline"])[0]

    return from_component(unit, "systolic_array"), vectors, False


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
    DesignSpec("dint-mac", "dINT weight x signed INT activation MAC (hw.dint.DIntMAC), "
               "fixed-point accumulator, latency pipeline+1", (
        Param("w_bits", "int", 4, "dINT weight width, 3..8"),
        Param("denormals", "floats", "0.5", "denormal levels, powers of two below 1"),
        Param("x", "format", "int8", "activation format: intN, N = 2..8"),
        Param("acc", "int", 24, "accumulator width in bits, fractional bits included"),
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
    ), _make_dint_mac),
    DesignSpec("ovp-decoder", "OliVe OVP pair decoder to <exp, int> lanes "
               "(hw.ovp.OVPPairDecoder), combinational", (
        Param("fmt", "choice", "ovp4", "OVP format", OVP_FORMATS),
        Param("e", "int", None, "ovp8 only: abfloat exponent bits (default 2)"),
        Param("m", "int", None, "ovp8 only: abfloat mantissa bits (default 5)"),
        Param("order", "choice", "low-first", "which half of the pair is element 2k",
              NIBBLE_ORDERS),
    ), _make_ovp_decoder),
    DesignSpec("ovp-encoder", "OliVe OVP pair encoder: two signed fixed-point values to one "
               "packed OVP pair (hw.ovp_encoder.OVPPairEncoder), combinational", (
        Param("fmt", "choice", "ovp4", "OVP format", OVP_FORMATS),
        Param("e", "int", None, "ovp8 only: abfloat exponent bits (default 2)"),
        Param("m", "int", None, "ovp8 only: abfloat mantissa bits (default 5)"),
        Param("width", "int", 6, "bits of each signed input value, 2..16 (input x: "
              "2 x width, element 2k low)"),
        Param("frac", "int", 1, "fractional bits of the input: value = x / 2^frac LSB, 0..4"),
        Param("order", "choice", "low-first", "which half of the output pair is element 2k",
              NIBBLE_ORDERS),
    ), _make_ovp_encoder),
    DesignSpec("ovp-pe", "OVP-coded weight x OVP or INT8 activation PE (hw.ovp.OVPPE), "
               "latency pipeline+1", (
        Param("w", "choice", "ovp4", "weight format", OVP_FORMATS),
        Param("act", "choice", "ovp4", "activation format", OVP_FORMATS + ("int8",)),
        Param("e", "int", None, "ovp8 only: abfloat exponent bits (default 2)"),
        Param("m", "int", None, "ovp8 only: abfloat mantissa bits (default 5)"),
        Param("acc", "int", 24, "accumulator width in bits"),
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
        Param("split", "choice", "0", "1: 8-bit integer multiply from four 4-bit ones",
              ("0", "1")),
    ), _make_ovp_pe),
    DesignSpec("array-pe", "one systolic-array cell's arithmetic (hw.pe.PEStep): the PE "
               "type's edge decoders and step value, combinational", (
        Param("pe", "text", "int", "PE type: " + ", ".join(ARRAY_PES)),
        Param("a", "text", None, "activation lane format, as systolic-array's a="),
        Param("b", "text", None, "weight lane format, as systolic-array's b="),
    ), _make_array_pe),
    DesignSpec("systolic-array", "systolic GEMM array (hw.array), output- or weight-"
               "stationary, pluggable PE types (hw.pe); random mode's count is MACs to "
               "verify", (
        Param("rows", "int", 4, "PE rows (os: tile M; ws: K per pass), 1..64"),
        Param("cols", "int", 4, "PE columns (tile N), 1..64"),
        Param("dataflow", "choice", "os", "os: output-stationary, ws: weight-stationary",
              DATAFLOWS),
        Param("pe", "text", "int", "PE type: " + ", ".join(ARRAY_PES)),
        Param("a", "text", None, "activation format (A, M x K): int PE intN/uintN "
              "(default int8), ovp ovp4|int8, dint intN (default int8), mixed none"),
        Param("b", "text", None, "weight format (B, K x N): int PE intN/uintN "
              "(default int8), ovp ovp4|ovp4-flint|ovp8, dint dintN[-d<levels>], "
              "mixed none"),
        Param("modes", "text", None, "runtime modes the bench exercises (default: all)"),
        Param("max_k", "int", None, "os: longest reduction a tile may have, in steps "
              "(default 64)"),
        Param("acc", "int", None, "accumulator bits (default: no overflow for the "
              "reduction length)"),
        Param("pipeline", "int", 0, "1: register each PE's step value (latency + 1)"),
        Param("bram", "choice", "0", "ws: 1 puts the shadow weights and the skew and "
              "de-skew lines of 3 or more stages in memories (block RAM), not flip-flops",
              ("0", "1")),
    ), _make_systolic_array),
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
