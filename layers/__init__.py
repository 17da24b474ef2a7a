"""The Baicheng plan as map layers: data files plus ``load()``.

``layers.load(data_dir=None, strict=True) -> PlanData`` reads ``catalog.json``,
``data/<id>.geojson``, ``clauses.json`` and ``plans/`` (see docs/ARCHITECTURE.md).
This package never imports Flask.
"""

from planmap.layers.loader import PACKAGE_DIR, PlanData, PlanText, copy_data_dir, load

__all__ = ["PACKAGE_DIR", "PlanData", "PlanText", "copy_data_dir", "load"]
