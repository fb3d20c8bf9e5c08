"""`facefarm catalog ...` through the real command line: exit codes, messages, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from facefarm.catalog import load_catalog, resolve
from facefarm.paths import ASSETS

BAD = Path(__file__).parent / "bad_specs"
FACEFARM = Path(sys.executable).parent / "facefarm"


def _expected() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for line in (BAD / "_expected.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, path, fragment = line.split("\t")
            out.setdefault(name, []).append((path, fragment))
    return out


# One interpreter runs the real CLI entry point (argument parsing, validation, printing) on
# every bad spec; starting ~50 interpreters would cost a minute on a loaded 2-core machine.
DRIVER = r"""
import contextlib, io, json, sys
from facefarm.cli.main import main
results = {}
for path in sys.argv[1:]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            rc = main(["catalog", "validate", path])
        except SystemExit as e:
            rc = e.code
    results[path] = [rc, buf.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def bad_results():
    files = sorted(str(p) for p in BAD.glob("*.json"))
    out = subprocess.run([sys.executable, "-c", DRIVER, *files], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return {Path(k).name: v for k, v in json.loads(out.stdout).items()}


def test_every_bad_spec_has_expectations():
    assert {p.name for p in BAD.glob("*.json")} == set(_expected())
    assert len(_expected()) >= 40


@pytest.mark.parametrize("name", sorted(_expected()))
def test_bad_spec_gives_its_specific_problem(bad_results, name):
    rc, text = bad_results[name]
    assert rc == 1, text
    assert "Traceback" not in text and text.startswith("INVALID ")
    lines = [line.strip() for line in text.splitlines()[1:]]
    for path, fragment in _expected()[name]:
        assert any(line.startswith(f"{path}: ") and fragment in line for line in lines), (path, fragment, text)


def _facefarm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(FACEFARM), *args], capture_output=True, text=True, timeout=300)


def test_installed_command_on_a_good_and_a_broken_file():
    ok = _facefarm("catalog", "validate", str(ASSETS / "catalogs" / "balanced.json"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("\n") == 1 and ok.stdout.startswith("OK ") and "stratified" in ok.stdout
    bad = _facefarm("catalog", "validate", str(BAD / "malformed_json_multiline.json"))
    assert bad.returncode == 1 and "Traceback" not in bad.stdout + bad.stderr
    assert "malformed JSON at line 4" in bad.stdout
    missing = _facefarm("catalog", "validate", "/no/such/spec.json")
    assert missing.returncode == 1 and "cannot read" in missing.stdout and "Traceback" not in missing.stderr


def test_validate_with_n_and_known_assets(tmp_path, capsys):
    from facefarm.cli.main import main

    spec = tmp_path / "s.json"
    spec.write_text(
        json.dumps(
            {
                "catalog_version": 1,
                "lighting": {"hdri": "my_loft"},
                "sampling": {"quotas": [{"where": {"glasses": True}, "count": 5}]},
            }
        )
    )
    assert main(["catalog", "validate", str(spec)]) == 1
    assert "$.lighting.hdri: unknown hdri id 'my_loft'" in capsys.readouterr().out
    known = tmp_path / "known.json"
    known.write_text(json.dumps({"hdri": ["my_loft"]}))
    assert main(["catalog", "validate", str(spec), "--known-assets", str(known), "-n", "100"]) == 0
    assert "N=100" in capsys.readouterr().out
    assert main(["catalog", "validate", str(spec), "--known-assets", str(known), "-n", "3"]) == 1
    assert "impossible quota: the rows ask for 5 samples but N is 3" in capsys.readouterr().out


def test_schema_command_prints_the_committed_schema(capsys):
    from facefarm.cli.main import main

    assert main(["catalog", "schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((ASSETS / "schema" / "catalog.schema.json").read_text())


def test_resolve_command_prints_the_resolved_sample(capsys):
    from facefarm.cli.main import main

    path = ASSETS / "catalogs" / "default.json"
    assert main(["catalog", "resolve", str(path), "--seed", "4", "-i", "2", "17"]) == 0
    lines = capsys.readouterr().out.splitlines()
    cat = load_catalog(path)
    assert [json.loads(x) for x in lines] == [resolve(cat, 4, i).model_dump(mode="json") for i in (2, 17)]


def _validate_and_render(tmp_path, doc_text: str) -> tuple[tuple[int, str], tuple[int, str]]:
    """(exit, output) of `catalog validate` and of `render` (which stops before rendering) on one spec."""
    spec = tmp_path / "spec.json"
    spec.write_text(doc_text)
    v = subprocess.run([str(FACEFARM), "catalog", "validate", str(spec)], capture_output=True, text=True)
    r = subprocess.run(
        [str(FACEFARM), "render", str(spec), "-o", str(tmp_path / "out"), "-n", "2", "--no-ray", "--quiet"],
        capture_output=True,
        text=True,
    )
    return (v.returncode, v.stdout + v.stderr), (r.returncode, r.stdout + r.stderr)


@pytest.mark.slow  # starts the render command
@pytest.mark.parametrize(
    "text,path,fragment",
    [
        ('{"catalog_version": 1, "name": ' + "[" * 3000 + "]" * 3000 + "}", "$", "nested more than"),
        ('{"catalog_version": 1, "name": "\\ud800"}', "$.name", "lone UTF-16 surrogate"),
        (
            json.dumps({"catalog_version": 1, "identity": {"detail_names": ["nose-hump", "nose-humpp"]}}),
            "$.identity.detail_names[1]",
            "did you mean 'nose-hump",
        ),
    ],
)
def test_validate_and_render_refuse_alike_with_a_json_path(tmp_path, head_asset, text, path, fragment):
    (v_rc, v_out), (r_rc, r_out) = _validate_and_render(tmp_path, text)
    for rc, out in ((v_rc, v_out), (r_rc, r_out)):
        assert rc == 1 and "Traceback" not in out, out
        assert f"{path}: " in out and fragment in out, out
    assert not (tmp_path / "out" / "samples").exists()


@pytest.mark.slow  # starts the render command
def test_validate_and_render_accept_the_shipped_user_asset(tmp_path, head_asset):
    doc = {
        "catalog_version": 1,
        "render": {"resolution": [64, 64]},
        "headwear": {"probability": 1.0, "ids": {"kind": "categorical", "weights": {"headband_cc0": 1}}},
    }
    (v_rc, v_out), (r_rc, r_out) = _validate_and_render(tmp_path, json.dumps(doc))
    assert v_rc == 0 and v_out.startswith("OK"), v_out
    assert r_rc == 0, r_out


@pytest.mark.slow  # starts the render command
def test_sizes_beyond_the_cap_are_refused_before_planning(tmp_path, head_asset):
    from facefarm.catalog.vocabulary import MAX_SAMPLES

    (v_rc, v_out), _ = _validate_and_render(tmp_path, json.dumps({"catalog_version": 1, "size": 1e30}))
    assert v_rc == 1 and "$.size" in v_out and "Traceback" not in v_out
    spec = tmp_path / "ok.json"
    spec.write_text(json.dumps({"catalog_version": 1}))
    r = subprocess.run(
        [
            str(FACEFARM),
            "render",
            str(spec),
            "-o",
            str(tmp_path / "o"),
            "-n",
            str(100 * MAX_SAMPLES),
            "--no-ray",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "split a larger dataset" in r.stderr, r.stderr
