"""The verification record of a design: its golden-model bench run once per RTL, vectors and
simulator, then reused from the cache.

``verified_run(design, simulator)`` runs ``design``'s default bench (exhaustive when
``design.exhaustive_ok``, else ``VERIFY_COUNT`` random vectors of seed ``VERIFY_SEED``) or
returns the record of an earlier pass of the very same RTL, vectors and simulator, kept in
``<cache>/verified/<key>.json`` (``quantrtl report`` and ``quantrtl sweep`` share these
entries). The run holds the entry's lock (``quantrtl.base.cache.entry_lock``), so an identical
job in another process waits and reuses the verdict. A mismatch raises ``VerificationError``
and a tool failure ``ToolError``; a failure is never recorded.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from quantrtl.base.cache import cache_root, content_key, entry_lock, read_entry, write_entry

__all__ = ["VERIFY_COUNT", "VERIFY_SEED", "RECORD_FIELDS", "Verified", "verified_run"]

VERIFY_COUNT = 20000  # random vectors when the code space is too large for exhaustive
VERIFY_SEED = 1
RECORD_FIELDS = ("mode", "cycles", "simulator", "seconds", "passed")


class Verified(NamedTuple):
    """``record``: the cached fields (``RECORD_FIELDS``); ``cached``: True when reused;
    ``log``: the simulator log's path of a fresh run, None when cached."""
    record: dict
    cached: bool
    log: str | None


def verified_run(design, simulator: str | None) -> Verified:
    """Verify ``design`` (a built design: ``rtl``, ``label``, ``exhaustive_ok``, ``vectors``)
    on ``simulator`` (None: the default), or reuse the record of an earlier pass."""
    from quantrtl.sim.harness import check_simulator, default_simulator, run_vectors

    simulator = check_simulator(simulator) if simulator else default_simulator()
    mode = "exhaustive" if design.exhaustive_ok else "random"
    vectors = design.vectors(mode, VERIFY_COUNT, VERIFY_SEED)
    blob = json.dumps(vectors.to_config(), sort_keys=True)
    key = content_key(design.rtl.sha, blob, simulator, length=24)
    path = cache_root() / "verified" / f"{key}.json"
    record = read_entry(path, key, require=RECORD_FIELDS)
    if record is not None:
        return Verified(record, True, None)
    with entry_lock(path, f"verifying {design.label}"):  # the same run in another process
        record = read_entry(path, key, require=RECORD_FIELDS)
        if record is not None:
            return Verified(record, True, None)
        result = run_vectors(design.rtl, vectors, simulator=simulator, waves=False)
        record = {"mode": mode, "cycles": len(vectors), "simulator": result.simulator,
                  "seconds": round(result.seconds, 2), "passed": True}
        write_entry(path, key, record)
    return Verified(record, False, str(result.log))
