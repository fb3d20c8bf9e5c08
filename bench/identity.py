"""Do facefarm identities look like different people to a real-trained face recogniser?

    PYOPENGL_PLATFORM=egl .venv/bin/python bench/identity.py [--identities 40] [--repo PATH]

Renders ``--identities`` identities x 4 images of the default catalog with
``identity.images_per_identity = 4`` (``bench/catalogs/identity.json`` merged over the
default catalog of the code under test), at 256 px with the fast back-end (``--backend
cycles``: 16 spp on the CPU, slow), and embeds every image with dlib's face-recognition
ResNet (``face_recognition_models``; trained on real faces, "same person" below a Euclidean
distance of 0.6). Two alignments:

* ``gt``: the record's 68 iBUG landmarks as the ``full_object_detection`` (box = their bounds);
* ``dlib``: dlib's HOG detector + 68-point predictor (images it finds no face in are skipped).

Prints a Markdown table: share of different-identity and same-identity pairs under 0.6 and
median distances, then face proportions in outer-eye-corner distances |p36 - p45|
("eye-widths") on near-frontal renders (|yaw|, |pitch| <= 12 deg) of adults (>= 18 years):

* brow-lid gap: mean height of the brows (17-26) above the upper lids (37, 38, 43, 44);
* mouth width |p48 - p54|; jaw width |p0 - p16|;

from the ground-truth landmarks, from dlib's predicted ones, and from the neutral 3D head
(frontal, orthographic; brow points on the identity's own brow where the checkout places one
per identity) of every bench identity, with the identities' shape spread: mean
pairwise distance of their Procrustes-aligned 68 3D landmarks over the eye-corner distance.

``--repo PATH`` measures the facefarm checkout at PATH (its catalog, head model and
renderer): run the bench of this checkout against an older one for a before/after row, e.g.
``PYTHONPATH=/other/checkout python bench/identity.py --repo /other/checkout --label before``.
A benchmark: it asserts nothing and times nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent.parent))  # this checkout, for bench.* (after --repo's)
from bench.checkout import import_repo, merge_spec  # noqa: E402

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.6
#: Targets from the realism issue (real faces; facefarm before the change in parentheses there).
REAL = {"brow_lid": 0.16, "mouth": 0.63, "jaw": 1.64}
FRONTAL_DEG = 12.0
ADULT_YEARS = 18.0
#: What an image (not its identity) draws: shared by all identities in the controlled row.
IMAGE_FIELDS = ("expression", "head_pose", "camera", "lighting", "background", "glasses", "clothing", "headwear")


def bench_catalog(repo: Path, n_images: int, override: Path, backend: str = "pyrender") -> dict:
    spec = json.loads((repo / "facefarm/assets/catalogs/default.json").read_text())
    spec = merge_spec(spec, json.loads(override.read_text()))
    spec["size"] = n_images
    spec.setdefault("render", {}).update(backend=backend, resolution=[256, 256])
    if backend == "cycles":
        spec["render"].update(samples=16, device="cpu")
    return spec


class Dlib:
    def __init__(self):
        import dlib

        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or spec.origin is None:
            raise SystemExit("pip install face_recognition_models (and dlib) to run this bench")
        models = Path(spec.origin).parent / "models"
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def from_points(self, rgb: np.ndarray, pts: np.ndarray):
        d = self.dlib
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        rect = d.rectangle(int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        shape = d.full_object_detection(rect, [d.point(int(round(x)), int(round(y))) for x, y in pts])
        return np.array(self.net.compute_face_descriptor(rgb, shape))

    def detect(self, rgb: np.ndarray):
        """(descriptor, (68, 2) predicted points) of the largest detected face, or None."""
        faces = self.detector(rgb, 1)
        if not faces:
            return None
        rect = max(faces, key=lambda r: r.width() * r.height())
        shape = self.predictor(rgb, rect)
        pts = np.array([(p.x, p.y) for p in shape.parts()], float)
        return np.array(self.net.compute_face_descriptor(rgb, shape)), pts


def proportions(pts: np.ndarray) -> dict[str, float]:
    """Brow-lid gap, mouth and jaw width of 68 (x, y) image points (y down), in |p36 - p45|."""
    p = np.asarray(pts, float)[:68, :2]
    axis = p[45] - p[36]
    ew = float(np.linalg.norm(axis))
    c, s = axis / ew
    r = np.array([[c, s], [-s, c]])  # undo the roll: the eye line horizontal
    q = (p - p[36]) @ r.T
    gap = q[[37, 38, 43, 44], 1].mean() - q[17:27, 1].mean()
    return {
        "brow_lid": gap / ew,
        "mouth": float(np.linalg.norm(p[48] - p[54])) / ew,
        "jaw": float(np.linalg.norm(p[0] - p[16])) / ew,
    }


def shape_spread(points3d: list[np.ndarray]) -> float:
    """Mean pairwise distance of 68 3D landmarks after similarity alignment, over |p36 - p45|."""
    shapes = []
    for p in points3d:
        x = np.asarray(p, float)[:68]
        x = x - x.mean(axis=0)
        shapes.append(x / np.linalg.norm(x[36] - x[45]))
    out = []
    for a, b in itertools.combinations(shapes, 2):
        u, _, vt = np.linalg.svd(b.T @ a)
        d = np.sign(np.linalg.det(u @ vt))
        rot = u @ np.diag([1, 1, d]) @ vt
        out.append(np.linalg.norm(b @ rot - a, axis=1).mean())
    return float(np.mean(out))


def pair_stats(desc: np.ndarray, ident: np.ndarray) -> dict[str, float]:
    i, j = np.triu_indices(len(desc), 1)
    dist = np.linalg.norm(desc[i] - desc[j], axis=1)
    same = ident[i] == ident[j]
    nan = float("nan")
    return {
        "diff_under": float((dist[~same] < THRESHOLD).mean()),
        "same_under": float((dist[same] < THRESHOLD).mean()) if same.any() else nan,
        "diff_median": float(np.median(dist[~same])),
        "same_median": float(np.median(dist[same])) if same.any() else nan,
        "n_diff": int((~same).sum()),
        "n_same": int(same.sum()),
    }


def diff_share_interval(per_image: dict, n_boot: int = 500, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval (identities resampled) of the share of different-identity pairs
    under the threshold (ground-truth alignment): how much another set of identities could move it."""
    desc, ident = np.asarray(per_image["descriptor_gt"]), np.asarray(per_image["identity"])
    ids = np.unique(ident)
    dist = np.linalg.norm(desc[:, None] - desc[None], axis=2)
    block = np.array([[(dist[np.ix_(ident == a, ident == b)] < THRESHOLD).mean() for b in ids] for a in ids])
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(ids), len(ids))
        s, t = np.triu_indices(len(pick), 1)
        keep = pick[s] != pick[t]
        if keep.any():
            out.append(block[pick[s][keep], pick[t][keep]].mean())
    lo, hi = np.percentile(out, [2.5, 97.5])
    return float(lo), float(hi)


def run(
    repo: Path,
    n_identities: int,
    per: int,
    seed: int,
    override: Path,
    save: Path | None,
    backend: str = "pyrender",
    controlled_only: bool = False,
) -> dict:
    import_repo(repo)
    from facefarm.catalog import load_catalog, resolve
    from facefarm.compose.compositor import compose, identity_params
    from facefarm.head.model import HeadModel
    from facefarm.sample.renderer import Prepared, SampleRenderer

    spec = bench_catalog(repo, n_identities * per, override, backend)
    cat = load_catalog(spec)
    if cat.identity.images_per_identity != per:
        raise SystemExit(f"the bench catalog has images_per_identity {cat.identity.images_per_identity}, not {per}")
    head = HeadModel.load()
    fr = Dlib()

    # neutral 3D heads of the identities: proportions (adults) and shape spread (everyone)
    try:
        from facefarm.compose.hair.brows import identity_brow, landmark_rows
    except ImportError:  # a checkout whose brow points are the head asset's fixed ones
        identity_brow = landmark_rows = None
    heads3d, props3d = [], []
    for j in range(n_identities):
        s = resolve(cat, seed, j * per)
        rest = head.shape(identity_params(s)).astype(np.float64)
        pts = head.landmark_points(rest)
        if identity_brow is not None:  # the brow points the renders label: the identity's own brow
            pts[17:27] = landmark_rows(identity_brow(s, head, rest), head, head.surfaces[-1]) @ rest
        heads3d.append(pts)
        if s.age_years >= ADULT_YEARS:
            props3d.append(proportions(pts[:, :2] * [1, -1]))

    renderer = SampleRenderer(cat, backend, head)
    desc_gt, ident_gt, desc_dl, ident_dl, props_gt, props_dl = [], [], [], [], [], []
    props_ct = []  # the annotators' convention (landmarks_contour), as the real figures are annotated
    ages, genders = [], []
    try:
        for k in range(0 if controlled_only else n_identities * per):
            record, files = renderer.render(seed, k, n_identities * per)
            bgr = cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR)
            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
            if save is not None:
                save.mkdir(parents=True, exist_ok=True)
                (save / f"{k:05d}.png").write_bytes(files["image"])
                (save / f"{k:05d}.json").write_text(json.dumps(record))
            j = k // per
            pts = np.asarray(record["landmarks"]["uv"], float)[:68]
            desc_gt.append(fr.from_points(rgb, pts))
            ident_gt.append(j)
            got = fr.detect(rgb)
            if got is not None:
                desc_dl.append(got[0])
                ident_dl.append(j)
            a, pose = record["attributes"], record["head_pose"]
            ages.append(a["age_years"])
            genders.append(a["gender"])
            if (
                a["age_years"] >= ADULT_YEARS
                and abs(pose["yaw_deg"]) <= FRONTAL_DEG
                and abs(pose["pitch_deg"]) <= FRONTAL_DEG
            ):
                props_gt.append(proportions(pts))
                contour = record.get("landmarks_contour")  # records before 0.5.0 have none
                if contour is not None:
                    props_ct.append(proportions(np.asarray(contour["uv"], float)[:68]))
                if got is not None:
                    props_dl.append(proportions(got[1]))
            print(f"\r{k + 1}/{n_identities * per}", end="", file=sys.stderr, flush=True)
    finally:
        renderer.close()
    print(file=sys.stderr)

    # The identity signal without nuisance: each identity's first image re-rendered with the same
    # image attributes (pose, expression, camera, light, background, glasses, clothes), read from
    # a file so that every version renders the same ones.
    ref = json.loads((HERE / "catalogs/identity_reference.json").read_text())
    first = resolve(cat, seed, 0)
    shared = {k: type(getattr(first, k)).model_validate(ref[k]) for k in IMAGE_FIELDS}
    renderer = SampleRenderer(cat, backend, head)
    desc_ctl = []
    try:
        for j in range(n_identities):
            s = resolve(cat, seed, j * per).model_copy(update=shared)
            record, files = renderer.finish(Prepared(seed, s, compose(s, head, renderer.info.strands), {}))
            bgr = cv2.imdecode(np.frombuffer(files["image"], np.uint8), cv2.IMREAD_COLOR)
            desc_ctl.append(
                fr.from_points(np.ascontiguousarray(bgr[:, :, ::-1]), np.asarray(record["landmarks"]["uv"], float)[:68])
            )
    finally:
        renderer.close()

    if controlled_only:
        return {"controlled": pair_stats(np.array(desc_ctl), np.arange(n_identities))}

    def mean(rows: list[dict]) -> dict:
        return {key: float(np.mean([r[key] for r in rows])) if rows else float("nan") for key in REAL}

    return {
        "gt": pair_stats(np.array(desc_gt), np.array(ident_gt)),
        "controlled": pair_stats(np.array(desc_ctl), np.arange(n_identities)),
        "dlib": pair_stats(np.array(desc_dl), np.array(ident_dl)),
        "detected": f"{len(desc_dl)}/{len(desc_gt)}",
        "props_gt": mean(props_gt),
        "props_dlib": mean(props_dl),
        "props_contour": mean(props_ct) if props_ct else None,
        "props_3d": mean(props3d),
        "n_frontal": len(props_gt),
        "n_adult_ids": len(props3d),
        "spread": shape_spread(heads3d),
        "per_image": {
            "descriptor_gt": np.array(desc_gt).tolist(),
            "identity": ident_gt,
            "age_years": ages,
            "gender": genders,
        },
    }


def table(rows: dict[str, dict]) -> str:
    out = [
        "| run | align | different < 0.6 (95 % interval over identities) | same < 0.6 | median different | "
        "median same | pairs (diff/same) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        for al in ("gt", "dlib"):
            s = r[al]
            extra = f" ({r['detected']} detected)" if al == "dlib" else ""
            ci = ""
            if al == "gt" and "per_image" in r:
                lo, hi = diff_share_interval(r["per_image"])
                ci = f" ({100 * lo:.0f}-{100 * hi:.0f} %)"
            out.append(
                f"| {name} | {al}{extra} | {100 * s['diff_under']:.1f} %{ci} | {100 * s['same_under']:.1f} % | "
                f"{s['diff_median']:.3f} | {s['same_median']:.3f} | {s['n_diff']}/{s['n_same']} |"
            )
    out += [
        "",
        "The same identities, one image each, all with the same frontal pose, neutral expression, camera, "
        "light, background and clothes, no glasses (bench/catalogs/identity_reference.json; the identity "
        "signal without nuisance):",
        "",
        "| run | different < 0.6 | median different | pairs |",
        "|---|---:|---:|---:|",
    ]
    for name, r in rows.items():
        if "controlled" in r:
            c = r["controlled"]
            out.append(f"| {name} | {100 * c['diff_under']:.1f} % | {c['diff_median']:.3f} | {c['n_diff']} |")
    out += [
        "",
        "Proportions in outer-eye-corner distances (adults; renders: |yaw|, |pitch| <= 12 deg):",
        "",
        "| run | landmarks | brow-lid gap | mouth width | jaw width | n |",
        "|---|---|---:|---:|---:|---:|",
    ]
    out.append(f"| real (issue) | | {REAL['brow_lid']:.2f} | {REAL['mouth']:.2f} | {REAL['jaw']:.2f} | |")
    for name, r in rows.items():
        for key, label, n in (
            ("props_gt", "renders, ground truth", r["n_frontal"]),
            ("props_contour", "renders, ground truth as annotated (contour jaw)", r["n_frontal"]),
            ("props_dlib", "renders, dlib predicted", None),
            ("props_3d", "neutral 3D, frontal", r["n_adult_ids"]),
        ):
            p = r.get(key)
            if p is None:  # a checkout without contour landmarks, or an older --json
                continue
            out.append(
                f"| {name} | {label} | {p['brow_lid']:.3f} | {p['mouth']:.3f} | {p['jaw']:.3f} | "
                f"{'' if n is None else n} |"
            )
    out += [
        "",
        "| run | identity shape spread (mean pairwise 3D landmark distance / eye-corner distance) |",
        "|---|---:|",
    ]
    for name, r in rows.items():
        out.append(f"| {name} | {r['spread']:.4f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=HERE.parent, help="facefarm checkout to measure")
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--per", type=int, default=4, help="images per identity (must match the catalog)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--catalog",
        type=Path,
        default=HERE / "catalogs/identity.json",
        help="JSON merged over the repo's default catalog",
    )
    ap.add_argument(
        "--backend",
        default="pyrender",
        choices=["pyrender", "cycles"],
        help="cycles: 16 samples per pixel on the CPU (slow: a check, not the default)",
    )
    ap.add_argument(
        "--controlled-only",
        action="store_true",
        help="only the controlled row (one image per identity, shared image attributes)",
    )
    ap.add_argument("--label", default=None, help="row name (default: the repo folder)")
    ap.add_argument("--save", type=Path, default=None, help="also write images and records here")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    ap.add_argument(
        "--table",
        type=Path,
        nargs="+",
        default=None,
        help="print one table of earlier --json results (renders nothing)",
    )
    args = ap.parse_args(argv)
    if args.table:
        rows: dict[str, dict] = {}
        for f in args.table:
            rows.update(json.loads(f.read_text()))
        print(table(rows))
        return
    repo = args.repo.resolve()
    result = run(
        repo, args.identities, args.per, args.seed, args.catalog, args.save, args.backend, args.controlled_only
    )
    if args.controlled_only:
        c = result["controlled"]
        print(f"| {args.label or repo.name} | {100 * c['diff_under']:.1f} % | {c['diff_median']:.3f} | {c['n_diff']} |")
        return
    name = args.label or repo.name
    if args.json is not None:
        args.json.write_text(json.dumps({name: result}))
    print(
        f"## Identity separation (dlib face recognition), {args.identities} identities x {args.per} images, "
        f"seed {args.seed}\n"
    )
    print(table({name: result}))


if __name__ == "__main__":
    main()
