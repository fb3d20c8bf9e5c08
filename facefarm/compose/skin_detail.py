"""Age wrinkles and blemishes, painted on the render surface in the head's neutral chart.

The coarse HM08 mesh is too coarse for lines (forehead edges ~10 mm), so this detail is
evaluated on the :class:`~facefarm.head.model.RenderSurface` that is rendered, at
the position each render vertex has on the *neutral* template head (its "chart" position,
``surface.vertices(head.neutral)``). Paths are placed from the 68 landmarks of that neutral
head, so a fold sits at the same place on the anatomy of every identity and expression.

Everything is band-limited to the surface: a line of half-width ``w`` on vertices ``h`` apart
is drawn as a Gaussian of ``sqrt(w^2 + (h/2)^2)`` with its darkness scaled down (close to what
a downsampled photograph of the line shows), so lines finer than the mesh fade into a soft
shading instead of aliasing into blotches.

Outputs (:class:`SkinDetail`) are per render vertex: an albedo multiplier, which the fast
back-end shows as it is, and a fold depth that the photoreal back-end also turns into a bump
(mesh attribute :data:`WRINKLE_ATTRIBUTE`); plus, for the photoreal back-end, strand
coordinates on the lash cards so its lash shader can cut them into fine, partly transparent
strands (:data:`LASH_STRAND_ATTRIBUTE`, :data:`LASH_COVER_ATTRIBUTE`). Randomness is identity-level
(:func:`facefarm.catalog.rng.identity_stream`), so every image of a person has the same lines
and spots; strengths come from ``sample.skin.wrinkles`` and ``sample.skin.blemishes`` (0..1),
and both are exactly zero at 0.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from facefarm.catalog.rng import identity_stream
from facefarm.geometry import vectors
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import LASH_COVER_ATTRIBUTE, LASH_STRAND_ATTRIBUTE, WRINKLE_ATTRIBUTE

#: strands per card across the lid (upper, lower)
_LASH_STRANDS = (90.0, 45.0)

_FACE_CLASSES = (CLASS_IDS["SKIN"], CLASS_IDS["NOSE"])
#: classes a blemish keeps clear of (on the coarse mesh, in the chart)
_CLEAR_CLASSES = (
    CLASS_IDS["RIGHT_EYE"],
    CLASS_IDS["LEFT_EYE"],
    CLASS_IDS["TOP_LIP"],
    CLASS_IDS["BOTTOM_LIP"],
    CLASS_IDS["MOUTH_INTERIOR"],
    CLASS_IDS["RIGHT_BROW"],
    CLASS_IDS["LEFT_BROW"],
)


@dataclass(frozen=True)
class SkinDetail:
    """Per render-surface vertex detail.

    albedo_scale : (V_r, 3) float64 multiplier of the linear albedo (1 = unchanged)
    wrinkle : (V_r,) float64 fold depth, 0 flat .. 1 deepest
    """

    albedo_scale: np.ndarray
    wrinkle: np.ndarray
    lash_strand: np.ndarray  # (V_r,) strand coordinate on lash cards (0 elsewhere)
    lash_cover: np.ndarray  # (V_r,) lash coverage 0..1 on lash cards (0 elsewhere)

    def for_part(self, kind: str, vidx: np.ndarray) -> dict[str, np.ndarray] | None:
        """The per-vertex shader attributes of a part of material ``kind`` whose render vertices
        are ``vidx``, as ``Mesh.attributes`` takes them (None: the part has none)."""
        if kind == "skin":
            return {WRINKLE_ATTRIBUTE: self.wrinkle[vidx].astype(np.float32)}
        if kind == "lash":
            return {
                LASH_STRAND_ATTRIBUTE: self.lash_strand[vidx].astype(np.float32),
                LASH_COVER_ATTRIBUTE: self.lash_cover[vidx].astype(np.float32),
            }
        return None


@dataclass(frozen=True)
class _Chart:
    """The render surface on the neutral head: positions, spacing, classes, landmarks."""

    xyz: np.ndarray  # (V_r, 3) metres, neutral head frame
    spacing: np.ndarray  # (V_r,) mean length of the edges at each vertex, metres
    face: np.ndarray  # (V_r,) bool: SKIN or NOSE render vertex away from the scalp
    neck: np.ndarray  # (V_r,) bool: NECK render vertex
    landmarks: np.ndarray  # (70, 3) on the neutral head
    coarse: np.ndarray  # (V, 3) the neutral head itself
    spot_candidates: np.ndarray  # (c,) coarse vertex ids a blemish may be centred on
    spot_weights: np.ndarray  # (c,) their probabilities (skin area around each)
    lash_strand: np.ndarray  # (V_r,) see SkinDetail
    lash_cover: np.ndarray  # (V_r,)


_CHARTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _chart(head, surface) -> _Chart:
    if surface in _CHARTS:
        return _CHARTS[surface]
    neutral = np.asarray(head.neutral, np.float64)
    xyz = surface.vertices(neutral)
    f = surface.faces
    e = np.vstack([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    length = vectors.length(xyz[e[:, 0]] - xyz[e[:, 1]])
    total = np.bincount(e.ravel(), np.repeat(length, 2), len(xyz))
    count = np.bincount(e.ravel(), minlength=len(xyz))
    spacing = total / np.maximum(count, 1)
    scalp = np.zeros(head.n_vertices)
    scalp[head.scalp] = 1.0
    near_scalp = surface.vertices(scalp) > 0.02
    face = np.isin(surface.vertex_class, _FACE_CLASSES) & ~near_scalp
    lm = np.asarray(head.landmark_points(neutral, surface), np.float64)

    # blemish centres: front of the face, clear of eyes, lips and brows
    vc = head.vertex_class
    cand = np.flatnonzero(np.isin(vc, _FACE_CLASSES))
    cand = cand[~np.isin(cand, head.scalp)]
    p = neutral[cand]
    front = (
        (p[:, 2] > -0.005)
        & (np.abs(p[:, 0]) < 0.06)
        & (p[:, 1] > lm[8, 1] + 0.006)
        & (p[:, 1] < lm[17:27, 1].max() + 0.04)
    )
    cand, p = cand[front], p[front]
    clear = neutral[np.isin(vc, _CLEAR_CLASSES)]
    eye_lm = lm[36:48]
    d_clear = cKDTree(clear).query(p)[0] if len(clear) else np.full(len(p), np.inf)
    d_eye = vectors.length(p[:, None, :] - eye_lm[None]).min(axis=1)
    nostrils = (vc[cand] == CLASS_IDS["NOSE"]) & (p[:, 1] < lm[30, 1])
    keep = (d_clear > 0.006) & (d_eye > 0.009) & ~nostrils
    cand = cand[keep]
    # pick by skin area, not by vertex: the mesh is much denser on the nose and round the eyes
    tri = head.faces
    area = 0.5 * np.linalg.norm(
        np.cross(neutral[tri[:, 1]] - neutral[tri[:, 0]], neutral[tri[:, 2]] - neutral[tri[:, 0]]), axis=1
    )
    vertex_area = np.bincount(tri.ravel(), np.repeat(area / 3.0, 3), len(neutral))[cand]

    out = _Chart(
        xyz=xyz,
        spacing=spacing,
        face=face,
        neck=surface.vertex_class == CLASS_IDS["NECK"],
        landmarks=lm,
        coarse=neutral,
        spot_candidates=cand,
        spot_weights=vertex_area / vertex_area.sum(),
        **_lash_coordinates(head, surface, xyz),
    )
    _CHARTS[surface] = out
    return out


def _lash_coordinates(head, surface, xyz: np.ndarray) -> dict[str, np.ndarray]:
    """Strand coordinate and coverage on the lash cards (each lash part: an upper and a lower
    ribbon from the lid margin outwards), from the chart positions ``xyz`` (V_r, 3)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    strand, cover = np.zeros(len(xyz)), np.zeros(len(xyz))
    centres = head.eye_centres(head.neutral)
    for pi, name in enumerate(head.part_names):
        if not name.startswith("lash"):
            continue
        vidx, faces, _ = surface.part(pi)
        if len(faces) == 0:
            continue
        n = len(vidx)
        e = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        _, card = connected_components(
            sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)), directed=False
        )
        p = xyz[vidx]
        centre = centres[np.argmin(np.abs(centres[:, 0] - p[:, 0].mean()))]
        for c in np.unique(card):
            sel = card == c
            q = p[sel]
            upper = q[:, 1].mean() > centre[1]
            # along the lid: angle about the eyeball centre seen from the front
            ang = np.arctan2(q[:, 1] - centre[1], q[:, 0] - centre[0])
            ang = np.unwrap(ang[np.argsort(q[:, 0])])[np.argsort(np.argsort(q[:, 0]))]
            t = (ang - ang.min()) / max(np.ptp(ang), 1e-9)
            r = vectors.length(q - centre)
            v = (r - r.min()) / max(np.ptp(r), 1e-9)
            strand[vidx[sel]] = t * _LASH_STRANDS[0 if upper else 1]
            # solid near the root (lashes overlap there), thinning to the tips and the eye corners;
            # lower lashes are fewer and shorter: thin out from the root (at 0.55 x (1 - v^3) they
            # drew a grey band under every eye)
            along = (1.0 - v**3) if upper else 0.35 * (1.0 - v) ** 2
            cover[vidx[sel]] = along * np.clip(np.sin(np.pi * t) / 0.3, 0.4, 1.0)
    return {"lash_strand": strand, "lash_cover": cover}


# ---------------------------------------------------------------------------------------------
# line drawing


def _line(d: np.ndarray, width: float, spacing: np.ndarray) -> np.ndarray:
    """(n,) 0..1 darkness of a line at signed distance ``d`` (metres) of half-width ``width``,
    band-limited to the local vertex ``spacing``.

    A widened line keeps more than its share of darkness (``(width / sigma) ** 0.6``, not
    ``width / sigma``): in a photograph a fold also shades, which a coarse mesh cannot show.
    """
    sigma = np.sqrt(width**2 + (0.5 * spacing) ** 2)
    return (width / sigma) ** 0.6 * np.exp(-0.5 * (d / sigma) ** 2)


def _taper(t: np.ndarray) -> np.ndarray:
    """(n,) 1 inside 0..1 with soft ends, 0 outside (a line fades out at its tips)."""
    return np.clip(np.minimum(t, 1.0 - t) / 0.25, 0.0, 1.0) ** 0.7 * ((t >= 0) & (t <= 1))


def _polyline_distance(p: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of 2-D points ``p`` (n, 2) to a polyline ``pts`` (k, 2) and the arc-length
    parameter 0..1 of the nearest point (beyond the ends: < 0 or > 1)."""
    a, b = pts[:-1], pts[1:]
    ab = b - a
    seg_len = vectors.length(ab)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    t = vectors.dot(p[:, None, :] - a[None], ab[None]) / np.maximum(seg_len**2, 1e-12)
    tc = np.clip(t, 0.0, 1.0)
    near = a[None] + tc[..., None] * ab[None]
    d = vectors.length(p[:, None, :] - near)
    k = d.argmin(axis=1)
    rows = np.arange(len(p))
    # extend the end segments so the taper, not a round cap, ends the line
    tk = t[rows, k]
    tk = np.where((k == 0) & (tk < 0), tk, np.where((k == len(a) - 1) & (tk > 1), tk, tc[rows, k]))
    s = (cum[k] + tk * seg_len[k]) / cum[-1]
    return d[rows, k], s


def _group_strength(w: float, onset: float) -> float:
    """How far one kind of fold has come at overall wrinkle level ``w``: 0 before ``onset``."""
    return float(np.clip((w - onset) / (1.0 - onset), 0.0, 1.0) ** 0.8)


def _wrinkles(sample, c: _Chart) -> tuple[np.ndarray, np.ndarray]:
    """(groove (V_r,) 0..1, crest highlight (V_r,) 0..1) of every fold of this identity."""
    w = float(getattr(sample.skin, "wrinkles", 0.0))
    n = len(c.xyz)
    groove, crest = np.zeros(n), np.zeros(n)
    if w <= 0.0:
        return groove, crest
    lm, x, y, z, h = c.landmarks, c.xyz[:, 0], c.xyz[:, 1], c.xyz[:, 2], c.spacing
    face = c.face

    def add(amount, d, width, env, highlight=0.15, mask=face):
        g = amount * env * _line(d, width, h) * mask
        groove[:] = np.maximum(groove, g)
        # the skin either side of a fold bulges and catches light
        crest[:] += highlight * amount * env * _line(np.abs(d) - 2.2 * width, 1.3 * width, h) * mask

    # forehead: near-horizontal lines between the brows and the hairline
    s, rng = _group_strength(w, 0.0), identity_stream(sample, "skin.wrinkles.forehead")
    brow_top = lm[17:27, 1].max()
    n_lines = int(rng.integers(3, 5))
    gap = rng.uniform(0.0095, 0.012)
    curve, phase = rng.uniform(-1.0, 3.0), rng.uniform(0, 2 * np.pi)
    for k in range(n_lines):
        y0 = brow_top + 0.013 + k * gap + rng.normal(0, 0.0012)
        half = rng.uniform(0.026, 0.042) * (1.0 - 0.12 * k)
        centre = rng.normal(0, 0.004)
        path = y0 + curve * x**2 + 0.0015 * np.sin(x * 2 * np.pi / 0.05 + phase + k)
        env = _taper((x - centre + half) / (2 * half)) * (z > lm[17:27, 2].min() - 0.02)
        add(0.45 * s * rng.uniform(0.6, 1.0), y - path, 0.0006 + 0.0006 * s, env)

    # frown lines between the brows
    s, rng = _group_strength(w, 0.25), identity_stream(sample, "skin.wrinkles.frown")
    if s > 0:
        y_lo = 0.5 * (lm[21, 1] + lm[22, 1]) - 0.006
        for side in (-1.0, 1.0):
            x0 = side * rng.uniform(0.003, 0.0055)
            env = _taper((y - y_lo) / 0.02)
            add(0.35 * s * rng.uniform(0.5, 1.0), x - x0 - side * 0.08 * (y - y_lo), 0.0006 + 0.0004 * s, env)

    # crow's feet: lines fanning out of the outer eye corners, on the temple (u = lateral arc)
    s, rng = _group_strength(w, 0.05), identity_stream(sample, "skin.wrinkles.crows_feet")
    for side, corner in ((-1.0, lm[36]), (1.0, lm[45])):
        dx, dy, dz = x - corner[0], y - corner[1], z - corner[2]
        u = np.where(side * dx > 0, np.sqrt(dx**2 + dz**2), side * dx)
        angles = np.linspace(-0.75, 0.6, int(rng.integers(3, 6))) + rng.normal(0, 0.08, 1)
        for a in angles:
            ray = np.array([np.cos(a), np.sin(a)])
            along = u * ray[0] + dy * ray[1]
            across = -u * ray[1] + dy * ray[0]
            r0, r1 = 0.006, rng.uniform(0.014, 0.022)
            env = _taper((along - r0) / (r1 - r0))
            add(0.45 * s * rng.uniform(0.6, 1.0), across, 0.0004 + 0.0003 * s, env)

    # under the eyes: lines following the lower lid and the shadow of the bag below them
    s, rng = _group_strength(w, 0.2), identity_stream(sample, "skin.wrinkles.under_eye")
    if s > 0:
        for ids in ((36, 41, 40, 39), (42, 47, 46, 45)):
            p = lm[list(ids)]
            order = np.argsort(p[:, 0])
            lid = np.interp(x, p[order, 0], p[order, 1])
            x_lo, x_hi = p[:, 0].min() - 0.002, p[:, 0].max() + 0.003
            env = _taper((x - x_lo) / (x_hi - x_lo)) * (np.abs(z - p[:, 2].mean()) < 0.02)
            below = lid - y
            for off in (0.0045, 0.0085):
                add(0.35 * s * rng.uniform(0.6, 1.0), below - off - rng.normal(0, 0.0006), 0.0005 + 0.0004 * s, env)
            bag = 0.25 * s * env * np.exp(-0.5 * ((below - 0.011) / 0.0035) ** 2) * face
            groove[:] = np.maximum(groove, bag)

    # nasolabial folds (nose wing to beside the mouth corner) and marionette lines below
    s_nl, s_mar = _group_strength(w, 0.0), _group_strength(w, 0.4)
    rng = identity_stream(sample, "skin.wrinkles.nasolabial")
    for side, wing, mouth in ((-1.0, lm[31], lm[48]), (1.0, lm[35], lm[54])):
        outward = np.array([side, 0.0])
        p0 = wing[:2] + np.array([side * 0.006, 0.004])
        p2 = mouth[:2] + np.array([side * 0.007, -0.007])
        p1 = 0.5 * (p0 + p2) + outward * rng.uniform(0.004, 0.007)
        t = np.linspace(0.0, 1.0, 16)[:, None]
        curve_pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        d, along = _polyline_distance(np.stack([x, y], 1), curve_pts)
        front = z > mouth[2] - 0.03
        add(0.55 * s_nl * rng.uniform(0.7, 1.0), d, 0.0012 + 0.0018 * s_nl, _taper(along) * front, 0.25)
        m0 = mouth[:2] + np.array([side * 0.003, -0.003])
        m1 = m0 + np.array([side * rng.uniform(0.002, 0.006), -rng.uniform(0.015, 0.022)])
        k_mar = rng.uniform(0.6, 1.0)
        if s_mar > 0:
            d, along = _polyline_distance(np.stack([x, y], 1), np.stack([m0, m1]))
            add(0.40 * s_mar * k_mar, d, 0.0007 + 0.0006 * s_mar, _taper(along) * front)

    # neck: rings across the front of the throat
    s, rng = _group_strength(w, 0.3), identity_stream(sample, "skin.wrinkles.neck")
    if s > 0:
        chin = lm[8]
        for k in range(int(rng.integers(2, 4))):
            y0 = chin[1] - 0.03 - k * rng.uniform(0.014, 0.018)
            path = y0 + rng.uniform(1.0, 3.0) * x**2
            half = rng.uniform(0.035, 0.05)
            env = _taper((x + half) / (2 * half)) * (z > chin[2] - 0.09)
            add(0.40 * s * rng.uniform(0.6, 1.0), y - path, 0.0008 + 0.0006 * s, env, mask=c.neck)
    return np.clip(groove, 0.0, 1.0), np.clip(crest, 0.0, 0.5)


def _blemishes(sample, c: _Chart) -> np.ndarray:
    """(V_r, 3) albedo multiplier of this identity's spots: red papules and brown marks."""
    b = float(getattr(sample.skin, "blemishes", 0.0))
    out = np.ones((len(c.xyz), 3))
    n_spots = int(round(b * 30))
    if n_spots == 0 or len(c.spot_candidates) == 0:
        return out
    rng = identity_stream(sample, "skin.blemishes")
    ids = rng.choice(c.spot_candidates, n_spots, p=c.spot_weights)
    centres = c.coarse[ids] + rng.normal(0, 0.001, (n_spots, 3))
    red = rng.random(n_spots) < 0.6
    radius = np.where(red, rng.uniform(0.0014, 0.0028, n_spots), rng.uniform(0.0015, 0.0032, n_spots))
    depth = rng.uniform(0.5, 1.0, n_spots) * min(1.0, 0.6 + b)
    tints = np.where(red[:, None], np.array([0.05, 0.45, 0.40]), np.array([0.22, 0.32, 0.36]))
    face = c.face.astype(float)
    for ctr, r, k, tint, is_red in zip(centres, radius, depth, tints, red):
        d2 = ((c.xyz - ctr) ** 2).sum(-1)
        near = d2 < (8 * max(r, 0.003)) ** 2
        if not near.any():
            continue
        # band-limited like the lines, keeping more than the area share so spots still read
        sigma2 = r**2 + (0.5 * c.spacing[near]) ** 2
        spot = (r**2 / sigma2) ** 0.5 * np.exp(-0.5 * d2[near] / sigma2) * k
        if is_red:  # inflamed skin round a papule
            halo2 = (2.5 * r) ** 2 + (0.5 * c.spacing[near]) ** 2
            spot = np.maximum(spot, 0.35 * k * np.exp(-0.5 * d2[near] / halo2))
        out[near] *= 1.0 - (spot * face[near])[:, None] * tint
    return out


def surface_detail(sample, head, surface) -> SkinDetail:
    """Wrinkles and blemishes of ``sample`` on ``surface`` (a :class:`RenderSurface` of ``head``).

    Multiply the render-surface albedo by ``albedo_scale``; give ``wrinkle`` to a back-end that
    can shade relief. Both are identity ones (1 and 0) when the sample has no wrinkles or spots.
    """
    c = _chart(head, surface)
    groove, crest = _wrinkles(sample, c)
    # a crease is a shadowed fold: darker, and slightly redder (light scattered out of it is red)
    scale = (1.0 - groove[:, None] * np.array([0.78, 1.0, 0.96])) * (1.0 + crest[:, None] * 0.6)
    scale *= _blemishes(sample, c)
    return SkinDetail(albedo_scale=scale, wrinkle=groove, lash_strand=c.lash_strand, lash_cover=c.lash_cover)
