"""Derive the 68 iBUG landmark definitions of the head mesh from dlib, and the dense point set.

Method (documented with its numbers in ``facefarm/assets/README.md``):

1. Render many neutral identities frontally (a minimal pyrender shader: skin, painted brow
   region, lips, sclera/iris/pupil from the eyeball UVs), 512 x 512.
2. Run dlib's HOG face detector and 68-point shape predictor on each image.
3. Cast each detected point's camera ray onto the mesh; the hit (triangle + barycentric
   weights) is carried to the neutral base mesh, so hits from every identity share one space.
   A ray that misses (jaw points sit on the silhouette) takes the skin vertex nearest the ray.
4. Consensus per point: the coordinate-wise median of the carried hits, snapped back to the
   surface; left/right partners are averaged through the mirror and the right-side point is
   defined as the exact mirror (same weights, mirrored vertex ids); midline points are
   placed on the midline edge loop, so every pair mirrors exactly.
5. Residuals: project the definitions on held-out identities and compare with dlib (pixels
   and NME normalised by the outer-eye-corner distance).

Jaw points 0-16 are silhouette points: their surface definition is the consensus for a
frontal view and drifts off the outline as the head turns.

The definitions live on the coarse HM08 mesh; the asset build re-expresses them on every
render surface (``facefarm/head/render_surface.py``), so they need no rerun when only the
subdivision or the class cuts change.

Also writes ``facefarm/assets/landmarks/dense.json``: farthest-point samples over the face, ears and
neck, drawn on the subject's left and mirrored.

Run:  PYOPENGL_PLATFORM=egl .venv/bin/python tools/derive_landmarks.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402

from facefarm.geometry.triangles import closest_on_triangles  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "facefarm" / "assets" / "landmarks"
SIZE = 512
FOCAL_PX = 800.0
DISTANCE_M = 0.6


# ----------------------------------------------------------------------------- identities
def sample_identities(rng: np.random.Generator, n: int, ranges) -> list:
    """Adult-to-senior identities with random macros and 12 random face details at up to 40 %."""
    from facefarm.head.model import IdentityParams

    names = sorted(ranges)
    out = []
    for _ in range(n):
        anc = rng.dirichlet([0.7, 0.7, 0.7])
        details = {}
        for name in rng.choice(names, size=12, replace=False):
            lo, hi = ranges[str(name)]
            details[str(name)] = float(rng.uniform(0.4 * lo, 0.4 * hi))
        out.append(
            IdentityParams(
                age_years=float(rng.uniform(16, 75)),
                gender=float(rng.uniform(0, 1)),
                ancestry={
                    "african": float(anc[0]),
                    "asian": float(anc[1]),
                    "caucasian": 1.0 - float(anc[0]) - float(anc[1]),
                },
                muscle=float(rng.uniform(0.2, 0.8)),
                weight=float(rng.uniform(0.2, 0.8)),
                proportions=0.5,
                details=details,
            )
        )
    return out


# ----------------------------------------------------------------------------- rendering
def face_colours(head, rng: np.random.Generator) -> np.ndarray:
    """(F, 3) float 0..1 albedo per triangle for a plausible, detector-friendly face."""
    from facefarm.scene.classes import CLASS_IDS

    tone = rng.uniform(0.35, 0.85)
    skin = np.array([0.95, 0.75, 0.62]) * tone + np.array([0.05, 0.03, 0.02])
    col = np.tile(skin, (len(head.faces), 1))
    cls = head.face_class
    col[np.isin(cls, [CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]])] = skin * 0.35
    col[np.isin(cls, [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]])] = skin * np.array([0.95, 0.6, 0.6])
    col[cls == CLASS_IDS["MOUTH_INTERIOR"]] = [0.3, 0.08, 0.08]
    eye = np.isin(head.face_part, [head.part_names.index("eye_r"), head.part_names.index("eye_l")])
    uv_r = np.linalg.norm(head.uvs[head.face_uvs].mean(axis=1) - 0.5, axis=1)
    col[eye] = [0.9, 0.88, 0.85]
    col[eye & (uv_r < 0.085)] = [0.25, 0.15, 0.08]
    col[eye & (uv_r < 0.035)] = [0.02, 0.02, 0.02]
    return col


def camera(yaw_deg: float = 0.0):
    from facefarm.geometry.camera import Camera, look_at

    k = np.array([[FOCAL_PX, 0, SIZE / 2], [0, FOCAL_PX, SIZE / 2], [0, 0, 1.0]])
    a = np.radians(yaw_deg)
    eye = np.array([DISTANCE_M * np.sin(a), -0.02, DISTANCE_M * np.cos(a)])
    return Camera(K=k, world_to_camera=look_at(eye, np.array([0.0, -0.02, 0.0])), width=SIZE, height=SIZE)


class Renderer:
    """Minimal smooth-shaded pyrender view of the head (no lashes) with per-face colours."""

    def __init__(self):
        import pyrender

        self._pyrender = pyrender
        self._r = pyrender.OffscreenRenderer(SIZE, SIZE)

    def close(self) -> None:
        self._r.delete()

    def render(self, head, vertices: np.ndarray, colours: np.ndarray, cam) -> np.ndarray:
        import pyrender
        import trimesh

        from facefarm.geometry.camera import CV_TO_GL

        keep = ~np.isin(head.face_part, [head.part_names.index("lash_r"), head.part_names.index("lash_l")])
        faces = head.faces[keep]
        # per-vertex colour = mean of its faces' colours keeps smooth shading
        vc = np.zeros((len(vertices), 3))
        cnt = np.zeros(len(vertices))
        np.add.at(vc, faces.ravel(), np.repeat(colours[keep], 3, axis=0))
        np.add.at(cnt, faces.ravel(), 1)
        vc = vc / np.maximum(cnt, 1)[:, None]
        tm = trimesh.Trimesh(vertices, faces, vertex_colors=np.c_[vc, np.ones(len(vc))], process=False)
        scene = pyrender.Scene(ambient_light=[0.35, 0.35, 0.35], bg_color=[0.2, 0.22, 0.25, 1.0])
        scene.add(pyrender.Mesh.from_trimesh(tm, smooth=True))
        pose = np.linalg.inv(cam.world_to_camera) @ CV_TO_GL
        scene.add(
            pyrender.IntrinsicsCamera(cam.K[0, 0], cam.K[1, 1], cam.K[0, 2], cam.K[1, 2], znear=0.05, zfar=5.0),
            pose=pose,
        )
        light = np.eye(4)
        light[:3, :3] = pose[:3, :3]
        scene.add(pyrender.DirectionalLight(intensity=2.5), pose=light)
        rgb, _ = self._r.render(scene)
        return rgb


# ----------------------------------------------------------------------------- dlib
class Dlib68:
    def __init__(self):
        import dlib

        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("pip install face_recognition_models==0.3.0 (dev extra)")
        model = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(model))

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """(68, 2) pixel points (pixel-centre convention +0.5) of the largest face, or None."""
        dets = self._detector(rgb, 1)
        if len(dets) == 0:
            return None
        d = max(dets, key=lambda r: r.width() * r.height())
        s = self._predictor(rgb, d)
        return np.array([[p.x + 0.5, p.y + 0.5] for p in s.parts()], dtype=np.float64)


# ----------------------------------------------------------------------------- geometry
def rays(cam, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-frame ray origins (k, 3) and unit directions (k, 3) through pixel positions."""
    c2w = np.linalg.inv(cam.world_to_camera)
    d_cam = np.c_[(pixels - cam.K[:2, 2]) / np.diag(cam.K)[:2], np.ones(len(pixels))]
    d = d_cam @ c2w[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.tile(c2w[:3, 3], (len(pixels), 1)), d


def intersect(orig: np.ndarray, dirs: np.ndarray, v: np.ndarray, faces: np.ndarray):
    """First hit per ray (Moller-Trumbore over all triangles): (tri (k,), bary (k, 3)); tri -1 on a miss."""
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    e1, e2 = b - a, c - a
    tri = np.full(len(orig), -1)
    bary = np.zeros((len(orig), 3))
    for k, (o, d) in enumerate(zip(orig, dirs)):
        p = np.cross(d, e2)
        det = (e1 * p).sum(axis=1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = o - a
        u = (s * p).sum(axis=1) * inv
        q = np.cross(s, e1)
        w = (q @ d) * inv
        t = (e2 * q).sum(axis=1) * inv
        hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 0)
        if hit.any():
            i = np.flatnonzero(hit)[np.argmin(t[hit])]
            tri[k] = i
            bary[k] = [1 - u[i] - w[i], u[i], w[i]]
    return tri, bary


def nearest_on_mesh(points: np.ndarray, v: np.ndarray, faces: np.ndarray):
    """Closest surface point to each of (k, 3) points: (tri (k,), bary (k, 3))."""
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    tris, barys = [], []
    for p in points:
        q, w = closest_on_triangles(p[None], a, b, c)
        k = int(np.argmin(np.linalg.norm(q - p, axis=1)))
        tris.append(k)
        barys.append(w[k])
    return np.array(tris), np.array(barys)


# ----------------------------------------------------------------------------- derivation
EYE_POINTS = range(36, 48)
LIP_POINTS = range(48, 68)
#: Lip points that must sit on one lip (the mouth corners 48, 54, 60, 64 may sit on either).
POINT_CLASS = {
    **{k: "TOP_LIP" for k in (49, 50, 51, 52, 53, 61, 62, 63)},
    **{k: "BOTTOM_LIP" for k in (55, 56, 57, 58, 59, 65, 66, 67)},
}
#: Inner-lip points -> which rim they snap to.
INNER_LIP = {60: "ANY", 64: "ANY", **{k: POINT_CLASS[k] for k in (61, 62, 63, 65, 66, 67)}}


def collect(head, identities, rng, renderer, dlib68, yaw=0.0):
    """Per identity: (dlib points (68, 2) or None, hits (68, 3) on the neutral mesh, image, vertices).

    Rays are cast against everything rendered. Points must end on skin: an eye-contour ray
    that lands on the eyeball or inside the eye socket takes the lid-margin vertex nearest
    the ray; a lip ray that lands in the mouth takes the nearest lip vertex; a ray that
    misses (jaw silhouette) takes the nearest skin vertex. Otherwise a hit deep in the
    socket or the mouth would project well only from the front.
    """
    from facefarm.scene.classes import CLASS_IDS

    neutral = head.neutral.astype(np.float64)
    skin_id = head.part_names.index("skin")
    lash = [head.part_names.index("lash_r"), head.part_names.index("lash_l")]
    vis = ~np.isin(head.face_part, lash)
    faces, fpart, fclass = head.faces[vis], head.face_part[vis], head.face_class[vis]
    skin_v = np.unique(head.faces[head.face_part == skin_id])
    lip_v = skin_v[np.isin(head.vertex_class[skin_v], [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]])]
    # inner rims: lip vertices shared with the mouth interior, one set per lip
    inside = np.zeros(len(head.vertex_class), bool)
    inside[head.faces[head.face_class == CLASS_IDS["MOUTH_INTERIOR"]].ravel()] = True
    rim = {
        c: np.intersect1d(np.unique(head.faces[head.face_class == CLASS_IDS[c]]), np.flatnonzero(inside))
        for c in ("TOP_LIP", "BOTTOM_LIP")
    }
    rim["ANY"] = np.union1d(rim["TOP_LIP"], rim["BOTTOM_LIP"])
    results = []
    for params in identities:
        v = head.shape(params).astype(np.float64)
        cam = camera(yaw)
        img = renderer.render(head, v, face_colours(head, rng), cam)
        pts = dlib68(img)
        if pts is None:
            results.append((None, None, img, v))
            continue
        centres = head.eye_centres(v)
        radius = np.array([np.linalg.norm(v[head.eyes_slice(e)] - centres[e], axis=1).mean() for e in (0, 1)])
        dist_eye = np.linalg.norm(v[skin_v][:, None, :] - centres[None], axis=2)  # (n, 2)
        margin_v = skin_v[
            (np.abs(dist_eye - radius) < 0.0015).any(axis=1)
            & ((v[skin_v][:, None, 2] - centres[None, :, 2]) > 0).any(axis=1)
        ]
        o, d = rays(cam, pts)
        tri, bary = intersect(o, d, v, faces)

        def nearest_to_ray(k: int, cands: np.ndarray) -> int:
            rel = v[cands] - o[k]
            perp = np.linalg.norm(rel - np.outer(rel @ d[k], d[k]), axis=1)
            return int(cands[np.argmin(perp)])

        hits = np.empty((68, 3))
        for k in range(68):
            t = tri[k]
            if t >= 0:
                p = bary[k] @ v[faces[t]]
                inside_eye = (np.linalg.norm(centres - p, axis=1) < radius - 1e-4).any()
                if k in EYE_POINTS and (fpart[t] != skin_id or inside_eye):
                    hits[k] = neutral[nearest_to_ray(k, margin_v)]
                    continue
                if k in INNER_LIP:  # always on the inner rim of its own lip, so they part as the jaw opens
                    hits[k] = neutral[nearest_to_ray(k, rim[INNER_LIP[k]])]
                    continue
                want = POINT_CLASS.get(k)
                if k in LIP_POINTS and (
                    fpart[t] != skin_id
                    or fclass[t] == CLASS_IDS["MOUTH_INTERIOR"]
                    or (want and fclass[t] != CLASS_IDS[want])
                ):
                    cands = lip_v if want is None else lip_v[head.vertex_class[lip_v] == CLASS_IDS[want]]
                    hits[k] = neutral[nearest_to_ray(k, cands)]
                    continue
                if fpart[t] == skin_id:
                    hits[k] = bary[k] @ neutral[faces[t]]
                    continue
            hits[k] = neutral[nearest_to_ray(k, skin_v)]
        results.append((pts, hits, img, v))
    return results


def midline_point(
    p: np.ndarray, neutral: np.ndarray, quads: np.ndarray, mirror: np.ndarray, allowed: np.ndarray | None = None
):
    """The closest point to ``p`` on the midline edge loop (edges of ``allowed`` vertices only):
    (vertex ids (3,), weights (3,))."""
    mid = mirror == np.arange(len(mirror))
    if allowed is not None:
        mid &= allowed
    edges = set()
    for q in quads:
        corners = [q[0], q[1], q[2]] if q[2] == q[3] else list(q)
        for a, b in zip(corners, corners[1:] + corners[:1]):
            if mid[a] and mid[b] and a != b:
                edges.add((min(a, b), max(a, b)))
    best = None
    for a, b in sorted(edges):
        ab = neutral[b] - neutral[a]
        t = np.clip((p - neutral[a]) @ ab / (ab @ ab), 0.0, 1.0)
        dist = np.linalg.norm(neutral[a] + t * ab - p)
        if best is None or dist < best[0]:
            best = (dist, a, b, t)
    _, a, b, t = best
    return np.array([a, b, b]), np.array([1.0 - t, t, 0.0])


def consensus(head, hits: np.ndarray) -> list[dict]:
    """(n_id, 68, 3) neutral-space hits -> 68 symmetric point definitions on render vertices."""
    from facefarm.scene.classes import landmark_layout

    flip = landmark_layout()["flip_index"]
    from facefarm.scene.classes import CLASS_IDS

    neutral = head.neutral.astype(np.float64)
    skin = head.face_part == head.part_names.index("skin")
    skin_faces = head.faces[skin]
    med = np.median(hits, axis=0)  # (68, 3)
    sym = 0.5 * (med + med[flip[:68]] * np.array([-1.0, 1.0, 1.0]))
    defs: list[dict | None] = [None] * 68
    for i in range(68):
        j = flip[i]
        if defs[i] is not None:
            continue
        want = POINT_CLASS.get(i)
        faces = skin_faces if want is None else head.faces[skin & (head.face_class == CLASS_IDS[want])]
        place_pair(defs, i, j, sym, neutral, head, faces, want)
    return defs


def place_pair(defs: list, i: int, j: int, sym: np.ndarray, neutral: np.ndarray, head, faces, want) -> None:
    """Define point ``i`` and its mirror partner ``j`` in ``defs`` from their symmetrised consensus
    ``sym`` (n, 3): a midline point (i == j) on the midline loop (on vertices of class ``want`` when
    given), else the subject's-left member (x > 0) on ``faces`` and the right one its exact mirror."""
    from facefarm.scene.classes import CLASS_IDS

    if i == j:
        p = sym[i].copy()
        p[0] = 0.0
        allowed = None if want is None else head.vertex_class == CLASS_IDS[want]
        vid, w = midline_point(p, neutral, head.quads, head.mirror, allowed)
        defs[i] = {"vertices": vid, "weights": w}
        return
    left, right = (i, j) if sym[i][0] > 0 else (j, i)
    tri, bary = nearest_on_mesh(sym[left][None], neutral, faces)
    vid = faces[tri[0]]
    defs[left] = {"vertices": vid, "weights": bary[0]}
    defs[right] = {"vertices": head.mirror[vid], "weights": bary[0]}


def points_of(head, defs, v):
    return np.stack([np.asarray(d["weights"]) @ v[np.asarray(d["vertices"])] for d in defs])


def residuals(head, defs, results, yaw=0.0):
    """Per detected identity: pixel errors (68,) and NME against dlib."""
    errs, nmes = [], []
    for pts, hits, img, v in results:
        if pts is None:
            continue
        uv, _ = camera(yaw).project(points_of(head, defs, v))
        e = np.linalg.norm(uv - pts, axis=1)
        norm = np.linalg.norm(pts[36] - pts[45])
        errs.append(e)
        nmes.append(e.mean() / norm)
    return np.array(errs), np.array(nmes)


def to_hm08(head, defs) -> list[dict]:
    from facefarm.scene.classes import landmark_layout

    names = landmark_layout()["names"]
    out = []
    for name, d in zip(names, defs):
        vid = head.hm08_index[np.asarray(d["vertices"])]
        assert (vid >= 0).all()
        out.append(
            {"name": name, "vertices": [int(x) for x in vid], "weights": [round(float(x), 6) for x in d["weights"]]}
        )
    out.append({"name": "right_pupil", "eye": "eye_r"})
    out.append({"name": "left_pupil", "eye": "eye_l"})
    return out


# ----------------------------------------------------------------------------- dense points
def dense_points(head, n_left: int) -> tuple[list[dict], list[int]]:
    """Farthest-point samples over the face, ears and neck (subject's left and midline), mirrored."""
    from facefarm.scene.classes import CLASS_IDS

    neutral = head.neutral.astype(np.float64)
    skin = head.vertex_part == head.part_names.index("skin")
    wanted = [CLASS_IDS[c] for c in ("SKIN", "NOSE", "LEFT_BROW", "LEFT_EAR", "TOP_LIP", "BOTTOM_LIP", "NECK")]
    scalp = np.zeros(len(neutral), bool)
    scalp[head.scalp] = True
    # the face and neck, not the scalp, the shoulders or the lip inner rims
    ok = skin & np.isin(head.vertex_class, wanted) & ~scalp & (neutral[:, 0] >= 0)
    ok &= neutral[:, 1] > -0.16
    cand = np.flatnonzero(ok)
    chosen = [cand[np.argmax(neutral[cand, 2])]]  # start at the nose tip
    d = np.linalg.norm(neutral[cand] - neutral[chosen[0]], axis=1)
    while len(chosen) < n_left:
        k = int(np.argmax(d))
        chosen.append(cand[k])
        d = np.minimum(d, np.linalg.norm(neutral[cand] - neutral[cand[k]], axis=1))
    chosen = np.array(chosen)
    mids = chosen[head.mirror[chosen] == chosen]
    lefts = chosen[head.mirror[chosen] != chosen]
    all_v = np.concatenate([mids, lefts, head.mirror[lefts]])
    flip = np.concatenate(
        [np.arange(len(mids)), len(mids) + len(lefts) + np.arange(len(lefts)), len(mids) + np.arange(len(lefts))]
    )
    points = [
        {"name": f"dense_{i:04d}", "vertices": [int(head.hm08_index[v])] * 3, "weights": [1.0, 0.0, 0.0]}
        for i, v in enumerate(all_v)
    ]
    return points, [int(x) for x in flip]


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--identities", type=int, default=48, help="identities used for the consensus")
    ap.add_argument("--held-out", type=int, default=24, help="identities used only to measure residuals")
    ap.add_argument("--dense", type=int, default=330, help="dense samples on the left half incl. midline")
    ap.add_argument("--seed", type=int, default=20250)
    ap.add_argument("--preview", type=Path, default=None, help="write a PNG of points over renders here")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from facefarm.head.build.compiler import build
    from facefarm.head.model import HeadModel

    head = HeadModel.load(build())  # the mesh itself does not depend on the landmark files
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, 68]))
    ids = sample_identities(rng, args.identities + args.held_out, head.identity_ranges)
    renderer, dlib68 = Renderer(), Dlib68()
    try:
        results = collect(head, ids, rng, renderer, dlib68)
        fit, held = results[: args.identities], results[args.identities :]
        hits = np.stack([h for p, h, _, _ in fit if p is not None])
        print(f"dlib found {len(hits)}/{len(fit)} faces for the consensus")
        defs = consensus(head, hits)
        e_fit, n_fit = residuals(head, defs, fit)
        e_held, n_held = residuals(head, defs, held)
        yaw_res = collect(head, ids[args.identities :], rng, renderer, dlib68, yaw=25.0)
        e_yaw, n_yaw = residuals(head, defs, yaw_res, yaw=25.0)
        if args.preview:
            write_preview(head, defs, held[:4], args.preview)
    finally:
        renderer.close()

    groups = {
        "jaw": range(0, 17),
        "brows": range(17, 27),
        "nose": range(27, 36),
        "eyes": range(36, 48),
        "lips": range(48, 68),
    }
    report = {
        "identities_used": int(len(hits)),
        "held_out_detected": int(len(e_held)),
        "fit": {"mean_px": float(e_fit.mean()), "nme": float(n_fit.mean())},
        "held_out": {
            "mean_px": float(e_held.mean()),
            "median_px": float(np.median(e_held)),
            "nme": float(n_held.mean()),
            "nme_median": float(np.median(n_held)),
            "per_group_px": {g: float(e_held[:, list(r)].mean()) for g, r in groups.items()},
            "per_group_median_px": {g: float(np.median(e_held[:, list(r)])) for g, r in groups.items()},
        },
        "held_out_yaw25": {
            "detected": int(len(e_yaw)),
            "mean_px": float(e_yaw.mean()) if len(e_yaw) else None,
            "median_px": float(np.median(e_yaw)) if len(e_yaw) else None,
            "nme": float(n_yaw.mean()) if len(n_yaw) else None,
            "nme_median": float(np.median(n_yaw)) if len(n_yaw) else None,
            "per_group_median_px": {g: float(np.median(e_yaw[:, list(r)])) for g, r in groups.items()}
            if len(e_yaw)
            else None,
        },
        "render": {"size": SIZE, "focal_px": FOCAL_PX, "distance_m": DISTANCE_M},
    }
    print(json.dumps(report, indent=1))
    dense, dense_flip = dense_points(head, args.dense)
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {
        "description": "The 68 iBUG 300-W points and 2 pupil centres as barycentric points on the HM08 mesh "
        "(vertex ids are MakeHuman HM08 ids; pupils are the eyeball front poles). Derived by "
        "tools/derive_landmarks.py from dlib's 68-point predictor on frontal renders; jaw points "
        "0-16 are the frontal-view silhouette consensus. See facefarm/assets/README.md.",
        "version": 1,
        "residuals": report,
        "points": to_hm08(head, defs),
    }
    (OUT / "landmarks70.json").write_text(json.dumps(doc, indent=1) + "\n")
    (OUT / "dense.json").write_text(
        json.dumps(
            {
                "description": "Dense surface points over face, ears and neck: farthest-point samples of HM08 skin "
                "vertices on the subject's left and the midline, mirrored to the right. flip_index[i] "
                "is the point i becomes under a horizontal image flip.",
                "version": 1,
                "flip_index": dense_flip,
                "points": dense,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {OUT / 'landmarks70.json'} and {OUT / 'dense.json'} ({len(dense)} dense points)")
    return 0


def write_preview(head, defs, results, path: Path) -> None:
    from PIL import Image, ImageDraw

    tiles = []
    for pts, _, img, v in results:
        im = Image.fromarray(img)
        dr = ImageDraw.Draw(im)
        uv, _ = camera().project(points_of(head, defs, v))
        for x, y in uv:
            dr.ellipse([x - 2.5, y - 2.5, x + 2.5, y + 2.5], outline=(0, 255, 0))
        if pts is not None:
            for x, y in pts:
                dr.rectangle([x - 1, y - 1, x + 1, y + 1], fill=(255, 0, 0))
        tiles.append(np.asarray(im))
    Image.fromarray(np.concatenate(tiles, axis=1)).save(path)


if __name__ == "__main__":
    sys.exit(main())
