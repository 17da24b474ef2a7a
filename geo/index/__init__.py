"""The zone index package: see :mod:`geo.index.core` (being split into modules)."""

from geo.index.core import *  # noqa: F403
from geo.index.core import _TAKE_CHUNK, _answer_tiers  # noqa: F401
