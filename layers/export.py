"""Export layers in GIS formats (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV).

Every file is written by GDAL through pyogrio, never by hand.  Provenance
travels with the data: each feature keeps ``accuracy``, ``source`` and its
citation (flattened to ``citation_seed``, ``citation_line``,
``citation_quote``), plus the layer's ``attribution`` and ``licence``;
GeoPackage layers also carry them as layer metadata, and zips hold an
``ATTRIBUTION.txt``.

Shapefile limits are met without losing information: field names are cut to
10 characters with a ``fields.csv`` map (short -> full name) in the zip, and
text longer than a DBF field (254 bytes) is kept whole in ``attributes.csv``.
A layer mixing polygons, lines and points becomes one shapefile per geometry
family (``parks_polygon.shp``, ``parks_line.shp``, ...).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from planmap.geo.errors import CRSError, InvalidInput, LayerError, NotFound
from planmap.geo.vocab import EXPORT_CRS

#: format -> (GDAL driver, media type, file extension)
FORMATS = {
    "geojson": ("GeoJSON", "application/geo+json", "geojson"),
    "gpkg": ("GPKG", "application/geopackage+sqlite3", "gpkg"),
    "shp.zip": ("ESRI Shapefile", "application/zip", "shp.zip"),
    "kml": ("KML", "application/vnd.google-earth.kml+xml", "kml"),
    "csv": ("CSV", "text/csv; charset=utf-8", "csv"),
}

#: the CRSs an export can be written in (Chinese surveying uses CGCS2000: 4490 geographic,
#: 4550 = 3-degree Gauss-Krüger zone with central meridian 123°E, which covers Baicheng)
#: (EXPORT_CRS: geo.vocab)
_CRS_ALIASES = {
    "EPSG:4326": "EPSG:4326", "4326": "EPSG:4326", "WGS84": "EPSG:4326",
    "OGC:CRS84": "EPSG:4326", "CRS84": "EPSG:4326",
    "HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84": "EPSG:4326",
    "EPSG:4490": "EPSG:4490", "4490": "EPSG:4490", "CGCS2000": "EPSG:4490",
    "HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/4490": "EPSG:4490",
    "EPSG:4550": "EPSG:4550", "4550": "EPSG:4550",
    "HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/4550": "EPSG:4550",
}

#: columns every export starts with, in this order
BASE_COLUMNS = (
    "id", "layer", "name_zh", "name_en", "kind", "county", "accuracy", "source",
    "citation_seed", "citation_line", "citation_quote", "rule", "extra_citations",
    "attribution", "licence",
)

#: fixed 10-character Shapefile names for the base columns (readable, stable across exports)
SHAPEFILE_NAMES = {
    "id": "id", "layer": "layer", "name_zh": "name_zh", "name_en": "name_en", "kind": "kind",
    "county": "county", "accuracy": "accuracy", "source": "source", "citation_seed": "cite_seed",
    "citation_line": "cite_line", "citation_quote": "cite_quote", "rule": "rule",
    "extra_citations": "extra_cite", "attribution": "attributn", "licence": "licence",
}

DBF_TEXT_BYTES = 254  # longest text a DBF field holds
ALL = "all"
ALL_LAYER_NAME = "planmap"  # layer name of single-table "all" exports (GeoJSON, CSV, KML)

_FAMILY = {
    "Polygon": "polygon", "MultiPolygon": "polygon",
    "LineString": "line", "MultiLineString": "line", "LinearRing": "line",
    "Point": "point", "MultiPoint": "point",
}


def parse_format(fmt: str) -> str:
    """Return the canonical export format name, or raise ``InvalidInput``."""
    key = str(fmt or "").strip().lower().lstrip(".")
    if key in ("shp", "shapefile", "zip"):
        key = "shp.zip"
    if key == "json":
        key = "geojson"
    if key not in FORMATS:
        raise InvalidInput(
            "unknown_format",
            f"unknown export format {str(fmt)[:40]!r}; supported: {', '.join(FORMATS)}",
            f"不支持的导出格式 {str(fmt)[:40]!r}；支持：{'、'.join(FORMATS)}",
            param="format",
        )
    return key


def parse_export_crs(crs: str | None) -> str:
    """Return ``"EPSG:xxxx"`` for an allowed export CRS, or raise ``CRSError``."""
    if crs is None or str(crs).strip() == "":
        return "EPSG:4326"
    key = str(crs).strip().upper()
    if key not in _CRS_ALIASES:
        raise CRSError(
            "unsupported_crs",
            f"unsupported export CRS {str(crs)[:40]!r}; supported: {', '.join(EXPORT_CRS)}",
            f"不支持的导出坐标系 {str(crs)[:40]!r}；支持：{'、'.join(EXPORT_CRS)}",
            param="crs",
        )
    return _CRS_ALIASES[key]


def layer_ids(data, layer: str = ALL) -> list[str]:
    """Return the layer ids an export of ``layer`` covers (catalog order), validated.

    Raises
    ------
    NotFound
        ``layer`` is not in the catalog.
    LayerError
        ``layer`` is in the catalog but failed to load.
    """
    catalog_ids = [entry["id"] for entry in data.catalog]
    if layer in (None, "", ALL):
        return [lid for lid in catalog_ids if lid in data.layers]
    if layer not in catalog_ids:
        shown = str(layer)[:64]
        raise NotFound("unknown_layer", f"unknown layer {shown!r}", f"未知图层 {shown!r}",
                       param="layer")
    source = (getattr(data, "store_layers", None) or {}).get(layer)
    if source is not None:  # queried in place (layers/storequery.py): never built whole
        from planmap.geo.errors import LimitExceeded

        raise LimitExceeded(
            "layer_too_large", f"layer {layer!r} has {source.count:,} features and stays in "
            f"the layer store: read it with /ogc/collections/{layer}/items?bbox=…",
            f"图层 {layer!r} 有 {source.count:,} 个要素，保存在图层存储中：请用 bbox 分块读取",
            param="layer")
    if layer not in data.layers:
        problem = (getattr(data, "errors", None) or {}).get(layer, "not loaded")
        raise LayerError("layer_unavailable", f"layer {layer!r} is unavailable: {problem}",
                         f"图层 {layer!r} 不可用：{problem}", param="layer")
    return [layer]


def _entry(data, layer_id: str) -> dict:
    for entry in data.catalog:
        if entry["id"] == layer_id:
            return entry
    return {}


def _text(value) -> str | None:
    """Plain text for a cell: lists/dicts as JSON, missing as None."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from a missing pandas cell
        return None
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def flat_frame(data, layer_id: str) -> gpd.GeoDataFrame:
    """One layer as a flat table in EPSG:4326 (no nested values), ready for any driver.

    ``citation`` becomes ``citation_seed`` / ``citation_line`` / ``citation_quote``;
    ``county`` (a list of adcodes) is joined with ``","``; other lists/dicts become JSON text.
    """
    gdf = data.layers[layer_id]
    entry = _entry(data, layer_id)
    n = len(gdf)
    if "id" in gdf.columns:
        ids = [str(v) for v in gdf["id"]]
    else:
        ids = [str(v) for v in gdf.index]

    def col(name):
        return list(gdf[name]) if name in gdf.columns else [None] * n

    citations = col("citation")
    out = {
        "id": ids,
        "layer": [layer_id] * n,
        "name_zh": [_text(v) for v in col("name_zh")],
        "name_en": [_text(v) for v in col("name_en")],
        "kind": [_text(v) for v in col("kind")],
        "county": [",".join(str(c) for c in v) if isinstance(v, (list, tuple)) else _text(v)
                   for v in col("county")],
        "accuracy": [_text(v) for v in col("accuracy")],
        "source": [_text(v) for v in col("source")],
        "citation_seed": [_text(c.get("seed")) if isinstance(c, dict) else None
                          for c in citations],
        "citation_line": [int(c["line"]) if isinstance(c, dict) and c.get("line") is not None
                          else None for c in citations],
        "citation_quote": [_text(c.get("quote")) if isinstance(c, dict) else None
                           for c in citations],
        "rule": [_text(v) for v in col("rule")],
        "extra_citations": [_text(v) for v in col("extra_citations")],
        "attribution": [entry.get("attribution")] * n,
        "licence": [entry.get("licence")] * n,
    }
    skip = set(BASE_COLUMNS) | {"citation", gdf.geometry.name}
    for name in gdf.columns:
        if name in skip:
            continue
        values = list(gdf[name])
        if any(isinstance(v, (dict, list, tuple)) for v in values):
            values = [_text(v) for v in values]
        out[str(name)] = values
    frame = pd.DataFrame(out)
    frame["citation_line"] = frame["citation_line"].astype("Int64")
    crs = gdf.crs if gdf.crs is not None else "EPSG:4326"
    result = gpd.GeoDataFrame(frame, geometry=list(gdf.geometry.values), crs=crs)
    if result.crs is not None and result.crs.to_epsg() != 4326:
        result = result.to_crs("EPSG:4326")
    return result


def frames(data, layer: str = ALL, crs: str = "EPSG:4326") -> list[tuple[str, gpd.GeoDataFrame]]:
    """``[(layer_id, flat frame in crs)]`` for an export of ``layer``."""
    crs = parse_export_crs(crs)
    out = []
    for lid in layer_ids(data, layer):
        frame = flat_frame(data, lid)
        if crs != "EPSG:4326":
            frame = frame.to_crs(crs)
        out.append((lid, frame))
    return out


def _precision(crs: str) -> int:
    # ~1 cm: 7 decimals of a degree, 2 decimals of a metre; more would invent precision
    return 2 if crs == "EPSG:4550" else 7


def _attribution_text(data, ids: list[str], crs: str) -> str:
    lines = [
        "planmap export — spatial plans of Baicheng City (白城市), Jilin Province",
        f"data_version: {getattr(data, 'data_version', '')}",
        f"CRS: {crs}",
        "",
        "Every feature carries accuracy (official | derived | schematic), source and a citation",
        "(seed, line, verbatim quote) of the plan text it comes from. Schematic geometry is",
        "placed from the plan's words by stated rules; it is not a legal boundary.",
        "",
    ]
    for lid in ids:
        entry = _entry(data, lid)
        lines += [
            f"[{lid}] {entry.get('title_zh', '')} / {entry.get('title_en', '')}",
            f"  source: {entry.get('source', '')}",
            f"  licence: {entry.get('licence', '')}",
            f"  attribution: {entry.get('attribution', '')}",
            "",
        ]
    return "\n".join(lines)


def _one_table(parts: list[tuple[str, gpd.GeoDataFrame]]) -> gpd.GeoDataFrame:
    if len(parts) == 1:
        return parts[0][1]
    crs = parts[0][1].crs if parts else "EPSG:4326"
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in BASE_COLUMNS}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(pd.concat([f for _, f in parts], ignore_index=True), crs=crs)


def _write_geojson(parts, crs, path: Path) -> None:
    table = _one_table(parts)
    options = {"COORDINATE_PRECISION": _precision(crs)}
    if crs == "EPSG:4326":
        options["RFC7946"] = "YES"
        options["WRITE_NAME"] = "NO"
    pyogrio.write_dataframe(table, path, driver="GeoJSON",
                            layer=parts[0][0] if len(parts) == 1 else ALL_LAYER_NAME,
                            layer_options=options)


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...),
# +cmd|...): OWASP "CSV injection" advises a leading apostrophe, shown but not run.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula.

    Parameters
    ----------
    value : object
        A cell; only text is changed.

    Returns
    -------
    object
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write_csv(parts, crs, path: Path) -> None:
    table = _one_table(parts).copy()
    for col in table.columns:
        if col != table.geometry.name and not pd.api.types.is_numeric_dtype(table[col]):
            table[col] = table[col].map(csv_safe)
    # CSV cannot hold a CRS; a column names it so the WKT coordinates are never ambiguous
    table["crs"] = crs
    pyogrio.write_dataframe(table, path, driver="CSV",
                            layer_options={"GEOMETRY": "AS_WKT", "CREATE_CSVT": "YES"})
    csvt = path.with_suffix(".csvt")
    if csvt.exists():
        csvt.unlink()  # a single-file download; types are obvious from the header


def _write_kml(parts, crs, path: Path) -> None:
    if crs != "EPSG:4326":
        raise CRSError("kml_requires_wgs84",
                       f"KML is always WGS84 (EPSG:4326); got crs={crs}",
                       f"KML 只能使用 WGS84（EPSG:4326）坐标系；收到 crs={crs}", param="crs")
    table = _one_table(parts).copy()
    # <name> and <description> of each placemark: Google Earth and QGIS label by them
    table.insert(0, "description", [_kml_description(row) for row in
                                    table.drop(columns=table.geometry.name)
                                    .to_dict("records")])
    table.insert(0, "name", [_text(n) or _text(i) for n, i in
                             zip(table["name_zh"], table["id"], strict=True)])
    pyogrio.write_dataframe(table, path, driver="LIBKML" if _has_libkml() else "KML",
                            layer=parts[0][0] if len(parts) == 1 else ALL_LAYER_NAME,
                            dataset_options={"NameField": "name",
                                             "DescriptionField": "description"}
                            if not _has_libkml() else {})


def _kml_description(row: dict) -> str:
    """Plain-text placemark description: the English name, then accuracy, source, citation."""
    lines = []
    for label, key in (("", "name_en"), ("accuracy", "accuracy"), ("source", "source")):
        value = _text(row.get(key))
        if value:
            lines.append(f"{label}: {value}" if label else value)
    seed, line, quote = (_text(row.get(k)) for k in
                         ("citation_seed", "citation_line", "citation_quote"))
    if seed:
        lines.append(f"plan: {seed}:{line or ''} {quote or ''}".rstrip())
    return "\n".join(lines)


def _has_libkml() -> bool:
    return "LIBKML" in pyogrio.list_drivers()


def _write_gpkg(data, parts, crs, path: Path) -> None:
    for lid, frame in parts:
        entry = _entry(data, lid)
        metadata = {k: str(entry.get(k, "")) for k in ("source", "licence", "attribution",
                                                       "title_zh", "title_en")}
        metadata["data_version"] = str(getattr(data, "data_version", ""))
        description = f"{entry.get('title_zh', '')} / {entry.get('title_en', '')}. " \
                      f"Source: {entry.get('source', '')}. Licence: {entry.get('licence', '')}. " \
                      f"Attribution: {entry.get('attribution', '')}"
        geometry_type = _gpkg_geometry_type(frame)
        pyogrio.write_dataframe(
            frame, path, driver="GPKG", layer=lid, append=path.exists(),
            geometry_type=geometry_type, metadata=metadata,
            # GeoPackage 1.2: what GDAL 3.x, QGIS and ArcGIS all read without warnings
            dataset_options=None if path.exists() else {"VERSION": "1.2"},
            layer_options={"IDENTIFIER": entry.get("title_zh") or lid,
                           "DESCRIPTION": description[:2000]},
        )


def _gpkg_geometry_type(frame: gpd.GeoDataFrame) -> str:
    types = set(frame.geometry.geom_type.dropna())
    families = {_FAMILY.get(t, "other") for t in types}
    if len(families) == 1 and "other" not in families:
        return {"polygon": "MultiPolygon", "line": "MultiLineString",
                "point": "MultiPoint"}[families.pop()] if len(types) > 1 else types.pop()
    return "Unknown"


def _shapefile_names(columns: list[str]) -> dict[str, str]:
    """Map full column names to unique Shapefile names of at most 10 characters."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for full in columns:
        short = SHAPEFILE_NAMES.get(full, full)[:10]
        candidate, k = short, 1
        while candidate.lower() in used:
            suffix = str(k)
            candidate = short[: 10 - len(suffix)] + suffix
            k += 1
        used.add(candidate.lower())
        names[full] = candidate
    return names


def _write_shp_zip(data, parts, crs, path: Path, workdir: Path) -> None:
    shp_dir = workdir / "shp"
    shp_dir.mkdir()
    members: list[Path] = []
    field_rows: list[tuple[str, str, str]] = []
    full_rows: list[dict] = []
    for lid, frame in parts:
        columns = [c for c in frame.columns if c != frame.geometry.name]
        names = _shapefile_names(columns)
        renamed = frame.rename(columns=names)
        for full in columns:
            if not pd.api.types.is_numeric_dtype(renamed[names[full]]):
                renamed[names[full]] = renamed[names[full]].map(_dbf_text)
        family = frame.geometry.geom_type.map(lambda t: _FAMILY.get(t, "other"))
        families = [f for f in ("polygon", "line", "point") if (family == f).any()]
        for fam in families:
            subset = renamed[(family == fam).to_numpy()]
            stem = lid if len(families) == 1 else f"{lid}_{fam}"
            target = shp_dir / f"{stem}.shp"
            pyogrio.write_dataframe(subset, target, driver="ESRI Shapefile",
                                    promote_to_multi=True, layer_options={"ENCODING": "UTF-8"})
            members += sorted(shp_dir.glob(f"{stem}.*"))
            field_rows += [(stem, names[c], c) for c in columns]
        for record in frame.drop(columns=frame.geometry.name).to_dict("records"):
            full_rows.append({"layer": lid, **{k: record.get(k) for k in columns}})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member in members:
            zf.write(member, member.name)
        zf.writestr("fields.csv", _csv_text(["file", "short", "full"], field_rows))
        full_columns = ["layer"] + [c for c in BASE_COLUMNS if c != "layer"]
        extra = sorted({k for row in full_rows for k in row} - set(full_columns))
        zf.writestr("attributes.csv", _csv_text(
            full_columns + extra,
            [[_cell(row.get(c)) for c in full_columns + extra] for row in full_rows]))
        zf.writestr("ATTRIBUTION.txt", _attribution_text(data, [lid for lid, _ in parts], crs)
                    + "\nShapefile notes: field names are cut to 10 characters (fields.csv maps"
                    "\nshort -> full); DBF text stops at 254 bytes, so attributes.csv holds every"
                    "\nattribute in full, keyed by layer and id.\n")


def _dbf_text(value):
    """Cut text to a DBF field's 254 bytes on a UTF-8 character boundary.

    The full text is in attributes.csv; GDAL itself would cut mid-character.
    """
    if not isinstance(value, str):
        return value
    raw = value.encode("utf-8")
    if len(raw) <= DBF_TEXT_BYTES:
        return value
    return raw[:DBF_TEXT_BYTES].decode("utf-8", errors="ignore")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    if value is pd.NA:
        return ""
    return value


def _csv_text(header, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([csv_safe(h) for h in header])
    writer.writerows([csv_safe(v) for v in row] for row in rows)
    return buf.getvalue()


def write(data, fmt: str, layer: str = ALL, crs: str = "EPSG:4326", path=None) -> Path:
    """Write an export file and return its path.

    Parameters
    ----------
    data : layers.PlanData
        The loaded layers and catalog.
    fmt : str
        ``geojson``, ``gpkg``, ``shp.zip``, ``kml`` or ``csv``.
    layer : str
        A layer id, or ``"all"`` (GeoPackage: one table per layer; GeoJSON, CSV and KML:
        one table with a ``layer`` column; zipped Shapefile: one set of files per layer).
    crs : str
        ``EPSG:4326`` (default), ``EPSG:4490`` or ``EPSG:4550``; KML only EPSG:4326.
    path : str or Path
        The output file; written beside it first and then moved into place, so a failed
        export never leaves a half-written file.

    Raises
    ------
    InvalidInput, CRSError, NotFound, LayerError
        Unknown format, CRS or layer, or a layer that failed to load.
    """
    if path is None:
        raise InvalidInput("missing_output", "an output path is required", "需要输出文件路径",
                           param="output")
    fmt = parse_format(fmt)
    crs = parse_export_crs(crs)
    if fmt == "kml" and crs != "EPSG:4326":
        _write_kml([], crs, Path("unused"))  # raises the KML CRS error before any work
    parts = frames(data, layer, crs)
    if not parts:
        raise LayerError("no_layers", "no layer is available to export", "没有可导出的图层",
                         param="layer")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="planmap-export-", dir=target.parent))
    try:
        tmp = workdir / f"out.{FORMATS[fmt][2]}"
        if fmt == "geojson":
            _write_geojson(parts, crs, tmp)
        elif fmt == "csv":
            _write_csv(parts, crs, tmp)
        elif fmt == "kml":
            _write_kml(parts, crs, tmp)
        elif fmt == "gpkg":
            _write_gpkg(data, parts, crs, tmp)
        else:
            _write_shp_zip(data, parts, crs, tmp, workdir)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def to_bytes(data, fmt: str, layer: str = ALL, crs: str = "EPSG:4326") -> bytes:
    """Return an export as bytes (written to a temporary folder, read, removed)."""
    workdir = Path(tempfile.mkdtemp(prefix="planmap-export-"))
    try:
        path = write(data, fmt, layer=layer, crs=crs,
                     path=workdir / f"export.{FORMATS[parse_format(fmt)][2]}")
        return path.read_bytes()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def filename(fmt: str, layer: str = ALL, crs: str = "EPSG:4326") -> str:
    """Download name built only from validated parts (never from raw user text)."""
    fmt = parse_format(fmt)
    crs = parse_export_crs(crs)
    suffix = "" if crs == "EPSG:4326" else "_" + crs.split(":")[1]
    return f"planmap_{layer}{suffix}.{FORMATS[fmt][2]}"


def media_type(fmt: str) -> str:
    """Return the HTTP media type of a format."""
    return FORMATS[parse_format(fmt)][1]


__all__ = ["FORMATS", "EXPORT_CRS", "write", "to_bytes", "filename", "media_type",
           "flat_frame", "frames", "geojson_features", "layer_ids", "parse_format",
           "parse_export_crs"]


def _plain(value):
    """JSON-ready value: numpy scalars to Python, NaN/NA to None, containers recursively."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy scalar or array
        return _plain(value.tolist())
    if isinstance(value, float) and value != value:
        return None
    return value


def geojson_features(data, layer_id: str) -> list[dict]:
    """Return one layer as RFC 7946 Feature dicts (WGS 84), properties unflattened.

    Parameters
    ----------
    data : layers.PlanData
        The loaded layers.
    layer_id : str
        A loaded layer (see :func:`layer_ids` for validation).

    Returns
    -------
    list of dict
        ``{"type": "Feature", "id", "geometry", "properties"}`` in the layer's order.
    """
    layer_ids(data, layer_id)
    gdf = data.layers[layer_id]
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")
    geom_name = gdf.geometry.name
    columns = [c for c in gdf.columns if c != geom_name]
    geometries = shapely.to_geojson(gdf.geometry.values)
    out = []
    for position, record in enumerate(gdf[columns].itertuples(index=True, name=None)):
        index_value, values = record[0], record[1:]
        properties = {str(c): _plain(v) for c, v in zip(columns, values, strict=True)}
        fid = str(properties.get("id") or index_value)
        geometry = geometries[position]
        out.append({"type": "Feature", "id": fid,
                    "geometry": json.loads(geometry) if geometry is not None else None,
                    "properties": properties})
    return out
