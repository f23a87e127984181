"""Checks shared by the test modules (imported as ``checks``: pytest puts ``tests/`` on the
path)."""

from quantrtl.designs import build
from quantrtl.sim.harness import run_vectors


def verify_design(name: str, params, mode: str = "exhaustive", count: int = 0, seed: int = 1,
                  **run_kwargs):
    """Build design ``name`` with ``params`` (a list of ``k=v`` or one space-separated
    string), run its ``vectors(mode, count, seed)`` in the simulator (``run_kwargs`` go to
    ``run_vectors``, e.g. ``simulator=``) and assert that no cycle failed; the message names
    the design and the seed. Returns ``(design, vectors)``."""
    d = build(name, params.split() if isinstance(params, str) else list(params))
    vectors = d.vectors(mode, count, seed)
    result = run_vectors(d.rtl, vectors, **run_kwargs)
    assert result.failed == 0, f"{d.label}: seed {seed}"
    return d, vectors


def verify_array_gemm(pe: str, params: str, count: int = 600, seed: int = 5):
    """``systolic-array pe=<pe> <params>`` on random GEMM tiles (``verify_design``), and
    at least four results per row came out (the bench did not pass on an idle array)."""
    d, vectors = verify_design("systolic-array", f"pe={pe} {params}", "random", count, seed)
    out = "o__valid" if d.params["dataflow"] == "os" else "c__valid"
    assert sum(vectors.expected[out]) >= 4 * d.params["rows"]  # results really came out
    return d, vectors
