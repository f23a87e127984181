"""Integer formats: ``int<N>`` (two's complement) and ``uint<N>``, N = 2..8."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["IntSpec", "parse_int", "MIN_BITS", "MAX_BITS"]

MIN_BITS, MAX_BITS = 2, 8
_NAME = re.compile(r"^(u?)int(\d+)$")


def is_int(value) -> bool:
    """``value`` is an ``int`` and not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class IntSpec:
    """``INT<bits>`` (signed, two's complement) or ``UINT<bits>``, 2 <= bits <= 8."""

    bits: int
    signed: bool = True

    def __post_init__(self):
        if not is_int(self.bits):
            raise ValueError(f"integer format width must be an int, got {self.bits!r}")
        if not MIN_BITS <= self.bits <= MAX_BITS:
            raise ValueError(f"integer format width must be {MIN_BITS}..{MAX_BITS} bits, "
                             f"got {self.bits}")

    @property
    def name(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"

    @property
    def qmin(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def __str__(self):
        return self.name


def parse_int(text) -> IntSpec:
    """``"int8"`` -> ``IntSpec(8, True)``, ``"uint4"`` -> ``IntSpec(4, False)``."""
    if isinstance(text, IntSpec):
        return text
    match = _NAME.match(str(text).strip().lower())
    if not match:
        raise ValueError(f"unknown integer format {text!r} (expected intN or uintN, "
                         f"N = {MIN_BITS}..{MAX_BITS})")
    return IntSpec(int(match.group(2)), signed=not match.group(1))
