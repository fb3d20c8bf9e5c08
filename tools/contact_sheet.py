"""Contact sheets for looking at what facefarm makes.

    python tools/contact_sheet.py DATASET_DIR out.png [--landmarks] [--seg] [--cols 8] [--max 64]
    python tools/contact_sheet.py --catalog facefarm/assets/catalogs/default.json -n 16 out.png [--landmarks]

The first form tiles an existing dataset (reads its manifest); the second renders
samples in-process with the fast back-end (no files written besides the sheet).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

PALETTE = np.array(
    [
        [0, 0, 0],
        [230, 180, 150],
        [255, 120, 0],
        [0, 200, 255],
        [0, 90, 255],
        [140, 70, 20],
        [200, 110, 40],
        [255, 0, 180],
        [180, 0, 255],
        [120, 0, 0],
        [255, 60, 60],
        [180, 30, 90],
        [100, 200, 100],
        [250, 250, 0],
        [130, 90, 0],
        [0, 120, 80],
        [255, 255, 255],
        [80, 80, 200],
        [0, 255, 150],
    ]
    + [[128, 128, 128]] * 237,
    np.uint8,
)


def draw(rgb: np.ndarray, seg: np.ndarray | None, record: dict | None, landmarks: bool, show_seg: bool) -> np.ndarray:
    img = rgb.copy()
    if show_seg and seg is not None:
        img = (0.5 * img + 0.5 * PALETTE[seg]).astype(np.uint8)
    if landmarks and record is not None:
        scale = 4  # sub-pixel drawing
        uv = np.asarray(record["landmarks"]["uv"])
        vis = record["landmarks"]["visible"]
        for (u, v), ok in zip(uv, vis):
            # OpenCV draws at integer pixel centres: our (u, v) is corner-origin, so subtract 0.5
            c = (int(round((u - 0.5) * scale)), int(round((v - 0.5) * scale)))
            cv2.circle(img, c, 1 * scale, (0, 255, 0) if ok else (255, 0, 0), -1, cv2.LINE_AA, shift=2)
    return img


def tile(images: list[np.ndarray], cols: int) -> np.ndarray:
    h, w = images[0].shape[:2]
    rows = (len(images) + cols - 1) // cols
    sheet = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = cv2.resize(im, (w, h))
    return sheet


def from_dataset(root: Path, n: int, landmarks: bool, seg: bool) -> list[np.ndarray]:
    lines = (root / "manifest.jsonl").read_text().splitlines()[:n]
    out = []
    for line in lines:
        rec = json.loads(line)
        rgb = cv2.cvtColor(cv2.imread(str(root / rec["files"]["image"])), cv2.COLOR_BGR2RGB)
        s = cv2.imread(str(root / rec["files"]["segmentation"]), cv2.IMREAD_UNCHANGED)
        out.append(draw(rgb, s, rec, landmarks, seg))
    return out


def from_catalog(spec: str, n: int, seed: int, landmarks: bool, seg: bool, backend: str) -> list[np.ndarray]:
    from facefarm.catalog import load_catalog
    from facefarm.sample.renderer import SampleRenderer

    r = SampleRenderer(load_catalog(spec), backend=backend)
    out = []
    for i in range(n):
        rec, files = r.render(seed, i, n)
        rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        s = cv2.imdecode(np.frombuffer(files["segmentation"], np.uint8), cv2.IMREAD_UNCHANGED)
        out.append(draw(rgb, s, rec, landmarks, seg))
    r.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="[DATASET_DIR] OUT.png")
    ap.add_argument("--catalog")
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="pyrender")
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--landmarks", action="store_true")
    ap.add_argument("--seg", action="store_true")
    a = ap.parse_args()
    if a.catalog:
        images = from_catalog(a.catalog, a.n, a.seed, a.landmarks, a.seg, a.backend)
    else:
        images = from_dataset(Path(a.paths[0]), a.n, a.landmarks, a.seg)
    sheet = tile(images, min(a.cols, len(images)))
    cv2.imwrite(a.paths[-1], cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {a.paths[-1]} ({len(images)} samples)")


if __name__ == "__main__":
    main()
