"""dINT formats (W4A8, Lee et al. 2023): ``dint<N>`` (denormal level 0.5) or
``dint<N>-d<levels>`` (e.g. ``dint4-d0.25,0.5``; ``-`` also separates levels).

Sign–magnitude codes ``s|m..m`` of ``N`` = 3..8 bits: magnitude code 0 is 0, then the
denormal levels ascending (distinct powers of two below 1), then the integers 1, 2, ...
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from quantrtl.formats.integer import is_int

__all__ = ["DIntSpec", "parse_dint", "MIN_BITS", "MAX_BITS", "FIXED_LIMIT"]

MIN_BITS, MAX_BITS = 3, 8
FIXED_LIMIT = 1 << 53  # fixed-point magnitudes stay exact in float64 as well as int64
_NAME = re.compile(r"^dint(\d)(?:-d(.+))?$")
_LEVEL = re.compile(r"\d+\.?\d*(?:e-\d+)?")


@dataclass(frozen=True)
class DIntSpec:
    """``dINT(bits, denormals)``: ``bits`` 3..8; ``denormals`` distinct powers of two below
    1 (stored sorted ascending), leaving at least one integer magnitude level."""

    bits: int = 4
    denormals: tuple[float, ...] = (0.5,)

    def __post_init__(self):
        if not is_int(self.bits) or not MIN_BITS <= self.bits <= MAX_BITS:
            raise ValueError(f"dINT width must be {MIN_BITS}..{MAX_BITS} bits, got "
                             f"{self.bits!r}")
        try:
            if isinstance(self.denormals, (str, bytes)) \
                    or any(isinstance(d, bool) for d in self.denormals):
                raise TypeError
            levels = tuple(sorted(float(d) for d in self.denormals))
        except (TypeError, ValueError):
            raise ValueError(f"denormals must be a tuple of numbers, got {self.denormals!r}") \
                from None
        if not levels:
            raise ValueError("dINT needs at least one denormal level (e.g. (0.5,))")
        for d in levels:
            if not 0 < d < 1 or math.frexp(d)[0] != 0.5:  # NaN fails 0 < d
                raise ValueError(f"denormal levels must be powers of two below 1 "
                                 f"(0.5, 0.25, ...), got {d!r}")
        if len(set(levels)) != len(levels):
            raise ValueError(f"denormal levels must be distinct, got {levels}")
        if self._integers(levels) < 1:
            raise ValueError(f"{len(levels)} denormal levels leave no integer level in "
                             f"{self.bits} bits (at most {(1 << (self.bits - 1)) - 2})")
        frac_bits = 1 - math.frexp(levels[0])[1]
        if self._integers(levels) << frac_bits >= FIXED_LIMIT:
            raise ValueError(f"smallest denormal {levels[0]!r} needs {frac_bits} fractional "
                             f"bits: fixed-point values would exceed 2^53")
        object.__setattr__(self, "denormals", levels)

    def _integers(self, levels) -> int:
        return (1 << (self.bits - 1)) - 1 - len(levels)

    @property
    def integers(self) -> int:
        """How many integer magnitude levels (1, 2, ...) the format has."""
        return self._integers(self.denormals)

    @property
    def name(self) -> str:
        """``"dint4"`` for the default level, else e.g. ``"dint4-d0.25-0.5"``."""
        if self.denormals == (0.5,):
            return f"dint{self.bits}"
        return f"dint{self.bits}-d" + "-".join(repr(d) for d in self.denormals)

    @property
    def frac_bits(self) -> int:
        """Fractional bits of the fixed-point representation: ``-log2(min(denormals))``."""
        return 1 - math.frexp(self.denormals[0])[1]

    def __str__(self):
        return self.name


def parse_dint(text) -> DIntSpec:
    """``"dint4"`` -> ``DIntSpec(4, (0.5,))``; ``"dint4-d0.25-0.5"`` or
    ``"dint4-d0.25,0.5"`` -> ``DIntSpec(4, (0.25, 0.5))``."""
    if isinstance(text, DIntSpec):
        return text
    name = str(text).strip().lower()
    match = _NAME.fullmatch(name)
    levels = _LEVEL.findall(match.group(2)) if match and match.group(2) else ["0.5"]
    if not match or (match.group(2) and match.group(2).replace(",", "-") != "-".join(levels)):
        raise ValueError(f"unknown dINT format {text!r} (expected dintN, N = {MIN_BITS}.."
                         f"{MAX_BITS}, denormal 0.5, or dintN-d<levels>, e.g. "
                         f"dint4-d0.25-0.5)")
    return DIntSpec(int(match.group(1)), tuple(float(d) for d in levels))
