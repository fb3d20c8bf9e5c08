"""``outputs.image_format``: the RGB image as JPEG or WebP (``image_quality``), read back by every reader.

One tiny render per format (4 samples, 48 px, in this process) with every export; the image files are
read with OpenCV independently of facefarm, and each export with its own reader. Segmentation and
depth stay PNG. A PNG catalog's hash is what it was before the option existed.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"  # read by `datasets` at import: nothing may be downloaded

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import facefarm  # noqa: E402
from facefarm.catalog import catalog_hash, check_catalog, load_catalog  # noqa: E402
from facefarm.catalog.overrides import overrides_from  # noqa: E402
from facefarm.dataset.datasheet import check_files  # noqa: E402
from facefarm.dataset.source import open_dataset  # noqa: E402
from facefarm.dataset.splits import assign_split  # noqa: E402
from facefarm.paths import CATALOGS  # noqa: E402
from facefarm.sample.writer import encode_image, read_provenance  # noqa: E402

N = 4
EXTENSIONS = {"jpeg": "jpg", "webp": "webp"}
FORMATS = ["coco", "hf", "webdataset", "facesynthetics"]


def _overrides(fmt: str, quality: int = 80) -> dict:
    return {
        "render.resolution": [48, 48],
        "outputs.image_format": fmt,
        "outputs.image_quality": quality,
        "outputs.formats": FORMATS,
    }


@pytest.fixture(scope="module", params=["jpeg", "webp"])
def rendered(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param) / "dataset"
    ds = facefarm.render("default", N, out, overrides=_overrides(request.param), datasheet=False)
    return request.param, out, ds


def _pil_format(data: bytes) -> str:
    from PIL import Image

    return str(Image.open(io.BytesIO(data)).format)


def _cv2_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# ------------------------------------------------------------------------------ no render


def test_a_png_catalog_keeps_its_hash_and_a_lossy_one_is_another_catalog():
    default = load_catalog(CATALOGS / "default.json")
    assert "image_format" not in default.model_dump(mode="json")["outputs"]  # the canonical JSON of before
    explicit, _ = check_catalog(CATALOGS / "default.json", overrides_from({"outputs.image_format": "png"}))
    assert catalog_hash(explicit) == catalog_hash(default)
    jpeg, _ = check_catalog(CATALOGS / "default.json", overrides_from({"outputs.image_format": "jpeg"}))
    assert catalog_hash(jpeg) != catalog_hash(default)
    assert load_catalog(json.loads(json.dumps(jpeg.model_dump(mode="json")))).outputs.image_format == "jpeg"
    _, problems = check_catalog(CATALOGS / "default.json", overrides_from({"outputs.image_quality": 0}))
    assert [p.path for p in problems] == ["$.outputs.image_quality"]


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encoded_images_carry_their_provenance_and_decode_close_to_the_pixels(fmt):
    yy, xx = np.mgrid[0:64, 0:64]
    rgb = np.stack([xx * 4, yy * 4, (xx + yy) * 2], axis=-1).astype(np.uint8)  # smooth: lossy codecs keep it
    data = encode_image(rgb, fmt, 90, {"synthetic": "true", "sample_id": "000007", "Software": "facefarm x"})
    assert read_provenance(data)["sample_id"] == "000007" and read_provenance(data)["synthetic"] == "true"
    back = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.abs(back.astype(int) - rgb).mean() <= (0 if fmt == "png" else 3)
    magic = {"png": b"\x89PNG", "jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}[fmt]
    assert data.startswith(magic)


# ------------------------------------------------------------------------------ a render


@pytest.mark.slow
def test_the_record_names_the_real_file_and_labels_stay_png(rendered):
    fmt, out, ds = rendered
    ext = EXTENSIONS[fmt]
    for i, rec in enumerate(ds.records):
        assert rec.files.image == f"samples/{rec.sample_id}.{ext}"
        assert rec.files.segmentation.endswith("_seg.png") and rec.files.depth.endswith("_depth.png")
        data = (out / rec.files.image).read_bytes()
        assert len(data) == rec.sizes.image and _pil_format(data) == fmt.upper()
        prov = read_provenance(data)
        assert prov["synthetic"] == "true" and prov["sample_id"] == rec.sample_id
        assert prov["catalog_hash"] == rec.catalog_hash == ds.header["catalog_hash"]
        sample = ds[i]  # the loader validates the full record (SampleRecord) and decodes the image
        assert sample.image.shape == (48, 48, 3) and sample.image.dtype == np.uint8
        assert np.abs(sample.image.astype(int) - _cv2_rgb(out / rec.files.image)).mean() < 1.0
        np.testing.assert_array_equal(sample.segmentation, cv2.imread(str(out / rec.files.segmentation), -1))
        assert rec.split == assign_split(rec.identity_id) and rec.sample_id in {
            r.sample_id for r in ds.split(rec.split)
        }
    assert not list((out / "samples").glob("*[0-9].png"))  # no PNG image beside the JPEG / WebP
    assert ds.header["catalog"]["outputs"]["image_format"] == fmt


@pytest.mark.slow
def test_resume_trusts_the_lossy_images_and_the_audit_finds_their_provenance(rendered):
    fmt, out, _ = rendered
    again = facefarm.render("default", N, out, overrides=_overrides(fmt), datasheet=False, exports=False)
    assert again.header["runs"][-1]["rendered"] == 0  # the .jpg / .webp names are the writer's own
    checks = check_files(open_dataset(out), limit=None)
    assert checks["problems"] == [] and checks["images_with_provenance"] == N


@pytest.mark.slow
def test_exports_carry_the_images_and_their_readers_load_them(rendered, tmp_path):
    fmt, out, ds = rendered
    ext = EXTENSIONS[fmt]
    by_id = {r.sample_id: r for r in ds.records}
    exports = out / "exports"
    # COCO: file_name is the real file, pycocotools and OpenCV read it
    from pycocotools.coco import COCO

    seen = 0
    for ann in sorted((exports / "coco" / "annotations").glob("face_keypoints_*.json")):
        split = ann.stem.rsplit("_", 1)[1]
        coco = COCO(str(ann))
        for img in coco.loadImgs(coco.getImgIds()):
            assert img["file_name"].endswith(f".{ext}")
            pixels = _cv2_rgb(exports / "coco" / split / img["file_name"])
            assert pixels.shape == (img["height"], img["width"], 3)
            seen += 1
    assert seen == N
    # Face Synthetics: {index}.jpg beside {index}_seg.png, read with cv2 as the original's code does
    images = sorted((exports / "facesynthetics").glob(f"*/*[0-9].{ext}"))
    assert len(images) == N and all(_cv2_rgb(p).shape == (48, 48, 3) for p in images)
    assert len(list((exports / "facesynthetics").glob("*/*_seg.png"))) == N
    # Hugging Face imagefolder, offline
    import datasets

    hf = datasets.load_dataset("imagefolder", data_dir=str(exports / "hf"), cache_dir=str(tmp_path / "cache"))
    rows = [row for split in hf for row in hf[split]]
    assert len(rows) == N
    for row in rows:
        rec = by_id[row["sample_id"]]
        np.testing.assert_array_equal(np.asarray(row["image"]), facefarm.load(out)[rec.index].image)
        assert np.asarray(row["segmentation"]).shape == (48, 48)
    # WebDataset: the image member has the image's extension, and the stock decoder reads it
    import webdataset as wds

    index = json.loads((exports / "webdataset" / "shards.json").read_text())
    urls = [str(exports / "webdataset" / s) for split in index.values() for s in split["shards"]]
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode("rgb8"))
    assert len(samples) == N and all(s[ext].shape == (48, 48, 3) and "png" not in s for s in samples)


@pytest.mark.slow
def test_croissant_lists_the_lossy_images_and_validates(rendered):
    mlc = pytest.importorskip("mlcroissant")
    fmt, out, _ = rendered
    from facefarm.dataset.datasheet import write_datasheet

    write_datasheet(out, plots=False)
    doc = json.loads((out / "datasheet" / "croissant.json").read_text())
    sets = {d["@id"]: d for d in doc["distribution"]}
    assert sets["sample-images"]["includes"] == f"samples/*.{EXTENSIONS[fmt]}"
    assert sets["sample-images"]["encodingFormat"] == f"image/{fmt}"
    here = out / "croissant.json"
    shutil.copy(out / "datasheet" / "croissant.json", here)
    try:
        ds = mlc.Dataset(jsonld=str(here))
        assert not ds.metadata.ctx.issues.errors, ds.metadata.ctx.issues.report()
        assert len(list(ds.records("samples"))) == N
    finally:
        here.unlink()


@pytest.mark.slow
def test_overwrite_with_png_removes_the_lossy_images(rendered):
    fmt, out, _ = rendered
    png = facefarm.render("default", N, out, overrides={"render.resolution": [48, 48]}, overwrite=True, exports=False)
    assert [r.files.image for r in png.records] == [f"samples/{r.sample_id}.png" for r in png.records]
    assert not list((out / "samples").glob(f"*.{EXTENSIONS[fmt]}"))  # facefarm's own files: replaced
