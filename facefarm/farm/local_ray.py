"""The private local Ray that ``facefarm render`` starts when no cluster is named.

It must neither disturb nor be disturbed by another Ray on the same host (a user's ``ray start
--head``, another render). Ray's fixed defaults (dashboard 8265, dashboard agent 52365, metrics
44217 and 44227, worker ports 10002-19999) are left to that other Ray: every port here is one the
system picks free. Its session lives in its own temporary folder, not ``/tmp/ray`` (whose
``session_latest`` the other Ray's tools read), and the folder is removed when it stops. A render
killed outright (``kill -9``, the OOM killer) cannot remove it, so the next start removes the
folders such renders left: those that carry facefarm's owner file, whose owner process is gone and
that no running process names (:func:`sweep_stale_temp_dirs`).

``ray.init(address="local")`` always takes the agent port 52365, and a Ray started later on the
same host then has no job agent ("No available agent" on ``ray job submit``). So the head node is
started here from Ray's node class, as ``ray.cluster_utils.Cluster`` does (Ray is pinned in
pyproject.toml), and the driver joins it by address. The node's reaper process ends the node if
this process dies without stopping it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
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


#: Prefix of the private session folders, and the file in each that says which process made it.
TEMP_PREFIX, OWNER_FILE = "facefarm-ray-", ".facefarm-owner.json"


def temp_root() -> str:
    """Where the private session folders go: the system's temporary folder when its path is short."""
    root = tempfile.gettempdir()
    return "/tmp" if len(root) > _MAX_TEMP_ROOT else root


def private_temp_dir() -> str:
    """A new folder for one Ray session (0700), with an owner file naming this process."""
    path = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=temp_root())
    owner = {"pid": os.getpid(), "started": _process_start(os.getpid())}
    Path(path, OWNER_FILE).write_text(json.dumps(owner))
    return path


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None if there is none:
    with the pid it names one process, even after the pid is reused."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat_line.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def _named_by_a_process(path: str) -> bool:
    """Whether a running process has ``path`` in its command line (Ray's raylet, GCS and workers
    name their session folder there until the reaper ends them)."""
    needle = path.encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if needle in Path(entry.path, "cmdline").read_bytes():
                return True
        except OSError:
            continue  # it ended, or is not ours to read
    return False


def sweep_stale_temp_dirs(root: str | None = None) -> list[str]:
    """Remove the session folders in ``root`` (default :func:`temp_root`) that killed renders left;
    returns them. Only a real folder of this user named ``facefarm-ray-*`` holding a readable
    owner file is facefarm's; it is stale when the process it names is gone (the pid is free, or
    now a process that started at another time) and no running process names the folder. Anything
    else is left alone. Needs /proc (Linux); elsewhere nothing is removed."""
    if not os.path.isdir("/proc/self"):
        return []
    removed = []
    base = root or temp_root()
    try:
        entries = [e for e in os.scandir(base) if e.name.startswith(TEMP_PREFIX)]
    except OSError:
        return []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                continue
            owner = json.loads(Path(entry.path, OWNER_FILE).read_text())
            pid, started = int(owner["pid"]), owner["started"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a folder facefarm made (or not readable): not ours to delete
        if started is None or _process_start(pid) == started or _named_by_a_process(entry.path):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


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

    sweep_stale_temp_dirs()
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
