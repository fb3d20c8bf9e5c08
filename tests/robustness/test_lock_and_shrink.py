"""One writer per output folder (a lock with host and pid), and no silent shrinking of a dataset."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from robust_support import facefarm, last_line, render_args

from facefarm.farm.lock import LOCK_FILE, Locked, output_lock
from facefarm.sample.store import open_store


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _lock(folder, host: str, pid: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LOCK_FILE).write_text(json.dumps({"host": host, "pid": pid, "started": "2026-01-01T00:00:00+00:00"}))


def test_a_second_writer_is_refused_and_the_lock_released(tmp_path):
    store = open_store(tmp_path / "out")
    with output_lock(store) as path:
        assert json.loads(path.read_text())["host"] == socket.gethostname()
        with pytest.raises(Locked, match=rf"pid \d+ on {socket.gethostname()}.*{LOCK_FILE}"):
            with output_lock(store):
                pass
        assert path.exists()
    assert not path.exists()


def test_a_stale_lock_on_this_host_is_taken_over_but_not_another_hosts(tmp_path):
    out = tmp_path / "out"
    _lock(out, socket.gethostname(), _dead_pid())
    with output_lock(open_store(out)) as path:
        assert json.loads(path.read_text())["pid"] != 0
    _lock(out, "some-other-node", _dead_pid())  # its pids cannot be seen from here
    with pytest.raises(Locked, match="some-other-node"):
        with output_lock(open_store(out)):
            pass


def test_a_reused_pid_or_an_earlier_boot_does_not_keep_a_lock(tmp_path):
    import os

    from facefarm.farm.lock import boot_id, process_start

    if process_start(os.getpid()) is None or boot_id() is None:
        pytest.skip("no /proc here")
    out = tmp_path / "out"
    out.mkdir()
    live = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_start": process_start(os.getpid()),
        "boot_id": boot_id(),
    }
    for stale in ({"pid_start": "1"}, {"boot_id": "an-earlier-boot"}):
        (out / LOCK_FILE).write_text(json.dumps({**live, **stale}))  # our pid, but not our process
        with output_lock(open_store(out)):
            pass
    (out / LOCK_FILE).write_text(json.dumps(live))
    with pytest.raises(Locked):
        with output_lock(open_store(out)):
            pass


@pytest.mark.slow
def test_render_refuses_a_folder_a_live_run_holds(spec, dataset):
    import os

    _lock(dataset, socket.gethostname(), os.getpid())  # this test process: alive
    before = (dataset / "manifest.jsonl").read_bytes()
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and LOCK_FILE in p.stderr and f"pid {os.getpid()}" in p.stderr
    assert (dataset / "manifest.jsonl").read_bytes() == before and (dataset / LOCK_FILE).exists()

    _lock(dataset, socket.gethostname(), _dead_pid())  # that run died: its lock is taken over
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert not (dataset / LOCK_FILE).exists()


@pytest.mark.slow
def test_a_smaller_n_needs_shrink(spec, dataset):
    before = (dataset / "manifest.jsonl").read_bytes()
    args = ["render", spec, "-o", dataset, "-n", 1, "--no-ray", "--quiet", "--no-exports", "--no-datasheet"]
    p = facefarm(*args)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "--shrink" in p.stderr and "-n 2" in p.stderr and "Traceback" not in p.stderr
    assert (dataset / "manifest.jsonl").read_bytes() == before
    assert json.loads((dataset / "job.json").read_text())["n"] == 2

    p = facefarm(*args, "--shrink")
    assert p.returncode == 0 and last_line(p).startswith("0 done, 1 skipped"), p.stdout + p.stderr
    assert len((dataset / "manifest.jsonl").read_text().splitlines()) == 1
    assert json.loads((dataset / "job.json").read_text())["n"] == 1
    assert (dataset / "samples" / "000001.json").exists()  # kept: -n 2 takes it back without rendering
    p = facefarm(*render_args(spec, dataset, "--no-exports", "--no-datasheet"))
    assert p.returncode == 0 and last_line(p).startswith("0 done, 2 skipped"), p.stdout + p.stderr


@pytest.mark.slow
def test_audit_and_export_inside_a_dataset_wait_for_its_writer(dataset, tmp_path):
    import os

    _lock(dataset, socket.gethostname(), os.getpid())
    for cmd in (["audit", dataset, "--no-plots"], ["export", dataset, "-f", "coco"]):
        p = facefarm(*cmd)
        assert p.returncode == 1 and LOCK_FILE in p.stderr and "--dest" in p.stderr, p.stdout + p.stderr
        assert "Traceback" not in p.stderr
    assert facefarm("audit", dataset, "--no-plots", "--dest", tmp_path / "sheet").returncode == 0
    (dataset / LOCK_FILE).unlink()
    assert facefarm("audit", dataset, "--no-plots").returncode == 0
    assert not (dataset / LOCK_FILE).exists()
