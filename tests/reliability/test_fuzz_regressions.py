"""Every input the fuzz campaign (``tests/reliability/fuzz.py``) found escaping the domain
errors, minimised, with the code it gets now.

Each case runs the fuzz target itself, below ``parse_site``'s catch-all, so a case that
regresses fails here with the raw exception, not a generic ``invalid_<format>``.  (The fuzz
targets use small limits; see ``fuzz.make_target``.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from planmap.geo.errors import PlanmapError

from tests.reliability.fuzz import make_target
from tests.reliability.support import make_zip

CASES = [
    # kml, 1st minute of fuzzing: an encoding name longer than the declaration pattern
    # allowed slipped past the allowlist and expat raised LookupError.
    ("kml", b'<?xml version="1.0" encoding="UTF-8' + b"9" * 80 + b'"?>\n<kml/>',
     "unsupported_encoding"),
    # import_shpzip, 1st minute: a zip member with an empty name made ZipInfo.is_dir
    # raise IndexError in the importer's member listing.
    ("import_shpzip", make_zip({"parcel.3hp": b"x", "": b""}), "no_layer_found"),
    # import_gpkg, 3rd minute: a GeoPackage whose only table has no geometry column made
    # pyogrio return a plain DataFrame, and the importer's .geometry raised AttributeError.
    ("import_gpkg", lambda: attributes_only_gpkg(), "no_geometry_column"),
    # import_shpzip, CI run of the merged head: a .prj naming a non-Earth body made
    # geopandas' to_crs raise pyproj's ProjError in the importer.
    ("import_shpzip", lambda: (Path(__file__).parent / "fuzz_corpus"
                               / "regression_non_earth_prj.zip").read_bytes(), "invalid_crs"),
]


def attributes_only_gpkg() -> bytes:
    import pandas as pd
    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.gpkg"
        pyogrio.write_dataframe(pd.DataFrame({"id": ["a"], "name": ["x"]}), path,
                                driver="GPKG")
        return path.read_bytes()


@pytest.mark.parametrize("target, data, code",
                         [pytest.param(*c, id=f"{c[0]}-{i}") for i, c in enumerate(CASES)])
def test_fuzz_finding_gets_its_code(target, data, code):
    if callable(data):
        data = data()
    with pytest.raises(PlanmapError) as info:
        make_target(target)(data)
    assert info.value.code == code, info.value.to_dict()
