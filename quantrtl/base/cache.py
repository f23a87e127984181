"""Where quantrtl keeps generated files, how it names them by content, and how it writes them
without leaving half a file, and without deleting or overwriting anything it did not write.

* ``atomic_write``: one file, through a temporary file beside its target and a rename. A
  symlink is written through (its target is replaced, the link stays); a device, FIFO or
  ``/dev/fd/N`` is written into, never replaced; new files get the umask's mode (0644
  under umask 022), a replaced file keeps its mode.
* ``output_folder``: the output folder of ``quantrtl report`` and ``quantrtl rigor``
  (``--out``). It holds a marker file, ``.quantrtl-report``, listing what each of them
  wrote there. A folder that is missing, empty, or carries the marker (or holds nothing
  but an older report's files) may be written; any other folder only with ``force``. Only
  the files quantrtl writes are replaced, only its own stale files are removed, anything
  else in the folder is left alone.
* ``check_output_file``, ``check_output_folder``, ``check_cache``: the same checks before
  anything runs, as one-line ``ValueError``s (the CLI's exit status 2).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

__all__ = ["cache_root", "content_key", "atomic_write", "atomic_dir", "MARKER",
           "OUTPUT_FILES", "check_output_file", "check_output_folder", "check_cache",
           "output_folder"]

MARKER = ".quantrtl-report"
# What each writer puts into an output folder (a writer may leave some out, e.g. a chart).
OUTPUT_FILES = {"report": ("qor.json", "report.md", "area.png", "fmax.png"),
                "rigor": ("rigor.json", "rigor.md")}


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


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` is process-wide and the
    report writes from threads)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FD_PATH = re.compile(r"/(?:dev/fd|proc/self/fd|proc/thread-self/fd)/(\d+)")
_STD_PATHS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def _fd_of(path: Path) -> int | None:
    """The file descriptor a path like ``/dev/stdout`` or ``/dev/fd/3`` names, else None."""
    text = os.path.normpath(os.path.abspath(path))
    if text in _STD_PATHS:
        return _STD_PATHS[text]
    match = _FD_PATH.fullmatch(text)
    return int(match.group(1)) if match else None


def _write_fd(fd: int, payload: bytes):
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def atomic_write(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file beside its target and a rename.

    A symlink is followed: its final target is written, the link stays. ``/dev/stdout``,
    ``/dev/fd/N`` and the like write to that descriptor; an existing device or FIFO is
    written into (it cannot be renamed over). A new file gets mode 0666 minus the umask, a
    replaced one keeps its mode. Missing parent folders are created.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else bytes(data)
    fd = _fd_of(path)
    if fd is not None:
        _write_fd(fd, payload)
        return path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb") as f:
            f.write(payload)
        return path
    real = Path(os.path.realpath(path))
    real.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, stat.S_IMODE(st.st_mode) if st else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def atomic_dir(final: Path):
    """Yield a fresh temporary folder beside ``final``; on success it becomes ``final``.

    On an exception the temporary folder is removed, so ``final`` either holds a complete
    result or does not exist. For folders quantrtl owns (the cache): an existing ``final``
    is moved aside, the new one renamed in, then the old one removed. The folder gets mode
    0777 minus the umask. User-facing output folders go through ``output_folder``.
    """
    final = Path(os.path.abspath(final))
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old."))
        os.replace(final, old / "x")
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- checks before anything runs ---------------------------------------------------------

def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not os.path.lexists(path):
        path = path.parent
    return path


def _probe_folder(folder: Path, what: str):
    """Raise ``ValueError`` unless a file can be created in the existing ``folder``."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".quantrtl-probe.")
    except OSError as exc:
        raise ValueError(f"{what}: cannot write into {folder}: {_reason(exc)}") from None
    os.close(fd)
    os.unlink(tmp)


def _check_creatable_folder(path: Path, what: str):
    """``path`` is a folder quantrtl can write into, or one it can create."""
    base = _nearest_existing(path)
    if not base.is_dir():
        kind = "a file" if base.is_file() or base.is_symlink() else "not a folder"
        if base == Path(os.path.abspath(path)):
            raise ValueError(f"{what}: {path} is {kind}, not a folder")
        raise ValueError(f"{what}: cannot create {path}: {base} is {kind}")
    _probe_folder(base, what)


def check_output_file(path: Path, what: str = "output") -> None:
    """Raise a one-line ``ValueError`` unless ``atomic_write(path, ...)`` can succeed."""
    path = Path(path)
    if _fd_of(path) is not None:
        return
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ValueError(f"{what} {path}: {_reason(exc)}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{what} {path} is a folder; name a file")
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not os.access(path, os.W_OK):
            raise ValueError(f"{what} {path}: not writable")
        return
    real = Path(os.path.realpath(path))
    _check_creatable_folder(real.parent, f"{what} {path}")


def check_cache() -> Path:
    """The cache root, checked: a folder (or creatable) that quantrtl can write into."""
    root = cache_root()
    where = ("cache folder (QUANTRTL_CACHE)" if os.environ.get("QUANTRTL_CACHE")
             else "cache folder")
    _check_creatable_folder(root, f"{where} {root}")
    return root


def _marker(folder: Path) -> dict | None:
    """The folder's marker (``{"written": {writer: [names]}}``), ``{}`` for an older report
    without one, ``None`` when quantrtl did not write this folder."""
    path = folder / MARKER
    if path.is_file():
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads(path.read_text())
            if isinstance(doc, dict) and isinstance(doc.get("written"), dict):
                return doc
        return {"written": {}}
    names = {p.name for p in folder.iterdir()}
    known = {n for files in OUTPUT_FILES.values() for n in files}
    if names and names <= known and names & {"qor.json", "rigor.json"}:
        with contextlib.suppress(OSError, ValueError):  # a report from before the marker
            doc = json.loads((folder / ("qor.json" if "qor.json" in names
                                        else "rigor.json")).read_text())
            if isinstance(doc, dict) and ("provenance" in doc or "rows" in doc):
                return {"written": {}}
    return None


def check_output_folder(path: Path, writer: str, *, force: bool = False) -> Path:
    """Raise a one-line ``ValueError`` unless ``writer`` (``report`` or ``rigor``) may write
    its files into ``path``: missing (then creatable), empty, a folder quantrtl wrote (its
    marker), or any folder with ``force``."""
    path = Path(path)
    what = f"--out {path}"
    if not os.path.lexists(path):
        _check_creatable_folder(path, what)
        return path
    if not path.is_dir():
        raise ValueError(f"{what} is not a folder")
    _probe_folder(path, what)
    try:
        entries = list(path.iterdir())
    except OSError as exc:
        raise ValueError(f"{what}: {_reason(exc)}") from None
    if entries and not force and _marker(path) is None:
        raise ValueError(f"{what} holds files quantrtl did not write (no {MARKER} in it); "
                         f"name a new or empty folder, or pass --force to replace only the "
                         f"files quantrtl writes there ({', '.join(OUTPUT_FILES[writer])})")
    for name in OUTPUT_FILES[writer]:
        if (path / name).is_dir():
            raise ValueError(f"{what}: {path / name} is a folder")
    return path


@contextlib.contextmanager
def output_folder(path: Path, writer: str, *, force: bool = False):
    """Yield a temporary folder to write ``writer``'s files into; on success they move into
    ``path``, else nothing there changes.

    ``path`` missing: the temporary folder (beside it) is renamed to ``path``, whole. Else
    each file is renamed into place (a symlink is written through), the writer's files of
    the previous run that this run did not write are removed, and the marker is updated;
    nothing else in ``path`` is touched.
    """
    path = Path(path)
    check_output_folder(path, writer, force=force)
    fresh = not os.path.lexists(path)
    if fresh:
        base = Path(os.path.abspath(path))
        base.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=base.parent, prefix=f".{base.name}."))
    else:
        tmp = Path(tempfile.mkdtemp(dir=path, prefix=f".quantrtl-tmp-{writer}."))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        names = sorted(p.name for p in tmp.iterdir())
        unknown = set(names) - set(OUTPUT_FILES[writer])
        if unknown:
            raise ValueError(f"{writer} wrote files it does not declare: {sorted(unknown)}")
        mode = 0o666 & ~_umask()
        for name in names:
            os.chmod(tmp / name, mode)
        if fresh:
            atomic_write(tmp / MARKER, _marker_text({writer: names}))
            os.replace(tmp, base)
            return
        written = dict((_marker(path) or {}).get("written", {}))
        before = [n for n in written.get(writer, []) if n in OUTPUT_FILES[writer]]
        # the marker first names old and new files, so an interrupted move loses track
        # of none of them
        written[writer] = sorted(set(before) | set(names))
        atomic_write(path / MARKER, _marker_text(written))
        for name in names:
            target = path / name
            if target.is_symlink() or (target.exists() and not target.is_file()):
                atomic_write(target, (tmp / name).read_bytes())
            else:
                os.replace(tmp / name, target)
        for name in set(before) - set(names):
            stale = path / name
            if stale.is_file() or stale.is_symlink():
                stale.unlink()
        written[writer] = names
        atomic_write(path / MARKER, _marker_text(written))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _marker_text(written: dict) -> str:
    return json.dumps({"about": "written by quantrtl report / rigor; they replace the files "
                                "listed here and leave everything else alone",
                       "written": written}, indent=1, sort_keys=True) + "\n"
