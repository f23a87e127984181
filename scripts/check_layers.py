"""Check the import layers of the quantrtl package (standard library only).

    python scripts/check_layers.py [--root DIR]

Parses every ``.py`` file of the package under ``DIR`` (default: the repository holding this
script): ``quantrtl/`` is the package ``quantrtl``; the folders ``golden/``, ``hw/``, ``sim/``
and ``synth/`` are ``quantrtl.golden``, ``quantrtl.hw``, ``quantrtl.sim`` and
``quantrtl.synth``. Every import statement counts, at module level and inside functions
(also under ``if TYPE_CHECKING:``), absolute and relative. An import names the project module
it loads: ``from quantrtl import designs`` is an edge to ``quantrtl.designs`` when that is a
module, otherwise to ``quantrtl``; the parent packages Python also runs are not edges.

Ranks, lowest first. A module may import any lower rank, and its own rank only within its own
package (``quantrtl.golden`` and ``quantrtl.hw`` never import each other; neither do
``quantrtl.sim``, ``quantrtl.synth`` and ``quantrtl.formal``). A pattern ``p.*`` covers ``p``
itself and everything below it and makes ``p`` the package of those modules; the package of a
plain module such as ``quantrtl.report`` is its parent, ``quantrtl``, so ``quantrtl.report``
may import ``quantrtl.rigor.table`` (rank 4, inside ``quantrtl``) but not the reverse, and
the package ``quantrtl`` itself may import ``quantrtl.base`` (rank 0).

    0  quantrtl, quantrtl.formats.*, quantrtl.base.*
    1  quantrtl.golden.*, quantrtl.hw.*
    2  quantrtl.sim.*, quantrtl.synth.*, quantrtl.formal.*
    3  quantrtl.designs.*
    4  quantrtl.rigor.*, quantrtl.report, quantrtl.sweep.*, quantrtl.explore.*
    5  quantrtl.commands.*
    6  quantrtl.cli

Violations, one line each, and exit status 1:

* ``a -> b: upward (rank 2 -> 3)``
* ``a -> b: sideways (rank 1, quantrtl.golden -> quantrtl.hw)``: same rank, other package
* ``cycle: a -> b -> a``: one line per strongly connected set of modules
* ``a -> b: private name _x``: ``from b import _x`` where ``b`` is another project module
* ``a: private Amaranth API amaranth.hdl._ir`` (any ``_``-prefixed module component, also
  ``from amaranth.hdl import _ir``) and ``a: private Amaranth API _MustUse__silence``
* ``a: no rank``: a module the table above does not place

Without violations it prints ``N modules, M edges, no upward edge, no cycle`` and exits 0.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

FOLDERS = {"quantrtl": "quantrtl", "golden": "quantrtl.golden", "hw": "quantrtl.hw",
           "sim": "quantrtl.sim", "synth": "quantrtl.synth"}

RANKS = [  # (pattern, rank); "p.*" covers p and everything below it
    ("quantrtl", 0), ("quantrtl.formats.*", 0), ("quantrtl.base.*", 0),
    ("quantrtl.golden.*", 1), ("quantrtl.hw.*", 1),
    ("quantrtl.sim.*", 2), ("quantrtl.synth.*", 2), ("quantrtl.formal.*", 2),
    ("quantrtl.designs.*", 3),
    ("quantrtl.rigor.*", 4), ("quantrtl.report", 4), ("quantrtl.sweep.*", 4),
    ("quantrtl.explore.*", 4),
    ("quantrtl.commands.*", 5),
    ("quantrtl.cli", 6),
]

PRIVATE_AMARANTH_NAMES = ("_MustUse__",)


def place(module: str) -> tuple[int, str] | None:
    """(rank, package) of a module, or None if no pattern covers it."""
    for pattern, rank in RANKS:
        if pattern.endswith(".*"):
            package = pattern[:-2]
            if module == package or module.startswith(package + "."):
                return rank, package
        elif module == pattern:
            return rank, module.rpartition(".")[0] or module
    return None


def discover(root: Path) -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is_package) for every .py file of the package under root."""
    modules = {}
    for folder, package in FOLDERS.items():
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).with_suffix("")
            if "__pycache__" in rel.parts:
                continue
            parts = list(rel.parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            modules[".".join([package, *parts])] = (path, is_package)
    return modules


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class Imports(ast.NodeVisitor):
    """Collect a module's project edges and its private-API uses."""

    def __init__(self, name: str, is_package: bool, modules):
        self.name, self.modules = name, modules
        self.package = name if is_package else name.rpartition(".")[0]
        self.edges: set[str] = set()
        self.problems: set[str] = set()

    def project_module(self, dotted: str) -> str | None:
        """The longest prefix of ``dotted`` that is a project module."""
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            candidate = ".".join(parts[:n])
            if candidate in self.modules:
                return candidate
        return None

    def amaranth(self, dotted: str) -> bool:
        """Report ``dotted`` if it is a private Amaranth module; True if so."""
        parts = dotted.split(".")
        if parts[0] == "amaranth" and any(_is_private(p) for p in parts[1:]):
            self.problems.add(f"{self.name}: private Amaranth API {dotted}")
            return True
        return False

    def edge(self, target: str | None) -> None:
        if target and target != self.name:
            self.edges.add(target)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.amaranth(alias.name)
            self.edge(self.project_module(alias.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            anchor = self.package.split(".")
            if node.level - 1 > len(anchor) - 1:
                self.problems.add(f"{self.name}: relative import beyond the package "
                                  f"(line {node.lineno})")
                return
            anchor = anchor[:len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        private_base = self.amaranth(base)
        source = self.project_module(base)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if alias.name != "*" and not private_base:  # `from amaranth.hdl import _ir`
                self.amaranth(full)
            if full in self.modules:  # a submodule: `from quantrtl import designs`
                self.edge(full)
                continue
            self.edge(source)
            if source and source != self.name and _is_private(alias.name):
                self.problems.add(f"{self.name} -> {source}: private name {alias.name}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.private_name(node.attr)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.private_name(node.id)

    def visit_Constant(self, node: ast.Constant) -> None:  # getattr(x, "_MustUse__silence")
        if isinstance(node.value, str) and node.value.isidentifier():
            self.private_name(node.value)

    def private_name(self, name: str) -> None:
        if any(marker in name for marker in PRIVATE_AMARANTH_NAMES):
            self.problems.add(f"{self.name}: private Amaranth API {name}")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (first module repeated at the end) per strongly connected set of modules."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def connect(v: str) -> None:  # Tarjan; the module graph is small, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            members = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                members.add(w)
                if w == v:
                    break
            if len(members) > 1:
                found.append(_cycle_in(graph, members))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def _cycle_in(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A shortest cycle through the smallest member, inside ``members`` (breadth first)."""
    start = min(members)
    parent = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("a strongly connected set without a cycle")


def check(root: Path) -> tuple[list[str], int, int]:
    """(violations, number of modules, number of edges) of the package under root."""
    modules = discover(root)
    graph: dict[str, set[str]] = {}
    problems: set[str] = set()
    for name, (path, is_package) in modules.items():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as e:
            problems.add(f"{name}: does not parse ({e.msg}, line {e.lineno})")
            graph[name] = set()
            continue
        visitor = Imports(name, is_package, modules)
        visitor.visit(tree)
        graph[name] = visitor.edges
        problems |= visitor.problems
    for name in modules:
        if place(name) is None:
            problems.add(f"{name}: no rank")
    for a in sorted(graph):
        for b in sorted(graph[a]):
            pa, pb = place(a), place(b)
            if pa is None or pb is None:
                continue
            (ra, ga), (rb, gb) = pa, pb
            if rb > ra:
                problems.add(f"{a} -> {b}: upward (rank {ra} -> {rb})")
            elif rb == ra and not (b == ga or b.startswith(ga + ".")):
                problems.add(f"{a} -> {b}: sideways (rank {ra}, {ga} -> {gb})")
    lines = sorted(problems)
    lines += ["cycle: " + " -> ".join(c) for c in cycles(graph)]
    return lines, len(modules), sum(len(e) for e in graph.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the folder holding quantrtl/, golden/, hw/, sim/, synth/")
    args = parser.parse_args(argv)
    if not (args.root / "quantrtl").is_dir():
        print(f"check_layers: no quantrtl/ under {args.root}", file=sys.stderr)
        return 2
    violations, n_modules, n_edges = check(args.root)
    for line in violations:
        print(line)
    if violations:
        print(f"{n_modules} modules, {n_edges} edges, {len(violations)} violations",
              file=sys.stderr)
        return 1
    print(f"{n_modules} modules, {n_edges} edges, no upward edge, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
