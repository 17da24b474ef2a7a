"""The check store's contract, on both backends (SQLite file, PostgreSQL)."""

import threading

import pytest
from planmap.geo.errors import NotFound
from planmap.server.store import CheckStore


def test_save_then_get_round_trips_result_and_site(check_store):
    store = check_store()
    result = {"verdict": "restricted", "site": {"area_m2": 1234.5}, "name": "白城"}
    site = {"type": "Point", "coordinates": [122.8, 45.6]}
    check_id = store.save(result, site)
    got = store.get(check_id)
    assert got["result"] == result
    assert got["site"] == site
    assert got["id"] == check_id


def test_the_sqlite_file_and_its_folder_are_created(tmp_path):
    store = CheckStore(tmp_path / "sub" / "c.db")
    store.save({"a": 1}, None)
    assert (tmp_path / "sub" / "c.db").exists()


def test_ids_are_unique_url_safe_tokens(check_store):
    store = check_store()
    ids = {store.save({"n": i}, None) for i in range(50)}
    assert len(ids) == 50
    for check_id in ids:
        assert len(check_id) >= 12
        assert all(c.isalnum() or c in "-_" for c in check_id)


@pytest.mark.parametrize("bad", ["nope", "", "../../etc/passwd", "x" * 500, None])
def test_unknown_or_malformed_id_raises_not_found(check_store, bad):
    store = check_store()
    with pytest.raises(NotFound):
        store.get(bad)


def test_checks_survive_reopening_the_store(check_store):
    check_id = check_store().save({"a": 1}, None)
    assert check_store().get(check_id)["result"] == {"a": 1}


def test_concurrent_writers_lose_nothing(check_store):
    store = check_store()
    saved, errors = [], []

    def work(k):
        try:
            for i in range(25):
                saved.append((store.save({"k": k, "i": i}, None), k, i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 150
    for check_id, k, i in saved:
        assert store.get(check_id)["result"] == {"k": k, "i": i}


def test_store_uses_wal_mode(tmp_path):
    import sqlite3

    path = tmp_path / "c.db"
    CheckStore(path)
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode.lower() == "wal"


def test_processes_starting_at_once_create_the_postgres_tables_once(pg_fresh_url):
    """Four processes open the check and accounts stores on an empty database together."""
    import os
    import subprocess
    import sys
    import time

    code = ("import sys, time\n"
            "from planmap.server.pgstate import PgAccountStore, PgCheckStore\n"
            "time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # all at once\n"
            "s = PgCheckStore(sys.argv[1])\n"
            "assert s._open_problem is None, s._open_problem\n"
            "s.save({'from': sys.argv[2]}, None)\n"
            "PgAccountStore(sys.argv[1], argon2_memory_kib=1024).audit("
            "'cli', '', 'start', sys.argv[2], '', 'local', 'ok', 0)\n")
    start = str(time.time() + 8)  # after every interpreter has imported planmap
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_fresh_url, str(k), start],
                              cwd=os.getcwd(), stderr=subprocess.PIPE) for k in range(4)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()[-1500:]
    from planmap.server.pgstate import PgAccountStore, PgCheckStore

    assert PgCheckStore(pg_fresh_url).count() == 4
    rows = PgAccountStore(pg_fresh_url, argon2_memory_kib=1024).audit_rows()
    assert sorted(r["target"] for r in rows) == ["0", "1", "2", "3"]
