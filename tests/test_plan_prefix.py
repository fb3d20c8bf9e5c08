"""Plans users can trust: the plan's counts on 2,000 resolved samples, ``facefarm catalog plan``'s numbers,
balanced ``--limit`` prefixes, and a dataset previewed with ``--limit`` then grown in place into exactly
the dataset a straight render makes.

The counts are proved on the shipped balanced catalog (strata over ancestry x age x glasses and a quota
row); the renders (marked slow) on a tiny stratified catalog at 40 px, fast back-end, in this process.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ["HF_DATASETS_OFFLINE"] = "1"  # read by `datasets` at import: nothing may be downloaded

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import facefarm  # noqa: E402
from facefarm.catalog import attribute_value, load_catalog, resolve  # noqa: E402
from facefarm.catalog.attributes import ATTRIBUTES  # noqa: E402
from facefarm.catalog.marginals import bands, level_of  # noqa: E402
from facefarm.catalog.prefix import render_order  # noqa: E402
from facefarm.catalog.resolve import sample_plan  # noqa: E402
from facefarm.paths import CATALOGS  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BALANCED = CATALOGS / "balanced.json"
N = 2000
AGE_BANDS = {"child": (1, 13), "young": (13, 30), "adult": (30, 60), "senior": (60, 90)}


@pytest.fixture(scope="module")
def balanced():
    cat = load_catalog(BALANCED)
    return cat, [resolve(cat, 0, i, N) for i in range(N)]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "facefarm", *args], capture_output=True, text=True, env=env, timeout=600
    )


# ------------------------------------------------------------------------------ the plan's counts


def test_strata_and_quotas_hold_their_counts_on_2000_samples(balanced):
    """Quotas lie inside the strata: every stated marginal holds exactly over all N samples."""
    cat, ss = balanced
    rare = [s for s in ss if s.quota == 0]
    assert len(rare) == 8  # the quota row: exactly its count, every one satisfying it
    assert all(8 <= s.age_years <= 12 and s.gender >= 0.7 and s.facial_hair.style == "full_beard" for s in rare)

    def band(age: float) -> str:
        return next(b for b, (lo, hi) in AGE_BANDS.items() if lo <= age < hi or age == hi == 90)

    cells = collections.Counter((attribute_value(s, "ancestry"), band(s.age_years), s.glasses.present) for s in ss)
    assert len(cells) == 8 * 4 * 2 and set(cells.values()) == {N // 64, N // 64 + 1}
    for k, n_levels in enumerate((8, 4, 2)):  # each factor: N / levels per level, exactly
        per_level = collections.Counter()
        for cell, count in cells.items():
            per_level[cell[k]] += count
        assert set(per_level.values()) == {N // n_levels}, per_level
    for s in ss:  # and every sample is what its stratum says
        assert attribute_value(s, "ancestry") == s.stratum["ancestry"] and s.glasses.present == s.stratum["glasses"]


def test_a_quota_its_strata_cannot_hold_is_a_validation_error(tmp_path):
    spec = {
        "catalog_version": 1,
        "size": 10,
        "sampling": {
            "mode": "stratified",
            "stratify_by": [{"attribute": "glasses"}],
            "quotas": [{"where": {"glasses": True, "expression": "smile"}, "count": 6}],
        },
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    for verb in ("validate", "plan"):
        proc = _cli("catalog", verb, str(path))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1 and "Traceback" not in out, out
        assert "$.sampling.quotas[0]" in out and "glasses=true" in out, out
    spec["sampling"]["quotas"][0]["count"] = 5  # the 5 glasses samples of 10 can all smile
    assert sum(resolve(load_catalog(spec), 0, i).expression.preset == "smile" for i in range(10)) >= 5


def test_image_quota_samples_keep_their_identity_cell():
    """An image taken by an image-only quota row is still an image of its identity: same ancestry and age
    as the identity's other images (it used to be drawn as a free identity of its own)."""
    spec = {
        "catalog_version": 1,
        "size": 64,
        "identity": {"images_per_identity": 4},
        "ancestry": {"labels": {"east_asian": 1, "black_african": 1}, "mixed_probability": 0},
        "sampling": {
            "mode": "stratified",
            "stratify_by": [{"attribute": "ancestry"}],
            "quotas": [{"where": {"expression": "smile"}, "count": 8}],
        },
    }
    cat = load_catalog(spec)
    ss = [resolve(cat, 0, i) for i in range(64)]
    assert sum(s.quota == 0 and s.expression.preset == "smile" for s in ss) == 8
    for j in range(16):
        images = ss[4 * j : 4 * j + 4]
        assert len({(attribute_value(s, "ancestry"), s.age_years, s.gender) for s in images}) == 1, j
    assert collections.Counter(attribute_value(s, "ancestry") for s in ss) == {"east_asian": 32, "black_african": 32}


def test_catalog_plan_prints_the_counts_resolving_gives(balanced):
    cat, ss = balanced
    proc = _cli("catalog", "plan", str(BALANCED), "-n", str(N), "--json", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["n"] == N and report["catalog_hash"] == ss[0].catalog_hash
    for a, attr in ATTRIBUTES.items():
        table = bands(cat, a) if attr.kind == "range" else None
        want = collections.Counter(level_of(table, attr.kind, attribute_value(s, a)) for s in ss)
        got = {lv: v["planned"] for lv, v in report["marginals"][a]["levels"].items() if v["planned"]}
        assert got == dict(want), a
    # what the plan forces is stated exactly: age bands (strata, and the quota's 8-12 inside "child")
    assert {lv: v["stated"] for lv, v in report["marginals"]["age"]["levels"].items()} == {
        lv: float(v["planned"]) for lv, v in report["marginals"]["age"]["levels"].items()
    }
    # a free draw is stated by the catalog's own probability: headwear 0.1 of 2000
    assert report["marginals"]["headwear"]["levels"]["none"]["stated"] == pytest.approx(0.9 * N)
    assert report["marginals"]["hair_style"]["levels"]["short"]["stated"] is None  # follows priors
    cells = report["cells"]
    assert sum(c["count"] for c in cells) == N and len([c for c in cells if c["quota"] is None]) == 64
    assert sum(c["count"] for c in cells if c["quota"] == 0) == 8  # inside strata: children of any ancestry
    assert all(c["levels"]["age"] == [8.0, 12.0] and "ancestry" in c["levels"] for c in cells if c["quota"] == 0)
    disk = report["disk"]
    assert disk["bytes"] == N * disk["bytes_per_sample"] and disk["image_format"] == "png"
    assert {t["backend"] for t in report["time"]["estimates"]} == {"pyrender", "cycles"}


def test_catalog_plan_text_and_impossible_plans():
    proc = _cli("catalog", "plan", str(BALANCED), "-n", "64", "--set", "outputs.image_format=webp")
    assert proc.returncode == 0, proc.stderr
    assert "glasses (image, stratified)" in proc.stdout and "disk (estimate): 64 x" in proc.stdout
    assert "webp 256x256" in proc.stdout and "cycles on cpu" in proc.stdout
    proc = _cli("catalog", "plan", str(BALANCED), "-n", "4")
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "$.sampling.quotas" in proc.stdout and "N is 4" in proc.stdout


# ------------------------------------------------------------------------------ balanced prefixes


def _planned_levels(cat, n: int) -> tuple[list[dict], list]:
    """Per index: its planned attribute levels (and quota row); and the codes."""
    assignments, codes = sample_plan(cat, 0, n)
    attrs = sorted({a for x in assignments for a, _ in x.levels})
    keys = [{**{a: dict(x.levels).get(a) for a in attrs}, "quota": x.quota} for x in assignments]
    return [keys[c] for c in codes], list(codes)


def _worst_deviation(order: list[int], per_index: list[dict], codes: list) -> tuple[float, float]:
    """Largest |count in the first k - k * share| over every k, planned level and cell."""
    n = len(per_index)
    totals = collections.Counter((a, v) for x in per_index for a, v in x.items())
    cell_totals = collections.Counter(codes)
    seen, cells = collections.Counter(), collections.Counter()
    worst_level = worst_cell = 0.0
    for k, i in enumerate(order, 1):
        seen.update(per_index[i].items())
        cells[codes[i]] += 1
        worst_level = max(worst_level, max(abs(seen[key] - k * t / n) for key, t in totals.items()))
        worst_cell = max(worst_cell, max(abs(cells[c] - k * t / n) for c, t in cell_totals.items()))
    return worst_level, worst_cell


def test_every_prefix_of_the_render_order_holds_the_planned_marginals():
    cat = load_catalog(BALANCED)
    n = 648
    order = render_order(cat, 0, n)
    assert sorted(order) == list(range(n))
    per_index, codes = _planned_levels(cat, n)
    level, cell = _worst_deviation(order, per_index, codes)
    # every planned level and every cell within 2 samples of k x its share, for every k
    assert level <= 2 and cell <= 2, (level, cell)
    naive, _ = _worst_deviation(list(range(n)), per_index, codes)
    assert naive > 4 * level  # the plain first k indices are far from it: the order is what balances
    assert render_order(cat, 0, n, 20)[:16] == render_order(cat, 0, n, 16)  # prefixes nest


def test_without_a_plan_the_prefix_is_the_first_indices():
    cat = load_catalog(CATALOGS / "default.json")
    assert render_order(cat, 0, 2000, 16) == list(range(16))


# ------------------------------------------------------------------------------ preview, then grow in place

TINY_N = 6


def _tiny() -> dict:
    return {
        "catalog_version": 1,
        "render": {"backend": "pyrender", "resolution": [40, 40]},
        "ancestry": {"labels": {"east_asian": 1, "black_african": 1}, "mixed_probability": 0},
        "sampling": {
            "mode": "stratified",
            "stratify_by": [{"attribute": "ancestry"}, {"attribute": "glasses"}],
            "quotas": [{"where": {"expression": "smile"}, "count": 2}],
        },
    }


def _files(root: Path) -> dict[str, str]:
    """sha256 of every sample image file; each label record without its timings."""
    out = {}
    for f in sorted((root / "samples").iterdir()):
        if f.suffix == ".json":
            record = json.loads(f.read_text())
            record["render"].pop("seconds", None)
            out[f.name] = json.dumps(record, sort_keys=True)
        else:
            out[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """(preview of 2, grown to 4, grown to all 6 in the same folder, a straight render of 6)."""
    base = tmp_path_factory.mktemp("prefix")
    out = base / "grown"
    two = facefarm.render(_tiny(), TINY_N, out, limit=2, exports=False)
    ids_two = [r.sample_id for r in two.records]
    header_two = two.header
    four = facefarm.render(_tiny(), TINY_N, out, limit=4, exports=False, datasheet=False)
    header_four = four.header
    full = facefarm.render(_tiny(), TINY_N, out, exports=False, datasheet=False)
    straight = base / "straight"
    facefarm.render(_tiny(), TINY_N, straight, exports=False, datasheet=False)
    return out, straight, ids_two, header_two, header_four, full


@pytest.mark.slow  # renders 12 tiny samples
def test_limit_renders_the_balanced_prefix_and_says_it_is_partial(grown):
    out, _, ids_two, header, header_four, _ = grown
    order = render_order(load_catalog(_tiny()), 0, TINY_N)
    assert ids_two == [f"{i:06d}" for i in sorted(order[:2])]
    assert header["n_samples"] == 2 and header["n_planned"] == TINY_N and header["partial"] is True
    assert header["complete"] is False and header["balanced_prefix"] is True and header["runs"][-1]["limit"] == 2
    sheet = json.loads((out / "datasheet" / "datasheet.json").read_text())
    assert sheet["n_samples"] == 2 and sheet["n_planned"] == TINY_N and "2 of the 6" in sheet["partial"]
    assert "2 of the 6" in json.loads((out / "datasheet" / "croissant.json").read_text())["description"]
    assert header_four["n_samples"] == 4 and header_four["runs"][-1]["rendered"] == 2  # the 2 kept
    with pytest.raises(ValueError, match="limit"):
        facefarm.render(_tiny(), TINY_N, out, limit=TINY_N + 1)


@pytest.mark.slow
def test_growing_in_place_makes_the_straight_render(grown):
    out, straight, _, _, _, full = grown
    assert len(full) == TINY_N and full.header["complete"] is True and full.header["partial"] is False
    assert [r["rendered"] for r in full.header["runs"]] == [2, 2, 2]  # nothing refused or rendered twice
    assert _files(out) == _files(straight)  # the same images and labels, byte for byte


@pytest.mark.slow
def test_to_hf_gives_back_the_images_and_labels(grown):
    pytest.importorskip("datasets")
    out, *_ = grown
    ds = facefarm.load(out)
    hf = ds.to_hf()
    assert len(hf) == TINY_N
    for k, row in enumerate(hf):
        sample = ds[k]
        files = {kind: out / name for kind, name in sample.record.files.model_dump().items() if name}
        assert row["sample_id"] == sample.sample_id
        image = cv2.cvtColor(cv2.imread(str(files["image"])), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(np.asarray(row["image"]), image)
        np.testing.assert_array_equal(
            np.asarray(row["segmentation"]), cv2.imread(str(files["segmentation"]), cv2.IMREAD_UNCHANGED)
        )
        np.testing.assert_array_equal(np.asarray(row["depth"]), cv2.imread(str(files["depth"]), cv2.IMREAD_UNCHANGED))
        np.testing.assert_allclose(row["landmarks"], sample.landmarks, rtol=0, atol=1e-9)
        assert row["landmarks_visible"] == sample.visible.tolist()
