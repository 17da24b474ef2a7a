"""The index's feature table: per-feature ids, layers, geometries and result entries."""

from __future__ import annotations

from geo.index.common import (
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

