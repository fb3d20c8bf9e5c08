"""Catalog validation: shipped catalogs and schema, round trips, and problems at the right JSON path."""

import copy
import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from facefarm.catalog import (
    DEFAULT_KNOWN_ASSETS,
    Catalog,
    CatalogError,
    canonical_json,
    catalog_hash,
    catalog_json_schema,
    check_catalog,
    load_catalog,
    resolve,
    validate_asset_ids,
)
from facefarm.catalog.distributions import support
from facefarm.paths import ASSETS

CATALOGS = sorted((ASSETS / "catalogs").glob("*.json"))
SCHEMA_FILE = ASSETS / "schema" / "catalog.schema.json"
KNOWN = {k: set(v) for k, v in DEFAULT_KNOWN_ASSETS.items()}


def test_the_three_example_catalogs_exist():
    assert {p.name for p in CATALOGS} >= {"default.json", "balanced.json", "mixed_ancestry.json"}


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_shipped_catalog_is_valid(path):
    cat = load_catalog(path)
    assert validate_asset_ids(cat, KNOWN) == []
    # The committed JSON Schema, checked by an independent validator, accepts it too.
    jsonschema.validate(json.loads(path.read_text()), json.loads(SCHEMA_FILE.read_text()))


def test_committed_schema_is_up_to_date():
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == json.loads(json.dumps(catalog_json_schema())), (
        "run `facefarm catalog schema --write` and commit facefarm/assets/schema/catalog.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(committed)


def test_schema_rejects_what_the_models_reject():
    schema = json.loads(SCHEMA_FILE.read_text())
    for bad in (
        {"catalog_version": 1, "age": {"kind": "uniform", "min": 1, "max": 95}},
        {"catalog_version": 1, "agee": 3},
        {"catalog_version": 3},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        assert check_catalog(bad)[1]


def test_minimal_catalog_round_trips():
    cat = load_catalog({"catalog_version": 1})
    again = Catalog.model_validate(json.loads(canonical_json(cat)))
    assert again == cat and catalog_hash(again) == catalog_hash(cat)
    assert len(cat.ancestry.taxonomy.labels) == 7  # the example taxonomy, inlined


def test_load_raises_with_every_problem():
    with pytest.raises(CatalogError) as e:
        load_catalog({"catalog_version": 1, "age": {"kind": "uniform", "min": 0, "max": 100}, "x": 1})
    assert {p.path for p in e.value.problems} == {"$.age.min", "$.age.max", "$.x"}


def test_direct_model_validate_still_checks_cross_field_rules():
    with pytest.raises(ValidationError, match="martian"):
        Catalog.model_validate({"catalog_version": 1, "ancestry": {"labels": {"martian": 1, "east_asian": 1}}})


def test_asset_ids_checked_against_the_callers_list():
    cat = load_catalog(
        {"catalog_version": 1, "lighting": {"hdri": {"kind": "categorical", "weights": {"studio": 1, "my_loft": 2}}}}
    )
    problems = validate_asset_ids(cat, KNOWN)
    assert [p.path for p in problems] == ["$.lighting.hdri.weights.my_loft"]
    assert validate_asset_ids(cat, {**KNOWN, "hdri": KNOWN["hdri"] | {"my_loft"}}) == []
    assert validate_asset_ids(cat, {}) == []  # kinds the caller does not list are not checked


def test_taxonomy_file_relative_to_catalog(tmp_path):
    tax = json.loads((ASSETS / "taxonomy" / "example.json").read_text())
    mine = {"description": "two labels", "labels": {k: tax["labels"][k] for k in ("east_asian", "black_african")}}
    (tmp_path / "tax.json").write_text(json.dumps(mine))
    (tmp_path / "cat.json").write_text(json.dumps({"catalog_version": 1, "ancestry": {"taxonomy": "tax.json"}}))
    cat = load_catalog(tmp_path / "cat.json")
    assert set(cat.ancestry.taxonomy.labels) == {"east_asian", "black_african"}
    h = catalog_hash(cat)
    mine["labels"]["east_asian"]["skin_melanin"] = 0.2
    (tmp_path / "tax.json").write_text(json.dumps(mine))
    assert catalog_hash(load_catalog(tmp_path / "cat.json")) != h  # the hash covers the taxonomy's content


# --------------------------------------------------------------------------- property-based


def _num(lo, hi):
    f = st.floats(lo, hi, allow_nan=False)
    return st.one_of(
        f,
        f.map(lambda v: {"kind": "fixed", "value": v}),
        st.tuples(f, f).map(lambda t: {"kind": "uniform", "min": min(t), "max": max(t)}),
        st.tuples(f, st.floats(0.01, hi - lo)).map(lambda t: {"kind": "normal", "mean": t[0], "sd": t[1]}),
        st.lists(f, min_size=1, max_size=4).map(lambda v: {"kind": "categorical", "values": v}),
    )


def _labels(ids):
    return st.one_of(
        st.sampled_from(ids),
        st.dictionaries(st.sampled_from(ids), st.floats(0.01, 5), min_size=1).map(
            lambda w: {"kind": "categorical", "weights": w}
        ),
    )


catalogs = st.fixed_dictionaries(
    {"catalog_version": st.just(1)},
    optional={
        "age": _num(1, 90),
        "gender": _num(0, 1),
        "muscle": _num(0, 1),
        "weight": _num(0, 1),
        "glasses": st.fixed_dictionaries(
            {}, optional={"probability": st.floats(0, 1), "families": _labels(sorted(KNOWN["glasses"]))}
        ),
        "lighting": st.fixed_dictionaries(
            {}, optional={"hdri": _labels(sorted(KNOWN["hdri"])), "rotation_deg": _num(-360, 360)}
        ),
        "head_pose": st.fixed_dictionaries({}, optional={"yaw_deg": _num(-90, 90), "roll_deg": _num(-90, 90)}),
        "ancestry": st.fixed_dictionaries(
            {}, optional={"mixed_probability": st.floats(0, 1), "mixed_max_labels": st.integers(2, 4)}
        ),
        "identity": st.fixed_dictionaries(
            {}, optional={"images_per_identity": st.integers(1, 5), "details_per_identity": st.integers(0, 10)}
        ),
        "expression": st.fixed_dictionaries(
            {}, optional={"random_probability": st.floats(0, 1), "intensity": _num(0, 1)}
        ),
    },
)


@settings(max_examples=40, deadline=None)
@given(catalogs, st.integers(0, 1000), st.integers(0, 100000))
def test_random_valid_catalogs_load_round_trip_and_resolve(spec, seed, index):
    cat, problems = check_catalog(spec)
    assert problems == [] and cat is not None
    again = load_catalog(json.loads(canonical_json(cat)))
    assert again == cat and catalog_hash(again) == catalog_hash(cat)
    s = resolve(cat, seed, index)
    assert s == resolve(again, seed, index)
    for value, dist in (
        (s.age_years, cat.age),
        (s.gender, cat.gender),
        (s.weight, cat.weight),
        (s.head_pose.yaw_deg, cat.head_pose.yaw_deg),
        (s.lighting.rotation_deg, cat.lighting.rotation_deg),
    ):
        lo, hi = support(dist)
        assert lo - 1e-9 <= value <= hi + 1e-9
    if isinstance(spec.get("glasses", {}).get("families"), str):
        assert not s.glasses.present or s.glasses.family == spec["glasses"]["families"]


# (path into the default catalog, bad value, expected problem path, fragment)
MUTATIONS = [
    (("age",), {"kind": "uniform", "min": 1, "max": 91}, "$.age.max", "1..90 years"),
    (("age",), {"kind": "truncnormal", "mean": 30, "sd": -1, "min": 1, "max": 90}, "$.age.sd", "sd must be > 0"),
    (("gender",), 1.5, "$.gender", "0..1"),
    (("glasses", "probability"), 2, "$.glasses.probability", "<= 1"),
    (
        ("glasses", "thickness_mm"),
        {"kind": "uniform", "min": 0.1, "max": 3},
        "$.glasses.thickness_mm.min",
        "0.5..15 mm",
    ),
    (("render", "samples"), 0, "$.render.samples", ">= 1"),
    (("render", "resolution"), [256], "$.render.resolution[1]", "entry [1] is missing"),
    (("camera", "focal_mm"), {"kind": "categorical", "values": [50, 500]}, "$.camera.focal_mm.values[1]", "5..300 mm"),
    (
        ("head_pose", "yaw_deg"),
        {"kind": "uniform", "min": -100, "max": 0},
        "$.head_pose.yaw_deg.min",
        "-90..90 degrees",
    ),
    (("lighting", "hdri"), {"kind": "categorical", "weights": {"city": 0}}, "$.lighting.hdri.weights.city", "> 0"),
    (("lighting", "extra_lights", "count"), 9, "$.lighting.extra_lights.count", "0..8"),
    (
        ("expression", "presets"),
        {"kind": "categorical", "weights": {"smiley": 1}},
        "$.expression.presets.weights.smiley",
        "unknown expression preset",
    ),
    (("identity", "images_per_identity"), "two", "$.identity.images_per_identity", "whole number"),
    (("ancestry", "mixed_concentration"), 0, "$.ancestry.mixed_concentration", "> 0"),
    (("skin", "freckles"), {"kind": "uniform", "min": 0.5, "max": 0.1}, "$.skin.freckles.max", "below min"),
    (("outputs", "formats"), ["coco", "coco"], "$.outputs.formats", "more than once"),
    (("outputs", "labels"), ["rgb", "optical_flow"], "$.outputs.labels[1]", "not allowed"),
    # A real field in the wrong section says where it belongs.
    (("camera", "resolution"), [256, 256], "$.camera.resolution", "move it to $.render.resolution"),
]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(MUTATIONS), st.sampled_from(CATALOGS))
def test_a_bad_value_is_reported_at_its_path(mutation, path):
    where, value, expect_path, fragment = mutation
    spec = json.loads(path.read_text())
    node = spec
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value
    cat, problems = check_catalog(spec)
    assert cat is None
    assert any(p.path == expect_path and fragment in p.message for p in problems), problems


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(CATALOGS), st.data())
def test_an_unknown_key_anywhere_is_reported_at_its_path(path, data):
    spec = json.loads(path.read_text())
    objects = []  # (json path, dict) of every object that is a model (not a free-form map)

    def walk(node, p):
        if isinstance(node, dict):
            if not (
                p.endswith(
                    (
                        "weights",
                        "labels",
                        "bands",
                        "custom_presets",
                        "detail_overrides",
                        "where",
                        "then",
                        "when",
                        "exclude",
                    )
                )
                or ".labels." in p
                or ".custom_presets." in p
            ):
                objects.append((p, node))
            for k, v in node.items():
                walk(v, f"{p}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{p}[{i}]")

    walk(spec, "$")
    p, node = data.draw(st.sampled_from(objects))
    node["zz_not_a_field"] = copy.deepcopy(1)
    cat, problems = check_catalog(spec)
    assert cat is None
    assert any(pr.path == f"{p}.zz_not_a_field" and "unknown field" in pr.message for pr in problems), (p, problems)


@pytest.mark.parametrize(
    "ref", ["/proc/self/environ", "/etc/passwd", "../outside.json", "sub/../../outside.json", "link.json", "sub"]
)
def test_taxonomy_references_stay_inside_the_catalog_folder(tmp_path, ref):
    tax = (ASSETS / "taxonomy" / "example.json").read_text()
    (tmp_path / "outside.json").write_text(tax)
    inner = tmp_path / "catalogs"
    (inner / "sub").mkdir(parents=True)
    (inner / "link.json").symlink_to(tmp_path / "outside.json")
    (inner / "cat.json").write_text(json.dumps({"catalog_version": 1, "ancestry": {"taxonomy": ref}}))
    cat, problems = check_catalog(inner / "cat.json")
    assert cat is None and [p.path for p in problems] == ["$.ancestry.taxonomy"], problems


def test_errors_in_a_taxonomy_file_never_echo_its_contents(tmp_path):
    secret = "s3cr3t-password-in-a-config"
    (tmp_path / "tax.json").write_text(
        json.dumps({"labels": {"a": {"shape_bases": {"african": 1}, "skin_melanin": secret, secret: 1}}})
    )
    (tmp_path / "cat.json").write_text(json.dumps({"catalog_version": 1, "ancestry": {"taxonomy": "tax.json"}}))
    cat, problems = check_catalog(tmp_path / "cat.json")
    assert cat is None and problems
    assert not any(secret in str(p) for p in problems), problems
