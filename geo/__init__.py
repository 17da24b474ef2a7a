"""planmap's pure geometry library: CRS, parsers, zone index and site check.

This package never imports Flask; ``server/`` adapts it to HTTP.
"""

from planmap.geo.errors import (  # noqa: F401
    CRSError,
    InvalidGeometry,
    InvalidInput,
    LayerError,
    LimitExceeded,
    NotFound,
    PlanmapError,
)
