"""Facial hair (stubble, moustache, goatee, full beard) as short strands.

Facial hair covers the union of face-chart polygons of its style and grows downwards
(backwards under the jaw), lying close to the skin. Eyebrows: :mod:`facefarm.compose.hair.brows`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facefarm.compose.hair import grow as hg
from facefarm.compose.hair.collision import HeadFrame
from facefarm.compose.hair.regions import NeutralHead, polygon_weight, smoothstep
from facefarm.compose.hair.scalp import StrandSet, lerp, points_per_strand, strand_count
from facefarm.compose.hair.styles import FacialStyle, HairLibrary
from facefarm.scene.classes import CLASS_IDS

EX, EY, EZ = np.eye(3)
#: Widest a facial hair strand's radius may be for its length.
MAX_WIDTH_PER_LENGTH = 0.08


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
    # a strand stays a hair, not a chip: short stubble sized to cover its region came out as wide
    # as long (its cover is the shadow painted under it, facefarm.compose.hair.base)
    r0 = min(r0, max(4e-5, MAX_WIDTH_PER_LENGTH * float(length.mean())))
    radius = r0 * np.linspace(1.0, 0.5, k)[None, :] * rng.uniform(0.8, 1.2, (n, 1))
    return StrandSet(pts, radius)
