"""The cell grid: point-in-zone for one point and for batches, and the service area.

See :mod:`geo.index` for how the two-level grid works.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import shapely
from planmap.geo.errors import InvalidInput, LimitExceeded
from planmap.geo.fastpaths import take_objects as _take_objects
from planmap.geo.index import common as _common
from planmap.geo.index.common import (
    _EPS,
    _SUB,
)


def _add_zone(sigs: list, lookup: dict, old: np.ndarray, state: np.ndarray, z: int) -> np.ndarray:
    """Signature ids of cells with signatures ``old`` once zone ``z`` is added to them.

    Parameters
    ----------
    sigs : list of (tuple, tuple)
        Signatures (covering zones, crossing zones), both ascending; extended in place.
    lookup : dict
        Signature → id (its position in ``sigs``); extended in place.
    old : ndarray of int
        The cells' current signature ids.
    state : ndarray of int8
        Per cell: 1 if ``z`` covers it entirely, 2 if its boundary crosses it.
    z : int
        Feature index of the zone.

    Returns
    -------
    ndarray of int32
        The new signature ids.
    """
    # A lookup table indexed by old * 2 + crossed avoids sorting millions of cells.
    key = old.astype(np.int64) * 2 + (state == 2)
    present = np.zeros(2 * len(sigs), dtype=bool)
    present[key] = True
    remap = np.zeros(2 * len(sigs), dtype=np.int32)
    for k in np.flatnonzero(present).tolist():
        cov, bnd = sigs[k // 2]
        new = (cov, tuple(sorted(bnd + (z,)))) if k % 2 else (tuple(sorted(cov + (z,))), bnd)
        sid = lookup.get(new)
        if sid is None:
            sid = lookup[new] = len(sigs)
            sigs.append(new)
        remap[k] = sid
    return remap[key]


class _BoundaryGeoms(dict):
    """``{signature: geometries of its crossing zones}``, filled on first use of each key.

    What ``ZoneIndex._sig_bnd_geoms`` holds once built; an index read back from
    ``geo.indexcache`` gets this instead (the same arrays, made when first needed).
    """

    __slots__ = ("_sigs", "_fgeom")

    def __init__(self, sigs, fgeom):
        super().__init__()
        self._sigs, self._fgeom = sigs, fgeom

    def __missing__(self, sig):
        bnd = self._sigs[sig][1]
        if not bnd:
            raise KeyError(sig)
        found = self[sig] = self._fgeom[list(bnd)]
        return found


class BatchResult:
    """Pairs (point, zone) of a batch query, grouped by ascending point index.

    Unpacks as ``point_idx, zone_ids, layers = result``.

    Attributes
    ----------
    point_idx : ndarray of int32 (int64 for 2**31 points or more)
        Index of the point in the input arrays.
    zone_idx : ndarray of unsigned int
        Internal index of the zone (see :meth:`ZoneIndex.entry`): uint8 below 255
        features, else uint16 (int64 beyond); use it as an index only.
    zone_ids : ndarray of object (str)
        Feature id of the zone that covers the point (built on first access).
    layers : ndarray of object (str)
        Layer id of that zone (built on first access).
    """

    __slots__ = ("point_idx", "zone_idx", "_id_table", "_layer_table", "_ids", "_layers")

    def __init__(self, point_idx, zone_idx, id_table, layer_table):
        self.point_idx = point_idx
        self.zone_idx = zone_idx
        self._id_table, self._layer_table = id_table, layer_table
        self._ids = self._layers = None

    @property
    def zone_ids(self) -> np.ndarray:
        """Feature ids, one per pair."""
        if self._ids is None:
            self._ids = _take_objects(self._id_table, self.zone_idx)
        return self._ids

    @property
    def layers(self) -> np.ndarray:
        """Layer ids, one per pair."""
        if self._layers is None:
            self._layers = _take_objects(self._layer_table, self.zone_idx)
        return self._layers

    @property
    def id_table(self) -> np.ndarray:
        """Feature id of each ``zone_idx`` value (``zone_ids == id_table[zone_idx]``)."""
        return self._id_table

    @property
    def layer_table(self) -> np.ndarray:
        """Layer id of each ``zone_idx`` value."""
        return self._layer_table

    def __iter__(self):
        return iter((self.point_idx, self.zone_ids, self.layers))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i):
        return (self.point_idx, self.zone_ids, self.layers)[i]


_bitwise_count = getattr(np, "bitwise_count", None)  # numpy >= 2.0


class GridMixin:
    """Part of :class:`geo.index.ZoneIndex` (grid); holds no state of its own."""

    def _build_grid(self, service_area, grid_cells: int) -> None:
        """Build the cell grid, its sub-cells in boundary cells and the signature tables.

        Parameters
        ----------
        service_area : shapely.Geometry or None
            Baicheng City (WGS 84): included in the grid's extent, classified per cell.
        grid_cells : int
            Cells along the longer side of the grid.

        Notes
        -----
        Every cell gets a *signature*: the zones covering it entirely and the zones whose
        boundary crosses it (``self._sigs``, ids in ``self._cell_sig``).  Each cell that some
        zone boundary crosses (a *block*) is cut into ``_SUB × _SUB`` sub-cells, classified
        the same way (``self._sub_sig``); only points in sub-cells that a boundary crosses
        need exact tests.  Signatures are tabulated for the batch query: ``_sig_table``
        (zones per signature, feature order, padded with ``_sig_pad``), ``_sig_bnd_col``
        (which of them need an exact test), ``_sig_count``, ``_sig_has_bnd``.
        """
        geoms = list(self._fgeom[self._grid_zones])
        if service_area is not None and not shapely.is_empty(service_area):
            shapely.prepare(service_area)
            geoms.append(service_area)
        if geoms:
            b = shapely.bounds(np.array(geoms, dtype=object))
            minx, miny = b[:, 0].min(), b[:, 1].min()
            maxx, maxy = b[:, 2].max(), b[:, 3].max()
        else:
            minx = miny = 0.0
            maxx = maxy = 1.0
        # Roughly square cells in metres; pad one cell so every zone is strictly inside.
        coslat = max(math.cos(math.radians((miny + maxy) / 2)), 0.1)
        span = max((maxx - minx) * coslat, maxy - miny, 1e-9)
        dy = span / grid_cells
        dx = dy / coslat
        self._x0, self._y0 = minx - dx, miny - dy
        self._dx, self._dy = dx, dy
        self._nx = int(math.ceil((maxx - minx) / dx)) + 3
        self._ny = int(math.ceil((maxy - miny) / dy)) + 3
        self._inv_dx, self._inv_dy = 1.0 / dx, 1.0 / dy

        cell_sig = np.zeros(self._ny * self._nx, dtype=np.int32)
        grid = cell_sig.reshape(self._ny, self._nx)
        sigs: list[tuple[tuple, tuple]] = [((), ())]
        lookup: dict[tuple[tuple, tuple], int] = {((), ()): 0}
        crossed: dict[int, np.ndarray] = {}  # zone → ascending ids of its boundary cells
        for z in self._grid_zones.tolist():
            (iy0, iy1, ix0, ix1), state = self._classify(self._fgeom[z])
            view = grid[iy0:iy1, ix0:ix1]
            touched = state > 0
            view[touched] = _add_zone(sigs, lookup, view[touched], state[touched], z)
            r, c = np.divmod(np.flatnonzero(state == 2), ix1 - ix0)
            crossed[z] = (r + iy0) * self._nx + (c + ix0)
        self._cell_sig = cell_sig.astype(np.int16) if len(sigs) < 2**15 else cell_sig

        # Blocks: the cells some boundary crosses, cut into sub-cells.  A sub-cell starts
        # with its cell's covering zones; each zone crossing the cell then adds itself as
        # covering or crossing the sub-cell, or not at all.
        n_cell_sigs = len(sigs)
        is_block = np.array([len(bnd) > 0 for _, bnd in sigs], dtype=bool)
        blocks = np.flatnonzero(is_block[cell_sig])
        base = np.zeros(n_cell_sigs, dtype=np.int32)
        for s in np.flatnonzero(is_block).tolist():
            key = (sigs[s][0], ())
            if key not in lookup:
                lookup[key] = len(sigs)
                sigs.append(key)
            base[s] = lookup[key]
        sub = np.repeat(base[cell_sig[blocks]][:, None], _SUB * _SUB, axis=1)
        by_shape: dict[bytes, np.ndarray] = {}  # zones with identical geometry: one pass
        for z in self._grid_zones.tolist():
            cells = crossed.pop(z)
            if len(cells) == 0:
                continue
            key = shapely.to_wkb(self._fgeom[z])
            state = by_shape.get(key)
            if state is None:
                state = by_shape[key] = self._classify_sub(self._fgeom[z], cells)
            rows = np.searchsorted(blocks, cells)
            view = sub[rows]
            touched = state > 0
            view[touched] = _add_zone(sigs, lookup, view[touched], state[touched], z)
            sub[rows] = view
        del by_shape
        self._blocks = blocks
        # Rank structure: a cell's block number = blocks in earlier 64-cell words + the
        # popcount of its word below it (no binary search in the batch query).
        words = np.zeros((len(cell_sig) + 63) // 64 + 1, dtype=np.uint64)
        np.bitwise_or.at(words, blocks >> 6,
                         np.left_shift(np.uint64(1), (blocks & 63).astype(np.uint64)))
        self._block_words = words
        self._block_rank = np.zeros(len(words), dtype=np.int64)
        np.cumsum(np.bincount(blocks >> 6, minlength=len(words))[:-1],
                  out=self._block_rank[1:])
        self._sub_sig = sub.ravel().astype(np.int16 if len(sigs) < 2**15 else np.int32)
        self._sig_is_block = np.zeros(len(sigs), dtype=bool)
        self._sig_is_block[:n_cell_sigs] = is_block
        self._sigs = sigs
        self._sig_cov_bits = [sum(1 << z for z in cov) for cov, _ in sigs]
        # Integral images (summed-area tables, one row and column of zeros in front) of
        # the cells whose signature differs from the cell to their left (h) or below (v):
        # a block without such a cell inside holds one signature.
        h = np.zeros((self._ny + 1, self._nx + 1), dtype=np.int32)
        v = np.zeros((self._ny + 1, self._nx + 1), dtype=np.int32)
        h[1:, 2:] = np.cumsum(np.cumsum(grid[:, 1:] != grid[:, :-1], axis=0), axis=1)
        v[2:, 1:] = np.cumsum(np.cumsum(grid[1:, :] != grid[:-1, :], axis=0), axis=1)
        self._sig_change_h, self._sig_change_v = h, v
        self._sig_any_bits = [sum(1 << z for z in cov + bnd) for cov, bnd in sigs]

        # Per signature, its zones in feature (= layer) order as feature indices, padded
        # with _sig_pad (the smallest unsigned type that holds them: uint8 for < 255
        # features); _sig_bnd_col marks the zones whose boundary crosses the (sub-)cell.
        width = max(1, max(len(c) + len(b) for c, b in sigs))
        nf = len(self._fid)
        dtype = np.uint8 if nf < 255 else np.uint16 if nf < 65535 else np.int64
        pad = np.iinfo(dtype).max
        rows = [sorted(cov + bnd) for cov, bnd in sigs]
        count = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
        at = np.repeat(np.arange(len(rows)), count)
        col = np.arange(len(at)) - np.repeat(np.cumsum(count) - count, count)
        zones = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64,
                            count=len(at))
        table = np.full((len(sigs), width), pad, dtype=dtype)
        table[at, col] = zones
        nb = np.fromiter((len(bnd) for _, bnd in sigs), dtype=np.intp, count=len(sigs))
        crossing = np.fromiter(itertools.chain.from_iterable(bnd for _, bnd in sigs),
                               dtype=np.int64, count=int(nb.sum()))
        bnd_col = np.zeros((len(sigs), width), dtype=bool)
        bnd_col[at, col] = np.isin(at * (nf + 1) + zones,
                                   np.repeat(np.arange(len(sigs)), nb) * (nf + 1) + crossing)
        self._sig_table, self._sig_pad = table, pad
        self._sig_bnd_col = bnd_col
        self._sig_count = count
        self._sig_has_bnd = bnd_col.any(axis=1)
        # Per signature with crossing zones: their (prepared) geometries, for one
        # vectorised test in ``covering``.
        self._sig_bnd_geoms = {k: self._fgeom[list(bnd)] for k, (_, bnd) in enumerate(sigs)
                               if bnd}

        self._sa_state = None
        if service_area is not None and not shapely.is_empty(service_area):
            (iy0, iy1, ix0, ix1), state = self._classify(service_area)
            sa = np.zeros((self._ny, self._nx), dtype=np.int8)
            sa[iy0:iy1, ix0:ix1] = state
            self._sa_state = sa.ravel()

    def _classify(self, geom):
        """Cells of ``geom``'s bbox: 0 outside, 1 covered entirely, 2 crossed by the boundary."""
        minx, miny, maxx, maxy = geom.bounds
        ix0 = max(int(math.floor((minx - self._x0) * self._inv_dx - _EPS)), 0)
        iy0 = max(int(math.floor((miny - self._y0) * self._inv_dy - _EPS)), 0)
        ix1 = min(int(math.floor((maxx - self._x0) * self._inv_dx + _EPS)) + 1, self._nx)
        iy1 = min(int(math.floor((maxy - self._y0) * self._inv_dy + _EPS)) + 1, self._ny)
        w, h = ix1 - ix0, iy1 - iy0
        state = np.zeros((h, w), dtype=np.int8)

        # Boundary cells: cut edges to ≤ half a cell, then mark every cell that each piece's
        # bbox (widened by _EPS) touches — a superset of the cells the boundary crosses.
        step = 0.5 * min(self._dx, self._dy)
        rings = shapely.get_parts(shapely.get_parts(shapely.boundary(geom)))
        rings = shapely.segmentize(rings, step)
        coords, part = shapely.get_coordinates(rings, return_index=True)
        same = part[1:] == part[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        lo_x = np.floor((np.minimum(a[:, 0], b[:, 0]) - self._x0) * self._inv_dx - _EPS)
        hi_x = np.floor((np.maximum(a[:, 0], b[:, 0]) - self._x0) * self._inv_dx + _EPS)
        lo_y = np.floor((np.minimum(a[:, 1], b[:, 1]) - self._y0) * self._inv_dy - _EPS)
        hi_y = np.floor((np.maximum(a[:, 1], b[:, 1]) - self._y0) * self._inv_dy + _EPS)
        lo_x, hi_x = lo_x.astype(np.int64) - ix0, hi_x.astype(np.int64) - ix0
        lo_y, hi_y = lo_y.astype(np.int64) - iy0, hi_y.astype(np.int64) - iy0
        for ox in range(3):
            for oy in range(3):
                m = (lo_x + ox <= hi_x) & (lo_y + oy <= hi_y)
                cx = np.clip(lo_x[m] + ox, 0, w - 1)
                cy = np.clip(lo_y[m] + oy, 0, h - 1)
                state[cy, cx] = 2

        # Other cells are wholly in or wholly out; along a row, a run of them between
        # boundary cells shares one answer, so one centre per run is tested.
        free = state != 2
        prev = np.zeros_like(free)
        prev[:, 1:] = free[:, :-1]
        start = (free & ~prev).ravel()
        starts = np.flatnonzero(start)
        if len(starts):
            run = np.cumsum(start) - 1
            r, c = np.divmod(starts, w)
            cx = self._x0 + (ix0 + c + 0.5) * self._dx
            cy = self._y0 + (iy0 + r + 0.5) * self._dy
            inside = shapely.contains_xy(geom, cx, cy)
            flat = state.ravel()
            freef = free.ravel()
            flat[freef & inside[np.maximum(run, 0)]] = 1
        return (iy0, iy1, ix0, ix1), state

    def _classify_sub(self, geom, cells: np.ndarray) -> np.ndarray:
        """Sub-cells of the cells ``cells``: 0 outside, 1 covered entirely, 2 crossed.

        Parameters
        ----------
        geom : shapely.Geometry
            A zone (WGS 84).
        cells : ndarray of int
            Ascending ids of the grid cells that its boundary crosses.

        Returns
        -------
        ndarray of int8, shape (len(cells), _SUB**2)
            Column ``sy * _SUB + sx`` is the sub-cell ``sx`` (x) / ``sy`` (y) of the cell;
            a point's sub-cell is ``floor(fx * _SUB) % _SUB`` with ``fx`` its cell
            coordinate — the arithmetic of the queries (``_SUB`` is a power of two, so
            the product is exact).

        Notes
        -----
        Crossed sub-cells are marked like ``_classify`` marks cells (edges cut to ≤ ½
        sub-cell, every sub-cell that each piece's bbox widened by ``_EPS`` touches).  The
        other sub-cells of a cell form regions that no boundary point meets, so each
        4-connected region lies wholly inside or wholly outside: one centre per region is
        tested.  Regions are grown on 64-bit masks (one per cell), all cells at once.
        """
        k, shift = _SUB, _SUB.bit_length() - 1
        m = len(cells)
        crossed = np.zeros(m * k * k, dtype=bool)
        step = 0.5 * min(self._dx, self._dy) / k
        rings = shapely.get_parts(shapely.get_parts(shapely.boundary(geom)))
        rings = shapely.segmentize(rings, step)
        coords, part = shapely.get_coordinates(rings, return_index=True)
        same = part[1:] == part[:-1]
        u = (coords[:, 0] - self._x0) * self._inv_dx * k  # sub-cell units, query arithmetic
        v = (coords[:, 1] - self._y0) * self._inv_dy * k
        ua, ub, va, vb = u[:-1][same], u[1:][same], v[:-1][same], v[1:][same]
        # A piece spans ≤ ½ sub-cell per axis: its widened bbox meets at most 2 × 2.
        lo_x = np.floor(np.minimum(ua, ub) - _EPS).astype(np.int64)
        hi_x = np.floor(np.maximum(ua, ub) + _EPS).astype(np.int64)
        lo_y = np.floor(np.minimum(va, vb) - _EPS).astype(np.int64)
        hi_y = np.floor(np.maximum(va, vb) + _EPS).astype(np.int64)
        # Row of each crossed cell, looked up in a dense map over their bounding box.
        cy, cx = np.divmod(cells, self._nx)
        bx, by = int(cx.min()), int(cy.min())
        bw, bh = int(cx.max()) - bx + 1, int(cy.max()) - by + 1
        row_of = np.full(bh * bw, -1, dtype=np.intp)
        row_of[(cy - by) * bw + (cx - bx)] = np.arange(m)
        for sx in (lo_x, hi_x):
            for sy in (lo_y, hi_y):
                gx, gy = (sx >> shift) - bx, (sy >> shift) - by
                pos = row_of[np.clip(gy, 0, bh - 1) * bw + np.clip(gx, 0, bw - 1)]
                # a hair outside the crossed cells: those cells are settled already
                hit = (pos >= 0) & (gx >= 0) & (gx < bw) & (gy >= 0) & (gy < bh)
                crossed[(pos[hit] << (2 * shift)) + ((sy[hit] & (k - 1)) << shift)
                        + (sx[hit] & (k - 1))] = True
        crossed = crossed.reshape(m, k * k)

        state = np.where(crossed, 2, 0).astype(np.int8)
        packed = np.zeros((m, 8), dtype=np.uint8)
        packed[:, : (k * k + 7) // 8] = np.packbits(~crossed, axis=1, bitorder="little")
        rest = packed.view("<u8").ravel().copy()  # bit sy * k + sx = free sub-cell
        col = np.arange(k * k) % k
        not_first = np.uint64(sum(1 << i for i in range(k * k) if col[i] != 0))
        not_last = np.uint64(sum(1 << i for i in range(k * k) if col[i] != k - 1))
        sdx, sdy = self._dx / k, self._dy / k
        while True:
            act = np.flatnonzero(rest)
            if len(act) == 0:
                break
            free = rest[act]
            region = free & (~free + np.uint64(1))  # lowest free bit: the seed
            seed = region.copy()
            while True:  # grow each seed over 4-neighbours within its cell's free bits
                grown = (region | ((region << np.uint64(1)) & not_first)
                         | ((region >> np.uint64(1)) & not_last)
                         | (region << np.uint64(k)) | (region >> np.uint64(k))) & free
                if np.array_equal(grown, region):
                    break
                region = grown
            bit = np.frexp(seed.astype(np.float64))[1] - 1
            px = self._x0 + (cx[act] * k + bit % k + 0.5) * sdx
            py = self._y0 + (cy[act] * k + bit // k + 0.5) * sdy
            inside = shapely.contains_xy(geom, px, py)
            if inside.any():
                rows = act[inside]
                mask = np.unpackbits(region[inside].astype("<u8").view(np.uint8).reshape(-1, 8),
                                     axis=1, bitorder="little")[:, : k * k].astype(bool)
                sub = state[rows]
                sub[mask] = 1
                state[rows] = sub
            rest[act] = free & ~region
        return state

    def _cell(self, lon: float, lat: float) -> int:
        fx = (lon - self._x0) * self._inv_dx
        fy = (lat - self._y0) * self._inv_dy
        if 0.0 <= fx < self._nx and 0.0 <= fy < self._ny:
            return int(fy) * self._nx + int(fx)
        return -1

    def _grid_covering(self, lon: float, lat: float) -> list[int]:
        """:meth:`covering` over the grid zones (all but the bulk zones)."""
        fx = (lon - self._x0) * self._inv_dx  # the batch query's arithmetic, as floats
        fy = (lat - self._y0) * self._inv_dy
        if not (0.0 <= fx < self._nx and 0.0 <= fy < self._ny):
            return []
        cell = int(fy) * self._nx + int(fx)
        cov, bnd = self._sigs[self._cell_sig[cell]]
        if not bnd:
            return list(cov)
        # A boundary cell: its sub-cell settles the point unless a boundary crosses that too.
        w = cell >> 6
        block = int(self._block_rank[w]) + (
            int(self._block_words[w]) & ((1 << (cell & 63)) - 1)).bit_count()
        k = _SUB
        sig = int(self._sub_sig[block * k * k + (int(fy * k) & (k - 1)) * k
                                + (int(fx * k) & (k - 1))])
        cov, bnd = self._sigs[sig]
        if not bnd:
            return list(cov)
        # One vectorised test for all the sub-cell's crossing zones (already prepared: the
        # ufunc itself, without the wrapper's per-call checks).
        with _common._PREPARED_LOCK:
            hit = shapely.lib.intersects_xy(self._sig_bnd_geoms[sig], lon, lat).tolist()
        hits = tuple(z for z, h in zip(bnd, hit, strict=True) if h)
        return sorted(cov + hits) if hits else list(cov)

    def intersects_service_area(self, geom, vertex=None) -> bool:
        """Whether a WGS 84 geometry meets Baicheng City (boundary included).

        Parameters
        ----------
        geom : shapely.Geometry
            WGS 84 geometry.
        vertex : (float, float), optional
            Any vertex of ``geom`` (its first is read otherwise).

        Returns
        -------
        bool
        """
        if self.service_area is None:
            return False
        x, y = shapely.get_coordinates(geom)[0].tolist() if vertex is None else vertex
        if self._sa_state is not None:
            cell = self._cell(x, y)
            if cell >= 0 and self._sa_state[cell] == 1:  # a vertex deep inside: done
                return True
        with _common._PREPARED_LOCK:
            return bool(shapely.intersects(self.service_area, geom))

    def in_service_area(self, lon: float, lat: float) -> bool:
        """Whether (lon, lat) lies in Baicheng City (boundary counts as inside).

        Parameters
        ----------
        lon, lat : float
            WGS 84 degrees.

        Returns
        -------
        bool
        """
        if self._sa_state is None:
            return False
        cell = self._cell(lon, lat)
        if cell < 0:
            return False
        state = self._sa_state[cell]
        if state == 2:
            with _common._PREPARED_LOCK:
                return bool(shapely.intersects_xy(self.service_area, lon, lat))
        return bool(state == 1)

    def batch_indices(self, lon, lat, max_pairs: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised point-in-zone returning internal zone indices.

        Parameters
        ----------
        lon, lat : array_like of float
            WGS 84 degrees; NaN or far-away points simply match nothing.
        max_pairs : int, optional
            Refuse (``LimitExceeded`` ``too_many_pairs``, param ``MAX_PAIRS``) when the
            answer would hold more pairs, counted per point before any pair is built.

        Returns
        -------
        (ndarray, ndarray)
            ``point_idx`` (ascending; int32 when fewer than 2**31 points, else int64) and
            feature index pairs; a point's zones follow layer order.  Feature indices come
            as the smallest unsigned type that holds them (uint8 below 255 features, else
            uint16, else int64): use them as indices only.
        """
        lon = np.ascontiguousarray(lon, dtype=np.float64).ravel()
        lat = np.ascontiguousarray(lat, dtype=np.float64).ravel()
        if lon.shape != lat.shape:
            raise InvalidInput(code="shape_mismatch", param="points",
                               message_en="lon and lat arrays differ in length",
                               message_zh="经度与纬度数组长度不一致")
        n = len(lon)
        fx = lon - self._x0
        fx *= self._inv_dx
        fy = lat - self._y0
        fy *= self._inv_dy
        ok = (fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny)  # NaN → False
        off = None if ok.all() else ~ok
        if off is not None:
            fx[off] = fy[off] = 0.0
        cell = fy.astype(np.intp)
        cell *= self._nx
        cell += fx.astype(np.intp)
        sig = self._cell_sig[cell]
        if off is not None:
            sig[off] = 0

        # Points in boundary cells: the signature of their sub-cell instead.
        exact = ()
        b = np.flatnonzero(self._sig_is_block[sig])
        if len(b):
            k = _SUB
            sub = self._block_numbers(cell[b])
            sub *= k * k
            sub += ((fy[b] * k).astype(np.intp) & (k - 1)) * k
            sub += (fx[b] * k).astype(np.intp) & (k - 1)
            fine = self._sub_sig[sub]
            if sig.dtype != fine.dtype:
                sig = sig.astype(fine.dtype)
            sig[b] = fine
            exact = b[self._sig_has_bnd[fine]]

        # One row per point of its signature's zones (feature order, padded): row-major
        # order groups the pairs by point.  Rows are cut to the batch's largest count.
        count = self._sig_count[sig]
        width = int(count.max()) if n else 0
        table = np.take(self._sig_table[:, :width], sig, axis=0)
        if len(exact):
            self._exact_tests(lon, lat, exact, sig[exact], table, count)
        bulk = None if self._bulk_grid is None else self._bulk_batch(lon, lat)
        if max_pairs is not None:
            pairs = int(count.sum(dtype=np.int64)) + (0 if bulk is None else len(bulk[0]))
            if pairs > max_pairs:
                raise LimitExceeded(
                    "too_many_pairs",
                    f"the answer would hold {pairs:,} (point, zone) pairs; at most "
                    f"{max_pairs:,} (MAX_PAIRS): send fewer points per request",
                    f"结果将包含 {pairs:,} 个（点，分区）对，超过上限 {max_pairs:,}"
                    f"（MAX_PAIRS）；请分批提交点位", param="MAX_PAIRS")
        zone = table[table != self._sig_pad]
        point = np.repeat(np.arange(n, dtype=np.int32 if n < 2**31 else np.int64), count)
        if bulk is not None and len(bulk[0]):
            # Merge: pairs by point, a point's zones in feature (= layer) order.
            point = np.concatenate([point, bulk[0].astype(point.dtype)])
            zone = np.concatenate([zone, bulk[1].astype(zone.dtype)])
            order = np.lexsort((zone, point))
            point, zone = point[order], zone[order]
        return point, zone

    def _block_numbers(self, cells: np.ndarray) -> np.ndarray:
        """Block numbers (positions in ``_blocks``) of boundary cells, as intp."""
        if _bitwise_count is None:  # numpy < 2.0
            return np.searchsorted(self._blocks, cells)
        w = cells >> 6
        below = (np.uint64(1) << (cells & 63).astype(np.uint64)) - np.uint64(1)
        return self._block_rank[w] + _bitwise_count(self._block_words[w] & below)

    def _exact_tests(self, lon, lat, pts, sigs, table, count) -> None:
        """Drop from ``table``/``count`` the crossing zones that do not cover their point.

        ``pts`` are the points whose sub-cell some zone boundary crosses and ``sigs`` their
        signatures; one prepared ``intersects_xy`` call per zone.
        """
        rows = table[pts]
        r, c = np.nonzero(self._sig_bnd_col[sigs, : table.shape[1]])
        cz = rows[r, c].astype(np.intp)
        order = np.argsort(cz, kind="stable")
        r, c, cz = r[order], c[order], cz[order]
        p = pts[r]
        cuts = [0, *(np.flatnonzero(cz[1:] != cz[:-1]) + 1).tolist(), len(cz)]
        keep = np.empty(len(cz), dtype=bool)
        with _common._PREPARED_LOCK:
            for s, e in zip(cuts[:-1], cuts[1:], strict=True):
                keep[s:e] = shapely.intersects_xy(self._fgeom[cz[s]], lon[p[s:e]], lat[p[s:e]])
        if keep.all():
            return
        miss = ~keep
        rows[r[miss], c[miss]] = self._sig_pad
        table[pts] = rows
        count[pts] -= np.bincount(r[miss], minlength=len(pts))

    def batch(self, lon, lat, ids=None) -> BatchResult:
        """Vectorised point-in-zone for many points (boundary counts as inside).

        Parameters
        ----------
        lon, lat : array_like of float
            WGS 84 degrees.
        ids : array_like, optional
            Accepted for symmetry with the CLI; pair ``ids[point_idx]`` to name points.

        Returns
        -------
        BatchResult
            ``(point_idx, zone_ids, layers)``; a point covered by k zones appears k times,
            a point in no zone not at all.  Agrees with ``geopandas.sjoin(points, zones,
            predicate="intersects")``.
        """
        p, z = self.batch_indices(lon, lat)
        return BatchResult(p, z, self._fid, self._flayer)

    def in_service_area_batch(self, lon, lat) -> np.ndarray:
        """Vectorised :meth:`in_service_area` (bool array)."""
        lon = np.asarray(lon, dtype=np.float64).ravel()
        lat = np.asarray(lat, dtype=np.float64).ravel()
        out = np.zeros(len(lon), dtype=bool)
        if self._sa_state is None:
            return out
        fx = (lon - self._x0) * self._inv_dx
        fy = (lat - self._y0) * self._inv_dy
        ok = np.flatnonzero((fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny))
        st = self._sa_state[fy[ok].astype(np.int64) * self._nx + fx[ok].astype(np.int64)]
        out[ok[st == 1]] = True
        b = ok[st == 2]
        with _common._PREPARED_LOCK:
            out[b] = shapely.intersects_xy(self.service_area, lon[b], lat[b])
        return out

    def grid_stats(self) -> dict:
        """Grid size and how many cells need exact tests (for benchmarks and docs).

        ``boundary_cells`` are the cells a zone boundary crosses, each cut into
        ``sub_cells``² sub-cells; ``boundary_sub_cells`` of those are crossed too (only
        points there get exact tests).
        """
        return {"nx": self._nx, "ny": self._ny, "cell_deg": (self._dx, self._dy),
                "boundary_cells": len(self._blocks), "sub_cells": _SUB,
                "boundary_sub_cells": int(self._sig_has_bnd[self._sub_sig].sum()),
                "signatures": len(self._sigs)}
