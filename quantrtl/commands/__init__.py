"""Verbs of the ``quantrtl`` command line that live outside ``quantrtl.cli``.

Every module of this package is one verb; ``quantrtl.cli`` finds them (sorted by module
name) and needs no edit when a verb is added. A module defines:

* ``VERB``: the word on the command line (``"sweep"``);
* ``HELP``: one line for ``quantrtl --help``;
* ``add_arguments(parser)``: its options (cheap: import heavy libraries in ``run`` only, so
  that ``quantrtl --help`` and the other verbs stay fast);
* ``run(args) -> int``: the exit status. Raise ``ValueError`` for bad input (exit 2, one
  line), ``VerificationError`` for a failed check (exit 1), ``ToolError`` for a failed tool
  (exit 3), as the built-in verbs do.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

PARAMS_HELP = "design parameters as key=value (see `quantrtl list`)"
FORCE_HELP = ("write into a folder quantrtl did not write: replace the files this command "
              "writes there, leave every other file alone")


def seed_arg(text: str) -> int:
    """argparse type: a seed, 0 .. 2**31-1."""
    value = int(text, 0)
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"seed must be 0..2^31-1, got {value}")
    return value


def positive_arg(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text, 0)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def add_verbs(subparsers) -> None:
    """Add one sub-parser per module of this package, in module-name order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        parser = subparsers.add_parser(module.VERB, help=module.HELP)
        module.add_arguments(parser)
        parser.set_defaults(func=module.run)
