"""The private local Ray that ``facefarm render`` starts when no cluster is named.

It must neither disturb nor be disturbed by another Ray on the same host (a user's ``ray start
--head``, another render). Ray's fixed defaults (dashboard 8265, dashboard agent 52365, metrics
44217 and 44227, worker ports 10002-19999) are left to that other Ray: every port here is one the
system picks free. Its session lives in its own temporary folder, not ``/tmp/ray`` (whose
``session_latest`` the other Ray's tools read), and the folder is removed when it stops.

``ray.init(address="local")`` always takes the agent port 52365, and a Ray started later on the
same host then has no job agent ("No available agent" on ``ray job submit``). So the head node is
started here from Ray's node class, as ``ray.cluster_utils.Cluster`` does (Ray is pinned in
pyproject.toml), and the driver joins it by address. The node's reaper process ends the node if
this process dies without stopping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from typing import Any

#: Ray keeps Unix sockets under its temporary folder; their paths must stay under 108 bytes
_MAX_TEMP_ROOT = 40
#: read from the environment by Ray's monitor and dashboard processes as they start
_METRIC_PORT_VARIABLES = ("AUTOSCALER_METRIC_PORT", "DASHBOARD_METRIC_PORT")


def free_port() -> int:
    """A TCP port free on this host now (the system's choice)."""
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def private_temp_dir() -> str:
    """A new folder for one Ray session: under the system's temporary folder when its path is short."""
    root = tempfile.gettempdir()
    if len(root) > _MAX_TEMP_ROOT:
        root = "/tmp"
    return tempfile.mkdtemp(prefix="facefarm-ray-", dir=root)


@dataclass
class LocalRay:
    """A running private head node (this process is its driver) and its temporary folder."""

    node: Any  # ray._private.node.Node
    temp_dir: str

    @property
    def address(self) -> str:
        """The GCS address (``host:port``) another driver joins."""
        return self.node.address

    @property
    def dashboard_url(self) -> str | None:
        """``http://127.0.0.1:PORT`` when started with the dashboard (the job API), else None."""
        url = self.node.webui_url
        return f"http://{url}" if url else None

    def stop(self) -> None:
        """Disconnect, end the node's processes and delete its folder."""
        import ray

        ray.shutdown()
        try:
            self.node.kill_all_processes(check_alive=False, allow_graceful=True)
        finally:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def start(num_cpus: int, dashboard: bool = False, **init_args) -> LocalRay:
    """Start a private head node with ``num_cpus`` CPUs and join it (``init_args`` go to ``ray.init``).

    ``dashboard``: also serve the dashboard and its job API, on 127.0.0.1 only.
    """
    import ray
    from ray._private.node import Node
    from ray._private.parameter import RayParams

    temp = private_temp_dir()
    saved = {k: os.environ.get(k) for k in _METRIC_PORT_VARIABLES}
    os.environ.update({k: str(free_port()) for k in _METRIC_PORT_VARIABLES})
    node = None
    try:
        params = RayParams(
            num_cpus=num_cpus,
            include_dashboard=dashboard,
            dashboard_host="127.0.0.1",
            # also without the dashboard: some of its processes start anyway (Ray annotates the port as a bool)
            dashboard_port=free_port(),  # type: ignore[arg-type]
            dashboard_agent_listen_port=0,  # 0: the agent binds a port the system picks
            min_worker_port=0,
            max_worker_port=0,
            temp_dir=temp,
        )
        node = Node(params, head=True, shutdown_at_exit=True, spawn_reaper=True)
        ray.init(address=node.address, **init_args)
    except BaseException:
        if node is not None:
            node.kill_all_processes(check_alive=False, allow_graceful=False)
        shutil.rmtree(temp, ignore_errors=True)
        raise
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return LocalRay(node, temp)
