"""The zone index: point-in-zone, nearest zones, overlaps and vectorised batch queries.

A package of one class, :class:`ZoneIndex`, whose structures live in one module each:

``core``       the class itself: building, result entries, ``query_point``, the public
               contract (:meth:`ZoneIndex.feature_table`, :meth:`ZoneIndex.group_nearest`);
``table``      :class:`FeatureTable`, the per-feature arrays other modules may read;
``grid``       the two-level cell grid: point-in-zone for one point and batches, service area;
``distance``   metric copies, boundary pieces, the near grid, ``nearest`` and rings;
``overlap``    pre-cut area pieces, overlap measures, the area-wide rule;
``bulk``       bulk layers (:data:`BULK_MIN_FEATURES`): their bounding-box grid and queries;
``common``     constants, validation and the lock shared by all of them.

The speed tricks that use private library internals are in :mod:`geo.fastpaths`.
Modules outside this package use only the public names re-exported here and the public
methods of :class:`ZoneIndex` (``tests/geo/test_index_contract.py`` checks it).
"""

from planmap.geo.fastpaths import TAKE_CHUNK as _TAKE_CHUNK  # noqa: F401
from planmap.geo.index.common import (
    ADMIN_LAYER,
    AREA_TILE_M,
    AREA_WIDE_SHARE,
    BULK_MIN_FEATURES,
    COUNTY_KINDS,
    DEFAULT_NEAREST_PER_LAYER,
    DEFAULT_RADIUS_M,
    MAX_RADIUS_M,
    ProjectedSite,
    check_radius,
    is_admin_layer,
)
from planmap.geo.index.core import ZoneIndex, _answer_tiers  # noqa: F401
from planmap.geo.index.grid import BatchResult
from planmap.geo.index.table import FeatureTable

__all__ = ["ADMIN_LAYER", "AREA_TILE_M", "AREA_WIDE_SHARE", "BULK_MIN_FEATURES", "COUNTY_KINDS",
           "DEFAULT_NEAREST_PER_LAYER", "DEFAULT_RADIUS_M", "MAX_RADIUS_M", "BatchResult",
           "FeatureTable",
           "ProjectedSite", "ZoneIndex", "check_radius", "is_admin_layer"]
