"""The site-file entry point.

Format names and detection, and :func:`parse_site`, which dispatches to one reader per
format.
"""

from __future__ import annotations

import os

from planmap.geo.errors import InvalidInput, LimitExceeded, PlanmapError
from planmap.geo.io.common import _EXTENSIONS, _FORMAT_ALIASES, FORMATS, ParsedSite, _as_bytes, _err
from planmap.geo.io.geojson import _parse_geojson
from planmap.geo.io.kml import _parse_kml
from planmap.geo.io.shapefile import _parse_shapefile
from planmap.geo.io.txt import _TXT_COORDS, _TXT_HEADER, _parse_txt
from planmap.geo.io.wkt import _WKT_START, _parse_wkt
from planmap.geo.limits import DEFAULT_LIMITS, Limits


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
