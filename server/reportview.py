"""The printable site-check report: table rows and a server-rendered SVG map extract.

Everything here returns plain values; the template escapes them (Jinja autoescape).
The SVG holds only numbers and escaped text, so it is safe to embed.
"""

from __future__ import annotations

import re
import threading
import weakref
from html import escape

import shapely
from planmap.server import i18n
from shapely.geometry import shape

SVG_W, SVG_H = 640, 420
SVG_PAD = 12
MU_PER_M2 = 1 / 666.6666667  # 1 亩 = 10000/15 m²
ZONE_COLORS = ("#d84315", "#2e7d32", "#1565c0", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457")


def _num(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN → None


def _first(d: dict, *keys):
    for key in keys:
        if isinstance(d, dict) and d.get(key) is not None:
            return d[key]
    return None


def _plan_href(citation, lang: str) -> str | None:
    if not isinstance(citation, dict) or not citation.get("seed"):
        return None
    suffix = "?lang=en" if lang == "en" else ""
    line = citation.get("line")
    try:
        line = int(line)
    except (TypeError, ValueError):
        return f"/plan/{citation['seed']}{suffix}"
    sep = "&" if suffix else "?"
    return f"/plan/{citation['seed']}{suffix}{sep}hl={line}#L{line}"


def _name(item: dict, lang: str) -> str:
    if lang == "en" and item.get("name_en"):
        return str(item["name_en"])
    return str(item.get("name_zh") or item.get("name_en") or item.get("id") or "")


def _site_geometry(site):
    """The submitted site (a GeoJSON geometry, Feature or FeatureCollection) as shapely."""
    if not isinstance(site, dict):
        return None
    try:
        if site.get("type") == "FeatureCollection":
            geoms = [shape(f["geometry"]) for f in site.get("features", []) if f.get("geometry")]
            return shapely.union_all(geoms) if geoms else None
        if site.get("type") == "Feature":
            return shape(site["geometry"]) if site.get("geometry") else None
        return shape(site)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException):
        return None


def _data_cache(data) -> dict | None:
    """Read-only values derived from ``data`` for the report, kept per data object.

    Every report drawing needs the feature index (one pandas row per feature, ~60 ms for
    the built-in data) and the context layers in metres; they are made once per ``data``
    and its ``layers`` — a reload or a visibility view is a new object, hence new values.
    None when ``data`` cannot be referenced weakly (nothing is then cached).
    """
    layers_of = getattr(data, "layers", {})
    ident = tuple((lid, id(gdf), len(gdf)) for lid, gdf in layers_of.items())
    found = _PER_DATA.get(id(data))
    if found is not None and found[0]() is data and found[1] is layers_of \
            and found[2] == ident:
        return found[3]
    try:
        ref = weakref.ref(data)
    except TypeError:
        return None
    values: dict = {}
    with _PER_DATA_LOCK:
        for k in [k for k, v in _PER_DATA.items() if v[0]() is None]:
            del _PER_DATA[k]  # data objects gone (reloads)
        _PER_DATA[id(data)] = (ref, layers_of, ident, values)
    return values


_PER_DATA: dict = {}  # id(data) → (weakref to data, its layers dict, their identity, values)
_PER_DATA_LOCK = threading.Lock()


def _cached(data, key: str, make):
    """``make()`` once per data object (see :func:`_data_cache`)."""
    values = _data_cache(data)
    if values is None:
        return make()
    got = values.get(key)
    if got is None:
        got = values[key] = make()
    return got


def _feature_index(data) -> dict:
    """Feature id → (layer id, row) across all layers (read-only: cached per data object)."""
    def make():
        out = {}
        for lid, gdf in getattr(data, "layers", {}).items():
            for fid in gdf.index:
                out[str(fid)] = (lid, gdf.loc[fid])
        return out

    return _cached(data, "features", make)


def build(record: dict, data, lang: str, config) -> dict:
    """Everything the report template shows, from a stored check ``record``.

    The map is ``record["report"]`` (drawn once at save time, see :func:`render_map`); a
    record without a current drawing is drawn here (the report page draws it in a worker
    first and stores it).
    """
    result = record.get("result") or {}
    site_info = result.get("site") or {}
    features = _feature_index(data)
    layer_titles = {e["id"]: e.get("title_en" if lang == "en" else "title_zh") or e["id"]
                    for e in getattr(data, "catalog", [])}

    def zone_meta(item):
        fid = str(item.get("id", ""))
        lid = item.get("layer") or (features[fid][0] if fid in features else "")
        row = features[fid][1] if fid in features else {}
        merged = {"name_zh": row.get("name_zh") if hasattr(row, "get") else None,
                  "name_en": row.get("name_en") if hasattr(row, "get") else None}
        merged.update({k: v for k, v in item.items() if v is not None})
        return fid, lid, merged, row

    site_area = _num(_first(site_info, "area_m2"))
    zones = []
    for item in result.get("zones") or []:
        if not isinstance(item, dict):
            continue
        fid, lid, merged, row = zone_meta(item)
        m2 = _num(_first(item, "overlap_m2", "area_m2", "overlap_area_m2"))
        ha = _num(_first(item, "overlap_ha", "area_ha"))
        mu = _num(_first(item, "overlap_mu", "area_mu"))
        pct = _num(_first(item, "pct_of_site", "percent_of_site", "share_pct", "overlap_pct"))
        if pct is None:
            share = _num(_first(item, "share", "fraction", "share_of_site"))
            pct = share * 100 if share is not None else None
        if m2 is not None:
            ha = ha if ha is not None else m2 / 10_000
            mu = mu if mu is not None else m2 * MU_PER_M2
            if pct is None and site_area:
                pct = 100 * m2 / site_area
        citation = item.get("citation")
        if citation is None and hasattr(row, "get"):
            citation = row.get("citation")
        zones.append({
            "id": fid, "name": _name(merged, lang), "layer": layer_titles.get(lid, lid or ""),
            "accuracy": i18n.accuracy_label(lang, merged.get("accuracy")),
            "m2": m2, "ha": ha, "mu": mu, "pct": pct,
            "length_m": _num(item.get("overlap_length_m")),
            "citation": citation if isinstance(citation, dict) else None,
            "plan_href": _plan_href(citation, lang),
        })
    nearest = []
    for item in result.get("nearest") or []:
        if isinstance(item, dict):
            fid, lid, merged, _row = zone_meta(item)
            nearest.append({"id": fid, "name": _name(merged, lang),
                            "layer": layer_titles.get(lid, lid or ""),
                            "accuracy": i18n.accuracy_label(lang, merged.get("accuracy")),
                            "distance_m": _num(item.get("distance_m"))})
    rings = []
    for ring in result.get("rings") or []:
        if not isinstance(ring, dict):
            continue
        names = []
        for z in ring.get("zones") or []:
            if isinstance(z, dict):
                names.append(_name(zone_meta(z)[2], lang))
            else:
                fid = str(z)
                names.append(_name(dict(features[fid][1]), lang) if fid in features else fid)
        rings.append({"distance_m": _num(ring.get("distance_m")), "zones": names})
    clauses = []
    for clause in result.get("clauses") or []:
        if not isinstance(clause, dict):
            continue
        citation = clause.get("citation") if isinstance(clause.get("citation"), dict) else None
        clauses.append({
            "id": str(clause.get("id", "")),
            "effect": i18n.effect_label(lang, clause.get("effect")),
            "effect_code": str(clause.get("effect", "")),
            "text_zh": str(clause.get("text_zh") or ""),
            "summary_en": str(clause.get("summary_en") or ""),
            "scope": str(clause.get("scope") or "zone"),
            "activity": str(clause.get("activity_en" if lang == "en" else "activity_zh") or ""),
            "citation": citation, "plan_href": _plan_href(citation, lang),
        })

    verdict = result.get("verdict")
    verdict_code = verdict.get("code") if isinstance(verdict, dict) else verdict
    verdict_text = _verdict_text(verdict, lang)
    note = result.get("accuracy_note")
    if isinstance(note, dict):
        note = note.get(lang) or note.get(f"text_{lang}") or note.get("zh") or note.get("en")
    official = result.get("official_layers_note")
    official = (official.get(lang) or official.get("zh")) if isinstance(official, dict) else None
    tier_view = _tiers_view(result, lang, layer_titles)
    rendering = record.get("report")
    if not valid_rendering(rendering):
        rendering = render_map(record, data, features)
    svg = svg_for_lang(rendering["svg"], lang)
    svg_legend = [{"color": item["color"], "dashed": item["dashed"],
                   "deciding": bool(item.get("deciding")), "covers": bool(item.get("covers")),
                   "context": bool(item.get("context")),
                   "name": item.get("name_en") if lang == "en" and item.get("name_en")
                   else item.get("name_zh") or item.get("name_en") or ""}
                  for item in rendering["legend"]]
    return {
        "site": {"kind": site_info.get("kind"), "area_m2": site_area,
                 "area_ha": _num(site_info.get("area_ha")) if site_info.get("area_ha") is not None
                 else (site_area / 10_000 if site_area is not None else None),
                 "area_mu": _num(site_info.get("area_mu")) if site_info.get("area_mu") is not None
                 else (site_area * MU_PER_M2 if site_area is not None else None),
                 "length_m": _num(site_info.get("length_m"))},
        "zones": zones, "nearest": nearest, "rings": rings, "clauses": clauses,
        "verdict_code": str(verdict_code or ""), "verdict": verdict_text,
        "accuracy_note": str(note or ""),
        "official_layers_note": str(official or ""),
        "repairs": [str(r) for r in (result.get("repairs") or [])],
        "warnings": [str(w) for w in (result.get("warnings") or [])],
        "data_version": str(result.get("data_version") or getattr(data, "data_version", "")),
        "svg": svg, "svg_legend": svg_legend,
        **tier_view,
    }


def _clause_row(c: dict, lang: str) -> dict:
    citation = c.get("citation") if isinstance(c.get("citation"), dict) else None
    return {"id": str(c.get("id", "")), "effect": i18n.effect_label(lang, c.get("effect")),
            "effect_code": str(c.get("effect", "")), "scope": str(c.get("scope") or "zone"),
            "text_zh": str(c.get("text_zh") or ""), "summary_en": str(c.get("summary_en") or ""),
            "citation": citation, "plan_href": _plan_href(citation, lang)}


def _tiers_view(result: dict, lang: str, layer_titles: dict) -> dict:
    """Deciding clause, the three tiers and the conflicts (geo/tiers.py), for the template.

    A check stored before tiers existed has none: ``tiers`` is then ``None`` and the
    report shows its flat lists only.
    """
    tiers = result.get("tiers")
    if not isinstance(tiers, dict):
        return {"tiers": None, "deciding": None, "conflicts": []}

    def rows(key):
        out = []
        for e in tiers.get(key) or []:
            if not isinstance(e, dict):
                continue
            citation = e.get("citation") if isinstance(e.get("citation"), dict) else None
            out.append({"id": str(e.get("id", "")), "name": _name(e, lang),
                        "layer": layer_titles.get(e.get("layer"), e.get("layer") or ""),
                        "accuracy": i18n.accuracy_label(lang, e.get("accuracy")),
                        "effect": i18n.effect_label(lang, e.get("effect")),
                        "effect_code": str(e.get("effect") or ""),
                        "citation": citation, "plan_href": _plan_href(citation, lang),
                        "clauses": [_clause_row(c, lang) for c in e.get("clauses") or []
                                    if isinstance(c, dict)]})
        return out

    title = tiers.get("area_wide_title") or {}
    deciding = result.get("deciding_clause")
    if isinstance(deciding, dict):
        zone = deciding.get("zone") or {}
        deciding = {**_clause_row(deciding, lang), "zone": _name(zone, lang),
                    "accuracy": i18n.accuracy_label(lang, zone.get("accuracy"))}
    else:
        deciding = None
    conflicts = []
    for c in result.get("conflicts") or []:
        if isinstance(c, dict):
            conflicts.append({
                "text": str(c.get(lang) or c.get("zh") or ""),
                "rules": [{"text": str(r.get(f"text_{lang}") or r.get("text_zh") or ""),
                           "citation": r.get("citation"),
                           "plan_href": _plan_href(r.get("citation"), lang)}
                          for r in c.get("rules") or [] if isinstance(r, dict)]})
    return {"tiers": {"binding": rows("binding"), "designations": rows("designations"),
                      "area_wide": rows("area_wide"),
                      "area_wide_title": str(title.get(lang) or title.get("zh") or "")},
            "deciding": deciding, "conflicts": conflicts}


RENDERING_VERSION = 4  # bump when render_svg changes what it draws: old renderings are redrawn
# 2: area-wide extents (geo/tiers.py) are no longer drawn
# 3: fitted to the deciding zones, rivers and counties as context, legend of visible items only


def valid_rendering(rendering) -> bool:
    """Whether ``rendering`` is a stored drawing of the current version (else redraw)."""
    return isinstance(rendering, dict) and rendering.get("v") == RENDERING_VERSION \
        and isinstance(rendering.get("svg"), str) and isinstance(rendering.get("legend"), list)


def sketch_input(result: dict) -> dict:
    """The part of a site-check ``result`` that :func:`render_map` reads: zones, tiers and
    the ring distances (the rings' feature lists are left out; the drawing is the same)."""
    out = {k: result[k] for k in ("zones", "tiers") if k in result}
    if "rings" in result:
        rings = result["rings"]
        out["rings"] = [{"distance_m": r.get("distance_m")} if isinstance(r, dict) else r
                        for r in rings] if isinstance(rings, list) else rings
    return out


def render_map(record: dict, data, features: dict | None = None) -> dict:
    """The report's map of a stored check, drawn once: ``{"v", "svg", "legend"}``.

    The drawing holds no language-dependent text; each legend entry keeps both names
    (``name_zh``, ``name_en``), so one rendering serves both languages.  It is stored with
    the check (``server.store.CheckStore.save(report=...)``) so that ``/report/<id>`` never
    redraws it: the drawing costs seconds on a complex site with wide rings.
    """
    result = record.get("result") or {}
    features = _feature_index(data) if features is None else features
    zone_ids = [str(item.get("id", "")) for item in result.get("zones") or []
                if isinstance(item, dict)]
    tiers = result.get("tiers")
    if isinstance(tiers, dict):
        # The sketch draws the zones the site lies in; area-wide extents only repeat the county.
        placed = {str(e.get("id", "")) for key in ("binding", "designations")
                  for e in tiers.get(key) or [] if isinstance(e, dict)}
        zone_ids = [z for z in zone_ids if z in placed]
    rings_m = [d for d in (_num(ring.get("distance_m")) for ring in result.get("rings") or []
                           if isinstance(ring, dict)) if d]
    deciding = [str(e.get("id", "")) for e in (tiers or {}).get("binding") or []
                if isinstance(e, dict)] if isinstance(tiers, dict) else []
    svg, legend = render_svg(_site_geometry(record.get("site")), zone_ids, data, features,
                             rings_m=rings_m, deciding=deciding)
    return {"v": RENDERING_VERSION, "svg": svg, "legend": legend}


_TSPAN = re.compile(r'<tspan lang="(zh-CN|en)">([^<]*)</tspan>')


def svg_for_lang(svg: str, lang: str) -> str:
    """The stored sketch with its labels in ``lang``: the drawing keeps both names of each
    county label (``<tspan lang=…>``), the page shows one."""
    keep = "en" if lang == "en" else "zh-CN"
    return _TSPAN.sub(lambda m: m.group(0) if m.group(1) == keep else "", svg)


EMPTY_RENDERING = {"v": RENDERING_VERSION, "svg": "", "legend": []}
"""Shown when the map could not be drawn within the time limit (not stored)."""


def render_map_task(state: dict, record: dict) -> dict:
    """:func:`render_map` in a worker process (``geo.budget.WorkerPool`` task)."""
    features = state.get("features")
    if features is None:
        features = state["features"] = _feature_index(state["data"])
    return render_map(record, state["data"], features)


def _verdict_text(verdict, lang: str) -> str:
    if isinstance(verdict, dict):
        verdict = verdict.get("code")
    return i18n.verdict_label(lang, verdict)


def _context(data, layer_id: str) -> list:
    """``[(metric geometry, row)]`` of a context layer (``water``, ``admin``) in row order,
    projected once per data object; rows that cannot be projected are left out."""
    def make():
        gdf = getattr(data, "layers", {}).get(layer_id)
        out = []
        if gdf is None:
            return out
        from planmap.geo import crs

        for _fid, row in gdf.iterrows():
            try:
                out.append((crs.to_metric(row.geometry), row))
            except Exception:  # a sketch must never break the report
                continue
        return out

    return _cached(data, f"context:{layer_id}", make)


CONTEXT_RIVER = "#4a90c8"
MIN_SITE_PX = 8.0  # a site smaller than this on the drawing also gets a marker


def render_svg(site, zone_ids, data, features, rings_m=(), lang="zh",
               deciding=()) -> tuple[str, list]:
    """A small SVG map of the site, the zones that decide its verdict and its context.

    The frame fits the site and the ``deciding`` zones (the binding tier, see
    :mod:`geo.tiers`) with a margin for the rings; county boundaries and rivers of the
    vendored layers are drawn as context.  Only what is visible gets a legend entry: a zone
    whose outline does not enter the frame is left out, and a zone covering the whole
    frame is named in the legend as covering it (``covers``) rather than tinting it all.

    Returns the SVG text and its legend (``[{"color", "name", "name_zh", "name_en",
    "dashed", "deciding", "covers", "context"}]``; ``name`` is in ``lang``).
    """
    from planmap.geo import crs

    if site is None or site.is_empty:
        return "", []
    try:
        site_m = crs.to_metric(site)
    except Exception:  # a sketch must never break the report
        return "", []
    reach = max([float(r) for r in rings_m if r] or [0.0])
    minx, miny, maxx, maxy = site_m.bounds
    span = max(maxx - minx, maxy - miny, 500.0)
    margin = max(reach, span * 0.25, 300.0) * 1.08
    minx, miny, maxx, maxy = minx - margin, miny - margin, maxx + margin, maxy + margin
    metric = {}
    projected = _cached(data, "metric", dict)  # fid → metric geometry (None: failed)
    for fid in dict.fromkeys(zone_ids):
        if fid in features and features[fid][0] != "admin":
            if fid in projected:
                g = projected[fid]
            else:
                try:
                    g = crs.to_metric(features[fid][1].geometry)
                except Exception:
                    g = None
                projected[fid] = g
            if g is not None:
                metric[fid] = g
    for fid in deciding:
        g = metric.get(fid)
        if g is not None and not g.is_empty and g.geom_type not in ("Point", "MultiPoint"):
            # the deciding zone is shown whole (or its part near the site, for a huge one)
            zx0, zy0, zx1, zy1 = g.bounds
            cap = max(span * 40, 20_000.0)
            cx, cy = (site_m.bounds[0] + site_m.bounds[2]) / 2, (
                site_m.bounds[1] + site_m.bounds[3]) / 2
            minx, miny = min(minx, max(zx0, cx - cap)), min(miny, max(zy0, cy - cap))
            maxx, maxy = max(maxx, min(zx1, cx + cap)), max(maxy, min(zy1, cy + cap))
    # widen the frame to the drawing's aspect ratio, so clipped zones fill the whole picture
    want = (SVG_W - 2 * SVG_PAD) / (SVG_H - 2 * SVG_PAD)
    w, h = maxx - minx, maxy - miny
    if w / h < want:
        grow = (h * want - w) / 2
        minx, maxx = minx - grow, maxx + grow
    else:
        grow = (w / want - h) / 2
        miny, maxy = miny - grow, maxy + grow
    w, h = maxx - minx, maxy - miny
    scale = min((SVG_W - 2 * SVG_PAD) / w, (SVG_H - 2 * SVG_PAD) / h)
    ox = SVG_PAD + ((SVG_W - 2 * SVG_PAD) - w * scale) / 2
    oy = SVG_PAD + ((SVG_H - 2 * SVG_PAD) - h * scale) / 2
    frame = shapely.box(minx, miny, maxx, maxy)
    tol = 0.6 / scale  # below a pixel

    def px(x, y) -> tuple[float, float]:
        return ox + (x - minx) * scale, oy + (maxy - y) * scale

    def path(geom) -> str:
        geom = shapely.clip_by_rect(geom, minx, miny, maxx, maxy).simplify(tol)
        parts = []
        for poly_or_line in getattr(geom, "geoms", [geom]):
            if poly_or_line.is_empty:
                continue
            rings = ([poly_or_line.exterior, *poly_or_line.interiors]
                     if poly_or_line.geom_type == "Polygon" else [poly_or_line])
            for ring in rings:
                coords = list(ring.coords)
                if not coords:
                    continue
                pts = " ".join("{:.1f},{:.1f}".format(*px(x, y)) for x, y, *_ in coords)
                close = " Z" if poly_or_line.geom_type == "Polygon" else ""
                parts.append(f"M{pts}{close}")
        return " ".join(parts)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {SVG_H}" '
           f'width="{SVG_W}" height="{SVG_H}" class="pm-report-svg" role="img">',
           f'<rect x="0" y="0" width="{SVG_W}" height="{SVG_H}" fill="#fbfaf7" stroke="#999"/>']
    legend = []
    # context: rivers and lakes, then county boundaries with their names
    river_shown = False
    for g, row in _context(data, "water"):
        if row.get("kind") not in ("river", "lake"):
            continue
        if not g.intersects(frame):
            continue
        d = path(g.boundary if g.geom_type in ("Polygon", "MultiPolygon") and
                 row.get("kind") == "river" else g)
        if not d:
            continue
        river_shown = True
        if g.geom_type in ("Polygon", "MultiPolygon"):
            out.append(f'<path d="{d}" fill="{CONTEXT_RIVER}" fill-opacity="0.18" '
                       f'stroke="{CONTEXT_RIVER}" stroke-width="0.8"/>')
        else:
            out.append(f'<path d="{d}" fill="none" stroke="{CONTEXT_RIVER}" '
                       f'stroke-width="1.6"/>')
    county_shown = False
    labels = []
    for g, row in _context(data, "admin"):
        if not g.intersects(frame) or g.contains(frame) and row.get("kind") == "city":
            continue
        if g.boundary.intersects(frame):
            county_shown = True
            out.append(f'<path d="{path(g.boundary)}" fill="none" stroke="#777" '
                       f'stroke-width="1" stroke-dasharray="8 3 2 3"/>')
        if row.get("kind") == "county":
            inner = shapely.clip_by_rect(g, minx, miny, maxx, maxy)
            if not inner.is_empty and inner.area > frame.area * 0.04:
                lx, ly = px(*inner.representative_point().coords[0])
                labels.append((lx, ly, row))
    for lx, ly, row in labels:
        # both names, one per language: the report keeps the page's (:func:`svg_for_lang`)
        zh = escape(str(row.get("name_zh") or ""))
        en = escape(str(row.get("name_en") or row.get("name_zh") or ""))
        out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="13" fill="#666" '
                   f'text-anchor="middle"><tspan lang="zh-CN">{zh}</tspan>'
                   f'<tspan lang="en">{en}</tspan></text>')
    if county_shown:
        legend.append(("#777", "县界", "County boundary", True, False, False, True))
    if river_shown:
        legend.append((CONTEXT_RIVER, "河流", "River", False, False, False, True))
    deciding = set(deciding)
    order = sorted(metric, key=lambda f: f not in deciding)  # deciding zones drawn last, on top
    for i, fid in enumerate(reversed(order)):
        lid, row = features[fid]
        g = metric[fid]
        color = ZONE_COLORS[(len(order) - 1 - i) % len(ZONE_COLORS)]
        dash = ' stroke-dasharray="6 4"' if row.get("accuracy") == "schematic" else ""
        names = {k: str(row.get(k)) if row.get(k) else None for k in ("name_zh", "name_en")}
        zh, en = names["name_zh"] or names["name_en"] or fid, names["name_en"] or names[
            "name_zh"] or fid
        is_deciding = fid in deciding
        if g.geom_type in ("Polygon", "MultiPolygon") and g.contains(frame):
            # covers the whole picture: named in the legend, no fill tinting everything
            legend.append((color, zh, en, bool(dash), is_deciding, True, False))
            continue
        if g.geom_type in ("Point", "MultiPoint"):
            g = g.buffer(3 / scale)
        if not g.intersects(frame):
            continue
        d = path(g)
        if d:
            width = "2.6" if is_deciding else "1.5"
            out.append(f'<path d="{d}" fill="{color}" fill-opacity="0.12" stroke="{color}" '
                       f'stroke-width="{width}"{dash} fill-rule="evenodd"/>')
            legend.append((color, zh, en, bool(dash), is_deciding, False, False))
    # Rings are drawn from an outline that differs from the true buffer by under a pixel:
    # the site simplified below a pixel, or its convex hull when the ring is so wide that a
    # hull edge of length L moves the ring by at most L²/8r, under a pixel.  Buffering a complex
    # site at 100 km cost seconds per ring.
    outline = site_m.simplify(tol)
    if outline.is_empty or not outline.is_valid:
        outline = site_m
    hull = site_m.convex_hull
    for r in sorted({float(r) for r in rings_m if r}):
        # span² bounds L²/2 (a hull edge is at most the bounding box diagonal)
        ring_outline = hull if span * span / (4 * r) <= tol else outline
        d = path(ring_outline.buffer(r, 32))
        if d:
            out.append(f'<path d="{d}" fill="none" stroke="#444" stroke-width="0.8" '
                       f'stroke-dasharray="2 3"/>')
    site_draw = site_m if site_m.geom_type not in ("Point", "MultiPoint") else site_m.buffer(
        4 / scale)
    out.append(f'<path d="{path(site_draw)}" fill="#000" fill-opacity="0.15" stroke="#000" '
               f'stroke-width="2.5" fill-rule="evenodd"/>')
    sx0, sy0, sx1, sy1 = site_m.bounds
    if max(sx1 - sx0, sy1 - sy0) * scale < MIN_SITE_PX:
        cx, cy = px((sx0 + sx1) / 2, (sy0 + sy1) / 2)
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="none" stroke="#000" '
                   f'stroke-width="2"/><path d="M{cx - 11:.1f},{cy:.1f} h22 M{cx:.1f},'
                   f'{cy - 11:.1f} v22" stroke="#000" stroke-width="1"/>')
    # scale bar: a round length near a fifth of the width
    target = w / 5
    bar = next((v for v in (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000,
                            100000) if v >= target * 0.6), 100000)
    bar_px = bar * scale
    label = f"{bar // 1000:g} km" if bar >= 1000 else f"{bar} m"
    y0 = SVG_H - 18
    out.append(f'<rect x="10" y="{y0 - 22}" width="{bar_px + 14:.1f}" height="30" '
               f'fill="#fff" fill-opacity="0.75"/>'
               f'<path d="M16,{y0} h{bar_px:.1f}" stroke="#000" stroke-width="3"/>'
               f'<text x="16" y="{y0 - 6}" font-size="12">{escape(label)}</text>')
    out.append(f'<text x="{SVG_W - 16}" y="24" font-size="14" text-anchor="end">N ↑</text>')
    out.append("</svg>")
    return "".join(out), [{"color": c, "name": en if lang == "en" else zh, "name_zh": zh,
                           "name_en": en, "dashed": d, "deciding": dec, "covers": cov,
                           "context": ctx}
                          for c, zh, en, d, dec, cov, ctx in legend]
