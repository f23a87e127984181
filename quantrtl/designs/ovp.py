"""OliVe outlier–victim pairs: ``ovp-decoder``, ``ovp-encoder``, ``ovp-pe`` and the ``ovp``
array PE type."""

from __future__ import annotations

from dataclasses import replace

import torch

from quantrtl.designs.mac import int_acts
from quantrtl.designs.registry import (
    PETypeSpec,
    register,
    register_pair,
    register_pe,
    register_report,
)
from quantrtl.designs.spec import DesignSpec, FormatPair, Param, ReportRow
from quantrtl.formal.combinational import combinational_reference
from quantrtl.formal.mac import mac_reference, ovp_operands
from quantrtl.formal.ovp_cell import ovp_step_reference
from quantrtl.formal.reference import signed_value
from quantrtl.formats.ovp import NIBBLE_ORDERS, OVP_NAMES, parse_ovp
from quantrtl.golden.arith import OVERFLOW_MODES, mac_trace
from quantrtl.golden.ovp import (
    OVPFormat,
    decode,
    decode_exp_int,
    encode,
    pack_bytes,
    quantize as ovp_quantize,
)
from quantrtl.hw.ovp import OVPPE, OVPPairDecoder, OVPParams
from quantrtl.hw.ovp_encoder import OVPPairEncoder
from quantrtl.hw.pe_formats import OVPArrayPE
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm_formats import OVPOperands
from quantrtl.sim.vectors import Vectors, biased_choice, mac_stream_vectors

__all__ = ["ovp_formats"]


def ovp_formats(name: str, e: int | None = None,
                m: int | None = None) -> tuple[OVPParams, OVPFormat]:
    """The hardware parameters and the golden format of ``ovp4``, ``ovp4-flint`` or
    ``ovp8`` (abfloat ``e``/``m``, default E2M5), from one descriptor."""
    spec = parse_ovp(name, e, m)
    fields = (spec.bits, spec.normal, spec.exp_bits, spec.man_bits, spec.bias)
    return OVPParams(*fields), OVPFormat(*fields)


def _decode_pairs(golden_fmt, first: torch.Tensor, second: torch.Tensor):
    """Golden ``<exp, int>`` and values of the pairs ``(first, second)``: index ``[..., 0]``
    is element ``first`` (with neighbour ``second``), ``[..., 1]`` element ``second``."""
    pairs = torch.stack([first, second], dim=-1)
    exp, integer = decode_exp_int(pairs, golden_fmt)
    return exp, integer, decode(pairs, golden_fmt)


def _make_ovp_decoder(p: dict):
    hw_fmt, golden_fmt = ovp_formats(p["fmt"], p["e"], p["m"])
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
    hw_fmt, golden_fmt = ovp_formats(p["fmt"], p["e"], p["m"])
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
    w_hw, w_golden = ovp_formats(p["w"], p["e"], p["m"])
    plain_act = p["act"] == "int8"
    if plain_act:
        a_hw = a_golden = None
    else:
        a_hw, a_golden = ovp_formats(p["act"], p["e"], p["m"])
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


def _ovp_pe(p: dict):
    """``pe=ovp``: A (activations) ovp4 or int8 pairs, B (weights) ovp4, ovp4-flint or ovp8;
    decoders on the array's edges (``hw.pe_formats.OVPArrayPE``)."""
    a, b = p["a"] or "ovp4", p["b"] or "ovp4"
    if a not in ("ovp4", "int8"):
        raise ValueError(f"PE type ovp takes activations a=ovp4 or a=int8, got a={a!r}")
    if b not in OVP_NAMES:
        raise ValueError(f"PE type ovp takes weights b={' or b='.join(OVP_NAMES)}, got "
                         f"b={b!r}")
    a_hw, a_golden = (None, None) if a == "int8" else ovp_formats(a, None, None)
    b_hw, b_golden = ovp_formats(b, None, None)
    return OVPArrayPE(a_hw, b_hw), OVPOperands(a_golden, b_golden)


def _decoder_reference(design):
    order = design.params["order"]

    def describe(code: int) -> str:
        half = max(q.width for q in design.rtl.ports if q.direction == "input") // 2
        low, high = code & ((1 << half) - 1), code >> half
        first, second = (low, high) if order == "low-first" else (high, low)
        digits = (half + 3) // 4
        return f"element 2k=0x{first:0{digits}x}, element 2k+1=0x{second:0{digits}x}"

    return combinational_reference(design, describe)


def _encoder_reference(design):
    half = design.params["width"]

    def describe(code: int) -> str:  # two signed inputs, element 2k low, any order
        low, high = code & ((1 << half) - 1), code >> half
        return (f"element 2k={signed_value(low, half)}, element 2k+1="
                f"{signed_value(high, half)}, in units of 2^-{design.params['frac']}")

    return combinational_reference(design, describe)


def _pe_reference(design):
    p = design.params
    w_golden = ovp_formats(p["w"], p["e"], p["m"])[1]
    a_golden = None if p["act"] == "int8" else ovp_formats(p["act"], p["e"], p["m"])[1]
    return mac_reference(design, lambda widths: ovp_operands(w_golden, a_golden, widths))


_E = Param("e", "int", None, "ovp8 only: abfloat exponent bits (default 2)")
_M = Param("m", "int", None, "ovp8 only: abfloat mantissa bits (default 5)")

register(DesignSpec(
    "ovp-decoder", "OliVe OVP pair decoder to <exp, int> lanes (hw.ovp.OVPPairDecoder), "
    "combinational", (
        Param("fmt", "choice", "ovp4", "OVP format", OVP_NAMES), _E, _M,
        Param("order", "choice", "low-first", "which half of the pair is element 2k",
              NIBBLE_ORDERS),
    ), _make_ovp_decoder, reference=_decoder_reference,
    lint=(("fmt=ovp4",), ("fmt=ovp4-flint",), ("fmt=ovp8",)),
    prove=(("fmt=ovp4",), ("fmt=ovp4-flint",), ("fmt=ovp4", "order=high-first"),
           ("fmt=ovp8",)),
    rigor=(("fmt=ovp4",), ("fmt=ovp8",))))

register(DesignSpec(
    "ovp-encoder", "OliVe OVP pair encoder: two signed fixed-point values to one packed OVP "
    "pair (hw.ovp_encoder.OVPPairEncoder), combinational", (
        Param("fmt", "choice", "ovp4", "OVP format", OVP_NAMES), _E, _M,
        Param("width", "int", 6, "bits of each signed input value, 2..16 (input x: "
              "2 x width, element 2k low)"),
        Param("frac", "int", 1, "fractional bits of the input: value = x / 2^frac LSB, 0..4"),
        Param("order", "choice", "low-first", "which half of the output pair is element 2k",
              NIBBLE_ORDERS),
    ), _make_ovp_encoder, reference=_encoder_reference,
    lint=((), ("fmt=ovp8", "width=16", "frac=2")),
    prove=((),)))

register(DesignSpec(
    "ovp-pe", "OVP-coded weight x OVP or INT8 activation PE (hw.ovp.OVPPE), latency "
    "pipeline+1", (
        Param("w", "choice", "ovp4", "weight format", OVP_NAMES),
        Param("act", "choice", "ovp4", "activation format", OVP_NAMES + ("int8",)), _E, _M,
        Param("acc", "int", 24, "accumulator width in bits"),
        Param("pipeline", "int", 0, "register stages before the accumulator, 0..4"),
        Param("overflow", "choice", "wrap", "accumulator overflow", OVERFLOW_MODES),
        Param("split", "choice", "0", "1: 8-bit integer multiply from four 4-bit ones",
              ("0", "1")),
    ), _make_ovp_pe, reference=_pe_reference,
    # OVP8 PEs prove too but take minutes (two differently built 8-bit decoders feeding an
    # 8x8 multiplier): linted here, not in the quick proof set.
    lint=(("w=ovp4", "act=ovp4"), ("w=ovp4", "act=int8"), ("w=ovp8", "act=ovp8"),
          ("w=ovp8", "act=ovp8", "split=1", "pipeline=2")),
    prove=(("w=ovp4", "act=ovp4"), ("w=ovp4-flint", "act=ovp4-flint", "pipeline=1"),
           ("w=ovp4", "act=int8")),
    rigor=(("w=ovp4", "act=ovp4"), ("w=ovp4", "act=int8"))))

register_pe(PETypeSpec("ovp", _ovp_pe, ovp_step_reference))

# OliVe OVP: decoder and PEs against the INT MACs of the same operand widths
register_report(
    ReportRow("OVP4 decoder", "ovp-decoder", {"fmt": "ovp4"}, "INT4 MAC"),
    ReportRow("OVP4 PE", "ovp-pe", {"w": "ovp4", "act": "ovp4", "acc": 16}, "INT4 MAC"),
    ReportRow("OVP4xINT8 PE", "ovp-pe", {"w": "ovp4", "act": "int8", "acc": 24},
              "INT4xINT8 MAC"),
    ReportRow("OVP8 PE (acc 32)", "ovp-pe", {"w": "ovp8", "act": "ovp8", "acc": 32},
              "INT8 MAC"),
    ReportRow("OVP8 PE (acc 32, 4-bit split)", "ovp-pe",
              {"w": "ovp8", "act": "ovp8", "acc": 32, "split": "1"}, "OVP8 PE (acc 32)"))


# -- format pairs for ``quantrtl explore``: OVP4 weights x OVP4 or INT8 activations ----------
# Lanes as pe=ovp reads them: one pair per lane, element 2k in the low half (low-first).

def _pair_lanes(codes, bits: int):
    """``[..., K]`` element codes -> ``[..., K / 2]`` packed pair lanes."""
    mask = (1 << bits) - 1
    return (codes[..., 0::2] & mask) | ((codes[..., 1::2] & mask) << bits)


def _ovp_pair(acts: str) -> FormatPair:
    _, fmt = ovp_formats("ovp4")

    def weights(w):  # per output channel, pairs along K, golden.ovp's clip search
        codes, scale = ovp_quantize(w, fmt, axis=0)
        return decode(codes, fmt).to(torch.float64), scale, codes

    if acts == "int8":
        calibrate, quantize = int_acts(8)
        a_bits = 8
    else:
        a_bits = 4

        def calibrate(x):  # one scale per tensor, golden.ovp's clip search
            return ovp_quantize(x, fmt, axis=None)[1].reshape(())

        def quantize(x, scale):
            codes = encode(x / scale, fmt)
            return decode(codes, fmt).to(torch.float64), codes

    def lanes(x_codes, w_codes):
        return _pair_lanes(x_codes, a_bits), _pair_lanes(w_codes, 4).T

    return FormatPair(f"ovp4x{acts}", "ovp4", acts, 4,
                      (("pe", "ovp"), ("a", acts), ("b", "ovp4")), weights, calibrate,
                      quantize, lanes)


register_pair(_ovp_pair("ovp4"))
register_pair(_ovp_pair("int8"))
