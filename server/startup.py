"""The server's zone index at start-up: read back from the zone-index cache when current.

``planmap serve`` used to rebuild the home plan's :class:`geo.index.ZoneIndex` at every
start (and once more in every worker process).  It now shares the command line's cache
(``CACHE_DIR``, :mod:`geo.indexcache`, keyed by the data files' contents and the index
code): the first start builds and writes it, later starts and the workers read it.
"""

from __future__ import annotations

from types import SimpleNamespace


def cache_entry(config, data):
    """Return ``(path, key)`` of the home index's cache file, or None (no cache).

    A partial load (a layer that failed: ``data.errors``) is not what the file would hold
    for the folder's data, so it is not cached.
    """
    if getattr(data, "errors", None):
        return None
    from planmap.layers.zonecommands import cache_entry as entry
    from planmap.layers.zonecommands import data_store_token
    from planmap.server.cli import _cache_dir

    # keyed by the layer-store versions the data holds too (an import must miss the cache)
    return entry(config["DATA_DIR"] or None, _cache_dir(str(config["CACHE_DIR"])),
                 store_token=data_store_token(data))


def home_index(config, data):
    """Return the home plan's zone index for ``data``, from the cache when current."""
    from planmap.geo.index import ZoneIndex

    if cache_entry(config, data) is None:
        return ZoneIndex.from_plan_data(data)
    from planmap.layers.zonecommands import _cached, data_store_token
    from planmap.server.cli import _cache_dir

    args = SimpleNamespace(data_dir=config["DATA_DIR"] or None,
                           cache_dir=_cache_dir(str(config["CACHE_DIR"])))
    index, _ = _cached(args, "zoneindex", ZoneIndex.from_plan_data, data=data,
                       store_token=data_store_token(data))
    return index


def plan_index(config, data, plan_ids):
    """Return the other plans' zone index (``plan_ids``), from the cache when current.

    Keyed like the home index (the data files' contents, the store versions) under its own
    name and the plan ids; rebuilt whenever one of them changes.
    """
    from planmap.geo.index import ZoneIndex

    ids = sorted(plan_ids)

    def build(d):
        return ZoneIndex.from_plan_data(d, plan_ids=ids)

    if cache_entry(config, data) is None:
        return build(data)
    from planmap.layers.zonecommands import _cached, data_store_token
    from planmap.server.cli import _cache_dir

    args = SimpleNamespace(data_dir=config["DATA_DIR"] or None,
                           cache_dir=_cache_dir(str(config["CACHE_DIR"])))
    token = data_store_token(data) + " plans " + ",".join(ids)
    index, _ = _cached(args, "planindex", build, data=data, store_token=token)
    return index
