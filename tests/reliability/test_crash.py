"""No data lost: a writer killed mid-write, and readers running while writers write.

(a) Stored site checks (``server.store.CheckStore``, SQLite in WAL mode): a subprocess
    saves checks in a loop and is SIGKILLed; every check it reported as saved is intact,
    the database passes ``PRAGMA integrity_check`` and stays in WAL mode; a reader running
    during the writes only ever sees complete records.
(b) Layer files (``layers.importer``): a writer process imports and restores a layer over
    and over while a reader process loads the data; every read is the old or the new
    version as a whole, never a mix and never a parse error.  (The kill-mid-import test
    lives with the importer: ``tests/layers/test_import.py``.)
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from planmap.server.store import CheckStore

ROOT = Path(__file__).resolve().parents[2]

# The writer: saves checks whose result carries its own checksum; prints "<seq> <id>" once
# save() has returned (i.e. after the commit).
STORE_WRITER = r"""
import hashlib, json, sys
from planmap.server.store import CheckStore
store = CheckStore(sys.argv[1])
seq = 0
while True:
    payload = "字" * 20000 + str(seq)           # ~60 KB per check: writes take a while
    result = {"seq": seq, "payload": payload,
              "sha": hashlib.sha256(payload.encode()).hexdigest()}
    check_id = store.save(result, {"type": "Point", "coordinates": [122.8, 45.6 + seq * 1e-6]})
    print(seq, check_id, flush=True)
    seq += 1
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _complete(result: dict) -> bool:
    return hashlib.sha256(result["payload"].encode()).hexdigest() == result["sha"]


def test_store_killed_mid_write_keeps_every_committed_check(tmp_path):
    db = tmp_path / "checks.sqlite3"
    CheckStore(db)  # create the schema first so the reader can start at once
    reported: dict[int, str] = {}
    seen_by_reader: set[str] = set()
    reader_problems: list[str] = []
    stop = threading.Event()

    def reader():
        store = CheckStore(db)
        conn = sqlite3.connect(db, timeout=30)
        while not stop.is_set():
            ids = [r[0] for r in conn.execute("SELECT id FROM checks")]
            for check_id in ids:
                if check_id in seen_by_reader:
                    continue
                try:
                    rec = store.get(check_id)
                    if not _complete(rec["result"]):
                        reader_problems.append(f"{check_id}: incomplete record")
                except Exception as exc:  # any error at all is a failure here
                    reader_problems.append(f"{check_id}: {type(exc).__name__}: {exc}")
                seen_by_reader.add(check_id)
        conn.close()
        store.close()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    proc = subprocess.Popen([sys.executable, "-c", STORE_WRITER, str(db)], cwd=ROOT,
                            env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(reported) < 40 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seq, check_id = line.split()
            reported[int(seq)] = check_id
        proc.send_signal(signal.SIGKILL)  # mid-way through the next save
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        time.sleep(0.2)
        stop.set()
        thread.join(10)
    assert proc.returncode == -signal.SIGKILL
    assert len(reported) >= 40, "the writer did not get going"

    store = CheckStore(db)  # re-opening after the crash recovers the WAL
    for seq, check_id in reported.items():
        rec = store.get(check_id)
        assert rec["result"]["seq"] == seq
        assert _complete(rec["result"])
        assert rec["site"]["coordinates"][1] == pytest.approx(45.6 + seq * 1e-6)
    assert store.count() >= len(reported)  # a check committed just before the kill may exist
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    # every stored row, including any the writer did not get to report, is complete
    for (text,) in conn.execute("SELECT result FROM checks"):
        assert _complete(json.loads(text))
    conn.close()
    assert reader_problems == []
    assert seen_by_reader, "the reader saw nothing while the writer ran"


# ------------------------------------------------------------------ layer import

LAYER_WRITER = r"""
import sys
from planmap.layers.importer import import_layer, restore_previous
data_dir, new_file, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(rounds):
    import_layer(new_file, "zones", data_dir=data_dir)
    restore_previous("zones", data_dir=data_dir)
print("done", flush=True)
"""

LAYER_READER = r"""
import hashlib, json, sys, time
from planmap import layers
data_dir, seconds = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        data = layers.load(data_dir)  # strict: a torn or invalid file raises
        gdf = data.layers["zones"]
        key = hashlib.sha256(b"".join(sorted(g.wkb for g in gdf.geometry))).hexdigest()
        print("ok", ",".join(sorted(gdf.index)), key, flush=True)
    except Exception as exc:
        print("error", type(exc).__name__, str(exc)[:200].replace("\n", " "), flush=True)
"""


def _layer_key(data_dir: Path) -> tuple[str, str]:
    from planmap import layers

    gdf = layers.load(data_dir).layers["zones"]
    return (",".join(sorted(gdf.index)),
            hashlib.sha256(b"".join(sorted(g.wkb for g in gdf.geometry))).hexdigest())


@pytest.mark.slow
def test_layer_readers_see_old_or_new_version_never_a_mix(mini_data_dir, tmp_path):
    from planmap.layers.importer import import_layer, restore_previous

    # version B: the same features moved 0.01° east (a mix would show up in the hash)
    target = mini_data_dir / "data" / "zones.geojson"
    fc = json.loads(target.read_text("utf-8"))

    def shift(c):
        return [shift(v) for v in c] if isinstance(c[0], list) else [c[0] + 0.01, c[1]]

    for f in fc["features"]:
        f["geometry"]["coordinates"] = shift(f["geometry"]["coordinates"])
    new_file = tmp_path / "zones_b.geojson"
    new_file.write_text(json.dumps(fc, ensure_ascii=False), "utf-8")

    # the two whole versions, as the importer writes them
    version_a = _layer_key(mini_data_dir)
    import_layer(new_file, "zones", data_dir=mini_data_dir)
    version_b = _layer_key(mini_data_dir)
    restore_previous("zones", data_dir=mini_data_dir)
    assert _layer_key(mini_data_dir) == version_a
    assert version_a[1] != version_b[1]

    reader = subprocess.Popen([sys.executable, "-c", LAYER_READER, str(mini_data_dir), "6"],
                              cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
    writer = subprocess.Popen([sys.executable, "-c", LAYER_WRITER, str(mini_data_dir),
                               str(new_file), "8"], cwd=ROOT, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        w_out, w_err = writer.communicate(timeout=120)
        r_out, _ = reader.communicate(timeout=120)
    finally:
        for p in (reader, writer):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert writer.returncode == 0, w_err[-2000:]
    assert "done" in w_out
    reads = [line.split(" ", 2) for line in r_out.splitlines() if line]
    errors = [r for r in reads if r[0] != "ok"]
    assert errors == [], errors[:5]
    seen = {(ids, key) for _, ids, key in reads}
    assert seen <= {version_a, version_b}, seen - {version_a, version_b}
    assert len(reads) >= 10
