"""Load and validate the plan layers: ``layers.load()``.

The data lives next to this module (``catalog.json``, ``data/<id>.geojson``,
``clauses.json``, ``plans/``); see ``docs/ARCHITECTURE.md`` for the contracts.
``load`` has no side effects: callers (``server.create_app``, the CLI) load once
per process and keep the result.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from planmap.geo.errors import LayerError, NotFound, PlanmapError
from planmap.geo.validate import flatten_collection
from planmap.geo.vocab import ACCURACY, EFFECTS, ID_RE
from shapely.geometry import shape

PACKAGE_DIR = Path(__file__).resolve().parent
"""The built-in data folder (the ``layers`` package itself, also inside a wheel)."""

CITY_ADCODE = "220800"
ACCURACY_VALUES = ACCURACY
REQUIRED_PROPERTIES = (
    "id", "name_zh", "name_en", "layer", "kind", "county", "accuracy", "source", "citation",
)
ID_PATTERN = ID_RE
# GeoJSON "crs" members (pre-RFC 7946) that still mean WGS84 lon/lat.
_WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:epsg::4326", "epsg:4326", "crs84",
}
# Properties first in this order, then any extras as they come.
_COLUMN_ORDER = REQUIRED_PROPERTIES + ("rule", "extra_citations")


@dataclass
class PlanText:
    r"""One vendored plan text.

    Attributes
    ----------
    seed : str
        File stem, e.g. ``"000_f32aaef515cfbb76"`` (what citations name).
    title_zh, title_en : str
        The plan's title.
    lines : list of str
        The text split on ``\n`` only; citation line ``n`` is ``lines[n - 1]``.
    """

    seed: str
    title_zh: str
    title_en: str
    lines: list[str]

    def line(self, n: int) -> str:
        """Return line ``n`` (1-based, as citations count); NotFound if out of range."""
        if not isinstance(n, int) or not 1 <= n <= len(self.lines):
            raise NotFound(
                "line_not_found",
                f"plan {self.seed} has no line {n} (1..{len(self.lines)})",
                f"规划文本 {self.seed} 没有第 {n} 行（共 {len(self.lines)} 行）",
                param="line",
            )
        return self.lines[n - 1]

    @property
    def text(self) -> str:
        """The whole text."""
        return "\n".join(self.lines)


@dataclass
class PlanData:
    """Everything the service reads: catalog, layers, clauses, plan texts.

    Attributes
    ----------
    catalog : list of dict
        Layer entries sorted by ``order`` (draw order). Includes layers that failed
        to load (``strict=False``); those have no entry in ``layers`` but one in ``errors``.
    layers : dict of str to GeoDataFrame
        EPSG:4326, index = feature id, columns = the feature properties (``citation``
        kept as a dict, ``county`` as a list).
    clauses : list of dict
        Policy clauses (``layers/clauses.json``).
    plans : dict of str to PlanText
        Vendored plan texts by seed.
    data_version : str
        Catalog ``data_version`` + short hash of the data bytes; changes on import.
    errors : dict of str to str
        Layer id (or ``"catalog"``, ``"clauses"``, ``"plans"``) -> problem; only
        filled when loading with ``strict=False``.
    service_area : shapely geometry or None
        Baicheng City (feature with adcode 220800 of ``admin``), else the union of
        the admin features; None without an admin layer.
    data_dir : Path
        The folder the data was read from.
    plan_list : list of dict
        The catalog's ``plans`` (issue 15): id, seed, names, level, ``area_feature``,
        ``defers_to``, ``layers``, ``extent``; empty for data without plans.
    store_layers : dict of str to layers.storequery.StoreLayer
        Bulk store layers (≥ :data:`STORE_IN_PLACE_MIN` polygons) that are *not* read into
        ``layers``: queried in place through the store's spatial index
        (:mod:`layers.storequery`, :mod:`geo.index.storezones`). Their catalog entries carry
        ``feature_count`` and ``bbox`` from the store's metadata.
    """

    catalog: list[dict]
    layers: dict[str, gpd.GeoDataFrame]
    clauses: list[dict]
    plans: dict[str, PlanText]
    data_version: str
    errors: dict[str, str] = field(default_factory=dict)
    service_area: Any = None
    data_dir: Path = PACKAGE_DIR
    plan_list: list[dict] = field(default_factory=list)
    store_layers: dict[str, Any] = field(default_factory=dict)
    _feature_layer: dict[str, str] = field(default_factory=dict, repr=False)
    _all: gpd.GeoDataFrame | None = field(default=None, repr=False)

    def layer_entry(self, layer_id: str) -> dict:
        """Return the catalog entry of a layer; NotFound if unknown."""
        for entry in self.catalog:
            if entry["id"] == layer_id:
                return entry
        raise NotFound("layer_not_found", f"unknown layer {layer_id!r}",
                       f"未知图层 {layer_id!r}", param="layer")

    def feature(self, feature_id: str) -> dict:
        """Return one feature's properties plus ``geometry`` (shapely); NotFound if unknown."""
        layer_id = self._feature_layer.get(feature_id)
        if layer_id is None:
            raise NotFound("feature_not_found", f"unknown feature {feature_id!r}",
                           f"未知要素 {feature_id!r}", param="id")
        row = self.layers[layer_id].loc[feature_id]
        out = {k: _plain(v) for k, v in row.items() if k != "geometry"}
        out["geometry"] = row.geometry
        return out

    def all_features(self) -> gpd.GeoDataFrame:
        """All loaded features in one GeoDataFrame (catalog order); ``layer`` names the layer.

        Built on first use and cached; treat it as read-only.
        """
        if self._all is None:
            frames = [self.layers[e["id"]] for e in self.catalog if e["id"] in self.layers]
            if frames:
                merged = pd.concat(frames, sort=False)
                self._all = gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
            else:
                self._all = gpd.GeoDataFrame(
                    {"id": [], "layer": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        return self._all

    @property
    def home_plan(self) -> str | None:
        """Id of the home plan (Baicheng's, marked ``home``), None without plans."""
        return next((p["id"] for p in self.plan_list if p.get("home")), None)

    def layer_plan(self, layer_id: str) -> str | None:
        """Plan id of a layer (catalog ``plan``; the home plan when the entry has none)."""
        for entry in self.catalog:
            if entry["id"] == layer_id:
                return entry.get("plan") or self.home_plan
        return None

    def plan_areas(self) -> dict:
        """Plan id → area geometry (its ``area_feature``), for the plans whose feature loaded."""
        out = {}
        for p in self.plan_list:
            fid = p.get("area_feature")
            if fid in self._feature_layer:
                out[p["id"]] = self.layers[self._feature_layer[fid]].geometry.loc[fid]
        return out

    def clauses_for(self, feature_id: str) -> list[dict]:
        """Clauses whose ``applies_to`` names the feature (or its whole layer)."""
        layer_id = self._feature_layer.get(feature_id)
        return [c for c in self.clauses
                if feature_id in c.get("applies_to", ()) or
                (layer_id is not None and layer_id in c.get("applies_to", ()))]

    def dangling_clause_refs(self) -> dict[str, list[str]]:
        """Clause id -> ``applies_to`` entries that name no loaded feature or layer."""
        known = set(self._feature_layer) | {e["id"] for e in self.catalog}
        out = {}
        for c in self.clauses:
            # official_layers name layers a bureau has yet to import: expected, not dangling
            expected = set(c.get("official_layers") or ())
            missing = [x for x in c.get("applies_to", ()) if x not in known and x not in expected]
            if missing:
                out[c.get("id", "?")] = missing
        return out


def _plain(value):
    """Numpy scalars / NaN -> plain Python (for JSON)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class _Problem(Exception):
    """A problem with one file; becomes a LayerError or an ``errors`` entry."""

    def __init__(self, path: Path, problem: str, problem_zh: str | None = None):
        self.path = path
        self.problem = problem
        self.problem_zh = problem_zh or problem
        super().__init__(f"{path}: {problem}")


def _read_json(path: Path):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _Problem(path, "file is missing", "文件缺失") from None
    except OSError as exc:
        raise _Problem(path, f"cannot read file: {exc.strerror}", "无法读取文件") from None
    try:
        return json.loads(raw.decode("utf-8")), raw
    except UnicodeDecodeError as exc:
        raise _Problem(path, f"not UTF-8 text (byte {exc.start})", "不是 UTF-8 文本") from None
    except json.JSONDecodeError as exc:
        raise _Problem(path, f"corrupt JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                       f"JSON 损坏：第 {exc.lineno} 行第 {exc.colno} 列") from None


def _load_plans(data_dir: Path) -> dict[str, PlanText]:
    plans_dir = data_dir / "plans"
    index_path = plans_dir / "index.json"
    index, _ = _read_json(index_path)
    if isinstance(index, list):  # tolerate a list of {"seed", ...} objects
        index = {item["seed"]: item for item in index}
    if not isinstance(index, dict):
        raise _Problem(index_path, "expected an object seed -> {title_zh, title_en, file}")
    plans = {}
    for seed, meta in index.items():
        path = plans_dir / (meta.get("file") or f"{seed}.txt")
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            raise _Problem(path, "plan text is missing", "规划文本缺失") from None
        except UnicodeDecodeError:
            raise _Problem(path, "plan text is not UTF-8", "规划文本不是 UTF-8") from None
        # Split on \n only: str.splitlines() would also split on \x0c, \u2028 ... and
        # shift every cited line number.
        lines = [ln.rstrip("\r") for ln in text.split("\n")]
        plans[seed] = PlanText(seed, meta.get("title_zh", seed), meta.get("title_en", seed), lines)
    return plans


def _check_crs(fc: dict, path: Path) -> None:
    crs = fc.get("crs")
    if crs is None:
        return  # RFC 7946: no member means WGS84 lon/lat
    props = (crs.get("properties") or {}) if isinstance(crs, dict) else {}
    name = str(props.get("name", "")).lower()
    if name not in _WGS84_NAMES:
        raise _Problem(path, f"CRS must be WGS84 lon/lat (RFC 7946), file declares {name or crs!r}",
                       f"坐标系必须是 WGS84 经纬度，文件声明为 {name or crs!r}")


def _read_layer(entry: dict, data_dir: Path, plans: dict[str, PlanText]):
    """Read and validate one layer file; return (GeoDataFrame, raw bytes)."""
    layer_id = entry["id"]
    path = data_dir / entry.get("file", f"data/{layer_id}.geojson")
    fc, raw = _read_json(path)
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection" or \
            not isinstance(fc.get("features"), list):
        raise _Problem(path, "not a GeoJSON FeatureCollection", "不是 GeoJSON 要素集合")
    _check_crs(fc, path)

    records, geoms = [], []
    for n, feat in enumerate(fc["features"]):
        props = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(props, dict):
            raise _Problem(path, f"feature #{n} has no properties", f"第 {n} 个要素没有属性")
        fid = props.get("id")
        where = f"feature {fid!r}" if fid is not None else f"feature #{n}"
        missing = [k for k in REQUIRED_PROPERTIES if props.get(k) is None]
        if missing:
            raise _Problem(path, f"{where} lacks required properties {missing}",
                           f"要素 {fid or n} 缺少必需属性 {missing}")
        if not isinstance(fid, str) or not ID_PATTERN.match(fid):
            raise _Problem(path, f"{where}: id must match {ID_RE.pattern}",
                           f"要素 {fid}：id 只能含小写字母、数字和下划线")
        if "id" in feat and feat["id"] != fid:
            raise _Problem(path, f"{where}: top-level id {feat['id']!r} differs from properties.id",
                           f"要素 {fid}：顶层 id 与 properties.id 不一致")
        if props["layer"] != layer_id:
            raise _Problem(path, f"{where}: layer is {props['layer']!r}, expected {layer_id!r}",
                           f"要素 {fid}：layer 应为 {layer_id}")
        if props["accuracy"] not in ACCURACY_VALUES:
            raise _Problem(path, f"{where}: accuracy {props['accuracy']!r} not in "
                                 f"{list(ACCURACY_VALUES)}", f"要素 {fid}：accuracy 取值无效")
        county = props["county"]
        if not isinstance(county, list) or not all(isinstance(c, str) for c in county):
            raise _Problem(path, f"{where}: county must be a list of adcode strings",
                           f"要素 {fid}：county 必须是行政区划代码字符串列表")
        _check_citation(props["citation"], where, fid, path, plans)
        for extra in props.get("extra_citations") or ():
            _check_citation(extra, where, fid, path, plans)
        geom_json = feat.get("geometry")
        if not geom_json:
            raise _Problem(path, f"{where} has no geometry", f"要素 {fid} 没有几何")
        try:
            geom = shape(geom_json)
        except Exception as exc:  # shapely raises several types for malformed input
            raise _Problem(path, f"{where}: unreadable geometry ({exc})",
                           f"要素 {fid}：几何无法解析") from None
        if geom.geom_type == "GeometryCollection":
            # a collection inside a collection breaks the zone index at start-up: flatten
            geom = flatten_collection(geom)
        records.append(props)
        geoms.append(geom)

    geom_arr = np.array(geoms, dtype=object)
    if len(geom_arr):
        bad = ~shapely.is_valid(geom_arr) | shapely.is_empty(geom_arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            reason = ("empty geometry" if geom_arr[i].is_empty
                      else shapely.is_valid_reason(geom_arr[i]))
            raise _Problem(path, f"feature {records[i]['id']!r}: invalid geometry: {reason}",
                           f"要素 {records[i]['id']}：几何无效：{reason}")
        xmin, ymin, xmax, ymax = shapely.total_bounds(geom_arr)
        if not (-180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90):
            raise _Problem(path, "coordinates outside lon/lat range: CRS is not WGS84",
                           "坐标超出经纬度范围：坐标系不是 WGS84")

    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise _Problem(path, f"duplicate feature ids {dup}", f"要素 id 重复 {dup}")

    # Required properties first, then the optional and extra ones that occur at all.
    present = {k for r in records for k in r}
    columns = list(REQUIRED_PROPERTIES) + [k for k in _COLUMN_ORDER[len(REQUIRED_PROPERTIES):]
                                            if k in present]
    for r in records:
        for k in r:
            if k not in columns:
                columns.append(k)
    index = pd.Index(ids, dtype=object)
    data = {k: [r.get(k) for r in records] for k in columns}
    frame = pd.DataFrame(data, index=index, columns=columns)
    geometry = gpd.GeoSeries(list(geom_arr), index=index, crs="EPSG:4326")
    gdf = gpd.GeoDataFrame(frame, geometry=geometry)
    return gdf, raw


def _check_citation(cit, where: str, fid, path: Path, plans: dict[str, PlanText]) -> None:
    if not isinstance(cit, dict) or not all(cit.get(k) for k in ("seed", "line", "quote")):
        raise _Problem(path, f"{where}: citation needs seed, line and quote",
                       f"要素 {fid}：出处须含 seed、line、quote")
    plan = plans.get(cit["seed"])
    if plan is None:
        raise _Problem(path, f"{where}: citation names unknown plan {cit['seed']!r}",
                       f"要素 {fid}：出处引用了不存在的规划 {cit['seed']!r}")
    line = cit["line"]
    if not isinstance(line, int) or not 1 <= line <= len(plan.lines):
        raise _Problem(path, f"{where}: citation line {line!r} outside {cit['seed']} "
                             f"(1..{len(plan.lines)})", f"要素 {fid}：出处行号 {line} 超出范围")


def _check_clause(c, path: Path, plans: dict[str, PlanText]) -> None:
    if not isinstance(c, dict) or not c.get("id") or \
            c.get("effect") not in EFFECTS:
        raise _Problem(path, f"clause {c.get('id') if isinstance(c, dict) else c!r}"
                             ": needs an id and a valid effect")
    _check_citation(c.get("citation"), f"clause {c['id']!r}", c["id"], path, plans)


def _service_area(layers: dict[str, gpd.GeoDataFrame]):
    admin = layers.get("admin")
    if admin is None or admin.empty:
        return None
    if "adcode" in admin:
        city = admin[admin["adcode"].astype(str) == CITY_ADCODE]
        if len(city):
            return city.geometry.iloc[0]
    if f"admin_{CITY_ADCODE}" in admin.index:
        return admin.geometry.loc[f"admin_{CITY_ADCODE}"]
    return shapely.union_all(admin.geometry.values)


DATA_PARTS = ("catalog.json", "clauses.json", "data", "plans")
"""What a data dir consists of (``load`` reads only these)."""


def copy_data_dir(dest: str | Path, source: str | Path | None = None) -> Path:
    """Copy a data dir (default: the built-in data) to ``dest`` and return it.

    A writable copy is where imports go when the package itself must stay untouched:
    serve it with ``PLANMAP_DATA_DIR=<dest>``.

    Parameters
    ----------
    dest : str or Path
        Target folder; created if missing, must not already hold the parts.
    source : str or Path, optional
        Data dir to copy; the package's own by default.

    Returns
    -------
    Path
        ``dest``.
    """
    dest, source = Path(dest), Path(source) if source else PACKAGE_DIR
    dest.mkdir(parents=True, exist_ok=True)
    for part in DATA_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def load(data_dir: str | Path | None = None, strict: bool = True, store=None) -> PlanData:
    """Load the catalog, the layers, the clauses and the plan texts, validated.

    Parameters
    ----------
    data_dir : str or Path, optional
        Folder with ``catalog.json``, ``data/``, ``clauses.json``, ``plans/``;
        default the package's own data.
    strict : bool
        True: the first problem raises. False: a broken layer is recorded in
        ``PlanData.errors`` and skipped, the rest load (degraded start).
    store : LayerStore, str or False, optional
        The layer store whose active versions are added (a store layer with a catalog
        id replaces that layer's file data; others are added with the catalog entry kept
        in the store, ``store_version`` naming the version). Default
        :func:`layers.store.default_store`; False: none.

    Returns
    -------
    PlanData

    Raises
    ------
    geo.errors.LayerError
        (strict) a file is missing or corrupt, a geometry invalid, an id duplicated,
        a property or citation missing; the message names the file and the problem.
        The catalog and the plan index are needed even when not strict.
    """
    data_dir = Path(data_dir) if data_dir else PACKAGE_DIR
    errors: dict[str, str] = {}

    def fail(key: str, prob: _Problem, fatal: bool = False):
        try:
            shown = prob.path.relative_to(data_dir)
        except ValueError:
            shown = prob.path
        if strict or fatal:
            raise LayerError("layer_error", f"{shown}: {prob.problem}",
                             f"{shown}：{prob.problem_zh}", param=str(shown))
        errors[key] = f"{shown}: {prob.problem}"

    digest = hashlib.sha256()
    try:
        catalog_doc, raw = _read_json(data_dir / "catalog.json")
        if not isinstance(catalog_doc, dict) or not isinstance(catalog_doc.get("layers"), list):
            raise _Problem(data_dir / "catalog.json",
                           'expected {"data_version": ..., "layers": [...]}')
        entries = catalog_doc["layers"]
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("id"), str):
                raise _Problem(data_dir / "catalog.json", "every layer entry needs an id")
        seen = [e["id"] for e in entries]
        if len(set(seen)) != len(seen):
            dup = sorted({i for i in seen if seen.count(i) > 1})
            raise _Problem(data_dir / "catalog.json", f"duplicate layer ids {dup}",
                           f"图层 id 重复 {dup}")
    except _Problem as prob:
        fail("catalog", prob, fatal=True)
    digest.update(raw)
    catalog = sorted(entries, key=lambda e: (e.get("order", 0), e["id"]))

    try:
        plans = _load_plans(data_dir)
    except _Problem as prob:
        # Without the plan texts no citation can be checked: nothing would be trustworthy.
        fail("plans", prob, fatal=True)

    layers: dict[str, gpd.GeoDataFrame] = {}
    owner: dict[str, str] = {}
    for entry in catalog:
        layer_id = entry["id"]
        try:
            gdf, raw = _read_layer(entry, data_dir, plans)
            clash = [i for i in gdf.index if i in owner]
            if clash:
                raise _Problem(data_dir / entry.get("file", f"data/{layer_id}.geojson"),
                               f"feature ids {clash[:5]} already used by layer "
                               f"{owner[clash[0]]!r}", f"要素 id {clash[:5]} 与其他图层重复")
        except _Problem as prob:
            fail(layer_id, prob)
            continue
        digest.update(layer_id.encode() + b"\0" + raw)
        for fid in gdf.index:
            owner[fid] = layer_id
        layers[layer_id] = gdf

    store_layers: dict = {}
    try:
        catalog = _add_store_layers(store, catalog, layers, owner, digest, store_layers)
    except PlanmapError as exc:  # the store's layers are left out, the rest serve
        if strict:
            raise
        errors["store"] = exc.message_en

    clauses: list[dict] = []
    clauses_path = data_dir / "clauses.json"
    try:
        doc, raw = _read_json(clauses_path)
        if isinstance(doc, dict):  # tolerate {"clauses": [...]}
            doc = doc.get("clauses")
        if not isinstance(doc, list):
            raise _Problem(clauses_path, "expected a list of clauses")
        digest.update(raw)
        bad = []
        for c in doc:
            try:
                _check_clause(c, clauses_path, plans)
            except _Problem as prob:
                if strict:
                    raise
                bad.append(prob)  # not strict: drop this clause, keep the others
            else:
                clauses.append(c)
        if bad:
            fail("clauses", _Problem(clauses_path, "; ".join(p.problem for p in bad)))
    except _Problem as prob:
        fail("clauses", prob)

    version = f"{catalog_doc.get('data_version', '0')}+{digest.hexdigest()[:10]}"
    return PlanData(
        catalog=catalog,
        layers=layers,
        clauses=clauses,
        plans=plans,
        data_version=version,
        errors=errors,
        service_area=_service_area(layers),
        data_dir=data_dir,
        plan_list=[dict(p) for p in catalog_doc.get("plans") or () if isinstance(p, dict)],
        _feature_layer=owner,
        store_layers=store_layers,
    )


STORE_IN_PLACE_MIN = 2000
"""Store layers of at least this many polygons (``geo.index.BULK_MIN_FEATURES``) stay in the
store: never read whole at start, queried in place (``PlanData.store_layers``)."""


def _in_place(store, lid, version, in_place_out):
    """Return the :class:`layers.storequery.StoreLayer` of a bulk polygon layer, else None."""
    from planmap.layers import storequery

    if in_place_out is None:
        return None
    types = (store.meta(lid) or {}).get("geometry_types") or []
    if not types or any(t.replace("Multi", "") != "Polygon" for t in types):
        return None
    if storequery.feature_count(store, lid) < STORE_IN_PLACE_MIN:
        return None
    return storequery.store_layer(store, lid)


def _add_store_layers(store, catalog, layers, owner, digest, in_place_out=None) -> list[dict]:
    """Add the store's active layer versions (see :func:`load`); return the catalog.

    Bulk polygon layers go to ``in_place_out`` (layer id → StoreLayer) without reading a
    feature; the others are read into ``layers``.
    """
    from planmap.layers import store as layer_store

    if store is False:
        return catalog
    if store is None:
        store = layer_store.default_store()
    elif isinstance(store, (str, Path)):
        store = layer_store.open_store(store)
    if store is None:
        return catalog
    by_id = {e["id"]: e for e in catalog}
    for lid in store.layers():
        version = store.current(lid)
        source = _in_place(store, lid, version, in_place_out)
        if source is not None:
            if lid in layers:  # a data-folder layer of the same id: the store's wins
                for fid in layers.pop(lid).index:
                    owner.pop(fid, None)
            entry = dict(by_id.get(lid) or store.meta(lid) or {"id": lid})
            entry["id"] = lid
            entry["store_version"] = version
            entry["feature_count"] = source.count
            entry["bbox"] = list(source.bounds)
            entry["geometry_types"] = sorted({t.replace("Multi", "") for t in
                                              (store.meta(lid) or {}).get("geometry_types")})
            by_id[lid] = entry
            in_place_out[lid] = source
            digest.update(f"store\0{lid}\0{version}".encode())
            continue
        gdf = store.read(lid)
        optional = [c for c in gdf.columns if c not in REQUIRED_PROPERTIES and c != "geometry"]
        empty = [c for c in optional if gdf[c].isna().all()]
        if empty:  # like a GeoJSON layer: only the properties some feature has
            gdf = gdf.drop(columns=empty)
        if lid in layers:
            for fid in layers[lid].index:
                owner.pop(fid, None)
        clash = [i for i in gdf.index if owner.get(i, lid) != lid]
        if clash:
            raise LayerError("layer_error", f"store layer {lid!r}: feature ids {clash[:5]} "
                             f"already used by layer {owner[clash[0]]!r}",
                             f"存储图层 {lid}：要素 id {clash[:5]} 与其他图层重复", param=lid)
        entry = dict(by_id.get(lid) or store.meta(lid) or {"id": lid})
        entry["id"] = lid
        entry["store_version"] = version
        if gdf.geometry is not None and len(gdf):
            entry["geometry_types"] = sorted({t.replace("Multi", "")
                                              for t in gdf.geom_type.unique()})
        by_id[lid] = entry
        for fid in gdf.index:
            owner[fid] = lid
        layers[lid] = gdf
        digest.update(f"store\0{lid}\0{version}".encode())
    return sorted(by_id.values(), key=lambda e: (e.get("order", 0), e["id"]))
