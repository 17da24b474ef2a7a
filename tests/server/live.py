"""A real planmap server on loopback (waitress in a thread) for independent clients."""

from __future__ import annotations

import threading
import urllib.request
from contextlib import contextmanager

from planmap.server import create_app
from waitress.server import create_server


@contextmanager
def live_server(config: dict, threads: int = 4):
    """Yield the base URL of a waitress server on 127.0.0.1 (a free port), then stop it."""
    app = create_app(config)
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="planmap")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        urllib.request.urlopen(base + "/-/health", timeout=30).read()
        yield base, app
    finally:
        server.close()
        thread.join(timeout=5)


def fetch(url: str, data: bytes | None = None, headers: dict | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()
