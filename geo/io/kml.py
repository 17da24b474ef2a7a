"""KML site files (expat with DTDs and entities forbidden; KMZ goes through the zip reader)."""

from __future__ import annotations

import codecs
import re
from xml.parsers import expat

import numpy as np
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import InvalidGeometry, InvalidInput, LimitExceeded
from planmap.geo.io.common import (
    ParsedSite,
    _Builder,
    _err,
    _finish,
    _polygon_from_rings,
    _resolve_crs,
    _strip_nul,
)
from planmap.geo.io.safety import MAX_XML_DEPTH
from planmap.geo.limits import Limits
from shapely.geometry.base import BaseGeometry

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
