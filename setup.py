"""Packaging: the source folders are installed under the one namespace ``planmap``.

``geo/``, ``layers/``, ``server/``, ``static/`` become ``planmap.geo``, ``planmap.layers``,
``planmap.server``, ``planmap.static`` (everything else is in setup.cfg).  The packages are
found, not listed, so a new subpackage ships without an edit here.
"""

from setuptools import find_packages, setup

ROOTS = ("geo", "layers", "server", "static")

packages = ["planmap"] + [
    f"planmap.{name}"
    for name in find_packages(include=[*ROOTS, *(f"{r}.*" for r in ROOTS)])
]

setup(
    packages=packages,
    package_dir={"planmap": "planmap", **{f"planmap.{r}": r for r in ROOTS}},
)
