"""What an anonymous client can learn about the server (issue 22 item 8).

``/static/`` served ``__init__.py``, ``package.json`` and ``refresh_vendor.sh``; ``/-/settings``
showed absolute paths of the data folder and the store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from planmap.server import STATIC_DIR, create_app
from planmap.server.security import static_allowed


@pytest.fixture(scope="module")
def secret_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("srv-secret-layout")


@pytest.fixture(scope="module")
def client(secret_dir):
    return create_app({"DB_PATH": str(secret_dir / "deep" / "checks.sqlite3")}).test_client()


@pytest.mark.parametrize("path", ["__init__.py", "package.json", "package-lock.json",
                                  "refresh_vendor.sh", "vendor/leaflet/VERSION",
                                  "vendor/leaflet/../../__init__.py", "%2e%2e/setup.cfg"])
def test_static_does_not_serve_non_assets(client, path):
    response = client.get(f"/static/{path}")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


def test_every_asset_the_pages_use_is_still_served(client):
    assets = [p for p in STATIC_DIR.rglob("*") if p.is_file() and static_allowed(
        p.relative_to(STATIC_DIR).as_posix())]
    assert {p.suffix for p in assets} >= {".js", ".css", ".png"}
    for p in assets:
        url = "/static/" + p.relative_to(STATIC_DIR).as_posix()
        assert client.get(url).status_code == 200, url
    # and the ones the map page links to
    html = client.get("/").get_data(as_text=True)
    for ref in ("/static/vendor/leaflet/leaflet.js", "/static/planmap.css"):
        assert ref in html
        assert client.get(ref).status_code == 200


def test_every_non_asset_in_static_is_refused(client):
    others = [p for p in STATIC_DIR.rglob("*") if p.is_file() and not static_allowed(
        p.relative_to(STATIC_DIR).as_posix())]
    assert {p.name for p in others} >= {"__init__.py", "package.json", "refresh_vendor.sh"}
    for p in others:
        assert client.get("/static/" + p.relative_to(STATIC_DIR).as_posix()).status_code == 404


def test_settings_page_shows_no_server_paths(client, secret_dir):
    response = client.get("/-/settings")
    text = response.get_data(as_text=True)
    assert str(secret_dir) not in text
    assert secret_dir.name not in text
    assert str(Path.cwd()) not in text
    values = {s["name"]: s["value"] for s in response.get_json()}
    assert values["DB_PATH"] == "…/checks.sqlite3"  # which file, not where
    assert values["MAX_VERTICES"] == 200_000  # numbers are shown as they are
