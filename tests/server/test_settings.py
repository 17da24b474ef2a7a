from pathlib import Path

import pytest
from planmap.server import settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "SETTINGS.md"


def test_every_setting_is_documented_with_its_default():
    text = DOC.read_text("utf-8")
    for s in settings.SETTINGS:
        assert f"| `{s.name}` | `{s.default}` |" in text, s.name


def test_environment_overrides_are_typed():
    values = settings.from_environ({"PLANMAP_MAX_VERTICES": "12", "PLANMAP_DB_PATH": "/tmp/x"})
    assert values["MAX_VERTICES"] == 12
    assert values["DB_PATH"] == "/tmp/x"
    assert values["MAX_PARTS"] == settings.DEFAULTS["MAX_PARTS"]


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ValueError, match="PLANMAP_MAX_POINTS"):
        settings.from_environ({"PLANMAP_MAX_POINTS": "many"})


def test_the_check_store_defaults_to_the_instance_folder(monkeypatch, tmp_path):
    """Not relative to the working directory, never inside the installed package."""
    monkeypatch.setenv("PLANMAP_HOME", str(tmp_path / "home"))
    values = settings.instance_paths(settings.from_environ())
    assert values["DB_PATH"] == str(tmp_path / "home" / "checks.sqlite3")
    named = settings.instance_paths(dict(settings.from_environ(), HOME=str(tmp_path / "other")))
    assert named["DB_PATH"] == str(tmp_path / "other" / "checks.sqlite3")
    given = settings.instance_paths(dict(settings.from_environ(), DB_PATH="/srv/c.db"))
    assert given["DB_PATH"] == "/srv/c.db"
