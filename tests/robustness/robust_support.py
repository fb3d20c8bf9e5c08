"""Helpers of the robustness tests: the CLI in a subprocess, and one tiny render per session to copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: pyrender at 64 px with the Face Synthetics export: the file handling is under test, not the images
SPEC = {"catalog_version": 1, "render": {"resolution": [64, 64]}, "outputs": {"formats": ["facesynthetics"]}}
N = 2
_BASE: dict = {}


def facefarm(*args, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python -m facefarm ARGS` as a user would run it (headless GL), captured."""
    env = dict(os.environ, PYOPENGL_PLATFORM="egl")
    env.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "facefarm", *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
    )


def render_args(spec: Path, out: Path, *extra) -> list:
    return ["render", spec, "-o", out, "-n", N, "--no-ray", "--quiet", *extra]


def base_render(tmp_path_factory) -> tuple[Path, Path]:
    """(spec, dataset): a finished N-sample render with its export and datasheet, made once per session."""
    if not _BASE:
        base = tmp_path_factory.mktemp("robust_base")
        spec = base / "tiny.json"
        spec.write_text(json.dumps(SPEC))
        out = base / "dataset"
        p = facefarm(*render_args(spec, out))
        assert p.returncode == 0, p.stdout + p.stderr
        _BASE.update(spec=spec, out=out)
    return _BASE["spec"], _BASE["out"]


def copy_of(dataset: Path, dest: Path) -> Path:
    """A private copy (hard links broken, so corrupting one file touches no other copy)."""
    shutil.copytree(dataset, dest, symlinks=True)
    return dest


def last_line(p: subprocess.CompletedProcess) -> str:
    return p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
