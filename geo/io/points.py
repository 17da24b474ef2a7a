"""Point batches: CSV with an id and x/lon, y/lat columns, or GeoJSON points."""

from __future__ import annotations

import csv
import io

import numpy as np
from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError, InvalidGeometry, InvalidInput, LimitExceeded, PlanmapError
from planmap.geo.io.common import POINT_FORMATS, _as_bytes, _Builder, _decode_text, _err, _strip_nul
from planmap.geo.io.geojson import _feature_name, _type_of, load_json
from planmap.geo.io.site import _too_complex, detect_format, normalise_format
from planmap.geo.limits import DEFAULT_LIMITS, Limits

_ID_COLS = ("id", "ID", "Id", "编号", "点号", "name")
_LON_COLS = ("lon", "lng", "longitude", "x", "经度", "LON", "LNG", "X", "Longitude")
_LAT_COLS = ("lat", "latitude", "y", "纬度", "LAT", "Y", "Latitude")


def parse_points(data, fmt: str | None = None, crs: str = gcrs.WGS84,
                 limits: Limits = DEFAULT_LIMITS, *, filename: str | None = None):
    """Parse a batch of points: CSV with a header ``id,lon,lat`` or GeoJSON points.

    Parameters
    ----------
    data : bytes or str
        CSV (UTF-8 or GBK) whose header names an id, an x/lon and a y/lat column; or a
        GeoJSON FeatureCollection of Point/MultiPoint features, or a bare Point/MultiPoint.
    fmt : str, optional
        ``csv`` or ``geojson``; detected when omitted.
    crs : str, optional
        CRS of the coordinates (default WGS 84); x is easting/longitude.
    limits : Limits, optional
        ``max_bytes`` and ``max_points`` apply (checked before parsing numbers).
    filename : str, optional
        Used only for its extension.

    Returns
    -------
    (ndarray of str, ndarray, ndarray)
        Point ids, WGS 84 longitudes and latitudes.

    Raises
    ------
    PlanmapError
        ``too_many_points``, ``missing_header``, ``bad_number`` and
        ``non_finite_coordinate`` (naming the CSV line), ``coordinate_out_of_area``, …
    """
    raw = _as_bytes(data, limits, "points")
    src = gcrs.parse_crs(crs)
    name = (normalise_format(fmt, allowed=POINT_FORMATS) if fmt is not None
            else detect_format(raw, filename, allowed=POINT_FORMATS))
    try:
        if name == "csv":
            ids, x, y, line_of = _points_csv(raw, limits)
        else:
            ids, x, y, line_of = _points_geojson(raw, limits)
    except PlanmapError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise _too_complex(name, exc) from None
    except Exception as exc:  # defence in depth, as in parse_site
        raise _err(InvalidInput, f"invalid_{name}",
                   f"the {name} points cannot be read: {type(exc).__name__}",
                   f"无法读取该 {name} 点数据：{type(exc).__name__}", "points") from exc
    try:
        lon, lat = gcrs.to_wgs84(x, y, src, param="points")
    except (CRSError, InvalidInput) as exc:
        index = getattr(exc, "index", None)
        if index is not None and exc.code in ("coordinate_out_of_area", "non_finite_coordinate"):
            where = line_of(index)
            exc.message_en = f"{where[0]}: {exc.message_en}"
            exc.message_zh = f"{where[1]}：{exc.message_zh}"
            exc.args = (exc.message_en,)
        raise
    return ids, lon, lat


def _too_many_points(n: int, limits: Limits) -> LimitExceeded:
    return _err(LimitExceeded, "too_many_points",
                f"{n} points; the limit is {limits.max_points} per batch",
                f"共 {n} 个点，每批上限为 {limits.max_points}", "points")


def _points_csv(raw: bytes, limits: Limits):
    # Line count first: a bound on rows before pandas parses anything.
    nlines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    if nlines - 1 > limits.max_points:
        raise _too_many_points(nlines - 1, limits)
    text, _notes = _strip_nul(_decode_text(raw, "points"), "CSV", "points")
    import pandas as pd  # local: only CSV input needs pandas

    first, _, body = text.lstrip("\r\n").partition("\n")
    try:
        header = [c.strip() for c in next(csv.reader([first]))]
    except (csv.Error, StopIteration):
        header = []

    def pick(options):
        return next((header.index(c) for c in options if c in header), None)

    cid, cx, cy = pick(_ID_COLS), pick(_LON_COLS), pick(_LAT_COLS)
    if cx is None or cy is None or cid is None:
        raise _err(InvalidInput, "missing_header",
                   "CSV needs a header row naming columns id, lon, lat (or x, y)",
                   "CSV 需要表头行，包含 id、lon、lat（或 x、y）列", "points")
    names = [f"c{i}" for i in range(len(header))]
    common = dict(header=None, names=names, usecols=[f"c{cid}", f"c{cx}", f"c{cy}"],
                  keep_default_na=False, na_values=[], skipinitialspace=True,
                  skip_blank_lines=True, index_col=False)

    def line_of(i: int):
        # Lazily: CSV line numbers (header = line 1) through the non-blank lines.
        lines = [k for k, s in enumerate(text.lstrip("\r\n").splitlines(), start=1)
                 if s.strip()][1:]
        n = lines[i] if i < len(lines) else i + 2
        return f"CSV line {n}", f"CSV 第 {n} 行"

    try:
        # Fast path: the C parser converts the coordinate columns straight to float64.
        frame = pd.read_csv(io.StringIO(body), dtype={f"c{cid}": str, f"c{cx}": "float64",
                                                      f"c{cy}": "float64"}, **common)
        x = frame[f"c{cx}"].to_numpy(np.float64)
        y = frame[f"c{cy}"].to_numpy(np.float64)
    except ValueError:
        frame = None  # a value that is not a number: find it below
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _err(InvalidInput, "invalid_csv", f"CSV cannot be read: {str(exc)[:160]}",
                   f"CSV 无法读取：{str(exc)[:160]}", "points") from None
    if frame is None or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        # Slow path, only for bad input: read as text and name the first bad line.
        try:
            frame = pd.read_csv(io.StringIO(body), dtype=str, **common)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise _err(InvalidInput, "invalid_csv", f"CSV cannot be read: {str(exc)[:160]}",
                       f"CSV 无法读取：{str(exc)[:160]}", "points") from None
        out = []
        for col, label in ((f"c{cx}", header[cx]), (f"c{cy}", header[cy])):
            raw_col = frame[col].fillna("")
            values = pd.to_numeric(raw_col, errors="coerce").to_numpy(np.float64)
            for i in np.flatnonzero(np.isnan(values)):
                if raw_col.iloc[i].strip().lower() not in ("nan", "+nan", "-nan"):
                    shown = repr(raw_col.iloc[i])[:30]
                    where = line_of(int(i))
                    raise _err(InvalidInput, "bad_number",
                               f"{where[0]}: {label} value {shown} is not a number",
                               f"{where[1]}：{label} 的值 {shown} 不是数值", "points")
                break
            out.append(values)
        x, y = out
    if len(frame) > limits.max_points:
        raise _too_many_points(len(frame), limits)
    if len(frame) == 0:
        raise _err(InvalidInput, "no_points", "CSV has a header but no points",
                   "CSV 只有表头，没有点", "points")
    ids = frame[f"c{cid}"].fillna("").to_numpy(dtype=str)
    return ids, x, y, line_of


def _points_geojson(raw: bytes, limits: Limits):
    doc = load_json(raw, limits, param="points")
    kind = _type_of(doc, "document")
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise _err(InvalidInput, "invalid_geojson",
                       "FeatureCollection needs a \"features\" list",
                       "FeatureCollection 需要 \"features\" 列表", "points")
    elif kind == "Feature":
        feats = [doc]
    elif kind in ("Point", "MultiPoint"):
        feats = [{"type": "Feature", "geometry": doc, "properties": {}}]
    else:
        raise _err(InvalidInput, "invalid_geojson",
                   f"expected Point features; got {repr(kind)[:30]}",
                   f"需要点要素；得到 {repr(kind)[:30]}", "points")
    if len(feats) > limits.max_points:
        raise _too_many_points(len(feats), limits)
    ids: list[str] = []
    coords: list = []
    where: list[int] = []
    for i, feat in enumerate(feats):
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        gtype = geom.get("type") if isinstance(geom, dict) else None
        if gtype not in ("Point", "MultiPoint"):
            raise _err(InvalidInput, "not_a_point",
                       f"features[{i}] is not a Point or MultiPoint",
                       f"features[{i}] 不是点或多点", "points")
        fid = _feature_name(feat, i) or str(i)
        pts = geom.get("coordinates")
        if gtype == "Point":
            pts = [pts]
        if not isinstance(pts, list):
            raise _err(InvalidInput, "bad_coordinates", f"features[{i}]: bad coordinates",
                       f"features[{i}]：坐标无效", "points")
        for p in pts:
            ids.append(fid)
            coords.append(p)
            where.append(i)
        if len(coords) > limits.max_points:
            raise _too_many_points(len(coords), limits)
    if not coords:
        raise _err(InvalidInput, "no_points", "no points in the input", "输入中没有点",
                   "points")
    b = _Builder(Limits(max_vertices=limits.max_points, max_parts=limits.max_points), False,
                 "points")
    try:
        arr = b.coords(coords, "points")
    except InvalidGeometry as exc:
        raise _err(InvalidInput, exc.code, exc.message_en, exc.message_zh, "points") from None

    def line_of(k: int):
        return f"features[{where[k]}]", f"features[{where[k]}]"

    return np.asarray(ids, dtype=str), arr[:, 0], arr[:, 1], line_of
