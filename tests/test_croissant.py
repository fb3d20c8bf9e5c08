"""Croissant JSON-LD (datasheet/croissant.json) and the datasheet's licence section.

The structure is checked against the Croissant 1.0 / RAI 1.0 vocabulary by hand; mlcroissant (a dev
dependency) validates the file and reads records from it: every manifest line as a "samples" record with
the values the manifest holds, and every PNG of the FileSet.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_export_formats import tiny_render

from facefarm.catalog.vocabulary import DEFAULT_KNOWN_ASSETS
from facefarm.dataset.croissant import CONFORMS_TO, CROISSANT_FILE, FIELDS, LICENCE, croissant
from facefarm.dataset.datasheet import licence, write_datasheet

RAI = (
    "rai:dataCollection",
    "rai:dataCollectionType",
    "rai:dataAnnotationProtocol",
    "rai:machineAnnotationTools",
    "rai:dataUseCases",
    "rai:dataLimitations",
    "rai:dataBiases",
    "rai:personalSensitiveInformation",
    "rai:dataSocialImpact",
    "rai:dataReleaseMaintenancePlan",
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A private copy of the tiny render with a plot-less datasheet."""
    root = tmp_path_factory.mktemp("croissant") / "dataset"
    shutil.copytree(tiny_render(tmp_path_factory), root, ignore=shutil.ignore_patterns("datasheet", "exports"))
    write_datasheet(root, plots=False)
    return root


def _records(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


@pytest.mark.slow  # the shared render
def test_croissant_has_the_core_and_responsible_ai_fields(dataset):
    doc = json.loads((dataset / "datasheet" / CROISSANT_FILE).read_text())
    header = json.loads((dataset / "dataset.json").read_text())
    ctx = doc["@context"]
    assert ctx["@vocab"] == "https://schema.org/" and ctx["cr"] == "http://mlcommons.org/croissant/"
    assert ctx["rai"] == "http://mlcommons.org/croissant/RAI/" and ctx["dct"] == "http://purl.org/dc/terms/"
    assert doc["@type"] == "sc:Dataset" and doc["conformsTo"] == CONFORMS_TO
    assert doc["license"].startswith("https://creativecommons.org/publicdomain/zero/")
    assert "synthetic" in doc["description"].lower()
    for key in RAI:
        assert doc.get(key), key
    assert "real person" in doc["rai:personalSensitiveInformation"][0]
    files = {d["@id"]: d for d in doc["distribution"]}
    manifest = files["manifest.jsonl"]
    assert manifest["@type"] == "cr:FileObject" and manifest["contentUrl"] == "manifest.jsonl"
    assert manifest["sha256"] == header["manifest_sha256"] and manifest["encodingFormat"] == "application/jsonlines"
    pngs = files["sample-pngs"]
    assert pngs["@type"] == "cr:FileSet" and pngs["includes"] == "samples/*.png"
    samples = next(r for r in doc["recordSet"] if r["@id"] == "samples")
    names = [f["name"] for f in samples["field"]]
    assert names == [f[0] for f in FIELDS] and samples["key"] == {"@id": "samples/sample_id"}
    for f in samples["field"]:
        assert f["@type"] == "cr:Field" and f["source"]["fileObject"] == {"@id": "manifest.jsonl"}
        assert f["dataType"].startswith("sc:")
        column = f["source"]["extract"]["column"]
        assert all(column in r for r in _records(dataset)), column  # every field reads a real manifest column


@pytest.mark.slow  # the shared render
def test_mlcroissant_validates_it_and_reads_the_manifest_and_the_pngs(dataset, tmp_path):
    mlc = pytest.importorskip("mlcroissant")
    # its paths are relative to the dataset root: a copy there is what a reader (or a host) uses
    here = dataset / CROISSANT_FILE
    shutil.copy(dataset / "datasheet" / CROISSANT_FILE, here)
    try:
        ds = mlc.Dataset(jsonld=str(here))
        assert not ds.metadata.ctx.issues.errors, ds.metadata.ctx.issues.report()
        records = {r["sample_id"]: r for r in _records(dataset)}
        seen = 0
        for rec in ds.records("samples"):
            sid = rec["samples/sample_id"].decode()
            want = records[sid]
            assert rec["samples/identity_id"].decode() == want["identity_id"]
            assert rec["samples/image"].decode() == want["files"]["image"]
            # pandas parses JSON numbers to within an ulp or two, not exactly
            np.testing.assert_allclose(rec["samples/landmarks"], want["landmarks"]["uv"], rtol=1e-12)
            assert list(rec["samples/landmarks_visible"]) == want["landmarks"]["visible"]
            assert rec["samples/yaw_deg"] == pytest.approx(want["head_pose"]["yaw_deg"])
            assert rec["samples/monk_tone"] == want["attributes"]["skin"]["monk_tone"]
            assert rec["samples/width"] == want["width"]
            seen += 1
        assert seen == len(records)
        paths = [r["pngs/path"].decode() for r in ds.records("pngs")]
        assert sorted(paths) == sorted(f for r in records.values() for k, f in r["files"].items() if k != "labels")
    finally:
        here.unlink()


@pytest.mark.slow  # the shared render
def test_datasheet_has_a_licence_section(dataset):
    text = (dataset / "datasheet" / "datasheet.md").read_text()
    section = text.split("## Licence", 1)[1].split("\n## ", 1)[0]
    assert f"**{LICENCE}**" in section and "MakeHuman HM08" in section and CROISSANT_FILE in section
    facts = json.loads((dataset / "datasheet" / "datasheet.json").read_text())
    assert facts["licence"]["licence"] == LICENCE


def test_user_assets_are_named_in_the_licence():
    headwear = next(iter(DEFAULT_KNOWN_ASSETS["headwear"] - {"none"}))
    records = [
        {"attributes": {"headwear": {"id": "headband_cc0"}, "hair": {"style": "my_locs"}}},
        {"attributes": {"headwear": {"id": headwear}, "glasses": {"family": None}}},
    ]
    lic = licence(records)
    assert lic["user_assets"] == {"hair_style": ["my_locs"], "headwear": ["headband_cc0"]}
    assert licence([{"attributes": {"headwear": {"id": "none"}}}])["user_assets"] == {}
    assert any(i["name"].startswith("MakeHuman") and i["licence"] == "CC0-1.0" for i in lic["inputs"])


def test_croissant_without_records_still_has_every_required_key():
    facts = {
        "statement": "These data are synthetic.",
        "purpose": "p",
        "limits": ["l"],
        "n_samples": 0,
        "n_identities": 0,
        "largest_imbalance": None,
        "licence": licence([]),
    }
    doc = croissant(facts, {"catalog_hash": "ab" * 32, "seed": 0})
    assert doc["name"] == "facefarm-abababab" and "sha256" not in doc["distribution"][0]
    for key in (
        "@context",
        "@type",
        "name",
        "description",
        "conformsTo",
        "license",
        "url",
        "distribution",
        "recordSet",
        *RAI,
    ):
        assert key in doc, key
