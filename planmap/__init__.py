"""planmap: the web map service for the spatial plans of Baicheng City (白城市), Jilin.

The one installed namespace.  The source folders stay at the top of the repository
(``geo/``, ``layers/``, ``server/``, ``static/``); ``setup.py`` maps them into
``planmap.geo``, ``planmap.layers``, ``planmap.server`` and ``planmap.static``, so a wheel
holds only ``planmap/`` and no generic top-level name such as ``server`` or ``geo``.
"""

from pathlib import Path as _Path

_here = _Path(__file__).resolve().parent
if not (_here / "geo").is_dir() and (_here.parent / "geo" / "__init__.py").is_file():
    # A source checkout (this folder beside geo/ layers/ server/ static/) on sys.path, e.g.
    # the repository root as the working directory: find the subpackages beside it, as the
    # installed wheel holds them inside it (and so the checkout shadows no installed copy).
    __path__.append(str(_here.parent))  # noqa: F821 (the package's own __path__)
del _Path, _here
