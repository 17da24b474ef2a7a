"""Layer import with preview, and restore, through the web (issue 14; ``admin`` only).

``/admin/import``: an admin picks a layer id (a layer of the store, or a new id), a file
(GeoJSON, GeoPackage, zipped Shapefile: what :mod:`layers.storeimport` reads) and a CRS.

1. **Preview** (``POST /admin/import``): the upload is staged in the instance folder
   (``HOME``/``staging/<random id>/``, deleted after ``ADMIN_IMPORT_STAGE_S``) and run
   through :func:`layers.storeimport.import_to_store` against a :class:`PreviewStore`: the
   real store for every read (so ids, names and citations are matched exactly as the real
   import will), nothing written, nothing activated.  The page shows the feature count,
   geometry types, bbox, CRS read, fields, the repaired/refused rows (first
   ``ADMIN_IMPORT_PREVIEW_ROWS`` + totals) and an SVG sketch of the features against the
   Baicheng boundary.
2. **Confirm** (``POST /admin/import/<stage>/confirm``): the same staged file goes through
   :func:`~layers.storeimport.import_to_store` into the real store — the code path of
   ``planmap import`` — which writes a new version and activates it atomically; this
   process then swaps in the new data (:func:`server.reload.swap`).

``/admin/layers`` lists the store's layers and versions with a **restore previous
version** button (:meth:`layers.store.LayerStore.restore_previous`, as ``planmap import
--restore``).  Every preview, import and restore is written to the audit log.

Both steps run in the request (no background job): a file is bounded by
``MAX_BODY_BYTES`` / ``MAX_UNZIPPED_BYTES`` and at most ``ADMIN_IMPORT_MAX_FEATURES``
features (413 ``too_many_features``); larger imports are ``planmap import`` on the server.
Other web worker processes see the new version when their reload watches the store.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from pathlib import Path

import shapely
from flask import Blueprint, current_app, g, redirect, request
from planmap.geo.errors import InvalidInput, LimitExceeded, NotFound, PlanmapError
from planmap.layers.store import CHUNK_FEATURES, LayerStore

bp = Blueprint("adminimport", __name__)

_STAGE_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_LAYER_ID = re.compile(r"^[a-z0-9_]+$")
_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
SKETCH_FEATURES = 400
"""Features drawn in the preview's sketch (the rest are counted)."""

CRS_CHOICES = ("", "EPSG:4326", "EPSG:4490", "EPSG:4550", "EPSG:4529", "gcj02")

TEXT = {
    "zh": {
        "import": "导入图层", "layers_title": "图层与版本", "layer": "图层 id",
        "layer_hint": "已有图层或新 id（小写字母、数字、下划线）", "file": "文件",
        "file_hint": "GeoJSON、GeoPackage 或 Shapefile（zip）", "crs": "坐标系",
        "crs_auto": "按文件声明", "preview": "预览（不会生效）", "confirm": "确认导入并生效",
        "skip_refused": "跳过被拒绝的行，导入其余行", "features": "要素数",
        "types": "几何类型", "bbox": "范围（经纬度）", "crs_read": "读取时采用的坐标系",
        "fields": "字段", "repaired": "已修复的行", "refused": "被拒绝的行", "row": "行号",
        "kind": "类别", "reason": "原因", "shown": "仅列出前 {n} 行，共 {total} 行",
        "new_layer": "新图层", "replaces": "替换当前版本 {v}", "staged_until": "暂存至",
        "sketch": "示意：导入要素（红）与白城市界（灰）", "error": "导入失败",
        "versions": "版本", "active": "当前", "restore": "恢复上一版本",
        "none": "图层库中还没有图层",
        "done": "已导入 {layer}：版本 {v}，{n} 个要素", "restored": "已恢复 {layer} 的版本 {v}",
        "refused_note": "有被拒绝的行：不勾选“跳过”时确认导入将不作任何更改",
        "store": "图层库",
    },
    "en": {
        "import": "Import a layer", "layers_title": "Layers and versions", "layer": "Layer id",
        "layer_hint": "an existing layer or a new id (a-z, 0-9, _)", "file": "File",
        "file_hint": "GeoJSON, GeoPackage or Shapefile (zip)", "crs": "CRS",
        "crs_auto": "as the file says", "preview": "Preview (nothing changes)",
        "confirm": "Confirm: import and activate",
        "skip_refused": "skip the refused rows, import the others", "features": "Features",
        "types": "Geometry types", "bbox": "Bounding box (lon/lat)", "crs_read": "CRS assumed",
        "fields": "Fields", "repaired": "Repaired rows", "refused": "Refused rows", "row": "Row",
        "kind": "Kind", "reason": "Reason", "shown": "first {n} of {total} rows listed",
        "new_layer": "a new layer", "replaces": "replaces the active version {v}",
        "staged_until": "staged until", "sketch": "Sketch: the features (red) against the "
        "Baicheng boundary (grey)", "error": "Import failed", "versions": "Versions",
        "active": "active", "restore": "Restore the previous version",
        "none": "The layer store holds no layer yet",
        "done": "Imported {layer}: version {v}, {n} features",
        "restored": "Restored {layer}: version {v} is active again",
        "refused_note": "Some rows are refused: unless 'skip' is ticked, confirming changes "
        "nothing", "store": "Layer store",
    },
}


# ---------------------------------------------------------------------- stores

def target_store():
    """The layer store ``planmap import`` writes to for this app's settings."""
    from planmap.layers.store import GpkgStore, PostgisStore, default_store

    config = current_app.config
    if config.get("DATABASE_URL"):
        return PostgisStore(config["DATABASE_URL"])
    if config.get("HOME"):
        return GpkgStore(Path(str(config["HOME"])).expanduser() / "store")
    return default_store(create=True)


def _home() -> Path:
    from planmap.layers.store import home_dir

    home = current_app.config.get("HOME")
    return Path(str(home)).expanduser() if home else home_dir()


def staging_dir() -> Path:
    """Where uploads wait for their confirmation (the instance folder's ``staging/``)."""
    return _home() / "staging"


class PreviewStore(LayerStore):
    """Reads from ``real``; :meth:`write_version` only measures; :meth:`activate` changes
    nothing.  What :func:`layers.storeimport.import_to_store` would write is summarised in
    :attr:`summary`.

    Parameters
    ----------
    real : LayerStore or None
    max_features : int
        More features raise :class:`~geo.errors.LimitExceeded` (``too_many_features``).
    """

    def __init__(self, real, max_features: int):
        self.real, self.max_features = real, int(max_features)
        self.summary = {"features": 0, "bbox": None, "types": [], "fields": [], "sketch": []}

    def layers(self):
        return self.real.layers() if self.real else []

    def versions(self, layer_id):
        return self.real.versions(layer_id) if self.real else []

    def current(self, layer_id):
        return self.real.current(layer_id) if self.real else None

    def meta(self, layer_id):
        return self.real.meta(layer_id) if self.real else {}

    def token(self):
        return self.real.token() if self.real else ""

    def iter_chunks(self, layer_id, chunk_size=CHUNK_FEATURES, bbox=None, version=None):
        if self.real is None:
            return iter(())
        return self.real.iter_chunks(layer_id, chunk_size=chunk_size, bbox=bbox,
                                     version=version)

    def read(self, layer_id, bbox=None, version=None):
        return self.real.read(layer_id, bbox=bbox, version=version)

    def write_version(self, layer_id, chunks):
        s = self.summary
        types, fields = set(), []
        box = None
        for chunk in chunks:
            s["features"] += len(chunk)
            if self.max_features and s["features"] > self.max_features:
                raise LimitExceeded(
                    "too_many_features", f"more than {self.max_features} features: a web "
                    "import is limited by ADMIN_IMPORT_MAX_FEATURES; use `planmap import` "
                    "on the server", f"要素超过 {self.max_features} 个（设置 "
                    "ADMIN_IMPORT_MAX_FEATURES）；请在服务器上使用 planmap import", param="file")
            geoms = chunk.geometry.values
            b = shapely.total_bounds(geoms)
            box = list(b) if box is None else [min(box[0], b[0]), min(box[1], b[1]),
                                               max(box[2], b[2]), max(box[3], b[3])]
            types.update(str(t) for t in chunk.geometry.geom_type.unique())
            fields += [str(c) for c in chunk.columns if c != "geometry" and c not in fields]
            room = SKETCH_FEATURES - len(s["sketch"])
            if room > 0:
                s["sketch"] += list(geoms[:room])
        if not s["features"]:
            from planmap.geo.errors import LayerError

            raise LayerError("empty_input", "no features to write", "没有要写入的要素",
                             param="file")
        s.update(bbox=box, types=sorted(types), fields=fields)
        return "preview"

    def activate(self, layer_id, version, meta):
        self.summary["meta"] = meta
        return self.current(layer_id)

    def restore_previous(self, layer_id):
        raise NotImplementedError("a preview restores nothing")


# ---------------------------------------------------------------------- staging

def _expire(now: float | None = None) -> None:
    """Delete staged uploads older than ``ADMIN_IMPORT_STAGE_S``."""
    now = time.time() if now is None else now
    max_age = float(current_app.config["ADMIN_IMPORT_STAGE_S"])
    root = staging_dir()
    if not root.is_dir():
        return
    for stage in root.iterdir():
        try:
            if now - stage.stat().st_mtime > max_age:
                shutil.rmtree(stage, ignore_errors=True)
        except OSError:
            pass


def _stage_of(stage_id: str) -> tuple[Path, dict]:
    """The staged upload ``stage_id`` of the current admin, unexpired; else NotFound."""
    missing = NotFound("unknown_import", f"no staged import {stage_id[:80]!r} (expired after "
                       "ADMIN_IMPORT_STAGE_S, already confirmed, or not yours)",
                       "没有该暂存导入（已过期、已确认或不属于您）", param="stage")
    if not _STAGE_ID.match(stage_id or ""):
        raise missing
    _expire()
    folder = staging_dir() / stage_id
    try:
        meta = json.loads((folder / "stage.json").read_text("utf-8"))
    except (OSError, ValueError):
        raise missing from None
    if meta.get("user") != g.pm_user["username"]:
        raise missing
    return folder, meta


def _run(path: Path, layer_id: str, store, crs: str | None, skip_refused: bool):
    from planmap.layers.storeimport import import_to_store
    from planmap.server import services

    config = current_app.config
    return import_to_store(path, layer_id, store, crs=crs or None,
                           data_dir=config["DATA_DIR"] or None, skip_refused=skip_refused,
                           limits=services().limits)


# ---------------------------------------------------------------------- rendering

def _page(template: str, status: int = 200, **context):
    from planmap.server.auth import _lang, _render, _when

    lang = _lang()
    return _render(template, status, ix=TEXT[lang], crs_choices=CRS_CHOICES, fmt=_when,
                   **context)


def _wants_html() -> bool:
    accept = request.headers.get("Accept") or ""
    return "text/html" in accept


def _failed(template: str, exc: PlanmapError, **context):
    """The one error shape: JSON for API clients, the page with the error for a browser."""
    from planmap.server.errors import status_for

    if not _wants_html():
        raise exc
    return _page(template, status_for(exc), error=exc, **context)


def _sketch(geoms, data) -> dict:
    """An SVG sketch (equirectangular, north up) of ``geoms`` against Baicheng's counties."""
    admin = getattr(data, "layers", {}).get("admin")
    outline = [] if admin is None else [g for g in admin.geometry if g is not None]
    everything = [*outline, *[g for g in geoms if g is not None]]
    if not everything:
        return {"w": 0, "h": 0, "outline": "", "features": ""}
    x0, y0, x1, y1 = shapely.total_bounds(everything)
    pad = max(x1 - x0, y1 - y0, 0.01) * 0.03
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    import math

    kx = math.cos(math.radians((y0 + y1) / 2))
    width = 480.0
    scale = width / ((x1 - x0) * kx)
    height = (y1 - y0) * scale

    def path(g, tolerance):
        g = g.simplify(tolerance) if tolerance else g
        out = []
        for part in getattr(g, "geoms", [g]):
            rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
            for ring in rings:
                xy = shapely.get_coordinates(ring)
                if not len(xy):
                    continue
                pts = " ".join(f"{(x - x0) * kx * scale:.1f},{(y1 - y) * scale:.1f}"
                               for x, y in xy)
                if part.geom_type == "Point":
                    px, py = pts.split(",")
                    out.append(f"M{px},{py}m-2,0a2,2 0 1,0 4,0a2,2 0 1,0 -4,0")
                else:
                    out.append("M" + pts + (" Z" if part.geom_type == "Polygon" else ""))
        return " ".join(out)

    tol = (x1 - x0) / 600
    return {"w": round(width), "h": round(height),
            "outline": " ".join(path(g, tol) for g in outline),
            "features": " ".join(path(g, tol) for g in geoms if g is not None)}


# ---------------------------------------------------------------------- views

def _store_layers():
    store = target_store()
    out = []
    if store is None:
        return store, out
    for lid in store.layers():
        out.append({"id": lid, "current": store.current(lid), "versions": store.versions(lid),
                    "title": store.meta(lid).get("title_zh") or lid})
    return store, out


@bp.get("/admin/import")
def import_page():
    from planmap.server import services

    _, layers = _store_layers()
    known = sorted({e["id"] for e in services().data.catalog} | {r["id"] for r in layers})
    return _page("auth/import.html", known=known, preview=None, error=None, form={})


@bp.post("/admin/import")
def import_preview():
    """Stage the upload and show what importing it would do; nothing is activated."""
    from planmap.server import services
    from planmap.server.auth import audit

    form = {"layer": (request.form.get("layer") or "").strip(),
            "crs": (request.form.get("crs") or "").strip()}
    known = sorted(e["id"] for e in services().data.catalog)
    layer_id, crs = form["layer"], form["crs"]
    upload = request.files.get("file")
    folder = None
    try:
        if not _LAYER_ID.match(layer_id) or len(layer_id) > 64:
            raise InvalidInput("invalid_layer_id", f"layer id {layer_id[:80]!r} must match "
                               "^[a-z0-9_]+$", "图层 id 只能含小写字母、数字和下划线",
                               param="layer")
        if crs not in CRS_CHOICES:
            raise InvalidInput("invalid_crs", f"crs {crs[:40]!r} is not one of "
                               f"{', '.join(c for c in CRS_CHOICES if c)}", "不支持的坐标系",
                               param="crs")
        if upload is None or not upload.filename:
            raise InvalidInput("file_required", "choose a file to import", "请选择要导入的文件",
                               param="file")
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in _SUFFIXES:
            raise InvalidInput("unsupported_format", f"{upload.filename[:80]}: use GeoJSON, "
                               "GeoPackage or a zipped Shapefile",
                               "不支持的格式；请使用 GeoJSON、GeoPackage 或 zip 压缩的 Shapefile",
                               param="file")
        _expire()
        stage_id = secrets.token_urlsafe(24)
        folder = staging_dir() / stage_id
        folder.mkdir(parents=True, mode=0o700)
        path = folder / f"upload{suffix}"
        upload.save(path)
        real = target_store()
        preview = PreviewStore(real, int(current_app.config["ADMIN_IMPORT_MAX_FEATURES"]))
        result = _run(path, layer_id, preview, crs, skip_refused=True)
    except PlanmapError as exc:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        from planmap.server.errors import status_for

        audit("layer_import_preview", layer_id[:64], status_for(exc), detail=exc.code)
        return _failed("auth/import.html", exc, known=known, preview=None, form=form)
    summary = preview.summary
    n = int(current_app.config["ADMIN_IMPORT_PREVIEW_ROWS"])
    stage = {"user": g.pm_user["username"], "layer": layer_id, "crs": crs,
             "filename": Path(upload.filename).name[:200], "file": path.name,
             "created": time.time(), "features": summary["features"],
             "repaired": result.repaired, "refused": result.refused}
    (folder / "stage.json").write_text(json.dumps(stage, ensure_ascii=False), "utf-8")
    audit("layer_import_preview", layer_id, 200,
          detail=f"{summary['features']} rows, {result.repaired} repaired, "
                 f"{result.refused} refused; nothing activated")
    view = {
        "stage": stage_id, "layer": layer_id, "filename": stage["filename"],
        "features": summary["features"], "types": summary["types"],
        "bbox": [round(float(v), 6) for v in summary["bbox"]], "crs": result.source_crs,
        "fields": summary["fields"], "repaired": result.repaired, "refused": result.refused,
        "notes": result.notes[:n], "shown": min(n, len(result.notes)),
        "total_notes": result.repaired + result.refused, "created": result.created_layer,
        "current": real.current(layer_id) if real is not None else None,
        "expires": stage["created"] + float(current_app.config["ADMIN_IMPORT_STAGE_S"]),
        "sketch": _sketch(summary["sketch"], services().data),
    }
    if not _wants_html():
        body = {k: v for k, v in view.items() if k not in ("sketch", "notes")}
        body["notes"] = [{"row": int(x.row), "kind": x.kind, "reason": str(x.reason)}
                         for x in view["notes"]]
        return current_app.json.response(body)
    return _page("auth/import.html", known=known, preview=view, error=None, form=form)


@bp.post("/admin/import/<stage_id>/confirm")
def import_confirm(stage_id: str):
    """Import the staged file into the store (``planmap import``'s code path), activate it,
    and serve it."""
    from planmap.server import services
    from planmap.server.auth import audit
    from planmap.server.errors import status_for

    known = sorted(e["id"] for e in services().data.catalog)
    try:
        folder, stage = _stage_of(stage_id)
    except PlanmapError as exc:
        audit("layer_import", stage_id[:80], 404, detail=exc.code)
        return _failed("auth/import.html", exc, known=known, preview=None, form={})
    layer_id = stage["layer"]
    skip = request.form.get("skip_refused") in ("1", "on", "true", "yes")
    try:
        result = _run(folder / stage["file"], layer_id, target_store(), stage["crs"], skip)
    except PlanmapError as exc:
        audit("layer_import", layer_id, status_for(exc), detail=f"{exc.code}: "
              f"{exc.message_en[:200]}")
        return _failed("auth/import.html", exc, known=known, preview=None,
                       form={"layer": layer_id, "crs": stage["crs"]})
    shutil.rmtree(folder, ignore_errors=True)
    publish(current_app._get_current_object())
    audit("layer_import", layer_id, 200,
          detail=f"version {result.version} active ({result.features} rows, "
                 f"{result.repaired} repaired, {result.refused} refused; previous "
                 f"{result.previous or '-'}; file {stage['filename']})")
    if not _wants_html():
        return current_app.json.response({
            "layer": layer_id, "version": result.version, "previous": result.previous,
            "features": result.features, "repaired": result.repaired,
            "refused": result.refused})
    lang = "&lang=en" if request.form.get("lang") == "en" else ""
    return redirect(f"/admin/layers?done={layer_id}{lang}", code=303)


@bp.get("/admin/layers")
def layers_page():
    store, layers = _store_layers()
    done = request.args.get("done") or ""
    message = None
    lang = "en" if request.args.get("lang") == "en" else "zh"
    for row in layers:
        if row["id"] == done:
            n = next((v.features for v in row["versions"] if v.active), 0)
            message = TEXT[lang]["done"].format(layer=done, v=row["current"], n=n)
    restored = request.args.get("restored") or ""
    for row in layers:
        if row["id"] == restored:
            message = TEXT[lang]["restored"].format(layer=restored, v=row["current"])
    return _page("auth/layers.html", layers=layers, store=repr(store), message=message,
                 error=None)


@bp.post("/admin/layers/<layer_id>/restore")
def layer_restore(layer_id: str):
    """Re-activate the layer's previous version (``planmap import --restore``)."""
    from planmap.server.auth import audit
    from planmap.server.errors import status_for

    store = target_store()
    try:
        if store is None or not _LAYER_ID.match(layer_id) or layer_id not in store.layers():
            raise NotFound("unknown_layer", f"no layer {layer_id[:80]!r} in the layer store",
                           f"图层库中没有图层 {layer_id[:80]!r}", param="layer")
        before = store.current(layer_id)
        back = store.restore_previous(layer_id)
    except PlanmapError as exc:
        audit("layer_restore", layer_id[:64], status_for(exc), detail=exc.code)
        if not _wants_html():
            raise
        _, layers = _store_layers()
        return _page("auth/layers.html", status_for(exc), layers=layers, store=repr(store),
                     message=None, error=exc)
    publish(current_app._get_current_object())
    audit("layer_restore", layer_id, 200, detail=f"version {back} active again (was {before})")
    if not _wants_html():
        return current_app.json.response({"layer": layer_id, "version": back,
                                          "replaced": before})
    lang = "&lang=en" if request.form.get("lang") == "en" else ""
    return redirect(f"/admin/layers?restored={layer_id}{lang}", code=303)


def publish(app) -> None:
    """Serve the store's new active versions in this process now (server/reload.py)."""
    from planmap.server import reload, visibility

    reload.swap(app)
    visibility.warm(app)  # the anonymous callers' indexes of the new data, when restricted
