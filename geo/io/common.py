"""Shared pieces of the input readers.

Format names, byte and text decoding, the ring builder that counts against the limits,
the CRS choice and the finishing steps (area of use, validity, transform to WGS 84) that
every site format ends with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError, InvalidGeometry, InvalidInput, LimitExceeded
from planmap.geo.limits import Limits
from planmap.geo.validate import check_limits, polygonal_part, validate_geometry
from shapely.geometry.base import BaseGeometry

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
    point_names : list of dict
        国土 TXT only: per parcel, the file's own 界址点 name (点号: J1, JZD12, …) of each
        vertex, keyed by its ``(x, y)`` in ``crs_in``; empty for other formats.
    """

    geometry: BaseGeometry
    crs_in: str
    fmt: str
    parcels: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parts: list[BaseGeometry] = field(default_factory=list)
    crs_source: str = ""
    point_names: list[dict] = field(default_factory=list)


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
