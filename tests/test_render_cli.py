"""`facefarm render` end to end through the real command line: local, Ray, URL outputs, resume, refusal."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_farm_support import check_committed, cli_env, labels_view, manifest, ray_cluster  # noqa: F401

from facefarm import paths

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("head_asset")]
N = 4
FINAL = re.compile(r"^(\d+) done, (\d+) skipped \(already complete\), (\d+) failed -> (\S+) \((\d+)/(\d+) samples")


def facefarm(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "facefarm", *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=timeout,
    )


def final_counts(proc) -> tuple[int, int, int, str]:
    """(done, skipped, failed, output) from the command's last line."""
    m = FINAL.search(proc.stdout.strip().splitlines()[-1].removeprefix("interrupted: "))
    assert m, proc.stdout + proc.stderr
    return int(m[1]), int(m[2]), int(m[3]), m[4]


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    """The default catalog at 96 x 96 px (the example catalog itself renders 256 x 256)."""
    data = json.loads((paths.ASSETS / "catalogs" / "default.json").read_text())
    data.setdefault("render", {})["resolution"] = [96, 96]
    path = tmp_path_factory.mktemp("spec") / "small.json"
    path.write_text(json.dumps(data))
    return path


_N = {"type": "number"}
_BOOL = {"type": "boolean"}
_BBOX = {"type": "array", "minItems": 4, "maxItems": 4, "items": _N}  # [x0, y0, x1, y1] pixels


def _points(n: int, dim: int) -> dict:
    return {
        "type": "array",
        "minItems": n,
        "maxItems": n,
        "items": {"type": "array", "minItems": dim, "maxItems": dim, "items": _N},
    }


def _flags(n: int) -> dict:
    return {"type": "array", "minItems": n, "maxItems": n, "items": _BOOL}


def _matrix(rows: int, cols: int) -> dict:
    return _points(rows, cols)


#: The manifest line as documented ("Output format"): one object per sample, dense arrays left out.
MANIFEST_LINE = {
    "type": "object",
    "required": [
        "schema_version",
        "sample_id",
        "index",
        "seed",
        "catalog_hash",
        "identity_id",
        "width",
        "height",
        "camera",
        "head_pose",
        "landmarks",
        "face_bbox",
        "landmarks_bbox",
        "depth_scale_m",
        "attributes",
        "render",
        "files",
        "sha256",
    ],
    "not": {"required": ["dense"]},
    "properties": {
        "schema_version": {"const": 1},
        "sample_id": {"type": "string", "pattern": r"^\d{6}$"},
        "index": {"type": "integer", "minimum": 0},
        "seed": {"type": "integer", "minimum": 0},
        "catalog_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "identity_id": {"type": "string", "minLength": 1},
        "width": {"const": 96},
        "height": {"const": 96},
        "camera": {
            "type": "object",
            "required": ["K", "world_to_camera", "convention"],
            "properties": {"K": _matrix(3, 3), "convention": {"const": "opencv"}, "world_to_camera": _matrix(4, 4)},
        },
        "head_pose": {
            "type": "object",
            "required": ["rotation", "translation", "yaw_deg", "pitch_deg", "roll_deg"],
            "properties": {
                "rotation": _matrix(3, 3),
                "translation": {"type": "array", "minItems": 3, "maxItems": 3, "items": _N},
                "yaw_deg": _N,
                "pitch_deg": _N,
                "roll_deg": _N,
            },
        },
        "landmarks": {
            "type": "object",
            "required": ["uv", "visible", "in_frame", "xyz_camera"],
            "properties": {
                "uv": _points(70, 2),
                "visible": _flags(70),
                "in_frame": _flags(70),
                "xyz_camera": _points(70, 3),
            },
        },
        "face_bbox": _BBOX,
        "landmarks_bbox": {"oneOf": [_BBOX, {"type": "null"}]},
        "depth_scale_m": {"type": "number", "exclusiveMinimum": 0},
        "attributes": {"type": "object", "required": ["sample_id", "age_years", "head_pose", "camera"]},
        "render": {
            "type": "object",
            "required": ["backend", "generator", "version", "seconds"],
            "properties": {"backend": {"enum": ["pyrender", "cycles"]}, "generator": {"const": "facefarm"}},
        },
        "files": {
            "type": "object",
            "required": ["image", "segmentation", "depth", "labels"],
            "additionalProperties": {"type": "string", "pattern": r"^samples/\d{6}(_seg|_depth)?\.(png|json)$"},
        },
        "sha256": {
            "type": "object",
            "required": ["image", "segmentation", "depth"],
            "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    },
}


def validate_lines(lines: list[dict]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for line in lines:
        jsonschema.validate(line, MANIFEST_LINE)
        x0, y0, x1, y1 = line["face_bbox"]
        assert 0 <= x0 < x1 <= line["width"] and 0 <= y0 < y1 <= line["height"]
        assert line["attributes"]["sample_id"] == line["sample_id"]


def test_render_locally_and_on_ray_gives_the_same_complete_dataset(spec, tmp_path):
    # --no-ray into an fsspec URL (the object-store code path, on the local file system)
    a = tmp_path / "a"
    p = facefarm("render", spec, "-o", f"local://{a}", "-n", N, "--no-ray")
    assert p.returncode == 0, p.stderr
    assert final_counts(p) == (N, 0, 0, f"local://{a}")
    lines_a = check_committed(a, N)
    validate_lines(lines_a)
    header = json.loads((a / "dataset.json").read_text())
    assert header["n_samples"] == header["n_requested"] == N and header["failed"] == [] and header["complete"]
    assert header["catalog"]["render"]["resolution"] == [96, 96] and header["assets"].get("head")
    assert json.loads((a / "job.json").read_text())["catalog_hash"] == header["catalog_hash"]

    # an embedded local Ray (one worker: two are tested in test_farm_ray), into a file:// URL
    b = tmp_path / "b"
    p = facefarm("render", spec, "-o", f"file://{b}", "-n", N, "--workers", 1)
    assert p.returncode == 0, p.stderr
    assert final_counts(p)[:3] == (N, 0, 0)
    lines_b = check_committed(b, N)
    assert [labels_view(x) for x in lines_b] == [labels_view(x) for x in lines_a]  # same samples, same labels

    # the same command again renders nothing and leaves every file alone
    before = {f: f.stat().st_mtime_ns for f in (a / "samples").iterdir()}
    p = facefarm("render", spec, "-o", f"local://{a}", "-n", N, "--no-ray")
    assert p.returncode == 0 and final_counts(p)[:3] == (0, N, 0)
    assert {f: f.stat().st_mtime_ns for f in (a / "samples").iterdir()} == before
    assert [labels_view(x) for x in manifest(a)] == [labels_view(x) for x in lines_a]


def test_interrupted_run_resumes_with_only_the_missing_samples(spec, tmp_path, ray_cluster):  # noqa: F811
    out, n = tmp_path / "out", 8
    cmd = [
        sys.executable,
        "-m",
        "facefarm",
        "render",
        str(spec),
        "-o",
        str(out),
        "-n",
        str(n),
        "--address",
        ray_cluster["gcs"],
        "--workers",
        "1",
    ]
    # started with SIGINT blocked, as a child of a thread that blocks it inherits (the run must
    # unblock it: without that, the run ignores Ctrl-C and renders to the end)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT]),
    )
    deadline = time.monotonic() + 300
    while len(list(out.glob("samples/*.json"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and stdout.startswith("interrupted: ")
    have = len(list(out.glob("samples/*.json")))
    assert 2 <= have < n
    done, skipped, failed, _ = final_counts(subprocess.CompletedProcess(cmd, 130, stdout, stderr))
    assert done == have and skipped == 0 and failed == 0
    assert len(manifest(out)) == have  # the manifest is rewritten from what was committed

    p = facefarm(*cmd[3:])
    assert p.returncode == 0, p.stderr
    assert final_counts(p)[:3] == (n - have, have, 0)
    check_committed(out, n)
    runs = json.loads((out / "dataset.json").read_text())["runs"]
    assert [(r["rendered"], r["skipped"], r["interrupted"]) for r in runs] == [(have, 0, True), (n - have, have, False)]

    # another catalog into the same folder is refused, clearly, and nothing changes
    other = tmp_path / "other.json"
    data = json.loads(spec.read_text())
    data["render"]["resolution"] = [80, 80]
    other.write_text(json.dumps(data))
    before = (out / "manifest.jsonl").read_bytes()
    p = facefarm("render", other, "-o", out, "-n", n, "--no-ray")
    assert p.returncode == 1 and "refusing to write" in p.stderr and "--overwrite" in p.stderr
    assert "Traceback" not in p.stderr
    assert (out / "manifest.jsonl").read_bytes() == before


def test_bad_catalog_is_refused_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"catalog_version": 1, "age": {"kind": "uniform", "min": 50, "max": 10}, "glasses": {"familes": {}}})
    )
    p = facefarm("render", bad, "-o", tmp_path / "out")
    assert p.returncode == 1
    assert "$.age.max" in p.stderr and "$.glasses.familes" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists()
    p = facefarm("render", tmp_path / "missing.json", "-o", tmp_path / "out")
    assert p.returncode == 1 and "cannot read" in p.stderr and "Traceback" not in p.stderr


def test_a_cloud_url_without_its_filesystem_package_names_what_to_install(tmp_path):
    import importlib.util

    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed: the URL would really be opened")
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps({"catalog_version": 1, "render": {"resolution": [32, 32]}}))
    p = facefarm("render", spec, "-o", "gs://some-bucket/run", "-n", "1", "--no-ray")
    assert p.returncode == 1, p.stderr
    assert "gcsfs" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("url", ["memory://run", "simplecache::memory://run"])
def test_an_output_that_keeps_nothing_is_refused(tmp_path, url):
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps({"catalog_version": 1, "render": {"resolution": [32, 32]}}))
    p = facefarm("render", spec, "-o", url, "-n", "1", "--no-ray")
    assert p.returncode == 1 and "keeps nothing" in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_a_worker_with_another_head_asset_refuses_to_start(tmp_path):
    """A node whose head asset build differs from the job's would make other samples under the same
    job: it fails at start, before writing anything, and says what to do."""
    from facefarm.catalog import catalog_hash, load_catalog
    from facefarm.farm.plan import Job
    from facefarm.farm.workers import FarmError, start_local_worker

    cat = load_catalog({"catalog_version": 1, "render": {"resolution": [64, 64]}})
    job = Job(cat.model_dump(mode="json"), catalog_hash(cat), 0, 2, "pyrender", head_asset="0000000000000000")
    with pytest.raises(FarmError, match="head asset is [0-9a-f]{16}, the job's is 0000000000000000.*assets build"):
        start_local_worker(job, str(tmp_path / "out"))
    assert not (tmp_path / "out" / "samples").exists()


@pytest.mark.parametrize(
    "sig,status,ray", [(signal.SIGTERM, 143, False), (signal.SIGHUP, 129, False), (signal.SIGTERM, 143, True)]
)
def test_sigterm_and_sighup_stop_like_ctrl_c(spec, tmp_path, sig, status, ray):
    """What schedulers and `ray job stop` send: whole samples, a consistent manifest, exit 128 + the
    signal's number, no traceback; a re-run resumes."""
    out, n = tmp_path / "out", 8
    cmd = [sys.executable, "-m", "facefarm", "render", str(spec), "-o", str(out), "-n", str(n)]
    cmd += ["--workers", "1"] if ray else ["--no-ray"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    deadline = time.monotonic() + 300
    while len(list(out.glob("samples/*.json"))) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be stopped"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr and stdout.startswith("interrupted: "), (stdout, stderr)
    have = len(list(out.glob("samples/*.json")))
    assert 1 <= have < n and len(manifest(out)) == have
    p = facefarm(*cmd[3:])
    assert p.returncode == 0, p.stderr
    check_committed(out, n)


@pytest.fixture
def signal_handlers():
    """Put this process's handlers of the stopping signals back after a test that sets them."""
    from facefarm.farm import stopping

    before = {sig: signal.getsignal(sig) for sig in stopping.SIGNALS}
    yield stopping
    stopping.deliver()  # forget the test's stop
    for sig, handler in before.items():
        signal.signal(sig, handler)


def test_a_stop_swallowed_inside_a_library_still_stops_the_run(tmp_path, signal_handlers):
    """A SIGTERM that lands while compiled code calls back into Python has its exception cleared
    there (numba did, mid-compose: the run rendered to the end and exited 0). The run must stop
    after the sample it was in all the same."""
    from facefarm.catalog import catalog_hash, load_catalog
    from facefarm.farm.plan import Job
    from facefarm.farm.workers import run_local, start_local_worker
    from facefarm.head import asset as head_asset

    stopping = signal_handlers
    cat = load_catalog({"catalog_version": 1, "render": {"resolution": [32, 32]}})
    job = Job(cat.model_dump(mode="json"), catalog_hash(cat), 0, 6, "pyrender", head_asset=head_asset.input_hash())
    worker = start_local_worker(job, str(tmp_path / "out"))
    finish_to = worker.renderer.finish_to

    def finish_and_swallow_a_signal(store, ready):
        record = finish_to(store, ready)
        if ready.sample.index == 1:
            try:  # what the library did: the handler's raise comes and is cleared
                signal.raise_signal(signal.SIGTERM)
            except KeyboardInterrupt:
                pass
        return record

    worker.renderer.finish_to = finish_and_swallow_a_signal
    stopping.deliver()
    try:
        outcome = run_local(worker, list(range(6)))
    finally:
        worker.close()
    assert outcome.interrupted and sorted(outcome.rendered) == [0, 1]
    assert stopping.exit_status(130) == 143
