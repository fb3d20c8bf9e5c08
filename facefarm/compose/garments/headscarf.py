"""Headscarves: a hijab that wraps the head, ears and neck round an open face, and a tied kerchief.

A scarf is stiff enough to bridge the ears, the nape and the hollow under the chin, so it is
not an offset of the skin (the torso garments are) but a taut wrap: a height field over a
grid that is spherical round the skull above the ear tops and cylindrical round a vertical
axis below them (the axis slides from the head's to the neck's). Each grid cell takes the
farthest skin point (and the farthest point of the clothes underneath) along its ray, the
grid is relaxed like cloth that can only rest on, never sink into, that envelope, then cut:

* ``headscarf`` (hijab): everything but the face oval, i.e. the dilated hull of the 68 face
  landmarks plus the forehead below the hairline, down past the clothing's neckline where
  it flares over the shoulders. It covers the ears except their very front (the jaw
  contour's first and last landmarks sit at the tragus), and passes under the chin.
* ``kerchief``: the hair only, from the hairline over the ear tops to the nape, knotted
  there with two short tails.

Frames and units: head frame of ``HeadModel.shape`` (metres, +y up, +z out of the face,
+x the subject's left), like :mod:`facefarm.compose.garments.clothing`.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from facefarm.compose.garments.body import boundary_loop
from facefarm.compose.garments.shell import (
    clip_surface,
    garment_mesh,
    hang,
    headwear_material,
    hem,
    merged_arrays,
    push_out,
    resample_polyline,
    ring_points,
    smooth_polyline,
)
from facefarm.geometry import vectors
from facefarm.geometry.surface import SurfaceDistance, sweep
from facefarm.scene.model import Mesh

#: Grid spacing along the head (m x s) and columns round it.
_ROW_M = 0.004
_COLUMNS = 96
#: Clothing pieces the wrap does not rest on (they hang free below it).
_DANGLING = ("_string", "_end", "_zip", "_buttons")
#: Relaxation steps of the taut wrap.
_RELAX = 40


def hijab_field(body) -> Callable[[np.ndarray], np.ndarray]:
    """g(p) <= 0 under the hijab: outside the face oval, grown by a margin. The oval is unrolled
    round the head axis: the jaw contour (landmarks 0-16, tragus to tragus by the chin), up
    just above each tragus, then along the brows raised to below the hairline, so the
    temples and sideburns are covered."""
    s = body.s
    radius = 0.09 * s
    lm = body.landmarks[:68]
    brows = lm[26:16:-1].copy()  # left brow's outer end -> right brow's outer end
    lift = 0.024 * s - 0.012 * s * np.abs(np.linspace(-1.0, 1.0, len(brows))) ** 4
    brows[:, 1] += lift  # the hairline curve, lower at the brow tails
    poly = _unroll(
        body,
        np.concatenate([lm[:17], lm[16:17] + [0.0, 0.012 * s, 0.0], brows, lm[0:1] + [0.0, 0.012 * s, 0.0]]),
        radius,
    )
    margin = 0.007 * s

    def g(p: np.ndarray) -> np.ndarray:
        return margin - _signed_distance(_unroll(body, p, radius), poly)

    return g


def _signed_distance(q: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(n,) distance of 2-D points ``q`` to the closed polygon ``poly`` (k, 2), negative inside."""
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    t = np.clip(vectors.dot(q[:, None] - a[None], ab[None]) / np.maximum(vectors.dot(ab, ab), 1e-18), 0.0, 1.0)
    d = vectors.length(q[:, None] - (a[None] + t[..., None] * ab[None])).min(axis=1)
    # even-odd crossings of a ray towards +u
    ya, yb = a[None, :, 1], b[None, :, 1]
    y = q[:, 1:2]
    cross = (ya > y) != (yb > y)
    u_at = a[None, :, 0] + (y - ya) / np.where(yb != ya, yb - ya, 1.0) * ab[None, :, 0]
    inside = (cross & (q[:, :1] < u_at)).sum(axis=1) % 2 == 1
    return np.where(inside, -d, d)


def kerchief_field(body) -> Callable[[np.ndarray], np.ndarray]:
    """g(p) <= 0 under a kerchief: above a line from the hairline over the ear tops to the nape."""
    s = body.s
    y_front, y_side, y_back = body.brow_y + 0.03 * s, body.ear_top_y - 0.01 * s, body.nape_y + 0.004 * s

    def g(p: np.ndarray) -> np.ndarray:
        c = np.cos(body.head_azimuth(p))
        fw = np.clip(c, 0.0, 1.0) ** 0.5
        bw = np.clip(-c, 0.0, 1.0) ** 1.2
        return (y_side + (y_front - y_side) * fw + (y_back - y_side) * bw) - p[:, 1]

    return g


def _unroll(body, p: np.ndarray, radius: float) -> np.ndarray:
    """(n, 2) arc length round the head axis (``radius`` m) and height of points ``p``."""
    return np.column_stack([radius * body.head_azimuth(p), p[:, 1]])


# ---------------------------------------------------------------------------------- the wrap
class _Wrap:
    """The spherical-over-cylindrical grid round one head: (row s, column theta, radius) <-> point."""

    def __init__(self, body, y_bottom: float):
        s = body.s
        self.body = body
        self.y0 = body.ear_top_y
        self.r0 = max(body.head_top_y - self.y0, 0.05 * s)  # arc scale of the crown
        self.y_axis = (body.nape_y - body.neck_r, self.y0)
        self.z_axis = (body.neck_z, body.head_z)
        top = self.r0 * np.pi / 2
        n_rows = int(np.ceil((top - (y_bottom - self.y0)) / (_ROW_M * s))) + 1
        self.rows = np.linspace(y_bottom - self.y0, top, n_rows)  # (R,) s: < 0 below y0
        self.cols = np.linspace(-np.pi, np.pi, _COLUMNS, endpoint=False)

    def axis_z(self, y: np.ndarray) -> np.ndarray:
        return np.interp(y, self.y_axis, self.z_axis)

    def coords(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row coordinate s, azimuth, radius) of points (n, 3)."""
        up = p[:, 1] >= self.y0
        zc = np.where(up, self.z_axis[1], self.axis_z(p[:, 1]))
        dx, dz, dy = p[:, 0], p[:, 2] - zc, p[:, 1] - self.y0
        h = np.hypot(dx, dz)
        theta = np.arctan2(dx, dz)
        srow = np.where(up, self.r0 * np.arctan2(dy, h), dy)
        r = np.where(up, np.hypot(h, dy), h)
        return srow, theta, r

    def points(self, r: np.ndarray) -> np.ndarray:
        """(R, C, 3) grid points at radii ``r`` (R, C)."""
        srow = self.rows[:, None]
        th = self.cols[None, :]
        up = srow >= 0
        a = np.clip(srow / self.r0, 0.0, np.pi / 2)
        horiz = np.where(up, r * np.cos(a), r)
        y = np.where(up, self.y0 + r * np.sin(a), self.y0 + srow)
        zc = np.where(up, self.z_axis[1], self.axis_z(y))
        return np.stack([horiz * np.sin(th), y, zc + horiz * np.cos(th)], axis=-1)

    def envelope(self, samples: np.ndarray) -> np.ndarray:
        """(R, C) farthest radius of ``samples`` per grid cell, NaN where none falls."""
        srow, theta, r = self.coords(samples)
        i = np.clip(np.searchsorted(self.rows, srow), 0, len(self.rows) - 1)
        ok = (srow >= self.rows[0] - 1e-9) & (srow <= self.rows[-1] + 1e-9)
        j = np.round((theta + np.pi) / (2 * np.pi) * _COLUMNS).astype(int) % _COLUMNS
        env = np.full((len(self.rows), _COLUMNS), -np.inf)
        np.maximum.at(env, (i[ok], j[ok]), r[ok])
        return np.where(np.isfinite(env), env, np.nan)

    def faces(self) -> np.ndarray:
        """(F, 3) quads of the grid split in two, plus a fan over the crown pole (last vertex)."""
        n_r, n_c = len(self.rows), _COLUMNS
        i, j = np.meshgrid(np.arange(n_r - 1), np.arange(n_c), indexing="ij")
        a = i * n_c + j
        b = i * n_c + (j + 1) % n_c
        c, d = a + n_c, b + n_c
        quads = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
        top = (n_r - 1) * n_c + np.arange(n_c)
        pole = np.full(n_c, n_r * n_c)
        return np.concatenate([quads, np.stack([top, np.roll(top, -1), pole], -1)])


def _fill(env: np.ndarray) -> np.ndarray:
    """Fill NaN cells: along each row (periodic) from its cells, then empty rows from the row above."""
    out = env.copy()
    n_c = env.shape[1]
    x = np.arange(n_c)
    for k, row in enumerate(out):
        ok = np.isfinite(row)
        if ok.sum() >= 2:
            xs = np.concatenate([x[ok] - n_c, x[ok], x[ok] + n_c])
            out[k] = np.interp(x, xs, np.tile(row[ok], 3))
        elif ok.any():
            out[k] = row[ok][0]
    have = np.isfinite(out).all(axis=1)
    if not have.any():
        raise ValueError("nothing to wrap: no skin samples fell on the headscarf grid")
    for k in range(len(out)):  # rows below the skin's crop: carry down
        if not have[k]:
            near = np.flatnonzero(have)
            out[k] = out[near[np.argmin(np.abs(near - k))]]
    return out


def _dilate(r: np.ndarray, k: int = 1) -> np.ndarray:
    """Grey dilation over (2k+1)^2 cells, periodic in columns."""
    out = r.copy()
    for di in range(-k, k + 1):
        sh = np.roll(r, di, axis=1)
        for dj in range(-k, k + 1):
            rows = np.clip(np.arange(len(r)) + dj, 0, len(r) - 1)
            out = np.maximum(out, sh[rows])
    return out


def _relax(floor: np.ndarray, steps: int) -> np.ndarray:
    """Cloth that rests on ``floor`` and bridges hollows: average the neighbours, never go below."""
    r = floor.copy()
    for _ in range(steps):
        avg = 0.25 * (np.roll(r, 1, axis=1) + np.roll(r, -1, axis=1))
        avg += 0.25 * (np.vstack([r[:1], r[:-1]]) + np.vstack([r[1:], r[-1:]]))
        r = np.maximum(floor, avg)
    return r


def _samples(body, under: Sequence[Mesh]) -> np.ndarray:
    """Skin corners, centroids and points along the edges (the skin is coarse), plus the clothes'
    vertices."""
    tri = body.v[body.outer_faces]
    rolled = np.roll(tri, 1, axis=1)
    pts = [tri.reshape(-1, 3), tri.mean(axis=1)] + [
        (t * tri + (1 - t) * rolled).reshape(-1, 3) for t in (0.25, 0.5, 0.75)
    ]
    # thin dangling parts (drawstrings, a scarf's end) would tent the scarf into spikes
    pts += [np.asarray(m.vertices, np.float64) for m in under if not m.name.endswith(_DANGLING)]
    return np.concatenate(pts)


def wrap(
    body,
    field,
    thickness: float,
    y_bottom: float,
    under: Sequence[Mesh] = (),
    flare_from: float | None = None,
    volume: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The taut wrap of the head (and ``under`` meshes) cut to ``field`` <= 0: (v (n, 3), f (m, 3)).

    ``thickness``: m off the envelope; ``y_bottom``: lowest grid row (head-frame y);
    ``flare_from``: below this y the scarf widens like a cape (1 m out per 2.5 m down);
    ``volume``: m of extra room at the back of the skull (gathered hair, folds).
    """

    grid = _Wrap(body, y_bottom)
    env = _fill(grid.envelope(_samples(body, under)))
    floor = _dilate(env, 1) + thickness
    if flare_from is not None:
        y_row = grid.y0 + grid.rows
        floor += (np.clip(flare_from - y_row, 0.0, None) / 2.5)[:, None]
    if volume:
        back = np.clip(-np.cos(grid.cols), 0.0, 1.0) ** 1.5
        rows = np.exp(-(((grid.rows - 0.3 * grid.r0) / (0.6 * grid.r0)) ** 2))
        floor += volume * rows[:, None] * back[None, :]
    r = _relax(floor, _RELAX)
    p = grid.points(r)
    v = np.concatenate([p.reshape(-1, 3), p[-1].mean(axis=0, keepdims=True)])
    f = grid.faces()
    g = field(v)
    centre = np.array([0.0, grid.y0, body.head_z])
    n = v - centre
    n /= np.maximum(vectors.length(n, True), 1e-12)
    shell = clip_surface(v, f, g, n, np.zeros(len(v), bool))
    q = shell.v
    # the grid is coarse against sharp skin features (the chin's underside, the ear rims)
    gap = np.full(len(q), 0.7 * thickness)
    q = push_out(push_out(q, body, gap), body, gap)
    # no cover_skin pass: the envelope already rests on every point it would probe
    if under:
        q = _off_clothes(q, under, 0.5 * thickness)
    q = push_out(q, body, gap)
    return q, shell.f


def _off_clothes(p: np.ndarray, under: Sequence[Mesh], gap: float) -> np.ndarray:
    """Points within ``gap`` (m) of the clothes (or just under them) moved out along their normal.
    Only near points move: the clothes are open shells, so the sign of a far point is unreliable."""

    rest = [m for m in under if not m.name.endswith(_DANGLING)]
    if not rest:
        return p
    d, _q, n = SurfaceDistance(*merged_arrays(rest)).query(p)
    near = (d < gap) & (d > -3.0 * gap)
    return p + n * (np.where(near, gap - d, 0.0) * 1.05)[:, None]


def hijab(body, rgb, under: Sequence[Mesh] = ()) -> list[Mesh]:
    """A hijab: round the face oval, over the head and ears, under the chin, down to the shoulders."""

    s = body.s
    th = 0.006 * s**0.5
    # round the neck to the collar, and no lower than the skin goes: below it the wrap has
    # nothing but the clothes to rest on
    y_bottom = max(body.nape_y - 2.0 * body.neck_r, body.bottom_y + 0.015 * s)
    v, f = wrap(
        body, hijab_field(body), th, y_bottom, under, flare_from=body.nape_y - 1.2 * body.neck_r, volume=0.012 * s
    )
    mat = headwear_material("headscarf", rgb, roughness=0.85)
    out = [garment_mesh("headscarf", v, f, "HEADWEAR", mat)]
    # the hem round the face (the loop highest up); the lower edge is the scarf's fall
    loops = boundary_loop(f)
    if loops:
        face_loop = max(loops[:2], key=lambda lp: v[lp, 1].mean())
        edge = resample_polyline(smooth_polyline(v[face_loop], True, 2), 160, True)
        hv, hf = hem(edge, 0.003 * s**0.5, body)
        out.append(garment_mesh("headscarf_hem", hv, hf, "HEADWEAR", mat))
    return out


def kerchief(body, rgb, under: Sequence[Mesh] = ()) -> list[Mesh]:
    """A kerchief over the hair and ear tops, knotted at the nape with two short tails."""

    s = body.s
    th = 0.005 * s**0.5
    field = kerchief_field(body)
    v, f = wrap(body, field, th, body.nape_y - 0.02 * s)
    mat = headwear_material("kerchief", rgb, roughness=0.85)
    out = [garment_mesh("kerchief", v, f, "HEADWEAR", mat)]
    loops = boundary_loop(f)
    if not loops:
        return out
    edge = resample_polyline(smooth_polyline(v[loops[0]], True, 2), 160, True)
    hv, hf = hem(edge, 0.0025 * s**0.5, body)
    out.append(garment_mesh("kerchief_hem", hv, hf, "HEADWEAR", mat))
    back = edge[np.argmin(np.cos(body.head_azimuth(edge)))]
    nrm = back - np.array([0.0, back[1], body.head_z])
    nrm /= np.linalg.norm(nrm)
    knot_r = 0.011 * s
    knot = back + nrm * (knot_r + 0.004 * s)
    knot = push_out(knot[None], body, np.array([knot_r + 0.003 * s]))[0]
    kv, kf = sweep(
        np.array([knot - [0.01 * s, 0, 0], knot + [0.01 * s, 0, 0]]),
        ring_points(12),
        up=np.tile(nrm, (2, 1)),
        scale=np.full((2, 2), knot_r),
    )
    out.append(garment_mesh("kerchief_knot", kv, kf, "HEADWEAR", mat))
    for side in (-1.0, 1.0):
        top = knot + np.array([side * 0.008 * s, -0.6 * knot_r, 0.0]) + nrm * 0.002 * s
        tail = hang(top, 0.07 * s, body.surface, 0.006 * s, n=10)
        tail[:, 0] += side * np.linspace(0.0, 0.012 * s, len(tail))
        tail = push_out(tail, body, np.full(len(tail), 0.006 * s))
        width = np.linspace(0.009, 0.013, len(tail)) * s
        tv, tf = sweep(
            tail,
            ring_points(8),
            up=np.tile(nrm, (len(tail), 1)),
            scale=np.column_stack([width, np.full(len(tail), 0.002 * s)]),
        )
        out.append(garment_mesh("kerchief_tail", tv, tf, "HEADWEAR", mat))
    return out
