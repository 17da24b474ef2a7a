"""The accounts store: users, login sessions, API tokens, who owns a stored check, share
links, and the append-only audit log (issue 14).

SQLite by default (a file beside ``DB_PATH`` unless ``AUTH_DB_PATH`` names one), in WAL
mode with ``synchronous=FULL``: a committed audit row survives a kill -9 or a power cut.
The interface other stores implement is the public methods of :class:`AccountStore`
(a PostGIS store would provide the same methods).

Secrets are never stored: passwords as argon2id hashes (argon2-cffi), session ids, API
tokens and share tokens (all 256-bit random values) as SHA-256 hashes.
The ``audit`` table refuses UPDATE and DELETE (triggers): it is append-only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path

ROLES = ("planner", "admin")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,63}$")
ORG_RE = re.compile(r"^[^\x00-\x1f]{1,100}$")
TOKEN_PREFIX = "pm_"  # API tokens are recognisable in basic-auth passwords and in logs

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        display TEXT NOT NULL DEFAULT '',
        org TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('planner', 'admin')),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until REAL NOT NULL DEFAULT 0,
        created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        sid_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        csrf TEXT NOT NULL,
        created REAL NOT NULL,
        last_seen REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        revoked REAL,
        last_used REAL)""",
    """CREATE TABLE IF NOT EXISTS check_owner (
        check_id TEXT PRIMARY KEY,
        org TEXT NOT NULL,
        username TEXT NOT NULL,
        created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS share_links (
        token_hash TEXT PRIMARY KEY,
        check_id TEXT NOT NULL,
        username TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        username TEXT NOT NULL,
        org TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        data_version TEXT NOT NULL,
        client TEXT NOT NULL,
        result TEXT NOT NULL,
        status INTEGER NOT NULL,
        detail TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts)",
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)

AUDIT_COLUMNS = ("id", "ts", "username", "org", "action", "target", "data_version", "client",
                 "result", "status", "detail")


class AccountError(ValueError):
    """A bad user name, role, organisation or password given to the store."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


class AccountStore:
    """Users, sessions, tokens, ownership, share links and the audit log in one SQLite file.

    Parameters
    ----------
    path : str or Path
        The database file (``":memory:"`` for tests: one shared, locked connection).
    argon2_memory_kib : int
        Memory cost of one password hash.
    """

    def __init__(self, path, argon2_memory_kib: int = 65536):
        from argon2 import PasswordHasher

        self.path = str(path)
        self._memory = self.path == ":memory:"
        self._local = threading.local()
        self._lock = threading.RLock()
        self._shared = None
        self.hasher = PasswordHasher(time_cost=3, memory_cost=int(argon2_memory_kib),
                                     parallelism=1)
        self._start_dummy()
        if not self._memory:
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        with self._lock:
            for statement in _SCHEMA:
                conn.execute(statement)

    def _start_dummy(self) -> None:
        """Hash the dummy password in the background (~0.25-0.75 s of CPU: not at start-up)."""
        self._dummy_hash = None
        self._dummy_lock = threading.Lock()
        threading.Thread(target=lambda: self._dummy, name="planmap-dummy-hash",
                         daemon=True).start()

    @property
    def _dummy(self) -> str:
        """A hash to verify against for unknown users, so their answer takes as long."""
        if self._dummy_hash is None:
            with self._dummy_lock:
                if self._dummy_hash is None:
                    self._dummy_hash = self.hasher.hash(secrets.token_hex(8))
        return self._dummy_hash

    # ------------------------------------------------------------------ connection

    def _conn(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", check_same_thread=False,
                                               isolation_level=None)
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed audit row is on disk before the request answers (kill -9)
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def _run(self, sql: str, args=()) -> sqlite3.Cursor:
        conn = self._conn()
        with self._lock:
            return conn.execute(sql, args)

    def _one(self, sql: str, args=()):
        return self._run(sql, args).fetchone()

    # ------------------------------------------------------------------ users

    def add_user(self, username: str, password: str, org: str, role: str = "planner",
                 display: str = "") -> dict:
        username = normalise_username(username)
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(org, str) or not ORG_RE.match(org.strip()):
            raise AccountError("organisation must be 1-100 printable characters")
        check_password(password)
        try:
            self._run("INSERT INTO users (username, display, org, role, password_hash, created)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      (username, display.strip()[:100], org.strip(), role,
                       self.hasher.hash(password), time.time()))
        except sqlite3.IntegrityError:
            raise AccountError(f"user {username!r} exists already") from None
        return self.user(username)

    def user(self, username: str) -> dict | None:
        row = self._one("SELECT id, username, display, org, role, disabled, failures, "
                        "locked_until, created FROM users WHERE username = ?",
                        (str(username).strip().lower(),))
        return _user(row)

    def user_by_id(self, user_id: int) -> dict | None:
        row = self._one("SELECT id, username, display, org, role, disabled, failures, "
                        "locked_until, created FROM users WHERE id = ?", (user_id,))
        return _user(row)

    def users(self) -> list[dict]:
        rows = self._run("SELECT id, username, display, org, role, disabled, failures, "
                         "locked_until, created FROM users ORDER BY username").fetchall()
        return [_user(r) for r in rows]

    def count_admins(self) -> int:
        return self._one("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")[0]

    def set_disabled(self, username: str, disabled: bool = True) -> dict:
        user = self._need(username)
        self._run("UPDATE users SET disabled = ? WHERE id = ?", (1 if disabled else 0, user["id"]))
        if disabled:  # a disabled user's sessions end now and its tokens stop working
            self._run("DELETE FROM sessions WHERE user_id = ?", (user["id"],))
        return self.user(username)

    def set_role(self, username: str, role: str) -> dict:
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        user = self._need(username)
        self._run("UPDATE users SET role = ? WHERE id = ?", (role, user["id"]))
        return self.user(username)

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        user = self._need(username)
        self._run("UPDATE users SET password_hash = ?, failures = 0, locked_until = 0 "
                  "WHERE id = ?", (self.hasher.hash(password), user["id"]))
        self._run("DELETE FROM sessions WHERE user_id = ?", (user["id"],))

    def unlock(self, username: str) -> None:
        user = self._need(username)
        self._run("UPDATE users SET failures = 0, locked_until = 0 WHERE id = ?", (user["id"],))

    def _need(self, username: str) -> dict:
        user = self.user(username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        return user

    def verify_password(self, username: str, password: str, max_failures: int,
                        lockout_s: float) -> tuple[str, dict | None]:
        """Check a login: ``("ok", user)``, ``("locked", user)``, ``("disabled", user)`` or
        ``("bad", user-or-None)``.  Failures count towards the lock-out; a success resets."""
        from argon2.exceptions import InvalidHashError, VerificationError

        name = str(username or "").strip().lower()
        row = self._one("SELECT id, password_hash, disabled, failures, locked_until FROM users "
                        "WHERE username = ?", (name,))
        now = time.time()
        if row is None:
            try:
                self.hasher.verify(self._dummy, str(password or ""))
            except VerificationError:
                pass
            return "bad", None
        user = self.user_by_id(row[0])
        if row[4] > now:
            # the same argon2 cost as any other answer: time tells no locked name apart
            try:
                self.hasher.verify(self._dummy, str(password or ""))
            except VerificationError:
                pass
            return "locked", user
        try:
            self.hasher.verify(row[1], str(password or ""))
        except (VerificationError, InvalidHashError):
            failures = row[3] + 1
            locked = now + lockout_s if max_failures and failures >= max_failures else 0
            self._run("UPDATE users SET failures = ?, locked_until = ? WHERE id = ?",
                      (0 if locked else failures, locked, row[0]))
            return ("locked" if locked else "bad"), user
        if row[2]:
            return "disabled", user
        if row[3]:
            self._run("UPDATE users SET failures = 0 WHERE id = ?", (row[0],))
        return "ok", user

    # ------------------------------------------------------------------ sessions

    def new_session(self, user_id: int) -> tuple[str, str]:
        """A fresh session id and its CSRF token (the id is never one the client chose)."""
        sid, csrf = new_secret(), new_secret()
        now = time.time()
        self._run("INSERT INTO sessions (sid_hash, user_id, csrf, created, last_seen) "
                  "VALUES (?, ?, ?, ?, ?)", (_hash(sid), user_id, csrf, now, now))
        return sid, csrf

    def session(self, sid: str, max_idle_s: float) -> tuple[dict, str] | None:
        """``(user, csrf)`` of a live session, else None (expired sessions are dropped)."""
        if not sid:
            return None
        key = _hash(sid)
        row = self._one("SELECT user_id, csrf, last_seen FROM sessions WHERE sid_hash = ?",
                        (key,))
        if row is None:
            return None
        now = time.time()
        if now - row[2] > max_idle_s:
            self._run("DELETE FROM sessions WHERE sid_hash = ?", (key,))
            return None
        user = self.user_by_id(row[0])
        if user is None or user["disabled"]:
            return None
        if now - row[2] > 60:  # one write a minute per session, not one per request
            self._run("UPDATE sessions SET last_seen = ? WHERE sid_hash = ?", (now, key))
        return user, row[1]

    def end_session(self, sid: str) -> None:
        if sid:
            self._run("DELETE FROM sessions WHERE sid_hash = ?", (_hash(sid),))

    # ------------------------------------------------------------------ API tokens

    def new_token(self, username: str, name: str = "") -> tuple[int, str]:
        """``(token id, token)``: the token is shown once and stored only as its hash."""
        user = self._need(username)
        token = new_secret(TOKEN_PREFIX)
        cur = self._run("INSERT INTO api_tokens (user_id, name, token_hash, created) "
                        "VALUES (?, ?, ?, ?)",
                        (user["id"], (name or "token").strip()[:100], _hash(token), time.time()))
        return cur.lastrowid, token

    def token_user(self, token: str) -> dict | None:
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        row = self._one("SELECT id, user_id, last_used FROM api_tokens WHERE token_hash = ? "
                        "AND revoked IS NULL", (_hash(token),))
        if row is None:
            return None
        user = self.user_by_id(row[1])
        if user is None or user["disabled"]:
            return None
        now = time.time()
        if row[2] is None or now - row[2] > 60:
            self._run("UPDATE api_tokens SET last_used = ? WHERE id = ?", (now, row[0]))
        return user

    def tokens(self, username: str | None = None) -> list[dict]:
        sql = ("SELECT t.id, u.username, t.name, t.created, t.revoked, t.last_used FROM "
               "api_tokens t JOIN users u ON u.id = t.user_id")
        args: tuple = ()
        if username:
            sql += " WHERE u.username = ?"
            args = (str(username).strip().lower(),)
        rows = self._run(sql + " ORDER BY t.id", args).fetchall()
        keys = ("id", "username", "name", "created", "revoked", "last_used")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def revoke_token(self, token_id: int, username: str | None = None) -> bool:
        """Revoke a token (of ``username`` when given); True when one was revoked."""
        sql = "UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL"
        args: tuple = (time.time(), int(token_id))
        if username:
            sql += " AND user_id = (SELECT id FROM users WHERE username = ?)"
            args += (str(username).strip().lower(),)
        return self._run(sql, args).rowcount > 0

    # ------------------------------------------------------------------ stored checks

    def own_check(self, check_id: str, org: str, username: str) -> None:
        self._run("INSERT OR REPLACE INTO check_owner (check_id, org, username, created) "
                  "VALUES (?, ?, ?, ?)", (check_id, org, username, time.time()))

    def check_owner(self, check_id: str) -> dict | None:
        row = self._one("SELECT org, username FROM check_owner WHERE check_id = ?", (check_id,))
        return None if row is None else {"org": row[0], "username": row[1]}

    def new_share(self, check_id: str, username: str, days: float) -> tuple[str, float]:
        token = new_secret()
        expires = time.time() + float(days) * 86400
        self._run("INSERT INTO share_links (token_hash, check_id, username, created, expires) "
                  "VALUES (?, ?, ?, ?, ?)", (_hash(token), check_id, username, time.time(),
                                             expires))
        return token, expires

    def share_valid(self, check_id: str, token: str | None) -> bool:
        if not token:
            return False
        row = self._one("SELECT expires FROM share_links WHERE token_hash = ? AND check_id = ?",
                        (_hash(str(token)), check_id))
        return row is not None and row[0] > time.time()

    # ------------------------------------------------------------------ audit

    def audit(self, username: str, org: str, action: str, target: str, data_version: str,
              client: str, result: str, status: int, detail: str = "") -> int:
        """Append one audit row (committed, synchronous=FULL) and return its id."""
        cur = self._run(
            "INSERT INTO audit (ts, username, org, action, target, data_version, client, "
            "result, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), username or "", org or "", action, str(target or "")[:300],
             str(data_version or ""), str(client or "")[:100], result, int(status),
             str(detail or "")[:500]))
        return cur.lastrowid

    def audit_rows(self, user: str = "", action: str = "", since: float | None = None,
                   until: float | None = None, limit: int = 500) -> list[dict]:
        """Audit rows, newest first, filtered by user, action, and time range (UTC s)."""
        sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit WHERE 1 = 1"
        args: list = []
        if user:
            sql += " AND username = ?"
            args.append(user.strip().lower())
        if action:
            sql += " AND action = ?"
            args.append(action)
        if since is not None:
            sql += " AND ts >= ?"
            args.append(since)
        if until is not None:
            sql += " AND ts < ?"
            args.append(until)
        sql += " ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [dict(zip(AUDIT_COLUMNS, r, strict=True)) for r in self._run(sql, args).fetchall()]

    def audit_actions(self) -> list[str]:
        return [r[0] for r in self._run("SELECT DISTINCT action FROM audit ORDER BY action")]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def normalise_username(username: str) -> str:
    name = str(username or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise AccountError("user name: 1-64 lower-case letters, digits, _ . @ - "
                           "(starting with a letter or digit)")
    return name


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 10:
        raise AccountError("password must be at least 10 characters")
    if len(password) > 1000:
        raise AccountError("password must be at most 1000 characters")


def _user(row) -> dict | None:
    if row is None:
        return None
    keys = ("id", "username", "display", "org", "role", "disabled", "failures",
            "locked_until", "created")
    user = dict(zip(keys, row, strict=True))
    user["disabled"] = bool(user["disabled"])
    return user


def accounts_path(auth_db_path: str, db_path: str) -> str:
    """The accounts and audit file: ``AUTH_DB_PATH``, else ``<DB_PATH stem>-accounts<suffix>``.

    A file of its own, not the check store's: the check store is rebuilt, quota-bound and may
    be found corrupt or deleted (it degrades to 503); the users and the append-only audit
    trail must not share that fate, nor be the reason the check store looks replaced.
    """
    if auth_db_path:
        return auth_db_path
    if not db_path or db_path == ":memory:":
        return ":memory:"
    from pathlib import Path

    path = Path(db_path)
    return str(path.with_name(f"{path.stem}-accounts{path.suffix or '.sqlite3'}"))


def open_account_store(config):
    """The accounts store the settings name: PostgreSQL when ``DATABASE_URL`` is set (shared by
    every instance, :class:`server.pgstate.PgAccountStore`), else the SQLite file of
    :func:`accounts_path`.

    Parameters
    ----------
    config : Mapping
        The settings (``DATABASE_URL``, ``AUTH_DB_PATH``, ``DB_PATH``, ``ARGON2_MEMORY_KIB``).

    Raises
    ------
    OSError, sqlite3.Error
        The store cannot be opened (a database that cannot be reached: OSError).
    """
    kib = int(config["ARGON2_MEMORY_KIB"])
    if config.get("DATABASE_URL"):
        from planmap.server.pgstate import PgAccountStore

        return PgAccountStore(config["DATABASE_URL"], argon2_memory_kib=kib)
    return AccountStore(accounts_path(config.get("AUTH_DB_PATH") or "", str(config["DB_PATH"])),
                        argon2_memory_kib=kib)


def accounts_where(config) -> str:
    """Where the accounts store is, for messages (never a database URL: it may hold a password)."""
    if config.get("DATABASE_URL"):
        return "the PostgreSQL database (PLANMAP_DATABASE_URL)"
    return accounts_path(config.get("AUTH_DB_PATH") or "", str(config["DB_PATH"]))
