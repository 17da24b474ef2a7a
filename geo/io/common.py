"""Input parsers: site files (GeoJSON, WKT, KML, zipped Shapefile, 国土 TXT) and point batches.

Every parser follows the same order so that hostile input costs little:

1. byte size against ``limits.max_bytes`` (before decoding);
2. cheap structural pre-checks (JSON nesting depth, zip member sizes and names, XML DTDs);
3. parsing into coordinate arrays, counting vertices and parts against the limits
   *before* shapely geometry is built;
4. area-of-use check of every coordinate in the source CRS (:func:`geo.crs.check_coordinates`);
5. validity (:func:`geo.validate.validate_geometry`), then the transform to WGS 84.

Every failure is a :class:`geo.errors.PlanmapError` subclass with a specific ``code`` and
``param``; nothing else escapes.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
import struct
import tempfile
import threading
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.parsers import expat

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo import crs as gcrs
from geo.errors import CRSError, InvalidGeometry, InvalidInput, LimitExceeded, PlanmapError
from geo.limits import DEFAULT_LIMITS, Limits
from geo.validate import check_limits, polygonal_part, validate_geometry

FORMATS = ("geojson", "wkt", "kml", "kmz", "shapefile", "txt")
"""Site formats :func:`parse_site` reads (normal names)."""

POINT_FORMATS = ("csv", "geojson")

_FORMAT_ALIASES = {
    "geojson": "geojson", "json": "geojson",
    "wkt": "wkt", "ewkt": "wkt",
    "kml": "kml", "kmz": "kmz",
    "shapefile": "shapefile", "shp": "shapefile", "zip": "shapefile",
    "txt": "txt", "guotu": "txt", "国土": "txt",
    "csv": "csv",
}
_EXTENSIONS = {
    ".geojson": "geojson", ".json": "geojson", ".wkt": "wkt", ".kml": "kml",
    ".zip": "shapefile", ".kmz": "kmz", ".txt": "txt", ".csv": "csv",
}

MAX_ZIP_MEMBERS = 20
"""Most members accepted in a Shapefile zip (a shapefile has at most ~8 sidecar files)."""
MAX_ZIP_RATIO = 100.0
"""Largest uncompressed/compressed ratio accepted for a zip member (zip-bomb guard)."""
MAX_PRJ_BYTES = 64 * 1024
MAX_XML_DEPTH = 64
"""Deepest element nesting accepted in KML (a Placemark polygon needs about 8)."""

MAX_WKT_DEPTH = 16
"""Deepest parenthesis nesting accepted in WKT (a MULTIPOLYGON needs 3)."""

_NAME_KEYS = ("name", "名称", "NAME", "Name", "dkmc", "DKMC", "地块名称", "title", "id", "ID")


@dataclass
class ParsedSite:
    """A parsed site, ready for the site check.

    Attributes
    ----------
    geometry : shapely.Geometry
        The site in WGS 84 (lon, lat), valid, 2-D; several features are unioned.
    crs_in : str
        The CRS the input was given in (one of :data:`geo.crs.SUPPORTED_CRS`).
    fmt : str
        The format read (one of :data:`FORMATS`).
    parcels : list of str
        Names or ids of the features/parcels, in file order (empty strings when unnamed).
    repairs : list of str
        Every change made to the input (Z dropped, ring closed, geometry repaired).
    warnings : list of str
        Oddities accepted but worth a look (content ignored, NUL padding stripped,
        界址点 numbers out of sequence); shown in the result and the report.
    parts : list of shapely.Geometry
        Each feature/parcel as read, valid, in ``crs_in`` (aligned with ``parcels``): the
        report lists one row and one 界址点 table per parcel, in the input coordinates.
    crs_source : str
        Where ``crs_in`` came from: ``parameter`` (the caller's ``crs``), ``file`` (named in
        the file: .prj, [属性描述], GeoJSON ``crs``, WKT SRID) or ``default`` (assumed).
    """

    geometry: BaseGeometry
    crs_in: str
    fmt: str
    parcels: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parts: list[BaseGeometry] = field(default_factory=list)
    crs_source: str = ""


# --------------------------------------------------------------------------- helpers

def _err(cls, code: str, en: str, zh: str, param: str | None = "file"):
    return cls(code=code, message_en=en, message_zh=zh, param=param)


def _as_bytes(data, limits: Limits, param: str = "file") -> bytes:
    if isinstance(data, str):
        # Cheap bound first: a str of n characters encodes to at least n bytes.
        if len(data) > limits.max_bytes:
            raise _too_large(len(data), limits, param)
        data = data.encode("utf-8", errors="surrogatepass")
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise _err(InvalidInput, "invalid_type",
                   f"expected bytes or text, got {type(data).__name__}",
                   f"需要字节或文本，得到 {type(data).__name__}", param)
    if len(data) > limits.max_bytes:
        raise _too_large(len(data), limits, param)
    if not data.strip():
        raise _err(InvalidInput, "empty_input", "the input is empty", "输入为空", param)
    return data


def _too_large(n: int, limits: Limits, param: str) -> LimitExceeded:
    return _err(LimitExceeded, "too_large",
                f"input is {n} bytes; the limit is {limits.max_bytes} bytes",
                f"输入大小为 {n} 字节，上限为 {limits.max_bytes} 字节", param)


def _decode_utf8(data: bytes, param: str = "file") -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _err(InvalidInput, "bad_encoding",
                   f"input is not valid UTF-8 (byte {exc.start})",
                   f"输入不是有效的 UTF-8 编码（第 {exc.start} 字节）", param) from None


def _decode_text(data: bytes, param: str = "file") -> str:
    """UTF-8 first, then GB18030 (a superset of GBK), as 国土 files come in both."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _err(InvalidInput, "bad_encoding",
                   f"file is neither UTF-8 nor GBK/GB18030 text (byte {exc.start})",
                   f"文件既不是 UTF-8 也不是 GBK/GB18030 文本（第 {exc.start} 字节）",
                   param) from None


def _strip_nul(text: str, what: str, param: str = "file") -> tuple[str, list[str]]:
    """Refuse NUL characters in a text format; trailing NUL padding is stripped with a warning.

    Some tools pad a file with NULs up to a block size: the content is intact and only the
    padding is dropped.  A NUL anywhere else means a binary or damaged file, and guessing
    what was meant (GEOS and expat each stop at it with an unrelated message) is refused.
    """
    if "\x00" not in text:
        return text, []
    stripped = text.rstrip("\x00")
    padding = len(text) - len(stripped)
    pos = stripped.find("\x00")
    if pos >= 0:
        line = stripped.count("\n", 0, pos) + 1
        raise _err(InvalidInput, "nul_byte",
                   f"{what} line {line} contains a NUL byte; text files must not contain NUL "
                   "(binary or damaged file?)",
                   f"{what} 第 {line} 行含有 NUL 字节；文本文件不得含有 NUL"
                   "（二进制或已损坏的文件？）",
                   param)
    note = f"{padding} trailing NUL byte(s) at the end of the file ignored (padding)"
    return stripped, [note]


def normalise_format(fmt: str, *, allowed=FORMATS, param: str = "format") -> str:
    """Map a format name (``"json"``, ``"shp"``, ``"国土"``, …) onto its normal name.

    Raises
    ------
    InvalidInput
        ``unsupported_format`` listing the supported formats.
    """
    name = _FORMAT_ALIASES.get(fmt.strip().lower()) if isinstance(fmt, str) else None
    if name not in allowed:
        shown = repr(fmt)[:40]
        raise _err(InvalidInput, "unsupported_format",
                   f"unsupported format {shown}; supported: {', '.join(allowed)}",
                   f"不支持的格式 {shown}；支持：{', '.join(allowed)}", param)
    return name


_WKT_START = re.compile(
    rb"^\s*(srid=\d+;\s*)?(point|linestring|polygon|multipoint|multilinestring|multipolygon|"
    rb"geometrycollection)\b", re.IGNORECASE)


def detect_format(data: bytes, filename: str | None = None, *, allowed=FORMATS) -> str:
    """Guess the format from the file name, else from the first bytes.

    Raises
    ------
    InvalidInput
        ``unknown_format`` when neither gives an answer.
    """
    if filename:
        ext = os.path.splitext(str(filename))[1].lower()
        name = _EXTENSIONS.get(ext)
        if name in allowed:
            return name
        if ext in (".shp", ".shx", ".dbf", ".prj") and "shapefile" in allowed:
            raise _err(InvalidInput, "shapefile_not_zipped",
                       f"a bare {ext} file is not enough: upload one .zip holding the .shp, "
                       ".shx, .dbf and .prj",
                       f"单独的 {ext} 文件不够：请上传包含 .shp、.shx、.dbf、.prj 的 .zip 压缩包",
                       "file")
    head = data[:4096]
    if head.startswith(b"PK\x03\x04") and "shapefile" in allowed:
        return "shapefile"  # the zip reader also recognises a KMZ by its .kml member
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    # 国土 TXT first: its "[属性描述]" would otherwise look like a JSON array.
    if "txt" in allowed and any(m.encode(enc) in head for m in (_TXT_HEADER, _TXT_COORDS)
                                for enc in ("utf-8", "gb18030")):
        return "txt"
    if stripped[:1] in (b"{", b"[") and "geojson" in allowed:
        return "geojson"
    if stripped[:1] == b"<" and "kml" in allowed:
        return "kml"
    if "wkt" in allowed and _WKT_START.match(stripped):
        return "wkt"
    if "csv" in allowed and b"," in stripped.split(b"\n", 1)[0]:
        return "csv"
    raise _err(InvalidInput, "unknown_format",
               f"cannot tell the format of the input; give one of: {', '.join(allowed)}",
               f"无法识别输入格式；请指定：{', '.join(allowed)}", "format")


def _resolve_crs(explicit: str | None, embedded: str | None, default: str | None,
                 where: str) -> str:
    """Pick the input CRS: a CRS named in the file and the caller's must agree."""
    exp = gcrs.parse_crs(explicit) if explicit is not None else None
    if exp and embedded and exp != embedded:
        raise _err(CRSError, "crs_conflict",
                   f"crs={exp} was given but the {where} says {embedded}",
                   f"参数 crs={exp} 与{where}中的坐标系 {embedded} 不一致", "crs")
    chosen = exp or embedded or default
    if chosen is None:
        raise _err(CRSError, "missing_crs",
                   f"the {where} does not say its coordinate system; pass crs=",
                   f"{where}未说明坐标系；请提供 crs 参数", "crs")
    return _ChosenCRS(chosen, "parameter" if exp else "file" if embedded else "default")


class _ChosenCRS(str):
    """A CRS name that remembers where it came from (``parameter``, ``file``, ``default``).

    The site-check panel always says which CRS it used, and whether it was assumed.
    """

    source = ""

    def __new__(cls, name: str, source: str):
        obj = super().__new__(cls, name)
        obj.source = source
        return obj


# --------------------------------------------------------------------------- rings

class _Builder:
    """Collects parts as coordinate arrays, counting against the limits as it goes."""

    def __init__(self, limits: Limits, repair: bool, param: str = "geometry"):
        self.limits = limits
        self.repair = repair
        self.param = param
        self.vertices = 0
        self.parts = 0
        self.repairs: list[str] = []
        self._z_noted = False

    def coords(self, raw, where: str, min_len: int = 1) -> np.ndarray:
        """Turn a nested list of numbers into an (n, 2) float array."""
        try:
            arr = np.asarray(raw)
        except (ValueError, TypeError, OverflowError):
            arr = None
        if arr is None or arr.ndim != 2 or arr.dtype.kind not in "iuf" or arr.shape[1] < 2:
            raise _err(InvalidGeometry, "bad_coordinates",
                       f"{where}: coordinates must be a list of [x, y] number pairs",
                       f"{where}：坐标必须是 [x, y] 数值对的列表", self.param)
        if arr.shape[1] > 4:
            raise _err(InvalidGeometry, "bad_coordinates",
                       f"{where}: a position has {arr.shape[1]} numbers; 2 to 4 expected",
                       f"{where}：每个位置应有 2 至 4 个数值，实际为 {arr.shape[1]}", self.param)
        if arr.shape[1] > 2 and not self._z_noted:
            self._z_noted = True
            self.repairs.append("Z coordinates dropped (3-D input accepted, heights ignored)")
        self.count(len(arr))
        if len(arr) < min_len:
            raise _err(InvalidGeometry, "too_few_points",
                       f"{where} has {len(arr)} positions; at least {min_len} required",
                       f"{where}只有 {len(arr)} 个点，至少需要 {min_len} 个", self.param)
        return arr[:, :2].astype(np.float64)

    def count(self, n: int) -> None:
        self.vertices += n
        check_limits(self.vertices, self.parts, self.limits, param=self.param)

    def part(self) -> None:
        self.parts += 1
        check_limits(self.vertices, self.parts, self.limits, param=self.param)

    def ring(self, raw, where: str, arr: np.ndarray | None = None) -> np.ndarray:
        """Check a polygon ring: ≥ 4 positions, first == last (closed on request)."""
        if arr is None:
            arr = self.coords(raw, where)
        if len(arr) >= 2 and not np.array_equal(arr[0], arr[-1]):
            if not self.repair:
                raise _err(InvalidGeometry, "unclosed_ring",
                           f"{where} is not closed (first and last positions differ)",
                           f"{where}未闭合（首尾点不同）", self.param)
            arr = np.vstack([arr, arr[:1]])
            self.repairs.append(f"closed {where}")
        if len(arr) < 4:
            raise _err(InvalidGeometry, "ring_too_short",
                       f"{where} has {len(arr)} positions; a closed ring needs at least 4",
                       f"{where}只有 {len(arr)} 个点，闭合环至少需要 4 个", self.param)
        return arr

    def polygon(self, rings_raw, where: str) -> shapely.Polygon:
        if not isinstance(rings_raw, list) or not rings_raw:
            raise _err(InvalidGeometry, "bad_coordinates",
                       f"{where}: a polygon must be a non-empty list of rings",
                       f"{where}：面必须是非空的环列表", self.param)
        self.part()
        rings = [self.ring(r, f"{where} ring {i}") for i, r in enumerate(rings_raw)]
        return shapely.Polygon(rings[0], rings[1:])


def _polygon_from_rings(rings: list[np.ndarray]) -> shapely.Polygon:
    return shapely.Polygon(rings[0], rings[1:])


# --------------------------------------------------------------------------- finishing

def _flatten(g: BaseGeometry) -> list[BaseGeometry]:
    """Members of (nested) GeometryCollections; other geometries as themselves."""
    out, todo = [], [g]
    while todo:  # iterative: nesting depth is bounded upstream, but no recursion anyway
        item = todo.pop()
        if item.geom_type == "GeometryCollection":
            todo.extend(reversed(list(shapely.get_parts(item))))
        elif not item.is_empty:
            out.append(item)
    return out


def _finish(geoms: list[BaseGeometry], names: list[str], crs_in: str, fmt: str,
            builder: _Builder, limits: Limits, repair: bool, param: str = "geometry",
            ) -> ParsedSite:
    """Area-of-use check, validity, union and transform — shared by every format."""
    flat: list[BaseGeometry] = []
    flat_names: list[str] = []
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        # A GeometryCollection is checked member by member (mixed kinds are refused).
        members = _flatten(g)
        flat.extend(members)
        flat_names.extend([names[i] if i < len(names) else ""] * len(members))
    geoms, names = flat, flat_names
    if not geoms:
        raise _err(InvalidGeometry, "empty_geometry", "the input contains no geometry",
                   "输入中没有几何图形", param)
    arr = np.asarray(geoms, dtype=object)
    vertices = int(np.sum(shapely.get_num_coordinates(arr)))
    parts = int(np.sum(shapely.get_num_geometries(arr)))
    check_limits(vertices, parts, limits, param=param)
    coords = shapely.get_coordinates(arr)
    gcrs.check_coordinates(coords[:, 0], coords[:, 1], crs_in, param=param)
    repairs = list(builder.repairs)
    dims = set(int(d) for d in shapely.get_dimensions(arr))
    if len(dims) > 1:
        raise _err(InvalidGeometry, "mixed_geometry_types",
                   "the input mixes points, lines and polygons; give one kind per site",
                   "输入混合了点、线、面；每个场地只能是一种几何类型", param)
    valid = []
    for i, g in enumerate(geoms):
        label = names[i] if i < len(names) and names[i] else f"feature {i}"
        try:
            g2, notes = validate_geometry(g, repair=repair, limits=limits, param=param)
        except InvalidGeometry as exc:
            if len(geoms) > 1:
                exc.message_en = f"{label}: {exc.message_en}"
                exc.message_zh = f"{label}：{exc.message_zh}"
                exc.args = (exc.message_en,)
            raise
        repairs.extend(n if len(geoms) == 1 else f"{label}: {n}" for n in notes)
        valid.append(g2)
    if len(valid) == 1:
        merged = valid[0]
    elif dims == {2}:
        merged = shapely.union_all(valid)
    elif dims == {1}:
        merged = shapely.MultiLineString(
            [p for g in valid for p in shapely.get_parts(g)])
    else:
        merged = shapely.MultiPoint([p for g in valid for p in shapely.get_parts(g)])
    out = gcrs.transform_geometry(merged, crs_in, gcrs.WGS84, param=param)
    if not shapely.is_valid(out):
        # A transform can fold a sliver that was valid in the source CRS.
        reason = shapely.is_valid_reason(out)
        fixed = shapely.make_valid(out)
        if dims == {2}:
            fixed = polygonal_part(fixed)
        if fixed.is_empty:
            raise _err(InvalidGeometry, "invalid_geometry",
                       f"geometry becomes invalid in WGS 84: {reason}",
                       f"几何图形转换到 WGS 84 后无效：{reason}", param)
        repairs.append(f"repaired after transform to WGS 84 ({reason})")
        out = fixed
    return ParsedSite(geometry=out, crs_in=str(crs_in), fmt=fmt, parcels=list(names),
                      repairs=repairs, parts=valid,
                      crs_source=getattr(crs_in, "source", ""))


# --------------------------------------------------------------------------- JSON

_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)


def json_shape(text: str) -> tuple[int, int]:
    """Return the deepest ``[``/``{`` nesting of a JSON text and its number of ``[``.

    Strings are removed with a linear regular expression first, then brackets are counted
    with numpy: no recursion, so 100 000 levels cannot overflow the stack, and a 20 MB
    document takes well under a second.  Every GeoJSON position is an array, so the ``[``
    count bounds the number of vertices before anything is parsed.
    """
    bare = _JSON_STRING.sub("", text)
    buf = np.frombuffer(bare.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
    if buf.size == 0:
        return 0, 0
    opens = buf == 0x5B
    step = (opens | (buf == 0x7B)).astype(np.int32) - ((buf == 0x5D) | (buf == 0x7D))
    return int(np.cumsum(step).max(initial=0)), int(np.count_nonzero(opens))


def json_depth(text: str) -> int:
    """Return the deepest ``[``/``{`` nesting of a JSON text (see :func:`json_shape`)."""
    return json_shape(text)[0]


def _reject_constant(name: str):
    raise _err(InvalidInput, "non_finite_coordinate",
               f"JSON contains {name}; numbers must be finite",
               f"JSON 中含有 {name}；数值必须为有限值", "file")


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            shown = repr(key)[:40]
            raise _err(InvalidInput, "duplicate_key", f"duplicate JSON key {shown}",
                       f"JSON 键 {shown} 重复", "file")
        obj[key] = value
    return obj


def load_json(data, limits: Limits = DEFAULT_LIMITS, *, param: str = "file",
              max_arrays: int | None = None):
    """Parse JSON safely: size and depth first; NaN, ±Infinity, duplicate keys rejected.

    Numbers such as ``1e400`` parse to infinity (a Python-level float hook would cost
    seconds on large files); coordinates are checked for finiteness afterwards.

    Parameters
    ----------
    data : bytes or str
        The JSON document (UTF-8).
    limits : Limits
        ``max_bytes`` and ``max_json_depth`` apply.
    param : str
        Parameter name reported in errors.
    max_arrays : int, optional
        Refuse (``too_many_vertices``) a document with more JSON arrays than this: a
        bound on GeoJSON positions checked before parsing.

    Returns
    -------
    object
        The parsed document.
    """
    raw = _as_bytes(data, limits, param)
    text = _decode_utf8(raw, param)
    depth, arrays = json_shape(text)
    if depth > limits.max_json_depth:
        raise _err(LimitExceeded, "json_too_deep",
                   f"JSON is nested {depth} levels deep; the limit is {limits.max_json_depth}",
                   f"JSON 嵌套 {depth} 层，上限为 {limits.max_json_depth} 层", param)
    if max_arrays is not None and arrays > max_arrays:
        raise _err(LimitExceeded, "too_many_vertices",
                   f"GeoJSON has about {arrays} positions; the vertex limit is "
                   f"{limits.max_vertices}",
                   f"GeoJSON 约有 {arrays} 个坐标点，顶点上限为 {limits.max_vertices}", "geometry")
    try:
        return json.loads(text, parse_constant=_reject_constant,
                          object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _err(InvalidInput, "invalid_json",
                   f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                   f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}",
                   param) from None
    except (ValueError, RecursionError) as exc:  # e.g. a 5000-digit integer
        raise _err(InvalidInput, "invalid_json", f"invalid JSON: {str(exc)[:120]}",
                   f"JSON 无法解析：{str(exc)[:120]}", param) from None


_GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                   "MultiPolygon", "GeometryCollection")


def _geojson_crs(doc: dict) -> str | None:
    """Read the (obsolete, 2008) ``crs`` member if present; it must name a supported CRS."""
    member = doc.get("crs")
    if member is None:
        return None
    name = None
    if isinstance(member, dict) and isinstance(member.get("properties"), dict):
        name = member["properties"].get("name")
    return gcrs.parse_crs(name, param="crs")


def _type_of(obj, where: str) -> str:
    if not isinstance(obj, dict):
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"{where}: expected a JSON object, got {type(obj).__name__}",
                   f"{where}：需要 JSON 对象，得到 {type(obj).__name__}", "file")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise _err(InvalidGeometry, "invalid_geojson", f"{where}: missing \"type\"",
                   f"{where}：缺少 \"type\"", "file")
    return kind


def _geojson_geometry(obj, b: _Builder, where: str, depth: int = 0) -> BaseGeometry | None:
    if obj is None:
        return None
    kind = _type_of(obj, where)
    if kind not in _GEOMETRY_TYPES:
        shown = repr(kind)[:40]
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"{where}: unknown geometry type {shown}",
                   f"{where}：未知的几何类型 {shown}", "file")
    if kind == "GeometryCollection":
        members = obj.get("geometries")
        if not isinstance(members, list) or depth > 2:
            raise _err(InvalidGeometry, "invalid_geojson",
                       f"{where}: GeometryCollection needs a \"geometries\" list",
                       f"{where}：GeometryCollection 需要 \"geometries\" 列表", "file")
        parts = [_geojson_geometry(m, b, f"{where}.geometries[{i}]", depth + 1)
                 for i, m in enumerate(members)]
        parts = [p for p in parts if p is not None and not p.is_empty]
        return shapely.GeometryCollection(parts) if parts else None
    coords = obj.get("coordinates")
    if not isinstance(coords, list):
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"{where}: {kind} needs a \"coordinates\" list",
                   f"{where}：{kind} 需要 \"coordinates\" 列表", "file")
    if not coords:
        return None
    if kind == "Point":
        b.part()
        return shapely.Point(b.coords([coords], where)[0])
    if kind == "MultiPoint":
        pts = b.coords(coords, where)
        for _ in range(len(pts)):
            b.part()
        return shapely.MultiPoint(pts)
    if kind == "LineString":
        b.part()
        return shapely.LineString(b.coords(coords, where, min_len=2))
    if kind == "MultiLineString":
        lines = []
        for i, line in enumerate(coords):
            b.part()
            lines.append(b.coords(line, f"{where} line {i}", min_len=2))
        return shapely.MultiLineString(lines)
    if kind == "Polygon":
        return b.polygon(coords, where)
    polys = [b.polygon(p, f"{where} polygon {i}") for i, p in enumerate(coords)]
    return shapely.MultiPolygon(polys)


def _feature_name(feature: dict, i: int) -> str:
    props = feature.get("properties")
    if isinstance(props, dict):
        for key in _NAME_KEYS:
            value = props.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return str(value)[:200]
    fid = feature.get("id")
    if isinstance(fid, (str, int)) and not isinstance(fid, bool):
        return str(fid)[:200]
    return ""


def _parse_geojson(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    # Positions + rings + polygons ≤ 2 × positions for any real polygon; the exact count
    # is enforced while the coordinates are read.
    doc = load_json(data, limits, max_arrays=2 * limits.max_vertices + 4 * limits.max_parts)
    kind = _type_of(doc, "document")
    embedded = _geojson_crs(doc)
    crs_in = _resolve_crs(crs, embedded, gcrs.WGS84, "GeoJSON crs member")
    b = _Builder(limits, repair)
    geoms: list[BaseGeometry] = []
    names: list[str] = []
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise _err(InvalidGeometry, "invalid_geojson",
                       "FeatureCollection needs a \"features\" list",
                       "FeatureCollection 需要 \"features\" 列表", "file")
        if len(features) > limits.max_parts:
            raise _err(LimitExceeded, "too_many_parts",
                       f"{len(features)} features; the limit is {limits.max_parts}",
                       f"要素数 {len(features)}，上限为 {limits.max_parts}", "geometry")
        for i, feat in enumerate(features):
            if _type_of(feat, f"features[{i}]") != "Feature":
                raise _err(InvalidGeometry, "invalid_geojson",
                           f"features[{i}] is not a Feature", f"features[{i}] 不是 Feature",
                           "file")
            if "geometry" not in feat:
                raise _err(InvalidGeometry, "invalid_geojson",
                           f"features[{i}] has no \"geometry\" member",
                           f"features[{i}] 缺少 \"geometry\"", "file")
            g = _geojson_geometry(feat["geometry"], b, f"features[{i}].geometry")
            if g is not None and not g.is_empty:
                geoms.append(g)
                names.append(_feature_name(feat, i))
    elif kind == "Feature":
        if "geometry" not in doc:
            raise _err(InvalidGeometry, "invalid_geojson", "Feature has no \"geometry\" member",
                       "Feature 缺少 \"geometry\"", "file")
        g = _geojson_geometry(doc["geometry"], b, "geometry")
        if g is not None:
            geoms.append(g)
            names.append(_feature_name(doc, 0))
    elif kind in _GEOMETRY_TYPES:
        g = _geojson_geometry(doc, b, kind)
        if g is not None:
            geoms.append(g)
            names.append("")
    else:
        shown = repr(kind)[:40]
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"expected a GeoJSON Geometry, Feature or FeatureCollection; got type {shown}",
                   f"需要 GeoJSON 几何、Feature 或 FeatureCollection；得到类型 {shown}", "file")
    return _finish(geoms, names, crs_in, "geojson", b, limits, repair)


# --------------------------------------------------------------------------- WKT

_SRID = re.compile(r"^\s*srid=(\d{1,6})\s*;", re.IGNORECASE)


def _parse_wkt(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    text, notes = _strip_nul(_decode_utf8(data), "WKT")
    text = text.strip()
    embedded = None
    match = _SRID.match(text)
    if match:
        embedded = gcrs.parse_crs(match.group(1), param="crs")
        text = text[match.end():]
    crs_in = _resolve_crs(crs, embedded, gcrs.WGS84, "WKT SRID")
    if not _WKT_START.match(text.encode("utf-8")):
        raise _err(InvalidInput, "invalid_wkt",
                   "input is not WKT (expected POINT, LINESTRING, POLYGON, MULTI… or "
                   "GEOMETRYCOLLECTION)",
                   "输入不是 WKT（应以 POINT、LINESTRING、POLYGON、MULTI… 或 "
                   "GEOMETRYCOLLECTION 开头）")
    # Each vertex but the last of a ring is followed by a comma: a cheap upper-bound
    # check before GEOS builds anything.
    commas = text.count(",")
    if commas > limits.max_vertices + 2 * limits.max_parts:
        raise _err(LimitExceeded, "too_many_vertices",
                   f"WKT has about {commas} vertices; the limit is {limits.max_vertices}",
                   f"WKT 约有 {commas} 个顶点，上限为 {limits.max_vertices}", "geometry")
    # GEOS reads WKT recursively: 100 000 nested GEOMETRYCOLLECTIONs crash the process
    # (segfault), so bound the parenthesis depth first.
    buf = np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
    depth = int(np.cumsum((buf == 0x28).astype(np.int32) - (buf == 0x29)).max(initial=0))
    if depth > MAX_WKT_DEPTH:
        raise _err(LimitExceeded, "wkt_too_deep",
                   f"WKT is nested {depth} levels deep; the limit is {MAX_WKT_DEPTH}",
                   f"WKT 嵌套 {depth} 层，上限为 {MAX_WKT_DEPTH} 层", "geometry")
    b = _Builder(limits, repair)
    try:
        geom = shapely.from_wkt(text, on_invalid="raise")
    except (shapely.errors.ShapelyError, ValueError, TypeError) as exc:
        reason = str(exc).split("\n")[0][:160]
        if repair and "closed linestring" in reason:
            geom = shapely.from_wkt(text, on_invalid="fix")
            b.repairs.append("closed unclosed ring(s)")
        else:
            code = "unclosed_ring" if "closed linestring" in reason else "invalid_wkt"
            cls = InvalidGeometry if code == "unclosed_ring" else InvalidInput
            raise _err(cls, code, f"invalid WKT: {reason}", f"WKT 无效：{reason}") from None
    if geom is None:
        raise _err(InvalidInput, "invalid_wkt", "invalid WKT", "WKT 无效")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        b.repairs.append("Z coordinates dropped (3-D input accepted, heights ignored)")
    for poly in shapely.get_parts(geom):
        if isinstance(poly, shapely.Polygon) and not poly.is_empty:
            for i, ring in enumerate([poly.exterior, *poly.interiors]):
                if len(ring.coords) < 4:
                    raise _err(InvalidGeometry, "ring_too_short",
                               f"ring {i} has {len(ring.coords)} positions; at least 4 required",
                               f"第 {i} 个环只有 {len(ring.coords)} 个点，至少需要 4 个",
                               "geometry")
    if isinstance(geom, shapely.GeometryCollection) and not geom.is_empty:
        geoms = [g for g in shapely.get_parts(geom) if not g.is_empty]
        site = _finish(geoms, [""] * len(geoms), crs_in, "wkt", b, limits, repair)
    else:
        site = _finish([geom], [""], crs_in, "wkt", b, limits, repair)
    site.warnings.extend(notes)
    return site


# --------------------------------------------------------------------------- KML

_COMMA_SPACES = re.compile(r"\s*,\s*")


class _KMLHandler:
    """Collects Placemark geometries from an expat stream (no tree, no DTD, no entities)."""

    def __init__(self, builder: _Builder):
        self.b = builder
        self.stack: list[str] = []
        self.text: list[str] = []
        self.placemarks: list[tuple[str, list]] = []  # (name, [(kind, rings|coords)])
        self.current: list | None = None
        self.name = ""
        self.poly_rings: list | None = None
        self.outer: np.ndarray | None = None
        self.outside = 0  # <coordinates> outside any Placemark (ignored, with a warning)

    @staticmethod
    def _local(tag: str) -> str:
        return tag.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]

    def start(self, tag, attrs):
        tag = self._local(tag)
        self.stack.append(tag)
        if len(self.stack) > MAX_XML_DEPTH:
            raise _err(LimitExceeded, "xml_too_deep",
                       f"KML is nested more than {MAX_XML_DEPTH} levels deep",
                       f"KML 嵌套超过 {MAX_XML_DEPTH} 层")
        self.text = []
        if tag == "Placemark":
            self.current = []
            self.name = ""
        elif tag == "Polygon" and self.current is not None:
            self.poly_rings = []
            self.outer = None

    def data(self, chunk):
        self.text.append(chunk)

    def end(self, tag):
        tag = self._local(tag)
        parent = self.stack[-2] if len(self.stack) > 1 else ""
        text = "".join(self.text)
        self.text = []
        cur = self.current
        if tag == "name" and parent == "Placemark":
            self.name = text.strip()[:200]
        elif tag == "coordinates" and cur is None:
            self.outside += 1
        elif tag == "coordinates" and cur is not None:
            where = f"Placemark {len(self.placemarks)}"
            coords = self._coords(text, where)
            ring_kind = self.stack[-3] if len(self.stack) > 2 else ""
            if parent == "LinearRing" and self.poly_rings is not None:
                ring = self.b.ring(None, f"{where} ring {len(self.poly_rings)}", coords)
                if ring_kind == "outerBoundaryIs":
                    self.poly_rings.insert(0, ring)
                    self.outer = ring
                else:
                    self.poly_rings.append(ring)
            elif parent == "LineString":
                if len(coords) < 2:
                    raise _err(InvalidGeometry, "too_few_points",
                               f"{where}: a LineString needs at least 2 positions",
                               f"{where}：线至少需要 2 个点")
                self.b.part()
                cur.append(shapely.LineString(coords))
            elif parent == "Point":
                self.b.part()
                cur.append(shapely.Point(coords[0]))
        elif tag == "Polygon" and cur is not None and self.poly_rings is not None:
            if self.outer is None:
                raise _err(InvalidGeometry, "invalid_kml",
                           "a KML Polygon has no outerBoundaryIs ring",
                           "KML 面缺少 outerBoundaryIs 外环")
            self.b.part()
            cur.append(_polygon_from_rings(self.poly_rings))
            self.poly_rings = None
        elif tag == "Placemark" and cur is not None:
            self.placemarks.append((self.name, cur))
            self.current = None
        self.stack.pop()

    def _coords(self, text: str, where: str) -> np.ndarray:
        # Some exporters write "lon, lat": glue the tuple back before splitting on spaces.
        tuples = _COMMA_SPACES.sub(",", text).split()
        self.b.count(len(tuples))
        if not tuples:
            raise _err(InvalidGeometry, "bad_coordinates", f"{where}: empty <coordinates>",
                       f"{where}：<coordinates> 为空")
        dims = {t.count(",") for t in tuples}
        if len(dims) != 1 or dims.pop() not in (1, 2):
            raise _err(InvalidGeometry, "bad_coordinates",
                       f"{where}: <coordinates> must be lon,lat[,alt] tuples",
                       f"{where}：<coordinates> 必须是 经度,纬度[,高程] 元组")
        ncol = tuples[0].count(",") + 1
        try:
            flat = np.array(",".join(tuples).split(","), dtype=np.float64)
        except ValueError:
            raise _err(InvalidGeometry, "bad_coordinates",
                       f"{where}: <coordinates> contains a value that is not a number",
                       f"{where}：<coordinates> 含有非数值") from None
        arr = flat.reshape(-1, ncol)
        if ncol == 3 and not self.b._z_noted:
            self.b._z_noted = True
            self.b.repairs.append("Z coordinates dropped (3-D input accepted, heights ignored)")
        return arr[:, :2]


def _forbid(what: str):
    def handler(*_args):
        raise _err(InvalidInput, "xml_dtd_forbidden",
                   f"KML must not contain {what} (DTDs and entities are refused)",
                   f"KML 不得包含 {what}（拒绝 DTD 与实体）")
    return handler


_XML_DECL = re.compile(r"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*(["'])([^"']*)\1""")
_XML_ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "ascii", "iso8859-1", "cp1252",
                  "gb2312", "gbk", "gb18030")
"""Encodings a KML may declare (KML 2.2 says UTF-8; Chinese tools also write GBK)."""


# Files that are often renamed .kml by mistake: magic bytes -> (English, Chinese) name.
_OTHER_FILES = ((b"%PDF", "a PDF document", "PDF 文档"),
                (b"\xd0\xcf\x11\xe0", "an old Office document (.doc/.xls)",
                 "旧版 Office 文档（.doc/.xls）"))
_OFFICE_ZIPS = ((b"word/", "a Word document (.docx)", "Word 文档（.docx）"),
                (b"xl/", "an Excel workbook (.xlsx)", "Excel 工作簿（.xlsx）"),
                (b"ppt/", "a PowerPoint file (.pptx)", "PowerPoint 文件（.pptx）"))


def _not_a_kml(data: bytes) -> None:
    """Refuse a file that is plainly not XML (a renamed .docx, a PDF) by what it is.

    Without this the decoder or expat reports a byte offset, which tells a user nothing.
    """
    what = None
    if data.startswith(b"PK\x03\x04"):
        head = data[:65536]
        what = next(((en, zh) for magic, en, zh in _OFFICE_ZIPS if magic in head),
                    ("a ZIP archive without a .kml inside", "不含 .kml 的 ZIP 压缩包"))
    else:
        what = next(((en, zh) for magic, en, zh in _OTHER_FILES if data.startswith(magic)), None)
    if what:
        raise _err(InvalidInput, "not_kml",
                   f"the file is {what[0]}, not KML: export the site from your GIS as KML/KMZ, "
                   "GeoJSON or a zipped Shapefile, or save the boundary points as a land-survey "
                   "(guotu) coordinate TXT",
                   f"该文件是{what[1]}，不是 KML：请从 GIS 软件导出 KML/KMZ、GeoJSON 或"
                   "zip 压缩的 Shapefile，或把界址点存为国土 TXT")


def _kml_text(data: bytes) -> str:
    """Decode a KML by its BOM or XML declaration, refusing unknown and odd encodings.

    expat looks the declared name up in Python's codec registry and fails with
    ``LookupError``/``ValueError`` (unknown names, multi-byte codecs such as GBK) or
    runs a non-text codec; decoding here, against an allowlist, turns each of these into
    a specific error and lets GBK files be read.
    """
    _not_a_kml(data)
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        head = data[:512].decode("latin-1")
        match = _XML_DECL.match(head)
        encoding = "utf-8"
        if match:
            declared = match.group(2).strip()
            try:
                encoding = codecs.lookup(declared).name
            except (LookupError, ValueError):
                encoding = None
            if encoding not in _XML_ENCODINGS:
                shown = repr(declared)[:40]
                raise _err(InvalidInput, "unsupported_encoding",
                           f"the XML declaration names encoding {shown}; KML must be UTF-8 "
                           "(GBK/GB18030, UTF-16 and Latin-1 are also read)",
                           f"XML 声明的编码 {shown} 不受支持；KML 应为 UTF-8"
                           "（也可读取 GBK/GB18030、UTF-16、Latin-1）")
    if encoding in ("gb2312", "gbk"):
        encoding = "gb18030"  # a superset: files labelled GB2312 often hold GBK characters
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _err(InvalidInput, "bad_encoding",
                   f"KML is not valid {encoding.upper()} (byte {exc.start})",
                   f"KML 不是有效的 {encoding.upper()} 编码（第 {exc.start} 字节）"
                   ) from None


def _parse_kml(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    text, notes = _strip_nul(_kml_text(data), "KML")
    data = text.encode("utf-8", errors="surrogatepass")
    b = _Builder(limits, repair)
    handler = _KMLHandler(b)
    # The text is decoded now: expat must read it as UTF-8 whatever the declaration says
    # (the encoding argument overrides it), so no codec lookup ever happens in expat.
    parser = expat.ParserCreate("UTF-8", namespace_separator=" ")
    # No DTD of any kind: this closes XXE, external DTDs and "billion laughs" at once.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _forbid("<!DOCTYPE>")
    parser.EntityDeclHandler = _forbid("<!ENTITY>")
    parser.UnparsedEntityDeclHandler = _forbid("<!ENTITY>")
    parser.ExternalEntityRefHandler = _forbid("external entities")
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _err(InvalidInput, "invalid_xml",
                   f"invalid KML/XML at line {exc.lineno}: {expat.ErrorString(exc.code)}",
                   f"KML/XML 格式错误（第 {exc.lineno} 行）：{expat.ErrorString(exc.code)}"
                   ) from None
    if handler.outside:
        notes.append(f"{handler.outside} <coordinates> element(s) outside any Placemark "
                     "ignored (KML geometry counts only inside a Placemark)")
    if b.parts == 0:
        extra_en = extra_zh = ""
        if handler.outside:
            extra_en = (f"; {handler.outside} <coordinates> outside any Placemark were "
                        "ignored")
            extra_zh = f"；忽略了 {handler.outside} 个不在 Placemark 内的 <coordinates>"
        raise _err(InvalidGeometry, "empty_geometry",
                   f"the KML contains no Placemark geometry{extra_en}",
                   f"KML 中没有 Placemark 几何图形{extra_zh}", "geometry")
    crs_in = _resolve_crs(crs, None, gcrs.WGS84, "KML")
    geoms: list[BaseGeometry] = []
    names: list[str] = []
    for name, parts in handler.placemarks:
        if not parts:
            continue
        geoms.append(parts[0] if len(parts) == 1 else shapely.GeometryCollection(parts))
        names.append(name)
    # A MultiGeometry of polygons is a MultiPolygon once its parts are checked.
    geoms = [_simplify_collection(g) for g in geoms]
    site = _finish(geoms, names, crs_in, "kml", b, limits, repair)
    site.warnings.extend(notes)
    return site


def _simplify_collection(g: BaseGeometry) -> BaseGeometry:
    if not isinstance(g, shapely.GeometryCollection) or type(g) is not shapely.GeometryCollection:
        return g
    parts = list(shapely.get_parts(g))
    kinds = {p.geom_type for p in parts}
    if kinds == {"Polygon"}:
        return shapely.MultiPolygon(parts)
    if kinds == {"LineString"}:
        return shapely.MultiLineString(parts)
    if kinds == {"Point"}:
        return shapely.MultiPoint(parts)
    return g


# --------------------------------------------------------------------------- Shapefile zip

_WARNINGS_LOCK = threading.Lock()
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _safe_member(name: str) -> bool:
    norm = name.replace("\\", "/")
    if not norm or "\x00" in norm or norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return False
    return ".." not in norm.split("/")


def _check_zip(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise _err(LimitExceeded, "too_many_zip_members",
                   f"zip has {len(infos)} members; the limit is {MAX_ZIP_MEMBERS}",
                   f"zip 含有 {len(infos)} 个文件，上限为 {MAX_ZIP_MEMBERS}")
    total = 0
    for info in infos:
        if not _safe_member(info.filename):
            shown = repr(info.filename)[:80]
            raise _err(InvalidInput, "unsafe_zip_member",
                       f"zip member name {shown} is absolute or leaves the folder",
                       f"zip 成员名 {shown} 为绝对路径或越出目录")
        if info.flag_bits & 0x1:
            raise _err(InvalidInput, "encrypted_zip", "encrypted zip members are not accepted",
                       "不接受加密的 zip 文件")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO:
            raise _err(LimitExceeded, "zip_bomb",
                       f"zip member {info.filename[:80]!r} expands {ratio:.0f}×; the limit "
                       f"is {MAX_ZIP_RATIO:.0f}×",
                       f"zip 成员 {info.filename[:80]!r} 压缩比 {ratio:.0f} 倍，上限为 "
                       f"{MAX_ZIP_RATIO:.0f} 倍")
    if total > limits.max_unzipped_bytes:
        raise _err(LimitExceeded, "zip_too_large",
                   f"zip expands to {total} bytes; the limit is {limits.max_unzipped_bytes}",
                   f"zip 解压后 {total} 字节，上限为 {limits.max_unzipped_bytes}")
    return infos


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: str) -> None:
    # The header's file_size can lie: copy in chunks and stop at the declared size.
    written = 0
    with zf.open(info) as src, open(dest, "wb") as out:
        while True:
            chunk = src.read(1 << 16)
            if not chunk:
                break
            written += len(chunk)
            if written > info.file_size:
                raise _err(LimitExceeded, "zip_bomb",
                           "zip member is larger than its header says",
                           "zip 成员的实际大小超过其声明大小")
            out.write(chunk)


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
        if code not in (4326, 4490, 4550, 4529):
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


# What zipfile raises on damaged archives: bad CRC, truncated or corrupt deflate streams,
# unknown compression methods, encrypted members.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
               NotImplementedError, RuntimeError, ValueError, OSError, struct.error)


def _invalid_zip() -> InvalidInput:
    return _err(InvalidInput, "invalid_zip", "the upload is not a readable zip file",
                "上传的文件不是可读的 zip 文件")


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


def _parse_shapefile(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise _invalid_zip() from None
    try:
        with zf:
            return _read_zip(zf, crs, limits, repair)
    except _ZIP_ERRORS:
        raise _invalid_zip() from None


def _read_zip(zf: zipfile.ZipFile, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    infos = _check_zip(zf, limits)
    by_ext: dict[str, list[zipfile.ZipInfo]] = {}
    for info in infos:
        if info.is_dir():
            continue
        stem, ext = os.path.splitext(info.filename.replace("\\", "/"))
        by_ext.setdefault(ext.lower(), []).append(info)
    shps = by_ext.get(".shp", [])
    kmls = by_ext.get(".kml", [])
    if not shps and kmls:
        # KMZ: a zipped KML (doc.kml, or the only .kml); its size was bounded above.
        doc = next((i for i in kmls if i.filename.replace("\\", "/") == "doc.kml"), kmls[0])
        if len(kmls) > 1 and doc.filename != "doc.kml":
            raise _err(InvalidInput, "multiple_kml", "the KMZ holds several .kml files and no "
                       "doc.kml", "KMZ 中有多个 .kml 文件且没有 doc.kml")
        if doc.file_size > limits.max_bytes:
            raise _too_large(doc.file_size, limits, "file")
        site = _parse_kml(zf.read(doc), crs, limits, repair)
        site.fmt = "kmz"
        return site
    if len(shps) != 1:
        raise _err(InvalidInput, "shapefile_missing" if not shps else "multiple_shapefiles",
                   f"the zip must hold exactly one .shp file; found {len(shps)}",
                   f"zip 中必须恰好有一个 .shp 文件；实际为 {len(shps)} 个")
    stem = os.path.splitext(shps[0].filename.replace("\\", "/"))[0].lower()
    members = {}
    for ext in _SHP_SIDECARS:
        for info in by_ext.get(ext, []):
            if os.path.splitext(info.filename.replace("\\", "/"))[0].lower() == stem:
                members[ext] = info
    missing = [e for e in (".shx", ".dbf") if e not in members]
    if missing:
        raise _err(InvalidInput, "shapefile_incomplete",
                   f"the shapefile lacks {', '.join(missing)}",
                   f"shapefile 缺少 {', '.join(missing)} 文件")
    embedded = None
    if ".prj" in members:
        if members[".prj"].file_size > MAX_PRJ_BYTES:
            raise _err(CRSError, "unsupported_crs", ".prj file is too large",
                       ".prj 文件过大", "prj")
        embedded = _prj_crs(zf.read(members[".prj"]))
    crs_in = _resolve_crs(crs, embedded, None, "shapefile .prj")
    shp_precheck(zf, members[".shp"], limits)
    with tempfile.TemporaryDirectory(prefix="planmap-shp-") as tmp:
        for ext, info in members.items():
            # Fixed names: nothing from the archive decides where a file is written.
            _extract_member(zf, info, os.path.join(tmp, "site" + ext))
        return _read_shapefile(os.path.join(tmp, "site.shp"), crs_in, limits, repair)


# Shape types whose records hold (box, numParts, numPoints) or (box, numPoints).
_SHP_MULTI = {3: True, 5: True, 13: True, 15: True, 23: True, 25: True, 31: True,
              8: False, 18: False, 28: False}
_SHP_POINT = (1, 11, 21)


def shp_precheck(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    """Count records and vertices from the .shp record headers, before GDAL reads anything.

    Each record starts with its content length and, for lines, polygons and multipoints,
    its number of points: walking those headers (skipping the coordinates) costs a few
    milliseconds and stops as soon as a limit is passed, where GDAL would first read every
    coordinate into memory (6 M vertices: seconds and hundreds of MiB before the 413).
    A file whose headers do not add up is left for GDAL to judge and report.

    Raises
    ------
    LimitExceeded
        ``too_many_vertices`` or ``too_many_parts``, counted so far.
    """
    with zf.open(info) as f:
        head = f.read(100)
        if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
            return
        shape_type = struct.unpack("<i", head[32:36])[0]
        if shape_type not in _SHP_MULTI and shape_type not in _SHP_POINT:
            return
        records = vertices = 0
        while True:
            rec = f.read(8)
            if len(rec) < 8:
                return
            length = struct.unpack(">i", rec[4:])[0] * 2
            if length < 4:
                return  # damaged header: GDAL reports it
            body = f.read(min(length, 44))
            if len(body) < 4:
                return
            kind = struct.unpack("<i", body[:4])[0]
            records += 1
            if kind in _SHP_POINT:
                vertices += 1
            elif kind in _SHP_MULTI:
                at = 40 if _SHP_MULTI[kind] else 36
                if len(body) < at + 4:
                    return
                vertices += max(struct.unpack("<i", body[at:at + 4])[0], 0)
            elif kind != 0:  # 0 = null shape; anything else is not ours to judge
                return
            if vertices > limits.max_vertices:
                raise _err(LimitExceeded, "too_many_vertices",
                           f"the shapefile has more than {limits.max_vertices} vertices "
                           f"(at least {vertices} in its first {records} records); the "
                           f"limit is {limits.max_vertices}",
                           f"shapefile 的顶点超过 {limits.max_vertices} 个（前 {records} 条记录"
                           f"已有 {vertices} 个），上限为 {limits.max_vertices}", "geometry")
            if records > limits.max_parts:
                raise _err(LimitExceeded, "too_many_parts",
                           f"the shapefile has more than {limits.max_parts} features; the "
                           f"limit is {limits.max_parts}",
                           f"shapefile 的要素超过 {limits.max_parts} 个，上限为 "
                           f"{limits.max_parts}", "geometry")
            if length > len(body):
                f.seek(length - len(body), 1)  # forward: decompresses, keeps nothing


def _read_shapefile(path: str, crs_in: str, limits: Limits, repair: bool) -> ParsedSite:
    import pyogrio  # local: heavy import only for shapefile input

    # GDAL may report a ring problem already while read_info looks at the layer, and only
    # once, so the warnings are captured around both calls.  catch_warnings swaps
    # process-wide state: one shapefile read at a time.
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            info = pyogrio.read_info(path)
            n = int(info.get("features") or 0)
            if n > limits.max_parts:
                raise _err(LimitExceeded, "too_many_parts",
                           f"the shapefile has {n} features; the limit is {limits.max_parts}",
                           f"shapefile 有 {n} 个要素，上限为 {limits.max_parts}", "geometry")
            fields = [str(f) for f in info.get("fields", [])]
            name_field = next((f for f in _NAME_KEYS if f in fields), None)
            _meta, _fids, wkb, field_data = pyogrio.raw.read(
                path, columns=[name_field] if name_field else [], read_geometry=True)
    except PlanmapError:
        raise
    except Exception as exc:  # pyogrio raises several unrelated classes for corrupt files
        # GDAL's message names our private temp file; the user only needs the reason.
        reason = str(exc).replace(os.path.dirname(path) + os.sep, "")[:160]
        raise _err(InvalidInput, "invalid_shapefile",
                   f"the shapefile cannot be read: {reason}",
                   f"无法读取 shapefile：{reason}") from None
    b = _Builder(limits, repair)
    # GDAL passes unclosed rings through and re-orders wrongly wound rings on its own,
    # saying so only in warnings: surface both instead of letting them pass silently.
    messages = " ".join(str(w.message) for w in caught)
    on_invalid = "raise"
    if "Non closed ring" in messages:
        if not repair:
            raise _err(InvalidGeometry, "unclosed_ring",
                       "the shapefile has a polygon ring that is not closed",
                       "shapefile 中有未闭合的环", "geometry")
        on_invalid = "fix"  # shapely closes the rings
        b.repairs.append("closed unclosed ring(s)")
    if "winding order" in messages:
        b.repairs.append("ring winding order corrected (GDAL re-assigned shells and holes)")
    if wkb is None:
        raise _err(InvalidGeometry, "empty_geometry", "the shapefile has no geometry",
                   "shapefile 中没有几何图形", "geometry")
    try:
        geoms = shapely.from_wkb(wkb, on_invalid=on_invalid)
    except (shapely.errors.ShapelyError, ValueError):
        raise _err(InvalidInput, "invalid_shapefile", "the shapefile has unreadable geometry",
                   "shapefile 中有无法读取的几何图形") from None
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
        b.repairs.append("Z coordinates dropped (3-D input accepted, heights ignored)")
    names = ([str(v) if v is not None else "" for v in field_data[0]] if name_field
             else [""] * len(geoms))
    keep = [i for i, g in enumerate(geoms) if g is not None and not g.is_empty]
    return _finish([geoms[i] for i in keep], [names[i] for i in keep], crs_in, "shapefile",
                   b, limits, repair)


# --------------------------------------------------------------------------- 国土 TXT

_TXT_HEADER = "[属性描述]"
_TXT_COORDS = "[地块坐标]"


def _txt_header_crs(header: dict[str, str], sample_easting: float | None) -> str | None:
    """Map the [属性描述] keys onto a supported CRS (or raise with a clear reason)."""
    system = header.get("坐标系", "")
    if not system and not header.get("带号"):
        return None
    if system and "2000" not in system:
        raise _err(CRSError, "unsupported_crs",
                   f"坐标系={system[:40]} is not supported; only CGCS2000 (2000国家大地坐标系)",
                   f"不支持坐标系“{system[:40]}”；仅支持 2000国家大地坐标系", "坐标系")
    width = header.get("几度分带", "3").strip()
    if width not in ("3", "3度", "三度"):
        raise _err(CRSError, "unsupported_zone",
                   f"几度分带={width[:10]} is not supported; only 3° zones",
                   f"不支持 {width[:10]} 度分带；仅支持 3 度分带", "几度分带")
    projection = header.get("投影类型", "高斯克吕格")
    if projection and "高斯" not in projection:
        raise _err(CRSError, "unsupported_crs",
                   f"投影类型={projection[:20]} is not supported; only 高斯克吕格",
                   f"不支持投影类型“{projection[:20]}”；仅支持高斯克吕格投影", "投影类型")
    unit = header.get("计量单位", "米")
    if unit and unit not in ("米", "m", "M"):
        raise _err(CRSError, "unsupported_unit", f"计量单位={unit[:10]} is not supported; only 米",
                   f"不支持计量单位“{unit[:10]}”；仅支持米", "计量单位")
    zone = header.get("带号", "").strip()
    # Some exporters write the central meridian (123) where the zone number (41) belongs.
    if zone and zone not in ("41", "123"):
        raise _err(CRSError, "unsupported_zone",
                   f"带号={zone[:10]} is not supported: only 3° zone 41 (central meridian "
                   "123°E, which covers Baicheng)",
                   f"不支持带号 {zone[:10]}：仅支持 3 度带第 41 带（中央经线 123°E，覆盖白城市）",
                   "带号")
    if sample_easting is not None and sample_easting >= 1e7:
        return gcrs.GK_ZONE41
    return gcrs.GK_CM123


def _parse_txt(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    text, notes = _strip_nul(_decode_text(data), "TXT")
    lines = text.splitlines()
    # Every point row is one vertex: a cheap bound before any number is parsed.
    if len(lines) > limits.max_vertices + 4 * limits.max_parts + 100:
        raise _err(LimitExceeded, "too_many_vertices",
                   f"the file has {len(lines)} lines; the vertex limit is {limits.max_vertices}",
                   f"文件有 {len(lines)} 行，顶点上限为 {limits.max_vertices}", "geometry")
    header: dict[str, str] = {}
    start = None
    section = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line == _TXT_HEADER:
            section = "header"
        elif line == _TXT_COORDS:
            start = i + 1
            break
        elif section == "header" and "=" in line:
            key, _, value = line.partition("=")
            header[key.strip()] = value.strip()
    if start is None:
        raise _err(InvalidInput, "txt_missing_coordinates_section",
                   f"no {_TXT_COORDS} section: not a 国土 boundary-point (报部格式) file",
                   f"缺少 {_TXT_COORDS} 段：不是国土界址点坐标（报部格式）文件")
    # Parcels: a header line ending in '@', then rows 点号,圈号,X,Y.
    parcels: list[tuple[int, list[str], list[int]]] = []  # (line no, fields, row line idx)
    rows: list[list[str]] = []
    row_lines: list[int] = []
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line:
            continue
        if line.endswith("@"):
            parcels.append((i + 1, [f.strip() for f in line.split(",")], []))
            continue
        if not parcels:
            raise _err(InvalidInput, "txt_missing_parcel_header",
                       f"line {i + 1}: point row before any parcel line ending in '@'",
                       f"第 {i + 1} 行：在以“@”结尾的地块行之前出现了坐标行")
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4:
            raise _err(InvalidInput, "txt_bad_row",
                       f"line {i + 1}: expected 点号,圈号,X,Y; got {len(fields)} fields",
                       f"第 {i + 1} 行：应为 点号,圈号,X,Y，实际只有 {len(fields)} 个字段")
        parcels[-1][2].append(len(rows))
        rows.append(fields[:4])
        row_lines.append(i + 1)
        if len(rows) > limits.max_vertices:
            check_limits(len(rows), len(parcels), limits)
    if not parcels:
        raise _err(InvalidInput, "txt_missing_parcel_header",
                   "no parcel line ending in '@' after [地块坐标]",
                   "[地块坐标] 之后没有以“@”结尾的地块行")
    check_limits(len(rows), len(parcels), limits)
    if rows:
        table = np.array(rows, dtype=object)
        x_north, y_east = _txt_numbers(table[:, 2], row_lines, "X"), \
            _txt_numbers(table[:, 3], row_lines, "Y")
        ring_no = _txt_numbers(table[:, 1], row_lines, "圈号")
        _txt_ring_numbers(ring_no, table[:, 1], row_lines, limits)
    else:
        x_north = y_east = ring_no = np.empty(0)
    finite_east = y_east[np.isfinite(y_east)]
    sample = float(np.median(finite_east)) if finite_east.size else None
    embedded = _txt_header_crs(header, sample)
    crs_in = _resolve_crs(crs, embedded, None, "[属性描述] header")
    b = _Builder(limits, repair)
    geoms: list[BaseGeometry] = []
    names: list[str] = []
    for line_no, fields, idx in parcels:
        label = (fields[3] if len(fields) > 3 and fields[3] else
                 fields[2] if len(fields) > 2 and fields[2] else f"parcel at line {line_no}")
        kind = fields[4] if len(fields) > 4 else "面"
        if not idx:
            raise _err(InvalidInput, "txt_empty_parcel",
                       f"parcel {label!r} (line {line_no}) has no point rows",
                       f"地块“{label}”（第 {line_no} 行）没有坐标行")
        idx_arr = np.asarray(idx)
        gap = _txt_sequence_gap([rows[k][0] for k in idx], [row_lines[k] for k in idx])
        if gap:
            notes.append(f"parcel {label!r}: 界址点 numbers are not sequential ({gap})")
        xy = np.column_stack([y_east[idx_arr], x_north[idx_arr]])  # x = easting
        rings_of = ring_no[idx_arr]
        b.part()
        b.count(len(idx_arr))
        if kind in ("点",):
            geoms.append(shapely.MultiPoint(xy) if len(xy) > 1 else shapely.Point(xy[0]))
        elif kind in ("线",):
            if len(xy) < 2:
                raise _err(InvalidGeometry, "too_few_points",
                           f"line parcel {label!r} has fewer than 2 points",
                           f"线状地块“{label}”少于 2 个点")
            geoms.append(shapely.LineString(xy))
        else:
            # The boolean mask keeps each ring's points in file order.
            rings = [b.ring(None, f"parcel {label!r} ring {r:g}", xy[rings_of == r])
                     for r in np.unique(rings_of)]
            geoms.append(_txt_polygon(rings))
        names.append(label)
    try:
        site = _finish(geoms, names, crs_in, "txt", b, limits, repair)
        site.warnings.extend(notes)
        return site
    except (CRSError, InvalidInput) as exc:
        index = getattr(exc, "index", None)
        if index is not None and 0 <= index < len(row_lines) and exc.code in (
                "coordinate_out_of_area", "non_finite_coordinate"):
            line_no = _txt_line_of(index, row_lines)
            exc.message_en = f"line {line_no}: {exc.message_en}"
            exc.message_zh = f"第 {line_no} 行：{exc.message_zh}"
            exc.args = (exc.message_en,)
        raise


def _txt_ring_numbers(ring_no: np.ndarray, raw: np.ndarray, row_lines: list[int],
                      limits: Limits) -> None:
    """圈号 must be a whole number from 1 (the outer ring) up to the part limit.

    A ring number such as 1e308 or 2.5 is not a numbering anyone wrote on purpose:
    refused rather than grouped into rings by float equality.
    """
    bad = (ring_no != np.floor(ring_no)) | (ring_no < 1) | (ring_no > limits.max_parts)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        shown = repr(str(raw[k]))[:30]
        raise _err(InvalidInput, "txt_bad_ring_number",
                   f"line {row_lines[k]}: 圈号 {shown} must be a whole number from 1 to "
                   f"{limits.max_parts}",
                   f"第 {row_lines[k]} 行：圈号 {shown} 应为 1 至 {limits.max_parts} 的整数")


_POINT_NO = re.compile(r"(\d{1,9})$")


def _txt_sequence_gap(labels: list[str], lines: list[int]) -> str | None:
    """Where the 界址点 numbers (J1, J2, …) of one parcel stop counting up by one.

    The closing row repeats its ring's first point and numbering carries on across
    rings (J1…J5, J1, J6…J9, J6), so a number equal to one seen before is fine only
    as a ring's closing row.  Labels without a trailing number are not checked.
    """
    top = None  # highest number so far
    first_of_ring = None
    for label, line in zip(labels, lines, strict=True):
        match = _POINT_NO.search(label)
        if not match:
            return None
        n = int(match.group(1))
        if n == first_of_ring:  # the closing row of the current ring
            first_of_ring = None
            continue
        if top is not None and n != top + 1:
            return f"{label[:20]} follows number {top} at line {line}"
        if first_of_ring is None:
            first_of_ring = n
        top = n
    return None


def _txt_polygon(rings: list[np.ndarray]) -> BaseGeometry:
    """Assemble a parcel from its rings in 圈号 order.

    Ring 1 is the outer ring and a later ring inside an earlier outer ring is a hole of it
    (the usual 报部格式 reading).  A later ring lying outside every outer ring so far is
    taken as a further outer ring — a detached part (飞地) of the same parcel — rather than
    as an impossible hole; anything else (partial overlaps) is left for the validity check
    to report with the GEOS reason.
    """
    shells: list[list[np.ndarray]] = []
    shell_polys: list[shapely.Polygon] = []
    for ring in rings:
        poly = shapely.Polygon(ring)
        host = next((k for k, sp in enumerate(shell_polys)
                     if sp.is_valid and poly.is_valid and sp.contains(poly)), None)
        if host is None and shell_polys and all(
                sp.is_valid and poly.is_valid and sp.disjoint(poly) for sp in shell_polys):
            shells.append([ring])
            shell_polys.append(poly)
        elif host is None and not shell_polys:
            shells.append([ring])
            shell_polys.append(poly)
        else:
            shells[host if host is not None else 0].append(ring)
    polys = [_polygon_from_rings(r) for r in shells]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _txt_line_of(index: int, row_lines: list[int]) -> int:
    # Repair may add closing points, so vertex index ≈ row index; good enough to locate.
    return row_lines[min(index, len(row_lines) - 1)]


def _txt_numbers(column: np.ndarray, row_lines: list[int], name: str) -> np.ndarray:
    try:
        values = np.array(column, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    for k, raw in enumerate(column):
        try:
            ok = math.isfinite(float(raw))
        except ValueError:
            ok = False
        if not ok:
            shown = repr(str(raw))[:30]
            raise _err(InvalidInput, "txt_bad_number",
                       f"line {row_lines[k]}: {name} value {shown} is not a finite number",
                       f"第 {row_lines[k]} 行：{name} 的值 {shown} 不是有效数值")
    return values  # pragma: no cover  (unreachable: a bad value was found above)


# --------------------------------------------------------------------------- public API

_SITE_PARSERS = {
    "geojson": _parse_geojson,
    "wkt": _parse_wkt,
    "kml": _parse_kml,
    "shapefile": _parse_shapefile,
    "kmz": _parse_shapefile,  # the zip reader finds the .kml inside
    "txt": _parse_txt,
}


def parse_site(data, *, fmt: str | None = None, filename: str | None = None,
               crs: str | None = None, limits: Limits = DEFAULT_LIMITS,
               repair: bool = False) -> ParsedSite:
    """Parse a site file into one valid WGS 84 geometry.

    Parameters
    ----------
    data : bytes or str
        File content.
    fmt : str, optional
        ``geojson``, ``wkt``, ``kml``, ``kmz`` (zipped KML), ``shapefile`` (a zip) or
        ``txt`` (国土 报部格式); detected from ``filename`` or the content when omitted.
    filename : str, optional
        Used only for its extension (never opened).
    crs : str, optional
        CRS of the coordinates, any spelling accepted by :func:`geo.crs.parse_crs`.
        Defaults: GeoJSON/WKT/KML → WGS 84 (unless the file names one), Shapefile → its
        .prj, TXT → its [属性描述] header.  A CRS named both here and in the file must agree.
    limits : Limits, optional
        Byte, vertex, part, depth and zip limits.
    repair : bool, optional
        Close unclosed rings and ``make_valid`` invalid geometry, reporting each change;
        otherwise such input is rejected.

    Returns
    -------
    ParsedSite

    Raises
    ------
    PlanmapError
        A subclass with a specific ``code`` for every kind of bad input.
    """
    raw = _as_bytes(data, limits)
    name = (normalise_format(fmt) if fmt is not None
            else detect_format(raw, filename, allowed=FORMATS))
    try:
        return _SITE_PARSERS[name](raw, crs, limits, repair)
    except PlanmapError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise _too_complex(name, exc) from None
    except Exception as exc:
        # Defence in depth: a parse failure we did not foresee is still the user's input
        # (the fuzz harness in tests/reliability/fuzz.py calls the parsers below this
        # net, so each such class found there gets its own code instead).
        raise _err(InvalidInput, f"invalid_{name}",
                   f"the {name} input cannot be read: {type(exc).__name__}",
                   f"无法读取该 {name} 输入：{type(exc).__name__}") from exc


def _too_complex(name: str, exc: BaseException) -> LimitExceeded:
    return _err(LimitExceeded, "input_too_complex",
                f"the {name} input is too deeply nested or too large to read "
                f"({type(exc).__name__})",
                f"该 {name} 输入嵌套过深或过大，无法读取（{type(exc).__name__}）")


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
