"""The index's feature table: per-feature ids, layers, geometries and result entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from planmap.geo.index.common import (
    _scalar_text,
)


class _Entries(list):
    """Per feature, its result entry (a dict); a bulk layer's are made when first read.

    Indexed like a list (``entries[i]``) by :class:`ZoneIndex` and its users; a bulk
    layer is held as a block of columns instead of a million small dicts.
    """

    def __init__(self):
        super().__init__()
        self._blocks: list[tuple] = []  # (start, layer, ids, columns, geometry type names)

    def add_block(self, start, layer, ids, columns, types) -> None:
        self._blocks.append((start, layer, ids, columns, types))
        self.extend([None] * len(ids))

    def __getitem__(self, i):
        e = super().__getitem__(i)
        if e is None:
            for start, layer, ids, columns, types in self._blocks:
                if start <= i < start + len(ids):
                    k = i - start

                    def col(name, default=None, k=k, columns=columns):
                        c = columns.get(name)
                        return default if c is None else _scalar_text(c[k], default)

                    e = {"id": ids[k], "layer": layer, "name_zh": col("name_zh", ids[k]),
                         "name_en": col("name_en"), "accuracy": col("accuracy"),
                         "kind": col("kind"), "citation": col("citation"),
                         "geometry_type": types[k]}
                    break
        return e



@dataclass(frozen=True, eq=False)
class FeatureTable:
    """The index's features as parallel, read-only columns: the contract other modules read.

    Feature ``f`` (an *internal index*, as in :meth:`geo.index.ZoneIndex.covering`, a
    batch's ``zone_idx`` or :meth:`geo.index.ZoneIndex.feature_distance_map`'s keys) is
    row ``f`` of every column.  Lists and arrays are shared with the index, not copied:
    callers must not modify them, and copy an entry (``dict(entries[f])``) before
    changing or handing it out.

    Attributes
    ----------
    layer_ids : tuple of str
        Layer order of the index (results list layers in this order).
    ids, layers : ndarray of object (str)
        Feature id and layer id per feature (for vectorised takes).
    id_list, layer_list : list of str
        The same as lists (cheap per-item reads).
    layer_numbers : list of int
        Position of the feature's layer in ``layer_ids``.
    entries : sequence of dict
        Result entry per feature: ``id``, ``layer``, ``name_zh``, ``name_en``,
        ``accuracy``, ``kind``, ``citation``, ``geometry_type``.
    schematic : list of bool
        Whether the feature's accuracy is ``schematic``.
    is_zone : list of bool
        Whether the feature is polygonal (a zone).
    area_m2 : list of float
        Zone area in EPSG:4550 m² (0 for lines and points).
    geometry_m : ndarray of object
        EPSG:4550 geometry per feature; None for a bulk zone (projected on demand:
        use :meth:`geo.index.ZoneIndex.metric_geometry`).
    sort_key : list of int
        Result-order key per feature: sort features by it to list them as results do.
    area_wide : list of bool
        Whether the feature is an area-wide programme (:data:`geo.index.AREA_WIDE_SHARE`).
    area_units : list of tuple of int
        Per feature, the admin units (internal indices) it repeats; empty when not area-wide.
    geometry : ndarray of object
        WGS 84 geometry per feature (shared with the index; prepared, do not modify).
    """

    layer_ids: tuple
    ids: np.ndarray
    layers: np.ndarray
    id_list: list
    layer_list: list
    layer_numbers: list
    entries: Sequence
    schematic: list
    is_zone: list
    area_m2: list
    geometry_m: np.ndarray
    sort_key: list
    area_wide: list
    area_units: list
    geometry: np.ndarray

    def __len__(self) -> int:
        return len(self.id_list)
