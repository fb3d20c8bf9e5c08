"""``--set key.path=value``: catalog fields overridden from the command line (and ``overrides=`` in the API).

An override edits the spec's JSON before the one validator sees it, so a bad one is a catalog problem
at its JSON path that names the ``--set``; the overridden catalog hashes differently, so a dataset
rendered with it is another catalog's (resume and ``--overwrite`` rules apply).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_farm_support import cli_env

import facefarm
from facefarm.catalog import CatalogError, catalog_hash, check_catalog, load_catalog
from facefarm.catalog.overrides import Override, apply_overrides, overrides_from, parse_override
from facefarm.cli.main import main
from facefarm.paths import CATALOGS

DEFAULT = CATALOGS / "default.json"


def _cli(*argv: str) -> tuple[int, str]:
    """(exit status, stdout + stderr) of the real command line, in this process."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse's own errors
            rc = int(e.code or 0)
    return rc, buf.getvalue()


# ------------------------------------------------------------------------------ parsing and applying


@pytest.mark.parametrize(
    "text, keys, value",
    [
        ("render.resolution=[512,512]", ("render", "resolution"), [512, 512]),
        ("render.backend=cycles", ("render", "backend"), "cycles"),  # not JSON: the string
        ('name="42"', ("name",), "42"),
        ("name=42", ("name",), 42),
        ("glasses.probability=0.3", ("glasses", "probability"), 0.3),
        ("sampling.quotas.0.count=5", ("sampling", "quotas", 0, "count"), 5),
        ('age={"kind": "uniform", "min": 20, "max": 30}', ("age",), {"kind": "uniform", "min": 20, "max": 30}),
        ("name=a=b", ("name",), "a=b"),  # the first '=' splits
    ],
)
def test_an_override_is_a_dotted_path_and_a_json_value_else_a_string(text, keys, value):
    o = parse_override(text)
    assert o.keys == keys and o.value == value


def test_a_value_nested_past_the_recursion_limit_is_a_string_not_a_crash():
    assert parse_override("name=" + "[" * 5000).value == "[" * 5000


@pytest.mark.parametrize("text", ["render.resolution", "=3", "render..resolution=3", ".a=1"])
def test_a_malformed_override_says_how_to_write_one(text):
    with pytest.raises(ValueError, match="KEY.PATH=VALUE|dotted path"):
        parse_override(text)


def test_overrides_create_missing_objects_replace_values_and_leave_the_spec_alone():
    data = {"catalog_version": 1, "render": {"resolution": [256, 256]}, "sampling": {"quotas": [{"count": 1}]}}
    before = json.dumps(data)
    out, problems = apply_overrides(
        data,
        overrides_from(["render.resolution.1=128", "camera.distance_m=1.5", "sampling.quotas.0.count=4"]),
    )
    assert problems == [] and json.dumps(data) == before
    assert out["render"]["resolution"] == [256, 128] and out["camera"] == {"distance_m": 1.5}
    assert out["sampling"]["quotas"] == [{"count": 4}]
    assert overrides_from({"render.resolution": [64, 64]}) == [Override(("render", "resolution"), [64, 64])]


@pytest.mark.parametrize(
    "text, path, fragment",
    [
        ("render.resolution.width=3", "$.render.resolution", "index it with 0..1"),
        ("render.resolution.2=3", "$.render.resolution", "index it with 0..1"),
        ("render.resolution.0.x=3", "$.render.resolution[0]", "a value (256) here, which has no fields"),
        ("sampling.quotas.0=3", "$.sampling.quotas", "empty list"),
    ],
)
def test_a_path_that_cannot_be_followed_is_a_problem_naming_the_set(text, path, fragment):
    data = {"catalog_version": 1, "render": {"resolution": [256, 256]}, "sampling": {"quotas": []}}
    _, problems = apply_overrides(data, [parse_override(text)])
    assert len(problems) == 1 and problems[0].path == path
    assert fragment in problems[0].message and f"--set {text.split('=')[0]}" in problems[0].message


# ------------------------------------------------------------------------------ validation and hash


def test_the_overridden_catalog_is_validated_and_hashed_as_a_whole():
    plain = load_catalog(DEFAULT)
    cat, problems = check_catalog(DEFAULT, overrides_from({"render.resolution": [64, 64]}))
    assert problems == [] and cat is not None and tuple(cat.render.resolution) == (64, 64)
    assert catalog_hash(cat) != catalog_hash(plain)
    same, _ = check_catalog(DEFAULT, overrides_from({"render.resolution": list(plain.render.resolution)}))
    assert catalog_hash(same) == catalog_hash(plain)  # overriding a value with itself changes nothing
    _, problems = check_catalog(DEFAULT, overrides_from(["render.resolutoin=[64,64]"]))
    assert [p.path for p in problems] == ["$.render.resolutoin"]
    assert (
        "did you mean 'resolution'" in problems[0].message and "--set render.resolutoin=[64,64]" in problems[0].message
    )


def test_catalog_validate_with_set_reports_the_new_hash_or_one_problem_line():
    rc, plain = _cli("catalog", "validate", DEFAULT)
    rc2, changed = _cli("catalog", "validate", DEFAULT, "--set", "render.resolution=[64,64]", "--set", "size=20")
    assert rc == rc2 == 0 and "64x64" in changed and "N=20" in changed
    hash_of = lambda text: text.split("hash ")[1].split(",")[0]  # noqa: E731
    assert hash_of(changed) != hash_of(plain)
    rc, out = _cli("catalog", "validate", DEFAULT, "--set", "render.resolution=big")
    problems = [line for line in out.splitlines() if line.startswith("  ")]
    assert rc == 1 and len(problems) == 1 and "Traceback" not in out
    assert "$.render.resolution" in problems[0] and "--set render.resolution=" in problems[0]
    rc, out = _cli("catalog", "validate", DEFAULT, "--set", "render.resolution")
    assert rc == 2 and "argument --set" in out and "KEY.PATH=VALUE" in out and "Traceback" not in out


def test_catalog_resolve_and_the_api_apply_overrides():
    rc, out = _cli("catalog", "resolve", DEFAULT, "-i", "0", "--set", "age=30")
    assert rc == 0 and json.loads(out)["age_years"] == 30
    assert facefarm.resolve(DEFAULT, 0, 0, overrides={"age": 30}).age_years == 30
    assert facefarm.resolve("default", 0, 0, overrides=["age=31"]).age_years == 31
    with pytest.raises(CatalogError, match=r"\$\.age.*--set age"):
        facefarm.resolve("default", 0, 0, overrides={"age": "old"})
    rc, out = _cli("catalog", "resolve", DEFAULT, "--set", "age=old")
    assert rc == 1 and "$.age" in out and "--set age" in out


def test_a_catalog_next_to_its_taxonomy_file_keeps_it_under_set(tmp_path):
    # an override must not turn a path into a dict and lose the folder relative references are read from
    data = json.loads(DEFAULT.read_text())
    shipped = json.loads((CATALOGS.parent / "taxonomy" / "example.json").read_text())
    (tmp_path / "tax.json").write_text(json.dumps(shipped))
    data["ancestry"] = {**data.get("ancestry", {}), "taxonomy": "tax.json"}
    (tmp_path / "spec.json").write_text(json.dumps(data))
    rc, out = _cli("catalog", "validate", tmp_path / "spec.json", "--set", "render.resolution=[64,64]")
    assert rc == 0, out


# ------------------------------------------------------------------------------ render


@pytest.mark.slow  # renders
def test_render_with_set_renders_the_overridden_catalog_and_is_another_job(tmp_path, head_asset):
    spec = tmp_path / "spec.json"
    spec.write_text(DEFAULT.read_text())
    out = tmp_path / "out"

    def render(*extra: str) -> subprocess.CompletedProcess:
        args = ["render", spec, "-o", out, "-n", "2", "--no-ray", "--quiet", "--no-exports", "--no-datasheet"]
        return subprocess.run(
            [sys.executable, "-m", "facefarm", *map(str, args), *extra],
            capture_output=True,
            text=True,
            timeout=600,
            env=cli_env(),
        )

    p = render("--set", "render.resolution=[48,40]")
    assert p.returncode == 0, p.stderr
    ds = facefarm.load(out)
    assert ds[0].image.shape == (40, 48, 3) and ds.header["catalog"]["render"]["resolution"] == [48, 40]
    want = load_catalog(ds.header["catalog"])
    assert ds.header["catalog_hash"] == catalog_hash(want) != catalog_hash(load_catalog(spec))
    again = render("--set", "render.resolution=[48,40]")
    assert again.returncode == 0 and "0 done, 2 skipped" in again.stdout
    plain = render()  # the file without the override is another catalog
    assert plain.returncode == 1 and "--overwrite" in plain.stderr and "Traceback" not in plain.stderr
    bad = render("--set", "render.resolution=[48]")
    assert bad.returncode == 1 and "$.render.resolution" in bad.stderr and "--set render.resolution" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert Path(out / "dataset.json").exists() and facefarm.load(out)[1].image.shape == (40, 48, 3)
