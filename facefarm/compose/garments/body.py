"""The body a garment is fitted to: the head asset's skin topology (measured once per asset) and one identity's measurements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facefarm.geometry.surface import SurfaceDistance
from facefarm.geometry.triangles import vertex_normals
from facefarm.scene.classes import CLASS_IDS

#: Adult eyeball-centre distance of the head model; garment sizes scale with it.
_MODEL_ADULT_IPD_M = 0.058


# ---------------------------------------------------------------------------------- the body
@dataclass(frozen=True)
class HeadTopology:
    """What the garments need from a head asset that no identity or expression changes."""

    skin_faces: np.ndarray  # (F, 3) int64 skin-part faces
    outer: np.ndarray  # (F,) bool: skin faces on the outside (not the mouth interior)
    skin_ids: np.ndarray  # (S,) vertex ids used by skin faces
    boundary: np.ndarray  # (B,) skin vertex ids on the open crop boundary
    boundary_edges: np.ndarray  # (E, 2) the crop boundary's edges
    neck: np.ndarray  # (V,) bool vertex masks by class
    ears: np.ndarray
    brows: np.ndarray
    skin: np.ndarray


_TOPOLOGY: dict[object, HeadTopology] = {}


def head_topology(head) -> HeadTopology:
    """The :class:`HeadTopology` of ``head``, measured once per head asset."""
    key = getattr(head, "path", None) or id(head)
    if key not in _TOPOLOGY:
        skin_part = list(head.part_names).index("skin")
        faces = np.asarray(head.faces[head.face_part == skin_part], np.int64)
        cls = np.asarray(head.vertex_class)
        inner = head.face_class[head.face_part == skin_part] == CLASS_IDS["MOUTH_INTERIOR"]
        _TOPOLOGY[key] = HeadTopology(
            skin_faces=faces,
            outer=~inner,
            skin_ids=np.unique(faces),
            boundary=_boundary_vertices(faces),
            boundary_edges=open_edges(faces),
            neck=cls == CLASS_IDS["NECK"],
            ears=np.isin(cls, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]]),
            brows=np.isin(cls, [CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]]),
            skin=cls == CLASS_IDS["SKIN"],
        )
    return _TOPOLOGY[key]


@dataclass(frozen=True)
class Body:
    """What the garments are fitted to, measured on one head's vertices (head frame, metres).

    ``neck_z``: z of the vertical neck axis (x = 0); ``neck_r``: neck half-width;
    ``nape_y``: top of the neck class at the back (does not move with expressions);
    ``head_z``: z of the vertical head axis for headwear; ``s``: size relative to an adult.
    """

    v: np.ndarray  # (V, 3) float64 all head vertices
    skin_faces: np.ndarray  # (F, 3) skin-part faces
    outer_faces: np.ndarray  # (G, 3) skin faces on the outside (no mouth interior): what garments cover
    skin_ids: np.ndarray  # (S,) vertex ids used by skin faces
    normals: np.ndarray  # (V, 3) skin vertex normals
    surface: SurfaceDistance  # signed distance to the outer skin
    vertex_class: np.ndarray  # (V,)
    boundary: np.ndarray  # (B,) skin vertex ids on the open crop boundary
    crop_edges: np.ndarray  # (E, 2) skin vertex ids of the crop boundary's edges
    neck_z: float
    neck_r: float
    nape_y: float
    bottom_y: float  # lowest skin point
    brow_y: float  # top of the brows
    ear_top_y: float
    ear_bottom_y: float
    head_z: float
    head_top_y: float
    skull_half_width: float  # widest skin point (not ears) at the height of the ear tops
    s: float
    landmarks: np.ndarray  # (70, 3) the head's landmark points on these vertices

    @staticmethod
    def measure(head, vertices: np.ndarray) -> "Body":
        v = np.asarray(vertices, np.float64)
        topo = head_topology(head)
        faces, ids, cls = topo.skin_faces, topo.skin_ids, np.asarray(head.vertex_class)
        centres = head.eye_centres(v)
        s = float(np.linalg.norm(centres[1] - centres[0]) / _MODEL_ADULT_IPD_M)
        neck = v[topo.neck]
        back = neck[neck[:, 2] < np.median(neck[:, 2])]
        nape = float(back[:, 1].max())
        slab = neck[np.abs(neck[:, 1] - (nape - 0.02 * s)) < 0.006 * s]
        neck_r = float(np.abs(slab[:, 0]).max())
        neck_z = float(0.5 * (slab[:, 2].min() + slab[:, 2].max()))
        ears = v[topo.ears]
        brows = v[topo.brows]
        sk = v[ids]
        top = sk[sk[:, 1] > sk[:, 1].max() - 0.03 * s]
        ear_top = float(ears[:, 1].max())
        skull = v[topo.skin & (np.abs(v[:, 1] - ear_top) < 0.01 * s)]
        outer = faces[topo.outer]
        return Body(
            v=v,
            skin_faces=faces,
            outer_faces=outer,
            skin_ids=ids,
            normals=vertex_normals(v, faces),
            surface=SurfaceDistance(v, outer),
            vertex_class=cls,
            boundary=topo.boundary,
            crop_edges=topo.boundary_edges,
            neck_z=neck_z,
            neck_r=neck_r,
            nape_y=nape,
            bottom_y=float(sk[:, 1].min()),
            brow_y=float(brows[:, 1].max()),
            ear_top_y=float(ears[:, 1].max()),
            ear_bottom_y=float(ears[:, 1].min()),
            head_z=float(top[:, 2].mean()),
            head_top_y=float(sk[:, 1].max()),
            skull_half_width=float(np.abs(skull[:, 0]).max()),
            s=s,
            landmarks=np.asarray(head.landmark_points(v), np.float64),
        )

    def neck_polar(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(azimuth about the neck axis, 0 = front, + towards the subject's left; radius)."""
        dz = p[:, 2] - self.neck_z
        return np.arctan2(p[:, 0], dz), np.hypot(p[:, 0], dz)

    def head_azimuth(self, p: np.ndarray) -> np.ndarray:
        return np.arctan2(p[:, 0], p[:, 2] - self.head_z)

    def crop_height(self, phi: np.ndarray) -> np.ndarray:
        """(n,) height of the skin's crop edge at neck azimuths ``phi`` (highest edge point)."""
        bphi, _ = self.neck_polar(self.v[self.boundary])
        by = self.v[self.boundary, 1]
        bins = np.linspace(-np.pi, np.pi, 49)
        k = np.clip(np.digitize(bphi, bins) - 1, 0, 47)
        top = np.full(48, np.nan)
        np.fmax.at(top, k, by)
        centres = 0.5 * (bins[:-1] + bins[1:])
        ok = ~np.isnan(top)
        xs = np.concatenate([centres[ok] - 2 * np.pi, centres[ok], centres[ok] + 2 * np.pi])
        ys = np.tile(top[ok], 3)
        return np.interp(phi, xs, ys)


def _boundary_vertices(faces: np.ndarray) -> np.ndarray:
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(e, axis=0, return_counts=True)
    return np.unique(uniq[count == 1])


def open_edges(f: np.ndarray) -> np.ndarray:
    """(k, 2) directed boundary edges (in the winding of their face)."""
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, count = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return e[count[inv.ravel()] == 1]


def boundary_loop(f: np.ndarray, select: np.ndarray | None = None) -> list[np.ndarray]:
    """Ordered vertex loops of the boundary of (.., 3) faces, optionally only edges whose
    two vertices are in ``select`` (bool per vertex). Longest first."""
    e = open_edges(f)
    if select is not None:
        e = e[select[e].all(axis=1)]
    nxt = {int(a): int(b) for a, b in e}
    loops, seen = [], set()
    for start in list(nxt):
        if start in seen:
            continue
        loop, cur = [], start
        while cur in nxt and cur not in seen:
            seen.add(cur)
            loop.append(cur)
            cur = nxt[cur]
        if len(loop) > 2:
            loops.append(np.asarray(loop))
    return sorted(loops, key=len, reverse=True)
