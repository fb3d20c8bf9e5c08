"""The private local Ray's session folder after a render killed with ``kill -9``: the next start
removes it, and nothing else.

A real private Ray is started in a child process that is then SIGKILLed (its session folder stays,
Ray's reaper ends the node's processes); a second child's start removes that folder and keeps a
live session's. The selection rules run on planted folders: no owner file, a live owner, a folder
a running process still names, a symlink.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_farm_support import cli_env

from facefarm.farm import local_ray

pytestmark = pytest.mark.slow

CHILD = """
import sys, time
from facefarm.farm import local_ray
ray = local_ray.start(1, logging_level="ERROR", log_to_driver=False)
print(ray.temp_dir, flush=True)
if sys.argv[1] == "stop":
    ray.stop()
else:
    time.sleep(600)
"""


@pytest.fixture
def short_tmp():
    """A temporary root short enough for Ray's socket paths, so the children's folders go there."""
    root = tempfile.mkdtemp(prefix="ffsw", dir="/tmp")
    yield root
    import shutil

    shutil.rmtree(root, ignore_errors=True)


def _child(root: str, mode: str) -> tuple[subprocess.Popen, str]:
    env = dict(cli_env(), TMPDIR=root, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode], env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith(root), line
    return proc, line


def _wait_unnamed(path: str, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while local_ray._named_by_a_process(path):
        assert time.monotonic() - t0 < timeout, f"Ray's processes still name {path}"
        time.sleep(0.5)


def test_a_killed_renders_folder_goes_at_the_next_start_and_a_live_one_stays(short_tmp):
    killed, stale = _child(short_tmp, "sleep")
    live, alive = _child(short_tmp, "sleep")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert Path(stale).is_dir()  # nobody removed it
        _wait_unnamed(stale)
        nxt, fresh = _child(short_tmp, "stop")
        assert nxt.wait(120) == 0
        assert not Path(stale).exists()
        assert Path(alive).is_dir() and (Path(alive) / local_ray.OWNER_FILE).is_file()
        assert not Path(fresh).exists()  # its own folder went when it stopped
    finally:
        live.send_signal(signal.SIGTERM)
        live.wait(60)


def _plant(root: str, name: str, owner: dict | None) -> Path:
    d = Path(root) / f"{local_ray.TEMP_PREFIX}{name}"
    d.mkdir()
    (d / "session_latest").write_text("x")
    if owner is not None:
        (d / local_ray.OWNER_FILE).write_text(json.dumps(owner))
    return d


def test_only_folders_that_provably_belong_to_a_dead_render_are_removed(short_tmp):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(done.stdout)
    me = {"pid": os.getpid(), "started": local_ray._process_start(os.getpid())}
    stale = _plant(short_tmp, "stale", {"pid": dead_pid, "started": "1"})
    reused = _plant(short_tmp, "reused", {"pid": os.getpid(), "started": "1"})  # the pid now names another process
    mine = _plant(short_tmp, "live", me)
    foreign = _plant(short_tmp, "foreign", None)  # a user's folder of the same name: no owner file
    garbled = _plant(short_tmp, "garbled", None)
    (garbled / local_ray.OWNER_FILE).write_text("{not json")
    named = _plant(short_tmp, "named", {"pid": dead_pid, "started": "1"})
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(named)])
    target = _plant(short_tmp, "target", {"pid": dead_pid, "started": "1"})
    link = Path(short_tmp) / f"{local_ray.TEMP_PREFIX}link"
    link.symlink_to(target.parent / "elsewhere")
    try:
        time.sleep(0.5)
        removed = set(local_ray.sweep_stale_temp_dirs(short_tmp))
        assert removed == {str(stale), str(reused), str(target)}
        for kept in (mine, foreign, garbled, named):
            assert (kept / "session_latest").is_file(), kept
        assert link.is_symlink()
    finally:
        holder.kill()
        holder.wait()
