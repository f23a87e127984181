"""Where quantrtl keeps generated files, how it names them by content, and how it writes them
without leaving half a file, and without deleting or overwriting anything it did not write.

* ``atomic_write``: one file, through a temporary file beside its target and a rename. A
  symlink is written through (its target is replaced, the link stays); a device, FIFO or
  ``/dev/fd/N`` is written into, never replaced; new files get the umask's mode (0644
  under umask 022), a replaced file keeps its mode.
* ``output_folder``: the output folder of a command's ``--out`` (``report``, ``rigor``,
  and every writer that names its files with ``register_output_files``: ``verilog``,
  ``sweep``, ``explore``). It holds a marker file, ``.quantrtl-report``, listing what
  each of them wrote there. A folder that is missing, empty, or carries the marker (or holds nothing
  but an older report's files) may be written; any other folder only with ``force``. Only
  the files quantrtl writes are replaced, only its own stale files are removed, anything
  else in the folder is left alone.
* ``check_output_file``, ``check_output_folder``, ``check_cache``: the same checks before
  anything runs, as one-line ``ValueError``s (the CLI's exit status 2).
* ``write_entry``, ``read_entry``: a cache entry (a JSON document) beside a small sidecar
  ``<name>.check`` holding its key and the SHA-256 of its bytes, both written through a
  temporary file and a rename. ``read_entry`` returns the data only when the sidecar names
  the expected key and the checksum matches; a truncated, empty, edited or mismatched entry
  is reported on stderr with its path, moved aside (``<name>.corrupt-<time>``) and
  treated as missing, so the caller rebuilds it: never reused, never fatal.
  ``set_aside`` does the same for entries with their own check (the cached Verilog files,
  checked against their content hash).
* ``sweep``, ``open_cache``: temporary files and folders that quantrtl's own writers left
  behind (``.<name>.<random>.tmp``, ``.<name>.<random>``, ``.<name>.old.<random>``) when a
  process was killed are removed when a process first opens the cache: those older than
  the running process when no other quantrtl process has the cache open (a shared
  ``flock`` on ``<cache>/quantrtl.lock``, held while the process lives), else only those
  older than ``STALE_AFTER`` seconds.
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
import sys
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["cache_root", "content_key", "atomic_write", "atomic_dir", "MARKER",
           "OUTPUT_FILES", "register_output_files", "check_output_file", "check_output_folder",
           "check_cache",
           "output_folder", "write_entry", "read_entry", "set_aside", "sweep", "open_cache",
           "STALE_AFTER", "entry_lock", "LOCK_SUFFIX"]

MARKER = ".quantrtl-report"
# What each writer puts into an output folder (a writer may leave some out, e.g. a chart).
OUTPUT_FILES = {"report": ("qor.json", "report.md", "area.png", "fmax.png"),
                "rigor": ("rigor.json", "rigor.md")}


def register_output_files(writer: str, names) -> None:
    """Name the files ``writer`` may put into an output folder (a command's plug-in calls
    this when it is imported). Registering the same names again is a no-op; other names
    for a known writer are a ``ValueError``."""
    names = tuple(names)
    if OUTPUT_FILES.setdefault(writer, names) != names:
        raise ValueError(f"output writer {writer!r} is registered with other files "
                         f"({', '.join(OUTPUT_FILES[writer])})")


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
    _opening(path)
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
    _opening(final)
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
    return open_cache()


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
    """Raise a one-line ``ValueError`` unless ``writer`` (a key of ``OUTPUT_FILES``) may write
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
    marker = _marker(path) if entries else {}
    if entries and not force and marker is None:
        raise ValueError(f"{what} holds files quantrtl did not write (no {MARKER} in it); "
                         f"name a new or empty folder, or pass --force to replace only the "
                         f"files quantrtl writes there ({', '.join(OUTPUT_FILES[writer])})")
    for other, names in sorted(((marker or {}).get("written") or {}).items()):
        if other == writer or not isinstance(names, list):
            continue
        shared = sorted(set(names) & set(OUTPUT_FILES[writer]))
        if shared and not force:
            raise ValueError(f"{what} holds quantrtl {other}'s {', '.join(shared)}; name "
                             f"another folder, or pass --force to replace them")
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
        for other in [w for w in written if w != writer]:  # files replaced with --force
            written[other] = [n for n in written[other] if n not in names]
        atomic_write(path / MARKER, _marker_text(written))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _marker_text(written: dict) -> str:
    return json.dumps({"about": "written by quantrtl; each command replaces the files "
                                "listed here under its name and leaves everything else alone",
                       "written": written}, indent=1, sort_keys=True) + "\n"


# --- cache entries: key and checksum beside the data, corrupt ones set aside -------------

CHECK_SUFFIX = ".check"


def _check_path(path: Path) -> Path:
    return path.with_name(path.name + CHECK_SUFFIX)


def _entry_text(data) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def write_entry(path: Path, key: str, data) -> Path:
    """Store the JSON-able ``data`` as the cache entry ``path`` for ``key``: the JSON
    document at ``path`` and its sidecar ``<name>.check`` (``{"key", "sha256"}``), each
    through a temporary file and a rename (data first, so a crash in between leaves an
    entry without a valid check, which ``read_entry`` sets aside)."""
    path = Path(path)
    open_cache()
    payload = _entry_text(data)
    atomic_write(path, payload)
    atomic_write(_check_path(path), json.dumps(
        {"key": key, "sha256": hashlib.sha256(payload).hexdigest()}, sort_keys=True) + "\n")
    return path


def read_entry(path: Path, key: str, *, entry: Path | None = None,
               require: tuple[str, ...] = ()):
    """The data of the cache entry ``path`` written by ``write_entry`` for ``key``, or
    ``None`` when there is none or it cannot be trusted.

    ``entry`` is what makes up the whole entry (a folder holding ``path``; default ``path``
    and its sidecar): when the data is missing, unreadable, not valid JSON, lacks its
    sidecar, the sidecar names another key, the checksum differs, or the data is not a dict
    with the keys ``require`` (when given), the entry is moved aside with one warning on
    stderr naming it (``set_aside``), and ``None`` is returned so that the caller rebuilds
    it; the next read finds nothing there, so the warning is not repeated.
    """
    path = Path(path)
    open_cache()
    check = _check_path(path)
    whole = Path(entry) if entry is not None else None
    present = [p for p in (path, check, whole) if p is not None and os.path.lexists(p)]
    if not present:
        return None
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        return _corrupt(path, whole, "is missing its data")
    except OSError as exc:
        return _corrupt(path, whole, f"cannot be read ({_reason(exc)})")
    try:
        sidecar = json.loads(check.read_text())
        recorded_key, recorded_sha = sidecar["key"], sidecar["sha256"]
    except FileNotFoundError:
        return _corrupt(path, whole, f"has no {check.name} (key and checksum)")
    except (OSError, ValueError, KeyError, TypeError):
        return _corrupt(path, whole, f"has an unreadable {check.name}")
    if recorded_key != key:
        return _corrupt(path, whole, f"belongs to key {recorded_key!r}, not {key!r}")
    if hashlib.sha256(payload).hexdigest() != recorded_sha:
        what = "is empty" if not payload else "does not match its checksum"
        return _corrupt(path, whole, f"{what} (truncated or edited)")
    try:
        data = json.loads(payload)
    except ValueError as exc:
        return _corrupt(path, whole, f"is not valid JSON ({exc})")
    if require:
        missing = [k for k in require if not isinstance(data, dict) or k not in data]
        if missing:
            return _corrupt(path, whole, f"lacks {', '.join(missing)}")
    return data


def _corrupt(path: Path, whole: Path | None, reason: str) -> None:
    if whole is not None and os.path.lexists(whole):
        set_aside(path, reason, entry=whole)
    else:
        set_aside(path, reason, also=(_check_path(path),))
    return None


def set_aside(path: Path, reason: str, *, entry: Path | None = None,
              also: tuple[Path, ...] = ()) -> Path | None:
    """The cache entry ``path`` cannot be trusted (``reason``): move it (or the whole
    ``entry`` holding it) and ``also`` (e.g. its sidecar) aside to
    ``<name>.corrupt-<time>`` and say so on stderr, once: a caller that finds it already
    moved by another thread says nothing. Returns the new path, or ``None`` when nothing
    was moved (the caller rebuilds and overwrites it either way)."""
    path = Path(path)
    first = Path(entry) if entry is not None else path
    stamp = time.strftime("%Y%m%dT%H%M%S")
    moved, failed = None, None
    for item in (first, *also):
        target = item.with_name(f"{item.name}.corrupt-{stamp}")
        n = 1
        while os.path.lexists(target):
            n += 1
            target = item.with_name(f"{item.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(item, target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if item == first:
                failed = _reason(exc)
            continue
        if item == first:
            moved = target
    if moved is not None:
        print(f"quantrtl: warning: cache entry {path} {reason}; moved {first} to "
              f"{moved.name}; rebuilding it", file=sys.stderr, flush=True)
    elif failed is not None:
        print(f"quantrtl: warning: cache entry {path} {reason}; could not move it aside "
              f"({failed}); rebuilding it", file=sys.stderr, flush=True)
    return moved


# --- one job per entry at a time -----------------------------------------------------------

LOCK_SUFFIX = ".lock"


def _lock_path(entry: Path) -> Path:
    entry = Path(entry)
    return entry.with_name(entry.name + LOCK_SUFFIX)


@contextlib.contextmanager
def entry_lock(entry: Path, what: str = ""):
    """Hold an exclusive ``flock`` on ``<entry>.lock`` while the body builds ``entry``.

    When another process (or thread) holds it, say so once on stderr (``what`` names the
    job: "synthesizing int-mac ...") and wait. The caller reads the entry again inside the
    lock, reuses what the holder wrote, or builds it when the holder died without writing
    it (the kernel releases a dead holder's lock). The lock file stays (removing it could
    let two jobs hold locks on different files)."""
    import fcntl
    path = _lock_path(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    _opening(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"quantrtl: waiting for another quantrtl job {what or 'on ' + str(entry)} "
                  f"(lock {path})", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)


# --- leftovers of killed processes ---------------------------------------------------------

STALE_AFTER = 24 * 3600  # seconds; the age at which a leftover is swept even while others run
LOCK_NAME = "quantrtl.lock"
_STARTED = time.time()
# tempfile's random part is 8 characters of [a-z0-9_]; atomic_write adds ".tmp",
# atomic_dir makes ".<name>.<random>" and ".<name>.old.<random>".
_LEFTOVER = re.compile(r"\.(?P<name>.+?)\.(?:old\.)?[a-z0-9_]{8}(?:\.tmp)?")
_opened: dict[str, int] = {}
_open_lock = threading.Lock()


def _process_start() -> float:
    """When this process started (``/proc``), else when this module was imported."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return min(int(line.split()[1]) + ticks, _STARTED)
    return _STARTED


# The folders of the cache that quantrtl's writers put temporary files and folders into;
# nothing else is swept (the cache may be a folder shared with other files).
CACHE_FOLDERS = ("qor", "prove", "rigor", "rtl", "sim", "batch", "verified", "mutate",
                 "yowasp", "netlist")


def _leftovers(root: Path):
    """Every leftover quantrtl temporary file or folder under ``root``'s ``CACHE_FOLDERS``,
    and probe files of ``check_cache`` in ``root`` itself (not descending into leftovers or
    symlinks)."""
    with contextlib.suppress(OSError):
        for e in os.scandir(root):
            if e.name.startswith(".quantrtl-probe.") and _LEFTOVER.fullmatch(e.name):
                yield Path(e.path)
    stack = [root / name for name in CACHE_FOLDERS]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if _LEFTOVER.fullmatch(e.name):
                yield Path(e.path)
            elif e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the temporary files and folders quantrtl's writers left under the cache
    ``root`` (default ``cache_root()``) when a process died mid-write; returns what was
    removed. Only names of quantrtl's own patterns, only ones older than this process,
    and when another quantrtl process has the cache open only ones older than
    ``STALE_AFTER``. Never raises for an unreadable cache."""
    root = Path(root) if root is not None else cache_root()
    if not root.is_dir():
        return []
    alone = _lock_shared(root)
    limit = _process_start() if alone else min(_process_start(), time.time() - STALE_AFTER)
    removed = []
    for item in _leftovers(root):
        try:
            st = os.lstat(item)
        except OSError:
            continue
        if st.st_mtime >= limit:
            continue
        try:
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(item)
            else:
                os.unlink(item)
        except OSError:
            continue
        removed.append(item)
    return removed


def _lock_shared(root: Path) -> bool:
    """Hold a shared ``flock`` on ``<root>/quantrtl.lock`` for the rest of this process;
    ``True`` when no other process held it (then this process was alone with the cache)."""
    import fcntl
    key = os.path.realpath(root)
    with _open_lock:
        fd = _opened.get(key)
        if fd is None:
            try:
                fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:
                return False
            _opened[key] = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except OSError:
            alone = False
        # back to shared (the conversion may wait for another process's sweep to end)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_SH)
        return alone


_swept: set[str] = set()


def open_cache() -> Path:
    """The cache root; the first call of a process for an existing root sweeps it."""
    root = cache_root()
    key = str(root)
    if key not in _swept and os.path.isdir(root):
        _swept.add(key)
        with contextlib.suppress(OSError):
            sweep(root)
    return root


def _opening(path: Path):
    """Open the cache (``open_cache``) before the first write into it."""
    root = os.path.abspath(cache_root())
    if str(cache_root()) not in _swept and \
            os.path.abspath(path).startswith(root + os.sep):
        open_cache()
