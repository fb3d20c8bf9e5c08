"""`facefarm submit` to a Ray node that has no facefarm and no head asset.

The node is a real `ray start --head` whose processes cannot import facefarm (a package of that name
on their PYTHONPATH raises ImportError, standing first as the missing install would) and whose
facefarm cache holds only the pinned CC0 wheel (so the test needs no network), no compiled asset.
`submit` ships this facefarm with the job; the node's two workers compile the head asset on first
use, one of them under the lock while the other waits; `--no-ship` shows what the node lacks.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_farm_support import VENV_BIN, check_committed, cli_env, stop_ray_start, write_spec

from facefarm import paths
from facefarm.cli import main as cli
from facefarm.farm.local_ray import free_port
from facefarm.head import asset as head_asset

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("head_asset")]


@contextmanager
def bare_node(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Ray head on free ports whose processes lack facefarm; yields (dashboard URL, its facefarm home)."""
    stub = tmp_path / "site" / "facefarm"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('raise ImportError("facefarm is not installed on this node")\n')
    home = tmp_path / "node-home"
    (home / "downloads").mkdir(parents=True)
    shutil.copy2(paths.home() / "downloads" / head_asset.WHEEL_NAME, home / "downloads")
    env = dict(cli_env(), RAY_AUTH_MODE="disabled", PYTHONPATH=str(tmp_path / "site"), FACEFARM_HOME=str(home))
    temp = tempfile.mkdtemp(prefix="ff-bare-", dir="/tmp")  # Unix socket paths must stay short
    dashboard = free_port()
    cmd = [
        f"{VENV_BIN}/ray",
        "start",
        "--head",
        "--block",
        "--num-cpus=2",
        "--disable-usage-stats",
        f"--port={free_port()}",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--ray-client-server-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--temp-dir={temp}",
    ]
    with open(tmp_path / "ray.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{dashboard}"
    try:
        _wait_for_jobs_api(url, proc, tmp_path / "ray.log")
        yield url, home
    finally:
        stop_ray_start(proc, temp)


def _wait_for_jobs_api(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    from ray.job_submission import JobSubmissionClient

    deadline = time.monotonic() + timeout
    while True:
        try:
            JobSubmissionClient(url).list_jobs()
            return
        except Exception as e:  # noqa: BLE001 - not up yet
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not come up ({e}): {log.read_text()[-2000:]}") from e
        time.sleep(1.0)


def test_a_job_ships_facefarm_and_the_node_builds_its_head_asset(tmp_path, capsys):
    pytest.importorskip("ray")
    spec = write_spec(tmp_path / "tiny.json")
    with bare_node(tmp_path) as (dash, home):

        def run(output: Path, *extra: str) -> tuple[int, str]:
            assert cli.main(["submit", str(spec), "-o", str(output), "-n", "3", "--address", dash, *extra]) == 0
            job_id = capsys.readouterr().out.strip().splitlines()[-1]
            code = cli.main(["status", job_id, "--address", dash, "--wait", "--timeout", "400"])
            return code, capsys.readouterr().out

        code, shown = run(tmp_path / "unshipped", "--no-ship", "--workers", "1")
        assert code == 1 and "facefarm is not installed on this node" in shown, shown

        npz, meta = head_asset.asset_paths(head_asset.input_hash())
        assert not (home / "assets" / npz.name).exists()
        code, shown = run(tmp_path / "out", "--workers", "2")
        assert code == 0, shown
        check_committed(tmp_path / "out", 3)
        # built on the node, into the node's cache, once: the same asset as this machine's
        built = home / "assets" / npz.name
        assert built.read_bytes() == npz.read_bytes()  # the compile is deterministic
        assert sorted(p.name for p in (home / "assets").iterdir() if p.suffix == ".npz") == [npz.name]
