"""``planmap import`` into the layer store: streamed in chunks, bounded memory.

:func:`import_to_store` reads the input batch by batch (pyogrio's Arrow stream), checks,
repairs and converts each batch with the importer's own rules (``layers/importer.py``:
CRS, 6-decimal rounding, counter-clockwise rings, Baicheng check, ids, names, citations
checked against the plan text, counties), writes it to a new version of the store
(``layers/store.py``) and, when every batch is written, activates that version — one
atomic switch; the previous version stays restorable (:func:`restore_in_store`).

Unlike the whole-file import, a bad row does not hide the others: every repaired and
every refused row is reported with its row number and reason (:class:`RowNote`). A
refused row stops the switch (nothing changes) unless ``skip_refused`` is given, then
the other rows are imported and the refused ones listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError, InvalidInput, PlanmapError
from planmap.geo.limits import DEFAULT_LIMITS, Limits
from planmap.geo.validate import POLYGONAL, flatten_collection, polygonal_part
from planmap.layers import importer as imp
from planmap.layers import loader
from planmap.layers.loader import ID_PATTERN
from planmap.layers.store import CHUNK_FEATURES, LayerStore

MAX_NOTES_SHOWN = 10_000
"""Row notes kept in memory (all are still counted, and streamed to ``report``)."""


@dataclass
class RowNote:
    """A repaired or refused input row (1-based, in file order)."""

    row: int
    kind: str  # "repaired" | "refused"
    reason: str


@dataclass
class StoreImportResult:
    """What an import into the store did.

    Attributes
    ----------
    layer_id, version : str
        The layer and its new active version (None when nothing was switched).
    previous : str or None
        The version active before (restorable).
    features : int
        Rows written.
    repaired, refused : int
        Counts of notes (all of them, even past ``MAX_NOTES_SHOWN``).
    notes : list of RowNote
    source_crs : str
    created_layer : bool
        True when the layer is in neither the catalog nor the store before.
    """

    layer_id: str
    version: str | None
    previous: str | None = None
    features: int = 0
    repaired: int = 0
    refused: int = 0
    notes: list[RowNote] = field(default_factory=list)
    source_crs: str = "EPSG:4326"
    created_layer: bool = False


class _Refused(Exception):
    pass


class _Batches:
    """Arrow batches of every GDAL source of the input, as GeoDataFrames, row-numbered."""

    def __init__(self, path: Path, layer_id: str, chunk_size: int, limits: Limits):
        self.sources = imp._sources(path, layer_id, limits)
        self.path = path
        self.chunk_size = chunk_size
        self.crs = None
        crss = set()
        for gdal_path, gdal_layer in self.sources:
            try:
                info = pyogrio.read_info(gdal_path, layer=gdal_layer)
            except Exception as exc:  # any GDAL read problem is bad input, not a crash
                raise InvalidInput("unreadable_file", f"{path.name}: cannot read ({exc})",
                                   f"{path.name}：无法读取", param="file") from None
            if info.get("geometry_type") is None:
                raise InvalidInput("no_geometry_column",
                                   f"{path.name}: the layer has no geometry column",
                                   f"{path.name}：图层没有几何列", param="file")
            crss.add(info.get("crs"))
        if len(crss) > 1:
            raise CRSError("mixed_crs", f"the parts of {path.name} have different CRSs {crss}",
                           f"{path.name} 各部分的坐标系不一致", param="file")
        self.crs = crss.pop()

    def __iter__(self) -> Iterator[tuple[int, gpd.GeoDataFrame]]:
        row = 0
        for gdal_path, gdal_layer in self.sources:
            try:
                with pyogrio.open_arrow(gdal_path, layer=gdal_layer,
                                        batch_size=self.chunk_size, use_pyarrow=True) as src:
                    meta, reader = src
                    geom_col = meta["geometry_name"] or "wkb_geometry"
                    for batch in reader:
                        frame = batch.to_pandas()
                        wkb = frame.pop(geom_col)
                        geoms = shapely.from_wkb(wkb.to_numpy(), on_invalid="ignore")
                        yield row, gpd.GeoDataFrame(frame, geometry=list(geoms), crs=None)
                        row += len(frame)
            except PlanmapError:
                raise
            except Exception as exc:
                raise InvalidInput("unreadable_file", f"{self.path.name}: cannot read ({exc})",
                                   f"{self.path.name}：无法读取", param="file") from None


def _plain_list(column: list, rows) -> list:
    """``importer._plain`` of ``column[i]`` for ``i`` in ``rows`` (text passes as it is)."""
    picked = [column[i] for i in rows]
    if all(type(v) is str for v in picked):
        return picked
    plain = imp._plain
    return [plain(v) for v in picked]


class _Converter:
    """Turns input batches into store chunks (the importer's rules, row by row notes)."""

    def __init__(self, layer_id, src, supported, source, file_name, current, entry,
                 note: Callable[[int, str, str], None]):
        self.layer_id, self.src, self.supported = layer_id, src, supported
        self.source, self.file_name, self.note = source, file_name, note
        self.current, self.entry = current, entry
        prev = current.layers.get(layer_id)
        self.prev = prev
        self.other_ids = {fid for lid, gdf in current.layers.items() if lid != layer_id
                          for fid in gdf.index}
        self.prev_by_name: dict[str, str] = {}
        if prev is not None and len(prev):
            counts = prev["name_zh"].value_counts()
            self.prev_by_name = {nm: fid for fid, nm in prev["name_zh"].items()
                                 if counts[nm] == 1}
        self.taken: set[str] = set()
        self.citations: dict = {}
        self.county_lists: dict[tuple, list] = {}
        self.column_citations: dict[tuple, dict | None] = {}
        self.serial = 0
        self.types: set[str] = set()
        self.matched = 0
        self.admin = current.layers.get("admin")
        self.box = shapely.box(gcrs.BAICHENG_LON[0], gcrs.BAICHENG_LAT[0],
                               gcrs.BAICHENG_LON[1], gcrs.BAICHENG_LAT[1])

    # -- geometry
    def _geometry(self, row0: int, geoms: np.ndarray) -> np.ndarray:
        """Return WGS84 geometries; None where the row is refused (noted)."""
        geoms = np.asarray(geoms, dtype=object)
        out = geoms.copy()
        missing = shapely.is_missing(geoms)
        missing[~missing] = shapely.is_empty(geoms[~missing])
        for i in np.flatnonzero(missing):
            self.note(row0 + i + 1, "refused", "missing_geometry: the row has no geometry")
        out[missing] = None
        live = np.flatnonzero(~missing)
        kinds = shapely.get_type_id(geoms[live])
        # one-part multis: what Shapefile/GeoPackage cannot tell apart from single parts
        multi = live[(kinds >= 4) & (kinds <= 6)]
        one = multi[shapely.get_num_geometries(geoms[multi]) == 1]
        out[one] = shapely.get_geometry(geoms[one], 0)
        for i in live[kinds == 7]:
            out[i] = flatten_collection(out[i])
        z = live[shapely.has_z(out[live])]
        out[z] = shapely.force_2d(out[z])
        invalid = live[~shapely.is_valid(out[live])]
        for i in invalid:  # only the invalid rows go one by one
            g, row = out[i], row0 + i + 1
            reason = shapely.is_valid_reason(g)
            fixed = shapely.make_valid(g)
            if g.geom_type in POLYGONAL:
                fixed = polygonal_part(fixed)
            if fixed.is_empty:
                self.note(row, "refused", f"invalid_geometry: {reason}; nothing of type "
                                          f"{g.geom_type} left after repair")
                out[i] = None
                continue
            self.note(row, "repaired", f"invalid geometry ({reason}) repaired with "
                                       f"make_valid: {g.geom_type} -> {fixed.geom_type}")
            out[i] = fixed
        ok = np.array([g is not None for g in out], dtype=bool)
        if not ok.any():
            return out
        good = out[ok]
        if self.supported:
            xy = shapely.get_coordinates(good)
            try:
                gcrs.check_coordinates(xy[:, 0], xy[:, 1], self.src, param="file")
            except CRSError:
                # name the rows: check each one (only when some coordinate is off)
                for k, i in enumerate(np.flatnonzero(ok)):
                    c = shapely.get_coordinates(good[k])
                    try:
                        gcrs.check_coordinates(c[:, 0], c[:, 1], self.src, param="file")
                    except CRSError as exc:
                        self.note(row0 + i + 1, "refused",
                                  f"coordinate_out_of_area: {exc.message_en}")
                        out[i] = None
                ok = np.array([g is not None for g in out], dtype=bool)
                good = out[ok]
                if not ok.any():
                    return out
            wgs = gcrs.transform_geometry(good, self.src, gcrs.WGS84, param="file")
        else:
            try:
                wgs = gpd.GeoSeries(list(good), crs=self.src).to_crs("EPSG:4326").values
            except Exception as exc:  # pyproj.ProjError: e.g. another celestial body
                raise CRSError("invalid_crs", f"the file's CRS cannot be turned into WGS 84 "
                               f"({exc})", "文件的坐标系无法转换为 WGS 84", param="file") from None
        wgs = np.asarray(wgs, dtype=object)
        wgs = shapely.transform(wgs, lambda c: np.round(c, 6))
        broken = ~shapely.is_valid(wgs)
        if broken.any():
            wgs[broken] = shapely.set_precision(wgs[broken], 1e-6)
        # a polygon without holes whose exterior already runs counter-clockwise is what
        # orient_polygons would return: orient only the others (most input is oriented)
        done = shapely.get_type_id(wgs) == 3
        done[done] = shapely.get_num_interior_rings(wgs[done]) == 0
        done[done] = shapely.is_ccw(shapely.get_exterior_ring(wgs[done]))
        if not done.all():
            wgs[~done] = shapely.orient_polygons(wgs[~done], exterior_cw=False)
        idx = np.flatnonzero(ok)
        inside = shapely.intersects(wgs, self.box)
        empty = shapely.is_empty(wgs)
        out[idx] = wgs
        for k in np.flatnonzero(empty | ~inside):  # only the refused rows one by one
            i = idx[k]
            if empty[k]:
                self.note(row0 + i + 1, "refused",
                          "collapsed_geometry: collapses at 6-decimal precision")
            else:
                c = shapely.get_coordinates(wgs[k])[0]
                self.note(row0 + i + 1, "refused",
                          f"outside_service_area: lands at lon {c[0]:.4f}, lat {c[1]:.4f}, "
                          f"outside Baicheng: wrong CRS? (read as {self.src})")
            out[i] = None
        return out

    # -- properties
    def _county(self, county) -> list[str]:
        # one shared list per county combination (the store encodes each once)
        key = tuple(str(c) for c in county)
        return self.county_lists.setdefault(key, list(key))

    def _citation(self, cit, where, key=None):
        if key is None:
            key = repr(sorted(cit.items())) if isinstance(cit, dict) else repr(cit)
        if key not in self.citations:
            try:
                self.citations[key] = (imp._check_citation(cit, where,
                                                            self.current.plans), None)
            except InvalidInput as exc:
                self.citations[key] = (None, exc.message_en.split(": ", 1)[-1])
        value, problem = self.citations[key]
        if problem:
            raise _Refused(f"bad_citation: {problem}")
        return value

    def convert(self, row0: int, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
        """Return the store chunk of one input batch (refused rows left out)."""
        geoms = self._geometry(row0, np.asarray(frame.geometry.values, dtype=object))
        keep = [i for i, g in enumerate(geoms) if g is not None]
        if not keep:
            return None
        col = lambda names: imp._column(frame, names)  # noqa: E731
        id_col, name_col = col(("id",)), col(imp.NAME_COLUMNS)
        county_col, cit_col = col(("county",)), col(("citation",))
        cols = {k: col(v) for k, v in imp._CITATION_COLUMNS.items()}
        extra_col, name_en_col = col(("extra_citations", "extra_cite")), col(("name_en",))
        kind_col, source_col = col(("kind",)), col(("source",))
        used = {c for c in (id_col, name_col, county_col, cit_col, extra_col, name_en_col,
                            kind_col, source_col, *cols.values()) if c is not None}
        extras = [c for c in frame.columns if c != "geometry" and c not in used
                  and str(c) not in imp._MANAGED and str(c) not in imp._LAYER_COLUMNS]
        values = {c: frame[c].tolist() for c in frame.columns if c != "geometry"}
        kept_geoms = np.asarray([geoms[i] for i in keep], dtype=object)
        counties = None
        if county_col is None:
            combos, which = imp._county_codes(kept_geoms, self.admin)
            # one shared list per county combination (the store encodes each once)
            shared = [self._county(c) for c in combos]
            counties = [shared[k] for k in which]
        fast = self._fast_rows(row0, keep, kept_geoms, values, id_col, name_col, county_col,
                               cit_col, cols, extra_col, name_en_col, kind_col, source_col,
                               extras, counties)
        if fast is not False:
            return fast
        records, out_geoms = [], []
        for k, i in enumerate(keep):
            row = row0 + i + 1
            try:
                records.append(self._row(i, row, values, id_col, name_col, county_col,
                                         cit_col, cols, extra_col, name_en_col, kind_col,
                                         source_col, extras,
                                         counties[k] if counties is not None else None))
                out_geoms.append(geoms[i])
                self.types.add(geoms[i].geom_type.replace("Multi", ""))
            except _Refused as exc:
                self.note(row, "refused", str(exc))
        if not records:
            return None
        return gpd.GeoDataFrame(records, geometry=out_geoms, crs="EPSG:4326")

    def _column_citation(self, key, cols, default_cit, where):
        """Return the citation of one row's citation columns (as :meth:`_row` finds it)."""
        found = self.column_citations.get(key, False)
        if found is False:
            parts = {c: imp._plain(v) for c, v in zip(cols, key, strict=True)}
            found = self.column_citations[key] = (
                parts if all(v not in (None, "") for v in parts.values()) else None)
        cit, cit_key = found, ("columns", *key) if found is not None else None
        if cit is None:
            cit = default_cit
        if cit is None:
            raise _Refused("citation_required: no plan citation (add citation_seed/"
                           "citation_line/citation_quote columns)")
        return self._citation(cit, where, cit_key)

    def _fast_rows(self, row0, keep, kept_geoms, values, id_col, name_col, county_col,
                   cit_col, cols, extra_col, name_en_col, kind_col, source_col, extras,
                   counties):
        """Build the chunk column by column when no row needs the per-row rules.

        That is the common case of a new layer or new features: every kept row has its
        own usable id (a text matching the id pattern, unique, taken by nobody, not a
        feature of the current layer, so nothing is inherited from it).  The columns are
        what :meth:`_row` gives row by row (same values, same order); refused citations
        are noted the same way.  Returns ``False`` when some row needs :meth:`_row`.
        """
        if id_col is None:
            return False
        plain = imp._plain
        ids = _plain_list(values[id_col], keep)
        if len(set(ids)) != len(ids) or not all(
                isinstance(f, str) and ID_PATTERN.match(f) for f in ids):
            return False
        if not self.taken.isdisjoint(ids) or not self.other_ids.isdisjoint(ids):
            return False
        if self.prev is not None and len(self.prev) and self.prev.index.isin(ids).any():
            return False
        n = len(keep)
        # citations first: a refused row takes no id
        cits: list = [None] * n
        extra_out: list = [None] * n
        refused = np.zeros(n, dtype=bool)
        default_cit = self.entry.get("citation") if isinstance(self.entry, dict) and \
            isinstance(self.entry.get("citation"), dict) else None
        col_names = list(cols.values())
        if cit_col is None and extra_col is None and all(col_names):
            # the citation columns: one check per distinct (seed, line, quote)
            keys = list(zip(*(values[c] for c in col_names), strict=True))
            verdict: dict = {}
            for k, i in enumerate(keep):
                key = keys[i]
                found = verdict.get(key)
                if found is None:
                    try:
                        found = verdict[key] = (self._column_citation(key, cols, default_cit,
                                                                      f"row {row0 + i + 1}"),
                                                None)
                    except _Refused as exc:
                        found = verdict[key] = (None, str(exc))
                if found[1] is None:
                    cits[k] = found[0]
                else:
                    self.note(row0 + i + 1, "refused", found[1])
                    refused[k] = True
        for k, i in enumerate(keep):
            if cits[k] is not None or refused[k]:
                continue
            where = f"row {row0 + i + 1}"
            try:
                cit = imp._json_field(values[cit_col][i], dict) if cit_col is not None \
                    else None
                cit_key = None
                if cit is None and all(col_names):
                    key = tuple(values[c][i] for c in col_names)
                    found = self.column_citations.get(key, False)
                    if found is False:
                        parts = {c: plain(v) for c, v in zip(cols, key, strict=True)}
                        found = self.column_citations[key] = (
                            parts if all(v not in (None, "") for v in parts.values())
                            else None)
                    cit = found
                    cit_key = ("columns", *key) if cit is not None else None
                if cit is None:
                    cit = default_cit
                if cit is None:
                    raise _Refused("citation_required: no plan citation (add citation_seed/"
                                   "citation_line/citation_quote columns)")
                cits[k] = self._citation(cit, where, cit_key)
                if extra_col is not None:
                    extra = imp._json_field(values[extra_col][i], list)
                    extra = [self._citation(c, where) for c in extra or ()]
                    extra_out[k] = extra or None
            except _Refused as exc:
                self.note(row0 + i + 1, "refused", str(exc))
                refused[k] = True
        live = np.flatnonzero(~refused)
        if not len(live):
            return None
        rows = [keep[k] for k in live]
        ids = [ids[k] for k in live]
        self.taken.update(ids)

        def texts(col):
            return _plain_list(values[col], rows) if col is not None else [None] * len(rows)

        names = []
        for fid, v in zip(ids, texts(name_col), strict=True):
            v = str(v).strip() if v not in (None, "") else None
            names.append(str(v or fid))
        names_en = [str(e or nm) for e, nm in zip(texts(name_en_col), names, strict=True)]
        kinds = [str(v or "imported") for v in texts(kind_col)]
        if county_col is not None:
            county = []
            for i in rows:
                c = imp._json_field(values[county_col][i], list)
                if c is None:
                    text = plain(values[county_col][i])
                    c = [p.strip() for p in str(text).split(",") if p.strip()] if text else []
                county.append(self._county(c))
        else:
            county = [counties[k] for k in live]
        if self.source:
            sources = [str(self.source)] * len(rows)
        else:
            sources = [str(v or self.file_name) for v in texts(source_col)]
        data = {"id": ids, "name_zh": names, "name_en": names_en,
                "layer": [self.layer_id] * len(rows), "kind": kinds, "county": county,
                "accuracy": ["official"] * len(rows), "source": sources,
                "citation": [cits[k] for k in live],
                "extra_citations": [extra_out[k] for k in live],
                "source_id": [None] * len(rows)}
        for c in extras:
            data[str(c)] = _plain_list(values[c], rows)
        out_geoms = kept_geoms[live]
        kinds_of = np.unique(shapely.get_type_id(out_geoms))
        names_of = {3: "Polygon", 6: "Polygon", 0: "Point", 4: "Point", 1: "LineString",
                    5: "LineString", 2: "LinearRing"}
        for t in kinds_of:
            if int(t) in names_of:
                self.types.add(names_of[int(t)])
            else:  # anything else: as the row-by-row path names it
                self.types.update(g.geom_type.replace("Multi", "") for g in
                                  out_geoms[shapely.get_type_id(out_geoms) == t])
        return gpd.GeoDataFrame(pd.DataFrame(data), geometry=list(out_geoms),
                                crs="EPSG:4326")

    def _row(self, i, row, values, id_col, name_col, county_col, cit_col, cols, extra_col,
             name_en_col, kind_col, source_col, extras, county):
        plain = imp._plain
        fid = plain(values[id_col][i]) if id_col is not None else None
        name = plain(values[name_col][i]) if name_col is not None else None
        name = str(name).strip() if name not in (None, "") else None
        old_id = source_id = None
        if isinstance(fid, str) and ID_PATTERN.match(fid) and fid not in self.taken \
                and fid not in self.other_ids:
            if self.prev is not None and fid in self.prev.index:
                old_id = fid
        else:
            # no usable id: the current feature of the same name lends its id (and so its
            # citation and clauses), else <layer>_<n>; the file's id is kept as source_id
            source_id, fid = fid, None
            cand = self.prev_by_name.get(name) if name else None
            if cand is not None and cand not in self.taken:
                old_id = fid = cand
            while fid is None or fid in self.taken or fid in self.other_ids:
                self.serial += 1
                fid = f"{self.layer_id}_{self.serial}"
        old = self.prev.loc[old_id] if old_id is not None else None
        where = f"row {row}"
        cit = imp._json_field(values[cit_col][i], dict) if cit_col is not None else None
        cit_key = None
        if cit is None and all(cols.values()):
            key = tuple(values[c][i] for c in cols.values())
            if key not in self.column_citations:  # most rows repeat one citation
                parts = {k: plain(v) for k, v in zip(cols, key, strict=True)}
                self.column_citations[key] = (
                    parts if all(v not in (None, "") for v in parts.values()) else None)
            cit = self.column_citations[key]
            cit_key = ("columns", *key) if cit is not None else None
        if cit is None and old is not None:
            cit = old["citation"]
        if cit is None and isinstance(self.entry, dict) and \
                isinstance(self.entry.get("citation"), dict):
            cit = self.entry["citation"]
        if cit is None:
            raise _Refused("citation_required: no plan citation (add citation_seed/"
                           "citation_line/citation_quote columns)")
        cit = self._citation(cit, where, cit_key)
        extra = imp._json_field(values[extra_col][i], list) if extra_col is not None else None
        if extra is None and old is not None and isinstance(old.get("extra_citations"), list):
            extra = old["extra_citations"]
        extra = [self._citation(c, where) for c in extra or ()]
        self.taken.add(fid)
        if old is not None:
            self.matched += 1
        name_zh = name or (old["name_zh"] if old is not None else None) or fid
        name_en = plain(values[name_en_col][i]) if name_en_col is not None else None
        name_en = name_en or (old["name_en"] if old is not None else None) or name_zh
        kind = plain(values[kind_col][i]) if kind_col is not None else None
        kind = kind or (old["kind"] if old is not None else None) or "imported"
        if county_col is not None:
            county = imp._json_field(values[county_col][i], list)
            if county is None:
                text = plain(values[county_col][i])
                county = [c.strip() for c in str(text).split(",") if c.strip()] if text else []
        src = self.source or (plain(values[source_col][i]) if source_col is not None else None)
        rec = {"id": fid, "name_zh": str(name_zh), "name_en": str(name_en),
               "layer": self.layer_id, "kind": str(kind), "county": self._county(county),
               "accuracy": "official", "source": str(src or self.file_name), "citation": cit,
               "extra_citations": extra or None,
               "source_id": None if source_id is None else str(source_id)}
        for c in extras:
            v = plain(values[c][i])
            rec[str(c)] = v
        return rec


_DONE = object()


def _read_ahead(items: Iterator, depth: int = 1) -> Iterator:
    """Yield ``items`` produced by a thread, up to ``depth`` ahead of the consumer.

    Reading and converting the next batch (GDAL, GEOS, numpy: they let go of the GIL)
    overlaps with writing the last one, on another core.  An exception of the producer is
    raised here, in order; when the consumer stops early the producer stops too, and the
    thread has ended before this generator does.
    """
    import queue
    import threading

    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - re-raised by the consumer
            put((None, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=run, name="planmap-import-read", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = box.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def import_to_store(path, layer_id: str, store: LayerStore, crs: str | None = None,
                    source: str | None = None, data_dir=None, *,
                    chunk_size: int = CHUNK_FEATURES, skip_refused: bool = False,
                    limits: Limits = DEFAULT_LIMITS,
                    report: Callable[[RowNote], None] | None = None) -> StoreImportResult:
    """Stream a GeoJSON, GeoPackage or Shapefile into a new version of ``layer_id``.

    Parameters
    ----------
    path : str or Path
    layer_id : str
    store : LayerStore
    crs, source : str, optional
        As for :func:`layers.importer.import_layer`.
    data_dir : str or Path, optional
        The data whose catalog, plans and current layers the import matches against.
    chunk_size : int, optional
        Rows read, checked and written at a time (memory grows with it, not the file).
    skip_refused : bool, optional
        Import the other rows when some are refused (default: refuse the import).
    limits : Limits, optional
    report : callable, optional
        Called with every :class:`RowNote` as it happens.

    Returns
    -------
    StoreImportResult

    Raises
    ------
    InvalidInput
        Unreadable or empty file; ``rows_refused`` when rows were refused and not
        ``skip_refused`` (the notes name them; nothing was switched).
    CRSError
        Missing or unknown CRS.
    """
    path = Path(path)
    if not isinstance(layer_id, str) or not ID_PATTERN.match(layer_id):
        raise InvalidInput("invalid_layer_id", f"layer id {layer_id!r} must match ^[a-z0-9_]+$",
                           f"图层 id {layer_id!r} 只能含小写字母、数字和下划线", param="layer")
    batches = _Batches(path, layer_id, chunk_size, limits)
    src, supported = imp._resolve_crs(batches.crs, crs)
    current = loader.load(data_dir, strict=False, store=store)
    entry = next((e for e in current.catalog if e["id"] == layer_id), None)
    result = StoreImportResult(layer_id=layer_id, version=None, source_crs=str(src),
                               created_layer=entry is None)

    def note(row, kind, reason):
        n = RowNote(row, kind, reason)
        if kind == "repaired":
            result.repaired += 1
        else:
            result.refused += 1
        if len(result.notes) < MAX_NOTES_SHOWN:
            result.notes.append(n)
        if report is not None:
            report(n)

    pending: list[tuple] = []
    conv = _Converter(layer_id, src, supported, source, path.name, current, entry,
                      lambda *n: pending.append(n))
    labels: dict = {}

    def converted():  # runs in the read-ahead thread: no notes reported from there
        for row0, frame in batches:
            imp._chunk_written()  # hooks a test installs (none in production)
            if not labels:
                for name in ("source", "licence", "attribution"):
                    labels[name] = imp._uniform(frame, name)
            chunk = conv.convert(row0, frame)
            notes = sorted(pending, key=lambda n: n[0])  # in row order within the batch
            pending.clear()
            yield notes, chunk

    def chunks():
        for notes, chunk in _read_ahead(converted()):
            for n in notes:
                note(*n)
            if chunk is not None:
                result.features += len(chunk)
                yield chunk
        if result.refused and not skip_refused:
            raise _Abort()

    try:
        version = store.write_version(layer_id, chunks())
    except _Abort:
        raise InvalidInput("rows_refused", f"{result.refused} row(s) refused (first: row "
                           f"{result.notes[0].row if result.notes else '?'}); nothing changed — "
                           f"fix them or pass --skip-refused",
                           f"{result.refused} 行被拒绝；未作任何更改", param="file") from None
    except PlanmapError as exc:
        if exc.code == "empty_input" and result.refused:
            raise InvalidInput("rows_refused", f"every row was refused ({result.refused})",
                               f"全部 {result.refused} 行被拒绝", param="file") from None
        if exc.code == "empty_input":
            raise InvalidInput("empty_input", f"{path.name} holds no features",
                               f"{path.name} 中没有要素", param="file") from None
        raise
    meta = dict(entry) if entry else {
        "id": layer_id, "title_zh": layer_id, "title_en": layer_id, "group": "imported",
        "order": max((e.get("order", 0) for e in current.catalog), default=0) + 1,
        "default_on": True, "style": dict(imp._DEFAULT_STYLE),
        "source": source or labels.get("source") or path.name,
        "licence": labels.get("licence") or "as supplied by the data owner (not checked by "
                                              "planmap)",
        "attribution": labels.get("attribution") or source or path.name,
        "description_zh": f"导入的权威数据：{path.name}",
        "description_en": f"Authoritative data imported from {path.name}",
    }
    meta["geometry_types"] = sorted(conv.types)
    meta.pop("store_version", None)
    from planmap.layers.tileseed import seed_version  # the low-zoom tiles, before the switch
    seed_version(store, layer_id, version, result.features)
    result.previous = store.activate(layer_id, version, meta)
    result.version = version
    return result


class _Abort(Exception):
    pass


def restore_in_store(layer_id: str, store: LayerStore) -> str:
    """Re-activate the layer's previous version in the store; return its name."""
    return store.restore_previous(layer_id)

