"""The runtime head: identity shape, expression offsets, parts, classes and landmarks.

Loads the asset compiled by ``facefarm assets build`` (:mod:`head_build`). All positions are
float32 metres in the head frame: HM08 axes (+y up, +z out of the face, +x the subject's
left) with the origin at the midpoint of the two eyeball centres of that identity.

Typical use::

    head = HeadModel.load()
    v = head.shape(IdentityParams(age_years=30.0, details={"nose-hump": 0.3}))
    v = v + head.expression_offsets(v, {"jawOpen": 0.4, "eyeBlinkLeft": 1.0})
    surface = head.surface_for(pixels_per_metre=1800.0)
    fine = surface.vertices(v)             # (V_r, 3) to render with surface.faces
    pts = head.landmark_points(v, surface) # (70, 3), exactly on that surface

Identity and expression live on the coarse MakeHuman mesh (``faces``, ``vertices``); what is
rendered is a :class:`RenderSurface`: that mesh subdivided and cut along smooth class
boundaries (:mod:`head_surface`), a fixed sparse operator of the coarse vertices, so the labels
stay exact on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from facefarm.head import asset as head_asset
from facefarm.head import macro as head_macro
from facefarm.head.eyes import similarity
from facefarm.head.transfer import Neighbourhoods, local_scale, neighbourhoods


def _equal_ancestry() -> Mapping[str, float]:
    return {a: 1.0 / 3.0 for a in head_macro.ANCESTRIES}


@dataclass(frozen=True)
class IdentityParams:
    """Who the head is: MakeHuman's macro sliders plus signed face details.

    ``age_years`` 1..90; ``gender`` 0 female .. 1 male; ``ancestry`` weights of
    ``african``/``asian``/``caucasian`` summing to 1; ``muscle``, ``weight``, ``proportions``
    0..1 (0.5 is MakeHuman's average); ``details`` maps :attr:`HeadModel.identity_names`
    to values in their range (-1..1, or 0..1 for single-sided shapes like ``head-oval``).
    """

    age_years: float = 25.0
    gender: float = 0.5
    ancestry: Mapping[str, float] = field(default_factory=_equal_ancestry)
    muscle: float = 0.5
    weight: float = 0.5
    proportions: float = 0.5
    details: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not head_macro.MIN_AGE_YEARS <= self.age_years <= head_macro.MAX_AGE_YEARS:
            raise ValueError(f"age_years must be within 1..90, got {self.age_years}")
        for name in ("gender", "muscle", "weight", "proportions"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {v}")
        anc = dict(self.ancestry)
        if set(anc) != set(head_macro.ANCESTRIES):
            raise ValueError(f"ancestry needs exactly the keys {list(head_macro.ANCESTRIES)}, got {sorted(anc)}")
        if any(not 0.0 <= v <= 1.0 for v in anc.values()):
            raise ValueError(f"ancestry weights must each be within 0..1, got {anc}")
        total = sum(anc.values())
        if abs(total - 1.0) > 1e-3:
            raise ValueError(f"ancestry weights must sum to 1 (got {total:.4f}); divide them by their sum")
        det = dict(self.details)
        for k, v in det.items():
            if not (math.isfinite(v) and -1.0 <= v <= 1.0):
                raise ValueError(f"details[{k!r}] must be within -1..1, got {v}")
        object.__setattr__(self, "ancestry", MappingProxyType(anc))
        object.__setattr__(self, "details", MappingProxyType(det))

    def __hash__(self) -> int:
        return hash(
            (
                self.age_years,
                self.gender,
                tuple(sorted(self.ancestry.items())),
                self.muscle,
                self.weight,
                self.proportions,
                tuple(sorted(self.details.items())),
            )
        )

    def macro_factors(self) -> dict[str, float]:
        """MakeHuman's factor values for these sliders (see :mod:`head_macro`)."""
        return head_macro.factors(
            age=head_macro.age_slider(self.age_years),
            gender=self.gender,
            ancestry=dict(self.ancestry),
            muscle=self.muscle,
            weight=self.weight,
            proportions=self.proportions,
        )


_CACHE: dict[Path, "HeadModel"] = {}


def _csr(a: Mapping[str, np.ndarray], key: str, n_cols: int) -> sp.csr_matrix:
    """A CSR matrix stored as ``{key}_indptr`` / ``_indices`` / ``_data``."""
    indptr = a[f"{key}_indptr"]
    return sp.csr_matrix((a[f"{key}_data"], a[f"{key}_indices"], indptr), shape=(len(indptr) - 1, n_cols))


class RenderSurface:
    """One level of detail of the surface that is rendered: the coarse head subdivided ``level``
    times (Catmull-Clark) and cut along smooth class boundaries and a smooth crop
    (:mod:`head_surface`). Its vertices are a fixed sparse operator of the coarse vertices, so
    :meth:`vertices` works for every identity and expression, and its landmark rows put points
    exactly on its triangles.

    * ``faces`` (F, 3) int32 counter-clockwise seen from outside; ``face_part`` (F,) uint8 index
      into the head's ``part_names``; ``face_class`` (F,) uint8 class ids; ``face_scalp`` (F,)
      bool skin a painted hair cap turns into HAIR; ``vertex_class`` (V_r,) uint8;
    * ``operator`` (V_r, V) float64 CSR: render vertices = operator @ coarse vertices, the
      product of ``cut`` (V_r, V_fine) and ``subdivision`` (V_fine, V); ``fine_mirror``
      (V_fine,) the mirror partner of each subdivided vertex;
    * ``median_edge_m``: median skin edge length of this level on the base mesh, metres.
    """

    def __init__(self, a: Mapping[str, np.ndarray], level: int, n_coarse: int, median_edge_m: float):
        k = f"surface{level}_"
        self.level = level
        self.median_edge_m = float(median_edge_m)
        self.faces: np.ndarray = a[k + "faces"]
        self.face_part: np.ndarray = a[k + "face_part"]
        self.face_class: np.ndarray = a[k + "face_class"]
        self.face_scalp: np.ndarray = a[k + "face_scalp"]
        self.vertex_class: np.ndarray = a[k + "vertex_class"]
        self.fine_mirror: np.ndarray = a[k + "mirror"]
        self.subdivision = _csr(a, k + "subdivision", n_coarse)
        self.cut = _csr(a, k + "cut", self.subdivision.shape[0])
        self.operator: sp.csr_matrix = (self.cut @ self.subdivision).tocsr()
        self.operator.sort_indices()
        self.n_vertices = self.operator.shape[0]
        self._parts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for pi in np.unique(self.face_part).tolist():
            sel = np.flatnonzero(self.face_part == pi)
            vidx = np.unique(self.faces[sel])
            self._parts[pi] = (vidx, np.searchsorted(vidx, self.faces[sel]).astype(np.int32), sel)
        self._points: dict[str, sp.csr_matrix] = {}
        for key in ("landmark", "dense"):
            if f"{k}{key}_index" in a:
                idx = a[f"{k}{key}_index"].astype(np.int64)
                w = a[f"{k}{key}_weight"].astype(np.float64)
                rows = sp.csr_matrix(
                    (w.ravel(), (np.repeat(np.arange(len(idx)), 3), idx.ravel())),
                    shape=(len(idx), self.subdivision.shape[0]),
                )
                self._points[key] = (rows @ self.subdivision).tocsr()

    def vertices(self, values: np.ndarray) -> np.ndarray:
        """(V_r, ...) float64: per-vertex ``values`` (V, ...) of the coarse mesh (positions,
        colours) carried to this surface; ``vertices(v)[faces]`` is what gets rendered."""
        x = np.asarray(values, np.float64)
        if x.shape[0] != self.operator.shape[1]:
            raise ValueError(f"values must have {self.operator.shape[1]} rows (coarse vertices), got {x.shape}")
        return self.operator @ x

    def part(self, part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One part as its own mesh: ((n,) render vertex ids, (m, 3) int32 faces over those,
        (m,) int64 indices of its faces in ``faces``); empty arrays for a part with no faces."""
        empty = (np.zeros(0, np.int64), np.zeros((0, 3), np.int32), np.zeros(0, np.int64))
        return self._parts.get(part, empty)

    def point_operator(self, key: str = "landmark") -> sp.csr_matrix:
        """(k, V) float64 CSR: the ``landmark`` or ``dense`` points as fixed rows over coarse vertices."""
        if key not in self._points:
            raise RuntimeError(
                f"this head asset has no {key} definitions (facefarm/assets/landmarks/); "
                "run tools/derive_landmarks.py, then `facefarm assets build`"
            )
        return self._points[key]


class HeadModel:
    """The compiled head asset with the operations a renderer needs. Build with :meth:`load`.

    Mesh data (read-only arrays):

    * ``faces`` (F, 3) int32 triangles, counter-clockwise seen from outside;
      ``quads`` (Q, 4) int32 MakeHuman's quads (a repeated last index marks a triangle),
      ``face_quad`` (F,) the quad each triangle came from; ``quad_part`` (Q,) uint8 each quad's part;
    * ``face_part`` (F,) uint8 index into ``part_names``; ``face_class`` (F,) / ``vertex_class``
      (V,) uint8 segmentation ids of ``facefarm/assets/schema/classes.json``;
    * ``uvs`` (T, 2) float32 and ``face_uvs`` (F, 3) / ``quad_uvs`` (Q, 4) int32 per-corner texture coordinates
      (MakeHuman's UV layout on skin, lashes, teeth, tongue; an azimuthal map around the gaze
      axis on the eyeballs, see :mod:`head_eyes`);
    * ``scalp`` (S,) int32 skin vertex ids where hair may grow; ``mirror`` (V,) int32 the
      vertex each vertex becomes under x -> -x; ``hm08_index`` (V,) the MakeHuman vertex id
      (-1 on the generated eyeballs).

    What is rendered is a :class:`RenderSurface` of these vertices: ``surfaces`` holds them by
    level of detail (coarsest first), :meth:`surface_for` picks one for an image scale.
    """

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, path: Path):
        self.path = path
        self.meta = meta
        a = {k: v for k, v in arrays.items()}
        render_meta = meta["render_surface"]
        for v in a.values():
            v.setflags(write=False)
        self._a = a
        self.faces: np.ndarray = a["faces"]
        self.quads: np.ndarray = a["quads"]
        self.face_quad: np.ndarray = a["face_quad"]
        self.face_part: np.ndarray = a["face_part"]
        self.face_class: np.ndarray = a["face_class"]
        self.vertex_class: np.ndarray = a["vertex_class"]
        self.vertex_part: np.ndarray = a["vertex_part"]
        self.uvs: np.ndarray = a["uvs"]
        self.face_uvs: np.ndarray = a["face_uvs"]
        self.quad_uvs: np.ndarray = a["quad_uvs"]
        self.quad_part: np.ndarray = a["quad_part"]
        self.scalp: np.ndarray = a["scalp"]
        self.mirror: np.ndarray = a["mirror"]
        self.hm08_index: np.ndarray = a["hm08_index"]
        self.part_names: tuple[str, ...] = tuple(meta["part_names"])
        self.expression_names: tuple[str, ...] = tuple(meta["expression_names"])
        self.landmark_names: tuple[str, ...] = tuple(meta["landmark_names"])
        params = meta["identity_parameters"]
        self.identity_names: tuple[str, ...] = tuple(p["name"] for p in params)
        #: name -> (min, max) allowed value of each detail parameter
        self.identity_ranges: Mapping[str, tuple[float, float]] = MappingProxyType(
            {p["name"]: (p["min"], p["max"]) for p in params}
        )
        self._param_cols = {p["name"]: (p["negative"], p["positive"]) for p in params}
        self._expr_index = {n: i for i, n in enumerate(self.expression_names)}
        self._macro_names = list(meta["macro_targets"])
        self._eyes = meta["eyes"]
        self.n_vertices = len(a["vertices"])
        self._n_orig = int(self.eyes_slice(0).start)

        #: render surfaces, coarsest first (see :meth:`surface_for`)
        self.surfaces: tuple[RenderSurface, ...] = tuple(
            RenderSurface(a, d["level"], self.n_vertices, d["median_skin_edge_m"]) for d in render_meta["levels"]
        )
        self._max_edge_px = float(render_meta["max_edge_px"])

        nb_rows = len(a["blend_base"]) * 3
        n_detail = len(meta["detail_targets"])
        rows = a["detail_rows"].astype(np.int64)
        self._detail = sp.csr_matrix(
            (a["detail_vals"].astype(np.float64), (rows, a["detail_cols"])), shape=(nb_rows, n_detail)
        )
        self._macro = a["macro_targets"].reshape(len(self._macro_names), -1)
        self._expr = a["expression_targets"].reshape(len(self.expression_names), -1)
        self._nb: Neighbourhoods = neighbourhoods(a["vertices"][: self._n_orig].astype(np.float64), a["transfer_group"])
        centre0 = a["eye_template"].mean(axis=1)
        self._origin0 = centre0.mean(axis=0)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> "HeadModel":
        """The compiled asset for the current inputs (or the .npz at ``path``); cached per path."""
        if path is None:
            npz, meta = head_asset.asset_paths(head_asset.input_hash())
        else:
            npz = Path(path)
            meta = npz.with_suffix(".json")
        npz = npz.resolve()
        if npz in _CACHE:
            return _CACHE[npz]
        if not (npz.exists() and meta.exists()):
            raise FileNotFoundError(
                f"head asset {npz.name} not found in {npz.parent}: run `facefarm assets build` "
                "(or `make assets`) to compile it"
            )
        arrays, info = head_asset.read_asset(npz, meta)
        model = cls(arrays, info, npz)
        _CACHE[npz] = model
        return model

    # ------------------------------------------------------------------ geometry
    def eyes_slice(self, eye: int) -> slice:
        """Vertex range of eyeball ``eye`` (0 right, 1 left)."""
        e = self._eyes[eye]
        return slice(e["first_vertex"], e["first_vertex"] + e["n_vertices"])

    @property
    def neutral(self) -> np.ndarray:
        """(V, 3) float32 the MakeHuman base mesh itself (no targets), head frame."""
        return (self._a["vertices"] - self._origin0).astype(np.float32)

    def _blend(self, params: IdentityParams) -> np.ndarray:
        f = params.macro_factors()
        w = np.asarray(head_macro.target_weights(self._macro_names, f))
        nz = np.flatnonzero(w)
        flat = self._a["blend_base"].astype(np.float64).ravel()
        flat = flat + w[nz] @ self._macro[nz].astype(np.float64)
        if params.details:
            dw = np.zeros(self._detail.shape[1])
            for name, v in params.details.items():
                if name not in self._param_cols:
                    raise KeyError(f"unknown identity detail {name!r}; see HeadModel.identity_names")
                lo, hi = self.identity_ranges[name]
                if not lo <= v <= hi:
                    raise ValueError(f"details[{name!r}] must be within {lo}..{hi}, got {v}")
                neg, pos = self._param_cols[name]
                if v < 0:
                    dw[neg] += -v
                elif v > 0:
                    dw[pos] += v
            flat = flat + self._detail @ dw
        return flat.reshape(-1, 3)

    def shape(self, params: IdentityParams) -> np.ndarray:
        """(V, 3) float32 metres: the neutral-expression head of ``params``, head frame."""
        blend = self._blend(params)
        out = np.empty((self.n_vertices, 3))
        out[: self._n_orig] = blend[: self._n_orig]
        base = self._a["blend_base"].astype(np.float64)
        for e in (0, 1):
            rows = self._a["eye_helper_rows"][e]
            s, r, t = similarity(base[rows], blend[rows])
            # the eyeball goes where the targets move its socket, at their size, but keeps looking
            # straight ahead: the fit's rotation is the socket's shear, and kept it turned the eyes
            # of some identities 6 degrees out each (walleyed) and down (gaze comes from the sample)
            template = self._a["eye_template"][e].astype(np.float64)
            c0 = template.mean(axis=0)
            out[self.eyes_slice(e)] = s * (template - c0) + (s * c0 @ r.T + t)
        out -= self.eye_centres(out).mean(axis=0)
        return out.astype(np.float32)

    def expression_offsets(self, vertices: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
        """(V, 3) float32 metres to add to ``vertices`` (a :meth:`shape` result) for Face Units ``weights``.

        Offsets authored on the base mesh are scaled by the local size of ``vertices``
        relative to the base mesh (:mod:`head_transfer`), so a baby's jaw opens a baby's
        distance; eyeballs rotate rigidly about their centres. Unknown unit names raise KeyError.
        """
        v = np.asarray(vertices, dtype=np.float64)
        if v.shape != (self.n_vertices, 3):
            raise ValueError(f"vertices must be ({self.n_vertices}, 3), got {v.shape}")
        w = np.zeros(len(self.expression_names))
        for name, x in weights.items():
            if name not in self._expr_index:
                raise KeyError(f"unknown expression unit {name!r}; see HeadModel.expression_names")
            w[self._expr_index[name]] = x
        out = np.zeros_like(v)
        nz = np.flatnonzero(w)
        if len(nz) == 0:
            return out.astype(np.float32)
        d = (w[nz] @ self._expr[nz].astype(np.float64)).reshape(-1, 3)
        n = self._n_orig
        out[:n] = local_scale(self._nb, v[:n])[:, None] * d[:n]
        base = self._a["blend_base"].astype(np.float64)
        for e in (0, 1):
            rows = self._a["eye_helper_rows"][e]
            template = self._a["eye_template"][e].astype(np.float64)
            # eyeballs turn about their centres: keep the fitted rotation, drop the sculpt's
            # sub-millimetre drift of centre and size
            _, r_e, _ = similarity(base[rows], base[rows] + d[rows])
            c0 = template.mean(axis=0)
            moved = (template - c0) @ r_e.T + c0
            sl = self.eyes_slice(e)
            s_i, r_i, t_i = similarity(template, v[sl])
            out[sl] = s_i * moved @ r_i.T + t_i - v[sl]
        return out.astype(np.float32)

    def eye_centres(self, vertices: np.ndarray) -> np.ndarray:
        """(2, 3) eyeball centres (right, left) of ``vertices``; the eyeball rings are symmetric,
        so their vertex mean is the centre."""
        v = np.asarray(vertices)
        return np.stack([v[self.eyes_slice(e)].mean(axis=0) for e in (0, 1)]).astype(np.float64)

    def eye_axes(self, vertices: np.ndarray) -> np.ndarray:
        """(2, 3) unit gaze directions (right, left): from each eyeball centre through its front pole."""
        v = np.asarray(vertices, dtype=np.float64)
        c = self.eye_centres(v)
        poles = np.stack([v[e["pole_vertex"]] for e in self._eyes])
        d = poles - c
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    # ------------------------------------------------------------------ render surface
    def surface_for(self, pixels_per_metre: float) -> RenderSurface:
        """The coarsest surface whose median skin edge spans at most ``max_edge_px`` pixels (from
        ``regions.json``) at an image scale of ``pixels_per_metre`` (focal length in pixels over
        distance), else the finest: fine enough for smooth silhouettes, no finer, since the fast
        back-end's cost grows with the vertex count."""
        for s in self.surfaces:
            if s.median_edge_m * pixels_per_metre <= self._max_edge_px:
                return s
        return self.surfaces[-1]

    # ------------------------------------------------------------------ landmarks
    def _points(self, key: str, vertices: np.ndarray, surface: RenderSurface | None) -> np.ndarray:
        v = np.asarray(vertices, dtype=np.float64)
        if v.shape != (self.n_vertices, 3):
            raise ValueError(f"vertices must be ({self.n_vertices}, 3), got {v.shape}")
        return (surface or self.surfaces[-1]).point_operator(key) @ v

    def landmark_points(self, vertices: np.ndarray, surface: RenderSurface | None = None) -> np.ndarray:
        """(70, 3) float64: the 68 iBUG points then the right and left pupil centres for the coarse
        ``vertices``, exactly on ``surface`` (default: the finest), i.e. on
        ``surface.vertices(vertices)[surface.faces]``."""
        return self._points("landmark", vertices, surface)

    def dense_points(self, vertices: np.ndarray, surface: RenderSurface | None = None) -> np.ndarray:
        """(K, 3) float64 dense surface points over face, ears and neck, on ``surface`` (default: the finest)."""
        return self._points("dense", vertices, surface)

    @property
    def n_dense(self) -> int:
        return int(self.meta.get("n_dense", 0))
