"""Do our MediaPipe-478 labels sit where MediaPipe FaceMesh puts its points on our renders?

Renders default-catalog samples (fast back-end) with ``landmarks_mediapipe478`` and runs FaceMesh
(``mediapipe==0.10.21``, ``refine_landmarks=True``, dev/bench only: see REFERENCE.md; it needs
protobuf<5) on each image. Reports, per group of ``facefarm/assets/schema/mediapipe478.json``, the
median over detected samples of the NME of our points (x-ray and contour) against FaceMesh's,
normalised by our outer-eye-corner distance |p33 - p263|, with the face oval's near and far halves
apart. For scale, FaceMesh against itself: its points on the mirror image, renumbered by our flip
index and mirrored back (how far its own predictions are from a mirror-consistent set). The identities are the catalog's draws,
not those ``tools/derive_mediapipe478.py`` derived the points from (held out by construction).

Also times the layout: compose with and without it, and the labels (ms per sample).

    python tools/facemesh_check.py -n 160 --size 256 --overlay /tmp/overlays
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

N = 478


def facemesh():
    import mediapipe as mp

    fm = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1)

    def run(rgb: np.ndarray) -> np.ndarray | None:
        """(478, 2) points, our pixel convention (corner origin: normalised x width), or None."""
        res = fm.process(np.ascontiguousarray(rgb))
        if not res.multi_face_landmarks:
            return None
        h, w = rgb.shape[:2]
        return np.array([[p.x * w, p.y * h] for p in res.multi_face_landmarks[0].landmark], np.float64)

    return run


def _median(values) -> float | None:
    return float(np.median(values)) if len(values) else None


def groups() -> dict[str, list[int]]:
    from facefarm.scene.classes import layout

    g = layout("mediapipe478")["groups"]
    named = {k: sorted(set(v)) for k, v in g.items()}
    out = {
        "face_oval": named["face_oval"],
        "brows": named["right_brow"] + named["left_brow"],
        "eyes": named["right_eye"] + named["left_eye"],
        "iris": named["right_iris"] + named["left_iris"],
        "nose": named["nose"],
        "lips": sorted(set(named["lips_outer"]) | set(named["lips_inner"])),
    }
    listed = {k for v in out.values() for k in v}
    out["other_mesh"] = [k for k in range(468) if k not in listed]
    out["all_478"] = list(range(N))
    return out


def overlay(rgb: np.ndarray, ours: np.ndarray, theirs: np.ndarray | None, path: Path, scale: int = 3) -> None:
    """Our points (green) and FaceMesh's (red) over the image, upscaled ``scale`` times."""
    from PIL import Image, ImageDraw

    im = Image.fromarray(rgb).resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    dr = ImageDraw.Draw(im)
    if theirs is not None:
        for x, y in theirs * scale:
            dr.rectangle([x - 1, y - 1, x + 1, y + 1], fill=(255, 40, 40))
    for x, y in ours * scale:
        dr.ellipse([x - 2, y - 2, x + 2, y + 2], outline=(40, 255, 40))
    im.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", default="default")
    ap.add_argument("-n", type=int, default=160)
    ap.add_argument("--seed", type=int, default=478)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--overlay", type=Path, default=None, help="write the first 8 overlays here")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--timing", type=int, default=13, help="samples to time the layout's compose cost on")
    a = ap.parse_args()

    import cv2

    from facefarm.catalog import load_catalog, resolve
    from facefarm.catalog.overrides import apply_overrides, overrides_from
    from facefarm.compose.compositor import compose
    from facefarm.sample.renderer import SampleRenderer
    from facefarm.scene.classes import layout

    path = Path(a.catalog)
    if not path.exists():
        from facefarm import paths

        path = paths.ASSETS / "catalogs" / f"{a.catalog}.json"
    data = json.loads(path.read_text())
    labels = ["rgb", "segmentation", "depth", "landmarks70", "landmarks_mediapipe478"]
    data, problems = apply_overrides(
        data, overrides_from({"render.resolution": [a.size, a.size], "outputs.labels": labels})
    )
    if problems:
        raise SystemExit(f"overrides: {problems}")
    catalog = load_catalog(data)
    renderer = SampleRenderer(catalog, backend="pyrender")
    fm = facemesh()
    gs = groups()
    per: dict[str, dict[str, list[float]]] = {c: {} for c in ("xray", "contour", "facemesh_mirrored")}
    spec = layout("mediapipe478")
    flip = np.asarray(spec["flip_index"])
    oval = spec["groups"]["face_oval"]
    oval_right = [k for k in oval if spec["names"][k].endswith("_right")]
    oval_left = [k for k in oval if spec["names"][k].endswith("_left")]
    yaws, detected, t_lab = [], 0, []
    if a.overlay:
        a.overlay.mkdir(parents=True, exist_ok=True)
    for i in range(a.n):
        record, files = renderer.render(a.seed, i, a.n)
        t_lab.append(record["render"]["seconds"]["labels"])
        bgr = cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        theirs = fm(rgb)
        blocks = record["layouts"]["mediapipe478"]
        if a.overlay and i < 8:
            overlay(rgb, np.asarray(blocks["contour"]["uv"]), theirs, a.overlay / f"{i:03d}.png")
        if theirs is None:
            continue
        detected += 1
        yaws.append(abs(record["attributes"]["head_pose"]["yaw_deg"]))
        # the face oval's near and far halves: the far one is the half with fewer seen x-ray points
        seen = np.asarray(blocks["xray"]["visible"], bool)
        halves = (oval_right, oval_left) if seen[oval_right].sum() >= seen[oval_left].sum() else (oval_left, oval_right)
        sets = dict(gs, face_oval_near=halves[0], face_oval_far=halves[1])
        norm = np.linalg.norm(np.asarray(blocks["xray"]["uv"])[33] - np.asarray(blocks["xray"]["uv"])[263])
        for c in ("xray", "contour"):
            err = np.linalg.norm(np.asarray(blocks[c]["uv"]) - theirs, axis=1) / norm
            for g, ids in sets.items():
                per[c].setdefault(g, []).append(float(err[ids].mean()))
        # FaceMesh against itself: on the mirror image, renumbered by the flip index and mirrored back
        mirrored = fm(np.ascontiguousarray(rgb[:, ::-1]))
        if mirrored is not None:
            back = mirrored[flip].copy()
            back[:, 0] = rgb.shape[1] - back[:, 0]
            err = np.linalg.norm(back - theirs, axis=1) / norm
            for g, ids in sets.items():
                per["facemesh_mirrored"].setdefault(g, []).append(float(err[ids].mean()))
    renderer.close()

    # the layout's cost, read from a profile of compose (placing the points) and of the labels
    # (projecting them, visibility): a difference of whole composes drowns ~20 ms in the noise
    # of a shared machine
    import cProfile
    import pstats

    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.sample.labels import landmark_labels

    head = renderer.head
    prof = cProfile.Profile()
    timed = 0
    with PyrenderRenderer() as r:
        for i in range(a.timing):
            scene = compose(resolve(catalog, a.seed, i, max(a.n, a.timing)), head, layouts=("mediapipe478",))
            result = r.render(scene)
            if i == 0:  # the first builds the per-surface caches
                continue
            prof.enable()
            compose(resolve(catalog, a.seed, i, max(a.n, a.timing)), head, layouts=("mediapipe478",))
            landmark_labels(scene, result)
            prof.disable()
            timed += 1
    cost = {}
    if timed:
        stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        for (_, _, fn), (_, _, _, cum, _) in stats.items():
            if fn in ("_layout_points", "_layout_labels", "compose", "landmark_labels"):
                cost[fn] = 1000 * cum / timed
    yaws = np.array(yaws, float)
    report = {
        "samples": a.n,
        "detected": detected,
        "size_px": a.size,
        "median_abs_yaw_deg": float(np.median(yaws)) if len(yaws) else None,
        "nme_median": {c: {g: _median(v) for g, v in per[c].items()} for c in per},
        "nme_median_abs_yaw_under_15": {
            c: {g: _median(np.array(v)[yaws < 15]) for g, v in per[c].items()} for c in per
        },
        "nme_median_abs_yaw_15_to_30": {
            c: {g: _median(np.array(v)[(yaws >= 15) & (yaws <= 30)]) for g, v in per[c].items()} for c in per
        },
        "nme_median_abs_yaw_over_30": {c: {g: _median(np.array(v)[yaws > 30]) for g, v in per[c].items()} for c in per},
        "samples_by_abs_yaw": {
            "under_15": int((yaws < 15).sum()),
            "15_to_30": int(((yaws >= 15) & (yaws <= 30)).sum()),
            "over_30": int((yaws > 30).sum()),
        },
        "ms_per_sample_profiled": cost,
        "labels_ms_median_with_mediapipe478": 1000 * float(np.median(t_lab)) if t_lab else None,
    }
    print(json.dumps(report, indent=1))
    if a.json:
        a.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
