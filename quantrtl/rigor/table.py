"""``quantrtl rigor``: one table of how far each unit is checked beyond its simulation.

For every unit of ``DEFAULT_UNITS`` (every registered design; the systolic arrays small,
their cells as ``array-pe``) the table holds:

* proved: ``quantrtl.rigor.prove`` against the golden reference (yes/no, seconds; "n/a"
  for a unit without one: the arrays, whose cells' arithmetic is proved as ``array-pe``,
  ``amx-dot``, ``mx-dot accumulate=1``);
* lint: ``quantrtl.rigor.lint``'s unwaived warnings (must be 0) and waived ones;
* mutation: ``quantrtl.rigor.mutation.mutation_test`` with ``count`` Yosys ``mutate`` mutants
  (seed ``seed``): created / killed / equivalent / survived and the score killed /
  (created - equivalent), which must be at least ``SCORE_TARGET``; survivors are listed
  under the table. Which bench runs on the mutants (``quantrtl.rigor.mutation.bench_vectors``:
  the verification's vectors, or random ones where those exceed
  ``MUTATION_CYCLE_LIMIT`` cycles) and how survivors are sorted into equivalent or not
  (a proof against the golden reference, or SAT against the original) is
  ``quantrtl.rigor.mutation``'s, the same as ``quantrtl mutate``'s;
* vectors: how many cycles the verification bench (``quantrtl verify``'s default:
  exhaustive when affordable, else 20,000 random) and the mutation bench use.

Mutation results are cached under ``<cache>/rigor/mutate/`` keyed by the RTL's sha256, the
vectors (their full content), the mutant count, the seed, the simulator, the mutation
bound and the source of ``quantrtl.rigor.mutation``, ``prover`` and ``linter``: a rerun with nothing
changed takes seconds (only the proofs and lint run again). The output folder and the
cache are checked before the first unit runs; ``rigor.json`` and ``rigor.md`` are written
through ``quantrtl.base.cache.output_folder`` after every unit is done, so a failing tool
(which raises ``ToolError``) leaves the previous files, or none, never half a table. The
folder may be the report's (``--out report`` for both); a folder quantrtl did not write is
refused unless ``force``, and only ``rigor.json`` and ``rigor.md`` are ever replaced.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from quantrtl.base.cache import (
    cache_root,
    check_cache,
    check_output_folder,
    content_key,
    entry_lock,
    output_folder,
    read_entry,
    write_entry,
)
from quantrtl.base.provenance import provenance
from quantrtl.designs import DESIGNS, Design, build, rigor_set
from quantrtl.rigor.mutation import MUTATION_CYCLE_LIMIT, MUTATION_RANDOM_COUNT, bench_vectors

__all__ = ["Unit", "DEFAULT_UNITS", "SCORE_TARGET", "MUTATION_CYCLE_LIMIT",
           "MUTATION_RANDOM_COUNT", "resolve_units", "mutation_run", "rigor_row", "run_rigor",
           "render_markdown"]

SCORE_TARGET = 0.95
MUTATION_METHOD = "rigor-table-2"  # bump when the mutation method changes (cache key)


@dataclass(frozen=True)
class Unit:
    design: str
    params: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return " ".join([self.design, *self.params])


# Every registered design's rigor sets (``DesignSpec.rigor``): parameters that prove (when
# there is a reference) in seconds, except array-pe pe=mixed (~7 min); the arrays at 2x2.
DEFAULT_UNITS: tuple[Unit, ...] = tuple(Unit(name, params) for name, params in rigor_set())


def resolve_units(specs: list[str] | None) -> list[Unit]:
    """``None``: ``DEFAULT_UNITS``. Else each spec is a design name (its entries in
    ``DEFAULT_UNITS``, or its default parameters) or ``"name k=v ..."`` (that unit).
    Unknown designs or parameters raise ``ValueError``."""
    if not specs:
        return list(DEFAULT_UNITS)
    units = []
    for spec in specs:
        if not spec.split():
            raise ValueError("--designs takes design names or 'name k=v ...', got an empty word")
        name, *params = spec.split()
        if name not in DESIGNS:
            raise ValueError(f"unknown design {name!r} (choose from {', '.join(DESIGNS)})")
        if params:
            units.append(Unit(name, tuple(params)))
        else:
            units += [u for u in DEFAULT_UNITS if u.design == name] or [Unit(name)]
    for unit in units:
        build(unit.design, list(unit.params))  # validate everything before any tool runs
    return units


def _progress(message: str):
    print(message, file=sys.stderr, flush=True)


def mutation_run(design: Design, vectors, *, count: int, seed: int,
                 simulator: str | None = None, progress=None) -> dict:
    """``quantrtl.rigor.mutation.mutation_test`` with ``vectors`` as the bench; the record of
    ``rigor.json``."""
    from quantrtl.rigor.mutation import mutation_test

    report = mutation_test(design, count=count, seed=seed, simulator=simulator,
                           vectors=vectors, progress=progress)
    return {"mutants": report.mutants, "killed": report.killed,
            "equivalent": report.equivalent, "survived": len(report.survivors),
            "survivors": report.survivors, "score": round(report.score, 4),
            "equivalence": report.equivalence, "seconds": report.seconds,
            "work": str(report.log_dir)}


def _mutation(design: Design, vectors, *, count: int, seed: int, simulator: str | None,
              progress) -> tuple[dict, bool]:
    """``mutation_run``'s record, from the cache when the same RTL, vectors, count, seed,
    simulator and checking code ran before."""
    from quantrtl.rigor import linter, mutation, prover
    from quantrtl.sim.harness import check_simulator, default_simulator

    simulator = check_simulator(simulator) if simulator else default_simulator()
    blob = json.dumps(vectors.to_config(), sort_keys=True).encode()
    code = b"".join(Path(m.__file__).read_bytes() for m in (mutation, prover, linter))
    key = content_key(design.rtl.sha, hashlib.sha256(blob).hexdigest(), str(count), str(seed),
                      simulator, str(mutation.BMC_STEPS), MUTATION_METHOD,
                      hashlib.sha256(code).hexdigest(), length=24)
    path = cache_root() / "rigor" / "mutate" / f"{key}.json"
    fields = ("mutants", "killed", "equivalent", "survived", "score", "seconds")
    cached = read_entry(path, key, require=fields)
    if cached is not None:
        return cached, True
    with entry_lock(path, f"mutation testing {design.label}"):  # same run elsewhere: wait
        cached = read_entry(path, key, require=fields)
        if cached is not None:
            return cached, True
        record = mutation_run(design, vectors, count=count, seed=seed, simulator=simulator,
                              progress=progress)
        record["simulator"] = simulator
        write_entry(path, key, record)
    return record, False


def _no_reference(design: Design) -> str | None:
    """Why ``prove`` has no reference for ``design``: a design registered without one, or
    parameters its reference declines with ``prove has no reference ...`` (``mx-dot
    accumulate=1``); None when it has one. Any other ``ValueError`` propagates."""
    from quantrtl.rigor import reference_verilog

    spec = DESIGNS[design.name]
    if spec.reference is None:
        return f"prove has no reference for {design.name} ({spec.no_proof})"
    try:
        reference_verilog(design)
    except ValueError as exc:
        if str(exc).startswith("prove has no reference"):
            return str(exc)
        raise
    return None


def rigor_row(unit: Unit, *, count: int = 40, seed: int = 1, simulator: str | None = None,
              progress=_progress, tag: str = "") -> dict:
    """Prove, lint and mutation-test one unit; the row of ``rigor.json``."""
    from quantrtl.rigor import lint, prove

    design = build(unit.design, list(unit.params))
    label = design.label
    row: dict = {"unit": label, "design": unit.design, "params": list(unit.params)}

    reason = _no_reference(design)
    if reason:  # no golden reference: say what is proved instead
        row.update(proved=None, prove_seconds=None, prove_method=reason)
        progress(f"{tag}{label}: not proved ({reason})")
    else:  # any ValueError here (a port too narrow, a table too large) fails the run
        proof = prove(unit.design, list(unit.params))
        row.update(proved=proof.proved, prove_seconds=proof.seconds,
                   prove_method=proof.method, counterexample=proof.counterexample)
        progress(f"{tag}{label}: {'PROVED' if proof.proved else 'DISPROVED'} in "
                 f"{proof.seconds:.1f} s")

    result = lint(design.rtl, design=label)
    row.update(lint_warnings=len(result.warnings), lint_waived=len(result.waived),
               lint_unwaived=result.warnings)
    progress(f"{tag}{label}: lint {len(result.warnings)} warnings, {len(result.waived)} "
             f"waived")

    verify, mutation_vectors = bench_vectors(design, seed)
    row["verify_vectors"] = {"mode": verify.mode, "cycles": len(verify)}
    row["mutation_vectors"] = {"mode": mutation_vectors.mode, "cycles": len(mutation_vectors),
                               "seed": seed}
    if mutation_vectors is not verify:
        row["mutation_vectors"]["note"] = (
            f"verification's {len(verify):,} cycles exceed {MUTATION_CYCLE_LIMIT:,}: "
            f"{MUTATION_RANDOM_COUNT:,} random cycles + overflow runs")
    record, cached = _mutation(design, mutation_vectors, count=count, seed=seed,
                               simulator=simulator,
                               progress=lambda line: progress(f"{tag}{label}: {line}"))
    row.update({k: record[k] for k in ("mutants", "killed", "equivalent", "survived",
                                       "survivors", "score", "simulator", "equivalence")})
    row.update(mutation_seconds=record["seconds"], mutation_cached=cached)
    progress(f"{tag}{label}: {record['mutants']} mutants, {record['killed']} killed, "
             f"{record['equivalent']} equivalent, {record['survived']} survived, score "
             f"{100 * record['score']:.1f}%{' (cached)' if cached else ''}")
    row["ok"] = bool(row["proved"] is not False and row["lint_warnings"] == 0
                     and row["score"] >= SCORE_TARGET)
    return row


def run_rigor(out: Path, *, units: list[Unit] | None = None, count: int = 40, seed: int = 1,
              simulator: str | None = None, progress=_progress, force: bool = False) -> dict:
    """Every unit's row, then ``out/rigor.json`` and ``out/rigor.md`` (each renamed into
    place, both only once every unit is done; ``out`` checked before the first unit).
    Returns the JSON document."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 2000:
        raise ValueError(f"mutant count must be 1..2000, got {count!r}")
    units = list(units) if units is not None else list(DEFAULT_UNITS)
    for unit in units:
        build(unit.design, list(unit.params))
    check_output_folder(out, "rigor", force=force)
    check_cache()
    started = time.perf_counter()
    rows = [rigor_row(u, count=count, seed=seed, simulator=simulator, progress=progress,
                      tag=f"[rigor {i}/{len(units)}] ") for i, u in enumerate(units, 1)]
    doc = {"count": count, "seed": seed, "score_target": SCORE_TARGET, **provenance(),
           "mutation_cycle_limit": MUTATION_CYCLE_LIMIT,
           "mutation_random_count": MUTATION_RANDOM_COUNT,
           "seconds": round(time.perf_counter() - started, 1), "rows": rows,
           "ok": all(r["ok"] for r in rows)}
    markdown = render_markdown(doc)
    text = json.dumps(doc, indent=2, sort_keys=True)
    out = Path(out)
    with output_folder(out, "rigor", force=force) as tmp:
        (tmp / "rigor.json").write_text(text)
        (tmp / "rigor.md").write_text(markdown)
    progress(f"rigor table written to {out}/ (rigor.md, rigor.json) in {doc['seconds']:.0f} s")
    return doc


def _vectors_cell(v: dict) -> str:
    return f"{v['cycles']:,} {v['mode']}"


def render_markdown(doc: dict) -> str:
    rows = doc["rows"]
    lines = ["| unit | proved | prove s | lint warnings (waived) | mutants | killed | "
             "equivalent | survived | score | mutation vectors | verification vectors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        proved = "n/a" if r["proved"] is None else ("yes" if r["proved"] else "**no**")
        secs = "—" if r["prove_seconds"] is None else f"{r['prove_seconds']:.1f}"
        score = f"{100 * r['score']:.1f}%"
        if r["score"] < doc["score_target"]:
            score = f"**{score}**"
        lint = f"{r['lint_warnings']} ({r['lint_waived']})"
        if r["lint_warnings"]:
            lint = f"**{lint}**"
        lines.append(f"| {r['unit']} | {proved} | {secs} | {lint} | {r['mutants']} | "
                     f"{r['killed']} | {r['equivalent']} | {r['survived']} | {score} | "
                     f"{_vectors_cell(r['mutation_vectors'])} | "
                     f"{_vectors_cell(r['verify_vectors'])} |")
    methods = sorted({r["equivalence"] for r in rows})
    lines += ["", f"{doc['count']} mutants per unit (Yosys `mutate`, seed {doc['seed']}); "
              f"score = killed / (mutants - equivalent), target "
              f"{100 * doc['score_target']:.0f}%; a mutant the bench misses is equivalent "
              f"by {' or '.join(methods)}. Mutation runs the verification vectors "
              f"unless they exceed {doc['mutation_cycle_limit']:,} cycles, then "
              f"{doc['mutation_random_count']:,} random cycles plus the overflow runs. "
              f"Wall time {doc['seconds']:.0f} s."]
    survivors = [(r["unit"], s) for r in rows for s in r["survivors"]]
    if survivors:
        lines += ["", "Surviving mutants:", ""]
        lines += [f"* {unit}: `{s}`" for unit, s in survivors]
    unwaived = [(r["unit"], w) for r in rows for w in r["lint_unwaived"]]
    if unwaived:
        lines += ["", "Unwaived lint warnings:", ""]
        lines += [f"* {unit}: {w}" for unit, w in unwaived]
    for r in rows:
        if r.get("counterexample"):
            lines += ["", f"Counterexample for {r['unit']}: {r['counterexample']}"]
    return "\n".join(lines) + "\n"
