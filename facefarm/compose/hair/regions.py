"""Where hair grows: region weights on the neutral head and roots bound to the mesh.

Regions are defined once, on the neutral HM08 head (``head.neutral``), in two charts:

* the **scalp chart**: azimuth (0 = face, +90 = subject's left ear, 180 = back) and
  elevation, in degrees, seen from the midpoint of the two ears;
* the **face chart**: the same azimuth, unrolled to arc length on a 9 cm cylinder, and the
  height above the eye centres, both metres (beards), or the frontal plane (brows).

Roots are sampled area-uniformly on the neutral head, accepted with the region weight
there, and stored as (face, barycentric) pairs, so the same roots follow every identity,
age and expression of the mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from facefarm.geometry import vectors
from facefarm.head.regions import inside_polygon
from facefarm.scene.classes import CLASS_IDS

#: Radius (m) that turns face-chart azimuth into arc length, about the cheek's distance from the ear axis.
CHART_RADIUS_M = 0.09

WeightFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Roots:
    """Strand roots bound to the head mesh.

    face (n,) int64 index into ``head.faces`` · bary (n, 3) float64 barycentric coordinates ·
    neutral (n, 3) float64 the same points on the neutral head (metres, head frame).
    """

    face: np.ndarray
    bary: np.ndarray
    neutral: np.ndarray

    def __len__(self) -> int:
        return len(self.face)

    def on(self, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(n, 3) root positions on ``vertices`` (V, 3) of the same topology."""
        tri = np.asarray(vertices, np.float64)[faces[self.face]]
        return np.einsum("nk,nkd->nd", self.bary, tri)

    def take(self, idx: np.ndarray) -> "Roots":
        return Roots(self.face[idx], self.bary[idx], self.neutral[idx])


class NeutralHead:
    """The neutral head's charts and per-face data, shared by every identity (cache per head)."""

    def __init__(self, head):
        self.faces = np.asarray(head.faces, np.int64)
        self.vertices = np.asarray(head.neutral, np.float64)
        v = self.vertices
        skin = head.part_names.index("skin")
        self.face_is_skin = np.asarray(head.face_part) == skin
        self.face_class = np.asarray(head.face_class)
        vc = np.asarray(head.vertex_class)
        ears = np.isin(vc, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]])
        #: (3,) the scalp chart's origin: midpoint of the ears
        self.centre = v[ears].mean(axis=0)
        self.scalp_vertex = np.zeros(len(v), bool)
        self.scalp_vertex[np.asarray(head.scalp)] = True
        fn = np.cross(v[self.faces[:, 1]] - v[self.faces[:, 0]], v[self.faces[:, 2]] - v[self.faces[:, 0]])
        self.face_normal = vectors.unit(fn)
        self.skin_vertices = np.unique(self.faces[self.face_is_skin])
        # the face lies in front of the eyeball centres (z > 0), the neck behind them
        mid = self.skin_vertices[(np.abs(v[self.skin_vertices, 0]) < 2e-3) & (v[self.skin_vertices, 2] > 0.0)]
        #: identity-independent results (candidate faces of fixed regions), filled by callers
        self.cache: dict = {}
        #: vertex id of the chin's lowest midline point
        self.chin_vertex = int(mid[np.argmin(v[mid, 1])])

    # ---- charts --------------------------------------------------------------------------
    def scalp_chart(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(azimuth, elevation) degrees of (n, 3) neutral points about the ear midpoint."""
        d = np.asarray(p, np.float64) - self.centre
        az = np.degrees(np.arctan2(d[:, 0], d[:, 2]))
        el = np.degrees(np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2])))
        return az, el

    def face_chart(self, p: np.ndarray) -> np.ndarray:
        """(n, 2) metres: (|azimuth| as arc length on a 9 cm cylinder, height above the eyes)."""
        az, _ = self.scalp_chart(p)
        return np.c_[np.radians(np.abs(az)) * CHART_RADIUS_M, np.asarray(p)[:, 1]]

    def surface_vertex(self, az_deg: float, el_deg: float) -> int:
        """The skin vertex seen from the chart origin in direction (azimuth, elevation)."""
        a, e = np.radians(az_deg), np.radians(el_deg)
        d = np.array([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])
        rel = self.vertices[self.skin_vertices] - self.centre
        cos = rel @ d / vectors.length(rel)
        return int(self.skin_vertices[np.argmax(cos)])

    # ---- sampling -------------------------------------------------------------------------
    def candidate_faces(self, weight: WeightFn, allowed: np.ndarray) -> np.ndarray:
        """Face ids among ``allowed`` (bool (F,)) where ``weight`` is positive at a corner or the centre."""
        ids = np.flatnonzero(allowed)
        tri = self.vertices[self.faces[ids]]
        probes = np.concatenate([tri.reshape(-1, 3), tri.mean(axis=1)])
        w = weight(probes)
        w_corner = w[: 3 * len(ids)].reshape(-1, 3).max(axis=1)
        w_centre = w[3 * len(ids) :]
        return ids[np.maximum(w_corner, w_centre) > 0]

    def sample(self, faces: np.ndarray, weight: WeightFn, n: int, rng: np.random.Generator) -> Roots:
        """``n`` roots area-uniform over ``faces`` (ids) of the neutral head, accepted with ``weight``.

        Sampling on the neutral head (not the posed identity) keeps the same roots, in the same
        order, for every expression and pose of an identity. Returns fewer than ``n`` roots
        only when the region is (nearly) empty.
        """
        empty = Roots(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)))
        if n <= 0 or len(faces) == 0:
            return empty
        tri = self.vertices[self.faces[faces]]
        area = 0.5 * vectors.length(vectors.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]))
        if area.sum() <= 0:
            return empty
        prob = area / area.sum()
        got: list[Roots] = []
        have, draws = 0, max(64, 2 * n)
        for _ in range(6):
            f = faces[rng.choice(len(faces), size=draws, p=prob)]
            r1, r2 = rng.random(draws), rng.random(draws)
            s = np.sqrt(r1)
            bary = np.c_[1.0 - s, s * (1.0 - r2), s * r2]
            neutral = np.einsum("nk,nkd->nd", bary, self.vertices[self.faces[f]])
            keep = rng.random(draws) < weight(neutral)
            got.append(Roots(f[keep], bary[keep], neutral[keep]))
            have += int(keep.sum())
            if have >= n:
                break
            rate = max(have / (draws * len(got)), 0.02)
            draws = int(min(4 * n / rate, 400_000))
        face = np.concatenate([g.face for g in got])[:n]
        bary = np.concatenate([g.bary for g in got])[:n]
        neutral = np.concatenate([g.neutral for g in got])[:n]
        return Roots(face, bary, neutral)


# ---- region weights (each returns a function of (n, 3) neutral points -> (n,) 0..1) ------------


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def scalp_weight(
    nh: NeutralHead,
    hairline: np.ndarray,
    *,
    soft_deg: float = 4.0,
    raise_deg: float = 0.0,
    temple_recession_deg: float = 0.0,
    crown_bald_deg: float = 0.0,
    top_thinning: float = 0.0,
    phase: float = 0.0,
) -> WeightFn:
    """Weight of scalp hair above ``hairline`` ((k, 2) [|azimuth|, min elevation] deg).

    ``raise_deg`` lifts the whole front hairline; ``temple_recession_deg`` lifts it more at the
    temples (azimuth ~45 deg); ``crown_bald_deg`` is the angular radius of a bald crown;
    ``top_thinning`` (0..1) thins hair over the top; ``phase`` varies the hairline's wobble.
    """
    crown = np.array([0.0, np.sin(np.radians(70.0)), -np.cos(np.radians(70.0))])

    def weight(p: np.ndarray) -> np.ndarray:
        az, el = nh.scalp_chart(p)
        a = np.abs(az)
        front = smoothstep((70.0 - a) / 20.0)  # the front hairline only, not the sideburns or nape
        line = np.interp(a, hairline[:, 0], hairline[:, 1])
        line = line + front * (raise_deg + temple_recession_deg * np.exp(-(((a - 45.0) / 14.0) ** 2)))
        line = line + 1.2 * np.sin(np.radians(a) * 9.0 + phase) + 0.8 * np.sin(np.radians(a) * 23.0 + 2 * phase)
        w = smoothstep((el - line) / soft_deg + 0.5)
        if crown_bald_deg > 0 or top_thinning > 0:
            d = np.asarray(p, np.float64) - nh.centre
            ang = np.degrees(np.arccos(np.clip(d @ crown / vectors.length(d), -1, 1)))
            if crown_bald_deg > 0:
                w = w * smoothstep((ang - crown_bald_deg) / 8.0 + 0.5)
            if top_thinning > 0:
                w = w * (1.0 - top_thinning * smoothstep((crown_bald_deg + 25.0 - ang) / 20.0))
        return w

    return weight


def polygon_weight(nh: NeutralHead, polygons: list[np.ndarray], soft_m: float) -> WeightFn:
    """Weight inside the union of face-chart ``polygons`` ((k, 2) [|azimuth| deg, height m]),
    ramping from 0 to 1 over ``soft_m`` metres inside the edge."""
    polys = [np.c_[np.radians(np.abs(pg[:, 0])) * CHART_RADIUS_M, pg[:, 1]] for pg in polygons]

    def weight(p: np.ndarray) -> np.ndarray:
        q = nh.face_chart(p)
        best = np.zeros(len(q))
        for pg in polys:
            inside = inside_polygon(q, pg)
            a, b = pg, np.roll(pg, -1, axis=0)
            ab = b - a
            t = np.clip(vectors.dot(q[:, None, :] - a, ab) / np.maximum(vectors.dot(ab, ab), 1e-20), 0, 1)
            dist = vectors.length(q[:, None, :] - (a + t[..., None] * ab)).min(axis=1)
            best = np.maximum(best, np.where(inside, smoothstep(dist / soft_m), 0.0))
        return best

    return weight
