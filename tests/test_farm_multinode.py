"""A render on a Ray cluster of several nodes on this machine (Ray's own node processes, as
``ray start`` runs them): the farm takes a node that joins mid-job, and a node killed mid-job loses
no sample and duplicates none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_farm_support import check_committed, cli_env, write_spec

from facefarm.farm.local_ray import free_port

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("head_asset")]

#: what Ray's monitor and dashboard read from the environment as they start (free ports, not Ray's fixed ones)
_METRIC_PORT_VARIABLES = ("AUTOSCALER_METRIC_PORT", "DASHBOARD_METRIC_PORT")


class _Cluster:
    """A head node and worker nodes of 1 CPU each, started from Ray's node class on free ports."""

    def __init__(self, temp: str):
        from ray._private.node import Node
        from ray._private.parameter import RayParams

        self._node, self._params, self.temp = Node, RayParams, temp
        self.head = Node(
            RayParams(num_cpus=1, num_gpus=0, include_dashboard=False, **self._common()),
            head=True,
            shutdown_at_exit=True,
        )
        self.workers: list = []

    def _common(self) -> dict:
        return {
            "dashboard_port": free_port(),
            "dashboard_agent_listen_port": 0,
            "min_worker_port": 0,
            "max_worker_port": 0,
            "object_store_memory": 150 * 1024 * 1024,
            "temp_dir": self.temp,
        }

    def add(self, num_gpus: int = 0):
        node = self._node(
            self._params(
                num_cpus=1,
                num_gpus=num_gpus,
                gcs_address=self.head.address,
                node_manager_port=0,
                include_log_monitor=False,
                **self._common(),
            ),
            head=False,
            shutdown_at_exit=True,
        )
        self.workers.append(node)
        return node

    def kill(self, node) -> None:
        """SIGKILL every process of ``node`` (raylet, its workers): a machine that goes away."""
        node.kill_all_processes(check_alive=False, allow_graceful=False, wait=True)
        self.workers.remove(node)

    def stop(self) -> None:
        for node in [*self.workers, self.head]:
            node.kill_all_processes(check_alive=False, allow_graceful=False, wait=True)


@contextmanager
def cluster() -> Iterator[_Cluster]:
    temp = tempfile.mkdtemp(prefix="ff-mn-", dir="/tmp")  # Unix socket paths must stay short
    saved = {k: os.environ.get(k) for k in _METRIC_PORT_VARIABLES}
    os.environ.update({k: str(free_port()) for k in _METRIC_PORT_VARIABLES})
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # the nodes' workers inherit it
    c = None
    try:
        c = _Cluster(temp)
        yield c
    finally:
        if c is not None:
            c.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(temp, ignore_errors=True)


def _committed(out: Path) -> int:
    return len(list(out.glob("samples/*.json")))


def _wait_for(what, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_the_farm_takes_a_node_that_joins_and_loses_nothing_when_one_dies(tmp_path):
    pytest.importorskip("ray")
    spec = write_spec(tmp_path / "tiny.json")
    out, n = tmp_path / "out", 40
    with cluster() as c:
        first = c.add()  # two nodes of 1 CPU: two workers
        cmd = [sys.executable, "-m", "facefarm", "render", str(spec), "-o", str(out), "-n", str(n)]
        proc = subprocess.Popen(
            [*cmd, "--address", c.head.address, "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        _wait_for(lambda: _committed(out) >= 2, proc)
        c.add()  # a third node joins: the farm starts a third worker on it
        _wait_for(lambda: _committed(out) >= 12, proc)
        c.kill(first)  # a node dies mid-job with its worker's calls in flight
        stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    check_committed(out, n)  # every sample once, whole, hashes as recorded
    run = json.loads((out / "dataset.json").read_text())["runs"][-1]
    assert run["rendered"] == n and run["failed"] == 0
    assert run["workers"] == 3, run
    assert run["worker_restarts"] >= 1, run  # the dead node's worker was replaced (its replacement waits for room)


def test_a_gpu_catalog_waits_for_a_gpu_node_then_gives_up_clearly(tmp_path):
    """A cluster whose autoscaler has no GPU node up yet: the render asks for one and waits
    (`--resource-wait`), starts as soon as one joins, and otherwise ends with a clear message."""
    pytest.importorskip("ray")
    spec = write_spec(
        tmp_path / "gpu.json", {"catalog_version": 1, "render": {"resolution": [64, 64], "device": "cuda"}}
    )
    with cluster() as c:

        def render(wait: float) -> subprocess.Popen:
            cmd = [sys.executable, "-m", "facefarm", "render", str(spec), "-o", str(tmp_path / "out"), "-n", "2"]
            return subprocess.Popen(
                [*cmd, "--address", c.head.address, "--quiet", "--resource-wait", str(wait)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(),
            )

        t0 = time.monotonic()
        _, stderr = render(3).communicate(timeout=300)
        assert "no GPUs" in stderr and "asked the cluster's autoscaler" in stderr and "waited 3 s" in stderr, stderr
        assert "Traceback" not in stderr and time.monotonic() - t0 < 120

        proc = render(240)
        stderr_lines: list[str] = []
        _wait_for(lambda: "asked the cluster's autoscaler" in _read_line(proc, stderr_lines), proc)
        c.add(num_gpus=1)  # a GPU node joins (a logical GPU: this machine has none to draw on)
        _, rest = proc.communicate(timeout=300)
        stderr = "".join(stderr_lines) + rest
    # the wait ended when the node joined: a worker was placed on it and could not draw (no real GPU)
    assert proc.returncode == 1 and "waited" not in stderr, stderr
    assert "a render worker failed to start" in stderr and "no GPUs" not in stderr.split("waiting up to")[-1], stderr


def _read_line(proc: subprocess.Popen, into: list[str]) -> str:
    line = proc.stderr.readline() if proc.stderr else ""
    into.append(line)
    return "".join(into)
