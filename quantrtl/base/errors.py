"""The two errors every layer raises."""

from __future__ import annotations

__all__ = ["ToolError", "ToolTimeout", "VerificationError"]


class ToolError(RuntimeError):
    """An external tool is missing or failed; the message names the tool, the design and
    the path of the log (``"<tool>: ... <design> ...; log: <path>"``)."""


class ToolTimeout(ToolError):
    """An external tool ran longer than its timeout (a ``ToolError`` for callers that do not
    tell the two apart)."""


class VerificationError(AssertionError):
    """The simulated hardware disagreed with the golden model."""
