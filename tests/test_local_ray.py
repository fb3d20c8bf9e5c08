"""facefarm's private local Ray beside another Ray on the same host (a user's `ray start --head` on
Ray's default ports): neither breaks the other, and the private one keeps to its own folder."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_farm_support import VENV_BIN, check_committed, cli_env, manifest, stop_ray_start, write_spec
from test_render_cli import final_counts

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("head_asset")]
#: what `ray start --head` takes by default: GCS, dashboard, dashboard agent (the job API), client server
DEFAULT_PORTS = (6379, 8265, 52365, 10001)


def _busy(port: int) -> bool:
    """Whether something listens on ``port`` (connections still closing do not count, as for Ray's servers)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("", port))
        except OSError:
            return True
    return False


def short_temp_dir(prefix: str) -> str:
    """A folder with a short path (Ray keeps Unix sockets under it: their paths must stay under 108 bytes)."""
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


@contextmanager
def other_ray(log: Path):
    """A `ray start --head --block` on the default ports (1 CPU, its own temp folder); yields its
    dashboard URL and stops it (SIGTERM: the blocking command ends every process it started)."""
    temp = short_temp_dir("ff-other-")
    env = dict(cli_env(), RAY_AUTH_MODE="disabled")  # the job client below carries no token
    cmd = [f"{VENV_BIN}/ray", "start", "--head", "--block", "--num-cpus=1", "--disable-usage-stats"]
    with open(log, "wb") as f:
        proc = subprocess.Popen([*cmd, f"--temp-dir={temp}"], env=env, stdout=f, stderr=f, start_new_session=True)
    try:
        yield "http://127.0.0.1:8265"
    finally:
        stop_ray_start(proc, temp)


def run_a_job(dashboard: str, timeout: float = 90.0) -> str:
    """Submit `echo ok` to the Ray at ``dashboard`` and wait for it; returns its final state, or the
    last error if the job API never answered (a Ray without its job agent says "No available agent")."""
    from ray.job_submission import JobSubmissionClient

    deadline, error = time.monotonic() + timeout, "no answer"
    job = None
    while time.monotonic() < deadline:
        try:
            client = JobSubmissionClient(dashboard)
            job = job or client.submit_job(entrypoint="echo ok")
            state = str(client.get_job_status(job).value)
            if state in ("SUCCEEDED", "FAILED", "STOPPED"):
                return state
        except Exception as e:  # noqa: BLE001 - not up yet, or no agent
            error = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        time.sleep(1.0)
    return f"no result in {timeout:g} s: {error}"


def test_a_local_render_and_another_ray_on_the_default_ports_leave_each_other_alone(tmp_path):
    busy = [p for p in DEFAULT_PORTS if _busy(p)]
    if busy:
        pytest.skip(f"Ray's default ports {busy} are in use on this host: the second Ray cannot take them")
    spec = write_spec(tmp_path / "tiny.json")
    a, b = tmp_path / "a", tmp_path / "b"
    temp = short_temp_dir("ff-tmp-")  # the first render's TMPDIR: where its private Ray must live
    render = [sys.executable, "-m", "facefarm", "render", str(spec), "--quiet", "--workers", "1", "--no-exports"]
    first = subprocess.Popen(  # more samples than it will have time for: stopped below
        [*render, "-o", str(a), "-n", "500"],
        env=dict(cli_env(), TMPDIR=temp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (a / "samples").is_dir() or not any((a / "samples").glob("*.json")):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first render committed nothing in 300 s"
            time.sleep(0.2)
        # its Ray is up, in a folder of its own (under TMPDIR), not Ray's shared /tmp/ray
        assert len(list(Path(temp).glob("facefarm-ray-*/session_2*"))) == 1

        with other_ray(tmp_path / "other-ray.log") as dashboard:
            # the other Ray got its default ports, the job agent's included, while facefarm's Ray runs
            state = run_a_job(dashboard)
            assert state == "SUCCEEDED", state + "\n" + (tmp_path / "other-ray.log").read_text()[-2000:]
            # and a render started beside the other Ray starts its own and finishes
            p = subprocess.run([*render, "-o", str(b), "-n", "1"], env=cli_env(), capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            assert final_counts(p)[:3] == (1, 0, 0)
        assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
        leftovers = list(Path(temp).glob("facefarm-ray-*"))
        shutil.rmtree(temp, ignore_errors=True)
    assert first.returncode == 143, err  # stopped cleanly: whole samples, a manifest of them
    assert out.strip().splitlines()[-1].startswith("interrupted: ")
    ids = [x["sample_id"] for x in manifest(a)]  # every committed sample, once
    assert ids and ids == sorted(p.stem for p in (a / "samples").glob("*.json"))
    check_committed(b, 1)
    assert not leftovers  # the private Ray's folder went with it
