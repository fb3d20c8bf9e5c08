"""Parametric spectacles fitted to one head: frame families from data, fitted by surface distance.

A frame family (``facefarm/assets/glasses/families.json``) is a lens outline (two superellipse halves
plus tear-drop, cat-eye lift and tilt), a rim style (full, browline, rimless), a material
(metal or acetate), a bridge style and nose pads. :func:`fit_glasses` sizes it to the head
(lens width from the inter-pupil distance, so children get small glasses), puts the lens
backs ~12 mm in front of the corneas with pantoscopic tilt and face-form wrap, pushes the
whole front forward until nothing is within :data:`CLEARANCE_M` of the skin (brows, nose,
cheeks raised by a smile), seats the nose pads on the nose and runs the temples from the
hinges to just above the ear roots and down behind the ears, pushed out of the skin.

Everything here is in the **head frame** (metres, +y up, +z out of the face, +x the
subject's left), the frame of ``HeadModel.shape`` vertices; the compositor maps it to the
world. The generic geometry used for the fit (signed distance near the skin, tube sweeping) is
:mod:`facefarm.geometry.surface`; :func:`facefarm.compose.attachments.glasses_meshes` picks
between these families and the user's glasses assets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from facefarm.catalog.colors import rgb, srgb_to_linear_rgb
from facefarm.geometry import vectors
from facefarm.geometry.surface import SurfaceDistance, orient_outward, sweep
from facefarm.paths import ASSETS
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import Material, Mesh

FAMILIES_PATH = ASSETS / "glasses" / "families.json"

#: Lens back surface to cornea apex for an adult (vertex distance; opticians fit 12-14 mm).
VERTEX_DISTANCE_M = 0.012
#: Smallest gap allowed between any part of the glasses and the skin, eyeballs or lashes.
CLEARANCE_M = 0.0015
#: Adult inter-pupil distance the fit scales from (children get proportionally smaller frames).
ADULT_IPD_M = 0.063
PANTOSCOPIC_TILT_DEG = 8.0  # lens bottoms towards the cheeks, as worn
WRAP_DEG = 5.0  # face-form: temporal lens edges further back
LENS_THICKNESS_M = 0.002
BASE_CURVE_RADIUS_M = 0.11  # front surface radius of the lens (a ~4.5 D base curve)
_OUTLINE_POINTS = 72

# parts of the head the glasses must stay clear of, by HeadModel.part_names
_SOLID_PARTS = ("skin", "eye_r", "eye_l")
_SHEET_PARTS = ("lash_r", "lash_l")


# ---------------------------------------------------------------------------------- families
class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class LensOutline(_Spec):
    """Shape of one lens (see the description in ``families.json``)."""

    exponent_top: float = Field(2.0, ge=1.0, le=12.0, description="superellipse exponent, upper half")
    exponent_bottom: float = Field(2.0, ge=1.0, le=12.0, description="superellipse exponent, lower half")
    aspect: float = Field(0.7, gt=0.2, le=1.5, description="lens box height / width")
    bottom_scale: float = Field(1.0, gt=0.3, le=2.0, description="lower half-height / upper half-height")
    bottom_nasal_shift: float = Field(0.0, ge=0.0, le=0.5, description="tear drop: lowest point towards nose")
    temporal_lift: float = Field(0.0, ge=0.0, le=1.0, description="cat-eye: upper temporal corner lift")
    tilt_deg: float = Field(0.0, ge=-20.0, le=20.0, description="outline rotation, temporal side up")
    nasal_cut: float = Field(0.25, ge=0.0, le=0.6, description="lower nasal corner pulled in to clear the nose")


class FrameFamily(_Spec):
    """One frame family: lens outline, proportions to the face, rim, material, bridge."""

    outline: LensOutline
    width_per_ipd: float = Field(ge=0.5, le=1.1, description="lens box width / inter-pupil distance")
    dbl_per_ipd: float = Field(ge=0.15, le=0.5, description="distance between lenses / inter-pupil distance")
    rim: Literal["full", "top", "none"]
    material: Literal["metal", "acetate"]
    rim_top: float = Field(1.0, gt=0.0, le=4.0, description="rim thickness multiplier above the lens centre")
    rim_bottom: float = Field(1.0, gt=0.0, le=4.0, description="rim thickness multiplier below the lens centre")
    bridge: Literal["saddle", "wire", "double"]
    pads: bool


class _FamiliesFile(_Spec):
    description: str
    version: Literal[1]
    families: dict[str, FrameFamily]


@lru_cache(maxsize=None)
def families() -> Mapping[str, FrameFamily]:
    """Frame family name -> :class:`FrameFamily`, from ``facefarm/assets/glasses/families.json``."""
    doc = _FamiliesFile.model_validate(json.loads(FAMILIES_PATH.read_text()))
    return dict(doc.families)


@dataclass(frozen=True)
class GlassesParams:
    """What the catalog chose. Colours are sRGB 0..1 (as in ``ResolvedSample``)."""

    family: str
    color_rgb: tuple[float, float, float] = (0.07, 0.07, 0.07)
    thickness_mm: float = 3.0
    lens_tint_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)
    lens_transmission: float = 0.9

    @staticmethod
    def from_sample(sample) -> "GlassesParams | None":
        """The glasses of a ``ResolvedSample`` (its ``glasses`` field), or None when it has none."""
        g = sample.glasses
        if not g.present or not g.family or g.family == "none":
            return None
        d = GlassesParams(family=g.family)
        return GlassesParams(
            family=g.family,
            color_rgb=tuple(g.color_rgb) if g.color_rgb is not None else d.color_rgb,
            thickness_mm=float(g.thickness_mm) if g.thickness_mm is not None else d.thickness_mm,
            lens_tint_rgb=tuple(g.lens_tint_rgb) if g.lens_tint_rgb is not None else d.lens_tint_rgb,
            lens_transmission=(float(g.lens_transmission) if g.lens_transmission is not None else d.lens_transmission),
        )


@dataclass(frozen=True)
class FittedGlasses:
    """The fitted meshes (head frame) and the numbers the fit settled on (metres)."""

    meshes: tuple[Mesh, ...]
    lens_width: float
    bridge_width: float
    vertex_distance: float  # lens back (at its centre) to the cornea apex, after the push
    forward_push: float  # how far the front had to move forward to clear the face
    clearance: float  # smallest distance of the front and temples to the head, as fitted


# ---------------------------------------------------------------------------------- outline
def lens_outline(outline: LensOutline, width: float, n: int = _OUTLINE_POINTS) -> np.ndarray:
    """(n, 2) float64 lens outline in metres, counter-clockwise, centred on its bounding box.

    u (column 0) points towards the temple, v (column 1) up; the box is ``width`` wide and
    ``outline.aspect * width`` high. Points are evenly spaced by arc length, point 0 on +u.
    """
    t = np.linspace(0.0, 2 * np.pi, 2048, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    top = s >= 0
    ex = np.where(top, outline.exponent_top, outline.exponent_bottom)
    u = np.sign(c) * np.abs(c) ** (2.0 / ex)
    v = np.sign(s) * np.abs(s) ** (2.0 / ex) * np.where(top, 1.0, outline.bottom_scale)
    # tear drop: the lower half leans towards the nose, most at the lowest point
    u = u - outline.bottom_nasal_shift * np.where(top, 0.0, np.abs(s) ** 2)
    # most lenses are cut away where the nose widens below the bridge
    low = np.clip(-v / outline.bottom_scale, 0.0, 1.0)
    u = u + outline.nasal_cut * np.clip(-u, 0.0, 1.0) * low**1.5
    # cat-eye: lift the upper temporal corner
    u_t = np.clip(u, 0.0, None)
    v = v + outline.temporal_lift * np.where(top, u_t**2 * np.abs(s) ** 0.3, 0.0)
    a = np.radians(outline.tilt_deg)
    u, v = u * np.cos(a) - v * np.sin(a), u * np.sin(a) + v * np.cos(a)
    pts = np.stack([u, v], axis=1)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pts = (pts - 0.5 * (lo + hi)) / (hi - lo) * np.array([width, width * outline.aspect])
    return _resample_closed(pts, n)


def _resample_closed(pts: np.ndarray, n: int) -> np.ndarray:
    seg = vectors.length(np.roll(pts, -1, axis=0) - pts)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    closed = np.vstack([pts, pts[:1]])
    q = np.linspace(0.0, s[-1], n, endpoint=False)
    return np.stack([np.interp(q, s, closed[:, k]) for k in range(pts.shape[1])], axis=1)


def _outline_normals(pts: np.ndarray) -> np.ndarray:
    """(n, 2) outward unit normals of a counter-clockwise closed outline."""
    tan = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
    nrm = np.stack([tan[:, 1], -tan[:, 0]], axis=1)
    return nrm / vectors.length(nrm, True)


# ---------------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class _Face:
    """Landmarks of the head the fit needs, head frame (metres)."""

    eye_centres: np.ndarray  # (2, 3) right, left
    cornea_z: float  # most forward point of either eyeball
    ipd: float
    ears: tuple[dict, dict]  # per side (right, left): top (3,), height, depth


def _measure(head, v: np.ndarray) -> _Face:
    centres = head.eye_centres(v)
    eye_v = np.concatenate([v[head.eyes_slice(0)], v[head.eyes_slice(1)]])
    ears = []
    for cls in ("RIGHT_EAR", "LEFT_EAR"):
        e = v[head.vertex_class == CLASS_IDS[cls]].astype(np.float64)
        y_top, y_bot = e[:, 1].max(), e[:, 1].min()
        h = y_top - y_bot
        near_top = e[e[:, 1] > y_top - 0.15 * h]
        ears.append(
            {
                "top": np.array([near_top[:, 0].mean(), y_top, near_top[:, 2].mean()]),
                "height": h,
                "depth": e[:, 2].max() - e[:, 2].min(),
                "back": e[:, 2].min(),
            }
        )
    return _Face(
        eye_centres=centres,
        cornea_z=float(eye_v[:, 2].max()),
        ipd=float(np.linalg.norm(centres[1] - centres[0])),
        ears=(ears[0], ears[1]),
    )


class HeadClearance:
    """Signed clearance of points from one head: the skin and eyeballs as solids (negative
    inside), the lashes as thin sheets (unsigned). Built once per fit."""

    def __init__(self, head, vertices: np.ndarray):
        v = np.asarray(vertices, np.float64)
        names = list(head.part_names)
        solid = np.isin(head.face_part, [names.index(p) for p in _SOLID_PARTS if p in names])
        sheet = np.isin(head.face_part, [names.index(p) for p in _SHEET_PARTS if p in names])
        self.solid = SurfaceDistance(v, head.faces[solid])
        self.sheet = SurfaceDistance(v, head.faces[sheet]) if sheet.any() else None

    def query(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """((n,) clearance in metres, (n, 3) unit direction that increases it) for (n, 3) points."""
        d, _q, nrm = self.solid.query(points)
        if self.sheet is not None:
            d2, q2, _ = self.sheet.query(points)
            d2 = np.abs(d2)
            away = points - q2
            away /= np.maximum(vectors.length(away, True), 1e-12)
            closer = d2 < d
            d = np.where(closer, d2, d)
            nrm = np.where(closer[:, None], away, nrm)
        return d, nrm


def fit_glasses(
    params: GlassesParams, head, vertices: np.ndarray, clearance: HeadClearance | None = None
) -> FittedGlasses:
    """Build and fit the glasses of ``params`` to ``vertices`` ((V, 3) head frame of ``head``)."""
    fam = families()[params.family]
    v = np.asarray(vertices, np.float64)
    face = _measure(head, v)
    clear = clearance or HeadClearance(head, v)
    s = float(np.clip(face.ipd / ADULT_IPD_M, 0.5, 1.2))
    t = params.thickness_mm * 1e-3 * (0.6 + 0.4 * s)  # thinner frames on small faces

    width = fam.width_per_ipd * face.ipd
    outline = lens_outline(fam.outline, width)
    height = outline[:, 1].max() - outline[:, 1].min()
    mid = face.eye_centres.mean(axis=0)
    vd = VERTEX_DISTANCE_M * min(1.0, 0.5 + 0.6 * s)
    tilt = _rot_x(np.radians(PANTOSCOPIC_TILT_DEG))  # +: lens bottoms towards the face

    def layout(dbl_scale: float, lift: float):
        """Front and origin: bridge centre on the eyes' midline, lens centres a little below
        the pupils, lens backs one vertex distance in front of the corneas."""
        front = _Front.build(fam, outline, width, fam.dbl_per_ipd * face.ipd * dbl_scale, t)
        origin = np.array([mid[0], mid[1] + (lift - 0.08) * height, face.cornea_z + vd + LENS_THICKNESS_M / 2])
        return front, origin

    # a wide or prominent nose would push the frame far forward: then also try a wider
    # bridge and a frame sitting a little higher, and keep the closest fit (small preference
    # for the family's own proportions)
    def cost(push: float, dbl_scale: float, lift: float) -> float:
        return push + 0.0015 * (dbl_scale - 1.0) / 0.2 + (0.001 if lift else 0.0)

    choice = (1.0, 0.0)
    front, origin = layout(*choice)
    push, d = _forward_push(front.points() @ tilt.T + origin, clear)
    if push > 0.002:
        best = cost(push, *choice)
        for cand in ((1.2, 0.0), (1.4, 0.0), (1.0, 0.08), (1.2, 0.08), (1.4, 0.08)):
            f_c, o_c = layout(*cand)
            c = cost(_forward_push(f_c.points()[::4] @ tilt.T + o_c, clear)[0], *cand)
            if c < best:
                best, choice = c, cand
        if choice != (1.0, 0.0):
            front, origin = layout(*choice)
            push, d = _forward_push(front.points() @ tilt.T + origin, clear)
    dbl = fam.dbl_per_ipd * face.ipd * choice[0]
    lowest = [float(d.min())]
    place = lambda p: np.asarray(p) @ tilt.T + origin + [0.0, 0.0, push]  # noqa: E731

    parts: list[tuple[np.ndarray, np.ndarray, str]] = [(place(p), f, role) for p, f, role in front.parts]
    if fam.pads:
        parts += _pads(front, place, clear, s)
    for side in (0, 1):
        hinge = place(front.hinge(side))
        tv, tf, gap = _temple(hinge, face.ears[side], fam, t, clear)
        parts.append((tv, tf, "temple"))
        lowest.append(gap)

    meshes = _meshes(parts, fam, params)
    lens_back = place(np.array([[front.lens_centre_x, 0.0, -LENS_THICKNESS_M / 2]]))[0]
    return FittedGlasses(
        meshes=tuple(meshes),
        lens_width=float(width),
        bridge_width=float(dbl),
        vertex_distance=float(lens_back[2] - face.cornea_z),
        forward_push=float(push),
        clearance=min(lowest),
    )


def _forward_push(pts: np.ndarray, clear: HeadClearance) -> tuple[float, np.ndarray]:
    """How far (m) points must move along +z to clear the head by CLEARANCE_M; returns the
    push and (n,) lower bounds of the clearances after it."""
    d, nrm = clear.query(pts)
    push = 0.0
    for _ in range(12):
        worst = int(np.argmin(d))
        short = CLEARANCE_M - d[worst]
        if short <= 0:
            break
        # moving along +z gains clearance at the rate of the surface normal's z component
        step = short / max(nrm[worst, 2], 0.25) + 1e-4
        push += step
        # distance is 1-Lipschitz: a point can lose at most `step`, so only points that
        # might now be too close need a new query; the rest keep a lower bound
        d = d - step
        near = d < CLEARANCE_M
        d[near], nrm[near] = clear.query(pts[near] + [0.0, 0.0, push])
    return push, d


def _rot_x(a: float) -> np.ndarray:
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def _rot_y(a: float) -> np.ndarray:
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def _mirror(p: np.ndarray) -> np.ndarray:
    return np.asarray(p) * np.array([-1.0, 1.0, 1.0])


@dataclass
class _Front:
    """The rigid front (lenses, rims, bridge, endpieces) in the glasses frame: origin at the
    bridge centre on the lens mid-plane, axes as the head frame."""

    parts: list  # (points (n,3), faces (m,3), role) ; role: lens_r/lens_l/rim/bridge/...
    lens_centre_x: float  # left lens centre (+x); the right one is mirrored
    rim_path: np.ndarray  # (n, 3) left rim centre line (or lens edge when rimless)
    outline: np.ndarray  # (n, 2) lens outline
    hinge_left: np.ndarray  # (3,) end of the left endpiece, where the temple starts
    pad_anchor_left: np.ndarray  # (3,) lower nasal rim point the left pad arm leaves from

    def points(self) -> np.ndarray:
        return np.concatenate([p for p, _f, _r in self.parts])

    def hinge(self, side: int) -> np.ndarray:
        return self.hinge_left if side == 1 else _mirror(self.hinge_left)

    @staticmethod
    def build(fam: FrameFamily, outline: np.ndarray, width: float, dbl: float, t: float) -> "_Front":
        cx = 0.5 * (width + dbl)
        wrap = _rot_y(np.radians(WRAP_DEG))
        half_h = 0.5 * (outline[:, 1].max() - outline[:, 1].min())

        def to3d(uvz: np.ndarray) -> np.ndarray:  # left lens local -> glasses frame
            return uvz @ wrap.T + np.array([cx, 0.0, 0.0])

        lens_v, lens_f = _lens_solid(outline, LENS_THICKNESS_M * (1.15 if fam.rim == "none" else 1.0))
        lens_l = to3d(lens_v)
        parts = [(lens_l, lens_f, "lens_l"), (_mirror(lens_l), lens_f[:, ::-1], "lens_r")]

        nrm = _outline_normals(outline)
        metal = fam.material == "metal"
        # rim thickness in the lens plane blends from rim_bottom (below centre) to rim_top
        k = np.clip(0.5 + 0.5 * outline[:, 1] / half_h, 0.0, 1.0)
        k = k * k * (3 - 2 * k)
        weight = fam.rim_bottom + (fam.rim_top - fam.rim_bottom) * k
        band = np.maximum(t * weight, 0.0008)
        depth = max(0.0035, LENS_THICKNESS_M + 0.0015) if not metal else None
        overlap = 0.0005  # the lens edge sits in the rim's groove
        sag = _sag(outline)
        if fam.rim == "none":
            centre2 = outline.copy()
            band = np.zeros(len(outline))
        else:
            centre2 = outline + nrm * (0.5 * band - overlap)[:, None]
        rim_path = to3d(np.column_stack([centre2, sag]))
        if fam.rim != "none":
            if metal and fam.rim == "full":
                prof = _circle(10) * np.array([1.0, 1.0])
                scale = np.column_stack([0.5 * band, 0.5 * band])
            else:
                prof = _rect()
                d = depth if depth is not None else max(0.0025, LENS_THICKNESS_M + 0.001)
                scale = np.column_stack([0.5 * band, np.full(len(band), 0.5 * d)])
            up = np.tile(wrap @ [0.0, 0.0, 1.0], (len(rim_path), 1))
            if fam.rim == "top":
                # browline: a metal wire all round, under a heavy acetate bar along the top
                r: Any = np.full(len(rim_path), _wire_radius(t))
                wv, wf = sweep(rim_path, _circle(8), closed=True, up=up, scale=np.column_stack([r, r]))
                parts += [(wv, wf, "wire"), (_mirror(wv), wf[:, ::-1], "wire")]
                top = np.flatnonzero(outline[:, 1] > -0.15 * half_h)
                gap = int(np.argmax(np.diff(np.concatenate([top, top[:1] + len(outline)]))))
                arc = np.roll(top, -(gap + 1))  # contiguous, temple -> top -> nose
                bv, bf = sweep(rim_path[arc], prof, up=up[arc], scale=scale[arc])
                parts += [(bv, bf, "rim"), (_mirror(bv), bf[:, ::-1], "rim")]
            else:
                rv, rf = sweep(rim_path, prof, closed=True, up=up, scale=scale)
                parts += [(rv, rf, "rim"), (_mirror(rv), rf[:, ::-1], "rim")]

        def rim_point(v_lo: float, v_hi: float, nasal: bool, outward: float) -> tuple[np.ndarray, int]:
            sel = (outline[:, 1] >= v_lo * half_h) & (outline[:, 1] <= v_hi * half_h)
            idx = np.flatnonzero(sel)
            i = idx[np.argmin(outline[idx, 0])] if nasal else idx[np.argmax(outline[idx, 0])]
            p2 = centre2[i] + nrm[i] * outward
            return to3d(np.array([[p2[0], p2[1], sag[i]]]))[0], i

        # bridge: from the left nasal rim to its mirror image
        n_l, _ = rim_point(0.3, 0.75, True, 0.0)  # bridges sit high, over the nasion
        n_r = _mirror(n_l)
        arch = (0.0015 + 0.12 * dbl) if fam.bridge != "saddle" else 0.0008
        mid = 0.5 * (n_l + n_r) + np.array([0.0, arch, 0.001])
        path = _bezier(n_r, mid, n_l, 24)
        if fam.bridge == "saddle":
            bh = max(t * max(fam.rim_top, 1.0) * 1.1, 0.002)
            bv, bf = sweep(
                path,
                _rect(),
                up=np.tile([0.0, 0.0, 1.0], (len(path), 1)),
                scale=np.tile([0.5 * bh, 0.5 * (depth or 0.003)], (len(path), 1)),
            )
        else:
            r = _wire_radius(t)
            bv, bf = sweep(
                path, _circle(8), up=np.tile([0.0, 0.0, 1.0], (len(path), 1)), scale=np.tile([r, r], (len(path), 1))
            )
        parts.append((bv, bf, "bridge" if fam.bridge == "saddle" else "wire"))
        if fam.bridge == "double":
            top_l, _ = rim_point(0.75, 1.0, True, 0.0)
            path = _bezier(_mirror(top_l), 0.5 * (top_l + _mirror(top_l)) + [0, 0, 0.0005], top_l, 16)
            r = _wire_radius(t)
            tv, tf = sweep(
                path, _circle(8), up=np.tile([0.0, 0.0, 1.0], (len(path), 1)), scale=np.tile([r, r], (len(path), 1))
            )
            parts.append((tv, tf, "wire"))

        # endpieces: from the temporal rim back to the hinge
        e0, _ = rim_point(0.2, 0.75, False, 0.0)
        hinge = e0 + np.array([0.0035, 0.0, -0.007])
        path = _bezier(e0, e0 + np.array([0.0035, 0.0, -0.0005]), hinge, 10)
        if metal:
            r = _wire_radius(t) * 1.3
            ev, ef = sweep(
                path, _circle(8), up=np.tile([0.0, 1.0, 0.0], (len(path), 1)), scale=np.tile([r, r], (len(path), 1))
            )
            role = "wire"
        else:
            eh = float(np.clip(1.4 * t, 0.003, 0.006))
            ev, ef = sweep(
                path,
                _rect(),
                up=np.tile([0.0, 1.0, 0.0], (len(path), 1)),
                scale=np.tile([0.0012, 0.5 * eh], (len(path), 1)),
            )
            role = "rim"
        parts += [(ev, ef, role), (_mirror(ev), ef[:, ::-1], role)]

        pad_anchor, _ = rim_point(-0.65, -0.05, True, 0.0)
        return _Front(
            parts=parts,
            lens_centre_x=cx,
            rim_path=rim_path,
            outline=outline,
            hinge_left=hinge,
            pad_anchor_left=pad_anchor,
        )


def _wire_radius(t: float) -> float:
    return float(np.clip(0.3 * t, 0.0006, 0.0011))


def _sag(outline: np.ndarray) -> np.ndarray:
    """(n,) z of the lens front surface at outline points: a sphere of the base-curve radius."""
    r2 = (outline**2).sum(axis=1)
    return -r2 / (2 * BASE_CURVE_RADIUS_M)


def _lens_solid(outline: np.ndarray, thickness: float, rings: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A closed lens: curved front and back caps joined by the edge, in lens-local coordinates
    (u, v, z), z = 0 the mid-plane at the lens centre. Returns ((V,3), (F,3)) outward-facing."""
    n = len(outline)
    frac = np.linspace(0.0, 1.0, rings + 1)[1:]
    ring2 = np.concatenate([outline * f for f in frac])  # (rings*n, 2)
    pts2 = np.vstack([[0.0, 0.0], ring2])
    sag = -(pts2**2).sum(axis=1) / (2 * BASE_CURVE_RADIUS_M)
    front = np.column_stack([pts2, sag + thickness / 2])
    back = np.column_stack([pts2, sag - thickness / 2])
    fan: list[list[int]] = []
    for j in range(n):  # centre fan
        fan.append([0, 1 + j, 1 + (j + 1) % n])
    for r in range(rings - 1):
        a0, b0 = 1 + r * n, 1 + (r + 1) * n
        for j in range(n):
            j1 = (j + 1) % n
            fan += [[a0 + j, b0 + j, b0 + j1], [a0 + j, b0 + j1, a0 + j1]]
    faces = np.asarray(fan)
    m = len(pts2)
    outer = 1 + (rings - 1) * n + np.arange(n)
    side = []
    for j in range(n):
        j1 = (j + 1) % n
        side += [[outer[j], outer[j] + m, outer[j1] + m], [outer[j], outer[j1] + m, outer[j1]]]
    allf = np.vstack([faces, faces[:, ::-1] + m, np.asarray(side)])
    return orient_outward(np.vstack([front, back]), allf)


def _pads(front: _Front, place, clear: HeadClearance, s: float) -> list:
    """Nose pads seated on the nose (clearance CLEARANCE_M) on short wires from the rims."""
    out = []
    pad_r = np.array([0.0028, 0.0048, 0.0006]) * max(s, 0.6)
    for side in (0, 1):
        anchor = front.pad_anchor_left if side == 1 else _mirror(front.pad_anchor_left)
        a = place(anchor[None])[0]
        inward = -1.0 if side == 1 else 1.0  # towards the midline
        start = a + np.array([inward * 0.002, -0.002, -0.002])
        # slide back (-z) from the rim until just short of the nose
        zs = np.arange(0.0, 0.02, 0.0005)
        probe = start[None] - np.outer(zs, [0.0, 0.0, 1.0])
        d, nrm = clear.query(probe)
        ok = d > CLEARANCE_M + pad_r[2] * 2 + 0.0005
        last = int(np.argmin(ok)) - 1 if not ok.all() else len(zs) - 1
        centre = probe[max(last, 0)]
        normal = nrm[max(last + 1, 0) if last + 1 < len(zs) else last]
        pv, pf = _ellipsoid(pad_r)
        frame = _frame_from_normal(normal)
        pv = pv @ frame.T + centre
        for _ in range(4):  # the pad's rim may reach the nose where it curves: back it off
            d, _n = clear.query(pv)
            short = CLEARANCE_M - d.min()
            if short <= 0:
                break
            pv = pv + normal * (short + 1e-4)
            centre = centre + normal * (short + 1e-4)
        out.append((pv, pf, "pad"))
        r = 0.00045
        path = _bezier(a, 0.5 * (a + centre) + np.array([0.0, 0.0, 0.0015]), centre, 10)
        for _ in range(4):
            d, nrm = clear.query(path)
            short = np.clip(r + CLEARANCE_M + 1e-4 - d, 0.0, None)
            if short.max() <= 0:
                break
            path = path + nrm * short[:, None]
        wv, wf = sweep(
            path, _circle(6), up=np.tile([0.0, 1.0, 0.0], (len(path), 1)), scale=np.tile([r, r], (len(path), 1))
        )
        out.append((wv, wf, "wire"))
    return out


def _frame_from_normal(n: np.ndarray) -> np.ndarray:
    """(3, 3) rotation whose z column is ``n`` and whose y column is as close to +y as possible."""
    z = n / np.linalg.norm(n)
    y = np.array([0.0, 1.0, 0.0]) - z * z[1]
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return np.column_stack([x, y, z])


def _temple(
    hinge: np.ndarray, ear: dict, fam: FrameFamily, t: float, clear: HeadClearance
) -> tuple[np.ndarray, np.ndarray, float]:
    """A temple from ``hinge`` to just above the ear root, then down behind the ear, pushed
    clear of the skin. Returns (vertices (n,3), faces (m,3), smallest surface gap in metres)."""
    metal = fam.material == "metal"
    if metal:
        half = np.array([_wire_radius(t) * 1.2, _wire_radius(t) * 1.2])
    else:
        half = np.array([0.0012, 0.5 * float(np.clip(1.4 * t, 0.003, 0.006))])
    reach = float(half.max()) + CLEARANCE_M + 0.0002
    top = ear["top"]
    over = np.array([top[0], top[1] + reach + 0.0005, top[2]])
    # the straight part runs from the hinge to just over the ear top, then bends down behind it
    tail = over + np.array([0.0, -0.3 * ear["height"], -0.45 * ear["depth"]])
    straight = hinge[None] + np.linspace(0.0, 1.0, 24)[:, None] * (over - hinge)[None]
    ctrl = over + np.array([0.0, 0.0, -0.3 * ear["depth"]])
    bend = _bezier(over, ctrl, tail, 12)[1:]
    path = np.vstack([straight, bend])
    # the temple keeps at least its half-width + clearance from the skin: push points out
    # along the outward direction and smooth, leaving the hinge where the front put it
    for it in range(8):
        d, nrm = clear.query(path)
        short = reach - d
        short[0] = 0.0
        if short.max() <= 0:
            break
        path = path + nrm * np.clip(short, 0.0, None)[:, None] * 1.1
        if it < 5:  # smooth the early pushes only, so the last ones are not undone
            path[1:-1] = 0.25 * path[:-2] + 0.5 * path[1:-1] + 0.25 * path[2:]
    up = np.tile([0.0, 1.0, 0.0], (len(path), 1))
    prof = _circle(8) if metal else _rect()
    v, f = sweep(path, prof, up=up, scale=np.tile(half, (len(path), 1)))
    d, _ = clear.query(path)
    return v, f, float((d[1:] - np.linalg.norm(half)).min())


def _meshes(parts, fam: FrameFamily, params: GlassesParams) -> list[Mesh]:
    """Group the placed parts into frame meshes by material and one mesh per lens."""
    lin = srgb_to_linear_rgb(params.color_rgb)
    acetate = Material(
        name="glasses_acetate",
        kind="glasses_frame",
        base_color=lin,
        roughness=0.3,
        specular=0.5,
        frame_material="acetate",
    )
    metal = Material(
        name="glasses_metal",
        kind="glasses_frame",
        base_color=lin,
        roughness=0.25,
        metallic=1.0,
        specular=0.5,
        frame_material="metal",
    )
    pad = Material(
        name="glasses_pad",
        kind="glasses_frame",
        base_color=(0.75, 0.75, 0.72),
        roughness=0.2,
        alpha=1.0,
        frame_material="silicone",
    )
    groups: dict[str, list] = {"acetate": [], "metal": [], "pad": []}
    lenses = []
    for pts, faces, role in parts:
        if role.startswith("lens"):
            lenses.append((pts, faces, role))
        elif role == "pad":
            groups["pad"].append((pts, faces))
        elif role == "wire" or (fam.material == "metal" and role in ("rim", "bridge", "temple")):
            groups["metal"].append((pts, faces))
        else:
            groups["acetate"].append((pts, faces))
    cls = CLASS_IDS["GLASSES"]
    out = []
    for key, mat in (("acetate", acetate), ("metal", metal), ("pad", pad)):
        if groups[key]:
            v, f = _concat(groups[key])
            out.append(
                Mesh(
                    name=f"glasses_{key}",
                    vertices=v.astype(np.float32),
                    faces=f.astype(np.int32),
                    face_class=np.full(len(f), cls, np.uint8),
                    material=mat,
                    smooth=True,
                )
            )
    tint = srgb_to_linear_rgb(params.lens_tint_rgb)
    trans = float(np.clip(params.lens_transmission, 0.0, 1.0))
    # base_color is what passes through (Cycles' transparent colour): tint x transmission;
    # alpha is the rasteriser's opacity
    lens_mat = Material(
        name="glasses_lens",
        kind="glasses_lens",
        base_color=rgb(np.asarray(tint) * trans),
        roughness=0.02,
        specular=0.5,
        ior=1.5,
        alpha=float(np.clip(1.0 - trans, 0.04, 0.97)),
    )
    for pts, faces, role in lenses:
        out.append(
            Mesh(
                name=f"glasses_{role}",
                vertices=pts.astype(np.float32),
                faces=faces.astype(np.int32),
                face_class=np.full(len(faces), cls, np.uint8),
                material=lens_mat,
                occludes_landmarks=False,
            )
        )
    return out


def _concat(items) -> tuple[np.ndarray, np.ndarray]:
    vs, fs, off = [], [], 0
    for v, f in items:
        used = np.unique(f)
        remap = np.full(len(v), -1)
        remap[used] = np.arange(len(used)) + off
        vs.append(v[used])
        fs.append(remap[f])
        off += len(used)
    return np.concatenate(vs), np.concatenate(fs)


def _circle(m: int) -> np.ndarray:
    a = np.linspace(0.0, 2 * np.pi, m, endpoint=False)
    return np.stack([np.cos(a), np.sin(a)], axis=1)


def _rect() -> np.ndarray:
    """A unit square profile with slightly bevelled corners (8 points)."""
    b = 0.7
    return np.array([[1, -b], [1, b], [b, 1], [-b, 1], [-1, b], [-1, -b], [-b, -1], [b, -1]], float)


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _ellipsoid(radii: np.ndarray, rings: int = 6, segs: int = 10) -> tuple[np.ndarray, np.ndarray]:
    th = np.linspace(0.0, np.pi, rings + 1)[1:-1]
    ph = np.linspace(0.0, 2 * np.pi, segs, endpoint=False)
    pts = [[0.0, 0.0, 1.0]]
    for a in th:
        for b in ph:
            pts.append([np.sin(a) * np.cos(b), np.sin(a) * np.sin(b), np.cos(a)])
    pts.append([0.0, 0.0, -1.0])
    pts = np.asarray(pts) * radii
    faces = []
    for j in range(segs):
        faces.append([0, 1 + j, 1 + (j + 1) % segs])
    for r in range(len(th) - 1):
        a0, b0 = 1 + r * segs, 1 + (r + 1) * segs
        for j in range(segs):
            j1 = (j + 1) % segs
            faces += [[a0 + j, b0 + j, b0 + j1], [a0 + j, b0 + j1, a0 + j1]]
    last = len(pts) - 1
    a0 = 1 + (len(th) - 1) * segs
    for j in range(segs):
        faces.append([last, a0 + (j + 1) % segs, a0 + j])
    return orient_outward(pts, np.asarray(faces))
