from pathlib import Path

import pytest

from server import settings

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
