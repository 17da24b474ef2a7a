"""The check store's contract, on both backends (SQLite file, PostgreSQL)."""

import threading

import pytest

from geo.errors import NotFound
from server.store import CheckStore


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
