"""Compare what the hardware did with what the golden model says, and say where it differs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["check_trace"]


def check_trace(name: str, got: Sequence[int], expected: Sequence[int], *,
                inputs: Mapping[str, Sequence[int]], seed: int, log=None) -> int:
    """Assert ``got == expected`` element by element; return how many were checked.

    On a mismatch the message (also logged, prefixed ``MISMATCH``) names the first failing
    index, the inputs at that index, both values, how many differ, and the seed to rerun.
    """
    got, expected = [int(v) for v in got], [int(v) for v in expected]
    if len(got) != len(expected):
        raise AssertionError(f"{name}: {len(got)} samples, expected {len(expected)}")
    bad = [t for t, (g, e) in enumerate(zip(got, expected)) if g != e]
    if bad:
        t = bad[0]
        at = ", ".join(f"{k}={int(v[t])}" for k, v in inputs.items())
        message = (f"{name}[{t}]: got {got[t]}, expected {expected[t]} ({at}); "
                   f"{len(bad)} of {len(got)} differ; seed={seed}")
        if log is not None:
            log.error("MISMATCH %s", message)
        raise AssertionError(message)
    return len(got)
