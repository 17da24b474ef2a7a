"""SQLite store of site-check results.

One row per stored check: a random URL-safe id, the creation time, the result
JSON, the submitted site as GeoJSON, the report's rendered map (``report``,
made once when the check is stored) and the hash of the check's delete token.
WAL mode lets readers proceed while a check is written; each thread gets its
own connection (SQLite connections must not be shared across threads), and
every write is one transaction.

Bounds (settings ``STORE_MAX_CHECKS``, ``STORE_MAX_BYTES``, ``STORE_MAX_AGE_DAYS``):
a check past its age is gone (404 ``check_expired``, and it is deleted); a save
that would take the store past a quota, after expired checks are purged, is
refused with :class:`StoreFull` rather than evicting checks already answered.
The running count and byte total live in a one-row table kept by triggers, so a
quota check costs one row read.

Failures never stop the service: a store that cannot be opened (corrupt file,
read-only folder), a full disk, a read-only file system, or a store file deleted
or replaced while planmap runs make writes raise :class:`StoreUnavailable`
(HTTP 503) and :meth:`CheckStore.health` report ``degraded``; everything that
does not need the store keeps serving.  A deleted file is *not* recreated while
running: the open connections still read the old checks, and a fresh empty file
would silently hide them; a restart creates a new empty store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

from planmap.geo.errors import NotFound, PlanmapError

ID_BYTES = 9  # 9 random bytes -> 12 URL-safe characters, 72 bits: unguessable
TOKEN_BYTES = 18  # delete tokens: 144 bits
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SCHEMA_VERSION = 2
PURGE_EVERY_S = 60.0  # expired checks are deleted by a save at most this often
PURGE_BATCH = 1000
RETRY_OPEN_S = 2.0  # a store that failed to open is retried at most this often

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    result TEXT NOT NULL,
    site TEXT NOT NULL
)
"""
# Version 2 (added to version-1 files in place): size/report/delete token, an index that
# answers expiry by age, and the running totals kept by triggers.
_MIGRATE_2 = (
    "ALTER TABLE checks ADD COLUMN size INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE checks ADD COLUMN report TEXT",
    "ALTER TABLE checks ADD COLUMN delete_hash TEXT",
    "UPDATE checks SET size = length(CAST(result AS BLOB)) + length(CAST(site AS BLOB))",
    "CREATE INDEX IF NOT EXISTS checks_age ON checks (created, size)",
    "CREATE TABLE IF NOT EXISTS store_stats (k INTEGER PRIMARY KEY CHECK (k = 0), "
    "n INTEGER NOT NULL, bytes INTEGER NOT NULL)",
    "INSERT OR REPLACE INTO store_stats (k, n, bytes) "
    "SELECT 0, COUNT(*), COALESCE(SUM(size), 0) FROM checks",
    "CREATE TRIGGER IF NOT EXISTS checks_ins AFTER INSERT ON checks BEGIN "
    "UPDATE store_stats SET n = n + 1, bytes = bytes + NEW.size WHERE k = 0; END",
    "CREATE TRIGGER IF NOT EXISTS checks_del AFTER DELETE ON checks BEGIN "
    "UPDATE store_stats SET n = n - 1, bytes = bytes - OLD.size WHERE k = 0; END",
    "CREATE TRIGGER IF NOT EXISTS checks_size AFTER UPDATE OF size ON checks BEGIN "
    "UPDATE store_stats SET bytes = bytes + NEW.size - OLD.size WHERE k = 0; END",
)


class StoreUnavailable(PlanmapError):
    """The check store cannot be written (or read): disk full, read-only, corrupt, deleted."""

    default_code = "store_unavailable"


class StoreFull(StoreUnavailable):
    """A save would take the store past ``STORE_MAX_CHECKS`` or ``STORE_MAX_BYTES``."""

    default_code = "store_quota_exceeded"


class DeleteForbidden(PlanmapError):
    """A delete without the check's delete token."""

    default_code = "invalid_delete_token"


def new_delete_token() -> str:
    """A fresh delete token (given once to whoever stored the check)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CheckStore:
    """Stored site checks in one SQLite file.

    Parameters
    ----------
    path : str or Path
        The database file; its parent folder is created if missing.
        ``":memory:"`` is accepted for tests (one shared connection, locked).
    max_checks, max_bytes : int, optional
        Quotas: most stored checks, most stored bytes (result + site + report).
        0 or None = unbounded.
    max_age_s : float, optional
        Checks older than this are expired; 0 or None = kept forever.
    """

    def __init__(self, path, max_checks: int | None = None, max_bytes: int | None = None,
                 max_age_s: float | None = None):
        self.path = str(path)
        self.max_checks = int(max_checks or 0)
        self.max_bytes = int(max_bytes or 0)
        self.max_age_s = float(max_age_s or 0)
        self._local = threading.local()
        self._lock = threading.RLock()  # _ready() may reopen while holding it
        self._memory = self.path == ":memory:"
        self._shared = None
        self._identity = None  # (st_dev, st_ino) of the file we opened
        self._open_problem: str | None = None  # why the store could not be opened
        self._open_tried = 0.0
        self._write_problem: str | None = None  # the last write's failure, until one succeeds
        self._last_purge = 0.0
        self._open()

    # ------------------------------------------------------------------ opening

    def _open(self) -> None:
        """Create/migrate the schema; on failure remember why (the service keeps running)."""
        self._open_tried = time.monotonic()
        try:
            if not self._memory:
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            conn = self._conn(create=True)
            with self._lock:
                if not self._memory:
                    conn.execute("PRAGMA journal_mode=WAL")
                self._migrate(conn)
            if not self._memory:
                st = os.stat(self.path)
                self._identity = (st.st_dev, st.st_ino)
            self._open_problem = None
        except (OSError, sqlite3.Error) as exc:
            self._drop_conn()
            self._open_problem = self._read_only_problem() or _describe(exc)

    def _migrate(self, conn) -> None:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                return
            conn.execute(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(checks)")}
            for statement in _MIGRATE_2:
                if statement.startswith("ALTER") and statement.split()[5] in columns:
                    continue  # a column added by an earlier, interrupted migration
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _ready(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store is open and still its own file."""
        if self._open_problem is not None and \
                time.monotonic() - self._open_tried >= RETRY_OPEN_S:
            with self._lock:
                if self._open_problem is not None:
                    self._open()
        if self._open_problem is not None:
            raise _unavailable(self._open_problem)
        problem = self._file_problem()
        if problem:
            raise _unavailable(problem)

    def _file_problem(self) -> str | None:
        if self._memory or self._identity is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return ("the store file was deleted while planmap was running; restore it or "
                    "restart planmap to start a new, empty store")
        except OSError as exc:
            return _describe(exc)
        if (st.st_dev, st.st_ino) != self._identity:
            return "the store file was replaced while planmap was running; restart planmap"
        return None

    def _read_only_problem(self) -> str | None:
        if self._memory:
            return None
        try:
            if os.statvfs(Path(self.path).parent).f_flag & os.ST_RDONLY:
                return "the store is on a read-only file system"
        except OSError:
            return None
        return None

    def _conn(self, create: bool = False) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", check_same_thread=False,
                                               isolation_level=None)
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # mode=rw after the first open: a deleted file must not be recreated, empty,
            # by whichever thread connects next
            mode = "rwc" if create else "rw"
            conn = sqlite3.connect(f"file:{quote(self.path)}?mode={mode}", uri=True,
                                   timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _drop_conn(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass
            self._local.conn = None

    def _locked(self):
        return self._lock if self._memory else _nolock()

    # ------------------------------------------------------------------ writing

    def save(self, result: dict, site_geojson: dict | None, report: dict | None = None,
             delete_token: str | None = None) -> str:
        """Store one check and return its new id.

        ``report`` is the rendered report map (see ``server.reportview.render_map``);
        ``delete_token``, when given, is the secret that :meth:`delete` will ask for.

        Raises
        ------
        StoreFull
            When a quota would be exceeded (after expired checks are purged).
        StoreUnavailable
            When the store cannot be written (disk full, read-only, corrupt, deleted).
        """
        result_text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        site_text = json.dumps(site_geojson, ensure_ascii=False, separators=(",", ":"))
        report_text = None if report is None else json.dumps(
            report, ensure_ascii=False, separators=(",", ":"))
        size = len(result_text.encode("utf-8")) + len(site_text.encode("utf-8")) + (
            0 if report_text is None else len(report_text.encode("utf-8")))
        token_hash = None if delete_token is None else _token_hash(delete_token)
        self._ready()

        def insert(conn):
            conn.execute("BEGIN IMMEDIATE")  # quota read and insert in one writer's lock
            self._maybe_purge(conn, size)
            self._check_quota(conn, size)
            for _ in range(5):  # a collision of 72-bit ids is practically impossible
                check_id = secrets.token_urlsafe(ID_BYTES)
                try:
                    conn.execute(
                        "INSERT INTO checks (id, created, result, site, size, report, "
                        "delete_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (check_id, time.time(), result_text, site_text, size, report_text,
                         token_hash))
                    return check_id
                except sqlite3.IntegrityError:
                    continue
            raise RuntimeError("could not allocate a unique check id")

        return self._write(insert)

    def _write(self, work):
        """Run ``work(conn)`` in one transaction; map storage failures to StoreUnavailable."""
        conn = self._conn()
        try:
            with self._locked():
                try:
                    out = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except StoreUnavailable:
            raise
        except sqlite3.Error as exc:
            problem = self._file_problem() or self._read_only_problem() or _describe(exc)
            self._write_problem = problem
            raise _unavailable(problem) from exc
        self._write_problem = None
        return out

    def _check_quota(self, conn, size: int) -> None:
        if not (self.max_checks or self.max_bytes):
            return
        n, total = conn.execute("SELECT n, bytes FROM store_stats WHERE k = 0").fetchone()
        if self.max_checks and n + 1 > self.max_checks:
            raise StoreFull(
                "store_quota_exceeded",
                f"the check store is full: {n} checks stored, STORE_MAX_CHECKS is "
                f"{self.max_checks}; the check was not stored, try again later",
                f"选址检查存储已满：已存 {n} 条，STORE_MAX_CHECKS 为 {self.max_checks}；"
                "本次检查未保存，请稍后再试")
        if self.max_bytes and total + size > self.max_bytes:
            raise StoreFull(
                "store_quota_exceeded",
                f"the check store is full: {total} bytes stored, this check needs {size}, "
                f"STORE_MAX_BYTES is {self.max_bytes}; the check was not stored, try again "
                "later",
                f"选址检查存储已满：已用 {total} 字节，本次需 {size} 字节，STORE_MAX_BYTES 为 "
                f"{self.max_bytes}；本次检查未保存，请稍后再试")

    def _over_quota(self, conn, size: int) -> bool:
        if not (self.max_checks or self.max_bytes):
            return False
        n, total = conn.execute("SELECT n, bytes FROM store_stats WHERE k = 0").fetchone()
        return bool((self.max_checks and n + 1 > self.max_checks)
                    or (self.max_bytes and total + size > self.max_bytes))

    def _maybe_purge(self, conn, size: int = 0) -> None:
        if not self.max_age_s:
            return
        now = time.monotonic()
        # a full store purges at once; otherwise at most every PURGE_EVERY_S
        if not self._over_quota(conn, size) and now - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = now
        cutoff = time.time() - self.max_age_s
        while conn.execute(
                "DELETE FROM checks WHERE id IN (SELECT id FROM checks WHERE created < ? "
                "ORDER BY created LIMIT ?)", (cutoff, PURGE_BATCH)).rowcount == PURGE_BATCH:
            pass

    def ensure_room(self) -> None:
        """Raise now, before a check is computed, if saving it would be refused.

        Raises
        ------
        StoreFull
            The store is at a quota even after expired checks are purged.
        StoreUnavailable
            The store cannot be opened, or its file was deleted or replaced.
        """
        self._ready()
        if not (self.max_checks or self.max_bytes):
            return
        try:
            with self._locked():
                full = self._over_quota(self._conn(), 0)
        except sqlite3.Error:
            return  # the save itself will say what is wrong
        if full and self.max_age_s:
            self._write(lambda conn: (conn.execute("BEGIN IMMEDIATE"),
                                      self._maybe_purge(conn, 0)))
            with self._locked():
                full = self._over_quota(self._conn(), 0)
        if full:
            with self._locked():
                self._check_quota(self._conn(), 0)

    def purge_expired(self) -> int:
        """Delete every expired check now; return how many were deleted."""
        if not self.max_age_s:
            return 0
        self._ready()
        before = self.count()
        self._last_purge = -PURGE_EVERY_S  # force
        self._write(lambda conn: (conn.execute("BEGIN IMMEDIATE"), self._maybe_purge(conn)))
        return before - self.count()

    def set_report(self, check_id: str, report: dict) -> bool:
        """Cache the rendered report of an older check stored without one.

        Returns False (and stores nothing) when the store cannot be written: the caller
        has the rendering anyway.
        """
        text = json.dumps(report, ensure_ascii=False, separators=(",", ":"))

        def update(conn):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE checks SET report = ?, size = size + ? "
                         "WHERE id = ? AND report IS NULL",
                         (text, len(text.encode("utf-8")), check_id))

        try:
            self._ready()
            self._write(update)
        except StoreUnavailable:
            return False
        return True

    def delete(self, check_id: str, token: str | None) -> None:
        """Delete a stored check, given the delete token it was stored with.

        Raises
        ------
        geo.errors.NotFound
            No such check (or already expired).
        DeleteForbidden
            The token is missing or wrong, or the check was stored without one.
        StoreUnavailable
            The store cannot be written.
        """
        if not isinstance(check_id, str) or not ID_RE.match(check_id):
            raise _not_found(check_id)
        self._ready()

        def remove(conn):
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT delete_hash, created FROM checks WHERE id = ?",
                               (check_id,)).fetchone()
            if row is None or self._expired(row[1]):
                raise _not_found(check_id)
            check_delete_token(row[0], token)
            conn.execute("DELETE FROM checks WHERE id = ?", (check_id,))

        self._write(remove)

    # ------------------------------------------------------------------ reading

    def _expired(self, created) -> bool:
        return expired(created, self.max_age_s)

    def get(self, check_id: str) -> dict:
        """Return ``{"id", "created", "result", "site", "report"}`` of a stored check.

        ``report`` is the rendered report map, or None for a check stored before
        reports were rendered at save time.

        Raises
        ------
        geo.errors.NotFound
            When no check has this id (or the id is malformed, or the check expired).
        StoreUnavailable
            When the store cannot be read.
        """
        if not isinstance(check_id, str) or not ID_RE.match(check_id):
            raise _not_found(check_id)
        if self._open_problem is not None:
            self._ready()
        try:
            conn = self._conn()
            with self._locked():
                row = conn.execute(
                    "SELECT id, created, result, site, report FROM checks WHERE id = ?",
                    (check_id,)).fetchone()
        except sqlite3.Error as exc:
            raise _unavailable(self._file_problem() or _describe(exc)) from exc
        if row is None:
            raise _not_found(check_id)
        if self._expired(row[1]):
            shown = check_id[:80]
            raise NotFound("check_expired",
                           f"the stored site check {shown!r} has expired "
                           f"(STORE_MAX_AGE_DAYS)", f"选址检查记录 {shown!r} 已过期",
                           param="id")
        return {"id": row[0], "created": row[1], "result": json.loads(row[2]),
                "site": json.loads(row[3]),
                "report": json.loads(row[4]) if row[4] is not None else None}

    def count(self) -> int:
        """Number of stored checks."""
        self._ready()
        conn = self._conn()
        with self._locked():
            return int(conn.execute("SELECT COUNT(*) FROM checks").fetchone()[0])

    def health(self) -> dict:
        """``{"status": "ok"|"degraded", "problem", "checks", "bytes", quotas}`` of the store."""
        problem = None
        try:
            self._ready()
            problem = self._read_only_problem() or self._write_problem
            if problem is None and self._open_problem is None:
                with self._locked():
                    if self._over_quota(self._conn(), 0):
                        problem = ("the store has reached its quota (STORE_MAX_CHECKS / "
                                   "STORE_MAX_BYTES): new site checks are not stored")
        except StoreUnavailable as exc:
            problem = exc.message_en
        except sqlite3.Error as exc:
            problem = self._file_problem() or _describe(exc)
        out = {"status": "degraded" if problem else "ok", "problem": problem,
               "checks": None, "bytes": None,
               "max_checks": self.max_checks or None, "max_bytes": self.max_bytes or None}
        if self._open_problem is None:
            try:
                conn = self._conn()
                with self._locked():
                    row = conn.execute(
                        "SELECT n, bytes FROM store_stats WHERE k = 0").fetchone()
                out["checks"], out["bytes"] = int(row[0]), int(row[1])
            except (sqlite3.Error, TypeError) as exc:
                out["status"], out["problem"] = "degraded", problem or _describe(exc)
        return out

    def close(self) -> None:
        """Close this thread's connection."""
        self._drop_conn()


class _nolock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _describe(exc: BaseException) -> str:
    """A store failure in words, without the server path."""
    text = str(exc)
    low = text.lower()
    if "full" in low or getattr(exc, "errno", None) == 28:
        return "the disk holding the store is full"
    if "readonly" in low or "read-only" in low or getattr(exc, "errno", None) == 30:
        return "the store is read-only"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return "the store file is corrupt (not a valid SQLite database)"
    if "unable to open" in low:
        return "the store file cannot be opened"
    return f"the store failed: {type(exc).__name__}"


def _unavailable(problem: str) -> StoreUnavailable:
    return StoreUnavailable(
        "store_unavailable",
        f"stored site checks are unavailable: {problem}; site checks cannot be stored now "
        "(the map, layers, OGC API and exports are not affected)",
        f"选址检查存储不可用：{problem}；暂时无法保存选址检查"
        "（地图、图层、OGC 服务和导出不受影响）")


def check_delete_token(stored_hash, token) -> None:
    """Raise :class:`DeleteForbidden` unless ``token`` hashes to the stored delete hash."""
    if not token or stored_hash is None or not hmac.compare_digest(
            stored_hash, _token_hash(str(token))):
        raise DeleteForbidden(
            "invalid_delete_token",
            "deleting a stored check needs the delete_token returned when it was "
            "stored (header X-Delete-Token)",
            "删除选址检查记录需要保存时返回的 delete_token（请求头 X-Delete-Token）",
            param="X-Delete-Token")


def expired(created, max_age_s) -> bool:
    """Whether a check created at ``created`` (epoch s) is past ``max_age_s`` (0: never)."""
    return bool(max_age_s) and isinstance(created, (int, float)) and \
        created < time.time() - max_age_s


def _not_found(check_id) -> NotFound:
    shown = str(check_id)[:80]
    return NotFound("check_not_found", f"no stored site check with id {shown!r}",
                    f"未找到编号为 {shown!r} 的选址检查记录", param="id")


def open_check_store(config):
    """The check store the settings name: PostgreSQL when ``DATABASE_URL`` is set (shared by
    every instance, :class:`server.pgstate.PgCheckStore`), else the SQLite file ``DB_PATH``.

    Parameters
    ----------
    config : Mapping
        The app's settings (``DB_PATH``, ``DATABASE_URL``, ``STORE_MAX_*``).
    """
    bounds = {"max_checks": config["STORE_MAX_CHECKS"], "max_bytes": config["STORE_MAX_BYTES"],
              "max_age_s": float(config["STORE_MAX_AGE_DAYS"]) * 86400}
    if config.get("DATABASE_URL"):
        from planmap.server.pgstate import PgCheckStore

        return PgCheckStore(config["DATABASE_URL"], **bounds)
    return CheckStore(config["DB_PATH"], **bounds)
