"""A Shapefile's ``.prj`` matched onto the supported CRS list.

By its EPSG code, else parameter by parameter.
"""

from __future__ import annotations

import math
import re
import warnings

from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError
from planmap.geo.io.common import _decode_text, _err
from planmap.geo.io.safety import MAX_PRJ_BYTES
from planmap.geo.vocab import SUPPORTED_CRS

_EPSG_CODES = tuple(int(c[5:]) for c in SUPPORTED_CRS if c.startswith("EPSG:"))

_WKT_CRS_START = re.compile(r"^\s*(PROJCS|GEOGCS|PROJCRS|GEOGCRS|GEODCRS|BASEGEOGCRS)\s*\[",
                            re.IGNORECASE)


def _prj_crs(prj: bytes) -> str:
    """Map a .prj (WKT) onto a supported CRS via its EPSG code."""
    if len(prj) > MAX_PRJ_BYTES:
        raise _err(CRSError, "unsupported_crs", ".prj file is too large", ".prj 文件过大", "prj")
    text = _decode_text(prj, "prj").strip()
    if not _WKT_CRS_START.match(text):
        raise _err(CRSError, "unsupported_crs", ".prj is not a WKT coordinate system",
                   ".prj 不是 WKT 坐标系定义", "prj")
    import pyproj  # local: only shapefile input needs it here

    try:
        found = pyproj.CRS.from_wkt(text)
        code = found.to_epsg(min_confidence=70)
        if code not in _EPSG_CODES:
            # Same maths under another code or an ESRI name (e.g. EPSG:4510, the 6° "CM 123E"
            # with identical parameters, or "CGCS2000_3_Degree_GK_CM_123E"): match by
            # parameters rather than by name.
            code = _match_by_parameters(found) or code
    except pyproj.exceptions.CRSError:
        code = None
    if code is not None:
        try:
            return gcrs.parse_crs(f"EPSG:{code}", param="prj")
        except CRSError:
            pass
    raise _err(CRSError, "unsupported_crs",
               f"the .prj coordinate system is not supported (EPSG:{code}); supported: "
               f"{', '.join(gcrs.SUPPORTED_CRS)}",
               f".prj 中的坐标系不受支持（EPSG:{code}）；支持：{', '.join(gcrs.SUPPORTED_CRS)}",
               "prj")
def _match_by_parameters(found) -> int | None:
    """EPSG code of the supported CRS that ``found`` equals parameter by parameter."""
    ell = found.ellipsoid
    if ell is None:
        return None
    grs80 = abs(ell.semi_major_metre - 6378137.0) < 1e-3 and abs(
        ell.inverse_flattening - 298.257222101) < 1e-6
    wgs84 = abs(ell.semi_major_metre - 6378137.0) < 1e-3 and abs(
        ell.inverse_flattening - 298.257223563) < 1e-6
    if found.is_geographic and not found.is_projected:
        return 4490 if grs80 else 4326 if wgs84 else None
    if not (found.is_projected and grs80):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # to_dict warns that PROJ strings lose detail
        params = found.to_dict()

    def num(key, default=0.0):
        try:
            return float(params.get(key, default))
        except (TypeError, ValueError):
            return math.nan

    if (params.get("proj") != "tmerc" or params.get("units", "m") != "m"
            or num("lon_0") != 123.0 or num("lat_0") != 0.0 or num("y_0") != 0.0
            or num("k", num("k_0", 1.0)) != 1.0):
        return None
    return {500000.0: 4550, 41500000.0: 4529}.get(num("x_0"))
