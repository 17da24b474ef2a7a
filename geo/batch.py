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

from geo.errors import PlanmapError

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
        from geo.plans import route, scope_result
        from geo.sitecheck import site_check

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


def check_rows(engine: Engine, ids, geoms, errors=None) -> list[dict]:
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

    Returns
    -------
    list of dict
        One row per feature, in input order (:func:`answer_row`, :func:`empty_row`).
    """
    rows = []
    for i, (fid, geom) in enumerate(zip(ids, geoms, strict=True)):
        fid = str(fid)
        read_error = errors[i] if errors is not None else ""
        if read_error:
            rows.append(empty_row(fid, read_error))
            continue
        if geom is None:
            rows.append(empty_row(fid, "missing_geometry: the feature has no geometry"))
            continue
        try:
            rows.append(answer_row(fid, engine.check(geom)))
        except PlanmapError as exc:  # one bad feature costs its row, not the batch
            rows.append(empty_row(fid, _error_text(exc)))
        except shapely.errors.GEOSException as exc:
            rows.append(empty_row(fid, f"invalid_geometry: {exc}"))
    return rows


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
