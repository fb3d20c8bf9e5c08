"""Derive the MediaPipe-478 point definitions of the head mesh from MediaPipe FaceMesh.

The method of ``tools/derive_landmarks.py`` (the 70's), with FaceMesh in place of dlib:

1. Render neutral identities with that tool's minimal pyrender shader, 512 x 512, frontally
   and at small yaws (+-10 degrees).
2. Run FaceMesh (``mediapipe==0.10.21``, ``refine_landmarks=True``: 468 mesh points and 10
   iris points) on each image.
3. Cast each mesh point's camera ray onto the head; the hit (triangle + barycentric weights) is
   carried to the neutral base mesh. Eye-contour points (MediaPipe's ``FACEMESH_LEFT_EYE`` /
   ``RIGHT_EYE``) that land on the eyeball or in the socket take the lid-margin vertex nearest
   the ray; lip points take the nearest vertex of their own lip (inner-lip points: of their
   lip's inner rim); any other point that misses the skin takes the nearest skin vertex.
4. The flip permutation: FaceMesh's points on each frontal render are matched one-to-one
   (Hungarian assignment, mean pixel distance) to its points on the mirrored render, flipped
   back; it is accepted only if it is an involution that maps the lips' connections onto
   themselves, the left eye and brow connections onto the right ones, and MediaPipe's
   tessellation onto itself (all but 1 %: a few quads are split along opposite diagonals on
   the two sides).
5. Consensus per point: the median of the carried hits, averaged with its partner's mirror,
   snapped to the skin; the subject's-left member is defined and the right is its exact mirror;
   midline points lie on the midline edge loop.
6. Brow points are written as places in the brow band (|x|, across), measured in the painted
   brow FaceMesh saw, so that they follow each identity's brow (:func:`brow_band_points`).
7. Iris points 468-477 are not surface points of the skin: they are written as eye-model
   points (the pupil centre and four points on the painted limbus of
   :mod:`facefarm.compose.eyes`), in the image directions FaceMesh puts them.

Residuals on held-out identities are printed and stored in the file. Only the numbers derived
from our renders are written (``facefarm/assets/schema/mediapipe478.json``); no MediaPipe file
is copied.

Run:  PYTHONPATH=/path/to/protobuf<5 PYOPENGL_PLATFORM=egl .venv/bin/python tools/derive_mediapipe478.py
(mediapipe 0.10.21 needs protobuf<5; see REFERENCE.md and BENCHMARKS.md.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from derive_landmarks import (  # noqa: E402
    Renderer,
    camera,
    face_colours,
    intersect,
    place_pair,
    rays,
    sample_identities,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "facefarm" / "assets" / "schema" / "mediapipe478.json"
N_MESH = 468
YAWS = (0.0, -10.0, 10.0)

# MediaPipe's lip chains (from FACEMESH_LIPS, mouth corner to mouth corner, subject's right first)
OUTER_UPPER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
OUTER_LOWER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
INNER_LOWER = [95, 88, 178, 87, 14, 317, 402, 318, 324]


def mp_connections():
    from mediapipe.python.solutions import face_mesh_connections as c

    return c


def chain(edges) -> list[int]:
    """The indices of a set of (a, b) edges that form one path or loop, in order."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    ends = [k for k, v in adj.items() if len(v) == 1]
    start = min(ends) if ends else min(adj)
    out, prev = [start], None
    while True:
        nxt = [k for k in adj[out[-1]] if k != prev and k not in out]
        if not nxt:
            return out
        prev = out[-1]
        out.append(nxt[0])


class FaceMesh:
    def __init__(self):
        try:
            import mediapipe as mp
        except ImportError as e:  # pragma: no cover
            raise SystemExit("pip install --no-deps mediapipe==0.10.21 (and protobuf<5); see REFERENCE.md") from e
        self._fm = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1)

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """(478, 2) pixel points (corner origin: normalised x width) or None."""
        res = self._fm.process(np.ascontiguousarray(rgb))
        if not res.multi_face_landmarks:
            return None
        h, w = rgb.shape[:2]
        return np.array([[p.x * w, p.y * h] for p in res.multi_face_landmarks[0].landmark], np.float64)


def point_rules(c) -> tuple[set[int], dict[int, str]]:
    """The eye-contour points and, per lip point, which lip (and rim) it must sit on."""
    eyes = {k for e in (c.FACEMESH_LEFT_EYE, c.FACEMESH_RIGHT_EYE) for pair in e for k in pair}
    lips = {}
    for k in OUTER_UPPER[1:-1]:
        lips[k] = "TOP_LIP"
    for k in OUTER_LOWER:
        lips[k] = "BOTTOM_LIP"
    for k in (61, 291):
        lips[k] = "ANY"
    for k in INNER_UPPER[1:-1]:
        lips[k] = "RIM_TOP_LIP"
    for k in INNER_LOWER:
        lips[k] = "RIM_BOTTOM_LIP"
    for k in (78, 308):
        lips[k] = "RIM_ANY"
    return eyes, lips


def collect(head, identities, rng, renderer, facemesh, eyes_pts, lip_rule, yaw=0.0):
    """Per identity: (FaceMesh points (478, 2) or None, hits (468, 3) on the neutral mesh, image, vertices)."""
    from facefarm.scene.classes import CLASS_IDS

    neutral = head.neutral.astype(np.float64)
    skin_id = head.part_names.index("skin")
    lash = [head.part_names.index("lash_r"), head.part_names.index("lash_l")]
    vis = ~np.isin(head.face_part, lash)
    faces, fpart, fclass = head.faces[vis], head.face_part[vis], head.face_class[vis]
    skin_v = np.unique(head.faces[head.face_part == skin_id])
    inside = np.zeros(len(head.vertex_class), bool)
    inside[head.faces[head.face_class == CLASS_IDS["MOUTH_INTERIOR"]].ravel()] = True
    cands = {}
    for lip in ("TOP_LIP", "BOTTOM_LIP"):
        lv = skin_v[head.vertex_class[skin_v] == CLASS_IDS[lip]]
        cands[lip] = lv
        cands["RIM_" + lip] = np.intersect1d(
            np.unique(head.faces[head.face_class == CLASS_IDS[lip]]), np.flatnonzero(inside)
        )
    cands["ANY"] = np.union1d(cands["TOP_LIP"], cands["BOTTOM_LIP"])
    cands["RIM_ANY"] = np.union1d(cands["RIM_TOP_LIP"], cands["RIM_BOTTOM_LIP"])
    not_skin_face = (fpart != skin_id) | (fclass == CLASS_IDS["MOUTH_INTERIOR"])
    results = []
    for params in identities:
        v = head.shape(params).astype(np.float64)
        cam = camera(yaw)
        img = renderer.render(head, v, face_colours(head, rng), cam)
        pts = facemesh(img)
        if pts is None:
            results.append((None, None, img, v))
            continue
        centres = head.eye_centres(v)
        radius = np.array([np.linalg.norm(v[head.eyes_slice(e)] - centres[e], axis=1).mean() for e in (0, 1)])
        dist_eye = np.linalg.norm(v[skin_v][:, None, :] - centres[None], axis=2)
        margin_v = skin_v[
            (np.abs(dist_eye - radius) < 0.0015).any(axis=1)
            & ((v[skin_v][:, None, 2] - centres[None, :, 2]) > 0).any(axis=1)
        ]
        o, d = rays(cam, pts[:N_MESH])
        # only triangles that face-on rays can reach: the front of the head
        front = v[faces].mean(axis=1)[:, 2] > -0.05
        sub = np.flatnonzero(front)
        tri_s, bary = intersect(o, d, v, faces[sub])
        tri = np.where(tri_s >= 0, sub[np.maximum(tri_s, 0)], -1)

        def nearest_to_ray(k: int, cand: np.ndarray) -> int:
            rel = v[cand] - o[k]
            perp = np.linalg.norm(rel - np.outer(rel @ d[k], d[k]), axis=1)
            return int(cand[np.argmin(perp)])

        hits = np.empty((N_MESH, 3))
        for k in range(N_MESH):
            t = tri[k]
            if k in lip_rule:
                want = lip_rule[k]
                if (
                    want.startswith("RIM_")
                    or t < 0
                    or not_skin_face[t]
                    or (want != "ANY" and fclass[t] != CLASS_IDS[want])
                ):
                    hits[k] = neutral[nearest_to_ray(k, cands[want])]
                else:
                    hits[k] = bary[k] @ neutral[faces[t]]
                continue
            if t >= 0:
                p = bary[k] @ v[faces[t]]
                in_eye = (np.linalg.norm(centres - p, axis=1) < radius - 1e-4).any()
                if k in eyes_pts and (fpart[t] != skin_id or in_eye):
                    hits[k] = neutral[nearest_to_ray(k, margin_v)]
                    continue
                if not not_skin_face[t]:
                    hits[k] = bary[k] @ neutral[faces[t]]
                    continue
            hits[k] = neutral[nearest_to_ray(k, skin_v)]
        results.append((pts, hits, img, v))
    return results


def flip_permutation(results, facemesh, c) -> np.ndarray:
    """(468,) the point each mesh point becomes under a horizontal flip: FaceMesh's points on each
    frontal render matched one-to-one (Hungarian, mean pixel distance) to its points on the
    mirrored render, flipped back; checked on MediaPipe's own topology."""
    from scipy.optimize import linear_sum_assignment

    cost = np.zeros((N_MESH, N_MESH))
    n = 0
    for pts, _, img, _ in results:
        if pts is None:
            continue
        q = facemesh(img[:, ::-1])
        if q is None:
            continue
        q = q[:N_MESH].copy()
        q[:, 0] = img.shape[1] - q[:, 0]
        cost += np.linalg.norm(pts[:N_MESH, None] - q[None], axis=2)
        n += 1
    if n == 0:
        raise SystemExit("FaceMesh found no face on the mirrored renders")
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(N_MESH, int)
    perm[rows] = cols
    problems = []
    if not (perm[perm] == np.arange(len(perm))).all():
        problems.append("not an involution")
    tess = {tuple(sorted(e)) for e in c.FACEMESH_TESSELATION}
    mapped = {tuple(sorted((int(perm[a]), int(perm[b])))) for a, b in tess}
    # a few quads of MediaPipe's mesh are split along opposite diagonals on the two sides
    off = len(mapped - tess)
    print(f"flip: {off} of {len(tess)} tessellation edges map onto a non-edge", file=sys.stderr)
    if off > 0.01 * len(tess):
        problems.append(f"{off} tessellation edges not mapped onto edges")
    lips = {tuple(sorted(e)) for e in c.FACEMESH_LIPS}
    if {tuple(sorted((int(perm[a]), int(perm[b])))) for a, b in lips} != lips:
        problems.append("the lips' connections not mapped onto themselves")
    for left, right in (
        (c.FACEMESH_LEFT_EYE, c.FACEMESH_RIGHT_EYE),
        (c.FACEMESH_LEFT_EYEBROW, c.FACEMESH_RIGHT_EYEBROW),
    ):
        lset = {tuple(sorted(e)) for e in left}
        rset = {tuple(sorted((int(perm[a]), int(perm[b])))) for a, b in right}
        if lset != rset:
            problems.append("left/right eye or brow connections not swapped")
    if problems:
        bad = sorted(
            {int(k) for a, b in tess for k in (a, b) if tuple(sorted((int(perm[a]), int(perm[b])))) not in tess}
        )
        print("unmatched points:", bad, [int(perm[k]) for k in bad], file=sys.stderr)
        raise SystemExit("flip permutation rejected: " + "; ".join(problems))
    return perm


def consensus(head, hits: np.ndarray, perm: np.ndarray, lip_rule: dict[int, str]) -> list[dict]:
    """(n, 468, 3) neutral-space hits -> 468 symmetric point definitions (render vertex ids + weights)."""
    from facefarm.scene.classes import CLASS_IDS

    neutral = head.neutral.astype(np.float64)
    skin = head.face_part == head.part_names.index("skin")
    med = np.median(hits, axis=0)
    sym = 0.5 * (med + med[perm] * np.array([-1.0, 1.0, 1.0]))
    defs: list[dict | None] = [None] * N_MESH
    for i in range(N_MESH):
        if defs[i] is not None:
            continue
        j = int(perm[i])
        want = lip_rule.get(i, "").replace("RIM_", "")
        want = want if want in ("TOP_LIP", "BOTTOM_LIP") else None
        ok = skin & (head.face_class != CLASS_IDS["MOUTH_INTERIOR"])
        faces = head.faces[ok] if want is None else head.faces[skin & (head.face_class == CLASS_IDS[want])]
        place_pair(defs, i, j, sym, neutral, head, faces, want)
    return defs  # type: ignore[return-value]


def points_of(defs, v):
    return np.stack([np.asarray(d["weights"]) @ v[np.asarray(d["vertices"])] for d in defs])


def iris_directions(results) -> dict[int, list[float]]:
    """Per iris rim point (469-472, 474-477): its mean image direction from its iris centre,
    snapped to image right/up/left/down, as a head-frame unit direction ([x, y]: +x the
    subject's left = image right in a frontal view, +y up)."""
    offs = np.stack([p[468:] for p, *_ in results if p is not None])  # (n, 10, 2)
    out = {}
    for c0, rim in ((0, range(1, 5)), (5, range(6, 10))):
        for r in rim:
            d = np.median(offs[:, r] - offs[:, c0], axis=0)
            d = np.array([d[0], -d[1]])  # image y down -> head y up
            axis = int(np.argmax(np.abs(d)))
            u = [0.0, 0.0]
            u[axis] = float(np.sign(d[axis]))
            out[468 + r] = u
    return out


def residuals(defs, results, yaw=0.0):
    """Per detected identity: pixel errors (468,) and NME (outer eye corners 33, 263)."""
    errs, nmes = [], []
    for pts, _, _, v in results:
        if pts is None:
            continue
        uv, _ = camera(yaw).project(points_of(defs, v))
        e = np.linalg.norm(uv - pts[:N_MESH], axis=1)
        errs.append(e)
        nmes.append(e.mean() / np.linalg.norm(pts[33] - pts[263]))
    return np.array(errs), np.array(nmes)


def names_and_groups(c, perm: np.ndarray, sym: np.ndarray):
    """Names, MediaPipe's semantic groups (index lists), each point's visibility group (the
    70-point layout's group names, plus ``face`` and the irises), the contour chain and a skeleton.

    sym : (468, 3) the consensus points on the neutral head, head frame (+x the subject's left)."""
    oval = chain(c.FACEMESH_FACE_OVAL)
    groups = {
        "face_oval": oval,
        "lips_outer": OUTER_UPPER + OUTER_LOWER,
        "lips_inner": INNER_UPPER + INNER_LOWER,
        "right_eye": sorted({k for e in c.FACEMESH_RIGHT_EYE for k in e}),
        "left_eye": sorted({k for e in c.FACEMESH_LEFT_EYE for k in e}),
        "right_brow": sorted({k for e in c.FACEMESH_RIGHT_EYEBROW for k in e}),
        "left_brow": sorted({k for e in c.FACEMESH_LEFT_EYEBROW for k in e}),
        "nose": sorted({k for e in c.FACEMESH_NOSE for k in e}),
        "right_iris": list(range(468, 473)),
        "left_iris": list(range(473, 478)),
    }
    # the outline part of the oval: its points below the eyes (their lowest lid point), from the
    # subject's right through the chin to the left (the jaw of the other layouts); higher up, the
    # temples' and the forehead's points have no outline of their own in a frontal view: the
    # outline there is the ears' and the hair's
    eyes = groups["right_eye"] + groups["left_eye"]
    low = [k for k in oval if sym[k, 1] < sym[eyes, 1].min()]
    start = oval.index(min(low, key=lambda k: sym[k, 0]))
    loop = oval[start:] + oval[:start]
    if sym[loop[1], 1] > sym[loop[-1], 1]:  # walk downwards first
        loop = [loop[0]] + loop[:0:-1]
    contour = [k for k in loop if k in low]
    if contour != loop[: len(contour)]:
        raise SystemExit("the face oval's lower part is not one run of points")
    assert sym[contour[0], 0] < 0 < sym[contour[-1], 0]
    visibility: dict[str, list[int]] = {}
    seen: set[int] = set()
    for vis, ids in (
        ("right_iris", groups["right_iris"]),
        ("left_iris", groups["left_iris"]),
        ("right_eye", groups["right_eye"]),
        ("left_eye", groups["left_eye"]),
        ("inner_lips", groups["lips_inner"]),
        ("outer_lips", groups["lips_outer"]),
        ("right_brow", groups["right_brow"]),
        ("left_brow", groups["left_brow"]),
        ("jaw", contour),
        ("nose_bridge", groups["nose"]),
        ("face", range(468)),
    ):
        mine = sorted(set(ids) - seen)
        seen |= set(mine)
        visibility[vis] = mine
    skeleton = sorted({tuple(sorted(e)) for e in (*c.FACEMESH_CONTOURS, *c.FACEMESH_IRISES)})
    names = []
    for i in range(478):
        if i >= 468:
            side = "right" if i < 473 else "left"
            names.append(f"{side}_iris_{'centre' if i in (468, 473) else i - (469 if i < 473 else 474)}")
            continue
        side = "mid" if perm[i] == i else ("left" if sym[i, 0] > 0 else "right")
        names.append(f"mp_{i:03d}_{side}")
    return names, groups, visibility, contour, [list(e) for e in skeleton]


def brow_band_points(head, sym: np.ndarray, groups: dict, perm: np.ndarray) -> dict[int, dict]:
    """The brow points as places in the brow band: ``{"brow": side, "x_m": |x|, "across": s}`` with
    |x| the distance from the midline (metres, neutral head) and s the place across the band there
    (0 its lower edge .. 1 its upper edge).

    FaceMesh saw the derivation renders' painted brows (the mesh's brow classes), while every
    rendered identity has its own brow band (:class:`facefarm.compose.hair.brows.Brow`): as fixed
    skin points they would sit wherever the painted brow was, not on the identity's brow. So each
    consensus point (sym: (468, 3) neutral head frame) keeps its |x| and has its height expressed
    across the painted left brow (its brow-class vertices' lowest and highest y within 3 mm of the
    point's x, or a little further where the coarse mesh has fewer); the layout puts it at that
    height in each identity's band. Right-brow points are their left partners' mirrors."""
    from facefarm.scene.classes import CLASS_IDS

    neutral = head.neutral.astype(np.float64)
    painted = neutral[np.unique(head.faces[head.face_class == CLASS_IDS["LEFT_BROW"]])]
    out = {}
    for k in groups["left_brow"]:
        x, y = sym[k, 0], sym[k, 1]
        for half_width in (0.003, 0.005, 0.008, 0.012):  # the coarse mesh has few brow vertices
            near = painted[np.abs(painted[:, 0] - x) < half_width]
            if len(near) and np.ptp(near[:, 1]) > 0.002:
                break
        lo, hi = near[:, 1].min(), near[:, 1].max()
        s_ = round(float((y - lo) / (hi - lo)), 4)
        out[k] = {"brow": "left", "x_m": round(float(x), 6), "across": s_}
        out[int(perm[k])] = {"brow": "right", "x_m": round(float(x), 6), "across": s_}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--identities", type=int, default=40, help="identities used for the consensus")
    ap.add_argument("--held-out", type=int, default=16, help="identities used only to measure residuals")
    ap.add_argument("--seed", type=int, default=20478)
    ap.add_argument("--preview", type=Path, default=None, help="write a PNG of points over renders here")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    from facefarm.head.build.compiler import build
    from facefarm.head.model import HeadModel

    head = HeadModel.load(build())
    c = mp_connections()
    eyes_pts, lip_rule = point_rules(c)
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, 478]))
    ids = sample_identities(rng, args.identities + args.held_out, head.identity_ranges)
    renderer, fm = Renderer(), FaceMesh()
    try:
        fit = []
        for yaw in YAWS:
            fit += collect(head, ids[: args.identities], rng, renderer, fm, eyes_pts, lip_rule, yaw)
        held = collect(head, ids[args.identities :], rng, renderer, fm, eyes_pts, lip_rule)
        hits = np.stack([h for p, h, _, _ in fit if p is not None])
        print(f"FaceMesh found {len(hits)}/{len(fit)} faces for the consensus")
        perm468 = flip_permutation(fit[: args.identities], fm, c)
        defs = consensus(head, hits, perm468, lip_rule)
        e_fit, n_fit = residuals(defs, [r for r in fit[: args.identities]])
        e_held, n_held = residuals(defs, held)
        iris = iris_directions(fit[: args.identities])
        if args.preview:
            write_preview(defs, held[:4], args.preview)
    finally:
        renderer.close()
    perm = np.concatenate([perm468, [473, 474, 475, 476, 477, 468, 469, 470, 471, 472]])
    # an iris rim point's mirror is the other iris's point in the mirrored direction
    for r in range(469, 473):
        want = [-iris[r][0], iris[r][1]]
        perm[r] = next(k for k in range(474, 478) if iris[k] == want)
        perm[perm[r]] = r
    sym = points_of(defs, head.neutral.astype(np.float64))
    names, groups, visibility, contour, skeleton = names_and_groups(c, perm, sym)
    points = []
    for i, d in enumerate(defs):
        vid = head.hm08_index[np.asarray(d["vertices"])]
        assert (vid >= 0).all()
        points.append({"vertices": [int(x) for x in vid], "weights": [round(float(x), 6) for x in d["weights"]]})
    for i in range(468, 478):
        eye = "eye_r" if i < 473 else "eye_l"
        points.append({"eye": eye} if i in (468, 473) else {"eye": eye, "limbus": iris[i]})
    for i, p in brow_band_points(head, sym, groups, perm).items():
        points[i] = p
    report = {
        "identities_used": int(len(hits) // 1),
        "renders": {"size": 512, "yaws_deg": list(YAWS)},
        "fit_frontal": {"mean_px": float(e_fit.mean()), "nme": float(n_fit.mean())},
        "held_out_frontal": {
            "detected": int(len(e_held)),
            "mean_px": float(e_held.mean()),
            "median_px": float(np.median(e_held)),
            "nme_median": float(np.median(n_held)),
        },
    }
    print(json.dumps(report, indent=1))
    doc = {
        "description": "MediaPipe FaceMesh-compatible 478-point layout, in MediaPipe's numbering (0-467 the face "
        "mesh, 468-472 the subject's right iris, 473-477 the left: centre, then 4 limbus points). 'Right' is the "
        "subject's right (image left in a frontal view). A point with 'vertices'/'weights' is a barycentric point "
        "on the HM08 mesh (MakeHuman HM08 vertex ids), derived by tools/derive_mediapipe478.py from FaceMesh "
        "(mediapipe 0.10.21) on renders of neutral identities (ray cast, consensus on the neutral head, mirrored); "
        "a point with 'brow' (right/left) lies in that brow's band of each identity, 'x_m' from the midline "
        "(metres, neutral head), 'across' 0 at the band's lower edge .. 1 at its upper edge (measured in the "
        "painted brows the renders had); "
        "a point with 'eye' is the pupil centre of that eyeball, or with 'limbus' [x, y] the point of the iris's "
        "painted edge in that head-frame direction (+x the subject's left, +y up). flip_index[i] is the point "
        "i becomes under a horizontal image flip (matched on the mirrored consensus, checked against MediaPipe's "
        "tessellation). groups: MediaPipe's semantic groups (index lists; face_oval in order round the face); "
        "visibility: each point's surface group, named as the 70-point layout's; contour: the face-oval points "
        "that move onto the view's outline in the contour convention, the subject's right to left through the chin.",
        "version": 1,
        "names": names,
        "flip_index": [int(x) for x in perm],
        "nme_normaliser": [33, 263],
        "groups": groups,
        "visibility": visibility,
        "contour": contour,
        "skeleton": skeleton,
        "residuals": report,
        "points": points,
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


def write_preview(defs, results, path: Path) -> None:
    from PIL import Image, ImageDraw

    tiles = []
    for pts, _, img, v in results:
        im = Image.fromarray(img)
        dr = ImageDraw.Draw(im)
        uv, _ = camera().project(points_of(defs, v))
        for x, y in uv:
            dr.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], outline=(0, 255, 0))
        if pts is not None:
            for x, y in pts:
                dr.rectangle([x - 0.5, y - 0.5, x + 0.5, y + 0.5], fill=(255, 0, 0))
        tiles.append(np.asarray(im))
    Image.fromarray(np.concatenate(tiles, axis=1)).save(path)


if __name__ == "__main__":
    sys.exit(main())
