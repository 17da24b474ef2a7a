"""SQLite store of site-check results.

One row per stored check: a random URL-safe id, the creation time, the result
JSON and the submitted site as GeoJSON.  WAL mode lets readers proceed while a
check is written; each thread gets its own connection (SQLite connections must
not be shared across threads), and every write is one transaction.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from geo.errors import NotFound

ID_BYTES = 9  # 9 random bytes -> 12 URL-safe characters, 72 bits: unguessable
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    result TEXT NOT NULL,
    site TEXT NOT NULL
)
"""


class CheckStore:
    """Stored site checks in one SQLite file.

    Parameters
    ----------
    path : str or Path
        The database file; its parent folder is created if missing.
        ``":memory:"`` is accepted for tests (one shared connection, locked).
    """

    def __init__(self, path):
        self.path = str(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._memory = self.path == ":memory:"
        if not self._memory:
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._shared = None
        conn = self._conn()
        with self._lock:
            if not self._memory:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            conn.commit()

    def _conn(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", check_same_thread=False)
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def save(self, result: dict, site_geojson: dict | None) -> str:
        """Store one check and return its new id."""
        result_text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        site_text = json.dumps(site_geojson, ensure_ascii=False, separators=(",", ":"))
        conn = self._conn()
        for _ in range(5):  # a collision of 72-bit ids is practically impossible; retry anyway
            check_id = secrets.token_urlsafe(ID_BYTES)
            try:
                with self._lock if self._memory else _nolock():
                    with conn:  # one transaction: committed whole or rolled back
                        conn.execute(
                            "INSERT INTO checks (id, created, result, site) VALUES (?, ?, ?, ?)",
                            (check_id, time.time(), result_text, site_text),
                        )
                return check_id
            except sqlite3.IntegrityError:
                continue
        raise RuntimeError("could not allocate a unique check id")

    def get(self, check_id: str) -> dict:
        """Return ``{"id", "created", "result", "site"}`` of a stored check.

        Raises
        ------
        geo.errors.NotFound
            When no check has this id (or the id is malformed).
        """
        if not isinstance(check_id, str) or not ID_RE.match(check_id):
            raise _not_found(check_id)
        conn = self._conn()
        with self._lock if self._memory else _nolock():
            row = conn.execute(
                "SELECT id, created, result, site FROM checks WHERE id = ?", (check_id,)
            ).fetchone()
        if row is None:
            raise _not_found(check_id)
        return {"id": row[0], "created": row[1], "result": json.loads(row[2]),
                "site": json.loads(row[3])}

    def count(self) -> int:
        """Number of stored checks."""
        conn = self._conn()
        with self._lock if self._memory else _nolock():
            return int(conn.execute("SELECT COUNT(*) FROM checks").fetchone()[0])

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _nolock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _not_found(check_id) -> NotFound:
    shown = str(check_id)[:80]
    return NotFound("check_not_found", f"no stored site check with id {shown!r}",
                    f"未找到编号为 {shown!r} 的选址检查记录", param="id")
