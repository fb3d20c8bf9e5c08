"""``outputs.labels`` with ``depth_float``: the exact depth as a float32 ``.npy`` beside the uint16 PNG.

One tiny render (3 samples, 48 px, in this process). The ``.npy`` is read with plain numpy; it agrees
with the PNG to the PNG's 0.1 mm step, the loader returns it, and a resume re-renders a sample whose
``.npy`` was cut short.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import facefarm
from facefarm.catalog import catalog_hash, load_catalog
from facefarm.paths import CATALOGS
from facefarm.sample.record import SampleRecord

N = 3


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("depth") / "dataset"
    labels = ["rgb", "segmentation", "depth", "landmarks70", "depth_float"]
    ds = facefarm.render(
        "default", N, out, overrides={"render.resolution": [48, 48], "outputs.labels": labels}, datasheet=False
    )
    return out, ds


def test_a_catalog_without_it_keeps_its_hash():
    import json

    data = json.loads((CATALOGS / "default.json").read_text())
    plain = load_catalog(data)
    asked = load_catalog(
        {**data, "outputs": {**data.get("outputs", {}), "labels": [*plain.outputs.labels, "depth_float"]}}
    )
    assert catalog_hash(plain) != catalog_hash(asked)
    assert "depth_float" not in plain.outputs.labels


def test_the_npy_is_the_png_depth_unquantised(rendered):
    out, ds = rendered
    for i in range(N):
        record = SampleRecord.model_validate_json((out / ds.records[i].files.labels).read_text())
        path = out / record.files.depth_float
        exact = np.load(io.BytesIO(path.read_bytes()), allow_pickle=False)
        assert exact.dtype == np.float32 and exact.shape == (record.height, record.width)
        assert record.sizes.depth_float == path.stat().st_size
        from PIL import Image

        png = np.asarray(Image.open(out / record.files.depth)).astype(np.float64) * record.depth_scale_m
        np.testing.assert_array_equal(exact == 0, png == 0)
        near = exact > 0
        assert near.mean() > 0.3
        assert np.abs(exact[near] - png[near]).max() <= record.depth_scale_m / 2 + 1e-7
        assert np.abs(exact[near] - png[near]).max() > 0  # the PNG's steps were in the way: it is finer
        sample = ds[i]
        np.testing.assert_array_equal(sample.depth, exact)


def test_a_cut_short_npy_is_rendered_again(rendered, tmp_path):
    import shutil

    out, ds = rendered
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    npy = copy / ds.records[1].files.depth_float
    whole = npy.read_bytes()
    npy.write_bytes(whole[: len(whole) // 2])
    again = facefarm.render(
        "default",
        N,
        copy,
        overrides={
            "render.resolution": [48, 48],
            "outputs.labels": ["rgb", "segmentation", "depth", "landmarks70", "depth_float"],
        },
        datasheet=False,
    )
    assert npy.read_bytes() == whole
    np.testing.assert_array_equal(again[1].depth, ds[1].depth)
