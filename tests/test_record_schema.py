"""Sample records and manifest lines: the committed JSON Schemas are current, and what a render writes matches them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError
from test_farm_support import check_committed, cli_env

from facefarm import paths
from facefarm.cli.catalog import schema_text
from facefarm.sample import writer
from facefarm.sample.record import ManifestLine, SampleRecord, manifest_json_schema, record_json_schema
from facefarm.sample.store import open_store

SCHEMAS = paths.ASSETS / "schema"
N = 2


def committed(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


@pytest.mark.parametrize("name, generate", [("record", record_json_schema), ("manifest", manifest_json_schema)])
def test_committed_schemas_are_up_to_date(name, generate):
    schema = committed(name)
    assert schema == json.loads(json.dumps(generate())), (
        f"run `facefarm catalog schema --write` and commit facefarm/assets/schema/{name}.schema.json"
    )
    assert (SCHEMAS / f"{name}.schema.json").read_text() == schema_text(name)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_command_prints_the_record_schemas(capsys):
    from facefarm.cli.main import main

    for name in ("record", "manifest"):
        assert main(["catalog", "schema", "--of", name]) == 0
        assert json.loads(capsys.readouterr().out) == committed(name)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, head_asset) -> Path:
    """Two 64 x 64 px pyrender samples of the default catalog, rendered in-process by `facefarm render`."""
    data = json.loads((paths.ASSETS / "catalogs" / "default.json").read_text())
    data.setdefault("render", {})["resolution"] = [64, 64]
    data["render"]["backend"] = "pyrender"
    tmp = tmp_path_factory.mktemp("records")
    (tmp / "spec.json").write_text(json.dumps(data))
    out = tmp / "out"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "facefarm",
            "render",
            str(tmp / "spec.json"),
            "-o",
            str(out),
            "-n",
            str(N),
            "--no-ray",
            "--no-exports",
            "--no-datasheet",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    check_committed(out, N)
    return out


def records(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "samples").glob("*.json"))]


def manifest_lines(root: Path) -> list[dict]:
    return [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]


def check(model, schema: dict, obj: dict) -> None:
    """``obj`` passes ``model`` (losslessly: dumping it gives ``obj`` back) and the JSON Schema."""
    assert model.model_validate(obj).model_dump(mode="json", exclude_unset=True) == obj
    jsonschema.validate(obj, schema)


@pytest.mark.slow
def test_every_written_record_matches_the_model_and_schema(dataset):
    recs = records(dataset)
    assert len(recs) == N and all(r["width"] == r["height"] == 64 for r in recs)
    for r in recs:
        check(SampleRecord, committed("record"), r)
        assert "write" not in r["render"]["seconds"]


@pytest.mark.slow
def test_every_manifest_line_matches_the_model_and_schema(dataset):
    lines = manifest_lines(dataset)
    assert [x["index"] for x in lines] == list(range(N))
    for line in lines:
        check(ManifestLine, committed("manifest"), line)
    # a resumed run rebuilds the lines from the label files: those have no `write` seconds
    store = open_store(dataset)
    for line in lines:
        again = writer.manifest_line(writer.read_record(store, line["sample_id"]))
        check(ManifestLine, committed("manifest"), again)
        assert "write" not in again["render"]["seconds"]


def _rename(d: dict, old: str, new: str) -> None:
    d[new] = d.pop(old)


#: Ways a record can drift from what is documented: name -> in-place edit.
DRIFT = {
    "renamed top-level field": lambda o: _rename(o, "face_bbox", "face_box"),
    "renamed nested field": lambda o: _rename(o["landmarks"], "uv", "xy"),
    "renamed attribute": lambda o: _rename(o["attributes"], "age_years", "age"),
    "missing field": lambda o: o.pop("depth_scale_m"),
    "new top-level field": lambda o: o.update(expression_name="smile"),
    "new nested field": lambda o: o["camera"].update(distortion=[0.0] * 5),
    "new timing": lambda o: o["render"]["seconds"].update(upload=0.1),
    "new attribute": lambda o: o["attributes"]["skin"].update(oiliness=0.5),
    "69 landmarks": lambda o: o["landmarks"]["uv"].pop(),
    "3-column uv": lambda o: o["landmarks"]["uv"][0].append(3.0),
    "visible as 0/1": lambda o: o["landmarks"].update(visible=[int(v) for v in o["landmarks"]["visible"]]),
    "index as a string": lambda o: o.update(index=str(o["index"])),
    "3 x 4 K": lambda o: [row.append(0.0) for row in o["camera"]["K"]],
    "other convention": lambda o: o["camera"].update(convention="opengl"),
    "bad sha256": lambda o: o["sha256"].update(image="XYZ"),
    "schema version 2": lambda o: o.update(schema_version=2),
    "timing null": lambda o: o["render"]["seconds"].update(render=None),
}
#: Cross-field rules only the models check (JSON Schema cannot say them).
MODEL_ONLY = {"dense arrays of unequal length", "files of another sample", "attributes of another sample"}


def _drifted(obj: dict) -> dict[str, dict]:
    out = {}
    for what, edit in DRIFT.items():
        out[what] = copy.deepcopy(obj)
        edit(out[what])
    other = copy.deepcopy(obj)
    other["files"] = {k: v.replace(obj["sample_id"], "999999") for k, v in obj["files"].items()}
    out["files of another sample"] = other
    other = copy.deepcopy(obj)
    other["attributes"]["index"] += 1
    out["attributes of another sample"] = other
    return out


@pytest.mark.slow
def test_drift_from_the_documented_record_is_rejected(dataset):
    rec = records(dataset)[0]
    line = manifest_lines(dataset)[0]
    dense = dict(rec["dense"], visible=rec["dense"]["visible"][:-1])
    cases = (
        (
            SampleRecord,
            "record",
            rec,
            {
                "manifest-only files.labels": dict(rec, files=line["files"]),
                "no dense": {k: v for k, v in rec.items() if k != "dense"},
                "dense arrays of unequal length": dict(rec, dense=dense),
            },
        ),
        (
            ManifestLine,
            "manifest",
            line,
            {"dense": dict(line, dense=rec["dense"]), "no files.labels": dict(line, files=rec["files"])},
        ),
    )
    for model, name, obj, extra in cases:
        schema = committed(name)
        for what, bad in {**_drifted(obj), **extra}.items():
            with pytest.raises(ValidationError):
                model.model_validate(bad)
                pytest.fail(f"{name}: the model accepts a {what}")
            if what in MODEL_ONLY:
                continue
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(bad, schema)
                pytest.fail(f"{name}: the JSON Schema accepts a {what}")
