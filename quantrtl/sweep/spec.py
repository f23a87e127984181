"""Read and check a sweep spec (TOML), before any job runs.

A spec names what to run (``run``: ``"synth"``, ``"verify"`` or both), the targets, the
variants (``lut``, ``booth``, ``dsp``), the placement seeds, and one ``[[design]]`` table per
design; a parameter given as a list is swept (the product of every list). Top-level
``targets``, ``variants``, ``seeds``, ``run``, ``pnr`` and ``router`` are defaults a design
table may override. ``[[exclude]]`` tables drop the jobs they match (see ``jobs.py``)::

    run = ["synth"]
    targets = ["ice40-up5k", "ecp5-25k"]
    variants = ["lut"]
    seeds = [1, 2, 3]

    [[design]]
    name = "int-mac"
    label = "INT4 MAC"
    params = { a = "int4", b = ["int4", "int8"], acc = 16 }

    [[exclude]]
    target = "ecp5-25k"
    params = { b = "int8" }

``load_spec(path)`` returns a ``Spec`` or raises one ``ValueError`` naming the file and the
line (a TOML syntax error) or the key (``design[2].params.a``) and the problem. Every design
point is built (``quantrtl.designs.build``: unknown designs and parameters are caught here)
and every target, variant and flag set is checked (``check_flags``).
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from quantrtl.designs import DESIGNS, build
from quantrtl.synth.flow import ROUTERS, SynthFlags, check_flags
from quantrtl.synth.targets import TARGETS

__all__ = ["Spec", "Point", "Exclude", "VARIANTS", "KINDS", "load_spec", "parse_spec"]

VARIANTS = ("lut", "booth", "dsp")
KINDS = ("verify", "synth")
_COMMON = ("run", "targets", "variants", "seeds", "pnr", "router")
_TOP_KEYS = (*_COMMON, "simulator", "design", "exclude")
_DESIGN_KEYS = (*_COMMON, "name", "label", "params")
_EXCLUDE_KEYS = ("design", "label", "target", "variant", "seed", "run", "params")


@dataclass(frozen=True)
class Point:
    """One design point: a design at fixed parameters, and what to run on it."""

    label: str
    design: str
    params: dict           # the full, typed parameters (defaults filled in)
    words: tuple           # the parameters as given, ``key=value`` words
    run: tuple             # subset of KINDS
    targets: tuple
    variants: tuple
    seeds: tuple
    pnr: bool
    router: str


@dataclass(frozen=True)
class Exclude:
    """An ``[[exclude]]`` rule: a job matches when every given key matches (a list: any of
    its values); ``where`` names the rule in messages."""

    where: str
    fields: dict
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    path: Path
    points: tuple
    excludes: tuple
    simulator: str | None


class _Error(ValueError):
    pass


def load_spec(path: Path | str) -> Spec:
    """Read and check the spec file ``path`` (module docstring)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"sweep spec {path}: {exc.strerror or exc}") from None
    return parse_spec(text, path)


def parse_spec(text: str, path: Path | str = "<spec>") -> Spec:
    """Check the TOML ``text`` (read from ``path``, named in messages)."""
    path = Path(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep spec {path}: not valid TOML: {exc}") from None
    try:
        return _spec(doc, path)
    except _Error as exc:
        raise ValueError(f"sweep spec {path}: {exc}") from None


def _spec(doc: dict, path: Path) -> Spec:
    _keys(doc, _TOP_KEYS, "top level")
    defaults = {"run": ["synth"], "targets": None, "variants": ["lut"], "seeds": [1],
                "pnr": True, "router": "router1"}
    for key in _COMMON:
        if key in doc:
            defaults[key] = doc[key]
    simulator = doc.get("simulator")
    if simulator is not None:
        from quantrtl.sim.harness import SIMULATORS
        if simulator not in SIMULATORS:
            raise _Error(f"simulator: unknown simulator {simulator!r} (choose from "
                         f"{', '.join(SIMULATORS)})")
    designs = doc.get("design")
    if not isinstance(designs, list) or not designs:
        raise _Error("no [[design]] table (each names a design and its parameters)")
    points, labels = [], {}
    for i, table in enumerate(designs, 1):
        where = f"design[{i}]"
        if not isinstance(table, dict):
            raise _Error(f"{where}: must be a table")
        for point in _points(table, where, defaults):
            if point.label in labels:
                raise _Error(f"{where}: label {point.label!r} is also the label of "
                             f"{labels[point.label]}; give each design point its own label")
            labels[point.label] = where
            points.append(point)
    excludes = tuple(_exclude(t, f"exclude[{i}]")
                     for i, t in enumerate(_list(doc, "exclude", "top level"), 1))
    return Spec(path, tuple(points), excludes, simulator)


def _keys(table: dict, allowed: tuple, where: str):
    for key in table:
        if key not in allowed:
            raise _Error(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")


def _list(table: dict, key: str, where: str) -> list:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise _Error(f"{where}.{key}: must be a list")
    return value


def _strings(value, where: str, choices) -> tuple:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _Error(f"{where}: must not be empty")
    for item in items:
        if item not in choices:
            raise _Error(f"{where}: unknown value {item!r} (choose from {', '.join(choices)})")
    if len(set(items)) != len(items):
        raise _Error(f"{where}: a value is listed twice")
    return tuple(items)


def _seeds(value, where: str) -> tuple:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _Error(f"{where}: must not be empty")
    for seed in items:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
            raise _Error(f"{where}: a seed must be an integer 0..2^31-1, got {seed!r}")
    if len(set(items)) != len(items):
        raise _Error(f"{where}: a seed is listed twice")
    return tuple(items)


def _word(value, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise _Error(f"{where}: a parameter value must be a string or number (or a list of "
                 f"them), got {type(value).__name__}")


def _points(table: dict, where: str, defaults: dict) -> list[Point]:
    _keys(table, _DESIGN_KEYS, where)
    name = table.get("name")
    if name not in DESIGNS:
        raise _Error(f"{where}.name: unknown design {name!r} (choose from "
                     f"{', '.join(DESIGNS)})")
    opts = {**defaults, **{k: table[k] for k in _COMMON if k in table}}
    if opts["targets"] is None:
        raise _Error(f"{where}.targets: no targets (give targets at the top level or here)")
    run = _strings(opts["run"], f"{where}.run", KINDS)
    targets = _strings(opts["targets"], f"{where}.targets", tuple(TARGETS))
    variants = _strings(opts["variants"], f"{where}.variants", VARIANTS)
    seeds = _seeds(opts["seeds"], f"{where}.seeds")
    if not isinstance(opts["pnr"], bool):
        raise _Error(f"{where}.pnr: must be true or false")
    if not opts["pnr"] and len(seeds) > 1:
        raise _Error(f"{where}.seeds: pnr = false (area only) does not place, so one seed, "
                     f"not {len(seeds)}")
    router = _strings(opts["router"], f"{where}.router", ROUTERS)
    if len(router) != 1:
        raise _Error(f"{where}.router: one router, not a list")
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise _Error(f"{where}.params: must be a table (params = {{ a = \"int4\" }})")
    axes = []
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            raise _Error(f"{where}.params.{key}: empty list")
        axes.append([(key, _word(v, f"{where}.params.{key}")) for v in values])
    swept = [key for key, value in params.items() if isinstance(value, list)]
    label = table.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise _Error(f"{where}.label: must be a non-empty string")
    points = []
    for combo in itertools.product(*axes):
        words = tuple(f"{k}={v}" for k, v in combo)
        try:
            design = build(name, list(words))
        except ValueError as exc:
            raise _Error(f"{where}.params ({' '.join(words) or 'defaults'}): {exc}") from None
        for target in targets:
            for variant in variants:
                flags = SynthFlags(booth=variant == "booth", dsp=variant == "dsp",
                                   seed=seeds[0], pnr=opts["pnr"], router=router[0])
                try:
                    check_flags(TARGETS[target], flags)
                except ValueError as exc:
                    raise _Error(f"{where}: variant {variant} on {target}: {exc} (drop it "
                                 f"from variants or add an [[exclude]] rule)") from None
        if label is None:
            point_label = design.label
        else:
            point_label = " ".join([label, *(w for w in words if w.split("=")[0] in swept)])
        points.append(Point(point_label, name, dict(design.params), words, run, targets,
                            variants, seeds, opts["pnr"], router[0]))
    return points


def _exclude(table, where: str) -> Exclude:
    if not isinstance(table, dict):
        raise _Error(f"{where}: must be a table")
    _keys(table, _EXCLUDE_KEYS, where)
    keys = [k for k, v in table.items() if not (k == "params" and v == {})]  # params = {}: none
    if not keys:
        raise _Error(f"{where}: empty rule (it would drop every job)")
    checks = {"design": tuple(DESIGNS), "target": tuple(TARGETS), "variant": VARIANTS,
              "run": KINDS}
    fields = {}
    for key, value in table.items():
        if key == "params":
            continue
        values = value if isinstance(value, list) else [value]
        if key in checks:
            _strings(values, f"{where}.{key}", checks[key])
        elif key == "seed":
            _seeds(values, f"{where}.seed")
        fields[key] = tuple(values)
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise _Error(f"{where}.params: must be a table")
    words = {k: tuple(_word(v, f"{where}.params.{k}")
                      for v in (value if isinstance(value, list) else [value]))
             for k, value in params.items()}
    return Exclude(where, fields, words)
