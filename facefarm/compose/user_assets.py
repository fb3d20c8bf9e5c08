"""Bring-your-own assets: meshes an artist drops into a folder, each with a JSON sidecar.

The folder is ``facefarm/assets/user/`` unless ``FACEFARM_USER_ASSETS`` names another. Every
``*.json`` in it (not recursive) is a sidecar that names a mesh file beside it (OBJ, glTF,
GLB - anything ``trimesh`` loads) and says what the mesh is and how to fit it::

    {"schema_version": 1, "id": "headband_cc0", "kind": "headwear", "class": "HEADWEAR",
     "mesh": "headband.obj", "units": "cm", "up_axis": "y",
     "fit": {"rule": "forehead+ears",
             "anchors": {"forehead": [0, 1, 10.3], "ear_left": [8.3, -0.8, -0.6], "ear_right": [-8.3, -0.8, -0.6]}},
     "tags": ["headband"], "license": "CC0-1.0", "author": "...", "source": "..."}

Kinds and their segmentation class: glasses -> GLASSES, headwear -> HEADWEAR, clothing ->
CLOTHING. (Hair cards are not a user asset kind: nothing would build them into strands that the
hair, brow and label code understand; a sidecar that asks for one is refused with that reason.) A fit rule names anchor points (in the mesh's own units and
axes) that are mapped onto the same points of each head by a similarity transform; then the
item is moved clear of the skin (glasses forward, everything else scaled out about its
anchors). Anchor meanings on the head (head frame: metres, +y up, +z out of the face):

* ``nose_bridge``: the front of the nose between the eyes;
* ``ear_left`` / ``ear_right``: 4 mm above the top of each ear (where a temple or a band rests);
* ``forehead``: the front of the forehead 2 cm (x size) above the brows;
* ``crown``: the top of the head;
* ``neck_front`` / ``neck_left`` / ``neck_right``: the base of the neck, front and sides.

:func:`validate_folder` checks every sidecar (schema, mesh loads, plausible size, licence,
anchors) and explains each problem; ``facefarm assets validate [DIR]`` prints that.
Valid assets become catalog choices through :func:`known_asset_ids`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from facefarm.catalog.colors import srgb_to_linear_rgb
from facefarm.catalog.vocabulary import CLOTHING_IDS, DEFAULT_KNOWN_ASSETS, HEADWEAR_IDS
from facefarm.compose.garments.body import Body
from facefarm.compose.glasses import HeadClearance, families
from facefarm.paths import ASSETS
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import Material, Mesh

USER_ASSETS_ENV = "FACEFARM_USER_ASSETS"
DEFAULT_FOLDER = ASSETS / "user"

Kind = Literal["glasses", "headwear", "clothing"]
#: asset kind -> the catalog's asset kind (``validate_asset_ids``) and segmentation class
CATALOG_KIND = {"glasses": "glasses", "headwear": "headwear", "clothing": "clothing"}
KIND_CLASS = {"glasses": "GLASSES", "headwear": "HEADWEAR", "clothing": "CLOTHING"}
_MATERIAL_KIND = {"glasses": "glasses_frame", "headwear": "headwear", "clothing": "cloth"}
#: fit rule -> the anchors it needs
FIT_RULES = {
    "nose_bridge+ears": ("nose_bridge", "ear_left", "ear_right"),
    "forehead+ears": ("forehead", "ear_left", "ear_right"),
    "crown+ears": ("crown", "ear_left", "ear_right"),
    "neck": ("neck_front", "neck_left", "neck_right"),
}
_RULES_FOR_KIND = {"glasses": {"nose_bridge+ears"}, "headwear": {"forehead+ears", "crown+ears"}, "clothing": {"neck"}}
#: plausible largest extent (m) of an adult-sized item of each kind
PLAUSIBLE_SIZE_M = {"glasses": (0.08, 0.30), "headwear": (0.08, 0.60), "clothing": (0.15, 1.20)}
_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_SPDX = {
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-3.0",
    "CC-BY-SA-3.0",
    "MIT",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Unlicense",
    "0BSD",
    "MIT-0",
    "Zlib",
    "OFL-1.1",
}
#: smallest gap kept between a fitted user asset and the skin
CLEARANCE_M = 0.0015


class Fit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    rule: Literal["nose_bridge+ears", "forehead+ears", "crown+ears", "neck"] = Field(
        description="which head points the anchors are mapped onto"
    )
    anchors: dict[str, tuple[float, float, float]] = Field(
        description="anchor name -> point in the mesh's own units and axes"
    )


class Sidecar(BaseModel):
    """The JSON sidecar of one user asset (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)

    schema_version: Literal[1] = 1
    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_\-]{1,63}$",
        description="catalog id: lower-case letters, digits, '_' and '-', 2-64 characters",
    )
    kind: Kind
    class_name: str = Field(alias="class", description="segmentation class: GLASSES, HEADWEAR or CLOTHING")
    mesh: str = Field(min_length=1, description="mesh file beside the sidecar (OBJ, glTF, GLB)")
    units: Literal["m", "cm", "mm"] = "m"
    up_axis: Literal["y", "z"] = Field("y", description="the mesh's up axis; z-up meshes are turned to y-up")
    fit: Fit
    tags: list[str] = Field(default_factory=list)
    license: str = Field(min_length=1, description="SPDX id (e.g. CC0-1.0, CC-BY-4.0) or LicenseRef-...")
    author: str = Field(min_length=1)
    source: str = Field("", description="where the mesh came from (URL, or 'own work')")
    description: str = ""
    color_rgb: tuple[float, float, float] | None = Field(None, description="default colour, sRGB 0..1")
    roughness: float = Field(0.6, ge=0.0, le=1.0)
    metallic: float = Field(0.0, ge=0.0, le=1.0)
    conform: bool = Field(
        False,
        description="elastic item (band, knit): after the rigid fit, pull it in "
        "round the head until it nearly touches, keeping its thickness",
    )

    @field_validator("kind", mode="before")
    @classmethod
    def _no_hair_cards(cls, v):
        if v == "hair_card":
            raise ValueError(
                "hair_card assets are not supported: nothing builds hair cards into strands; "
                "use a built-in hair style, or make the item headwear"
            )
        return v

    @field_validator("license")
    @classmethod
    def _known_licence(cls, v: str) -> str:
        if v not in _SPDX and not v.startswith("LicenseRef-"):
            raise ValueError(
                f"licence {v!r} is not an SPDX id we know ({', '.join(sorted(_SPDX))}); "
                "use one of those or 'LicenseRef-<name>' with the licence text beside the asset"
            )
        return v

    @field_validator("color_rgb")
    @classmethod
    def _unit_colour(cls, v):
        if v is not None and not all(0.0 <= c <= 1.0 for c in v):
            raise ValueError("color_rgb channels are sRGB in 0..1")
        return v


@dataclass(frozen=True)
class UserAsset:
    """A validated user asset, its mesh in y-up metres (asset frame) and anchors to match."""

    sidecar: Sidecar
    path: Path  # the sidecar
    vertices: np.ndarray  # (n, 3) float64 metres, y up
    faces: np.ndarray  # (m, 3) int64
    anchors: dict  # name -> (3,) metres, y up


@dataclass
class AssetReport:
    """What validation found for one sidecar: ``errors`` empty means valid."""

    path: Path
    id: str | None = None
    kind: str | None = None
    errors: list[str] = field(default_factory=list)
    asset: UserAsset | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def user_folder() -> Path:
    """The user asset folder: ``$FACEFARM_USER_ASSETS`` or ``facefarm/assets/user``."""
    env = os.environ.get(USER_ASSETS_ENV)
    return Path(env) if env else DEFAULT_FOLDER


def validate_folder(folder: str | Path | None = None) -> list[AssetReport]:
    """Check every ``*.json`` sidecar in ``folder`` (default :func:`user_folder`), sorted by name."""
    folder = Path(folder) if folder is not None else user_folder()
    reports = [_validate(p) for p in sorted(folder.glob("*.json"))]
    builtin = _builtin_ids()
    seen: dict[tuple[str, str], Path] = {}
    for r in reports:
        if r.id is None or r.kind is None:
            continue
        key = (r.kind, r.id)
        if key in seen:
            r.errors.append(f"id {r.id!r} is already used by {seen[key].name}; ids must be unique per kind")
        elif r.id in builtin.get(CATALOG_KIND[r.kind], set()):
            r.errors.append(f"id {r.id!r} is a built-in {r.kind} id; choose another")
        else:
            seen[key] = r.path
    for r in reports:
        if r.errors:
            r.asset = None
    return reports


def _validate(path: Path) -> AssetReport:
    rep = AssetReport(path=path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        rep.errors.append(f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}")
        return rep
    except (OSError, UnicodeDecodeError) as e:
        rep.errors.append(f"cannot read the sidecar: {e}")
        return rep
    if isinstance(raw, dict) and "licence" in raw and "license" not in raw:
        raw = {**raw, "license": raw.pop("licence")}  # British spelling accepted
    try:
        sc = Sidecar.model_validate(raw)
    except ValidationError as e:
        if isinstance(raw, dict):
            rid, kind = raw.get("id"), raw.get("kind")
            rep.id = rid if isinstance(rid, str) else None
            rep.kind = kind if isinstance(kind, str) and kind in KIND_CLASS else None
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = "required field is missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see facefarm.compose.user_assets.Sidecar)"
            rep.errors.append(f"{loc}: {msg}")
        return rep
    rep.id, rep.kind = sc.id, sc.kind
    if sc.class_name != KIND_CLASS[sc.kind]:
        rep.errors.append(f"class: {sc.class_name!r} does not match kind {sc.kind!r}; use {KIND_CLASS[sc.kind]!r}")
    if sc.fit.rule not in _RULES_FOR_KIND[sc.kind]:
        rep.errors.append(
            f"fit.rule: {sc.fit.rule!r} does not fit a {sc.kind}; use one of {sorted(_RULES_FOR_KIND[sc.kind])}"
        )
    missing = [a for a in FIT_RULES[sc.fit.rule] if a not in sc.fit.anchors]
    if missing:
        rep.errors.append(f"fit.anchors: rule {sc.fit.rule!r} needs {', '.join(missing)}")
    mesh_path = path.parent / sc.mesh
    if not mesh_path.resolve().is_relative_to(path.parent.resolve()):
        rep.errors.append(
            f"mesh: {sc.mesh!r} is outside the asset folder (an absolute path, '..' or a link "
            "out of it); put the mesh file beside the sidecar"
        )
        return rep
    if not mesh_path.is_file():
        rep.errors.append(f"mesh: {sc.mesh!r} not found beside the sidecar ({mesh_path})")
        return rep
    try:
        v, f = _load_mesh(mesh_path)
    except Exception as e:  # noqa: BLE001 - any loader failure is the artist's to fix
        rep.errors.append(f"mesh: {sc.mesh!r} does not load as a triangle mesh ({type(e).__name__}: {e})")
        return rep
    to_m = _UNITS[sc.units]
    v = _to_y_up(v * to_m, sc.up_axis)
    extent = float(np.ptp(v, axis=0).max())
    lo, hi = PLAUSIBLE_SIZE_M[sc.kind]
    if not lo <= extent <= hi:
        guess = [u for u, k in _UNITS.items() if lo <= extent / to_m * k <= hi]
        hint = f"; did you mean units {guess[0]!r}?" if guess else ""
        rep.errors.append(
            f"units: the mesh is {extent:.4g} m across in {sc.units!r}, but a {sc.kind} is {lo:g}-{hi:g} m{hint}"
        )
    anchors = {k: _to_y_up(np.asarray(p, float)[None] * to_m, sc.up_axis)[0] for k, p in sc.fit.anchors.items()}
    box_lo, box_hi = v.min(axis=0), v.max(axis=0)
    slack = 0.5 * extent
    for name, p in anchors.items():
        if np.any(p < box_lo - slack) or np.any(p > box_hi + slack):
            rep.errors.append(
                f"fit.anchors.{name}: {list(sc.fit.anchors[name])} lies far outside the mesh "
                f"(bounding box {np.round(box_lo / to_m, 3).tolist()} .. "
                f"{np.round(box_hi / to_m, 3).tolist()} {sc.units})"
            )
    if not rep.errors:
        rep.asset = UserAsset(sidecar=sc, path=path, vertices=v, faces=f, anchors=anchors)
    return rep


def _load_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    mesh: Any = trimesh.load(path, force="mesh", process=False)
    v = np.asarray(mesh.vertices, np.float64)
    f = np.asarray(mesh.faces, np.int64)
    if len(f) == 0 or len(v) < 3:
        raise ValueError("no triangles")
    if not np.isfinite(v).all():
        raise ValueError("non-finite vertex coordinates")
    return v, f


def _to_y_up(p: np.ndarray, up: str) -> np.ndarray:
    if up == "y":
        return p
    return np.column_stack([p[:, 0], p[:, 2], -p[:, 1]])  # z-up (Blender) -> y-up


def _signature(folder: Path) -> tuple:
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()))
    except FileNotFoundError:
        return ()


@lru_cache(maxsize=8)
def _valid_assets(folder: str, signature: tuple) -> dict[tuple[str, str], UserAsset]:
    return {
        (r.asset.sidecar.kind, r.asset.sidecar.id): r.asset
        for r in validate_folder(folder)
        if r.ok and r.asset is not None
    }


def user_assets(folder: str | Path | None = None) -> dict[tuple[str, str], UserAsset]:
    """(kind, id) -> every *valid* asset in the folder (invalid ones are left out; run
    ``facefarm assets validate`` to see why). Cached until a file in the folder changes."""
    folder = Path(folder) if folder is not None else user_folder()
    return _valid_assets(str(folder), _signature(folder))


def _builtin_ids() -> dict[str, set[str]]:
    known = {k: set(v) for k, v in DEFAULT_KNOWN_ASSETS.items()}
    known["glasses"] = set(families())
    known["clothing"] = set(CLOTHING_IDS)
    known["headwear"] = set(HEADWEAR_IDS)
    return known


def known_asset_ids(folder: str | Path | None = None) -> dict[str, set[str]]:
    """Catalog asset kind -> ids the pipeline can build: built-ins plus valid user assets.

    Pass to ``facefarm.catalog.validate_asset_ids``. Kinds: ``glasses``, ``clothing``,
    ``headwear``, ``hair_style``, ``hdri`` (user assets add glasses, clothing and headwear)."""
    known = _builtin_ids()
    for kind, asset_id in user_assets(folder):
        known.setdefault(CATALOG_KIND[kind], set()).add(asset_id)
    return known


# ---------------------------------------------------------------------------------- fitting
def head_anchor_points(head, vertices: np.ndarray) -> dict[str, np.ndarray]:
    """Every anchor of :data:`FIT_RULES` on one head: name -> (3,) head-frame metres."""

    v = np.asarray(vertices, np.float64)
    body = Body.measure(head, v)
    s = body.s
    cls = np.asarray(head.vertex_class)
    out = {}
    nose = v[cls == CLASS_IDS["NOSE"]]
    top = nose[nose[:, 1] > nose[:, 1].max() - 0.004 * s]
    out["nose_bridge"] = np.array([0.0, top[:, 1].mean(), top[:, 2].max()])
    for name, c in (("ear_left", "LEFT_EAR"), ("ear_right", "RIGHT_EAR")):
        e = v[cls == CLASS_IDS[c]]
        y_top = e[:, 1].max()
        near = e[e[:, 1] > y_top - 0.15 * np.ptp(e[:, 1])]
        out[name] = np.array([near[:, 0].mean(), y_top + 0.004, near[:, 2].mean()])
    skin = v[body.skin_ids]
    mid = skin[np.abs(skin[:, 0]) < 0.006 * s]
    y_f = body.brow_y + 0.02 * s
    band = mid[np.abs(mid[:, 1] - y_f) < 0.006 * s]
    out["forehead"] = np.array([0.0, y_f, band[:, 2].max()])
    out["crown"] = skin[np.argmax(skin[:, 1])].copy()
    y_n = body.nape_y - 1.4 * body.neck_r
    ring = skin[np.abs(skin[:, 1] - y_n) < 0.008 * s]
    ring = ring[np.hypot(ring[:, 0], ring[:, 2] - body.neck_z) < 2.0 * body.neck_r]
    front = ring[np.abs(ring[:, 0]) < 0.01 * s]
    out["neck_front"] = np.array([0.0, y_n, front[:, 2].max() if len(front) else body.neck_z + body.neck_r])
    side_x = np.abs(ring[:, 0]).max() if len(ring) else body.neck_r
    out["neck_left"] = np.array([side_x, y_n, body.neck_z])
    out["neck_right"] = np.array([-side_x, y_n, body.neck_z])
    return out


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares (scale, rotation (3,3), translation (3,)) with dst ~ s R src + t (Umeyama 1991)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    r = u @ np.diag(d) @ vt
    var = (a**2).sum() / len(src)
    scale = float((sig * d).sum() / var) if var > 0 else 1.0
    return scale, r, mu_d - scale * r @ mu_s


def fitted_meshes(
    kind: str, asset_id: str, head, vertices: np.ndarray, color_rgb=None, folder: str | Path | None = None
) -> list[Mesh]:
    """The user asset ``asset_id`` of ``kind`` fitted to ``vertices`` ((V, 3) head frame of
    ``head``), as one Mesh of the kind's class. KeyError when no valid asset has that id."""
    assets = user_assets(folder)
    if (kind, asset_id) not in assets:
        known = sorted(i for k, i in assets if k == kind)
        raise KeyError(
            f"no valid user {kind} asset {asset_id!r} in {Path(folder) if folder else user_folder()} "
            f"(valid: {known}); run `facefarm assets validate` to see what is wrong"
        )
    asset = assets[(kind, asset_id)]
    sc = asset.sidecar
    names = FIT_RULES[sc.fit.rule]
    targets = head_anchor_points(head, vertices)
    src = np.stack([asset.anchors[n] for n in names])
    dst = np.stack([targets[n] for n in names])
    scale, rot, trans = similarity(src, dst)
    v = scale * asset.vertices @ rot.T + trans
    if sc.conform and kind != "glasses":
        v = _conform(v, head, vertices, dst.mean(axis=0))
    v = _clear(v, kind, head, vertices, dst.mean(axis=0))
    rgb = color_rgb if color_rgb is not None else (sc.color_rgb or (0.5, 0.5, 0.5))
    mat = Material(
        name=f"user_{asset_id}",
        kind=_MATERIAL_KIND[kind],  # type: ignore[arg-type]
        base_color=srgb_to_linear_rgb(rgb),
        roughness=sc.roughness,
        metallic=sc.metallic,
    )
    return [
        Mesh(
            name=f"user_{kind}_{asset_id}",
            vertices=v.astype(np.float32),
            faces=asset.faces.astype(np.int32),
            face_class=np.full(len(asset.faces), CLASS_IDS[KIND_CLASS[kind]], np.uint8),
            material=mat,
        )
    ]


def _conform(v: np.ndarray, head, vertices: np.ndarray, centre: np.ndarray, bins: int = 48) -> np.ndarray:
    """Pull an elastic item in towards the head's vertical axis, azimuth by azimuth, until
    its closest point at that azimuth is ~2 x CLEARANCE_M off the skin (all vertices at one
    azimuth move together, so the band keeps its cross-section)."""
    from scipy.ndimage import uniform_filter1d

    clear = HeadClearance(head, vertices)
    for _ in range(3):
        d, _n = clear.query(v)
        off = v[:, [0, 2]] - centre[[0, 2]]
        r = np.linalg.norm(off, axis=1)
        phi = np.arctan2(off[:, 0], off[:, 1])
        k = ((phi + np.pi) / (2 * np.pi) * bins).astype(int) % bins
        slack = np.full(bins, np.inf)
        np.minimum.at(slack, k, d - 2 * CLEARANCE_M)
        slack[~np.isfinite(slack)] = 0.0
        slack = np.clip(slack, 0.0, None)
        # never pull a bin in further than its neighbours allow, then smooth round the ring
        slack = np.minimum(slack, np.minimum(np.roll(slack, 1), np.roll(slack, -1)))
        slack = np.minimum(slack, uniform_filter1d(slack, 5, mode="wrap"))
        if slack.max() < 1e-4:
            break
        shrink = np.clip(slack[k] / np.maximum(r, 1e-6), 0.0, 0.5)
        v = v.copy()
        v[:, [0, 2]] = centre[[0, 2]] + off * (1.0 - shrink)[:, None]
    return v


def _clear(v: np.ndarray, kind: str, head, vertices: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Move a rigidly fitted item clear of the head: glasses forward, the rest scaled out."""

    clear = HeadClearance(head, vertices)
    for _ in range(12):
        d, nrm = clear.query(v)
        worst = int(np.argmin(d))
        short = CLEARANCE_M - d[worst]
        if short <= 0:
            break
        if kind == "glasses":
            v = v + [0.0, 0.0, short / max(nrm[worst, 2], 0.25) + 1e-4]
        else:
            # scaling by k about the anchors' centre moves the worst point (k - 1) r along its
            # radius; enough of that must point along the skin normal
            out = v[worst] - centre
            r = max(float(np.linalg.norm(out)), 1e-6)
            along = max(float(nrm[worst] @ out) / r, 0.25)
            v = centre + (v - centre) * (1.0 + (short + 1e-4) / (r * along))
    return v


# ---------------------------------------------------------------------------------- example
def example_headband_obj() -> str:
    """OBJ text of the shipped example asset ``facefarm/assets/user/headband.obj``: a 3 cm wide elastic
    band (cm, y up) sized for an adult head, higher at the front. Deterministic; facefarm's
    own work, CC0."""
    ring, around = 96, 8
    a_x, a_z, centre_z = 8.6, 10.6, -1.6  # ellipse half-axes and centre (cm)
    lines = [
        "# facefarm example user asset: headband (CC0-1.0). Generated by",
        "# facefarm.compose.user_assets.example_headband_obj(); units cm, +y up, +z front.",
    ]
    prof = [(0.0, 1.5), (0.25, 1.45), (0.3, 0.0), (0.25, -1.45), (0.0, -1.5), (-0.2, -1.4), (-0.2, 1.4)]
    assert len(prof) <= around
    verts = []
    for i in range(ring):
        t = 2 * np.pi * i / ring
        x, z = a_x * np.sin(t), centre_z + a_z * np.cos(t)
        y = 1.2 * np.cos(t) - 0.4  # front higher than the back
        nx, nz = np.sin(t) / a_x, np.cos(t) / a_z
        n = np.hypot(nx, nz)
        nx, nz = nx / n, nz / n
        for dn, dy in prof:
            verts.append((x + nx * dn, y + dy, z + nz * dn))
    m = len(prof)
    lines += [f"v {x:.4f} {y:.4f} {z:.4f}" for x, y, z in verts]
    for i in range(ring):
        i1 = (i + 1) % ring
        for j in range(m):
            j1 = (j + 1) % m
            a, b, c, d = i * m + j + 1, i * m + j1 + 1, i1 * m + j1 + 1, i1 * m + j + 1
            lines += [f"f {a} {b} {c}", f"f {a} {c} {d}"]
    return "\n".join(lines) + "\n"


def format_reports(reports: list[AssetReport]) -> str:
    """Human-readable validation result, one block per sidecar."""
    if not reports:
        return "no asset sidecars (*.json) found"
    out = []
    for r in reports:
        name = f"{r.kind or '?'}/{r.id or '?'}"
        if r.ok:
            sc = r.asset.sidecar if r.asset else None
            who = f" - {sc.license}, {sc.author}" if sc else ""
            out.append(f"ok    {name:28s} {r.path.name}{who}")
        else:
            out.append(f"FAIL  {name:28s} {r.path.name}")
            out += [f"      - {e}" for e in r.errors]
    bad = sum(not r.ok for r in reports)
    out.append(f"{len(reports) - bad} valid, {bad} with problems")
    return "\n".join(out)
