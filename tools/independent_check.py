"""Does what we render look like a face to someone else's model, and do our landmarks sit where theirs do?

Runs dlib's HOG face detector and its 68-point iBUG predictor (``dlib-bin`` +
``face_recognition_models``, dev/test only) on rendered samples and compares its
68 points with our projected labels (NME normalised by the outer-eye-corner
distance |p36 - p45|, the 300-W convention).

    python tools/independent_check.py facefarm/assets/catalogs/default.json -n 64

Per region (jaw, brows, nose, eyes, outer lips, inner lips) it prints the median NME of both of our
conventions (x-ray ``landmarks``, annotators' ``landmarks_contour``); ``--save run.npz`` keeps
dlib's points, ours, the images and segmentations for offline analysis (``tools/jaw_gap.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


class Dlib68:
    """dlib's frontal face detector + 68-point shape predictor, loaded once."""

    def __init__(self):
        import dlib

        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None:
            raise RuntimeError("pip install face_recognition_models==0.3.0 (dev dependency)")
        model = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(model))

    def __call__(self, rgb: np.ndarray, upsample: int = 1) -> np.ndarray | None:
        """(68, 2) points in our pixel convention (corner origin) for the largest face, or None."""
        faces = self.detector(rgb, upsample)
        if len(faces) == 0:
            return None
        face = max(faces, key=lambda r: r.width() * r.height())
        shape = self.predictor(rgb, face)
        # dlib reports integer pixel indices: the pixel centre is at index + 0.5 in our convention
        return np.array([[p.x + 0.5, p.y + 0.5] for p in shape.parts()], np.float64)


#: The 68-point iBUG regions (0-based, end exclusive) reported per region.
REGIONS = {
    "jaw": slice(0, 17),
    "brows": slice(17, 27),
    "nose": slice(27, 36),
    "eyes": slice(36, 48),
    "outer lips": slice(48, 60),
    "inner lips": slice(60, 68),
    "inner 51": slice(17, 68),
    "all 68": slice(0, 68),
}


@dataclass
class CheckResult:
    n: int
    detected: int
    nme: np.ndarray  # per detected sample, all 68 points
    nme_inner: np.ndarray  # per detected sample, points 17..67 (no jaw contour)
    yaw: np.ndarray  # |yaw| of each sample
    nme_contour: np.ndarray  # per detected sample, all 68 points in the annotators' convention
    nme_jaw: np.ndarray  # per detected sample, jaw 0..16: x-ray points
    nme_jaw_contour: np.ndarray  # per detected sample, jaw 0..16: on the outline
    theirs: np.ndarray  # (detected, 68, 2) dlib's points, pixels
    xray: np.ndarray  # (detected, 68, 2) our x-ray points
    outline: np.ndarray  # (detected, 68, 2) our points in the annotators' convention
    index: np.ndarray  # (detected,) sample index of each

    @property
    def hit_rate(self) -> float:
        return self.detected / max(self.n, 1)


def nme(ours: np.ndarray, theirs: np.ndarray, points=slice(0, 68)) -> float:
    norm = np.linalg.norm(ours[36] - ours[45])
    return float(np.linalg.norm(ours[points] - theirs[points], axis=1).mean() / norm)


def check(
    catalog_path: str, n: int, seed: int = 0, max_abs_yaw: float | None = None, keep: dict | None = None
) -> CheckResult:
    """Render ``n`` samples and compare; ``keep`` (a dict) receives per detected sample its image
    (H, W, 3) uint8 RGB, segmentation (H, W) uint8, yaw and visibility of both conventions."""
    import cv2

    from facefarm.catalog import load_catalog
    from facefarm.sample.renderer import SampleRenderer

    renderer = SampleRenderer(load_catalog(catalog_path), backend="pyrender")
    dl = Dlib68()
    nmes, inner, yaws, detected, total = [], [], [], 0, 0
    contour, jaw, jaw_contour = [], [], []
    theirs, xrays, outlines, index = [], [], [], []
    i = 0
    while total < n and i < 20 * n:
        record, files = renderer.render(seed, i, None)
        i += 1
        yaw = abs(record["attributes"]["head_pose"]["yaw_deg"])
        if max_abs_yaw is not None and yaw > max_abs_yaw:
            continue
        total += 1
        yaws.append(yaw)
        bgr = cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR)
        pts = dl(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if pts is None:
            continue
        detected += 1
        ours = np.asarray(record["landmarks"]["uv"])[:68]
        outline = np.asarray(record.get("landmarks_contour", record["landmarks"])["uv"])[:68]
        theirs.append(pts)
        xrays.append(ours)
        outlines.append(outline)
        index.append(i - 1)
        if keep is not None:
            seg = cv2.imdecode(np.frombuffer(files["segmentation"], np.uint8), cv2.IMREAD_UNCHANGED)
            keep.setdefault("image", []).append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            keep.setdefault("segmentation", []).append(seg)
            keep.setdefault("yaw", []).append(record["attributes"]["head_pose"]["yaw_deg"])
            keep.setdefault("visible_xray", []).append(np.asarray(record["landmarks"]["visible"])[:68])
            keep.setdefault("visible_contour", []).append(
                np.asarray(record.get("landmarks_contour", record["landmarks"])["visible"])[:68]
            )
        nmes.append(nme(ours, pts))
        inner.append(nme(ours, pts, slice(17, 68)))
        contour.append(nme(outline, pts))
        jaw.append(nme(ours, pts, slice(0, 17)))
        jaw_contour.append(nme(outline, pts, slice(0, 17)))
    renderer.close()
    return CheckResult(
        total,
        detected,
        np.array(nmes),
        np.array(inner),
        np.array(yaws),
        *map(np.array, (contour, jaw, jaw_contour)),
        np.array(theirs).reshape(-1, 68, 2),
        np.array(xrays).reshape(-1, 68, 2),
        np.array(outlines).reshape(-1, 68, 2),
        np.array(index, int),
    )


def region_nme(ours: np.ndarray, theirs: np.ndarray, points: slice) -> np.ndarray:
    """(m,) per-sample NME of ``points`` of (m, 68, 2) ``ours`` against ``theirs``."""
    norm = np.linalg.norm(ours[:, 36] - ours[:, 45], axis=1)
    return np.linalg.norm(ours[:, points] - theirs[:, points], axis=2).mean(axis=1) / norm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("catalog")
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-abs-yaw", type=float, default=None)
    ap.add_argument("--save", default=None, help="write dlib's and our points, images, segmentations (.npz)")
    a = ap.parse_args()
    keep: dict | None = {} if a.save else None
    r = check(a.catalog, a.n, a.seed, a.max_abs_yaw, keep)
    print(f"dlib detected {r.detected}/{r.n} faces ({100 * r.hit_rate:.1f}%)")
    if len(r.nme):
        print(
            f"NME vs dlib (68 pts): median {np.median(r.nme):.4f}, mean {r.nme.mean():.4f}; "
            f"inner 51 pts: median {np.median(r.nme_inner):.4f}"
        )
        print(
            f"jaw (17 pts): x-ray median {np.median(r.nme_jaw):.4f}, contour median {np.median(r.nme_jaw_contour):.4f}; "
            f"68 pts contour: median {np.median(r.nme_contour):.4f}, mean {r.nme_contour.mean():.4f}"
        )
        print(f"{'region':12s} {'x-ray median':>13s} {'contour median':>15s}")
        for name, points in REGIONS.items():
            x, c = (np.median(region_nme(o, r.theirs, points)) for o in (r.xray, r.outline))
            print(f"{name:12s} {x:13.4f} {c:15.4f}")
    if a.save:
        arrays = {k: np.asarray(v) for k, v in (keep or {}).items()}
        np.savez_compressed(a.save, theirs=r.theirs, xray=r.xray, outline=r.outline, index=r.index, **arrays)


if __name__ == "__main__":
    main()
