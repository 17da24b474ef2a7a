"""GDAL's ogrinfo (OAPIF driver) against a layer restricted to planners (issue 14): absent
without credentials, read with HTTP basic auth or an ``Authorization: Bearer`` header, and
refused once the token is revoked."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.external import need_program
from tests.server.live import live_server

pytestmark = pytest.mark.external

RESTRICTED = "ecology"
PASSWORD = "a long test password"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = {"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"),
              "RESTRICTED_LAYERS": RESTRICTED, "ARGON2_MEMORY_KIB": 1024, "WORKERS": 0}
    with live_server(config) as (base, app):
        store = app.extensions["planmap_accounts"]
        store.add_user("gis", PASSWORD, "白城市自然资源局")
        yield base, app, store


def ogrinfo(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([need_program("ogrinfo"), "-ro", *args], capture_output=True,
                            text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr[-2000:]
    return result


def listed(output: str) -> list[str]:
    return re.findall(r"^\d+: ([a-z0-9_]+) ", output, re.M)


def count(output: str) -> int:
    return int(re.search(r"^Feature Count: (\d+)$", output, re.M).group(1))


def test_restricted_collection_absent_without_credentials(served):
    base, _, _ = served
    names = listed(ogrinfo("-so", f"OAPIF:{base}/ogc").stdout)
    assert "admin" in names and RESTRICTED not in names
    assert ogrinfo("-so", f"OAPIF:{base}/ogc", RESTRICTED, check=False).returncode != 0


def test_ogrinfo_reads_it_with_basic_auth(served):
    base, app, _ = served
    out = ogrinfo("--config", "GDAL_HTTP_AUTH", "BASIC", "--config", "GDAL_HTTP_USERPWD",
                  f"gis:{PASSWORD}", "-so", f"OAPIF:{base}/ogc", RESTRICTED).stdout
    assert count(out) == len(app.extensions["planmap"].data.layers[RESTRICTED])


def test_ogrinfo_reads_it_with_a_bearer_token_until_revoked(served):
    base, app, store = served
    token_id, token = store.new_token("gis", "ogrinfo")
    header = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"]
    out = ogrinfo(*header, "-so", f"OAPIF:{base}/ogc").stdout
    assert RESTRICTED in listed(out)
    out = ogrinfo(*header, "-so", f"OAPIF:{base}/ogc", RESTRICTED).stdout
    assert count(out) == len(app.extensions["planmap"].data.layers[RESTRICTED])
    assert store.revoke_token(token_id)
    refused = ogrinfo(*header, "-so", f"OAPIF:{base}/ogc", check=False)
    assert refused.returncode != 0
    assert "401" in refused.stderr
