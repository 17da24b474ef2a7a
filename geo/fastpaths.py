"""Speed tricks that rely on private internals of pyproj, pandas and shapely, in one place.

Each function here gives exactly what a public call gives, faster, by reaching into a
library's private internals; each falls back to the public call when those internals are
missing or changed (a library upgrade must cost speed, never an answer).  The private
object is looked up by one small ``_private_*`` function per trick, so a test can take it
away (monkeypatch it to return None) and compare the fallback's output bit for bit
(``tests/geo/test_fastpaths.py``).

``project_in_place``
    pyproj: ``Transformer._transformer._transform`` projects arrays in place; the public
    ``Transformer.transform`` first tries its one-point path and copies its inputs, which
    for the few vertices of a site costs twice the projection.
``take_objects``
    pandas: ``pandas._libs.algos.take_1d_object_object`` (the kernel behind
    ``pandas.api.extensions.take``) copies object references in a plain loop, ~30 % less CPU
    than ``numpy`` fancy indexing for millions of ids.
``tree_query_indices``
    shapely: the ``STRtree``'s compiled tree (``STRtree._tree``) queried with a one-element
    array skips the public ``STRtree.query``'s scalar wrapping.
"""

from __future__ import annotations

import numpy as np
import pyproj

_FORWARD = pyproj.enums.TransformDirection.FORWARD

TAKE_CHUNK = 1 << 16
"""Indices cast to intp per chunk of :func:`take_objects`: cache-sized, no copy of all."""


def _private_proj(transformer: pyproj.Transformer):
    """Return the per-thread PROJ object of ``transformer`` (with ``_transform``), or None."""
    raw = getattr(transformer, "_transformer", None)
    if raw is None or not hasattr(raw, "_transform"):  # pyproj changed
        return None
    return raw


def project_in_place(transformer: pyproj.Transformer, x: np.ndarray,
                     y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project coordinate arrays forward with ``transformer``, overwriting them.

    Parameters
    ----------
    transformer : pyproj.Transformer
        The transformation (e.g. WGS 84 → EPSG:4550, ``always_xy``).
    x, y : ndarray of float64
        Contiguous, owned arrays; overwritten with the projected coordinates.

    Returns
    -------
    (ndarray, ndarray)
        ``x`` and ``y`` themselves, holding what ``transformer.transform(x, y)`` gives.
    """
    raw = _private_proj(transformer)
    if raw is None:  # public call: same numbers
        x[:], y[:] = transformer.transform(x, y)
        return x, y
    raw._transform(inx=x, iny=y, inz=None, intime=None, direction=_FORWARD, radians=False,
                   errcheck=False)
    return x, y


_KERNEL: list = []


def _private_take_kernel():
    """Pandas' compiled object take, or None (imported once)."""
    if not _KERNEL:
        try:
            from pandas._libs.algos import take_1d_object_object as kernel
        except ImportError:  # pandas changed (geopandas requires pandas)
            kernel = None
        _KERNEL.append(kernel)
    return _KERNEL[0]


def take_objects(table: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Return ``table[idx]`` for an object array and valid non-negative integer indices.

    Parameters
    ----------
    table : ndarray of object
        The values (e.g. feature ids).
    idx : ndarray of int
        Valid, non-negative indices into ``table``.

    Returns
    -------
    ndarray of object
        Same values and dtype as ``table[idx]`` (numpy when the kernel is missing or
        changed, or for fewer than :data:`TAKE_CHUNK` indices).
    """
    kernel = _private_take_kernel()
    n = len(idx)
    if kernel is None or n < TAKE_CHUNK:
        return table[idx]
    out = np.empty(n, dtype=object)
    try:
        for s in range(0, n, TAKE_CHUNK):
            kernel(table, idx[s:s + TAKE_CHUNK].astype(np.intp), out[s:s + TAKE_CHUNK], None)
    except (TypeError, ValueError):  # pragma: no cover - pandas changed the kernel
        return table[idx]
    return out


def _private_tree(strtree):
    """Return the compiled tree inside a shapely ``STRtree``, or None."""
    return getattr(strtree, "_tree", None)


def tree_query_indices(strtree, geom) -> np.ndarray:
    """Return the indices of the tree's geometries whose bounding box meets ``geom``'s.

    Parameters
    ----------
    strtree : shapely.STRtree
        The tree.
    geom : shapely.Geometry
        One geometry.

    Returns
    -------
    ndarray of int
        What ``strtree.query(geom)`` returns.
    """
    tree = _private_tree(strtree)
    if tree is None:  # shapely changed its internals: the public (slower) call
        return strtree.query(geom)
    # The buffer is per call: a shared one let concurrent requests query each other's box.
    buf = np.empty(1, dtype=object)
    buf[0] = geom
    return tree.query(buf, 0)[1]
