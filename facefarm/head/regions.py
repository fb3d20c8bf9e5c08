"""Segmentation classes for the head mesh from the committed rules in ``facefarm/assets/head/regions.json``.

Rules are data, applied in order, each relabelling the faces it selects; a later rule wins.
A rule selects by conditions that all must hold (see ``regions.json`` for the vocabulary):

* ``parts``: the face belongs to one of these named parts;
* ``over``: the face's current class is one of these;
* ``uv_mask``: a CC0 MakeHuman mask texture sampled at the face's UV centroid, ``min``/``max``;
* ``target``: a morph target's offset length at the face, as a fraction of its maximum;
* ``plane``: the face centroid lies on the negative side of a plane (base mesh, decimetres);
* ``front_polygon``: the face centroid's (x, y) lies in a polygon drawn on the subject's
  left (+x); for the right side the polygon is mirrored (x -> -x);
* ``min_normal_z``: the face faces forward at least this much.

``"sided": true`` makes ``"class": "EAR"`` mean ``LEFT_EAR`` for x > 0 and ``RIGHT_EAR`` otherwise.
A ``split`` rule divides one class into two by connectivity (upper and lower lip).
Everything is evaluated on the HM08 base mesh before any target, so labels are per face and
follow the mesh through every identity and expression.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import numpy as np

from facefarm.scene.classes import CLASS_IDS


def _side_class(name: str, x: np.ndarray) -> np.ndarray:
    left, right = CLASS_IDS[f"LEFT_{name}"], CLASS_IDS[f"RIGHT_{name}"]
    return np.where(x > 0, left, right).astype(np.uint8)


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(n,) bool: which (n, 2) points lie inside the closed (k, 2) polygon (even-odd rule)."""
    x, y = points[:, 0:1], points[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return ((crosses & (x < x_at)).sum(axis=1) % 2) == 1


def face_normals(vertices: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """(f, 3) unit normals of quads (triangles repeat their last index), from the diagonals."""
    v = vertices
    n = np.cross(v[quads[:, 2]] - v[quads[:, 0]], v[quads[:, 3]] - v[quads[:, 1]])
    tri = quads[:, 2] == quads[:, 3]
    n[tri] = np.cross(v[quads[tri, 1]] - v[quads[tri, 0]], v[quads[tri, 2]] - v[quads[tri, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def label_faces(
    rules: list[dict],
    *,
    vertices: np.ndarray,
    quads: np.ndarray,
    part: np.ndarray,
    part_names: tuple[str, ...],
    uv_centroid: np.ndarray,
    mask: Callable[[str], Callable[[np.ndarray], np.ndarray]],
    target_length: Callable[[str], np.ndarray],
) -> np.ndarray:
    """Apply ``rules`` in order; returns (f,) uint8 class ids (0 where no rule matched).

    vertices : (n, 3) base mesh, decimetres · quads : (f, 4) vertex ids · part : (f,) index into
    ``part_names`` · uv_centroid : (f, 2) · ``mask(texture)`` returns a sampler uv -> 0..1 ·
    ``target_length(name)`` returns (n,) offset lengths of that target.
    """
    centroid = vertices[quads].mean(axis=1)
    normal = face_normals(vertices, quads)
    cls = np.zeros(len(quads), np.uint8)
    for rule in rules:
        if "split" in rule:
            _split(rule, cls, quads, centroid)
            continue
        sel = np.ones(len(quads), bool)
        if "parts" in rule:
            sel &= np.isin(part, [part_names.index(p) for p in rule["parts"]])
        if "over" in rule:
            sel &= np.isin(cls, [CLASS_IDS[c] for c in rule["over"]])
        if "uv_mask" in rule:
            m = rule["uv_mask"]
            value = mask(m["texture"])(uv_centroid)
            sel &= (value >= m.get("min", -np.inf)) & (value <= m.get("max", np.inf))
        if "target" in rule:
            t = rule["target"]
            length = target_length(t["name"])
            frac = length[quads].mean(axis=1) / max(length.max(), 1e-12)
            sel &= frac >= t["min_fraction"]
        if "plane" in rule:
            p = rule["plane"]
            sel &= (centroid - np.asarray(p["point"])) @ np.asarray(p["normal"]) < 0
        if "min_normal_z" in rule:
            sel &= normal[:, 2] >= rule["min_normal_z"]
        if "front_polygon" in rule:
            xy = np.c_[np.abs(centroid[:, 0]), centroid[:, 1]]  # right side mirrors onto the left
            sel &= inside_polygon(xy, np.asarray(rule["front_polygon"], float))
        if rule.get("sided"):
            cls[sel] = _side_class(rule["class"], centroid[:, 0])[sel]
        else:
            cls[sel] = CLASS_IDS[rule["class"]]
    return cls


def mirror_labels(cls: np.ndarray, quads: np.ndarray, mirror: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Copy each subject's-left face's class onto its mirror face, LEFT/RIGHT swapped.

    cls : (f,) class ids · quads : (f, 4) vertex ids · mirror : vertex -> mirror vertex ·
    x : (f,) face centroid x. Texture masks and target supports are not exactly symmetric
    on HM08, but the labels should be; faces without a mirror face keep their class.
    """
    swap = np.arange(256, dtype=np.uint8)
    for name in ("EYE", "BROW", "EAR"):
        left, right = CLASS_IDS[f"LEFT_{name}"], CLASS_IDS[f"RIGHT_{name}"]
        swap[left], swap[right] = right, left
    key = {tuple(sorted(set(q.tolist()))): f for f, q in enumerate(quads)}
    out = cls.copy()
    for f, q in enumerate(quads):
        if x[f] >= 0:
            continue
        partner = key.get(tuple(sorted(set(mirror[q].tolist()))))
        if partner is not None and x[partner] > 0:
            out[f] = swap[cls[partner]]
    return out


def _split(rule: dict, cls: np.ndarray, quads: np.ndarray, centroid: np.ndarray) -> None:
    """Divide the faces of class ``rule["split"]`` between ``rule["into"]`` = [upper, lower].

    Multi-source breadth-first search over faces sharing an edge, seeded at the highest and
    the lowest face of each connected patch; each face takes the seed that reaches it first
    (ties go to the nearer seed in height). Lips meet only at the mouth corners, so the search
    fronts meet there.
    """
    src = CLASS_IDS[rule["split"]]
    upper, lower = (CLASS_IDS[c] for c in rule["into"])
    faces = np.flatnonzero(cls == src)
    if len(faces) == 0:
        return
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for i, f in enumerate(faces):
        q = quads[f]
        corners = [q[0], q[1], q[2]] if q[2] == q[3] else list(q)
        for a, b in zip(corners, corners[1:] + corners[:1]):
            edge_faces.setdefault((min(a, b), max(a, b)), []).append(i)
    nbrs: list[list[int]] = [[] for _ in faces]
    for fs in edge_faces.values():
        for a in fs:
            nbrs[a].extend(b for b in fs if b != a)
    y = centroid[faces, 1]
    x = centroid[faces, 0]
    # one seed pair per side of the midline keeps the search symmetric
    owner = np.full(len(faces), -1)
    dist = np.full(len(faces), np.iinfo(np.int64).max)
    queue: deque[int] = deque()
    for side in (x <= 0, x > 0):
        idx = np.flatnonzero(side)
        if len(idx) == 0:
            continue
        for seed, label in ((idx[np.argmax(y[idx])], 0), (idx[np.argmin(y[idx])], 1)):
            owner[seed], dist[seed] = label, 0
            queue.append(seed)
    while queue:
        a = queue.popleft()
        for b in nbrs[a]:
            if dist[b] > dist[a] + 1:
                dist[b], owner[b] = dist[a] + 1, owner[a]
                queue.append(b)
    cls[faces] = np.where(owner == 1, lower, upper).astype(np.uint8)
