"""planmap: the web map service for the spatial plans of Baicheng City (白城市), Jilin.

The one installed namespace.  The source folders stay at the top of the repository
(``geo/``, ``layers/``, ``server/``, ``static/``); ``setup.py`` maps them into
``planmap.geo``, ``planmap.layers``, ``planmap.server`` and ``planmap.static``, so a wheel
holds only ``planmap/`` and no generic top-level name such as ``server`` or ``geo``.
"""
