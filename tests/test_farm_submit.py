"""`facefarm submit` / `facefarm status` against a real local Ray head with its dashboard (job API)."""

from __future__ import annotations

import json

import pytest
from test_farm_support import check_committed, ray_cluster, write_spec  # noqa: F401 - fixture

from facefarm.cli import main as cli

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("head_asset")]


def test_submit_then_status_until_done(ray_cluster, tmp_path, capsys):  # noqa: F811
    if not ray_cluster["dashboard"]:
        pytest.skip("the Ray dashboard did not start on this machine")
    spec = write_spec(tmp_path / "tiny.json")
    out = tmp_path / "out"
    dash = ray_cluster["dashboard"]
    assert cli.main(["submit", str(spec), "-o", str(out), "-n", "2", "--address", dash, "--workers", "1"]) == 0
    job_id = capsys.readouterr().out.strip().splitlines()[-1]
    assert job_id.startswith("raysubmit_")

    assert cli.main(["status", job_id, "--address", dash, "--wait", "--timeout", "300"]) == 0, (
        cli.main(["status", job_id, "--address", dash, "--logs"]) or capsys.readouterr().out
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith(f"{job_id}: SUCCEEDED - 2/2 samples complete in {out}")
    check_committed(out, 2)
    job = json.loads((out / "job.json").read_text())
    assert job["n"] == 2 and job["catalog"]["render"]["resolution"] == [64, 64]

    assert cli.main(["status", job_id, "--address", dash]) == 0
    assert capsys.readouterr().out.startswith(f"{job_id}: SUCCEEDED - 2/2")


def test_status_of_unknown_job_and_unreachable_cluster_are_clear_errors(ray_cluster, capsys):  # noqa: F811
    if not ray_cluster["dashboard"]:
        pytest.skip("the Ray dashboard did not start on this machine")
    assert cli.main(["status", "raysubmit_nope", "--address", ray_cluster["dashboard"]]) == 1
    assert "raysubmit_nope" in capsys.readouterr().err
    assert cli.main(["status", "raysubmit_nope", "--address", "http://127.0.0.1:9"]) == 1
    assert "cannot get job" in capsys.readouterr().err


def test_status_shows_why_a_job_failed(ray_cluster, tmp_path, capsys):  # noqa: F811
    """Not only the exit code: the last lines of the job's log, where the cause is."""
    if not ray_cluster["dashboard"]:
        pytest.skip("the Ray dashboard did not start on this machine")
    spec = write_spec(tmp_path / "tiny.json")
    dash = ray_cluster["dashboard"]

    def failed(output: str, *extra: str) -> str:
        """Submit, follow with `status --wait` (exit 1), and return what `status` then prints."""
        assert cli.main(["submit", str(spec), "-o", output, "-n", "1", "--address", dash, *extra]) == 0
        job_id = capsys.readouterr().out.strip().splitlines()[-1]
        assert cli.main(["status", job_id, "--address", dash, "--wait", "--timeout", "300"]) == 1
        followed = capsys.readouterr().out
        assert cli.main(["status", job_id, "--address", dash]) == 0
        shown = capsys.readouterr().out
        assert shown.startswith(f"{job_id}: FAILED") and shown.rstrip() in followed, (shown, followed)
        return shown

    # a cluster without facefarm installed: the shell's own words
    shown = failed(str(tmp_path / "out"), "--facefarm-command", "facefarm-not-installed")
    assert "(Job entrypoint command failed with exit code 127)" in shown
    assert "facefarm-not-installed: not found" in shown.split("\n", 1)[1]

    # facefarm's own error: the output is under a file
    (tmp_path / "a-file").write_text("not a folder\n")
    shown = failed(str(tmp_path / "a-file" / "out"))
    assert "exit code 1)" in shown
    assert f"facefarm render: error: cannot write to {tmp_path / 'a-file' / 'out'}" in shown
