"""OliVe outlier–victim pair (OVP) formats: ``ovp4``, ``ovp4-flint``, ``ovp8[-e<E>m<M>[b<B>]]``.

A code is ``bits`` wide (4 or 8). A normal is an ``int<bits>`` value or, for 4 bits, a
flint4 value (largest 16); an outlier is an abfloat ``s|E bits|M bits`` with exponent
``bias``, ``(2^M + m) << (e + bias)``; the victim code (identifier) is ``10..0``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quantrtl.formats.integer import is_int

__all__ = ["OVPSpec", "parse_ovp", "ovp_name", "OVP_NAMES", "NIBBLE_ORDERS", "MAX_MAGNITUDE"]

OVP_NAMES = ("ovp4", "ovp4-flint", "ovp8")   # the named formats; ovp8 takes E/M variants
NIBBLE_ORDERS = ("low-first", "high-first")  # which half of a packed pair is element 2k
MAX_MAGNITUDE = 1 << 31  # every value below this: a product of two fits a 62-bit integer
_NAME = re.compile(r"^ovp8-e(\d+)m(\d+)(?:b(\d+))?$")


@dataclass(frozen=True)
class OVPSpec:
    """An OVP format: ``bits`` per code (4 or 8), the normal type (``"int"``, or ``"flint"``
    for 4 bits), the abfloat outlier's ``exp_bits`` E, ``man_bits`` M (1 + E + M = bits)
    and ``bias``."""

    bits: int = 4
    normal: str = "int"
    exp_bits: int = 2
    man_bits: int = 1
    bias: int = 2

    def __post_init__(self):
        if not is_int(self.bits) or self.bits not in (4, 8):
            raise ValueError(f"OVP codes are 4 or 8 bits, got {self.bits!r}")
        if self.normal not in ("int", "flint"):
            raise ValueError(f"OVP normal type must be 'int' or 'flint', got {self.normal!r}")
        if self.normal == "flint" and self.bits != 4:
            raise ValueError("flint normals exist only for 4-bit OVP")
        for name in ("exp_bits", "man_bits", "bias"):
            value = getattr(self, name)
            if not is_int(value) or value < 0:
                raise ValueError(f"OVP {name} must be a non-negative int, got {value!r}")
        if self.exp_bits < 1 or 1 + self.exp_bits + self.man_bits != self.bits:
            raise ValueError(f"abfloat needs 1 + E + M = {self.bits} bits with E >= 1, got "
                             f"E={self.exp_bits}, M={self.man_bits}")
        if self.max_outlier >= MAX_MAGNITUDE:
            raise ValueError(f"largest outlier {self.max_outlier} must be below 2^31 "
                             f"(E={self.exp_bits}, M={self.man_bits}, bias={self.bias})")

    @classmethod
    def int4(cls, **kw):
        """int4 normals, E2M1 outliers with bias 2 (12 … 96)."""
        return cls(4, "int", 2, 1, 2, **kw)

    @classmethod
    def flint4(cls, **kw):
        """flint4 normals, E2M1 outliers with bias 3 (24 … 192)."""
        return cls(4, "flint", 2, 1, 3, **kw)

    @classmethod
    def int8(cls, exp_bits: int = 2, man_bits: int = 5, bias: int = 2, **kw):
        """int8 normals, abfloat E``exp_bits``M``man_bits`` outliers (E2M5 bias 2: 132 …
        2016)."""
        return cls(8, "int", exp_bits, man_bits, bias, **kw)

    @property
    def short_name(self) -> str:
        """``ovp4``, ``ovp4-flint``, ``ovp8`` (E2M5 bias 2), else ``ovp8-e3m4b2``."""
        return ovp_name(self)

    @property
    def identifier(self) -> int:
        """The victim code ``10..0``."""
        return 1 << (self.bits - 1)

    @property
    def max_normal(self) -> int:
        """Largest normal value: 7 (int4), 16 (flint4), 127 (int8)."""
        return 16 if self.normal == "flint" else (1 << (self.bits - 1)) - 1

    @property
    def max_outlier(self) -> int:
        """Largest outlier magnitude ``(2^(M+1) - 1) << (2^E - 1 + bias)``."""
        return ((1 << (self.man_bits + 1)) - 1) << ((1 << self.exp_bits) - 1 + self.bias)

    @property
    def max_magnitude(self) -> int:
        """Largest ``|value|`` of any code: the larger of ``max_normal`` and
        ``max_outlier``."""
        return max(self.max_normal, self.max_outlier)


def ovp_name(fmt: OVPSpec | None, x_bits: int = 8) -> str:
    """``ovp4``, ``ovp4-flint``, ``ovp8`` (E2M5 bias 2), ``ovp8-e3m4b2`` otherwise; ``int8``
    (``int<x_bits>``) for a plain integer pair (``None``)."""
    if fmt is None:
        return f"int{x_bits}"
    key = (fmt.bits, fmt.normal, fmt.exp_bits, fmt.man_bits, fmt.bias)
    named = {(4, "int", 2, 1, 2): "ovp4", (4, "flint", 2, 1, 3): "ovp4-flint",
             (8, "int", 2, 5, 2): "ovp8"}
    if key in named:
        return named[key]
    flint = "-flint" if fmt.normal == "flint" else ""
    return f"ovp{fmt.bits}{flint}-e{fmt.exp_bits}m{fmt.man_bits}b{fmt.bias}"


def parse_ovp(name, e: int | None = None, m: int | None = None) -> OVPSpec:
    """The descriptor of ``ovp4``, ``ovp4-flint`` or ``ovp8`` (abfloat ``e``/``m`` given
    apart, default E2M5), or of a full name ``ovp8-e3m4`` / ``ovp8-e3m4b2``."""
    if isinstance(name, OVPSpec):
        return name
    text = str(name).strip().lower()
    full = _NAME.match(text)
    if full:
        if e is not None or m is not None:
            raise ValueError(f"{text} names its E and M already; drop e= and m=")
        bias = 2 if full.group(3) is None else int(full.group(3))
        return OVPSpec.int8(int(full.group(1)), int(full.group(2)), bias)
    if text not in OVP_NAMES:
        raise ValueError(f"unknown OVP format {name!r} (choose from {', '.join(OVP_NAMES)}, "
                         f"or ovp8-e<E>m<M>)")
    if text == "ovp8":
        e, m = (2, 5) if e is None and m is None else (e, m)
        if e is None or m is None:
            raise ValueError("ovp8 needs both e and m (E + M = 7), or neither for E2M5")
        return OVPSpec.int8(e, m)
    if e is not None or m is not None:
        raise ValueError(f"e and m apply to ovp8 only; {text} is E2M1")
    return OVPSpec.int4() if text == "ovp4" else OVPSpec.flint4()
