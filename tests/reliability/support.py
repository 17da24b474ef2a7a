"""Helpers of the reliability suite: the error-shape check, hostile files, a real server."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from contextlib import contextmanager

ERROR_KEYS = {"status", "code", "param", "message_en", "message_zh"}

# A small site inside Baicheng (main city), closed, counter-clockwise.
SQUARE = [[122.83, 45.61], [122.84, 45.61], [122.84, 45.62], [122.83, 45.62], [122.83, 45.61]]
BOWTIE = [[122.83, 45.61], [122.84, 45.62], [122.84, 45.61], [122.83, 45.62], [122.83, 45.61]]


def assert_error(response, status, code=None, param=None):
    """The one JSON error shape, with a specific status and code; returns the error dict."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:400]
    assert response.mimetype == "application/json", response.mimetype
    body = json.loads(text)
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == ERROR_KEYS
    assert err["status"] == status
    assert err["message_en"] and err["message_zh"]
    # never a traceback or a server-side path in what the user sees
    for message in (err["message_en"], err["message_zh"]):
        assert "Traceback" not in message
        assert "/tmp/" not in message and "/work/" not in message and "site-packages" not in message
    if code is not None:
        assert err["code"] == code, err
    if param is not None:
        assert err["param"] == param, err
    return err


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, content in members.items():
            zf.writestr(zipfile.ZipInfo(name), content, compress_type=compression)
    return buf.getvalue()


def zip_bomb(expanded_bytes: int = 200 * 1024 * 1024) -> bytes:
    """A 'shapefile' zip whose .shp deflates from ~200 KB to ``expanded_bytes`` of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("site.shp", "w", force_zip64=True) as out:
            chunk = b"\0" * (1 << 20)
            for _ in range(expanded_bytes // len(chunk)):
                out.write(chunk)
        zf.writestr("site.shx", b"\0" * 100)
        zf.writestr("site.dbf", b"\0" * 100)
    return buf.getvalue()


@contextmanager
def real_server(app, threads: int = 4):
    """Serve ``app`` under waitress on 127.0.0.1 (free port) with the options ``serve`` uses."""
    from planmap.server.commands import make_server

    server = make_server(app, "127.0.0.1", 0, threads)
    closing = threading.Event()

    def run():
        try:
            server.run()
        except (OSError, ValueError):
            if not closing.is_set():  # closing the socket under select() is expected
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        closing.set()
        server.close()
        thread.join(timeout=5)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of one process (``VmRSS``), KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (the worker processes of ``planmap serve``)."""
    import os

    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


@contextmanager
def planmap_serve(tmp_path, env: dict | None = None, threads: int = 8, start_timeout: float = 180):
    """Run ``planmap serve`` as a subprocess on 127.0.0.1 (a free port); yield (base, pid).

    The server gets a private SQLite file; it is stopped (SIGTERM, then SIGKILL) on exit.
    Only loopback is ever contacted.
    """
    import os
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    port = _free_port()
    root = Path(__file__).resolve().parents[2]
    full_env = dict(os.environ, PLANMAP_DB_PATH=str(tmp_path / "serve.sqlite3"),
                    PYTHONPATH=str(root))
    full_env.update(env or {})
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "planmap.server.cli", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--threads", str(threads)], cwd=str(root), env=full_env,
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("planmap serve exited: "
                                   + (tmp_path / "serve.log").read_text("utf-8", "replace"))
            try:
                urllib.request.urlopen(base + "/-/health", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
