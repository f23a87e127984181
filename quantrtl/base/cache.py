"""Where quantrtl keeps generated files, how it names them by content, and how it writes them
without leaving half a file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["cache_root", "content_key", "atomic_write", "atomic_dir"]


def cache_root() -> Path:
    """``$QUANTRTL_CACHE`` if set, else ``~/.cache/quantrtl``."""
    root = os.environ.get("QUANTRTL_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "quantrtl"


def content_key(*parts: str | bytes, length: int = 20) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``parts`` joined with newlines.

    ``str`` parts are UTF-8 encoded, ``bytes`` taken as they are; anything else is rejected
    (its ``str()`` may not be stable). One part hashes exactly as ``sha256(part)``.
    """
    if not parts:
        raise ValueError("content_key needs at least one part")
    if not 1 <= length <= 64:
        raise ValueError(f"length must be 1..64 hex digits, got {length}")
    encoded = []
    for part in parts:
        if isinstance(part, str):
            encoded.append(part.encode())
        elif isinstance(part, (bytes, bytearray)):
            encoded.append(bytes(part))
        else:
            raise TypeError(f"content_key parts must be str or bytes, got {type(part).__name__}")
    return hashlib.sha256(b"\n".join(encoded)).hexdigest()[:length]


def atomic_write(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def atomic_dir(final: Path):
    """Yield a fresh temporary folder beside ``final``; on success it becomes ``final``.

    On an exception the temporary folder is removed, so ``final`` either holds a complete
    result or does not exist. An existing ``final`` is replaced.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
