"""Coordinate reference systems: the allowlist, GCJ-02, transforms and area-of-use checks.

planmap accepts exactly five input CRSs (:data:`SUPPORTED_CRS`):

* ``EPSG:4326`` — WGS 84 longitude/latitude (also ``CRS84``);
* ``EPSG:4490`` — CGCS2000 geographic longitude/latitude;
* ``EPSG:4550`` — CGCS2000 3° Gauss-Krüger, central meridian 123°E, metres, easting ≈ 500 000;
* ``EPSG:4529`` — the same zone (41) with the zone number prefixed to the easting (41 xxx xxx);
* ``gcj02`` — the Chinese "Mars" datum used by AMap/Gaode, Tencent and Google China tiles.

User text never reaches :class:`pyproj.CRS`: :func:`parse_crs` maps it onto one of those
five names (or raises), and transformers are built only from that allowlist.

All geometry is stored in WGS 84 (lon, lat); areas and distances are computed in
:data:`METRIC_CRS` (EPSG:4550), whose central meridian runs through Baicheng.
Axis order is always x = easting/longitude, y = northing/latitude (``always_xy``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from planmap.geo.errors import CRSError, InvalidInput
from planmap.geo.vocab import CGCS2000, GCJ02, GK_CM123, GK_ZONE41, SUPPORTED_CRS, WGS84

# The CRS names and SUPPORTED_CRS (the only names planmap accepts) live in geo.vocab.

GEOGRAPHIC_CRS = frozenset({WGS84, CGCS2000, GCJ02})
PROJECTED_CRS = frozenset({GK_CM123, GK_ZONE41})

METRIC_CRS = GK_CM123
"""CRS in which areas (m²) and distances (m) are computed."""

CRS_LABELS = {
    WGS84: "WGS 84 lon/lat",
    CGCS2000: "CGCS2000 lon/lat",
    GK_CM123: "CGCS2000 3° Gauss-Krüger CM 123°E, metres",
    GK_ZONE41: "CGCS2000 3° Gauss-Krüger zone 41 (easting with 41 prefix), metres",
    GCJ02: "GCJ-02 (AMap/Gaode) lon/lat",
}

# Region of interest for geographic input: mainland China with a margin.  Baicheng lies
# well inside; anything outside is almost surely a mistake (swap, metres, typo).
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (18.0, 54.0)
# Baicheng City with a margin, used only to phrase hints.
BAICHENG_LON = (121.0, 125.5)
BAICHENG_LAT = (43.5, 47.0)
# Plausible range of zone-41 Gauss-Krüger coordinates (metres) around Baicheng:
# eastings of CM 123°E ± 3°, northings of latitude ~43°–47.8°.
GK_EASTING = (250_000.0, 750_000.0)
GK_NORTHING = (4_800_000.0, 5_300_000.0)
ZONE41_OFFSET = 41_000_000.0

_MAX_CRS_TEXT = 100

_EPSG_NAMES = {"4326": WGS84, "4490": CGCS2000, "4550": GK_CM123, "4529": GK_ZONE41}
_ALIASES = {
    "crs84": WGS84,
    "ogc:crs84": WGS84,
    "urn:ogc:def:crs:ogc:1.3:crs84": WGS84,
    "urn:ogc:def:crs:ogc::crs84": WGS84,
    "wgs84": WGS84,
    "wgs-84": WGS84,
    "wgs 84": WGS84,
    "cgcs2000": CGCS2000,
    "gcj02": GCJ02,
    "gcj-02": GCJ02,
    "gcj_02": GCJ02,
    "gcj 02": GCJ02,
}
_EPSG_PATTERNS = (
    re.compile(r"^(\d{4,5})$"),
    re.compile(r"^epsg:{1,2}(\d{4,5})$"),
    re.compile(r"^urn:ogc:def:crs:epsg:[0-9.]*:(\d{4,5})$"),
    re.compile(r"^https?://www\.opengis\.net/def/crs/epsg/0/(\d{4,5})$"),
)
_OGC_CRS84_URL = re.compile(r"^https?://www\.opengis\.net/def/crs/ogc/1\.3/crs84$")


def _unsupported(text: object, param: str) -> CRSError:
    shown = repr(text)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    listing = ", ".join(SUPPORTED_CRS)
    return CRSError(
        code="unsupported_crs",
        message_en=f"unsupported CRS {shown}; supported: {listing}",
        message_zh=f"不支持的坐标系 {shown}；支持：{listing}",
        param=param,
    )


def parse_crs(text: object, *, param: str = "crs") -> str:
    """Normalise a user-supplied CRS name onto :data:`SUPPORTED_CRS`.

    Parameters
    ----------
    text : str or int
        E.g. ``4326``, ``"4326"``, ``"epsg:4326"``, ``"CRS84"``,
        ``"http://www.opengis.net/def/crs/EPSG/0/4490"``, ``"GCJ-02"``.
    param : str, optional
        Parameter name reported in the error.

    Returns
    -------
    str
        One of :data:`SUPPORTED_CRS`.

    Raises
    ------
    CRSError
        ``unsupported_crs`` for anything else (other codes, PROJ strings, WKT, other
        URLs, non-strings); the message lists the supported CRSs.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)  # a JSON body may carry the EPSG code as a number
    if not isinstance(text, str) or len(text) > _MAX_CRS_TEXT:
        raise _unsupported(text, param)
    key = text.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if _OGC_CRS84_URL.match(key):
        return WGS84
    for pattern in _EPSG_PATTERNS:
        match = pattern.match(key)
        if match:
            name = _EPSG_NAMES.get(match.group(1))
            if name:
                return name
            break
    raise _unsupported(text, param)


# --------------------------------------------------------------------------- GCJ-02

_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the public formula
_GCJ_EE = 0.00669342162296594323
# The public formula leaves points outside this box unchanged.
_GCJ_LON = (73.66, 135.05)
_GCJ_LAT = (3.86, 53.55)


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS 84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    xp = x * pi
    yp = y * pi
    # This runs on millions of points and np.sin dominates, so: the term shared by both
    # offsets is computed once, sin(3a) = 3 sin a − 4 sin³ a replaces three sines, and
    # cos(lat) = √(1 − sin² lat) (lat within ±90°) replaces a cosine.
    s2x = np.sin(2.0 * xp)
    s3x = np.sin(xp / 3.0)
    s3y = np.sin(yp / 3.0)
    sin_6x = s2x * (3.0 - 4.0 * s2x * s2x)
    sin_x = s3x * (3.0 - 4.0 * s3x * s3x)
    sin_y = s3y * (3.0 - 4.0 * s3y * s3y)
    shared = (20.0 * sin_6x + 20.0 * s2x) * (2.0 / 3.0)
    sqrt_ax = np.sqrt(np.abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_ax + shared
    dlat += (20.0 * sin_y + 40.0 * s3y) * (2.0 / 3.0)
    dlat += (160.0 * np.sin(yp / 12.0) + 320.0 * np.sin(yp / 30.0)) * (2.0 / 3.0)
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_ax + shared
    dlon += (20.0 * sin_x + 40.0 * s3x) * (2.0 / 3.0)
    dlon += (150.0 * np.sin(xp / 12.0) + 300.0 * np.sin(xp / 30.0)) * (2.0 / 3.0)
    sin_lat = np.sin(lat * (pi / 180.0))
    sin2_lat = sin_lat * sin_lat
    cos_lat = np.sqrt(np.maximum(1.0 - sin2_lat, 0.0))
    magic = 1.0 - _GCJ_EE * sin2_lat
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * cos_lat * pi)
    inside = ((lon > _GCJ_LON[0]) & (lon < _GCJ_LON[1])
              & (lat > _GCJ_LAT[0]) & (lat < _GCJ_LAT[1]))
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS 84 coordinates to GCJ-02 with the public forward formula.

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 degrees.  Points outside China's box are returned unchanged, as the
        public formula does.

    Returns
    -------
    (ndarray, ndarray)
        GCJ-02 longitude and latitude (float64, same shape as the input).
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


_GCJ_TOL_DEG = 1e-9  # ≈ 0.1 mm, well under the promised 1 cm
_GCJ_MAX_ITER = 30


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Invert GCJ-02 to WGS 84 by iterating the forward formula.

    Fixed-point iteration ``w ← w − (forward(w) − g)`` converges because the offset varies
    slowly (its derivative is ~1e-5); the loop stops when the forward image of every point
    is within 1e-9° (≈ 0.1 mm) of the input, so the residual is far below 1 cm.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    (ndarray, ndarray)
        WGS 84 longitude and latitude.
    """
    glon = np.asarray(lon, dtype=np.float64)
    glat = np.asarray(lat, dtype=np.float64)
    shape = glon.shape
    glon, glat = glon.ravel(), glat.ravel()
    wlon, wlat = glon.copy(), glat.copy()
    active = None  # None: every point still iterates (cheaper than fancy indexing)
    for _ in range(_GCJ_MAX_ITER):
        sel = slice(None) if active is None else active
        flon, flat = wgs84_to_gcj02(wlon[sel], wlat[sel])
        rlon = flon - glon[sel]
        rlat = flat - glat[sel]
        wlon[sel] -= rlon
        wlat[sel] -= rlat
        # NaN residuals compare False, so NaN input simply stops iterating.
        still = np.flatnonzero(np.maximum(np.abs(rlon), np.abs(rlat)) > _GCJ_TOL_DEG)
        if still.size == 0:
            break
        if active is not None:
            active = active[still]
        elif still.size < glon.size // 2:
            active = still
    return wlon.reshape(shape), wlat.reshape(shape)


# --------------------------------------------------------------------------- pyproj

@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    # Only allowlisted names ever get here (see _pyproj_name), never user text.
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _pyproj_name(crs: str) -> str:
    if crs not in SUPPORTED_CRS or crs == GCJ02:
        raise _unsupported(crs, "crs")
    return crs


def _finite_or_raise(x: np.ndarray, y: np.ndarray, dst: str, param: str) -> None:
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise CRSError(
            code="transform_failed",
            message_en=f"coordinate {i} cannot be transformed to {dst}",
            message_zh=f"第 {i} 个坐标无法转换到 {dst}",
            param=param,
        )


def _as_arrays(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise InvalidInput(code="shape_mismatch",
                           message_en="x and y arrays differ in length",
                           message_zh="x 与 y 数组长度不一致")
    return x, y


def transform_xy(x, y, src: str, dst: str, *, param: str = "coordinates"):
    """Transform coordinate arrays between two supported CRSs (no area check).

    Parameters
    ----------
    x, y : array_like
        Easting/longitude and northing/latitude.
    src, dst : str
        Normalised names from :data:`SUPPORTED_CRS` (see :func:`parse_crs`).
    param : str, optional
        Parameter name used if a transform yields a non-finite value.

    Returns
    -------
    (ndarray, ndarray)
        Transformed x and y (float64).
    """
    x, y = _as_arrays(x, y)
    if src == dst:
        return x.copy(), y.copy()
    if src == GCJ02:
        x, y = gcj02_to_wgs84(x, y)
        src = WGS84
    if dst == GCJ02:
        if src != WGS84:
            x, y = _transformer(_pyproj_name(src), WGS84).transform(x, y)
        x, y = wgs84_to_gcj02(x, y)
    elif src != dst:
        x, y = _transformer(_pyproj_name(src), _pyproj_name(dst)).transform(x, y)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _finite_or_raise(x, y, dst, param)
    return x, y


def to_wgs84(x, y, crs: str, *, check: bool = True, param: str = "coordinates"):
    """Convert coordinates in ``crs`` to WGS 84 lon/lat arrays.

    Parameters
    ----------
    x, y : array_like
        Coordinates in ``crs`` (x = easting/longitude).
    crs : str
        Any spelling accepted by :func:`parse_crs`.
    check : bool, optional
        Run :func:`check_coordinates` on the input first (default True).
    param : str, optional
        Parameter name reported in errors.

    Returns
    -------
    (ndarray, ndarray)
        Longitude and latitude in degrees.
    """
    crs = parse_crs(crs)
    x, y = _as_arrays(x, y)
    if check:
        check_coordinates(x, y, crs, param=param)
    return transform_xy(x, y, crs, WGS84, param=param)


def from_wgs84(lon, lat, crs: str, *, param: str = "coordinates"):
    """Convert WGS 84 lon/lat arrays to ``crs`` (e.g. to GCJ-02 for AMap overlays).

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 degrees.
    crs : str
        Target CRS, any spelling accepted by :func:`parse_crs`.
    param : str, optional
        Parameter name reported in errors.

    Returns
    -------
    (ndarray, ndarray)
        x and y in ``crs``.
    """
    return transform_xy(lon, lat, WGS84, parse_crs(crs), param=param)


def transform_geometry(geom, src: str, dst: str, *, param: str = "geometry"):
    """Transform a shapely geometry (or array of geometries) between supported CRSs.

    Parameters
    ----------
    geom : shapely.Geometry or array of them
        The geometry; Z values are not carried over.
    src, dst : str
        Any spelling accepted by :func:`parse_crs`.
    param : str, optional
        Parameter name reported in errors.

    Returns
    -------
    shapely.Geometry
        The transformed geometry (same type and structure).
    """
    src = parse_crs(src)
    dst = parse_crs(dst)
    if src == dst:
        return geom

    def _fn(coords: np.ndarray) -> np.ndarray:
        x, y = transform_xy(coords[:, 0], coords[:, 1], src, dst, param=param)
        return np.column_stack([x, y])

    return shapely.transform(geom, _fn)


def to_metric(geom, src: str = WGS84):
    """Project a geometry to :data:`METRIC_CRS` (EPSG:4550, metres) for areas and lengths.

    Parameters
    ----------
    geom : shapely.Geometry or array of them
        Geometry in ``src`` (default WGS 84).
    src : str, optional
        CRS of ``geom``.

    Returns
    -------
    shapely.Geometry
        The geometry in EPSG:4550 metres.
    """
    return transform_geometry(geom, src, METRIC_CRS)


def from_metric(geom, dst: str = WGS84):
    """Inverse of :func:`to_metric`: EPSG:4550 metres to ``dst`` (default WGS 84)."""
    return transform_geometry(geom, METRIC_CRS, dst)


def metric_xy(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS 84 lon/lat arrays to EPSG:4550 (easting, northing) in metres."""
    return transform_xy(lon, lat, WGS84, METRIC_CRS)


def area_m2(geom, src: str = WGS84) -> float:
    """Area in square metres, computed in EPSG:4550."""
    return float(shapely.area(to_metric(geom, src)))


def length_m(geom, src: str = WGS84) -> float:
    """Length (or perimeter) in metres, computed in EPSG:4550."""
    return float(shapely.length(to_metric(geom, src)))


# --------------------------------------------------------------------------- checks

def _within(v: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (v >= bounds[0]) & (v <= bounds[1])


def _fmt(v: float) -> str:
    return f"{v:.10g}"


def _out_of_area(i: int, x: float, y: float, crs: str, why_en: str, why_zh: str,
                 hint_en: str, hint_zh: str, param: str) -> CRSError:
    en = f"coordinate {i} ({_fmt(x)}, {_fmt(y)}) is outside the area of {crs}: {why_en}"
    zh = f"第 {i} 个坐标 ({_fmt(x)}, {_fmt(y)}) 超出 {crs} 的适用范围：{why_zh}"
    if hint_en:
        en += f" — hint: {hint_en}"
        zh += f"——提示：{hint_zh}"
    err = CRSError(code="coordinate_out_of_area", message_en=en, message_zh=zh, param=param)
    err.index = i  # lets parsers translate the index into a file line number
    err.hint = hint_en
    return err


def _geographic_hint(x: float, y: float) -> tuple[str, str]:
    if (BAICHENG_LON[0] <= y <= BAICHENG_LON[1] and BAICHENG_LAT[0] <= x <= BAICHENG_LAT[1]) or (
        CHINA_LON[0] <= y <= CHINA_LON[1] and CHINA_LAT[0] <= x <= CHINA_LAT[1]
    ):
        return ("lon/lat swapped? give longitude first (x=lon, y=lat)",
                "经纬度是否颠倒？请先给经度（x=经度，y=纬度）")
    if abs(x) > 1000 or abs(y) > 1000:
        if x > ZONE41_OFFSET or y > ZONE41_OFFSET:
            return ("metres passed as degrees? these look like Gauss-Krüger metres with the "
                    "41 zone prefix: use crs=EPSG:4529",
                    "是否把米当作度？看起来是带 41 带号的高斯-克吕格坐标：请使用 crs=EPSG:4529")
        return ("metres passed as degrees? use crs=EPSG:4550 (or EPSG:4529 if the easting "
                "has the 41 prefix)",
                "是否把米当作度？请使用 crs=EPSG:4550（东坐标带 41 带号时用 EPSG:4529）")
    return ("planmap serves Baicheng, Jilin (about lon 121.6–124.4, lat 44.2–46.3)",
            "本系统服务于吉林省白城市（约经度 121.6–124.4，纬度 44.2–46.3）")


def _projected_hint(x: float, y: float, crs: str) -> tuple[str, str]:
    prefixed = crs == GK_ZONE41
    plain = GK_EASTING
    zoned = (GK_EASTING[0] + ZONE41_OFFSET, GK_EASTING[1] + ZONE41_OFFSET)
    if _within(np.float64(x), GK_NORTHING) and (
            _within(np.float64(y), plain) or _within(np.float64(y), zoned)):
        extra_en = extra_zh = ""
        if _within(np.float64(y), zoned) != prefixed:
            right = GK_ZONE41 if not prefixed else GK_CM123
            extra_en = f"; the easting {'has' if not prefixed else 'lacks'} the 41 prefix, " \
                       f"so use crs={right}"
            extra_zh = f"；东坐标{'带有' if not prefixed else '没有'} 41 带号，请使用 crs={right}"
        return ("northing/easting swapped? x must be the easting (survey files list X = "
                "northing first)" + extra_en,
                "南北/东西坐标是否颠倒？x 应为东坐标（测量文件中 X 为北坐标）" + extra_zh)
    if abs(x) <= 180 and abs(y) <= 90:
        return ("degrees passed as metres? use crs=EPSG:4326 (or EPSG:4490)",
                "是否把度当作米？请使用 crs=EPSG:4326（或 EPSG:4490）")
    for a, b in ((x, y), (y, x)):
        if _within(np.float64(b), GK_NORTHING):
            if not prefixed and GK_EASTING[0] + ZONE41_OFFSET <= a <= GK_EASTING[1] + ZONE41_OFFSET:
                return ("the easting has the 41 zone prefix: use crs=EPSG:4529",
                        "东坐标带有 41 带号：请使用 crs=EPSG:4529")
            if prefixed and GK_EASTING[0] <= a <= GK_EASTING[1]:
                return ("the easting has no 41 zone prefix: use crs=EPSG:4550",
                        "东坐标没有 41 带号：请使用 crs=EPSG:4550")
            if 1e7 <= a < 1e8:
                zone = int(a // 1e6)
                return (f"wrong zone? the easting has zone prefix {zone}; only 3° zone 41 "
                        "(CM 123°E) is supported",
                        f"带号错误？东坐标带号为 {zone}；仅支持 3° 带第 41 带（中央经线 123°E）")
    return ("wrong zone or wrong CRS? Baicheng lies in 3° Gauss-Krüger zone 41 (CM 123°E)",
            "带号或坐标系错误？白城市位于 3° 带第 41 带（中央经线 123°E）")


def check_coordinates(x, y, crs: str, *, param: str = "coordinates") -> None:
    """Reject non-finite coordinates and coordinates outside the CRS's area of use.

    Parameters
    ----------
    x, y : array_like
        Easting/longitude and northing/latitude in ``crs``.
    crs : str
        A name from :data:`SUPPORTED_CRS` (any spelling accepted by :func:`parse_crs`).
    param : str, optional
        Parameter name reported in errors.

    Raises
    ------
    InvalidInput
        ``non_finite_coordinate`` for NaN or ±inf (naming the first offending index).
    CRSError
        ``coordinate_out_of_area`` naming the first offending coordinate, with a hint:
        lon/lat swapped, metres passed as degrees, northing/easting swapped, wrong zone,
        41 prefix present or missing.

    Notes
    -----
    Both errors carry ``index`` (position of the first offending coordinate) so that a
    parser can name the file line; ``coordinate_out_of_area`` also carries ``hint``.
    """
    crs = parse_crs(crs)
    x, y = _as_arrays(x, y)
    x = x.ravel()
    y = y.ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    if not np.all(finite):
        i = int(np.flatnonzero(~finite)[0])
        err = InvalidInput(
            code="non_finite_coordinate",
            message_en=f"coordinate {i} is not a finite number ({float(x[i])}, {float(y[i])})",
            message_zh=f"第 {i} 个坐标不是有限数值 ({float(x[i])}, {float(y[i])})",
            param=param,
        )
        err.index = i
        raise err
    if crs in GEOGRAPHIC_CRS:
        ok = _within(x, CHINA_LON) & _within(y, CHINA_LAT)
        if np.all(ok):
            return
        i = int(np.flatnonzero(~ok)[0])
        xi, yi = float(x[i]), float(y[i])
        if abs(xi) > 180 or abs(yi) > 90:
            why_en = "longitude must be within [-180, 180] and latitude within [-90, 90]"
            why_zh = "经度须在 [-180, 180]、纬度须在 [-90, 90] 范围内"
        else:
            why_en = (f"outside the region served (lon {CHINA_LON[0]:g}–{CHINA_LON[1]:g}, "
                      f"lat {CHINA_LAT[0]:g}–{CHINA_LAT[1]:g})")
            why_zh = (f"超出服务区域（经度 {CHINA_LON[0]:g}–{CHINA_LON[1]:g}，"
                      f"纬度 {CHINA_LAT[0]:g}–{CHINA_LAT[1]:g}）")
        raise _out_of_area(i, xi, yi, crs, why_en, why_zh, *_geographic_hint(xi, yi), param)
    offset = ZONE41_OFFSET if crs == GK_ZONE41 else 0.0
    east = (GK_EASTING[0] + offset, GK_EASTING[1] + offset)
    ok = _within(x, east) & _within(y, GK_NORTHING)
    if np.all(ok):
        return
    i = int(np.flatnonzero(~ok)[0])
    xi, yi = float(x[i]), float(y[i])
    why_en = (f"easting must be within {east[0]:.0f}–{east[1]:.0f} m and northing within "
              f"{GK_NORTHING[0]:.0f}–{GK_NORTHING[1]:.0f} m")
    why_zh = (f"东坐标须在 {east[0]:.0f}–{east[1]:.0f} 米、北坐标须在 "
              f"{GK_NORTHING[0]:.0f}–{GK_NORTHING[1]:.0f} 米范围内")
    raise _out_of_area(i, xi, yi, crs, why_en, why_zh, *_projected_hint(xi, yi, crs), param)
