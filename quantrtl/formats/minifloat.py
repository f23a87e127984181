"""Minifloat element formats (OCP 8-bit floats and the OCP Microscaling elements) and the
MX block formats built on them.

Elements: ``e5m2`` (IEEE-like: infinities and NaNs), ``e4m3`` (OCP "fn": no infinities,
NaN only at ``S.1111.111``, largest 448), ``e3m2``, ``e2m3``, ``e2m1`` (no infinities and
no NaN). A code is ``1 + exp_bits + man_bits`` bits ``s|e..e|m..m``; with ``e = 0`` it is
subnormal, ``(-1)^s * m * 2^(1 - bias - man_bits)``, else ``(-1)^s * (2^M + m) * 2^(e -
bias - man_bits)``.

MX blocks (OCP MX v1.0): ``k`` elements share one E8M0 scale (``2^(s - 127)``): ``mxfp4``
(E2M1), ``mxfp6-e2m3``, ``mxfp6-e3m2``, ``mxfp8-e4m3``, ``mxfp8-e5m2``, ``mxint8``; ``k``
is 32 unless the name ends in ``-k<k>`` (``mxfp4-k16``: not OCP).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quantrtl.formats.integer import IntSpec, is_int

__all__ = ["FloatSpec", "MXSpec", "parse_float", "parse_mx", "FLOAT_NAMES", "MX_NAMES",
           "SPECIALS"]

SPECIALS = ("ieee", "fn", "none")  # inf + NaN at the top exponent; NaN at all-ones only; none
FLOAT_NAMES = {"e5m2": (5, 2, 15, "ieee"), "e4m3": (4, 3, 7, "fn"), "e3m2": (3, 2, 3, "none"),
               "e2m3": (2, 3, 1, "none"), "e2m1": (2, 1, 1, "none")}
MX_NAMES = {"mxfp4": "e2m1", "mxfp6-e2m3": "e2m3", "mxfp6-e3m2": "e3m2",
            "mxfp8-e4m3": "e4m3", "mxfp8-e5m2": "e5m2", "mxint8": "int8"}
_FLOAT = re.compile(r"^(?:fp\d-)?(e\dm\d)$")
_MX = re.compile(r"^(mx[a-z0-9-]+?)(?:-k(\d+))?$")


@dataclass(frozen=True)
class FloatSpec:
    """A sign–exponent–mantissa minifloat: ``exp_bits`` E >= 1, ``man_bits`` M >= 1,
    ``bias`` and which codes are special (``SPECIALS``)."""

    exp_bits: int
    man_bits: int
    bias: int
    special: str = "none"

    def __post_init__(self):
        for name in ("exp_bits", "man_bits", "bias"):
            value = getattr(self, name)
            if not is_int(value) or value < (1 if name != "bias" else 0):
                raise ValueError(f"minifloat {name} must be an int >= "
                                 f"{1 if name != 'bias' else 0}, got {value!r}")
        if not 3 <= self.bits <= 8:
            raise ValueError(f"minifloat codes are 3..8 bits, got 1 + {self.exp_bits} + "
                             f"{self.man_bits} = {self.bits}")
        if self.special not in SPECIALS:
            raise ValueError(f"special must be one of {SPECIALS}, got {self.special!r}")

    @property
    def bits(self) -> int:
        return 1 + self.exp_bits + self.man_bits

    @property
    def name(self) -> str:
        return f"e{self.exp_bits}m{self.man_bits}"

    @property
    def max_exp_field(self) -> int:
        """The largest exponent field of a finite value."""
        top = (1 << self.exp_bits) - 1
        return top - 1 if self.special == "ieee" else top

    @property
    def emax(self) -> int:
        """Unbiased exponent of the largest normal (OCP MX's ``emax_elem``)."""
        return self.max_exp_field - self.bias

    @property
    def max_mantissa(self) -> int:
        """Mantissa field of the largest finite value (E4M3 fn: ``110``, its ``111`` is
        NaN)."""
        full = (1 << self.man_bits) - 1
        return full - 1 if self.special == "fn" else full

    @property
    def max_normal(self) -> float:
        """Largest finite magnitude: 57344 (E5M2), 448 (E4M3), 28 (E3M2), 7.5 (E2M3),
        6 (E2M1)."""
        return ((1 << self.man_bits) + self.max_mantissa) * 2.0 ** (self.emax - self.man_bits)

    @property
    def min_subnormal(self) -> float:
        return 2.0 ** (1 - self.bias - self.man_bits)

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class MXSpec:
    """An MX block format: ``element`` (a ``FloatSpec``, or ``IntSpec(8)`` for MXINT8),
    ``block`` elements per shared E8M0 scale (32 in OCP MX v1.0)."""

    element: FloatSpec | IntSpec
    block: int = 32

    def __post_init__(self):
        if not is_int(self.block) or not 1 <= self.block <= 1024:
            raise ValueError(f"MX block size must be 1..1024 elements, got {self.block!r}")
        if isinstance(self.element, IntSpec) and self.element != IntSpec(8):
            raise ValueError(f"MX integer elements are int8, got {self.element.name}")
        if not isinstance(self.element, (FloatSpec, IntSpec)):
            raise ValueError(f"MX elements are minifloats or int8, got {self.element!r}")
        if isinstance(self.element, FloatSpec) and \
                self.element != FloatSpec(*FLOAT_NAMES.get(self.element.name, (1, 1, 0))):
            raise ValueError(f"MX elements are {', '.join(FLOAT_NAMES)} or int8, got "
                             f"{self.element!r}")

    @property
    def ocp(self) -> bool:
        """Whether this is an OCP MX v1.0 format (block size 32)."""
        return self.block == 32

    @property
    def emax(self) -> int:
        """The element's ``emax`` the shared scale is chosen against (0 for MXINT8, whose
        elements are fixed point ``s1.6``)."""
        return 0 if isinstance(self.element, IntSpec) else self.element.emax

    @property
    def name(self) -> str:
        base = next(n for n, e in MX_NAMES.items() if e == self.element.name)
        return base if self.ocp else f"{base}-k{self.block}"

    def __str__(self):
        return self.name


def parse_float(text) -> FloatSpec:
    """``e4m3`` / ``fp8-e4m3``, ``e5m2``, ``e3m2``, ``e2m3``, ``e2m1`` / ``fp4-e2m1``."""
    if isinstance(text, FloatSpec):
        return text
    match = _FLOAT.match(str(text).strip().lower())
    if not match or match.group(1) not in FLOAT_NAMES:
        raise ValueError(f"unknown minifloat {text!r} (choose from "
                         f"{', '.join(FLOAT_NAMES)})")
    return FloatSpec(*FLOAT_NAMES[match.group(1)])


def parse_mx(text) -> MXSpec:
    """``mxfp4``, ``mxfp6-e2m3``, ``mxfp6-e3m2``, ``mxfp8-e4m3``, ``mxfp8-e5m2``,
    ``mxint8``, each with an optional ``-k<block>`` (e.g. ``mxfp4-k16``)."""
    if isinstance(text, MXSpec):
        return text
    match = _MX.match(str(text).strip().lower())
    if not match or match.group(1) not in MX_NAMES:
        raise ValueError(f"unknown MX format {text!r} (choose from {', '.join(MX_NAMES)}, "
                         f"optionally with -k<block size>)")
    element = MX_NAMES[match.group(1)]
    spec = IntSpec(8) if element == "int8" else parse_float(element)
    return MXSpec(spec, int(match.group(2)) if match.group(2) else 32)
