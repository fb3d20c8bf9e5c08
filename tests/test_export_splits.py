"""Splits by identity: pure assignment, realised fractions, and no identity leaking across splits.

The leak tests need several images per identity and many identities, so they use a
synthetic dataset written with the real writer (``facefarm/sample/writer.py``): flat-shaded
ellipse "faces" with records in the documented layout. Each export is then read back
with its own reader and the identities of every split compared.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from facefarm.dataset.formats import export_all
from facefarm.dataset.splits import SPLIT_NAMES, assign_split, identity_unit, parse_fractions, split_records
from facefarm.sample import writer
from facefarm.sample.store import open_store
from facefarm.scene.classes import CLASS_IDS

N_SAMPLES = 48
IMAGES_PER_IDENTITY = 3
SIZE = 64


def write_synthetic_dataset(
    root: Path, n: int = N_SAMPLES, images_per_identity: int = IMAGES_PER_IDENTITY, size: int = SIZE, seed: int = 3
) -> list[dict]:
    """A small dataset in the real layout: ellipse faces, 70 landmarks on an ellipse, full records."""
    store = open_store(root)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    records = []
    for i in range(n):
        ident = i // images_per_identity
        rng = np.random.default_rng([seed, i])
        cx, cy, r = size / 2 + rng.uniform(-3, 3), size / 2 + rng.uniform(-3, 3), size * 0.3
        face = ((xx - cx) / (0.8 * r)) ** 2 + ((yy - cy) / r) ** 2 < 1
        seg = np.zeros((size, size), np.uint8)
        seg[face] = CLASS_IDS["SKIN"]
        seg[face & (yy < cy - 0.6 * r)] = CLASS_IDS["HAIR"]
        rgb = np.full((size, size, 3), 30, np.uint8)
        rgb[face] = (200, 160, 130)
        depth = np.where(face, 0.5 + 0.01 * rng.random((size, size)), 0.0)
        t = np.linspace(0, 2 * np.pi, 70, endpoint=False)
        uv = np.stack([cx + 0.6 * r * np.cos(t), cy + 0.8 * r * np.sin(t)], 1)
        uv[69] = (size + 4.0, cy)  # out of frame
        in_frame = (uv >= 0).all(1) & (uv[:, 0] < size) & (uv[:, 1] < size)
        visible = in_frame & (np.arange(70) % 4 != 0)
        sid = f"{i:06d}"
        attributes = {
            "sample_id": sid,
            "index": i,
            "seed": seed,
            "catalog_hash": "synthetic",
            "identity_id": f"id-{ident}",
            "identity_index": ident,
            "ancestry_labels": {["a", "b", "c"][ident % 3]: 1.0},
            "ancestry_weights": {"african": 0.2, "asian": 0.3, "caucasian": 0.5},
            "age_years": float(5 + 7 * ident % 80),
            "gender": float(ident % 2),
            "skin": {"melanin": 0.05 * (ident % 20), "monk_tone": ident % 20 // 2 + 1},
            "glasses": {
                "present": bool(i % 2),
                "family": "round" if i % 2 else None,
                "color_rgb": [0.1, 0.1, 0.1] if i % 2 else None,
            },
            "expression": {"preset": "smile", "units": {"jawOpen": 0.1} if i % 3 else {}},
            "lighting": {"hdri": "studio", "extra_lights": []},
            "background": {"kind": "hdri", "color_rgb": None},
        }
        record = {
            "schema_version": writer.SCHEMA_VERSION,
            "sample_id": sid,
            "index": i,
            "seed": seed,
            "catalog_hash": "synthetic",
            "identity_id": f"id-{ident}",
            "width": size,
            "height": size,
            "camera": {
                "K": [[80.0, 0.0, size / 2], [0.0, 80.0, size / 2], [0.0, 0.0, 1.0]],
                "world_to_camera": np.eye(4).tolist(),
                "convention": "opencv",
            },
            "head_pose": {"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 0.0},
            "landmarks": {
                "uv": np.round(uv, 4).tolist(),
                "visible": visible.tolist(),
                "in_frame": in_frame.tolist(),
                "xyz_camera": np.full((70, 3), 0.5).tolist(),
            },
            "dense": {"uv": [[1.0, 2.0]], "visible": [True], "in_frame": [True], "xyz_camera": [[0.0, 0.0, 0.5]]},
            "face_bbox": [cx - 0.8 * r, cy - r, cx + 0.8 * r, cy + r],
            "depth_scale_m": writer.DEPTH_SCALE_M,
            "attributes": attributes,
            "render": {"backend": "synthetic", "seconds": {"render": 0.0}},
        }
        prov = {
            "synthetic": "true",
            "generator": "facefarm",
            "generator_version": "test",
            "sample_id": sid,
            "seed": str(seed),
            "catalog_hash": "synthetic",
        }
        files = writer.encode_files(rgb, seg, depth, prov)
        records.append(writer.write_sample(store, sid, files, record))
    writer.write_manifest(
        store, {"catalog": {"catalog_version": 1}, "catalog_hash": "synthetic", "seed": seed}, records
    )
    return records


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    records = write_synthetic_dataset(root)
    result = export_all(root, "all", fractions=(0.5, 0.25, 0.25))
    return root, records, result


# --------------------------------------------------------------------------- pure assignment


def test_assignment_is_a_pure_function_of_the_identity():
    ids = [f"identity-{k}" for k in range(200)]
    first = [assign_split(i) for i in ids]
    assert [assign_split(i) for i in reversed(ids)] == first[::-1]
    assert set(first) <= set(SPLIT_NAMES)
    # a salt gives a different, equally valid assignment
    assert [assign_split(i, salt="other") for i in ids] != first


def test_realised_fractions_approach_the_requested_ones():
    fractions = (0.7, 0.2, 0.1)
    names = [assign_split(f"id{k}", fractions) for k in range(20000)]
    for name, f in zip(SPLIT_NAMES, fractions):
        assert abs(names.count(name) / len(names) - f) < 0.01, name
    units = np.array([identity_unit(f"id{k}") for k in range(20000)])
    assert 0.0 <= units.min() and units.max() < 1.0
    # uniform: every tenth of [0, 1) holds about a tenth of the identities
    hist = np.histogram(units, bins=10, range=(0, 1))[0] / units.size
    assert np.abs(hist - 0.1).max() < 0.01


def test_zero_fraction_split_stays_empty_and_growth_never_moves_an_identity():
    recs = [{"identity_id": f"p{k // 4}", "index": k} for k in range(400)]
    out = split_records(recs, (0.9, 0.0, 0.1))
    assert out["val"] == []
    assert len(out["train"]) + len(out["test"]) == 400
    small = split_records(recs[:120], (0.9, 0.0, 0.1))
    for split, rs in small.items():
        assert {r["identity_id"] for r in rs} <= {r["identity_id"] for r in out[split]}
    # order inside a split is the input order
    assert [r["index"] for r in out["train"]] == sorted(r["index"] for r in out["train"])


@pytest.mark.parametrize(
    "text, message",
    [("0.8,0.1", "sum to 1"), ("0.5,0.5,0.5,-0.5", "1 to 3"), ("1.2,-0.2", ">= 0"), ("a,b", "comma-separated")],
)
def test_bad_fractions_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_fractions(text)


def test_fraction_spellings():
    assert parse_fractions("1") == (1.0,)
    assert parse_fractions("0.8, 0.1, 0.1") == (0.8, 0.1, 0.1)
    assert split_records([{"identity_id": "x"}], "1") == {"train": [{"identity_id": "x"}]}


# --------------------------------------------------------------------------- no leaks, per format


def _assert_partition(by_split: dict[str, set[str]], records: list[dict], key: str = "identity_id"):
    """Each split's identities are disjoint and together cover the dataset's."""
    splits = [s for s in by_split if by_split[s]]
    assert len(splits) >= 2, f"test data should fill several splits, got {by_split.keys()}"
    for a in splits:
        for b in splits:
            if a < b:
                assert not by_split[a] & by_split[b], f"identities in both {a} and {b}: {by_split[a] & by_split[b]}"
    assert set().union(*by_split.values()) == {r[key] for r in records}


def test_split_records_keeps_identities_together(exported):
    _, records, _ = exported
    out = split_records(records, (0.5, 0.25, 0.25))
    _assert_partition({s: {r["identity_id"] for r in rs} for s, rs in out.items()}, records)
    assert sum(map(len, out.values())) == len(records)
    # every identity has all of its images in one split
    for rs in out.values():
        ids = [r["identity_id"] for r in rs]
        assert all(ids.count(i) == IMAGES_PER_IDENTITY for i in set(ids))


def test_coco_splits_do_not_share_identities(exported):
    root, records, result = exported
    by_split = {}
    for split, path in result["coco"].items():
        doc = json.loads(Path(path).read_text())
        by_split[split] = {im["identity_id"] for im in doc["images"]}
    _assert_partition(by_split, records)


def test_hf_splits_do_not_share_identities(exported):
    root, records, result = exported
    by_split = {
        s: {json.loads(line)["identity_id"] for line in Path(p).read_text().splitlines()}
        for s, p in result["hf"].items()
    }
    _assert_partition(by_split, records)


def test_webdataset_splits_do_not_share_identities(exported):
    root, records, result = exported
    by_split = {}
    for split, shards in result["webdataset"].items():
        ids = set()
        for shard in shards:
            with tarfile.open(shard) as tar:
                for m in tar.getmembers():
                    if m.name.endswith(".json"):
                        ids.add(json.load(tar.extractfile(m))["identity_id"])
        by_split[split] = ids
    _assert_partition(by_split, records)


def test_facesynthetics_splits_do_not_share_identities(exported):
    root, records, result = exported
    identity_of = {r["index"]: r["identity_id"] for r in records}
    by_split = {
        s: {identity_of[int(p.name[:6])] for p in Path(folder).glob("*_ldmks.txt")}
        for s, folder in result["facesynthetics"].items()
    }
    _assert_partition(by_split, records)


def test_hf_schema_is_identical_across_splits_despite_missing_values(exported):
    """Optional values (glasses colour, expression units) are missing in some samples; every
    split's metadata must still infer to the same Arrow schema, or ``datasets`` refuses it."""
    import pyarrow.json as paj

    _, _, result = exported
    schemas = {s: paj.read_json(str(p)).schema for s, p in result["hf"].items()}
    first = next(iter(schemas.values()))
    for s, schema in schemas.items():
        assert schema == first, s
    assert "null" not in {str(t) for t in first.types}
