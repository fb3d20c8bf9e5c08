"""The scripts in ``examples/`` run as a user runs them: a fresh process, the public API only."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # renders 16 samples and trains
def test_train_landmarks_renders_trains_and_reports_nme(tmp_path):
    pytest.importorskip("torch")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["CUDA_VISIBLE_DEVICES"] = ""  # the script must run without a GPU
    args = ["-n", "16", "--resolution", "64", "--size", "48", "--steps", "24", "--batch-size", "8"]
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "train_landmarks.py"),
            "--out",
            str(tmp_path / "ds"),
            *args,
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["train_samples"] + result["val_samples"] >= 14 and result["steps"] == 24
    assert "training on cpu" in proc.stdout
    # it learned: the loss fell and the NME beats the untrained network's by far
    assert result["last_loss"] < 0.5 * result["first_loss"]
    assert math.isfinite(result["nme"]) and result["nme"] < 0.5 * result["nme_before"]
    assert len(list((tmp_path / "ds" / "samples").glob("*.json"))) == 16
