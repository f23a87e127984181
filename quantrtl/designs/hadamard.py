"""The Hadamard transform unit ``fwht`` (``hw.fwht.FWHT``): the exact Sylvester
Walsh–Hadamard transform of one vector of ``n`` signed integers per cycle, checked against
``golden.hadamard.transform``. Its proof: each butterfly stage submodule against golden's
stage (``golden.hadamard.stage_matrix``), then the unit with golden's stages in their place
against golden's butterfly network with the registers where ``pipeline`` puts them."""

from __future__ import annotations

import re

import torch

from quantrtl.designs.registry import register
from quantrtl.designs.spec import DesignSpec, Param
from quantrtl.formal.reference import Reference, signed_value
from quantrtl.golden import hadamard
from quantrtl.hw.fwht import FWHT
from quantrtl.hw.rtl import from_component
from quantrtl.sim.gemm import pack_lanes, split_lanes
from quantrtl.sim.vectors import MODES, Vectors

__all__ = ["EXHAUSTIVE_BITS", "fwht_inputs", "unpack_lanes", "registered_stages"]

EXHAUSTIVE_BITS = 16  # input bits (n * width) up to which every input vector is verified


def unpack_lanes(word: int, width: int, n: int) -> list[int]:
    """The ``n`` two's complement ``width``-bit lanes of a packed word (lane 0 lowest)."""
    return [signed_value(word >> (width * i) & ((1 << width) - 1), width) for i in range(n)]


def fwht_inputs(n: int, width: int, mode: str, count: int, seed: int) -> torch.Tensor:
    """Input vectors ``[T, n]`` (int64) for ``fwht``.

    * exhaustive: every vector of ``n`` ``width``-bit lanes (``n * width <=
      EXHAUSTIVE_BITS``), in order of their packed code.
    * random: ``count`` seeded vectors, 30 % of the lanes at an extreme (min or max), a
      tenth of the vectors all-min, all-max or all-zero.

    Both end with the sign patterns of every Hadamard row (golden's matrix): ``x_j`` min
    where ``H[i, j] = 1`` and max elsewhere, and the reverse, so that every output lane
    reaches its largest magnitude of either sign."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    gen = torch.Generator().manual_seed(seed)
    if mode == "exhaustive":
        bits = n * width
        if bits > EXHAUSTIVE_BITS:
            raise ValueError(f"exhaustive vectors need n * width <= {EXHAUSTIVE_BITS} input "
                             f"bits (this is {n} x {width} = {bits})")
        x = split_lanes(torch.arange(1 << bits, dtype=torch.int64), width, n)
    elif mode == "random":
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"random vectors need a positive count, got {count!r}")
        x = torch.randint(lo, hi + 1, (count, n), generator=gen)
        extreme = torch.where(torch.rand(count, n, generator=gen) < 0.5, lo, hi)
        x = torch.where(torch.rand(count, n, generator=gen) < 0.3, extreme, x)
        whole = torch.rand(count, generator=gen)
        x[whole < 0.03] = lo
        x[(whole >= 0.03) & (whole < 0.06)] = hi
        x[(whole >= 0.06) & (whole < 0.1)] = 0
    else:
        raise ValueError(f"unknown vector mode {mode!r} (choose from {', '.join(MODES)})")
    plus = hadamard.hadamard_matrix(n) > 0
    patterns = torch.cat([torch.where(plus, lo, hi), torch.where(plus, hi, lo)])
    return torch.cat([x, patterns])


def _make_fwht(p: dict):
    unit = FWHT(n=p["n"], width=p["width"], pipeline=p["pipeline"])
    p["pipeline"] = unit.latency  # the default, one register per stage, made explicit
    n, width, out_width, latency = unit.n, p["width"], unit.out_width, unit.latency
    exhaustive_ok = n * width <= EXHAUSTIVE_BITS

    def vectors(mode, count, seed):
        x = fwht_inputs(n, width, mode, count, seed)
        y = hadamard.transform(x)
        t = len(x)
        gen = torch.Generator().manual_seed(seed + 1)
        valid = (torch.rand(t, generator=gen) < 0.8).int().tolist()
        stim = {"x": [pack_lanes(v, width) for v in x.tolist()], "valid": valid}
        expected = {"y": [pack_lanes(v, out_width) for v in y.tolist()],
                    "valid_out": list(valid)}
        idle = {"x": 0, "valid": 0}
        if latency:
            # one synchronous reset in the second half: the vectors in flight at its edge
            # (r - latency + 1 .. r) are lost and y, valid_out read 0 for them
            r = int(torch.randint(t // 2, t, (1,), generator=gen))
            stim["rst"] = [int(u == r) for u in range(t)]
            idle["rst"] = 0
            for u in range(max(0, r - latency + 1), r + 1):
                expected["y"][u] = expected["valid_out"][u] = 0
        return Vectors(stim, expected, {"y": False, "valid_out": False}, latency, idle, seed,
                       mode)

    return from_component(unit, "fwht"), vectors, exhaustive_ok


_STAGE_MODULE = re.compile(r"^module \\(\S+)\.stage(\d+) ?\(", re.M)
_PORT = re.compile(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\S+)\s*;", re.M)


def registered_stages(n: int, pipeline: int) -> list[int]:
    """The stages (1..k) a register follows, as docs/hadamard.md states it: with ``p``
    registers, stages ``ceil(1*k/p), ceil(2*k/p), ..., k``."""
    k = hadamard.stages(n)
    return [-(-(j + 1) * k // pipeline) for j in range(pipeline)]


def _golden_stage(name: str, n: int, width: int, s: int) -> str:
    """Stage ``s`` of golden's network: output lane ``i`` is the sum of input lanes ``j``
    with sign ``golden.hadamard.stage_matrix(n, s)[i, j]`` in ``width + 1`` signed bits."""
    matrix = hadamard.stage_matrix(n, s).tolist()
    lines = [f"module {name}(input wire [{n * width - 1}:0] a, "
             f"output wire [{n * (width + 1) - 1}:0] b);"]
    for i, row in enumerate(matrix):
        terms = [(sign, f"$signed(a[{width * (j + 1) - 1}:{width * j}])")
                 for j, sign in enumerate(row) if sign]
        total = ("-" if terms[0][0] < 0 else "") + terms[0][1]
        total += "".join(f" {'+' if sign > 0 else '-'} {term}" for sign, term in terms[1:])
        lines.append(f"  wire signed [{width}:0] o{i} = {total};")
    lines += ["  assign b = {" + ", ".join(f"o{i}" for i in reversed(range(n))) + "};",
              "endmodule"]
    return "\n".join(lines)


def _stage_ports(text: str, module: str, name: str, golden: str, n: int, width: int,
                 stage: int) -> str:
    """Module ``name`` with the ports of the unit's stage module ``module`` (input ``a``
    whole or lanes ``a<j>``, outputs ``s<stage>_<j>``) around golden's stage ``golden``."""
    body = text[text.index(f"module \\{module} "):]
    ports = _PORT.findall(body[:body.index("endmodule")])
    inputs = sorted(name for d, _, name in ports if d == "input")
    outputs = {name for d, _, name in ports if d == "output"}
    lanes = [f"a{j}" for j in range(n)]
    if inputs not in (["a"], sorted(lanes)) or \
            outputs != {f"s{stage}_{j}" for j in range(n)}:
        raise ValueError(f"prove cannot match the ports of {module} ({sorted(outputs)}, "
                         f"{inputs}) with a butterfly stage's lanes")
    declare = [f"input wire [{width - 1}:0] {a}" for a in lanes] if inputs != ["a"] else \
        [f"input wire [{n * width - 1}:0] a"]
    declare += [f"output wire [{width}:0] s{stage}_{j}" for j in range(n)]
    packed = "a" if inputs == ["a"] else "{" + ", ".join(reversed(lanes)) + "}"
    lines = [f"module {name}(" + ", ".join(declare) + ");",
             f"  wire [{n * (width + 1) - 1}:0] b;",
             f"  {golden} golden(.a({packed}), .b(b));"]
    lines += [f"  assign s{stage}_{j} = b[{(width + 1) * (j + 1) - 1}:{(width + 1) * j}];"
              for j in range(n)]
    return "\n".join(lines + ["endmodule"])


def _reference(design) -> Reference:
    """Golden's butterfly network: stage ``s`` a module whose lanes are written from
    ``golden.hadamard.stage_matrix(n, s)`` (each output lane ``+-a_j +- a_j'`` in one bit more
    than its inputs), the stages chained, and with ``pipeline = p`` a register (cleared by
    ``rst``) on every lane and on ``valid`` after the stages ``registered_stages`` names.
    Tests show that golden's stages compose to ``hadamard_matrix`` for every ``n``.

    One Yosys run (docs/hadamard.md, "What the proof covers"): (1) each stage submodule
    of the unit (``<top>.stage<s>``) against golden's stage, combinational SAT over every
    input; (2) golden's stages put in place of the unit's, the unit against the network:
    combinational SAT (``p = 0``) or temporal induction of length ``p + 1``; (3) for
    ``p = 0``, the unit as built against the network. A netlist without the stage
    submodules (flattened, e.g. a mutant) gets (2) with its own logic only."""
    p, rtl = design.params, design.rtl
    n, width, pipeline = p["n"], p["width"], p["pipeline"]
    k = hadamard.stages(n)
    ow = hadamard.output_bits(width, n)
    top = f"{rtl.top}_golden"
    found_stages = {int(s) for m, s in _STAGE_MODULE.findall(rtl.text) if m == rtl.top}
    if found_stages and found_stages != set(range(1, k + 1)):
        raise ValueError(f"{design.label}: stage modules {sorted(found_stages)} in the RTL, "
                         f"expected 1..{k}")
    texts = [_golden_stage(f"{top}_stage{s + 1}", n, width + s, s) for s in range(k)]
    stage_proofs = []
    for s in sorted(found_stages):
        module, wrapper = f"{rtl.top}.stage{s}", f"{top}_stage{s}_ports"
        texts.append(_stage_ports(rtl.text, module, wrapper, f"{top}_stage{s}", n,
                                  width + s - 1, s))
        stage_proofs.append((wrapper, module, f"miter_s{s}"))
    ports = [f"input wire [{n * width - 1}:0] x", "input wire valid",
             f"output wire [{n * ow - 1}:0] y", "output wire valid_out"]
    if pipeline:
        ports = ["input wire clk", "input wire rst", *ports]
    lines = [f"module {top}(" + ", ".join(ports) + ");"]
    current, valid = "x", "valid"
    registered = registered_stages(n, pipeline)
    for s in range(1, k + 1):
        w = width + s
        lines += [f"  wire [{n * w - 1}:0] t{s};",
                  f"  {top}_stage{s} stage{s}(.a({current}), .b(t{s}));"]
        current = f"t{s}"
        if s in registered:  # one register per lane, cleared by rst
            for i in range(n):
                lines += [f"  reg [{w - 1}:0] q{s}_{i} = 0;",
                          f"  always @(posedge clk) q{s}_{i} <= rst ? {w}'h0 : "
                          f"t{s}[{w * (i + 1) - 1}:{w * i}];"]
            lines += [f"  wire [{n * w - 1}:0] q{s} = {{" +
                      ", ".join(f"q{s}_{i}" for i in reversed(range(n))) + "};",
                      f"  reg v{s} = 0;",
                      f"  always @(posedge clk) v{s} <= rst ? 1'h0 : {valid};"]
            current, valid = f"q{s}", f"v{s}"
    lines += [f"  assign y = {current};", f"  assign valid_out = {valid};", "endmodule", ""]
    texts.append("\n".join(lines))
    what = (f"golden's butterfly network (golden.hadamard.stage_matrix({n}, s), s < {k}) on "
            f"{width}-bit signed lanes")
    script = ["proc -norom", "opt_clean"]
    # combinational units: the unit as built, flattened before golden's stages replace its
    # own, proved last, so that any failure shows as an input x and both outputs y
    whole = bool(stage_proofs) and not pipeline
    if whole:
        script.append(f"miter -equiv -flatten -make_outputs {top} {rtl.top} miter_unit")
    for gold, gate, miter in stage_proofs:
        # the stage's miter, then golden's stage in the unit in place of the stage
        script += [f"miter -equiv -flatten -make_outputs {gold} {gate} {miter}",
                   f"opt -fast {miter}",
                   f"sat -prove trigger 0 -show-inputs -show-outputs {miter}",
                   f"delete {gate}", f"rename {gold} {gate}"]
    script.append(f"miter -equiv -flatten -make_outputs {top} {rtl.top} miter")
    if pipeline:
        method = (f"SAT temporal induction (yosys sat -tempinduct, length {pipeline + 1}) "
                  f"against {what}, registers after stages {registered}")
        script += ["opt -fast miter", "wreduce miter", "opt -fast miter", "dffunmap miter",
                   "opt_clean miter", f"sat -tempinduct -prove trigger 0 -set-init-zero "
                   f"-maxsteps {pipeline + 1} -show-inputs -show-outputs miter"]
    else:
        method = f"SAT (yosys miter + sat -prove) against {what}"
        for miter in ("miter", "miter_unit") if whole else ("miter",):
            script += [f"opt -fast {miter}",
                       f"sat -prove trigger 0 -show-inputs -show-outputs {miter}"]
    if stage_proofs:
        method = (f"each stage submodule against golden's stage (SAT), then the unit with "
                  f"golden's stages in their place: {method}")
        if whole:
            method += "; and the unit as built against the same network"
    kinds = {"x": "hex", "y": "hex"}

    def stage_text(s: int, section: str) -> str:
        """The counterexample of stage ``s``'s proof (its SAT pass's log ``section``)."""
        bits = {name: int(b, 2) for name, b in re.findall(
            r"^\s*\\(\w+)\s+\S+\s+\S+\s+([01]+)\s*$", section, re.M)}
        w = width + s - 1
        if "in_a" in bits:
            a = unpack_lanes(bits["in_a"], w, n)
        else:
            a = [signed_value(bits.get(f"in_a{j}", 0), w) for j in range(n)]
        g, u = ([signed_value(bits.get(f"{side}_s{s}_{j}", 0), w + 1) for j in range(n)]
                for side in ("gold", "gate"))
        wrong = [j for j in range(n) if g[j] != u[j]] or [0]
        i = wrong[0]
        row = hadamard.stage_matrix(n, s - 1)[i].tolist()
        terms = " ".join(f"{'+' if sign > 0 else '-'} a{j}" for j, sign in enumerate(row)
                         if sign).lstrip("+ ")
        given = ", ".join(f"a{j} = {a[j]}" for j, sign in enumerate(row) if sign)
        return (f"stage {s} (submodule stage{s}), lane {i} = {terms}: {given}; golden {g[i]}, "
                f"unit {u[i]} ({len(wrong)} of {n} lanes differ)")

    def explain(steps, text):
        # one log section per SAT pass, in script order: the stages' first
        sections = text.split("Executing SAT pass")[1:]
        parts = [stage_text(s, section) for (s, section) in zip(sorted(found_stages), sections)
                 if "model found: FAIL" in section]
        row = steps[max(steps)] if steps else {}
        ins, gold, gate = row.get("in", {}), row.get("gold", {}), row.get("gate", {})
        if "x" in ins:
            unit = f"x = {unpack_lanes(ins['x'][0], width, n)}"
            for name in ("y", "valid_out"):
                if name in gold and name in gate:
                    g, u = gold[name][0], gate[name][0]
                    if name == "y":
                        g, u = unpack_lanes(g, ow, n), unpack_lanes(u, ow, n)
                    unit += f"; {name}: golden {g}, unit {u}"
            parts.append(unit)
        return "; ".join(parts) or None

    return Reference(top, "\n".join(texts), method, "; ".join(script), kinds, explain,
                     cases=1 + len(stage_proofs) + whole)


register(DesignSpec(
    "fwht", "streaming Walsh–Hadamard transform (hw.fwht.FWHT): one vector of n signed "
    "lanes per cycle, exact y = H x (width + log2 n bits), latency pipeline", (
        Param("n", "int", 16, "transform length, a power of two in 2..64"),
        Param("width", "int", 8, "input lane width in bits (signed), 2..16"),
        Param("pipeline", "int", None, "register stages, 0..log2 n (unset: log2 n, one "
              "after every butterfly stage)"),
    ), _make_fwht, reference=_reference,
    lint=((), ("n=4", "width=3", "pipeline=0"), ("n=64", "pipeline=3"),
          ("n=2", "width=16", "pipeline=1"), ("n=32", "width=4", "pipeline=2"),
          ("n=4", "width=3", "pipeline=2")),
    # stage by stage on a loaded 2-core machine: n <= 16 in 1-3 s, n = 32 in 1-6 s, n = 64
    # in 3-11 s (INT8, pipeline 0, 1 and log2 n)
    prove=(("n=4", "pipeline=0"), ("n=4",), ("n=8", "pipeline=0"), ("n=8", "pipeline=1"),
           ("n=4", "width=16", "pipeline=1"), ("n=2", "width=16"), ("n=32", "pipeline=0"),
           ("n=32", "pipeline=1"), ("n=32",), ("n=64", "pipeline=0"), ("n=64", "pipeline=1"),
           ("n=64",)),
    rigor=(("n=4", "width=3", "pipeline=0"), ("n=4", "width=3", "pipeline=2"))))

