"""Growing strands: guide integration with collision, child interpolation, curl, cut and resample.

Generic over styles: a style supplies roots, a comb field and numbers; this module turns
them into (s, k, 3) polylines (head frame, metres, float64) that stay outside the skin.

The scheme is the usual guide + children one: a few hundred guides are integrated step
by step (direction = blend of the root lift, the comb field along the skin, gravity and the
previous direction; every point pushed out to the strand's shell), then each child copies
the shape of its nearest guides (same group only, so a parting stays a parting), gets its
own curl phase, frizz and length, and is pushed out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.spatial import cKDTree

from facefarm.compose.hair.collision import HeadSurface, Nearest, away
from facefarm.geometry import vectors

#: No strand point comes closer to the skin than this (metres); tests demand >= 0.5 mm.
MIN_OFFSET_M = 0.0012
#: Distance over which a strand's shell offset grows from the root to its full volume.
SHELL_RISE_M = 0.015
#: Beyond its shell by this much a strand no longer follows the skin (it falls freely).
CONTACT_M = 0.012

CombFn = Callable[[np.ndarray, Nearest, np.ndarray], np.ndarray]


def unit(v: np.ndarray) -> np.ndarray:
    return vectors.unit(v)


def tangential(v: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Component of (n, 3) ``v`` in the plane with unit normal ``n``."""
    return v - vectors.dot(v, n, True) * n


@dataclass(frozen=True)
class GrowSpec:
    """How guides grow (per-guide arrays are (g,); scalars apply to all).

    length : max path length, metres · lift : 0..1 how steeply roots leave the skin (scalar or (g,)) ·
    stiffness : 0..1 how much a strand keeps its direction per centimetre · gravity : (3,)
    the pull in the head frame (zero vector for none) · gravity_weight : its strength against
    the comb · offset : shell offset over the skin once past the root, metres · steps : points - 1 ·
    stop_at : (3,) a point where strands stop once within ``stop_radius`` (ponytail and bun ties) ·
    gravity_scale : f(points (g, 3)) -> (g,) 0..1 where gravity acts (hair combed off the face
    does not fall onto it).
    """

    length: np.ndarray
    lift: float | np.ndarray
    stiffness: float
    gravity: np.ndarray
    gravity_weight: float
    offset: np.ndarray
    steps: int
    stop_at: np.ndarray | None = None
    stop_radius: float = 0.0
    gravity_scale: Callable[[np.ndarray], np.ndarray] | None = None


def grow(surface: HeadSurface, roots: np.ndarray, normals: np.ndarray, comb: CombFn, spec: GrowSpec) -> np.ndarray:
    """(g, steps + 1, 3) guide polylines from (g, 3) ``roots`` with skin ``normals``.

    ``comb(points, nearest, s)`` returns the (g, 3) direction hair is combed in at ``points``
    (any length; projected onto the skin's tangent plane here when close to the skin) where
    ``s`` (g,) is the path length so far.
    """
    g = len(roots)
    n_pts = spec.steps + 1
    out = np.zeros((g, n_pts, 3))
    if g == 0:
        return out
    length = np.broadcast_to(np.asarray(spec.length, float), (g,))
    offset = np.broadcast_to(np.asarray(spec.offset, float), (g,))
    lift = np.broadcast_to(np.asarray(spec.lift, float), (g,))[:, None]
    h = length / spec.steps
    grav = np.asarray(spec.gravity, float)
    p = roots + normals * MIN_OFFSET_M * 1.25
    out[:, 0] = p
    d = unit(normals * np.maximum(lift, 0.05) + comb(p, surface.query(p), np.zeros(g)) * (1 - lift))
    lift_len = 0.004 + 0.02 * lift[:, 0]
    for i in range(1, n_pts):
        s = h * (i - 1)
        nr = surface.query(p)
        shell = MIN_OFFSET_M + offset * rise(s)
        if i > 1:
            # the point placed last step is settled here, with the query the step needs anyway
            # (one push; a guide a little off its shell is harmless, its children are settled)
            low = nr.distance < shell
            p[low] += away(nr, p[low], low) * (shell - nr.distance)[low, None]
            out[:, i - 1] = p
            nr = Nearest(
                point=nr.point, face=nr.face, bary=nr.bary, normal=nr.normal, distance=np.maximum(nr.distance, shell)
            )
        contact = np.clip(1.0 - (nr.distance - shell) / CONTACT_M, 0.0, 1.0)[:, None]
        c = unit(comb(p, nr, s))
        gw = spec.gravity_weight * (1.0 if spec.gravity_scale is None else spec.gravity_scale(p)[:, None])
        on_skin = unit(tangential(c + gw * grav, nr.normal))
        lift_w = lift * np.exp(-s / lift_len)[:, None]
        target = unit(
            lift_w * nr.normal + (1 - lift_w) * (contact * on_skin + (1 - contact) * unit(c * 0.35 + grav * gw))
        )
        keep = (spec.stiffness ** (h / 0.01))[:, None]
        d = unit(keep * d + (1 - keep) * target)
        step = h[:, None] * d
        if spec.stop_at is not None:
            # arrived strands wait at the tie; the last step lands on its rim, not past it
            to_tie = vectors.length(p - spec.stop_at)
            step *= np.clip((to_tie - spec.stop_radius) / np.maximum(h, 1e-9), 0.0, 1.0)[:, None]
        p = p + step
        out[:, i] = p
    out[:, -1] = surface.push_out(out[:, -1], MIN_OFFSET_M + offset * rise(length))
    return out


def rise(s: np.ndarray | float) -> np.ndarray:
    x = np.clip(np.asarray(s, float) / SHELL_RISE_M, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def children(
    guide_roots: np.ndarray,
    guides: np.ndarray,
    guide_group: np.ndarray,
    child_roots: np.ndarray,
    child_group: np.ndarray,
    k: int = 3,
) -> np.ndarray:
    """(c, n, 3) child polylines: each child's root plus the weighted shape of its ``k`` nearest
    guides of the same group (inverse-square distance weights).

    Shapes are root-relative, so a child keeps its own root exactly; a child whose group has
    no guide takes the nearest guides of any group.
    """
    c, n = len(child_roots), guides.shape[1]
    out = np.zeros((c, n, 3))
    if c == 0:
        return out
    shape = guides - guides[:, :1]
    for grp in np.unique(child_group):
        ci = np.flatnonzero(child_group == grp)
        gi = np.flatnonzero(guide_group == grp)
        if len(gi) == 0:
            gi = np.arange(len(guides))
        kk = min(k, len(gi))
        dist, idx = cKDTree(guide_roots[gi]).query(child_roots[ci], k=kk)
        dist, idx = dist.reshape(len(ci), kk), gi[idx.reshape(len(ci), kk)]
        w = 1.0 / np.maximum(dist, 1e-4) ** 2
        w /= w.sum(axis=1, keepdims=True)
        out[ci] = child_roots[ci, None, :] + np.einsum("ck,cknd->cnd", w, shape[idx])
    return out


def arc_length(curves: np.ndarray) -> np.ndarray:
    """(s, n) cumulative arc length along (s, n, 3) polylines (0 at the root)."""
    seg = vectors.length(np.diff(curves, axis=1))
    return np.concatenate([np.zeros((len(curves), 1)), np.cumsum(seg, axis=1)], axis=1)


def resample(curves: np.ndarray, k: int, upto: np.ndarray | None = None) -> np.ndarray:
    """(s, k, 3) points evenly spaced by arc length along (s, n, 3) polylines, from the root to
    ``upto`` (s,) metres along each (default: the whole curve)."""
    s_n = len(curves)
    if s_n == 0:
        return np.zeros((0, k, 3))
    cum = arc_length(curves)
    total = cum[:, -1]
    end = total if upto is None else np.minimum(np.asarray(upto, float), total)
    targets = end[:, None] * np.linspace(0.0, 1.0, k)[None, :]
    # per-row searchsorted, vectorised by offsetting each row into its own range
    big = (total.max() + 1.0) * 2.0
    row = np.arange(s_n)[:, None] * big
    flat = (cum + row).ravel()
    j = np.searchsorted(flat, (targets + row).ravel(), side="right").reshape(s_n, k) - 1
    j -= np.arange(s_n)[:, None] * curves.shape[1]
    j = np.clip(j, 0, curves.shape[1] - 2)
    r = np.arange(s_n)[:, None]
    c0, c1 = cum[r, j], cum[r, j + 1]
    t = np.clip((targets - c0) / np.maximum(c1 - c0, 1e-12), 0.0, 1.0)[..., None]
    return curves[r, j] * (1 - t) + curves[r, j + 1] * t


def cut_length_at_level(curves: np.ndarray, level_y: np.ndarray) -> np.ndarray:
    """(s,) path length at which each (s, n, 3) polyline first drops below height ``level_y`` (s,)
    (the whole length when it never does)."""
    cum = arc_length(curves)
    y = curves[..., 1]
    below = y < level_y[:, None]
    first = np.where(below.any(axis=1), below.argmax(axis=1), curves.shape[1] - 1)
    r = np.arange(len(curves))
    i0 = np.maximum(first - 1, 0)
    y0, y1 = y[r, i0], y[r, first]
    t = np.clip((y0 - level_y) / np.maximum(y0 - y1, 1e-12), 0.0, 1.0)
    cut = cum[r, i0] + t * (cum[r, first] - cum[r, i0])
    return np.where(below.any(axis=1), cut, cum[:, -1])


@dataclass(frozen=True)
class Curl:
    """Curl of a strand: ``period`` metres per turn, ``radius`` metres, ``helix`` (else a planar wave)."""

    period: float
    radius: float
    helix: bool

    @staticmethod
    def from_amount(c: float) -> "Curl | None":
        """0 straight .. 0.35 wavy .. 0.65 curly .. 1 tightly coiled (type 4 hair)."""
        c = float(np.clip(c, 0.0, 1.0))
        if c < 0.12:
            return None
        if c < 0.45:
            t = (c - 0.12) / 0.33
            return Curl(period=0.09 - 0.05 * t, radius=0.002 + 0.006 * t, helix=False)
        if c < 0.8:
            t = (c - 0.45) / 0.35
            return Curl(period=0.04 - 0.026 * t, radius=0.008 - 0.002 * t, helix=True)
        t = (c - 0.8) / 0.2
        return Curl(period=0.014 - 0.008 * t, radius=0.006 - 0.0028 * t, helix=True)

    @property
    def shrink(self) -> float:
        """Axis length per unit strand length."""
        if self.helix:
            return self.period / np.hypot(self.period, 2 * np.pi * self.radius)
        return 1.0 / (1.0 + (np.pi * self.radius / self.period) ** 2)


def frames(curves: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-point (tangent, u, v) unit frames along (s, n, 3) polylines; ``u`` is the part of
    ``reference`` ((s, n, 3) or (3,)) across the tangent, ``v`` = tangent x u."""
    t = unit(np.gradient(curves, axis=1))
    ref = np.broadcast_to(reference, curves.shape)
    u = tangential(ref, t)
    bad = vectors.length(u, True) < 1e-6
    u = np.where(bad, tangential(np.broadcast_to([0.0, 0.0, 1.0], curves.shape), t), u)
    u = unit(u)
    return t, u, np.cross(t, u)


def apply_curl(
    curves: np.ndarray, curl: Curl, phase: np.ndarray, reference: np.ndarray, ramp_m: float = 0.01
) -> np.ndarray:
    """Add a helix (or a planar wave along ``reference``) around (s, n, 3) polylines.

    The amplitude ramps up over the first ``ramp_m`` so roots stay put; ``phase`` (s,) radians.
    """
    s = arc_length(curves)
    t, u, v = frames(curves, reference)
    amp = curl.radius * np.clip(s / ramp_m, 0.0, 1.0)
    ang = 2 * np.pi * s / (curl.period * curl.shrink) + phase[:, None]
    if curl.helix:
        off = amp[..., None] * (np.cos(ang)[..., None] * u + np.sin(ang)[..., None] * v)
    else:
        off = amp[..., None] * np.sin(ang)[..., None] * v
    return curves + off


def smooth_noise(curves: np.ndarray, amplitude: np.ndarray, wavelength: float, rng: np.random.Generator) -> np.ndarray:
    """(s, n, 3) smooth random displacement growing from 0 at the root to ``amplitude`` (s,) metres."""
    s = arc_length(curves)
    out = np.zeros_like(curves)
    total = np.maximum(s[:, -1:], 1e-9)
    for _ in range(2):
        ph = rng.uniform(0, 2 * np.pi, (len(curves), 1, 3))
        f = rng.uniform(0.7, 1.4, (len(curves), 1, 3))
        out += np.sin(2 * np.pi * s[..., None] / wavelength * f + ph)
    return out * 0.5 * amplitude[:, None, None] * np.clip(s / total, 0, 1)[..., None]


def settle(surface: HeadSurface, curves: np.ndarray, shell: np.ndarray | float) -> np.ndarray:
    """(s, k, 3) strands moved out of the skin root to tip, follow-the-leader style.

    Point by point (all strands at once), a point closer than its ``shell`` ((s, k) or scalar,
    metres) is moved out; a point found inside is first brought back along the segment from
    the previous (outside) point to where that segment enters the skin, so it lands on the
    near side of the head, not in a cavity behind it, and slides the rest of its step along
    the skin. Each correction carries the rest of the strand along, keeping its shape.
    """
    p = np.array(curves, np.float64, copy=True)
    s, k = p.shape[:2]
    if s == 0:
        return p
    sh = np.broadcast_to(np.asarray(shell, float), (s, k))
    # strands that dive into the skin are walked root to tip; the others only graze their
    # shell here and there, and those points are pushed out where they are
    d, nr = _strand_distances(surface, p, sh)
    dive = (d < -0.002).any(axis=1)
    walk = np.flatnonzero(dive)
    if len(walk):
        p[walk] = _walk_out(surface, p[walk], sh[walk])
    graze = (d < sh) & ~dive[:, None]
    if graze.any():
        p[graze] = surface.push_out(p[graze], sh[graze], measured=nr.take(graze.ravel()))
    return p


def _strand_distances(
    surface: HeadSurface, p: np.ndarray, sh: np.ndarray, every: int = 4
) -> tuple[np.ndarray, Nearest]:
    """Signed distances of the (s, k, 3) strand points ``p``: exact wherever a point may be closer
    than its shell ``sh`` (s, k), elsewhere a lower bound that proves it is not.

    Every ``every``-th point of each strand (and its tip) is measured; the signed distance is
    1-Lipschitz, so a point between two measured ones a and b is at least
    max(d(a) - |p - a|, d(b) - |p - b|) from the skin, on their side of it. Points that bound
    does not clear are measured too: hanging hair is mostly cleared, hair on the scalp is
    measured. Returns (d (s, k), the queries as one Nearest over all s * k points, valid where
    measured).
    """
    s, k = p.shape[:2]
    flat = p.reshape(-1, 3)
    nr = Nearest(
        point=np.zeros((s * k, 3)),
        face=np.zeros(s * k, np.int64),
        bary=np.zeros((s * k, 3)),
        normal=np.zeros((s * k, 3)),
        distance=np.full(s * k, np.inf),
    )

    def measure(mask: np.ndarray) -> None:
        idx = np.flatnonzero(mask.ravel())
        q = surface.query(flat[idx])
        nr.point[idx], nr.face[idx], nr.bary[idx], nr.normal[idx] = q.point, q.face, q.bary, q.normal
        nr.distance[idx] = q.distance

    anchors = np.unique(np.r_[np.arange(0, k, every), k - 1])
    first = np.zeros((s, k), bool)
    first[:, anchors] = True
    measure(first)
    d = nr.distance.reshape(s, k).copy()
    prev = anchors[np.searchsorted(anchors, np.arange(k), side="right") - 1]
    nxt = anchors[np.minimum(np.searchsorted(anchors, np.arange(k)), len(anchors) - 1)]
    between = np.setdiff1d(np.arange(k), anchors)
    if len(between):
        a, b = prev[between], nxt[between]
        pb = p[:, between]
        d[:, between] = np.maximum(d[:, a] - vectors.length(pb - p[:, a]), d[:, b] - vectors.length(pb - p[:, b]))
        unproven = np.zeros((s, k), bool)
        unproven[:, between] = d[:, between] < sh[:, between]
        if unproven.any():
            measure(unproven)
            d[unproven] = nr.distance.reshape(s, k)[unproven]
    return d, nr


def _walk_out(surface: HeadSurface, p: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """:func:`settle`'s root-to-tip walk over (s, k, 3) strands ``p`` (modified in place)."""
    k = p.shape[1]
    for i in range(k):
        nr = surface.query(p[:, i])
        bad = np.flatnonzero(nr.distance < sh[:, i])
        if len(bad) == 0:
            continue
        new = p[bad, i].copy()
        deep = nr.distance[bad] < -0.002
        if i > 0 and deep.any():
            # bisect the segment from the previous point for where it enters the skin
            b = bad[deep]
            lo, hi = p[b, i - 1].copy(), p[b, i].copy()
            for _ in range(6):
                mid = 0.5 * (lo + hi)
                inside = surface.query(mid).distance < 0
                hi = np.where(inside[:, None], mid, hi)
                lo = np.where(inside[:, None], lo, mid)
            # ... and let the rest of the step slide along the skin there (hair drapes)
            step = p[b, i] - lo
            new[deep] = lo + tangential(step, surface.query(lo).normal)
        new = surface.push_out(new, sh[bad, i], measured=None if (i > 0 and deep.any()) else nr.take(bad))
        p[bad, i:] += (new - p[bad, i])[:, None, :]
    return p
