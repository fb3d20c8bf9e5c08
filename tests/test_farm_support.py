"""Shared helpers of the render-farm tests: one real local Ray session per test process, tiny catalogs.

Ray takes seconds to start, so every farm test joins the same session (started on first use,
with a dashboard so the job-submission test can use it too). Holds no tests itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

VENV_BIN = str(Path(sys.executable).parent)
#: pyrender at a tiny size: the farm is under test, not the image quality
TINY = {"catalog_version": 1, "render": {"resolution": [64, 64]}}
_SESSION: dict = {}


def write_spec(path: Path, spec: dict = TINY) -> Path:
    path.write_text(json.dumps(spec))
    return path


def ray_session() -> dict:
    """Start (once) a private local Ray with 2 CPUs and a dashboard; returns {"gcs", "dashboard"} addresses.

    Started as facefarm starts its own (free ports, a temporary folder of its own), so that
    another Ray on this host (another test run, a user's `ray start`) does not take its job agent.
    """
    import atexit

    from facefarm.farm import local_ray

    if not _SESSION:
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        # Ray jobs run their entrypoint with the cluster's PATH: let it find this venv's `facefarm`
        os.environ["PATH"] = VENV_BIN + os.pathsep + os.environ.get("PATH", "")
        ray = local_ray.start(2, dashboard=True, logging_level="ERROR", log_to_driver=False)
        atexit.register(ray.stop)
        _SESSION["gcs"] = ray.address
        _SESSION["dashboard"] = ray.dashboard_url
    return _SESSION


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray")
    return ray_session()


def cli_env() -> dict:
    """Environment for `facefarm` subprocesses: headless GL, this venv first, no inherited Ray address."""
    env = dict(os.environ, PYOPENGL_PLATFORM="egl", PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    env.pop("RAY_ADDRESS", None)
    return env


def manifest(root: Path) -> list[dict]:
    return [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]


def labels_view(record: dict) -> dict:
    """A record without what may differ between two renders of the same sample: timings, and the
    file hashes (llvmpipe may rasterise a few sub-pixel hair-ribbon edges differently; pixels are
    compared with a tolerance in tests/test_sample_render.py)."""
    out = {k: v for k, v in record.items() if k not in ("render", "sha256")}
    out["render"] = {k: v for k, v in record["render"].items() if k != "seconds"}
    return out


def check_committed(root: Path, n: int) -> list[dict]:
    """Assert samples 0..n-1 are each committed exactly once and whole; returns the manifest lines."""
    lines = manifest(root)
    ids = [x["sample_id"] for x in lines]
    assert ids == [f"{i:06d}" for i in range(n)], ids
    assert [x["index"] for x in lines] == list(range(n))
    samples = root / "samples"
    finals = sorted(p.name for p in samples.iterdir() if not p.name.startswith(".tmp-"))
    expect = sorted(f"{s}{suffix}" for s in ids for suffix in (".json", ".png", "_seg.png", "_depth.png"))
    assert finals == expect
    for x in lines:
        rec = json.loads((root / x["files"]["labels"]).read_text())
        assert rec["sample_id"] == x["sample_id"] and "dense" in rec
        for kind, digest in rec["sha256"].items():
            assert hashlib.sha256((root / rec["files"][kind]).read_bytes()).hexdigest() == digest, (x, kind)
    return lines


def stop_ray_start(proc, temp: str) -> None:
    """End a ``ray start --head --block`` started in its own session (SIGTERM: the blocking command
    ends every process it started; SIGKILL to the group if it hangs) and delete its temp folder."""
    import shutil
    import signal
    import subprocess

    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    shutil.rmtree(temp, ignore_errors=True)
