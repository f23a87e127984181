"""What produced a result: the quantrtl version and, in a git checkout, its commit."""

from __future__ import annotations

import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["FALLBACK_VERSION", "package_version", "source_commit", "provenance",
           "provenance_line"]

FALLBACK_VERSION = "0.1.0"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the folder of quantrtl/__init__.py


def package_version() -> str:
    """The installed distribution's version, or ``FALLBACK_VERSION`` when not installed."""
    try:
        return version("quantrtl")
    except PackageNotFoundError:
        return FALLBACK_VERSION


def _git(*args: str) -> subprocess.CompletedProcess | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run([git, "-C", str(_PACKAGE_DIR), *args], capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None


def source_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout the package's source lives in, with ``-dirty``
    when ``git status --porcelain`` lists anything; ``None`` when git is missing or the
    package is not a tracked file of a checkout (an installed copy inside some repository)."""
    tracked = _git("ls-files", "--error-unmatch", "__init__.py")
    if tracked is None or tracked.returncode != 0:
        return None
    head = _git("rev-parse", "HEAD")
    if head is None or head.returncode != 0:
        return None
    commit = head.stdout.strip()
    status = _git("status", "--porcelain")
    if status is None or status.returncode != 0:
        return None
    return commit + ("-dirty" if status.stdout.strip() else "")


def provenance() -> dict:
    """``{"quantrtl": version, "commit": sha[-dirty] or None}``."""
    return {"quantrtl": package_version(), "commit": source_commit()}


def provenance_line(prov: dict | None) -> str:
    """``quantrtl 0.1.0, commit abc1234`` (``-dirty`` kept; "commit unknown" outside a
    checkout) from a ``provenance()`` record, for the head of a report."""
    if not prov:
        return "quantrtl version unknown"
    commit = prov.get("commit")
    if commit:
        sha, dirty = commit.partition("-dirty")[:2]
        return f"quantrtl {prov['quantrtl']}, commit {sha[:12]}{dirty}"
    return f"quantrtl {prov['quantrtl']}, commit unknown (not a git checkout)"
