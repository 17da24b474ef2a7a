"""A persisted :class:`geo.index.ZoneIndex`, so the command line need not rebuild it per start.

Building the index takes seconds; loading it back takes a fraction of that. The file is a
pickle whose shapely geometries are stored once each, as one vectorised WKB column (shapely
pickles every geometry on its own, which is what makes a plain pickle slow to load); the
STRtrees are rebuilt from their geometries on load. The file carries a key (a hash of the
data files and of the code that builds the index) and a CRC of its body: a stale, truncated
or corrupt file is treated as missing.

The caller names the file and the data files (this module opens only those); see
``layers/zonecommands.py`` and ``docs/SETTINGS.md`` (``CACHE_DIR``).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import stat
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import shapely

FORMAT = b"planmap-zoneindex/1\n"
_CODE_FILES = ("index/__init__.py", "index/core.py", "index/common.py", "index/table.py",
               "index/grid.py", "index/distance.py", "index/overlap.py", "index/bulk.py",
               "fastpaths.py", "tmerc.py", "crs.py", "sitecheck.py", "indexcache.py", "tiers.py",
               "precedence.py", "plans.py", "units.py")
# Caches that users of the index attach at run time (rebuilt on first use, not stored).
_TRANSIENT = ("_sitecheck_",)


def data_key(files, extra: str = "") -> str:
    """Hash of the given files' names and contents, and of the index-building code.

    Parameters
    ----------
    files : iterable of Path
        The data files the index is built from (a missing file hashes as missing).
    extra : str, optional
        Anything else the index depends on (e.g. the loader's code).

    Returns
    -------
    str
        Hex SHA-256.
    """
    h = hashlib.sha256(FORMAT)
    h.update(f"{sys.version_info[:3]} shapely {shapely.__version__} numpy {np.__version__}"
             .encode())
    here = Path(__file__).resolve().parent
    for name in _CODE_FILES:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    h.update(extra.encode())
    for f in files:
        h.update(b"\0file\0" + str(f).encode() + b"\0")
        try:
            h.update(Path(f).read_bytes())
        except OSError:
            h.update(b"\0missing\0")
    return h.hexdigest()


class _Pickler(pickle.Pickler):
    def __init__(self, fh):
        super().__init__(fh, protocol=5)
        self.geoms: list = []
        self._seen: dict[int, int] = {}

    def persistent_id(self, obj):
        if isinstance(obj, shapely.Geometry):
            # Objects stay alive in self.geoms, so id() is stable; shared geometries stay shared.
            i = self._seen.get(id(obj))
            if i is None:
                i = self._seen[id(obj)] = len(self.geoms)
                self.geoms.append(obj)
            return i
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, fh, geoms):
        super().__init__(fh)
        self.geoms = geoms

    def persistent_load(self, pid):
        return self.geoms[pid]


def save(index, path: Path, key: str) -> None:
    """Write ``index`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    index : ZoneIndex
    path : Path
        The cache file; its folder is created (mode 0700) if missing.
    key : str
        What :func:`data_key` returned for the data the index was built from.
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = io.BytesIO()
    p = _Pickler(body)
    clone = object.__new__(type(index))
    clone.__dict__.update({k: v for k, v in vars(index).items() if not k.startswith(_TRANSIENT)})
    p.dump(clone)
    geoms = np.array(p.geoms, dtype=object)
    wkb = shapely.to_wkb(geoms) if p.geoms else np.zeros(0, object)
    # WKB drops GEOS's prepared state (a speed-up, not part of the answer): note it, redo it
    prepared = shapely.is_prepared(geoms) if p.geoms else np.zeros(0, bool)
    table = pickle.dumps((list(wkb), np.packbits(prepared)), protocol=5)
    payload = len(table).to_bytes(8, "little") + table + body.getvalue()
    header = FORMAT + key.encode() + b"\n" + zlib.crc32(payload).to_bytes(4, "little")
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(header)
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _trusted(path: Path) -> bool:
    # A pickle runs code when loaded: only read one that nobody else could have written.
    if not hasattr(os, "getuid"):
        return True
    for p in (path, path.parent):
        st = p.stat()
        if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def load(path: Path, key: str):
    """Read a cached index, or None when the file is missing, stale, corrupt or untrusted.

    Parameters
    ----------
    path : Path
    key : str
        The key the data has now (:func:`data_key`); a file with another key is stale.

    Returns
    -------
    ZoneIndex or None
    """
    path = Path(path)
    try:
        if not path.is_file() or not _trusted(path):
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    head = FORMAT + key.encode() + b"\n"
    if not raw.startswith(head) or len(raw) < len(head) + 12:
        return None
    view = memoryview(raw)[len(head):]
    crc, payload = int.from_bytes(view[:4], "little"), view[4:]
    if zlib.crc32(payload) != crc:
        return None
    try:
        n = int.from_bytes(payload[:8], "little")
        wkb, bits = pickle.loads(payload[8:8 + n])
        geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if wkb else np.zeros(0, object)
        prepared = np.unpackbits(bits, count=len(geoms)).astype(bool)
        shapely.prepare(geoms[prepared])
        return _Unpickler(io.BytesIO(payload[8 + n:]), list(geoms)).load()
    except Exception:  # any failure to read the cache means: rebuild it
        return None


LOCK_WAIT_S = 60.0
"""Seconds a process waits for another one building the same cache file (then builds too)."""


class building:
    """Hold the lock of the cache file ``path`` while one process builds it.

    Several processes needing the same index at once (the web workers after an import,
    an import and a serving worker) take turns: the first builds and saves it, the
    others find it saved once they hold the lock. The lock is POSIX ``flock`` on a lock
    file beside the cache (``<name>.lock``), one per cache file: a build of another data
    folder's index, or of another object, never waits for this one. The wait is bounded
    (``wait_s``): a builder that hangs or takes longer costs the others a build of their
    own, never a stuck reload. Where ``flock`` is missing (Windows) or the lock file cannot
    be opened, nothing is locked (each one builds). Re-entrant in one thread: ``planmap
    import`` holds the lock for the whole import, its cache refresh inside it.

    Parameters
    ----------
    path : Path
        The cache file (its folder is created, mode 0700).
    wait_s : float, optional
        Longest wait for the lock, in seconds (default :data:`LOCK_WAIT_S`).
    """

    def __init__(self, path: Path, wait_s: float | None = None):
        self.path, self._fd = Path(path), None
        self.wait_s = LOCK_WAIT_S if wait_s is None else float(wait_s)
        self.locked = False
        self._nested = False

    @property
    def lock_path(self) -> Path:
        """The lock file of ``path``."""
        return self.path.with_name(self.path.name + ".lock")

    def __enter__(self):
        held = _held()
        if self.lock_path in held:  # this thread holds it already (an import around its
            self.locked, self._nested = True, True  # cache refresh): nothing more to take
            return self
        self._nested = False
        try:
            import fcntl

            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            deadline = time.monotonic() + self.wait_s
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self.locked = True
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break  # build without the lock rather than wait on
                    time.sleep(0.05)
        except (ImportError, OSError):
            pass
        if not self.locked and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.locked:
            held.add(self.lock_path)
        return self

    def __exit__(self, *exc):
        if self._nested:
            return
        if self._fd is not None:
            _held().discard(self.lock_path)
            os.close(self._fd)  # closing releases the lock
            self._fd = None
        self.locked = False


_HELD = threading.local()


def _held() -> set:
    """Lock files this thread holds (:class:`building` is re-entrant per thread)."""
    if not hasattr(_HELD, "paths"):
        _HELD.paths = set()
    return _HELD.paths
