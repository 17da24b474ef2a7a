"""``planmap layers`` and ``planmap import`` (argument parsing lives in ``server/cli.py``)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import unicodedata
from pathlib import Path

from planmap.geo.errors import InvalidInput, LimitExceeded
from planmap.layers.loader import ACCURACY_VALUES, load


def layer_summaries(data) -> list[dict]:
    """One summary per catalog layer: ids, titles, group, feature and accuracy counts.

    Parameters
    ----------
    data : PlanData

    Returns
    -------
    list of dict
        ``id, title_zh, title_en, group, plan, order, features, accuracy`` (counts per
        accuracy value, zeros included), ``kinds`` (counts), and ``error`` when the
        layer failed to load.
    """
    out = []
    for entry in data.catalog:
        lid = entry["id"]
        gdf = data.layers.get(lid)
        counts = dict.fromkeys(ACCURACY_VALUES, 0)
        kinds: dict[str, int] = {}
        if gdf is not None:
            for value, n in gdf["accuracy"].value_counts().items():
                counts[str(value)] = int(n)
            kinds = {str(k): int(n) for k, n in gdf["kind"].value_counts().sort_index().items()}
        item = {
            "id": lid,
            "title_zh": entry.get("title_zh", lid),
            "title_en": entry.get("title_en", lid),
            "group": entry.get("group", ""),
            "plan": entry.get("plan") or data.home_plan,
            "order": entry.get("order"),
            "features": 0 if gdf is None else int(len(gdf)),
            "accuracy": counts,
            "kinds": kinds,
        }
        if lid in data.errors:
            item["error"] = data.errors[lid]
        out.append(item)
    return out


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_table(rows: list[dict]) -> str:
    """Render layer summaries as an aligned text table."""
    head = ["id", "中文名", "group", "features", "official", "derived", "schematic"]
    body = [[r["id"], r["title_zh"], r["group"], str(r["features"]),
             *(str(r["accuracy"][a]) for a in ACCURACY_VALUES)] for r in rows]
    widths = [max(_width(x) for x in col) for col in zip(head, *body, strict=True)]
    numeric = {3, 4, 5, 6}

    def line(cells):
        return "  ".join(
            (" " * (w - _width(c)) + c) if i in numeric else _pad(c, w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [line(head), line(["-" * w for w in widths])]
    lines += [line(cells) for cells in body]
    total = [sum(r["features"] for r in rows)] + [
        sum(r["accuracy"][a] for r in rows) for a in ACCURACY_VALUES]
    lines.append(line(["total", "", "", *(str(t) for t in total)]))
    for r in rows:
        if "error" in r:
            lines.append(f"! {r['id']}: {r['error']}")
    return "\n".join(lines)


def run_layers(args) -> int:
    """Print the layers as a table (or a JSON list with ``--json``); 1 if a layer is broken."""
    data = load(getattr(args, "data_dir", None), strict=False)
    rows = layer_summaries(data)
    if getattr(args, "json", False):
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(format_table(rows))
        print(f"data_version {data.data_version}")
    for key, problem in data.errors.items():
        if key not in {r["id"] for r in rows}:
            print(f"planmap: {key}: {problem}", file=sys.stderr)
    return 1 if data.errors else 0


def _exit_on_term(signum, frame):
    raise SystemExit(128 + signum)


def run_import(args) -> int:
    """Import a file into a layer, or ``--restore`` the layer's previous version."""
    import signal

    # SIGTERM (systemd stop, kill) as SystemExit: the import's cleanup runs and no temp
    # file is left behind (SIGKILL leaves them; the next import removes those)
    previous = None
    with contextlib.suppress(ValueError):  # not the main thread: keep the default
        previous = signal.signal(signal.SIGTERM, _exit_on_term)
    try:
        # the zone-index cache's lock for the whole import: a serving worker that notices
        # the first written file waits for it (server/reload.py) and then loads the
        # finished data and the index refreshed below, not a half-written state
        with _import_lock(args):
            status = _run_import(args)
            _warm_index_cache(args)
        return status
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _store_for(args):
    """Return the store an import goes to: ``--store``, else (no ``--data-dir``) the default."""
    from planmap.layers import store

    if getattr(args, "store", None):
        return store.open_store(args.store)
    if getattr(args, "data_dir", None):
        return None  # a data folder is a complete instance: its files are replaced
    return store.default_store(create=True)


def _run_store_import(args, target) -> int:
    from planmap.layers.storeimport import import_to_store

    if getattr(args, "restore", False):
        version = target.restore_previous(args.layer)
        print(f"restored {args.layer}: version {version} of {target!r} is active again")
        return 0
    if not getattr(args, "file", None):
        raise InvalidInput("file_required", "give the FILE to import (or --restore)",
                           "请给出要导入的文件（或使用 --restore）", param="file")
    from planmap.geo.limits import local_limits

    limits = getattr(args, "limits", None) or local_limits()
    started = time.perf_counter()

    def report(note):  # every repaired/refused row, as it is found
        print(f"row {note.row}: {note.kind}: {note.reason}", file=sys.stderr)

    result = import_to_store(args.file, args.layer, target, crs=args.crs, source=args.source,
                             data_dir=getattr(args, "data_dir", None),
                             chunk_size=max(1, int(getattr(args, "chunk_size", 20_000))),
                             skip_refused=bool(getattr(args, "skip_refused", False)),
                             limits=limits, report=report)
    verb = "created" if result.created_layer else "replaced"
    print(f"{verb} {result.layer_id}: {result.features} official features from {args.file} "
          f"(read as {result.source_crs}); {result.repaired} repaired, {result.refused} "
          f"refused rows")
    print(f"written to {target!r} as version {result.version}")
    if result.previous:
        print(f"previous version {result.previous} kept (undo: planmap import --restore "
              f"--layer {result.layer_id})")
    if not getattr(args, "quiet", False):
        print(f"planmap: imported {result.features:,} features into {result.layer_id} in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _import_lock(args):
    """Return the data folder's zone-index cache lock, or a no-op when it has no cache."""
    if not getattr(args, "cache_dir", None):
        return contextlib.nullcontext()
    from planmap.geo import indexcache
    from planmap.layers.zonecommands import cache_file

    where = cache_file(args, "zoneindex")
    if where is None:
        return contextlib.nullcontext()
    return indexcache.building(where[0])


def _warm_index_cache(args) -> None:
    """Build the new data's zone index into the command line's cache (``CACHE_DIR``).

    The serving web workers (server/reload.py) and the next ``zones``/``check``/``batch``
    load it from there instead of each building it. Only for a folder that has a cache
    file already (a command or a server used one).
    """
    if not getattr(args, "cache_dir", None):
        return
    from planmap.layers.zonecommands import _index, cache_file

    where = cache_file(args, "zoneindex")
    if where is None or not where[0].exists():
        return  # nothing uses a cache of this folder (a server writes one when it starts)

    try:
        _index(args)
    except Exception as exc:  # the import is done; a cache is only a speed-up
        print(f"planmap: zone index cache not refreshed ({exc!r})", file=sys.stderr)


def _run_import(args) -> int:
    from planmap.layers.importer import import_layer, restore_previous

    target = _store_for(args)
    if target is not None:
        return _run_store_import(args, target)
    if getattr(args, "restore", False):
        result = restore_previous(args.layer, args.data_dir)
        print(f"restored {result.layer_id}: {result.features} features in {result.path}")
        if result.previous:
            print(f"the replaced version is kept as {result.previous}")
        return 0
    if not getattr(args, "file", None):
        raise InvalidInput("file_required", "give the FILE to import (or --restore)",
                           "请给出要导入的文件（或使用 --restore）", param="file")
    from planmap.geo.limits import local_limits

    # the user's own file: the CLI_MAX_* settings (default none), not the HTTP upload limits
    limits = getattr(args, "limits", None) or local_limits()
    size = Path(args.file).stat().st_size if Path(args.file).is_file() else 0
    if size > limits.max_bytes:
        raise LimitExceeded("too_large", f"{args.file} is {size} bytes; the limit is "
                            f"{limits.max_bytes} bytes (setting CLI_MAX_BYTES)",
                            f"{args.file} 大小为 {size} 字节，上限为 {limits.max_bytes} 字节"
                            "（设置 CLI_MAX_BYTES）", param="file")
    started = time.perf_counter()
    result = import_layer(args.file, args.layer, crs=args.crs, source=args.source,
                          data_dir=args.data_dir, limits=limits)
    verb = "created" if result.created_layer else "replaced"
    print(f"{verb} {result.layer_id}: {result.features} official features from "
          f"{args.file} (read as {result.source_crs}); {result.matched} matched existing "
          f"features")
    print(f"written to {result.path}")
    if result.previous:
        print(f"previous version kept as {result.previous} (undo: planmap import --restore "
              f"--layer {result.layer_id})")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not getattr(args, "quiet", False):
        print(f"planmap: imported {result.features:,} features into {result.layer_id} in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0
