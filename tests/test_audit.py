"""The datasheet: files, plots, provenance chunks, intersection tables and file checks.

Runs on the real tiny render shared with test_export_formats.py (rendered once per session).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_export_formats import tiny_render

from facefarm.cli.main import main as cli_main
from facefarm.dataset.datasheet import (
    AGE_BANDS,
    attribute_pixel_mismatches,
    audit,
    crosstab,
    ethnicity_group,
    intersections,
    largest_imbalance,
    summarise,
    ternary_xy,
    write_datasheet,
)
from facefarm.paths import CATALOGS
from facefarm.sample import writer
from facefarm.sample.store import open_store
from facefarm.scene.classes import CLASS_IDS

pytestmark = pytest.mark.slow  # renders


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A private copy of the tiny render: the datasheet is written inside the dataset root."""
    root = tmp_path_factory.mktemp("audit") / "dataset"
    shutil.copytree(tiny_render(tmp_path_factory), root, ignore=shutil.ignore_patterns("datasheet", "exports"))
    return root


@pytest.fixture(scope="module")
def datasheet(dataset):
    md = write_datasheet(dataset)
    return md, json.loads(md.with_name("datasheet.json").read_text())


def _records(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


def test_datasheet_states_synthetic_and_covers_the_dataset(dataset, datasheet):
    md, facts = datasheet
    text = md.read_text()
    assert md.parent == dataset / "datasheet"
    assert "## Synthetic data" in text and "These data are synthetic" in text
    assert "Known limits" in text and "Intended use" in text
    records = _records(dataset)
    assert facts["n_samples"] == len(records)
    assert facts["n_identities"] == len({r["identity_id"] for r in records})
    ages = [r["attributes"]["age_years"] for r in records]
    assert facts["distributions"]["age_years"]["kind"] == "continuous"
    assert facts["distributions"]["age_years"]["mean"] == pytest.approx(np.mean(ages))
    tones = {
        str(k): v
        for k, v in zip(*np.unique([r["attributes"]["skin"]["monk_tone"] for r in records], return_counts=True))
    }
    assert facts["distributions"]["skin.monk_tone"]["counts"] == tones
    big = facts["largest_imbalance"]
    assert big is not None and f"**Largest imbalance** ({big['table']})" in text


def test_datasheet_plots_exist_are_linked_and_not_blank(datasheet):
    md, facts = datasheet
    text = md.read_text()
    plots = facts["plots"]
    for key in ("monk_tone", "age", "ancestry_simplex", "categorical", "continuous"):
        assert key in plots, key
    assert any(k.startswith("contact: ") for k in plots)
    assert any(k.startswith("intersection: ") for k in plots)
    for name in plots.values():
        path = md.parent / name
        assert f"]({name})" in text, f"{name} not linked from datasheet.md"
        img = np.asarray(Image.open(path).convert("RGB"))
        assert min(img.shape[:2]) >= 100
        assert img.reshape(-1, 3).std(axis=0).max() > 10, f"{name} looks blank"


def test_contact_sheet_has_one_group_per_ethnicity(dataset, datasheet):
    md, facts = datasheet
    groups = {ethnicity_group(r["attributes"]) for r in _records(dataset)}
    assert {k[len("contact: ") :] for k in facts["plots"] if k.startswith("contact: ")} == groups


def test_rendered_images_carry_provenance_chunks(dataset, datasheet):
    header = json.loads((dataset / "dataset.json").read_text())
    for r in _records(dataset)[:4]:
        text = Image.open(dataset / r["files"]["image"]).text
        assert text["synthetic"] == "true"
        assert text["generator"] == "facefarm" and text["generator_version"]
        assert text["sample_id"] == r["sample_id"]
        assert text["catalog_hash"] == header["catalog_hash"] == r["catalog_hash"]
        assert text["seed"] == str(header["seed"])
    _, facts = datasheet
    assert facts["checks"]["images_with_provenance"] == facts["checks"]["samples_checked"] == facts["n_samples"]
    assert facts["checks"]["files_hash_mismatch"] == 0


def test_a_tampered_file_is_reported_and_the_cli_fails(dataset, tmp_path, capsys):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root, ignore=shutil.ignore_patterns("datasheet"))
    records = _records(root)
    assert audit(root)["checks"]["problems"] == []
    victim = records[2]
    rgb = np.asarray(Image.open(root / victim["files"]["image"])).copy()
    rgb[0, 0] = 255 - rgb[0, 0]
    open_store(root).put(victim["files"]["image"], writer.encode_png(rgb, {"synthetic": "true"}))
    capsys.readouterr()
    assert cli_main(["audit", str(root), "--no-plots"]) == 2
    facts = json.loads((root / "datasheet" / "datasheet.json").read_text())
    assert facts["checks"]["files_hash_mismatch"] == 1
    assert f"{victim['sample_id']}:image" in facts["checks"]["problems"]
    assert f"{victim['sample_id']}:provenance" in facts["checks"]["problems"]
    assert "1 hash mismatches" in capsys.readouterr().out
    assert not list((root / "datasheet").glob("*.png"))
    assert cli_main(["audit", str(tmp_path / "nothing")]) == 1


# --------------------------------------------------------------------------- tables and summaries


def test_crosstab_counts_empty_cells_and_ratio():
    rows = [{"a": "x", "b": "1"}] * 6 + [{"a": "x", "b": "2"}] * 2 + [{"a": "y", "b": "1"}] * 3
    t = crosstab(rows, ("a", "b"), {"a": ["x", "y", "z"]})
    counts = {tuple(c["levels"]): c["count"] for c in t["cells"]}
    assert counts == {("x", "1"): 6, ("x", "2"): 2, ("y", "1"): 3, ("y", "2"): 0, ("z", "1"): 0, ("z", "2"): 0}
    assert t["ratio"] == 3.0
    assert t["max"]["levels"] == ["x", "1"] and t["min"]["levels"] == ["x", "2"]
    assert sorted(map(tuple, t["empty"])) == [("y", "2"), ("z", "1"), ("z", "2")]
    even = crosstab([{"a": "x"}, {"a": "y"}], ("a",))
    big = largest_imbalance({"even": even, "skewed": t})
    assert big["table"] == "skewed" and big["ratio"] == 3.0 and big["empty_cells"] == 3
    assert big["most_empty"]["table"] == "skewed" and big["most_empty"]["empty_cells"] == 3


def test_summaries_and_groups():
    assert summarise([1, 2, 2, None])["counts"] == {"1": 1, "2": 2}
    assert summarise([1, 2, 2, None])["missing"] == 1
    cont = summarise([0.5, 1.5, 2.5])
    assert cont["kind"] == "continuous" and cont["median"] == 1.5
    assert summarise([True, False, True])["counts"] == {"false": 1, "true": 2}
    assert ethnicity_group({"ancestry_labels": {"a": 1.0}}) == "a"
    assert ethnicity_group({"ancestry_labels": {"a": 0.6, "b": 0.4}}) == "mixed"
    assert [b[2] for b in AGE_BANDS][0] == "0-12"
    corners = ternary_xy(np.eye(3))
    sides = [np.linalg.norm(corners[i] - corners[(i + 1) % 3]) for i in range(3)]
    np.testing.assert_allclose(sides, 1.0)
    np.testing.assert_allclose(ternary_xy(np.array([[1, 1, 1]])), [[0.5, np.sqrt(3) / 6]])


def test_design_table_of_a_stratified_catalog_is_exactly_balanced():
    """The real sampler on the shipped balanced catalog: the audit's design table (the catalog's
    own factors and bands) must find exactly equal cells, the quota samples inside them."""
    from facefarm.catalog import load_catalog, resolve

    cat = load_catalog(CATALOGS / "balanced.json")
    catalog_json = json.loads(cat.model_dump_json())
    n = 128  # 8 ancestry groups x 4 age bands x 2 glasses = 64 cells, two each; the 8 quota children among them
    records = [{"attributes": resolve(cat, 0, i, n).model_dump(mode="json")} for i in range(n)]
    assert sum(r["attributes"]["quota"] == 0 for r in records) == 8
    tables = intersections(records, catalog_json)
    (name,) = [k for k in tables if k.startswith("design: ")]
    design = tables[name]
    assert design["excluded_quota_samples"] == 0
    assert design["n_cells"] == 64 and not design["empty"]
    assert design["ratio"] == 1.0
    assert sum(c["count"] for c in design["cells"]) == n
    # a dataset made before quotas lay inside the strata: its quota samples' stratum has no factor
    old = [
        dict(r, attributes=dict(r["attributes"], stratum={"age": [8, 12]})) if r["attributes"]["quota"] == 0 else r
        for r in records
    ]
    assert intersections(old, catalog_json)[name]["excluded_quota_samples"] == 8
    # the ordinary tables still see every sample
    assert sum(c["count"] for c in tables["ethnicity x age_band x glasses"]["cells"]) == n


def test_sampled_attributes_are_checked_against_the_segmentation():
    seg = np.zeros((8, 8), np.uint8)
    seg[2:4, 2:6] = CLASS_IDS["GLASSES"]
    attrs = {"glasses": {"present": True}, "headwear": {"id": "cap"}, "facial_hair": {"style": "none"}}
    assert attribute_pixel_mismatches(attrs, seg) == ["headwear.id=cap but no HEADWEAR pixels"]
    seg[6, 6] = CLASS_IDS["BEARD"]
    attrs = {"glasses": {"present": False}, "facial_hair": {"style": "none"}}
    assert attribute_pixel_mismatches(attrs, seg) == [
        "glasses.present=False but 8 GLASSES pixels",
        "facial_hair.style=none but 1 BEARD pixels",
    ]
