"""Datasets in an object store: `facefarm render -o s3://...` against a local S3 server (moto on
127.0.0.1, started here), killed mid-run and resumed, then read back by the manifest, `facefarm.load`,
`facefarm export` and `facefarm status`'s count."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from test_farm_support import cli_env, write_spec
from test_render_cli import final_counts

import facefarm
from facefarm.cli.submit import complete_count
from facefarm.farm.local_ray import free_port
from facefarm.sample import writer
from facefarm.sample.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("head_asset")]
BUCKET = "facefarm-test"
#: what s3fs (through botocore) needs to talk to the local server; AWS_ENDPOINT_URL is how a user
#: points facefarm at MinIO, Ceph or any other S3-compatible store too
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1 with one bucket; this process and its children point at it.

    Yields the s3fs file system (the same cached instance facefarm's stores use in this process)."""
    pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as f:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=f, stderr=f
        )
    env = dict(CREDENTIALS, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    saved = {k: os.environ.get(k) for k in [*env, "AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the moto S3 server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.update(env)
        s3fs.S3FileSystem.clear_instance_cache()
        fs = s3fs.S3FileSystem()
        fs.mkdir(BUCKET)
        yield fs
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        s3fs.S3FileSystem.clear_instance_cache()


def render_cmd(spec, url: str, n: int, *extra) -> list[str]:
    return [sys.executable, "-m", "facefarm", "render", str(spec), "-o", url, "-n", str(n), "--quiet", *extra]


def committed(fs, url: str) -> list[str]:
    """Label files (commit markers) in ``url``/samples, listed fresh from the server."""
    fs.invalidate_cache()
    path = url.removeprefix("s3://") + "/samples"
    return sorted(p for p in fs.find(path) if p.endswith(".json"))


def test_a_killed_render_into_s3_resumes_and_reads_back(s3, tmp_path):
    spec = write_spec(tmp_path / "tiny.json")
    url, n = f"s3://{BUCKET}/runs/killed", 6
    first = subprocess.Popen(
        render_cmd(spec, url, n, "--no-ray"), env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while not committed(s3, url):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "no sample was committed in 300 s"
            time.sleep(0.1)
    finally:
        first.send_signal(signal.SIGKILL)  # mid-run: no manifest, maybe a sample half uploaded
        first.communicate(timeout=60)
    kept = len(committed(s3, url))
    assert 1 <= kept < n
    assert not s3.exists(f"{BUCKET}/runs/killed/manifest.jsonl")
    seen_before = complete_count(url, n)  # this process has now listed the folder once
    assert seen_before is not None and seen_before >= kept

    # the resume runs on a local Ray worker: the driver must see what another process committed
    p = subprocess.run(render_cmd(spec, url, n, "--workers", "1"), env=cli_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    done, skipped, failed, _ = final_counts(p)
    assert (done, skipped, failed) == (n - kept, kept, 0), p.stdout
    assert complete_count(url, n) == n  # what `facefarm status` counts, from a process that looked before

    # every sample once, each whole: four files a sample in samples/, nothing else
    s3.invalidate_cache()
    names = sorted(p.rsplit("/", 1)[-1] for p in s3.find(f"{BUCKET}/runs/killed/samples"))
    ids = [f"{i:06d}" for i in range(n)]
    assert names == sorted(f"{s}{x}" for s in ids for x in (".json", ".png", "_seg.png", "_depth.png"))
    lines = [json.loads(x) for x in s3.cat_file(f"{BUCKET}/runs/killed/manifest.jsonl").decode().splitlines()]
    assert [x["sample_id"] for x in lines] == ids
    header = json.loads(s3.cat_file(f"{BUCKET}/runs/killed/dataset.json"))
    assert header["n_samples"] == n and header["complete"]
    assert [r["interrupted"] for r in header["runs"]] == [False]  # the killed run wrote no header
    assert writer.complete_ids(open_store(url)) == set(ids)

    ds = facefarm.load(url, verify=True)  # every file against its recorded sha256
    assert len(ds) == n and [s.sample_id for s in ds] == ids
    assert ds[n - 1].image.shape == (64, 64, 3) and ds[0].segmentation.shape == (64, 64)

    exp = tmp_path / "exports"
    p = subprocess.run(
        [sys.executable, "-m", "facefarm", "export", url, "-f", "coco,webdataset", "--dest", str(exp), "--splits", "1"],
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    from pycocotools.coco import COCO  # the format's own reader

    coco = COCO(str(exp / "coco" / "annotations" / "face_keypoints_train.json"))
    assert len(coco.getImgIds()) == len(coco.getAnnIds()) == n
    assert all((exp / "coco" / "train" / img["file_name"]).is_file() for img in coco.loadImgs(coco.getImgIds()))
    assert sorted(f.name for f in (exp / "webdataset").rglob("*.tar"))

    # the same command once more renders nothing
    p = subprocess.run(render_cmd(spec, url, n, "--no-ray"), env=cli_env(), capture_output=True, text=True)
    assert p.returncode == 0 and final_counts(p)[:3] == (0, n, 0), p.stderr

    # another seed is refused, and with --overwrite replaces every sample (deleted in batches)
    p = subprocess.run(
        render_cmd(spec, url, 2, "--no-ray", "--seed", "1"), env=cli_env(), capture_output=True, text=True
    )
    assert p.returncode == 1 and "--overwrite" in p.stderr, p.stderr
    p = subprocess.run(
        render_cmd(spec, url, 2, "--no-ray", "--seed", "1", "--overwrite"),
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0 and final_counts(p)[:3] == (2, 0, 0), p.stderr
    s3.invalidate_cache()
    assert len(s3.find(f"{BUCKET}/runs/killed/samples")) == 2 * 4
    assert [s.record.seed for s in facefarm.load(url)] == [1, 1]
