"""Eyebrows and facial hair (stubble, moustache, goatee, full beard) as short strands.

Brows are drawn in the frontal plane of the neutral head (the same place the head's BROW
classes and painted brows sit) and grow medial -> lateral, rising at the inner end and
falling at the tail. Facial hair covers the union of face-chart polygons of its style and
grows downwards (backwards under the jaw), lying close to the skin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facefarm.compose.hair import grow as hg
from facefarm.compose.hair.collision import HeadFrame
from facefarm.compose.hair.regions import NeutralHead, polygon_weight, smoothstep
from facefarm.compose.hair.scalp import StrandSet, lerp, points_per_strand, strand_count
from facefarm.compose.hair.styles import BrowShape, FacialStyle, HairLibrary
from facefarm.scene.classes import CLASS_IDS

EX, EY, EZ = np.eye(3)


# ---- eyebrows -------------------------------------------------------------------------------


def brow_weight(nh: NeutralHead, shape: BrowShape, thickness: float):
    """Weight (0..1) of the brow region at (n, 3) neutral points; ``thickness`` 0..1 scales its height."""
    x0, x1 = shape.x_range_m
    scale_h = 0.7 + 0.6 * float(np.clip(thickness, 0, 1))

    def weight(p: np.ndarray) -> np.ndarray:
        t = (np.abs(p[:, 0]) - x0) / (x1 - x0)
        yc = BrowShape.profile(shape.centre_y_m, t)
        hh = BrowShape.profile(shape.half_height_m, t) * scale_h
        across = smoothstep((hh - np.abs(p[:, 1] - yc)) / 0.0015 + 0.5)
        along = smoothstep(t / 0.06 + 0.5) * smoothstep((1 - t) / 0.04 + 0.5)
        return across * along * (p[:, 2] > nh.centre[2])

    return weight


def brow_strands(
    shape: BrowShape,
    thickness: float,
    density: float,
    detail: float,
    nh: NeutralHead,
    frame: HeadFrame,
    rng: np.random.Generator,
) -> dict[str, StrandSet]:
    """{"r": right brow, "l": left brow} strands of one identity."""
    k = points_per_strand(shape.points, detail)
    weight = brow_weight(nh, shape, thickness)
    if "brows" not in nh.cache:  # faces under the thickest brow: a superset for every identity
        allowed = (
            nh.face_is_skin
            & (nh.face_normal[:, 2] > 0.2)
            & np.isin(nh.face_class, [CLASS_IDS["SKIN"], CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]])
        )
        nh.cache["brows"] = nh.candidate_faces(brow_weight(nh, shape, 1.0), allowed)
    faces = nh.cache["brows"]
    n = strand_count(shape.strands, 0.5 + 0.6 * density, detail) * 2
    roots = nh.sample(faces, weight, n, rng)
    if len(roots) == 0:
        return {"r": StrandSet.empty(k), "l": StrandSet.empty(k)}
    pos = roots.on(frame.vertices, nh.faces)
    nr = frame.surface.query(pos)
    x0, x1 = shape.x_range_m
    t = np.clip((np.abs(roots.neutral[:, 0]) - x0) / (x1 - x0), 0, 1)
    ang = np.radians(BrowShape.profile(shape.angle_deg, t) + rng.normal(0, 8, len(t)))
    side = np.sign(roots.neutral[:, 0])
    direction = np.c_[side * np.cos(ang), np.sin(ang), np.zeros(len(t))]
    length = lerp(shape.length_m, 0.3 + 0.7 * thickness) * rng.uniform(0.6, 1.0, len(t)) * (1 - 0.4 * t)
    spec = hg.GrowSpec(
        length=length,
        lift=0.12,
        stiffness=0.5,
        gravity=np.zeros(3),
        gravity_weight=0.0,
        offset=rng.uniform(0.0, 0.0008, len(t)),
        steps=k - 1,
    )
    pts = hg.grow(frame.surface, pos, nr.normal, lambda p, near, s: direction, spec)
    area = 2 * 0.6 * (x1 - x0) * 2 * 0.0038 * (0.7 + 0.6 * thickness)
    r0 = np.clip(shape.coverage * area / (2 * len(t) * max(length.mean(), 1e-3)), 4e-5, 6e-4)
    radius = r0 * np.linspace(1.0, 0.4, k)[None, :] * rng.uniform(0.8, 1.2, (len(t), 1))
    left = side > 0
    return {"r": StrandSet(pts[~left], radius[~left]), "l": StrandSet(pts[left], radius[left])}


# ---- facial hair ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FacialRequest:
    style: FacialStyle
    density: float
    curl: float  # the scalp hair's curl: beards curl with it
    length: float  # 0..1 within the style's range (identity-level random)
    detail: float = 1.0


def facial_strands(
    req: FacialRequest, lib: HairLibrary, nh: NeutralHead, frame: HeadFrame, rng: np.random.Generator
) -> StrandSet:
    st = req.style
    k = points_per_strand(st.points, req.detail)
    if st.strands == 0:
        return StrandSet.empty(k)
    soft = 0.002 if st.id == "stubble" else 0.003
    weight = polygon_weight(nh, [lib.facial_regions[r] for r in st.regions], soft)
    key = ("facial", st.regions, soft)
    if key not in nh.cache:  # the same for every identity: the regions live on the neutral head
        allowed = nh.face_is_skin & np.isin(nh.face_class, [CLASS_IDS["SKIN"], CLASS_IDS["NECK"]])
        nh.cache[key] = nh.candidate_faces(weight, allowed)
    faces = nh.cache[key]
    n = strand_count(st.strands, 0.4 + 0.7 * req.density, req.detail)
    roots = nh.sample(faces, weight, n, rng)
    if len(roots) == 0:
        return StrandSet.empty(k)
    n = len(roots)
    pos = roots.on(frame.vertices, nh.faces)
    nr = frame.surface.query(pos)
    under_jaw = smoothstep((-nr.normal[:, 1] - 0.3) / 0.4)[:, None]  # skin facing down: comb backwards
    side = np.tanh(pos[:, 0] / 0.01)[:, None]
    comb_dir = (1 - under_jaw) * (-EY + 0.25 * side * EX) + under_jaw * (-EZ * 0.8 - EY * 0.5)
    length = lerp(st.length_m, req.length) * rng.uniform(0.7, 1.0, n)
    curl_amount = max(st.curl, 0.8 * req.curl) if st.id != "stubble" else 0.0
    curl = hg.Curl.from_amount(curl_amount)
    shrink = curl.shrink if curl else 1.0
    offset = rng.uniform(0.0, 1.0, n) * (0.12 * length if st.id != "stubble" else 0.0)
    spec = hg.GrowSpec(
        length=length * shrink,
        lift=st.lift,
        stiffness=0.4,
        gravity=frame.gravity,
        gravity_weight=0.6,
        offset=offset,
        steps=max(k - 1, 2 if st.id == "stubble" else 4),
    )
    if n > 600 and k > 4:
        gi = np.arange(min(n, 400))
        guides = hg.grow(
            frame.surface,
            pos[gi],
            nr.normal[gi],
            lambda p, near, s: comb_dir[gi],
            hg.GrowSpec(**{**spec.__dict__, "length": spec.length[gi], "offset": spec.offset[gi]}),
        )
        group = (pos[:, 0] > 0).astype(int)
        curves = hg.children(pos[gi], guides, group[gi], pos, group)
        cut = np.minimum(length * shrink, hg.arc_length(curves)[:, -1])
        curves = hg.resample(curves, max(k, 8), upto=cut)
    else:
        curves = hg.grow(frame.surface, pos, nr.normal, lambda p, near, s: comb_dir, spec)
    if curl is not None:
        curves = curves + hg.smooth_noise(curves, np.full(n, curl.radius), max(curl.period * 3, 0.01), rng)
    pts = hg.resample(curves, k)
    pts = hg.settle(frame.surface, pts, hg.MIN_OFFSET_M)
    tri = frame.vertices[nh.faces[faces]]
    area = float(
        (
            0.5
            * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
            * weight(nh.vertices[nh.faces[faces]].mean(axis=1))
        ).sum()
    )
    r0 = float(np.clip(st.coverage * area / (2 * n * max(length.mean(), 1e-3)), 4e-5, 8e-4))
    radius = r0 * np.linspace(1.0, 0.5, k)[None, :] * rng.uniform(0.8, 1.2, (n, 1))
    return StrandSet(pts, radius)
