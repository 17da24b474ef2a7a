"""Zipped Shapefiles (and KMZ, found by its .kml member).

Zip checks, the ``.shp`` record pre-check, reading through pyogrio.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import threading
import warnings
import zipfile

import shapely
from planmap.geo.errors import CRSError, InvalidGeometry, InvalidInput, LimitExceeded, PlanmapError
from planmap.geo.io.common import (
    _NAME_KEYS,
    ParsedSite,
    _Builder,
    _err,
    _finish,
    _resolve_crs,
    _too_large,
)
from planmap.geo.io.kml import _parse_kml
from planmap.geo.io.prj import _prj_crs
from planmap.geo.io.safety import (
    _ZIP_ERRORS,
    MAX_PRJ_BYTES,
    _check_zip,
    _extract_member,
    _invalid_zip,
)
from planmap.geo.limits import Limits

# --------------------------------------------------------------------------- Shapefile zip

_WARNINGS_LOCK = threading.Lock()
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


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
