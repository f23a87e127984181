"""Format descriptors: the one place a number format's name, parameters and widths live.

A descriptor parses a format's name (``int4``, ``uint3``, ``ovp4-flint``, ``ovp8-e3m4``,
``dint4-d0.25,0.5``, ``e4m3``, ``mxfp4``), validates its parameters with a clear
``ValueError`` and derives its code width and value range. It holds no value tables and
no arithmetic: ``golden/`` computes values from the parameters and ``hw/`` builds
circuits from them, each on its own, so a proof of one against the other compares two
independent computations.

This package is the bottom layer: it imports only the standard library, and both
``quantrtl.golden`` and ``quantrtl.hw`` build on it.
"""

from quantrtl.formats.dint import DIntSpec, parse_dint
from quantrtl.formats.integer import IntSpec, parse_int
from quantrtl.formats.minifloat import FloatSpec, MXSpec, parse_float, parse_mx
from quantrtl.formats.ovp import NIBBLE_ORDERS, OVP_NAMES, OVPSpec, ovp_name, parse_ovp

__all__ = ["IntSpec", "OVPSpec", "DIntSpec", "FloatSpec", "MXSpec", "parse_int", "parse_ovp",
           "parse_dint", "parse_float", "parse_mx", "parse_format", "ovp_name", "OVP_NAMES",
           "NIBBLE_ORDERS", "FAMILIES"]

# family prefix -> parser of a full format name
FAMILIES = {"int": parse_int, "uint": parse_int, "ovp": parse_ovp, "dint": parse_dint,
            "e": parse_float, "fp": parse_float, "mx": parse_mx}


def parse_format(name: str) -> IntSpec | OVPSpec | DIntSpec | FloatSpec | MXSpec:
    """The descriptor of any format name this package knows (``ValueError`` otherwise)."""
    text = str(name).strip().lower()
    for prefix in sorted(FAMILIES, key=len, reverse=True):
        if text.startswith(prefix):
            return FAMILIES[prefix](text)
    raise ValueError(f"unknown number format {name!r} (families: "
                     f"{', '.join(sorted(FAMILIES))})")
