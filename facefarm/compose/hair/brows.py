"""Eyebrows: where an identity's brows sit, how thick and dense they are, their hairs and landmarks.

An identity's brow is a band on the neutral head's frontal plane (x from the midline, y up,
metres, head frame): the chart hair roots are sampled in, so roots, paint and labels follow
the identity's shape and every expression. The band is placed per identity so that on the
identity's own neutral-expression face its five 300-W brow points sit where real brows are:

* **mean**: the mean of dlib's 68-point predictor (trained on iBUG 300-W) over real faces,
  OpenFace's ``align_dlib.py`` TEMPLATE: in outer-eye-corner distances ("eye-widths",
  |p36 - p45|) the brow points (which follow the brow's upper edge) sit 0.107-0.211 above the
  upper-lid line, 0.165 on average (``brows`` in ``facefarm/assets/hair/styles.json``);
* **sex** (:data:`SEX_Y_EW`, :data:`SEX_HEIGHT`): men's brows lie lower and flatter on the
  orbital rim and are taller (thicker), women's higher with a higher arch above it;
* **age** (:func:`age_priors`): a small child's brows are thin, sparse, short-haired and lighter
  than the scalp hair; past 40 the tail droops; past 60 brows thin out (they grey through
  ``eyebrows.grey``) and men's hairs grow longer;
* **identity**: the catalog's ``eyebrows.thickness`` (band height) and ``density`` (hairs per
  area), and a random height and arch from the identity stream ``hair.brows.shape``.

The sex and age offsets are set by eye from the anatomy literature's descriptions (brows at the
orbital rim in men, above it in women; lateral brow ptosis with age), not fitted to data.

The same band gives the hairs (:func:`brow_strands`: medial head hairs point up, the body's
and tail's point laterally, the upper rows turning down and the lower ones up so they meet
along the middle: the herringbone of real brows), the colour painted under them and the skin
labelled brow (:meth:`Brow.weight`), and brow landmarks 17-26 (:func:`landmark_rows`):
``top_share`` of the band's height below its top edge, on the rendered surface.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from facefarm.catalog.rng import identity_stream
from facefarm.compose.hair import grow as hg
from facefarm.compose.hair.collision import HeadFrame
from facefarm.compose.hair.regions import NeutralHead, smoothstep
from facefarm.compose.hair.scalp import StrandSet, lerp, points_per_strand, strand_count
from facefarm.compose.hair.styles import BrowShape, library
from facefarm.scene.classes import CLASS_IDS

#: Men's minus women's brow-landmark height above the lid line, eye-widths, inner end .. tail
#: (about 2.5 mm at the peak): lower and flatter brows in men, higher arched ones in women.
SEX_Y_EW = np.array([-0.010, -0.024, -0.030, -0.024, -0.010])
#: Men's brow band height relative to women's, minus one.
SEX_HEIGHT = 0.3
#: Identity spread (sd, eye-widths) of the brow's height and of its arch (peak above the ends).
SPREAD_Y_EW, SPREAD_ARCH_EW = 0.012, 0.008
_ARCH = np.array([0.0, 0.6, 1.0, 0.8, 0.2])
#: Lowest and highest y (metres, neutral head) a brow band may reach: the candidate faces.
_REGION_Y = (-0.006, 0.045)
#: Brows lie in front of this z (metres, neutral head; the tail curves back past the eye centres).
_FRONT_Z = -0.02
#: Softness of the band's edges across it, metres.
_SOFT_M = 0.0012


@dataclass(frozen=True)
class AgePriors:
    """Multipliers of a brow by age: band ``height``, hair ``density``, hair ``length``, hair
    ``melanin``; ``tail_drop_ew``: how far the tail sits lower (eye-widths)."""

    height: float
    density: float
    length: float
    melanin: float
    tail_drop_ew: float


def age_priors(age_years: float, gender: float) -> AgePriors:
    """The brow's age priors at ``age_years`` for ``gender`` (0 female .. 1 male)."""
    a = float(age_years)
    male = float(np.clip(gender, 0.0, 1.0))
    return AgePriors(
        height=float(np.interp(a, [1.0, 4.0, 16.0], [0.7, 0.8, 1.0])),
        density=float(np.interp(a, [1.0, 4.0, 14.0, 55.0, 90.0], [0.45, 0.6, 1.0, 1.0, 0.65])),
        length=float(np.interp(a, [1.0, 4.0, 16.0], [0.5, 0.6, 1.0]))
        * (1.0 + 0.35 * male * float(np.clip((a - 55.0) / 25.0, 0.0, 1.0))),
        # a little lighter only: a dark-haired toddler's brows are sparse, not orange (0.7 at 4
        # years turned black hair's melanin 0.95 into a red-brown brow)
        melanin=float(np.interp(a, [1.0, 4.0, 12.0], [0.85, 0.9, 1.0])),
        tail_drop_ew=0.025 * float(np.clip((a - 40.0) / 40.0, 0.0, 1.0)),
    )


@dataclass(frozen=True, eq=False)
class Brow:
    """One identity's brows on the neutral head (subject's left; the right mirrors it).

    ``x`` (5,) |x| of the five brow landmarks, inner end .. tail; ``line_y`` (5,) their height;
    ``height`` (5,) the band's height there (all metres, neutral head frame); ``top_share``:
    share of the band above the landmark line; ``density``: root density multiplier;
    ``length``: hair length multiplier; ``melanin``: hair melanin multiplier (children's brows
    are lighter than their hair); ``thickness``: the catalog's 0..1 value (it also lengthens hairs);
    ``shape``: the library's mean brow (hair directions, lengths, counts); ``reach`` (5,) how
    far above its root a hair's tip lies on average (metres): roots keep that far below the top
    edge, so the tips of the upright medial hairs end at it instead of above it.
    """

    x: np.ndarray
    line_y: np.ndarray
    height: np.ndarray
    reach: np.ndarray
    top_share: float
    density: float
    length: float
    melanin: float
    thickness: float
    shape: BrowShape

    def t(self, ax: np.ndarray) -> np.ndarray:
        """(n,) position along the brow, 0 at the inner landmark .. 1 at the tail, of |x| ``ax``."""
        return (np.asarray(ax, float) - self.x[0]) / (self.x[-1] - self.x[0])

    def band(self, ax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """((n,), (n,)) lower and upper edge (y, metres) of the band at |x| ``ax``."""
        t = np.clip(self.t(ax), 0.0, 1.0)
        knots = np.linspace(0.0, 1.0, len(self.x))
        line, h = np.interp(t, knots, self.line_y), np.interp(t, knots, self.height)
        return line - (1.0 - self.top_share) * h, line + self.top_share * h

    def weight(self, p: np.ndarray, roots: bool = False) -> np.ndarray:
        """(n,) 0..1 how much of the brow is at (n, 3) neutral-head points (both brows);
        ``roots``: where its hairs are rooted (the band less each hair's reach at the top)."""
        p = np.asarray(p, float)
        ax = np.abs(p[:, 0])
        lo, hi = self.band(ax)
        t = self.t(ax)
        if roots:
            hi = np.maximum(hi - np.interp(np.clip(t, 0.0, 1.0), np.linspace(0.0, 1.0, 5), self.reach), lo + 0.001)
        across = smoothstep((p[:, 1] - lo) / _SOFT_M + 0.5) * smoothstep((hi - p[:, 1]) / _SOFT_M + 0.5)
        along = smoothstep((t + 0.06) / 0.08) * smoothstep((1.1 - t) / 0.1)  # a little past the end points
        return across * along * (p[:, 2] > _FRONT_Z)

    def landmark_xy(self) -> np.ndarray:
        """(10, 2) neutral-head (x, y) of points 17-26: right brow tail -> inner end, then left
        brow inner end -> tail (the 300-W order)."""
        right = np.c_[-self.x[::-1], self.line_y[::-1]]
        left = np.c_[self.x, self.line_y]
        return np.vstack([right, left])


# ---- the frontal chart: the surface point seen at (x, y) from the front -----------------------


class FrontalChart:
    """Front-facing triangles of a neutral mesh around the brows, to find the surface at (x, y).

    ``vertices`` (V, 3) neutral-head positions; ``faces`` (F, 3); ``face_ids`` the triangles
    to search (front-facing skin around the eyes and brows).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, face_ids: np.ndarray):
        self.vertices = np.asarray(vertices, np.float64)
        self.faces = np.asarray(faces)
        self.face_ids = np.asarray(face_ids)
        tri = self.vertices[self.faces[self.face_ids]]
        self._a = tri[:, 0, :2]
        self._e1 = tri[:, 1, :2] - self._a
        self._e2 = tri[:, 2, :2] - self._a
        self._det = self._e1[:, 0] * self._e2[:, 1] - self._e1[:, 1] * self._e2[:, 0]
        self._z = tri[:, :, 2].mean(axis=1)

    def locate(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """((n,) face ids, (n, 3) barycentric weights) of the front-most surface at (n, 2) ``xy``."""
        q = np.asarray(xy, np.float64)[:, None, :] - self._a[None]
        det = np.where(np.abs(self._det) < 1e-16, 1e-16, self._det)
        u = (q[..., 0] * self._e2[:, 1] - q[..., 1] * self._e2[:, 0]) / det
        v = (self._e1[:, 0] * q[..., 1] - self._e1[:, 1] * q[..., 0]) / det
        bary = np.stack([1.0 - u - v, u, v], axis=-1)  # (n, m, 3)
        worst = bary.min(axis=-1)
        inside = worst >= -1e-9
        score = np.where(inside, self._z[None], -np.inf)
        best = np.argmax(score, axis=1)
        none = ~inside.any(axis=1)
        best[none] = np.argmax(worst[none], axis=1)  # outside every triangle: the nearest one
        b = np.clip(bary[np.arange(len(best)), best], 0.0, None)
        return self.face_ids[best], b / b.sum(axis=1, keepdims=True)

    def points(self, xy: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        """(n, 3) the points at ``xy`` on the neutral mesh carried to ``vertices`` (same topology)."""
        face, bary = self.locate(xy)
        return np.einsum("nk,nkd->nd", bary, np.asarray(vertices, np.float64)[self.faces[face]])


def _region_faces(vertices: np.ndarray, faces: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Ids of front-facing ``skin`` (bool (F,)) faces where a brow may lie."""
    tri = vertices[faces]
    c = tri.mean(axis=1)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    sel = skin & (n[:, 2] > 0.2 * np.linalg.norm(n, axis=1)) & (c[:, 2] > _FRONT_Z)
    sel &= (np.abs(c[:, 0]) < 0.075) & (c[:, 1] > _REGION_Y[0]) & (c[:, 1] < _REGION_Y[1])
    return np.flatnonzero(sel)


_CHARTS: dict[object, FrontalChart] = {}


def coarse_chart(head) -> FrontalChart:
    """The frontal chart of the head's coarse neutral mesh (cached per asset)."""
    key = (getattr(head, "path", None) or id(head), "coarse")
    if key not in _CHARTS:
        v = np.asarray(head.neutral, np.float64)
        skin = np.asarray(head.face_part) == head.part_names.index("skin")
        _CHARTS[key] = FrontalChart(v, head.faces, _region_faces(v, head.faces, skin))
    return _CHARTS[key]


def surface_chart(head, surface) -> FrontalChart:
    """The frontal chart of render ``surface`` on the neutral head (cached per asset and level)."""
    key = (getattr(head, "path", None) or id(head), surface.level)
    if key not in _CHARTS:
        v = surface.vertices(np.asarray(head.neutral, np.float64))
        skin = np.asarray(surface.face_part) == head.part_names.index("skin")
        _CHARTS[key] = FrontalChart(v, surface.faces, _region_faces(v, surface.faces, skin))
    return _CHARTS[key]


@lru_cache(maxsize=8)
def _neutral_eyes(head) -> tuple[float, float]:
    """(eye-width, upper-lid line y) of the neutral head, metres."""
    return _eyes(head.landmark_points(np.asarray(head.neutral, np.float64)))


def _eyes(lm: np.ndarray) -> tuple[float, float]:
    return float(np.linalg.norm(lm[45, :2] - lm[36, :2])), float(lm[[37, 38, 43, 44], 1].mean())


# ---- one identity's brow ---------------------------------------------------------------------


def identity_brow(sample, head, rest: np.ndarray) -> Brow:
    """The brows of ``sample``'s identity, placed on its neutral-expression ``rest`` vertices
    ((V, 3) metres, head frame): the same for every image of the identity."""
    shape = library().brows
    rng = identity_stream(sample, "hair.brows.shape")
    gender = float(np.clip(sample.gender, 0.0, 1.0))
    age = age_priors(float(sample.age_years), gender)
    sex = gender - 0.5
    target = np.asarray(shape.landmark_y_ew) + sex * SEX_Y_EW
    target = target + rng.normal(0.0, SPREAD_Y_EW) + rng.normal(0.0, SPREAD_ARCH_EW) * _ARCH
    target[3:] -= age.tail_drop_ew * np.array([0.4, 1.0])
    thickness = float(np.clip(sample.eyebrows.thickness, 0.0, 1.0))
    height_ew = np.asarray(shape.height_ew) * (0.75 + 0.5 * thickness) * (1.0 + SEX_HEIGHT * sex) * age.height
    height_ew = height_ew * float(np.exp(rng.normal(0.0, 0.08)))

    # the neutral-head y where each landmark lands target eye-widths above the identity's lids:
    # probe two heights per point on both sides and solve the (locally linear) map
    ew_n, lid_n = _neutral_eyes(head)
    x = np.asarray(shape.landmark_x_ew) * ew_n
    ew_i, lid_i = _eyes(head.landmark_points(rest))
    chart = coarse_chart(head)
    y0 = lid_n + target * ew_n
    dy = 0.004
    xs = np.concatenate([x, -x, x, -x])
    ys = np.concatenate([y0, y0, y0 - dy, y0 - dy])
    got = (chart.points(np.c_[xs, ys], rest)[:, 1] - lid_i) / ew_i
    h1, h2 = 0.5 * (got[:5] + got[5:10]), 0.5 * (got[10:15] + got[15:])
    slope = np.maximum((h1 - h2) / dy, 1.0)  # eye-widths per neutral metre
    line_y = y0 + (target - h1) / slope
    density = (0.5 + 0.6 * float(np.clip(sample.eyebrows.density, 0.0, 1.0))) * age.density
    t = np.linspace(0.0, 1.0, 5)
    up = np.clip(np.sin(np.radians(BrowShape.profile(shape.angle_deg, t))), 0.0, None)
    mean_length = lerp(shape.length_m, 0.3 + 0.7 * thickness) * age.length * 0.78 * (1.0 - 0.4 * t)
    return Brow(
        x=x,
        line_y=line_y,
        height=height_ew / slope,
        reach=0.5 * mean_length * up,
        top_share=shape.top_share,
        density=density * (1.0 + 0.15 * sex),
        length=age.length,
        melanin=age.melanin,
        thickness=thickness,
        shape=shape,
    )


# ---- hairs -----------------------------------------------------------------------------------


def brow_strands(
    brow: Brow, detail: float, nh: NeutralHead, frame: HeadFrame, rng: np.random.Generator
) -> dict[str, StrandSet]:
    """{"r": right brow, "l": left brow} strands of one identity (head frame)."""
    shape = brow.shape
    k = points_per_strand(shape.points, detail)
    if "brows" not in nh.cache:  # faces any brow may cover: the same for every identity
        allowed = np.zeros(len(nh.faces), bool)
        v = nh.vertices
        allowed[_region_faces(v, nh.faces, nh.face_is_skin)] = True
        allowed &= np.isin(nh.face_class, [CLASS_IDS["SKIN"], CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]])
        nh.cache["brows"] = np.flatnonzero(allowed)
    faces = nh.cache["brows"]
    n = strand_count(shape.strands, brow.density, detail) * 2
    roots = nh.sample(faces, lambda p: brow.weight(p, roots=True), n, rng)
    if len(roots) == 0:
        return {"r": StrandSet.empty(k), "l": StrandSet.empty(k)}
    m = len(roots)
    pos = roots.on(frame.vertices, nh.faces)
    nr = frame.surface.query(pos)
    ax = np.abs(roots.neutral[:, 0])
    t = np.clip(brow.t(ax), 0.0, 1.0)
    lo, hi = brow.band(ax)
    across = np.clip((roots.neutral[:, 1] - 0.5 * (lo + hi)) / np.maximum(0.5 * (hi - lo), 1e-4), -1.0, 1.0)
    # herringbone: past the head the upper hairs point down and the lower ones up, meeting mid-band
    turn = -shape.herringbone_deg * across * smoothstep((t - 0.12) / 0.2)
    ang = np.radians(BrowShape.profile(shape.angle_deg, t) + turn + rng.normal(0, 6, m))
    side = np.sign(roots.neutral[:, 0])
    direction = np.c_[side * np.cos(ang), np.sin(ang), np.zeros(m)]
    longest = lerp(shape.length_m, 0.3 + 0.7 * brow.thickness) * brow.length
    length = longest * rng.uniform(0.55, 1.0, m) * (1.0 - 0.4 * t)  # mean 0.78: see identity_brow
    spec = hg.GrowSpec(
        length=length,
        lift=0.08,
        stiffness=0.5,
        gravity=np.zeros(3),
        gravity_weight=0.0,
        offset=rng.uniform(0.0, 0.0005, m),
        steps=k - 1,
    )
    pts = hg.grow(frame.surface, pos, nr.normal, lambda p, near, s: direction, spec)
    area = 2.0 * float(np.mean(brow.height)) * float(brow.x[-1] - brow.x[0]) * frame.scale**2
    r0 = float(np.clip(shape.coverage * area / (2 * m * max(float(length.mean()), 1e-3)), 3e-5, 4e-4))
    radius = r0 * np.linspace(1.0, 0.35, k)[None, :] * rng.uniform(0.8, 1.2, (m, 1))
    left = side > 0
    return {"r": StrandSet(pts[~left], radius[~left]), "l": StrandSet(pts[left], radius[left])}


# ---- landmarks and the brow on the rendered surface ------------------------------------------


def landmark_rows(brow: Brow, head, surface) -> sp.csr_matrix:
    """(10, V) float64 CSR over the coarse head vertices: brow landmarks 17-26 of ``brow`` on
    render ``surface`` (rows @ vertices puts them exactly on its triangles)."""
    chart = surface_chart(head, surface)
    face, bary = chart.locate(brow.landmark_xy())
    ids = surface.faces[face]
    rows = sp.csr_matrix(
        (bary.ravel(), (np.repeat(np.arange(len(face)), 3), ids.ravel())), shape=(len(face), surface.n_vertices)
    )
    return (rows @ surface.operator).tocsr()


def surface_weight(brow: Brow, head, surface) -> np.ndarray:
    """(V_r,) 0..1 the brow at each vertex of render ``surface`` (its neutral-head position)."""
    return brow.weight(surface_chart(head, surface).vertices)


def brow_face_class(brow: Brow, head, surface, face_ids: np.ndarray, face_class: np.ndarray) -> np.ndarray:
    """``face_class`` (m,) of render-surface faces ``face_ids`` (m,) relabelled for this brow:
    skin faces mostly inside the band are RIGHT_BROW / LEFT_BROW, the head's fixed brow regions
    outside it SKIN. A face with a corner wholly outside stays skin (on a coarse surface it would
    stick out of the brow as a spike); the hairs label the band's edges."""
    corners = surface_weight(brow, head, surface)[surface.faces[face_ids]]
    inside = (corners.mean(axis=1) > 0.5) & (corners.min(axis=1) > 0.05)
    x = surface_chart(head, surface).vertices[surface.faces[face_ids]].mean(axis=1)[:, 0]
    out = np.asarray(face_class).copy()
    brows = (CLASS_IDS["RIGHT_BROW"], CLASS_IDS["LEFT_BROW"])
    out[np.isin(out, brows) & ~inside] = CLASS_IDS["SKIN"]
    under = inside & np.isin(out, (CLASS_IDS["SKIN"], *brows))
    out[under] = np.where(x[under] > 0, CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"])
    return out
