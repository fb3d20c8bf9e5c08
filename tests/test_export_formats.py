"""Each export format read back by its real reader: pycocotools (COCO + COCOeval),
``datasets.load_dataset("imagefolder")`` offline, WebDataset iteration with decoding, and
np.loadtxt / cv2.imread as code written for Face Synthetics does. The data are a real tiny
render (:func:`tiny_render`, shared with test_audit.py); labels read back are compared with
the dataset's own files, read independently with OpenCV and json.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"  # read by `datasets` at import: nothing may be downloaded

import cv2
import numpy as np
import pytest
import yaml

from facefarm.cli.main import main as cli_main
from facefarm.dataset.formats import export_all, parse_formats
from facefarm.paths import CATALOGS
from facefarm.scene.classes import CLASS_IDS, N_LANDMARKS, landmark_layout

FACE_IDS = [
    CLASS_IDS[n]
    for n in (
        "SKIN",
        "NOSE",
        "RIGHT_EYE",
        "LEFT_EYE",
        "RIGHT_BROW",
        "LEFT_BROW",
        "RIGHT_EAR",
        "LEFT_EAR",
        "MOUTH_INTERIOR",
        "TOP_LIP",
        "BOTTOM_LIP",
        "BEARD",
        "GLASSES",
        "FACEWEAR",
    )
]
FRACTIONS = (0.5, 0.25, 0.25)


def tiny_render(tmp_path_factory) -> Path:
    """A real 8-sample, 128 px render (2 images per identity), made once per test session.

    The catalog is the shipped default with a smaller resolution; `facefarm render` runs in a
    subprocess (``--no-ray``), exactly as a user would run it.
    """
    base = tmp_path_factory.getbasetemp() / "tiny_render"
    out = base / "dataset"
    if (out / "dataset.json").exists():
        return out
    base.mkdir(exist_ok=True)
    catalog = json.loads((CATALOGS / "default.json").read_text())
    catalog["render"]["resolution"] = [128, 128]
    catalog["identity"]["images_per_identity"] = 2
    (base / "tiny.json").write_text(json.dumps(catalog))
    env = dict(os.environ, PYOPENGL_PLATFORM="egl")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "facefarm",
            "render",
            str(base / "tiny.json"),
            "-o",
            str(out),
            "-n",
            "8",
            "--no-ray",
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0 and (out / "dataset.json").exists(), proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tiny_render(tmp_path_factory)
    records = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 8
    return root, {r["sample_id"]: r for r in records}


@pytest.fixture(scope="module")
def exports(dataset):
    root, _ = dataset
    return export_all(root, "all", fractions=FRACTIONS)


def _seg(root: Path, record: dict) -> np.ndarray:
    return cv2.imread(str(root / record["files"]["segmentation"]), cv2.IMREAD_UNCHANGED)


def _rgb(root: Path, record: dict) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(root / record["files"]["image"]), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _depth(root: Path, record: dict) -> np.ndarray:
    return cv2.imread(str(root / record["files"]["depth"]), cv2.IMREAD_UNCHANGED)


# --------------------------------------------------------------------------- COCO


def _coco(path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_coco_loads_with_pycocotools_and_matches_the_labels(dataset, exports):
    root, records = dataset
    n_images = 0
    for split, path in exports["coco"].items():
        coco = _coco(path)
        (cat,) = coco.loadCats(coco.getCatIds())
        assert cat["name"] == "face" and len(cat["keypoints"]) == N_LANDMARKS
        assert cat["keypoints"] == landmark_layout()["names"]
        assert len(cat["oks_sigmas"]) == N_LANDMARKS
        assert min(min(p) for p in cat["skeleton"]) >= 1 and max(max(p) for p in cat["skeleton"]) <= N_LANDMARKS
        for img in coco.loadImgs(coco.getImgIds()):
            n_images += 1
            rec = records[img["sample_id"]]
            pixels = cv2.imread(str(Path(path).parent.parent / split / img["file_name"]))
            assert pixels.shape[:2] == (img["height"], img["width"]) == (rec["height"], rec["width"])
            (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
            kp = np.asarray(ann["keypoints"], float).reshape(N_LANDMARKS, 3)
            uv = np.asarray(rec["landmarks"]["uv"])
            vis = np.asarray(rec["landmarks"]["visible"], bool)
            inf = np.asarray(rec["landmarks"]["in_frame"], bool)
            np.testing.assert_array_equal(kp[:, 2], np.where(vis & inf, 2, np.where(inf, 1, 0)))
            # COCO keypoints are pixel indices: adding 0.5 (as Detectron2 does) gives our labels back
            np.testing.assert_allclose(kp[inf, :2] + 0.5, uv[inf], atol=1e-3)
            assert (kp[~inf, :2] == 0).all()
            assert ann["num_keypoints"] == int(inf.sum())
            # the RLE decodes to exactly the face classes of the segmentation PNG
            mask = coco.annToMask(ann).astype(bool)
            expected = np.isin(_seg(root, rec), FACE_IDS)
            np.testing.assert_array_equal(mask, expected)
            assert ann["area"] == expected.sum()
            ys, xs = np.nonzero(expected)
            np.testing.assert_allclose(
                ann["bbox"], [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
            )
    assert n_images == len(records)


def _evaluate(coco, shift_px: float) -> np.ndarray:
    from pycocotools.cocoeval import COCOeval

    dets = []
    for ann in coco.loadAnns(coco.getAnnIds()):
        kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
        kp[:, :2] += shift_px
        dets.append(
            {
                "image_id": ann["image_id"],
                "category_id": ann["category_id"],
                "keypoints": kp.reshape(-1).tolist(),
                "score": 1.0,
            }
        )
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco.loadRes(dets)
        ev = COCOeval(coco, dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(coco.loadCats(coco.getCatIds())[0]["oks_sigmas"])
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_coco_face_parts_give_every_class_mask_back_exactly(dataset, exports):
    root, records = dataset
    seen = 0
    for split, path in exports["coco"].items():
        coco = _coco(Path(path).parent / f"face_parts_{split}.json")
        names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
        ids = [a["id"] for a in coco.dataset["annotations"]]
        assert len(ids) == len(set(ids)) and min(ids) >= 1
        assert names == {i: n.lower() for n, i in CLASS_IDS.items() if n not in ("BACKGROUND", "IGNORE")}
        for img in coco.loadImgs(coco.getImgIds()):
            seg = _seg(root, records[img["sample_id"]])
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
            assert sorted(a["category_id"] for a in anns) == sorted(set(np.unique(seg).tolist()) - {0, 255})
            for ann in anns:  # each RLE decodes to exactly its class's pixels
                np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), seg == ann["category_id"])
                assert ann["area"] == (seg == ann["category_id"]).sum() and ann["iscrowd"] == 0
            assert (Path(path).parent.parent / split / img["file_name"]).is_file()
            seen += 1
    assert seen == len(records)


def test_cocoeval_of_ground_truth_against_itself_gives_ap_one(exports):
    coco = _coco(exports["coco"]["train"])
    assert len(coco.getAnnIds()) > 0
    stats = _evaluate(coco, 0.0)
    assert stats[0] == pytest.approx(1.0)  # AP @ OKS .50:.95
    assert stats[5] == pytest.approx(1.0)  # AR
    # and the evaluation can fail: keypoints a few pixels off lose precision
    assert _evaluate(coco, 4.0)[0] < 0.9


# --------------------------------------------------------------------------- Hugging Face


def test_hf_imagefolder_loads_offline_with_all_label_columns(dataset, exports, tmp_path):
    import datasets

    root, records = dataset
    hf_root = Path(exports["hf"]["train"]).parent.parent
    ds = datasets.load_dataset("imagefolder", data_dir=str(hf_root), cache_dir=str(tmp_path / "cache"))
    expected_splits = {"train": "train", "val": "validation", "test": "test"}
    assert set(ds) == {expected_splits[s] for s in exports["hf"]}
    assert sum(len(ds[s]) for s in ds) == len(records)
    seen = set()
    for split in ds:
        for row in ds[split]:
            rec = records[row["sample_id"]]
            seen.add(row["sample_id"])
            assert row["image"].mode == "RGB"
            np.testing.assert_array_equal(np.asarray(row["image"]), _rgb(root, rec))
            np.testing.assert_array_equal(np.asarray(row["segmentation"]), _seg(root, rec))
            np.testing.assert_array_equal(np.asarray(row["depth"], dtype=np.uint16), _depth(root, rec))
            np.testing.assert_allclose(row["landmarks"], rec["landmarks"]["uv"])
            assert row["landmarks_visible"] == rec["landmarks"]["visible"]
            assert row["face_bbox"] == pytest.approx(rec["face_bbox"])
            assert row["identity_id"] == rec["identity_id"]
            assert row["attributes.skin.monk_tone"] == rec["attributes"]["skin"]["monk_tone"]
            assert row["attributes.glasses.present"] == rec["attributes"]["glasses"]["present"]
            assert row["attributes.age_years"] == pytest.approx(rec["attributes"]["age_years"])
    assert seen == set(records)
    card = (hf_root / "README.md").read_text()
    assert card.startswith("---\n")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["license"] == "cc0-1.0" and "synthetic" in meta["tags"] and meta["size_categories"] == ["n<1K"]
    assert "## Licence" in card


# --------------------------------------------------------------------------- WebDataset


def exact_png(data: bytes):
    """The decoder the export's docstring tells users to use for seg.png / depth.png."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


def test_webdataset_iterates_with_decoding(dataset, exports):
    import webdataset as wds

    root, records = dataset
    wds_root = Path(exports["webdataset"]["train"][0]).parent.parent
    index = json.loads((wds_root / "shards.json").read_text())
    urls = [str(wds_root / s) for split in index.values() for s in split["shards"]]
    assert sum(split["n_samples"] for split in index.values()) == len(records)
    pipeline = wds.WebDataset(urls, shardshuffle=False).decode(
        wds.handle_extension("seg.png depth.png", exact_png), "rgb8"
    )
    keys = []
    for sample in pipeline:
        key = sample["__key__"]
        keys.append(key)
        assert "." not in key
        rec = records[key]
        assert sample["png"].dtype == np.uint8 and sample["png"].shape == (rec["height"], rec["width"], 3)
        np.testing.assert_array_equal(sample["png"], _rgb(root, rec))
        np.testing.assert_array_equal(sample["seg.png"], _seg(root, rec))
        assert sample["depth.png"].dtype == np.uint16
        np.testing.assert_array_equal(sample["depth.png"], _depth(root, rec))
        full = json.loads((root / rec["files"]["labels"]).read_text())
        assert sample["json"] == full and "dense" in sample["json"]
    assert sorted(keys) == sorted(records)


# --------------------------------------------------------------------------- Face Synthetics


def test_facesynthetics_layout_reads_like_the_original(dataset, exports):
    root, records = dataset
    by_index = {r["index"]: r for r in records.values()}
    n = 0
    for split, folder in exports["facesynthetics"].items():
        for ldmks in sorted(glob.glob(os.path.join(folder, "*_ldmks.txt"))):
            n += 1
            stem = ldmks[: -len("_ldmks.txt")]
            idx = int(os.path.basename(stem))
            rec = by_index[idx]
            points = np.loadtxt(ldmks)
            assert points.shape == (N_LANDMARKS, 2)
            np.testing.assert_allclose(points, rec["landmarks"]["uv"], atol=1e-3)
            img = cv2.imread(f"{stem}.png")
            assert img.shape == (rec["height"], rec["width"], 3)
            seg = cv2.imread(f"{stem}_seg.png", cv2.IMREAD_UNCHANGED)
            assert seg.dtype == np.uint8 and seg.ndim == 2
            np.testing.assert_array_equal(seg, _seg(root, rec))
            assert os.path.basename(stem) == f"{idx:06d}"
    assert n == len(records)


def test_exports_carry_the_chosen_landmark_convention(dataset, tmp_path, capsys):
    root, records = dataset
    dest = tmp_path / "contour"
    assert (
        cli_main(
            [
                "export",
                str(root),
                "-f",
                "facesynthetics",
                "--dest",
                str(dest),
                "--splits",
                "1",
                "--landmarks",
                "contour",
            ]
        )
        == 0
    )
    moved = 0
    for rec in records.values():
        points = np.loadtxt(dest / "facesynthetics" / "train" / f"{rec['index']:06d}_ldmks.txt")
        np.testing.assert_allclose(points, rec["landmarks_contour"]["uv"], atol=1e-3)
        xray = np.asarray(rec["landmarks"]["uv"])
        np.testing.assert_allclose(points[17:48], xray[17:48], atol=1e-3)  # the lips may move to their edge
        np.testing.assert_allclose(points[68:], xray[68:], atol=1e-3)
        moved += int(np.abs(points[:17] - np.asarray(rec["landmarks"]["uv"])[:17]).max() > 0.5)
    assert moved >= len(records) // 2  # the jaw follows the outline, not the anchors
    # a dataset without contour points says what to do
    old = tmp_path / "old"
    old.mkdir()
    (old / "dataset.json").write_bytes((root / "dataset.json").read_bytes())
    lines = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    (old / "manifest.jsonl").write_text(
        "".join(json.dumps({k: v for k, v in r.items() if k != "landmarks_contour"}) + "\n" for r in lines)
    )
    capsys.readouterr()
    assert cli_main(["export", str(old), "-f", "coco", "--dest", str(tmp_path / "x"), "--landmarks", "contour"]) == 1
    assert "re-render the dataset, or export with --landmarks xray" in capsys.readouterr().err


# --------------------------------------------------------------------------- command line


def test_cli_export_writes_the_chosen_formats_and_rejects_bad_input(dataset, tmp_path, capsys):
    root, records = dataset
    dest = tmp_path / "out"
    assert cli_main(["export", str(root), "--format", "facesynthetics,coco", "--dest", str(dest), "--splits", "1"]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["coco", "facesynthetics"]
    assert len(list((dest / "facesynthetics" / "train").glob("*_ldmks.txt"))) == len(records)
    # images are hard links into the dataset by default (no extra space), copies with --copy
    first = next((dest / "coco" / "train").glob("*.png"))
    assert first.stat().st_ino == (root / "samples" / first.name).stat().st_ino
    assert cli_main(["export", str(root), "-f", "facesynthetics", "--dest", str(dest), "--splits", "1", "--copy"]) == 0
    copied = next((dest / "facesynthetics" / "train").glob("??????.png"))
    assert copied.stat().st_ino != (root / "samples" / copied.name).stat().st_ino
    assert copied.read_bytes() == (root / "samples" / copied.name).read_bytes()
    # a second export replaces the first whole and leaves no temporary folders
    assert cli_main(["export", str(root), "-f", "coco", "--dest", str(dest), "--splits", "0.5,0.5"]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["coco", "facesynthetics"]
    assert sorted(p.name for p in (dest / "coco" / "annotations").iterdir()) == [
        "face_keypoints_train.json",
        "face_keypoints_val.json",
        "face_parts_train.json",
        "face_parts_val.json",
    ]
    capsys.readouterr()
    assert cli_main(["export", str(root), "-f", "parquet"]) == 1
    assert "unknown export format 'parquet'" in capsys.readouterr().err
    assert cli_main(["export", str(tmp_path / "missing"), "-f", "coco"]) == 1
    assert "not a finished facefarm dataset" in capsys.readouterr().err
    assert cli_main(["export", str(root), "-f", "coco", "--splits", "0.9,0.2"]) == 1
    assert "sum to 1" in capsys.readouterr().err


def test_format_names():
    assert parse_formats("all") == ("coco", "hf", "webdataset", "facesynthetics")
    assert parse_formats(["hf", "coco,hf"]) == ("hf", "coco")
    with pytest.raises(ValueError, match="choose from"):
        parse_formats("tfrecord")
