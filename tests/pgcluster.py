"""A throw-away PostgreSQL + PostGIS cluster for the store tests.

``PLANMAP_TEST_DATABASE_URL`` (set by ``.ci/run``) names a database to use; without it
:func:`start` runs ``initdb`` in a temporary folder and ``pg_ctl start`` on a unix socket
there (no TCP port), as the ``postgres`` system user when run as root (initdb refuses
root). No PostgreSQL installed: skip locally, fail under ``PLANMAP_REQUIRE_EXTERNAL=1``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from tests.external import required


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _missing(message: str):
    if required():
        pytest.fail(message + " (PLANMAP_REQUIRE_EXTERNAL=1)")
    pytest.skip(message)


class Cluster:
    """A running cluster; :meth:`stop` removes it."""

    def __init__(self):
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not initdb or not pg_ctl:
            _missing("external program not found: initdb/pg_ctl (apt install postgresql)")
        self.pg_ctl = pg_ctl
        self.root = tempfile.mkdtemp(prefix="planmap_pg_")
        self.data = os.path.join(self.root, "data")
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            import pwd

            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                _missing("running as root and no 'postgres' user to run PostgreSQL as")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.prefix = [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]
        self._run([initdb, "-D", self.data, "-A", "trust", "-U", "planmap", "-E", "UTF8",
                   "--no-sync"])
        opts = f"-k {self.root} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self._run([pg_ctl, "-D", self.data, "-l", os.path.join(self.root, "log"), "-w",
                   "-o", opts, "start"])
        self.url = f"postgresql://planmap@/postgres?host={self.root}"

    def _run(self, cmd):
        out = subprocess.run(self.prefix + cmd, capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(f"{cmd[0]} failed: {out.stderr[-800:]}")

    def stop(self):
        subprocess.run(self.prefix + [self.pg_ctl, "-D", self.data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def database_url():
    """Yield a URL of a database with PostGIS (the given one, or a throw-away cluster)."""
    url = os.environ.get("PLANMAP_TEST_DATABASE_URL")
    cluster = None
    if not url:
        cluster = Cluster()
        url = cluster.url
    try:
        import psycopg
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[test]')")
    try:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            _missing(f"PostgreSQL/PostGIS not usable: {exc}")
        yield url  # (a test's own psycopg error stays a failure, not a skip)
    finally:
        if cluster is not None:
            cluster.stop()


def fresh_database(url: str, postgis: bool = False):
    """Yield the URL of a new, empty database on the server of ``url``; dropped afterwards.

    Tests that share state through PostgreSQL (stored checks, accounts) each get their own
    database, so no test sees another's rows.
    """
    import secrets
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = "pm_" + secrets.token_hex(6)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    fresh = urlunsplit(parts._replace(path="/" + name))
    try:
        if postgis:
            with psycopg.connect(fresh, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        yield fresh
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
