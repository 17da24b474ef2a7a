"""TRUSTED_PROXIES (issue 14): the client address behind nginx, and spoofing ignored."""

from __future__ import annotations

import pytest
from planmap.server import create_app
from planmap.server.proxies import client_address, parse_trusted

NETS = parse_trusted("10.0.0.5, 192.168.1.0/24")


def test_only_a_trusted_peer_is_believed_and_the_right_most_untrusted_hop_wins():
    # from an untrusted peer the header is the client's own writing: ignored
    assert client_address("203.0.113.9", "1.2.3.4", NETS) == "203.0.113.9"
    # nginx (trusted) appends the address it saw; what the client wrote left of it is not
    # believed
    assert client_address("10.0.0.5", "1.2.3.4, 198.51.100.7", NETS) == "198.51.100.7"
    # a chain of trusted proxies is skipped
    assert client_address("10.0.0.5", "198.51.100.7, 192.168.1.20", NETS) == "198.51.100.7"
    # garbage stops the walk at the last believable hop
    assert client_address("10.0.0.5", "198.51.100.7, not-an-ip", NETS) == "10.0.0.5"
    assert client_address("10.0.0.5", None, NETS) == "10.0.0.5"
    assert client_address("10.0.0.5", "1.2.3.4", ()) == "10.0.0.5"  # setting empty


def test_a_bad_setting_stops_the_start():
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        parse_trusted("10.0.0.5, nginx")


def _app(tmp_path, trusted):
    return create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0,
                       "ARGON2_MEMORY_KIB": 1024, "LOGIN_RATE_PER_MIN": 2,
                       "TRUSTED_PROXIES": trusted})


def _login(client, peer, xff):
    client.get("/auth/login")
    csrf = client.get_cookie("planmap_csrf").value
    return client.post("/auth/login", data={"username": "nobody", "password": "wrong one!!",
                                            "csrf_token": csrf},
                       headers={"X-Forwarded-For": xff},
                       environ_base={"REMOTE_ADDR": peer}).status_code


def test_audit_and_login_rate_use_the_forwarded_client_only_from_a_trusted_proxy(tmp_path):
    app = _app(tmp_path, "10.0.0.5")
    accounts = app.extensions["planmap_accounts"]
    client = app.test_client()
    # behind the trusted proxy: two clients are two addresses (own rate windows)
    assert [_login(client, "10.0.0.5", "198.51.100.1") for _ in range(3)] == [401, 401, 429]
    assert _login(client, "10.0.0.5", "198.51.100.2") == 401
    # an untrusted peer rotating a spoofed header is still one address: limited
    assert [_login(client, "203.0.113.9", f"1.1.1.{i}") for i in range(3)] == [401, 401, 429]
    clients = [r["client"] for r in accounts.audit_rows(limit=20, action="login")]
    assert set(clients) == {"198.51.100.1", "198.51.100.2", "203.0.113.9"}


def test_without_the_setting_the_header_is_ignored(tmp_path):
    app = _app(tmp_path, "")
    client = app.test_client()
    _login(client, "10.0.0.5", "198.51.100.1")
    rows = app.extensions["planmap_accounts"].audit_rows(limit=5, action="login")
    assert [r["client"] for r in rows] == ["10.0.0.5"]
