"""Build the map page's Folium parts from the loaded plan data.

Folium makes the Leaflet map, one layer group per catalog layer (styled from the
catalog, schematic features dashed) and the layer control.  Its CDN defaults are
replaced by the vendored files under ``/static/vendor``, and its inline script is
served as a separate file (``/map/<lang>.js``) so the page needs no inline script.

Tooltips, popups, search and panels are bound by ``static/planmap.js``, which builds
every element with ``textContent``: Folium's GeoJsonTooltip/GeoJsonPopup insert raw
attribute values into HTML, so they are not used.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template
from planmap.server import i18n

# Display-only simplification tolerance per layer, in degrees (~1e-3 deg = ~80-110 m here).
# The analysis (zone index, site checks) always uses the full geometry.
SIMPLIFY_DEG = {"admin": 0.0015, "water": 0.0008}
SIMPLIFY_DEFAULT_DEG = 0.0003
# The other plans' layers (issue 15) are viewed at province/prefecture scale.
SIMPLIFY_OTHER_PLANS_DEG = 0.008  # ~0.7 km: under a pixel at the plans' default zoom
COORD_DECIMALS = 5  # ~1 m: finer than any display needs
QUOTE_MAX_CHARS = 160  # longer quotes are cut with "…" in popups; the plan link shows all

# Baicheng City: centre and bounds used before/without the admin layer
CENTER = (45.3, 123.2)
BOUNDS = ((44.2, 121.6), (46.3, 124.4))

LEAFLET_JS = "/static/vendor/leaflet/leaflet.js"
LEAFLET_CSS = "/static/vendor/leaflet/leaflet.css"
DRAW_JS = "/static/vendor/leaflet-draw/leaflet.draw.js"
DRAW_CSS = "/static/vendor/leaflet-draw/leaflet.draw.css"
VECTORGRID_JS = "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"

TIANDITU_URL = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=")
TIANDITU_LABEL_URL = TIANDITU_URL.replace("vec_w", "cva_w").replace("LAYER=vec", "LAYER=cva")

_COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\([0-9., ]{5,40}\))$")
_DASH_RE = re.compile(r"^[0-9]+(?:[ ,][0-9]+)*$")
SCHEMATIC_DASH = "6 4"
# polygons covering this share of the city or more are drawn unfilled (see display_collection)
WIDE_SHARE = 0.3

DEFAULT_STYLE = {"color": "#555555", "fillColor": "#999999", "weight": 1.5, "fillOpacity": 0.2}


@dataclass
class MapParts:
    """The rendered pieces of the map page for one language."""

    header: str  # <link>/<style> elements Folium wants in <head>
    body: str  # the map <div>
    script: str  # the map script, served as /map/<lang>.js
    script_version: str  # short hash of ``script`` for cache busting
    legend: list  # [{"id", "title", "style", "count", "schematic"}]


def safe_style(style: dict | None) -> dict:
    """Catalog style with only well-formed values (they end up in CSS and JS)."""
    out = dict(DEFAULT_STYLE)
    for key, value in (style or {}).items():
        if key in ("color", "fillColor") and isinstance(value, str) and _COLOR_RE.match(value):
            out[key] = value
        elif key in ("weight", "fillOpacity", "radius", "opacity") and isinstance(
                value, (int, float)) and 0 <= value <= 100:
            out[key] = value
        elif key == "dashArray" and isinstance(value, str) and _DASH_RE.match(value):
            out[key] = value
    return out


def _round_coords(geom):
    return shapely.transform(geom, lambda xy: np.round(xy, COORD_DECIMALS))


def display_geometry(geom, tolerance: float):
    """Simplified (topology-preserving) geometry with rounded coordinates, for display only."""
    if geom is None or geom.is_empty:
        return None
    if tolerance > 0 and geom.geom_type != "Point" and geom.geom_type != "MultiPoint":
        geom = geom.simplify(tolerance, preserve_topology=True)
    return _round_coords(geom)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value)


def _citation(value) -> dict | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    quote = _text(value.get("quote"))
    if len(quote) > QUOTE_MAX_CHARS:
        quote = quote[:QUOTE_MAX_CHARS] + "…"
    line = value.get("line")
    try:
        line = int(line)
    except (TypeError, ValueError):
        line = None
    return {"seed": _text(value.get("seed")), "line": line, "quote": quote}


def _county(value) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    return []


def display_collection(gdf, layer_id: str, wide_area: float | None = None,
                       tolerance: float | None = None) -> dict:
    """The layer as a small GeoJSON FeatureCollection for the map (text properties only).

    Features are ordered largest first, so small ones lie on top and stay clickable.
    A polygon at least ``wide_area`` (square degrees) large is flagged ``wide``: drawn as an
    outline only, since a fill that covers much of the city would hide every other layer.
    """
    if tolerance is None:
        tolerance = SIMPLIFY_DEG.get(layer_id, SIMPLIFY_DEFAULT_DEG)
    features = []
    # planar area in square degrees: only compared within Baicheng, so no projection needed
    areas = pd.Series(shapely.area(gdf.geometry.values), index=gdf.index).fillna(0.0)
    for fid in areas.sort_values(ascending=False, kind="stable").index:
        row = gdf.loc[fid]
        geom = display_geometry(row.geometry, tolerance)
        if geom is None:
            continue
        props = {
            "id": _text(row.get("id", fid)),
            "name_zh": _text(row.get("name_zh")),
            "name_en": _text(row.get("name_en")),
            "layer": layer_id,
            "kind": _text(row.get("kind")),
            "accuracy": _text(row.get("accuracy")),
            "county": _county(row.get("county")),
            "citation": _citation(row.get("citation")),
        }
        if wide_area and layer_id != "admin" and float(areas[fid]) >= wide_area:
            props["wide"] = True
        features.append({"type": "Feature", "id": props["id"], "properties": props,
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


class _Register(MacroElement):
    """Script piece that hands one Folium GeoJson layer to planmap.js by its layer id."""

    _template = Template("""{% macro script(this, kwargs) %}
    (window.planmapLayers = window.planmapLayers || {})[{{ this.layer_id|tojson }}] = {
        geojson: {{ this.geojson.get_name() }}, group: {{ this.group.get_name() }}
    };
{% endmacro %}""")

    def __init__(self, layer_id, geojson, group):
        super().__init__()
        self._name = "PlanmapRegister"
        self.layer_id = layer_id
        self.geojson = geojson
        self.group = group


class _Init(MacroElement):
    """Last script piece: start planmap.js with the map and the page configuration."""

    _template = Template("""{% macro script(this, kwargs) %}
    window.planmapInit({{ this._parent.get_name() }}, {{ this.config|tojson }});
{% endmacro %}""")

    def __init__(self, config):
        super().__init__()
        self._name = "PlanmapInit"
        self.config = config


def _style_function(style: dict):
    def style_for(feature):
        out = dict(style)
        out.pop("radius", None)
        if feature["properties"].get("accuracy") == "schematic":
            out["dashArray"] = SCHEMATIC_DASH
        if feature["properties"].get("wide"):
            # no fill at all: the outline stays clickable, the inside lets clicks through
            out["fill"] = False
            out["weight"] = max(float(out.get("weight", 1.5)), 2.0)
        return out
    return style_for


def _clause_lookup(clauses) -> dict:
    """Clauses by id plus the ids applying to each feature (for popups and panels)."""
    by_id, by_feature = {}, {}
    for clause in clauses or []:
        cid = _text(clause.get("id"))
        if not cid:
            continue
        text = _text(clause.get("text_zh"))
        by_id[cid] = {"id": cid, "effect": _text(clause.get("effect")), "text_zh": text,
                      "summary_en": _text(clause.get("summary_en")),
                      "citation": _citation(clause.get("citation"))}
        for fid in clause.get("applies_to") or []:
            by_feature.setdefault(str(fid), []).append(cid)
    return {"by_id": by_id, "by_feature": by_feature}


def _basemaps(m, settings: dict, lang: str) -> list[str]:
    """Add the optional tile basemaps from settings; return the origins they load from."""
    origins = []
    url = (settings.get("BASEMAP_URL") or "").strip()
    if url:
        folium.TileLayer(url, attr=settings.get("BASEMAP_ATTRIBUTION") or url.split("/")[2]
                         if "://" in url else "", name=i18n.t(lang, "basemap_custom"),
                         overlay=False, control=True, max_zoom=18).add_to(m)
        if "://" in url:
            origins.append("/".join(url.split("/")[:3]))
    if settings.get("BASEMAP_OFFLINE", True):  # issue 16: planmap's own tiles, no other host
        from planmap.server import basemap

        basemap.add_offline_layer(m, lang)
    token = (settings.get("TIANDITU_TOKEN") or "").strip()
    if token:
        from urllib.parse import quote

        tk = quote(token, safe="")
        group = folium.FeatureGroup(name=i18n.t(lang, "basemap_tianditu"), overlay=False,
                                    control=True)
        for tile_url in (TIANDITU_URL + tk, TIANDITU_LABEL_URL + tk):
            folium.TileLayer(tile_url, attr="天地图 tianditu.gov.cn", subdomains="01234567",
                             overlay=False, control=False, max_zoom=18).add_to(group)
        group.add_to(m)
        origins.extend(f"https://t{i}.tianditu.gov.cn" for i in range(8))
    return origins


def build_map(data, lang: str, settings: dict) -> MapParts:
    """Render the Folium map for ``lang`` into its header, body and script parts."""
    m = folium.Map(location=CENTER, zoom_start=8, tiles=None, control_scale=False,
                   min_zoom=5, max_zoom=18, prefer_canvas=False)
    # replace every CDN default of Folium by the vendored files
    m.default_js = [("leaflet", LEAFLET_JS), ("leaflet_draw", DRAW_JS)]
    m.default_css = [("leaflet_css", LEAFLET_CSS), ("leaflet_draw_css", DRAW_CSS)]
    basemap_origins = _basemaps(m, settings, lang)

    legend = []
    layer_meta = {}
    from planmap.server.tiles import tiled_layer_ids

    tiled = set(tiled_layer_ids(data, settings))
    tiles_cfg = {}
    wide_area = _city_area(data) * WIDE_SHARE
    home = getattr(data, "home_plan", None)
    for entry in data.catalog:
        lid = entry["id"]
        gdf = data.layers.get(lid)
        if gdf is None and lid in tiled:  # an in-place store layer: tiles only
            gdf = (getattr(data, "store_layers", None) or {}).get(lid)
        if gdf is None:
            continue
        plan = entry.get("plan") or home
        title = _text(entry.get("title_zh" if lang == "zh" else "title_en") or lid)
        style = safe_style(entry.get("style"))
        if lid in tiled:  # drawn from /tiles by planmap-tiles.js: nothing embedded
            legend.append(_tiled_layer(m, gdf, entry, lid, title, style, plan, home, settings,
                                       data, tiles_cfg, layer_meta, lang))
            continue
        collection = display_collection(gdf, lid, wide_area,
                                        None if plan == home else SIMPLIFY_OTHER_PLANS_DEG)
        # Leaflet's layer control inserts names as HTML: hand it escaped text
        # The page opens on the home plan: the other plans' layers wait for the switcher.
        group = folium.FeatureGroup(name=html.escape(title), overlay=True, control=True,
                                    show=bool(entry.get("default_on", True)) and plan == home)
        geojson = folium.GeoJson(
            collection, name=title, style_function=_style_function(style), embed=True,
            control=False, smooth_factor=1.0,
            marker=folium.CircleMarker(radius=style.get("radius", 6), color=style["color"],
                                       fill_color=style["fillColor"], fill_opacity=0.9,
                                       weight=style["weight"]),
        )
        geojson.add_to(group)
        group.add_to(m)
        m.add_child(_Register(lid, geojson, group))
        accuracies = {f["properties"]["accuracy"] for f in collection["features"]}
        legend.append({"id": lid, "title": title, "style": style,
                       "count": len(collection["features"]),
                       "schematic": "schematic" in accuracies,
                       "attribution": _text(entry.get("attribution")),
                       "licence": _text(entry.get("licence")), "plan": plan})
        layer_meta[lid] = {"title": title, "style": style, "plan": plan,
                           "default_on": bool(entry.get("default_on", True))}
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    config = {
        "lang": lang,
        "strings": i18n.js_strings(lang),
        "draw": i18n.DRAW_LOCAL[lang],
        "kinds": i18n.kind_labels(lang),
        "layers": layer_meta,
        "clauses": _clause_lookup(getattr(data, "clauses", [])),
        "bounds": _bounds(data),
        "plans": _plans(data, lang),
        "home_plan": home,
        "api": {"zones": "/api/v1/zones", "sitecheck": "/api/v1/sitecheck",
                "search": "/api/v1/search"},  # search: static/planmap-tools.js
        "plan_url": "/plan/",
        "report_url": "/report/",
        "tiles": tiles_cfg,
    }
    if tiles_cfg:
        m.default_js = m.default_js + _tiles_js()
    m.add_child(_Init(config))

    fig = m.get_root()
    fig.render()
    header = fig.header.render()
    # Folium's header carries one inline <script> (touch/3D flags): move it into the script file
    inline = re.findall(r"<script>(.*?)</script>", header, flags=re.S)
    header = re.sub(r"<script>.*?</script>", "", header, flags=re.S)
    script = "\n".join(inline) + "\n" + fig.script.render()
    version = hashlib.sha256(script.encode("utf-8")).hexdigest()[:12]
    parts = MapParts(header=header, body=fig.html.render(), script=script,
                     script_version=version, legend=legend)
    parts.basemap_origins = basemap_origins
    return parts


def _city_area(data) -> float:
    """Area of Baicheng in square degrees (only compared with features' areas)."""
    area = getattr(getattr(data, "service_area", None), "area", None)
    if not area:
        admin = getattr(data, "layers", {}).get("admin")
        area = float(admin.geometry.area.max()) if admin is not None and len(admin) else 0.0
    return float(area or 0.0)


def _plans(data, lang: str) -> list[dict]:
    """The plan switcher's entries: id, name, Leaflet bounds, layers (issue 15)."""
    out = []
    for p in getattr(data, "plan_list", None) or ():
        w, s, e, n = p.get("extent") or (BOUNDS[0][1], BOUNDS[0][0], BOUNDS[1][1], BOUNDS[1][0])
        out.append({"id": p["id"], "name": _text(p.get("name_zh" if lang == "zh" else "name_en")),
                    "bounds": [[s, w], [n, e]], "layers": list(p.get("layers") or ())})
    return out


def _bounds(data):
    admin = getattr(data, "layers", {}).get("admin")
    if admin is not None and len(admin):
        minx, miny, maxx, maxy = admin.total_bounds
        if np.all(np.isfinite([minx, miny, maxx, maxy])):
            return [[round(float(miny), 4), round(float(minx), 4)],
                    [round(float(maxy), 4), round(float(maxx), 4)]]
    return [list(BOUNDS[0]), list(BOUNDS[1])]


# --- tiled layers (issue 12): server/tiles.py serves them, static/planmap-tiles.js draws them

def _asset_hash(name: str) -> str:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "static" / name
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def _tiles_js() -> list:
    """The scripts a page with tiled layers adds (the plugin and ours, cache-busted)."""
    return [("leaflet_vectorgrid", VECTORGRID_JS),
            ("planmap_tiles", f"/static/planmap-tiles.js?v={_asset_hash('planmap-tiles.js')}")]


class _RegisterTiled(MacroElement):
    """Script piece that hands a tiled layer's (empty) group to planmap.js by its layer id."""

    _template = Template("""{% macro script(this, kwargs) %}
    (window.planmapLayers = window.planmapLayers || {})[{{ this.layer_id|tojson }}] = {
        geojson: L.geoJSON(), group: {{ this.group.get_name() }}, tiled: true
    };
{% endmacro %}""")

    def __init__(self, layer_id, group):
        super().__init__()
        self._name = "PlanmapRegisterTiled"
        self.layer_id = layer_id
        self.group = group


def _tiled_layer(m, gdf, entry, lid, title, style, plan, home, settings, data, tiles_cfg,
                 layer_meta, lang) -> dict:
    """Add a tiled layer's group, page configuration and legend entry (no features)."""
    from urllib.parse import quote

    from planmap.server.tiles import STRINGS, URL_TEMPLATE

    group = folium.FeatureGroup(name=html.escape(title), overlay=True, control=True,
                                show=bool(entry.get("default_on", True)) and plan == home)
    group.add_to(m)
    m.add_child(_RegisterTiled(lid, group))
    version = quote(str(getattr(data, "data_version", "")), safe="")
    tiles_cfg[lid] = {
        # the data version in the URL: a browser cache never serves an old import's tiles
        "url": URL_TEMPLATE.replace("{layer}", quote(lid, safe="")) + f"?v={version}",
        "min_zoom": int(settings.get("TILE_MIN_ZOOM", 10)),
        "max_zoom": int(settings.get("TILE_MAX_ZOOM", 18)),
        "style": style, "schematic_dash": SCHEMATIC_DASH,
        "strings": STRINGS.get(lang, STRINGS["zh"]),
    }
    layer_meta[lid] = {"title": title, "style": style, "plan": plan,
                       "default_on": bool(entry.get("default_on", True)), "tiled": True}
    if hasattr(gdf, "candidates"):  # an in-place store layer (layers.storequery)
        from planmap.layers.storequery import accuracy_counts

        accuracies = {k for k, n in accuracy_counts(gdf).items() if n}
        count = int(gdf.count)
    else:
        accuracies = (set(gdf["accuracy"].astype(str)) if "accuracy" in gdf.columns
                      else set())
        count = len(gdf)
    return {"id": lid, "title": title, "style": style, "count": count,
            "schematic": "schematic" in accuracies, "tiled": True,
            "attribution": _text(entry.get("attribution")),
            "licence": _text(entry.get("licence")), "plan": plan}
