"""Batch site checks: one row of answers per input feature, for ``planmap batch``.

Each feature runs :func:`geo.sitecheck.site_check` exactly as ``POST /api/v1/sitecheck``
does (routed by :func:`geo.plans.route` between the home plan's index and the other plans'
index); this module only flattens each answer into one row. It never opens a file: the
caller (``server/batch.py``) reads the input in partitions and writes the rows.

Row rules (relied on by the output files):

* list-valued fields (zones, their layers and overlaps, clause ids) are ``;``-joined
  strings in zone order, so that one row per feature reads the same in CSV, GeoPackage
  and GeoParquet; a zone a point or a line lies in has an empty overlap area entry;
* a feature whose geometry is missing, empty or invalid (or whose partition could not be
  read) gets an ``error`` (``code: message``) and empty answer fields; every other row
  of the batch is still answered.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from planmap.geo.errors import PlanmapError

COLUMNS = ("id", "kind", "site_area_m2", "site_area_ha", "site_area_mu", "length_m",
           "in_service_area", "zones", "zone_layers", "overlap_m2", "overlap_ha", "overlap_mu",
           "overlap_length_m", "verdict", "verdict_zh", "deciding_clause", "verdict_basis",
           "clauses", "plans", "error")
"""Output columns, in order (the geometry, WGS 84, follows them)."""

FLOAT_COLUMNS = ("site_area_m2", "site_area_ha", "site_area_mu", "length_m")
"""Columns holding a number (missing: NaN); ``in_service_area`` is a boolean (or missing)."""


class Engine:
    """What every row needs: the home plan's zone index, the other plans' index, the scope.

    Parameters
    ----------
    index : geo.index.ZoneIndex
        The home plan's index.
    plan_index : geo.index.ZoneIndex or None
        The other plans' index (None without other plans).
    scope : geo.plans.PlanScope or None
        Which plans answer for a site (None: the home index answers everything).
    """

    def __init__(self, index, plan_index=None, scope=None):
        self.index, self.plan_index, self.scope = index, plan_index, scope

    def check(self, geom) -> dict:
        """Return the site check of ``geom`` (WGS 84) as the API computes it."""
        from planmap.geo.plans import route, scope_result
        from planmap.geo.sitecheck import site_check

        index, ids, scoped = route(self.scope, self.index, self.plan_index, geom)
        result = site_check(index, geom)
        if scoped:
            scope_result(result, self.scope, ids)
        result["plans"] = ids
        return result


def _join(values) -> str:
    return ";".join("" if v is None else _text(v) for v in values)


def _text(v) -> str:
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def empty_row(fid: str, error: str) -> dict:
    """Return the row of a feature that could not be checked (``error`` set, answers empty)."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(id=fid, error=error, in_service_area=None,
               **{c: float("nan") for c in FLOAT_COLUMNS})
    return row


def answer_row(fid: str, result: dict) -> dict:
    """Flatten a site check into one output row (see the module's row rules).

    Parameters
    ----------
    fid : str
        The feature's id.
    result : dict
        What :meth:`Engine.check` returned.

    Returns
    -------
    dict
        One value per :data:`COLUMNS` entry.
    """
    site, zones = result["site"], result["zones"]
    deciding = result.get("deciding_clause") or {}
    return {
        "id": fid,
        "kind": site["kind"],
        "site_area_m2": _num(site.get("area_m2")),
        "site_area_ha": _num(site.get("area_ha")),
        "site_area_mu": _num(site.get("area_mu")),
        "length_m": _num(site.get("length_m")),
        "in_service_area": bool(result.get("in_service_area")),
        "zones": _join(z["id"] for z in zones),
        "zone_layers": _join(z["layer"] for z in zones),
        "overlap_m2": _join(z.get("overlap_m2") for z in zones),
        "overlap_ha": _join(z.get("overlap_ha") for z in zones),
        "overlap_mu": _join(z.get("overlap_mu") for z in zones),
        "overlap_length_m": _join(z.get("overlap_length_m") for z in zones),
        "verdict": result["verdict"],
        "verdict_zh": result["verdict_zh"],
        "deciding_clause": deciding.get("id") or "",
        "verdict_basis": _join(result.get("verdict_basis") or ()),
        "clauses": _join(c["id"] for c in result["clauses"]),
        "plans": _join(result.get("plans") or ()),
        "error": "",
    }


def _error_text(exc: PlanmapError) -> str:
    return f"{exc.code}: {exc.message_en}"


def _slow_row(engine: Engine, fid: str, geom, read_error: str = "") -> dict:
    """Return the row of one feature from the full site check (:meth:`Engine.check`)."""
    if read_error:
        return empty_row(fid, read_error)
    if geom is None:
        return empty_row(fid, "missing_geometry: the feature has no geometry")
    try:
        return answer_row(fid, engine.check(geom))
    except PlanmapError as exc:  # one bad feature costs its row, not the batch
        return empty_row(fid, _error_text(exc))
    except shapely.errors.GEOSException as exc:
        return empty_row(fid, f"invalid_geometry: {exc}")


def check_rows(engine: Engine, ids, geoms, errors=None, *, fast: bool = True) -> list[dict]:
    """Check each feature; a feature that cannot be checked gets an error row.

    Parameters
    ----------
    engine : Engine
    ids : sequence of str
        Feature ids, one per geometry.
    geoms : sequence of shapely.Geometry or None
        The features in WGS 84; None for one that could not be read.
    errors : sequence of str, optional
        A reading error per feature ("" for none), reported instead of checking it.
    fast : bool, optional
        Answer plain points through :func:`point_rows` (vectorised, the same rows);
        False checks every feature one by one.

    Returns
    -------
    list of dict
        One row per feature, in input order (:func:`answer_row`, :func:`empty_row`).
    """
    ids = [str(fid) for fid in ids]
    geoms = list(geoms)
    if len(ids) != len(geoms):
        raise ValueError("ids and geoms differ in length")
    errs = [""] * len(ids) if errors is None else list(errors)
    rows: list = [None] * len(ids)
    if fast:
        for i, row in point_rows(engine, ids, geoms, errs).items():
            rows[i] = row
    for i, row in enumerate(rows):
        if row is None:
            rows[i] = _slow_row(engine, ids[i], geoms[i], errs[i])
    return rows


# ------------------------------------------------------------------ the points' fast path

NEAR_FEATURE_DEG = 1e-3
"""Points this close (degrees, ~100 m) to a line or point feature take the full site check:
only there can a point touch such a feature (the full check's metric distance 0)."""


def _near_tree(engine: Engine, index):
    """STRtree of ``index``'s line and point features (WGS 84), built once per engine."""
    trees = engine.__dict__.setdefault("_near_trees", {})
    tree = trees.get(id(index))
    if tree is None:
        table = index.feature_table
        geoms = table.geometry[~np.asarray(table.is_zone, dtype=bool)]
        tree = trees[id(index)] = (shapely.STRtree(geoms), index)  # index kept: id stays valid
    return tree[0]


def _plans_of(scope, lon, lat) -> tuple[np.ndarray, list]:
    """Per point, a code of its answering plans (``scope.plans_for``, vectorised).

    Returns ``(code per point, plan id tuple per code)``.
    """
    if scope is None:
        return np.zeros(len(lon), dtype=np.int64), [()]
    pids, bits = scope.answering_bits(lon, lat)
    codes, code = np.unique(bits, return_inverse=True)
    names = [tuple(p for k, p in enumerate(pids) if int(c) >> k & 1) for c in codes]
    return code.ravel(), names


def point_rows(engine: Engine, ids: list, geoms: list, errors: list) -> dict:
    """Rows of the plain points among ``geoms``, vectorised; ``{position: row}``.

    A point's row depends only on the plans that answer for it, the features it touches
    and whether it lies in the service area (its nearest features and rings are not in
    the row). Those are found for all points at once (:meth:`ZoneIndex.batch_indices`,
    ``in_service_area_batch``, the plan areas); the points that share them share one row,
    computed by the full site check of one of them. A point that is not a plain finite
    ``Point`` in the accepted region, that lies near a line or point feature
    (:data:`NEAR_FEATURE_DEG`), or whose group's representative disagrees with the
    group, is left out: the caller checks it one by one.
    """
    from planmap.geo import crs as gcrs
    from planmap.geo.plans import route

    todo = [i for i, (g, e) in enumerate(zip(geoms, errors, strict=True))
            if not e and g is not None and type(g) is shapely.Point]
    if not todo:
        return {}
    pos = np.array(todo, dtype=np.intp)
    pts = np.array([geoms[i] for i in todo], dtype=object)
    full = ~shapely.is_empty(pts)
    pos, pts = pos[full], pts[full]
    xy = shapely.get_coordinates(pts)
    lon, lat = xy[:, 0].copy(), xy[:, 1].copy()
    ok = (np.isfinite(lon) & np.isfinite(lat)
          & (lon >= gcrs.CHINA_LON[0]) & (lon <= gcrs.CHINA_LON[1])
          & (lat >= gcrs.CHINA_LAT[0]) & (lat <= gcrs.CHINA_LAT[1]))
    pos, pts, lon, lat = pos[ok], pts[ok], lon[ok], lat[ok]
    code, names = _plans_of(engine.scope, lon, lat)
    probe = shapely.Point(float("nan"), float("nan"))
    out: dict = {}
    # One routed index per plan code (route() reads only the plan ids, not the geometry).
    by_index: dict = {}
    for c, pid_tuple in enumerate(names):
        scope = engine.scope
        if scope is None:
            index = engine.index
        else:
            index, _, _ = route(_FixedPlans(scope, list(pid_tuple)), engine.index,
                                engine.plan_index, probe)
        by_index.setdefault(id(index), (index, []))[1].append(c)
    for index, cs in by_index.values():
        sel = np.flatnonzero(np.isin(code, cs))
        if not len(sel):
            continue
        near = _near_tree(engine, index).query(pts[sel], predicate="dwithin",
                                               distance=NEAR_FEATURE_DEG)[0]
        sel = np.delete(sel, np.unique(near))
        if not len(sel):
            continue
        p, z = index.batch_indices(lon[sel], lat[sel])
        svc = index.in_service_area_batch(lon[sel], lat[sel])
        cuts = np.searchsorted(p, np.arange(len(sel) + 1))
        z = z.tolist()
        groups: dict = {}
        for k in range(len(sel)):
            key = (names[code[sel[k]]], tuple(z[cuts[k]:cuts[k + 1]]), bool(svc[k]))
            groups.setdefault(key, []).append(int(sel[k]))
        fids, flayers = index.feature_table.id_list, index.feature_table.layer_list
        known = engine.__dict__.setdefault("_point_rows", {})
        for key, members in groups.items():
            plans, zones, in_area = key
            row = known.get((id(index), key))
            start = 0
            if row is None:
                first = int(pos[members[0]])
                row = _slow_row(engine, ids[first], geoms[first])
                if (row["error"] or row["plans"] != ";".join(plans)
                        or sorted(zip(row["zones"].split(";"), row["zone_layers"].split(";"),
                                      strict=True) if row["zones"] else [])
                        != sorted((fids[f], flayers[f]) for f in zones)
                        or row["in_service_area"] is not in_area):
                    continue  # the representative disagrees: every member goes the slow way
                out[first], start = row, 1
                if len(known) < _KNOWN_ROWS:
                    known[(id(index), key)] = row
            for m in members[start:]:
                i = int(pos[m])
                out[i] = {**row, "id": ids[i]}
    return out


_KNOWN_ROWS = 200_000
"""Rows kept per engine (per process) for reuse by later partitions, by their key."""


class _FixedPlans:
    """A stand-in scope whose ``plans_for`` answers a known plan list (for :func:`route`)."""

    def __init__(self, scope, ids):
        self.home, self._ids = scope.home, ids

    def plans_for(self, geom):
        return self._ids


def columns_of(rows: list[dict]) -> dict:
    """Rows → ``{column: numpy array}`` in :data:`COLUMNS` order (floats as float64)."""
    out = {}
    for c in COLUMNS:
        values = [r[c] for r in rows]
        if c in FLOAT_COLUMNS:
            out[c] = np.array(values, dtype=float)
        else:
            out[c] = np.array(values, dtype=object)
    return out
