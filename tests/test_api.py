"""The Python API: ``facefarm.load`` / ``render`` / ``resolve`` / ``crop`` and ``facefarm --version``.

One real render of 4 tiny samples (96 px, pyrender, in this process through ``facefarm.render``) is
shared by the module (its tests are marked slow); what the loader returns is compared with the files read independently (OpenCV,
json). The crop's pixel convention is proved on a synthetic checkerboard, not on a render.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ["HF_DATASETS_OFFLINE"] = "1"  # read by `datasets` at import: nothing may be downloaded

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import facefarm  # noqa: E402
from facefarm.catalog import CatalogError, ResolveError  # noqa: E402
from facefarm.dataset.crop import crop, warp  # noqa: E402
from facefarm.dataset.loader import Sample, VerificationError  # noqa: E402
from facefarm.dataset.splits import assign_split  # noqa: E402
from facefarm.paths import CATALOGS  # noqa: E402
from facefarm.sample.record import ManifestLine, SampleRecord  # noqa: E402
from facefarm.scene.classes import CLASS_IDS  # noqa: E402

N = 4
REPO = Path(__file__).resolve().parent.parent


def _catalog() -> dict:
    cat = json.loads((CATALOGS / "default.json").read_text())
    cat["render"]["resolution"] = [96, 96]
    return cat


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "dataset"
    ds = facefarm.render(_catalog(), N, out, exports=False, datasheet=False)
    return out, ds


def _python(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)


# ------------------------------------------------------------------------------ the package


def test_import_facefarm_is_cheap_and_the_api_loads_on_use():
    proc = _python(
        "-c",
        "import sys, facefarm; print(sorted(m for m in sys.modules if m.startswith('facefarm')),"
        " 'numpy' in sys.modules)",
    )
    assert proc.stdout.split() == ["['facefarm']", "False"], proc.stderr
    for name in facefarm.__all__:
        assert getattr(facefarm, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        facefarm.nothing  # noqa: B018


def test_facefarm_render_is_the_function_and_still_leads_to_the_backend_package():
    # facefarm/render/ (the back-ends) has the API function's name: importing it must not replace the function
    proc = _python(
        "-c",
        "import facefarm\n"
        "from facefarm.render.backends import BACKENDS\n"
        "import facefarm.render.pyrender.renderer as r\n"
        "import facefarm.render.backends as b\n"
        "assert b.BACKENDS is BACKENDS and r.__name__ == 'facefarm.render.pyrender.renderer'\n"
        "assert callable(facefarm.render) and 'catalog' in facefarm.render.__doc__\n"
        "assert facefarm.render.backends is b\n"
        "print('ok')",
    )
    assert proc.stdout.strip() == "ok", proc.stderr


def test_version_flag_prints_the_version_and_exits_0():
    proc = _python("-m", "facefarm", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"facefarm {facefarm.__version__}"


# ------------------------------------------------------------------------------ load


@pytest.mark.slow  # the shared render
def test_load_gives_the_files_and_labels_as_written(rendered):
    out, ds = rendered
    assert isinstance(ds, facefarm.Dataset) and len(ds) == N
    assert len(facefarm.load(out)) == N
    assert all(isinstance(r, ManifestLine) for r in ds.records)
    assert [r.index for r in ds.records] == list(range(N))
    assert ds.classes[CLASS_IDS["NOSE"]] == "NOSE"
    for i, s in enumerate(ds):
        assert isinstance(s, Sample) and isinstance(s.record, SampleRecord) and s.index == i
        label = json.loads((out / s.record.files.image.replace(".png", ".json")).read_text())
        h, w = label["height"], label["width"]
        assert s.image.shape == (h, w, 3) and s.image.dtype == np.uint8
        assert s.segmentation.shape == (h, w) and s.segmentation.dtype == np.uint8
        assert s.depth.shape == (h, w) and s.depth.dtype == np.float32
        bgr = cv2.imread(str(out / label["files"]["image"]), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(s.image, bgr[:, :, ::-1])
        np.testing.assert_array_equal(
            s.segmentation, cv2.imread(str(out / label["files"]["segmentation"]), cv2.IMREAD_UNCHANGED)
        )
        raw = cv2.imread(str(out / label["files"]["depth"]), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == np.uint16
        np.testing.assert_allclose(s.depth, raw * label["depth_scale_m"], rtol=1e-6)
        assert (s.depth[raw == 0] == 0).all() and 0.1 < s.depth[raw > 0].min() < 5
        assert s.landmarks.shape == (70, 2) and s.visible.shape == (70,) and s.visible.dtype == bool
        np.testing.assert_array_equal(s.landmarks, label["landmarks"]["uv"])
        np.testing.assert_array_equal(s.visible, label["landmarks"]["visible"])
        np.testing.assert_array_equal(s.transform, [[1, 0, 0], [0, 1, 0]])
        assert len(s.record.dense.uv) > 100
    assert ds[-1].index == N - 1 and len(ds[1:3]) == 2
    with pytest.raises(IndexError):
        ds[N]


@pytest.mark.slow  # the shared render
def test_load_reads_an_fsspec_url(rendered):
    fsspec = pytest.importorskip("fsspec")
    out, ds = rendered
    fs = fsspec.filesystem("memory")
    for f in out.rglob("*"):
        if f.is_file():
            fs.pipe_file(f"/api-test/{f.relative_to(out).as_posix()}", f.read_bytes())
    try:
        remote = facefarm.load("memory://api-test", verify=True)
        assert len(remote) == N
        np.testing.assert_array_equal(remote[2].image, ds[2].image)
        np.testing.assert_array_equal(np.asarray(remote.to_hf()[2]["segmentation"]), ds[2].segmentation)
    finally:
        fs.rm("/api-test", recursive=True)


def test_load_refuses_what_is_not_a_finished_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.jsonl|dataset.json"):
        facefarm.load(tmp_path)


@pytest.mark.slow  # the shared render
def test_splits_are_by_identity_as_exports_make_them(rendered):
    _, ds = rendered
    fractions = (0.5, 0.25, 0.25)
    parts = ds.splits(fractions)
    assert sum(len(p) for p in parts.values()) == N
    seen: set[str] = set()
    for name, part in parts.items():
        assert part.name == name
        ids = set(part.identities)
        assert not ids & seen
        seen |= ids
        assert all(assign_split(i, fractions) == name for i in ids)
        assert [s.index for s in part] == [s.index for s in ds.split(name, fractions)]
    assert len(ds.split("validation", fractions)) == len(parts["val"])
    assert len(ds.split("train", "1")) == N
    with pytest.raises(ValueError, match="no split 'dev'"):
        ds.split("dev")


@pytest.mark.slow  # the shared render
def test_verify_checks_each_file_read_against_the_record_sha256(rendered, tmp_path):
    out, _ = rendered
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    name = json.loads((copy / "manifest.jsonl").read_text().splitlines()[1])["files"]["segmentation"]
    seg = cv2.imread(str(copy / name), cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 255 - seg[0, 0]
    cv2.imwrite(str(copy / name), seg)  # a valid PNG, other pixels
    facefarm.load(copy)[1]  # not asked: not hashed
    checked = facefarm.load(copy, verify=True)
    checked[0]
    with pytest.raises(VerificationError, match=name):
        checked[1]
    manifest = copy / "manifest.jsonl"
    manifest.write_text(manifest.read_text().replace('"seed":0', '"seed":0 '))  # same JSON, other bytes
    assert len(facefarm.load(copy)) == N
    with pytest.raises(VerificationError, match="manifest.jsonl"):
        facefarm.load(copy, verify=True)


@pytest.mark.slow  # the shared render
def test_to_torch_without_torch_says_how_to_install_it(rendered, monkeypatch):
    _, ds = rendered
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ImportError, match="pip install torch"):
        ds.to_torch()


@pytest.mark.slow  # the shared render
def test_to_torch_gives_tensors_a_dataloader_batches(rendered):
    torch = pytest.importorskip("torch")
    _, ds = rendered
    tds = ds.to_torch()
    assert len(tds) == N
    batch = next(iter(torch.utils.data.DataLoader(tds, batch_size=2)))
    assert batch["image"].shape == (2, 3, 96, 96) and batch["image"].dtype == torch.float32
    assert batch["landmarks"].shape == (2, 70, 2) and batch["visible"].dtype == torch.bool
    np.testing.assert_allclose(batch["image"][1].numpy().transpose(1, 2, 0) * 255, ds[1].image, atol=1e-3)
    cropped = ds.to_torch(transform=lambda s: crop(s, 32).image)
    assert cropped[0].shape == (32, 32, 3)
    import pickle

    again = pickle.loads(pickle.dumps(tds))  # what a spawned DataLoader worker receives
    assert isinstance(again, torch.utils.data.Dataset)
    np.testing.assert_array_equal(again[3]["landmarks"].numpy(), ds[3].landmarks.astype(np.float32))


@pytest.mark.slow  # the shared render
def test_to_hf_has_the_hf_export_columns_and_decodes_images(rendered):
    datasets = pytest.importorskip("datasets")
    _, ds = rendered
    hf = ds.to_hf()
    assert isinstance(hf, datasets.Dataset) and len(hf) == N
    row = hf[2]
    np.testing.assert_array_equal(np.asarray(row["image"]), ds[2].image)
    np.testing.assert_array_equal(np.asarray(row["segmentation"]), ds[2].segmentation)
    np.testing.assert_allclose(row["landmarks"], ds[2].landmarks, rtol=0, atol=1e-9)
    assert row["sample_id"] == ds[2].sample_id and "attributes.skin.monk_tone" in hf.column_names
    parts = ds.to_hf(splits=True, fractions=(0.5, 0.25, 0.25))
    assert set(parts) <= {"train", "validation", "test"} and sum(len(p) for p in parts.values()) == N
    assert len({str(p.features) for p in parts.values()}) == 1  # one schema for every split


# ------------------------------------------------------------------------------ render / resolve


@pytest.mark.slow  # the shared render
def test_resolve_gives_the_attributes_the_render_used(rendered):
    _, ds = rendered
    for i in (0, 3):
        assert facefarm.resolve(_catalog(), 0, i, N) == ds[i].record.attributes
    assert facefarm.resolve("default", 0, 3).sample_id == "000003"  # a shipped catalog by name
    with pytest.raises(ResolveError, match="index"):
        facefarm.resolve("default", 0, -1)


@pytest.mark.slow  # the shared render
def test_render_again_resumes_and_bad_input_raises(rendered):
    out, ds = rendered
    again = facefarm.render(_catalog(), N, out, exports=False, datasheet=False)
    assert len(again) == N and again.header["runs"][-1]["rendered"] == 0
    bad = _catalog()
    bad["age"] = {"kind": "uniform", "min": 50, "max": 10}
    with pytest.raises(CatalogError, match=r"\$\.age"):
        facefarm.render(bad, 2, out.parent / "bad")
    with pytest.raises(ValueError, match="n must be"):
        facefarm.render(_catalog(), 0, out.parent / "bad")
    with pytest.raises(facefarm.RenderError, match="overwrite"):
        facefarm.render(_catalog(), N, out, seed=1, exports=False, datasheet=False)
    assert not (out.parent / "bad").exists()
    assert len(facefarm.load(out)) == N  # the refused run left the dataset alone


# ------------------------------------------------------------------------------ crop

SQUARE = 8  # checker square, pixels


def _checker_sample(size: int = 192, landmarks: np.ndarray | None = None) -> Sample:
    """A float checkerboard (0/1, squares of SQUARE px, edges on pixel boundaries: u = 8k) as a Sample."""
    jj, ii = np.mgrid[0:size, 0:size]
    board = ((ii // SQUARE + jj // SQUARE) % 2).astype(np.float32)
    return Sample(
        image=np.repeat(board[:, :, None], 3, axis=2),
        segmentation=board.astype(np.uint8),
        depth=board + 1.0,
        landmarks=landmarks,
        visible=np.ones(70, bool),
        in_frame=np.ones(70, bool),
        record=None,
    )


def _face_landmarks(eye_mid, eye_distance: float, mouth_distance: float, angle_deg: float = 0.0) -> np.ndarray:
    """70 points: eyes and mouth corners laid out for an upright face rotated by angle_deg about eye_mid."""
    pts = np.zeros((70, 2))
    pts[36:42] = (-eye_distance / 2, 0)
    pts[42:48] = (eye_distance / 2, 0)
    pts[48], pts[54] = (-eye_distance / 4, mouth_distance), (eye_distance / 4, mouth_distance)
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + eye_mid


def _edge_crossing(values: np.ndarray) -> float:
    """Where a 1-D profile of an edge, sampled at pixel centres (k + 0.5), crosses 0.5: linear between the
    two samples either side (bilinear interpolation is linear across the edge's one-source-pixel ramp)."""
    above = values > 0.5
    (k,) = np.flatnonzero(above[1:] != above[:-1])
    f0, f1 = values[k], values[k + 1]
    return k + 0.5 + (0.5 - f0) / (f1 - f0)


def test_crop_keeps_a_landmark_on_its_checker_corner_to_a_thousandth_of_a_pixel():
    # eyes 32 px apart and a mouth 40 px below: no roll, a side of 1.25 * 3.1 * 40 = 155 source px, so a
    # 310 px crop scales by exactly 2 (a half-pixel mistake would move the image 0.5 px off its landmarks)
    pts = _face_landmarks(eye_mid=(96.0, 80.0), eye_distance=32, mouth_distance=40)
    corner = np.array([104.0, 96.0])  # a corner of 4 checker squares
    pts[30] = corner
    out = crop(_checker_sample(landmarks=pts), 310)
    np.testing.assert_allclose(out.transform[:, :2], 2 * np.eye(2), atol=1e-12)
    u, v = out.landmarks[30]
    img = out.image[:, :, 0]
    # the vertical edge through the corner, on a row 3 source px below it; the horizontal one, 3 px right
    row, col = int(v + 6), int(u + 6)
    window = slice(int(u) - 8, int(u) + 8), slice(int(v) - 8, int(v) + 8)
    u_edge = window[0].start + _edge_crossing(img[row, window[0]])
    v_edge = window[1].start + _edge_crossing(img[window[1], col])
    assert abs(u_edge - u) < 1e-3 and abs(v_edge - v) < 1e-3, (u_edge, v_edge, u, v)
    # nearest: the class of an output pixel is the class of the source pixel its centre comes from
    seg_corner = out.segmentation[int(v) - 1 : int(v) + 1, int(u) - 1 : int(u) + 1]
    np.testing.assert_array_equal(seg_corner, [[0, 1], [1, 0]] if seg_corner[0, 0] == 0 else [[1, 0], [0, 1]])


def _bilinear(img: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Reference bilinear sampling in facefarm's convention (pixel (i, j) holds the value at (i+.5, j+.5));
    0 outside."""
    x, y = uv[..., 0] - 0.5, uv[..., 1] - 0.5
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    pad = np.pad(img, 1)

    def at(i, j):
        return pad[np.clip(j + 1, 0, pad.shape[0] - 1), np.clip(i + 1, 0, pad.shape[1] - 1)]

    return (
        (1 - fx) * (1 - fy) * at(x0, y0)
        + fx * (1 - fy) * at(x0 + 1, y0)
        + (1 - fx) * fy * at(x0, y0 + 1)
        + fx * fy * at(x0 + 1, y0 + 1)
    )


def test_rotated_crop_resamples_the_image_where_its_landmarks_go():
    pts = _face_landmarks(eye_mid=(90.0, 84.0), eye_distance=30, mouth_distance=36, angle_deg=23.0)
    src = _checker_sample(landmarks=pts)
    out = crop(src, 100, scale=1.1, antialias=False)  # shrinks by 0.8: plain bilinear, to compare with one
    a = out.transform
    assert abs(np.degrees(np.arctan2(a[1, 0], a[0, 0])) + 23.0) < 1e-9  # uprighted: rotated back by 23 degrees
    # each output pixel centre, taken back into the source, samples the board where the same map puts it
    jj, ii = np.mgrid[0:100, 0:100]
    back = (np.stack([ii + 0.5, jj + 0.5], -1) - a[:, 2]) @ np.linalg.inv(a[:, :2]).T
    inside = ((back > 2) & (back < 190)).all(-1)
    err = np.abs(out.image[:, :, 0] - _bilinear(src.image[:, :, 0], back))[inside]
    assert err.max() < 0.04, err.max()  # OpenCV interpolates at 1/32 pixel steps (a half-pixel slip: 0.38)
    # segmentation and depth: the source pixel that contains it
    col, row = np.floor(back[..., 0]).astype(int), np.floor(back[..., 1]).astype(int)
    np.testing.assert_array_equal(out.segmentation[inside], src.segmentation[row, col][inside])
    np.testing.assert_array_equal(out.depth[inside], src.depth[row, col][inside])
    assert (out.segmentation[~((back >= 0) & (back < 192)).all(-1)] == CLASS_IDS["IGNORE"]).all()
    np.testing.assert_allclose(out.landmarks, pts @ a[:, :2].T + a[:, 2], atol=1e-12)


@pytest.mark.parametrize("antialias", [True, False])
def test_shrinking_crop_samples_a_ramp_where_its_map_says(antialias):
    # image value = the u coordinate of the pixel centre: any exact resampling gives back each output pixel's
    # pre-image u; the anti-aliasing path (INTER_AREA, then the warp) must keep that too
    size = 384
    jj, ii = np.mgrid[0:size, 0:size]
    ramp = np.repeat((ii + 0.5).astype(np.float32)[:, :, None], 3, axis=2)
    pts = _face_landmarks(eye_mid=(190.0, 170.0), eye_distance=60, mouth_distance=70, angle_deg=-11.0)
    src = Sample(
        image=ramp,
        segmentation=np.zeros((size, size), np.uint8),
        depth=np.zeros((size, size), np.float32),
        landmarks=pts,
        visible=np.ones(70, bool),
        in_frame=np.ones(70, bool),
        record=None,
    )
    out = crop(src, 64, antialias=antialias)
    a = out.transform
    s = np.sqrt(np.linalg.det(a[:, :2]))
    assert s < 0.3
    oj, oi = np.mgrid[0:64, 0:64]
    back = (np.stack([oi + 0.5, oj + 0.5], -1) - a[:, 2]) @ np.linalg.inv(a[:, :2]).T
    inside = ((back > 2 / s) & (back < size - 2 / s)).all(-1)
    assert inside.mean() > 0.9
    err = np.abs(out.image[:, :, 0] - back[..., 0])[inside]
    assert err.max() < 0.02 / s, err.max()  # OpenCV's 1/32-pixel interpolation steps, in source pixels


def test_antialiased_crop_averages_detail_finer_than_its_pixels():
    fine = _checker_sample(size=384, landmarks=_face_landmarks((190.0, 170.0), 60, 70))
    fine = Sample(
        **{
            **fine.__dict__,
            "image": np.repeat(
                ((np.add.outer(np.arange(384), np.arange(384)) % 2).astype(np.float32))[:, :, None], 3, axis=2
            ),
        }
    )
    smooth, aliased = crop(fine, 64).image[8:-8, 8:-8, 0], crop(fine, 64, antialias=False).image[8:-8, 8:-8, 0]
    assert abs(smooth.mean() - 0.5) < 0.02 and smooth.std() < 0.05, smooth.std()
    assert aliased.std() > 2 * smooth.std()


@pytest.mark.slow  # the shared render
def test_crop_of_a_render_keeps_visible_landmarks_on_their_classes(rendered):
    _, ds = rendered
    agree = total = 0
    for s in ds:
        c = crop(s, 128)
        assert c.image.shape == (128, 128, 3) and c.segmentation.shape == (128, 128) and c.depth.dtype == np.float32
        # landmarks, transform and record agree: the map from the rendered frame gives the crop's points
        np.testing.assert_allclose(c.landmarks, s.landmarks @ c.transform[:, :2].T + c.transform[:, 2], atol=1e-9)
        assert (c.visible <= s.visible).all()
        for k in np.flatnonzero(c.visible):
            (u0, v0), (u1, v1) = s.landmarks[k], c.landmarks[k]
            before = s.segmentation[int(v0), int(u0)]
            after = c.segmentation[int(v1), int(u1)]
            total += 1
            agree += before == after
            near = s.segmentation[max(int(v0) - 1, 0) : int(v0) + 2, max(int(u0) - 1, 0) : int(u0) + 2]
            assert after in near, (s.sample_id, k)  # a class from within a pixel of the landmark
            if k == 30:
                assert after == CLASS_IDS["NOSE"], s.sample_id
            if k in (68, 69) and before in (CLASS_IDS["RIGHT_EYE"], CLASS_IDS["LEFT_EYE"]):
                assert after == before, s.sample_id
        # a crop of a crop is one crop: transforms compose
        cc = crop(c, 64, scale=1.0)
        np.testing.assert_allclose(cc.landmarks, s.landmarks @ cc.transform[:, :2].T + cc.transform[:, 2], atol=1e-9)
    # a landmark on a class edge may see the neighbouring class after resampling by ~1.8x
    assert total > 100 and agree / total > 0.9, (agree, total)


@pytest.mark.slow  # the shared render
def test_box_crop_centres_the_face_box(rendered):
    _, ds = rendered
    s = ds[0]
    c = crop(s, 64, scale=1.0, method="box")
    x0, y0, x1, y1 = s.record.face_bbox
    corners = np.array([[x0, y0], [x1, y1]]) @ c.transform[:, :2].T + c.transform[:, 2]
    np.testing.assert_allclose(corners.mean(axis=0), (32, 32), atol=1e-9)
    assert abs(max(corners[1] - corners[0]) - 64) < 1e-9
    with pytest.raises(ValueError, match="method"):
        crop(s, 64, method="eyes")
    with pytest.raises(ValueError, match="size"):
        crop(s, 0)


def test_warp_refuses_a_singular_transform():
    s = _checker_sample(landmarks=np.zeros((70, 2)))
    with pytest.raises(ValueError, match="singular"):
        warp(s, np.zeros((2, 3)), 16)


def test_load_reads_either_landmark_convention(rendered):
    out, _ = rendered
    xray, contour = facefarm.load(out), facefarm.load(out, landmarks="contour")
    assert contour.landmarks == "contour" and contour.split("train").landmarks == "contour"
    moved = 0
    for a, b in zip(xray, contour):
        # the jaw follows the outline and the lips their rendered edge; brows, nose, eyes, pupils stay
        np.testing.assert_array_equal(a.landmarks[17:48], b.landmarks[17:48])
        np.testing.assert_array_equal(a.landmarks[68:], b.landmarks[68:])
        np.testing.assert_array_equal(b.landmarks, b.record.landmarks_contour.uv)
        moved += int(np.abs(a.landmarks[:17] - b.landmarks[:17]).max() > 0.5)
    assert moved >= len(xray) // 2
    with pytest.raises(ValueError, match="xray, contour"):
        facefarm.load(out, landmarks="outline")
