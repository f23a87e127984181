"""The registry: every design, every array PE type and every report row, as the design
family modules of this package register them; ``build`` and the parameter sets the tools
derive from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from quantrtl.designs.spec import Design, DesignSpec, FormatPair, ReportRow, parse_params

__all__ = ["DESIGNS", "ARRAY_PES", "REPORT_ROWS", "PETypeSpec", "register", "register_pe",
           "register_report", "get_spec", "array_pe", "build", "lint_set", "prove_set",
           "rigor_set", "report_rows", "provable", "PAIRS", "register_pair", "pairs",
           "get_pair"]

DESIGNS: dict[str, DesignSpec] = {}
REPORT_ROWS: list[ReportRow] = []


@dataclass(frozen=True)
class PETypeSpec:
    """An array PE type (``pe=<name>`` of ``systolic-array`` and ``array-pe``).

    ``make(params) -> (hw.pe.PEType, golden operand kind of sim.gemm)`` reads the formats
    ``a=`` and ``b=`` (``None``: its defaults) and raises ``ValueError`` for formats it
    cannot take; ``reference(design, kind)`` is the golden reference of its cell's step
    (``quantrtl.formal``). Optional: ``ws_array(params, pe, kind) -> (component,
    vectors(mode, count, seed))`` builds ``systolic-array dataflow=ws`` in place of the
    plain ``hw.array.WeightStationaryArray`` (a wrapper, e.g. ``pe=mx``'s block scales on
    the bottom edge); ``os_error``: why ``dataflow=os`` is not built (None: it is)."""

    name: str
    make: Callable[[dict], tuple] = field(repr=False)
    reference: Callable = field(repr=False)
    ws_array: Callable | None = field(default=None, repr=False)
    os_error: str | None = None


ARRAY_PES: dict[str, PETypeSpec] = {}


def register(spec: DesignSpec) -> DesignSpec:
    if spec.name in DESIGNS:
        raise ValueError(f"design {spec.name} is registered twice")
    DESIGNS[spec.name] = spec
    return spec


def register_pe(spec: PETypeSpec) -> PETypeSpec:
    if spec.name in ARRAY_PES:
        raise ValueError(f"PE type {spec.name} is registered twice")
    ARRAY_PES[spec.name] = spec
    return spec


PAIRS: dict[str, FormatPair] = {}


def register_pair(pair: FormatPair) -> FormatPair:
    """Make a weights x activations pair available to ``quantrtl explore``."""
    if pair.name in PAIRS:
        raise ValueError(f"format pair {pair.name} is registered twice")
    PAIRS[pair.name] = pair
    return pair


def pairs() -> tuple[FormatPair, ...]:
    """Every registered format pair, in registration order."""
    return tuple(PAIRS.values())


def get_pair(name: str) -> FormatPair:
    try:
        return PAIRS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown format pair {name!r} (choose from {', '.join(PAIRS)})") \
            from None


def register_report(*rows: ReportRow):
    REPORT_ROWS.extend(rows)


def get_spec(name: str) -> DesignSpec:
    try:
        return DESIGNS[name]
    except KeyError:
        raise ValueError(f"unknown design {name!r} (choose from {', '.join(DESIGNS)})") \
            from None


def array_pe(p: dict) -> tuple:
    """``(hw.pe.PEType, operand kind)`` of ``pe=``, ``a=``, ``b=`` (ValueError if
    unknown)."""
    try:
        pe = ARRAY_PES[p["pe"]]
    except KeyError:
        raise ValueError(f"unknown PE type {p['pe']!r} (choose from "
                         f"{', '.join(ARRAY_PES)})") from None
    return pe.make(p)


def build(name: str, params: dict | list[str] | None = None) -> Design:
    """Validate ``params`` (``key=value`` words, or a dict) for design ``name`` and build
    its RTL and golden vectors; ``ValueError`` before any RTL exists if anything is off."""
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


def _sets(attr: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((name, tuple(params)) for name, spec in DESIGNS.items()
                 for params in getattr(spec, attr))


def lint_set() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(design, params)`` that lint must pass: every design's ``lint`` sets."""
    return _sets("lint")


def prove_set() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(design, params)`` that prove in seconds: every design's ``prove`` sets."""
    return _sets("prove")


def rigor_set() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(design, params)`` of the rigor table: every design's ``rigor`` sets."""
    return _sets("rigor")


def report_rows() -> tuple[ReportRow, ...]:
    """The rows of ``quantrtl report``'s default set, in registration order."""
    return tuple(REPORT_ROWS)


def provable() -> tuple[str, ...]:
    """The designs ``quantrtl prove`` has a golden reference for."""
    return tuple(name for name, spec in DESIGNS.items() if spec.reference is not None)
