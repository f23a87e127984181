"""Compare what the hardware did with what the golden model says, and say where it differs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["check_trace"]


def check_trace(name: str, got: Sequence[int], expected: Sequence[int], *,
                inputs: Mapping[str, Sequence[int]], seed: int, log=None) -> int:
    """Assert ``got == expected`` element by element (``None`` expected: don't care; ``None``
    got: the output held X/Z bits, which never matches); return how many were compared.

    On a mismatch the message (also logged, prefixed ``MISMATCH``) names the first failing
    index, the inputs at that index, both values, how many differ, and the seed to rerun.
    """
    if len(got) != len(expected):
        raise AssertionError(f"{name}: {len(got)} samples, expected {len(expected)}")
    bad = [t for t, (g, e) in enumerate(zip(got, expected)) if e is not None and g != e]
    if bad:
        t = bad[0]
        at = ", ".join(f"{k}={int(v[t])}" for k, v in inputs.items())
        shown = "X" if got[t] is None else got[t]
        message = (f"{name}[{t}]: got {shown}, expected {expected[t]} ({at}); "
                   f"{len(bad)} of {len(got)} differ; seed={seed}")
        if log is not None:
            log.error("MISMATCH %s", message)
        raise AssertionError(message)
    return sum(e is not None for e in expected)
