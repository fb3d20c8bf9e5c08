"""The scene description every renderer consumes: plain data, no renderer types.

``compose()`` builds a :class:`Scene` from a resolved sample; the pyrender and
Blender adapters turn the same Scene into pixels. Frames and units:

* world frame = head frame: metres, +y up, +z out of the face, +x the subject's
  left; the head is posed inside it (``head_pose``) and the camera looks at it;
* colours are *linear* RGB in 0..1 (not sRGB);
* every mesh carries a per-face segmentation class id taken from
  ``facefarm/assets/schema/classes.json`` (see :mod:`facefarm.scene.classes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from facefarm.geometry.camera import Camera

MaterialKind = Literal[
    "skin",
    "eye",
    "cornea",
    "teeth",
    "tongue",
    "mouth",
    "lash",
    "brow",
    "hair",
    "beard",
    "glasses_frame",
    "glasses_lens",
    "cloth",
    "headwear",
    "marker",
]


@dataclass(frozen=True, eq=False)
class SurfaceMaps:
    """Texture maps over a mesh's ``uvs`` (row ``i``, column ``j`` of each array is the texel at
    ``v = (i + 0.5) / n``, ``u = (j + 0.5) / n``: row 0 is v = 0, as OpenGL and Blender store images).

    albedo : (n, n, 3) float32 linear multiplier of the material's albedo (vertex colours), ~1 ·
    normal : (n, n, 3) float32 unit tangent-space normal (x along +u, y along +v, z out) ·
    roughness : (n, n) float32 0..1, replaces ``Material.roughness`` ·
    specular : (n, n) float32 multiplier of ``Material.specular`` (oil and pores), ~1.
    """

    albedo: np.ndarray
    normal: np.ndarray
    roughness: np.ndarray
    specular: np.ndarray
    key: str = ""  # names the maps' content (identity and resolution): equal keys, equal maps

    @property
    def size(self) -> int:
        return int(self.albedo.shape[0])


@dataclass(frozen=True)
class Material:
    """Surface appearance shared by both back-ends; back-ends map ``kind`` to their shader.

    ``base_color``: (3,) linear RGB; per-vertex colour on the mesh, when present, multiplies it.
    ``melanin`` / ``redness``: hair (Principled Hair BSDF) and skin parameters, 0..1.
    ``sheen``: fabric sheen 0..1 (Principled "Sheen Weight", untinted); None: :data:`FABRIC_SHEEN`
    for cloth and headwear, 0 for everything else.
    Hair: ``hair_radial_roughness``, ``hair_random_color``, ``hair_random_roughness`` (Principled
    Hair, 0..1); ``lock_color``: linear RGB of a lock that mixes grey and pigmented hairs, in the
    path tracer's colour parametrization (None: a lock of one kind, coloured by ``melanin``).
    ``frame_material``: what a glasses frame is made of (``acetate``, ``metal``, ``silicone``).
    ``emission``: radiance multiplier of a ``marker`` (an unlit calibration target).
    ``double_sided``: draw back faces (None: the back-end's default for the kind).
    ``maps``: texture maps over the mesh's ``uvs`` (skin: :mod:`facefarm.compose.skin_maps`), or None.
    """

    name: str
    kind: MaterialKind
    base_color: tuple[float, float, float] = (0.8, 0.8, 0.8)
    roughness: float = 0.5
    metallic: float = 0.0
    specular: float = 0.5
    subsurface: float = 0.0
    subsurface_radius: tuple[float, float, float] = (1.0, 0.2, 0.1)
    alpha: float = 1.0
    ior: float = 1.45
    melanin: float = 0.0
    redness: float = 0.0
    sheen: float | None = None
    hair_radial_roughness: float = 0.3
    hair_random_color: float = 0.1
    hair_random_roughness: float = 0.1
    lock_color: tuple[float, float, float] | None = None
    frame_material: Literal["acetate", "metal", "silicone"] | None = None
    emission: float = 1.0
    double_sided: bool | None = None
    maps: SurfaceMaps | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.sheen is None:  # frozen: the default depends on the kind
            object.__setattr__(self, "sheen", FABRIC_SHEEN if self.kind in ("cloth", "headwear") else 0.0)


#: Sheen of a fabric that does not set its own (a cotton twill: a cap, a user's garment).
FABRIC_SHEEN = 0.3


@dataclass(frozen=True)
class StrandDensity:
    """How many hair strands an image needs, as a function of the pixels it spends on the face.

    ``detail`` 1 is right at ``reference_px_per_m`` (pixels per metre at the face); counts
    follow pixel density linearly (strands stay about as many pixels apart), clipped to
    ``lo``..``hi``. A rasteriser draws ribbons whose radius grows as counts fall (the scalp stays
    covered), so about a pixel apart is enough; a path tracer draws true cylinders and needs
    more, thinner strands to read as hair rather than locks. Each back-end states its own
    (:mod:`facefarm.render.backends`); the compositor only reads the numbers.
    """

    reference_px_per_m: float
    lo: float
    hi: float

    def detail(self, pixels_per_metre: float) -> float:
        """Strand-count multiplier for an image that resolves ``pixels_per_metre`` at the face,
        rounded to 1/16 so that nearby framings share strand counts."""
        return float(np.clip(np.round(16.0 * pixels_per_metre / self.reference_px_per_m) / 16.0, self.lo, self.hi))


#: Strands for a rasteriser (the fast back-end): at 256 px with the face over half the image
#: (~800 px/m) ~0.4, at 1024 px 1.5.
RASTER_STRANDS = StrandDensity(reference_px_per_m=2000.0, lo=0.25, hi=1.5)
#: Strands for a path tracer (Cycles): at 512 px ~1.2 (at 512 px / 16 spp, 1.75 and 1.2 render
#: alike while compose drops from 4.7 to 2.9 s), at 256 px ~0.6 (side by side with the old floor
#: of 1.0 it looks alike, curls a little crisper, and compose halves: 0.8 -> 0.4 s on curly hair
#: with a goatee).
PATH_TRACED_STRANDS = StrandDensity(reference_px_per_m=1400.0, lo=0.5, hi=8.0)


# Names of per-vertex attributes (``Mesh.attributes``) that the compositor writes and back-ends read.
#: Fold depth on the skin, 0 flat .. 1 deepest (Cycles: a bump).
WRINKLE_ATTRIBUTE = "wrinkle"
#: Lash cards: position across the strands (in strands: one per unit) and coverage 0..1
#: (dense at the lid margin, none at the tips; the lower lashes sparser).
LASH_STRAND_ATTRIBUTE = "lash_strand"
LASH_COVER_ATTRIBUTE = "lash_cover"
#: 0..1 share of the light that reaches a vertex: into the mouth, onto the scalp under hair (the fast
#: back-end, which casts no shadow from either, scales shading by it).
OCCLUSION_ATTRIBUTE = "occlusion"


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh in the world frame.

    vertices : (n, 3) float32, metres, world frame
    faces : (m, 3) int32, counter-clockwise seen from outside
    face_class : (m,) uint8, segmentation class id per face
    normals : (n, 3) float32 unit vertex normals, or None (back-end computes them)
    uvs : (n, 2) float32 in 0..1, or None
    vertex_colors : (n, 3) float32 linear RGB albedo, or None (use material.base_color)
    smooth : shade smooth (back-ends never subdivide: the labels sit on exactly this surface)
    attributes : optional name -> (n,) float32 per-vertex scalars for shaders that use them
    bare_class : (m,) uint8 class of each face with nothing worn over it, or None (= face_class):
        the scalp that the hair cap labels HAIR is SKIN under it (the amodal masks' head layer)
        (e.g. ``"wrinkle"`` fold depth 0..1 on skin); back-ends ignore names they do not know
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    face_class: np.ndarray
    material: Material
    normals: np.ndarray | None = None
    uvs: np.ndarray | None = None
    vertex_colors: np.ndarray | None = None
    smooth: bool = True
    occludes_landmarks: bool = True
    attributes: dict[str, np.ndarray] | None = None
    bare_class: np.ndarray | None = None


@dataclass(frozen=True)
class Curves:
    """Hair-like strands: ``points`` (s, k, 3) float32 metres, ``radius`` (s, k) metres.

    The photoreal back-end renders these as curves; the fast back-end as ribbons.
    """

    name: str
    points: np.ndarray
    radius: np.ndarray
    class_id: int
    material: Material


@dataclass(frozen=True)
class Light:
    """A light. ``pose``: (4, 4) light-to-world; lights shine along their local -z.

    ``intensity``: watts for point/area/spot, W/m^2 (irradiance) for directional.
    """

    kind: Literal["directional", "point", "area", "spot"]
    color: tuple[float, float, float]
    intensity: float
    pose: np.ndarray
    size: float = 0.0


@dataclass(frozen=True)
class Environment:
    """Image-based lighting.

    ``hdri``: path of an equirectangular .exr/.hdr, or None for a plain colour world.
    ``rotation_deg``: rotation about world +y. ``background``: what the camera sees behind
    the head: ``"hdri"`` or an RGB colour (linear).
    """

    hdri: str | None
    rotation_deg: float = 0.0
    intensity: float = 1.0
    color: tuple[float, float, float] = (0.05, 0.05, 0.05)
    background: Literal["hdri"] | tuple[float, float, float] = "hdri"


@dataclass(frozen=True)
class Landmarks:
    """Landmark points bound to the posed mesh, in the world frame.

    points : (k, 3) float64 metres, world frame
    names : k names (the 70-point layout, then dense points)
    n_sparse : how many of the first points are the 70-point set
    normals : (k, 3) float64 unit outward normals of the smooth head surface at the points
        (world frame), or None; labels use them to tell a point the head itself hides (its
        surface turned away from the camera) from one whose own surface its pixel sees
    contour : (n_sparse, 3) float64 metres, world frame, or None: the sparse points in the
        annotators' convention for this view (the jaw on the face's visible outline; every
        other point as in ``points``)
    """

    points: np.ndarray
    names: tuple[str, ...]
    n_sparse: int = 70
    normals: np.ndarray | None = None
    contour: np.ndarray | None = None


@dataclass(frozen=True)
class LayoutPoints:
    """The points of another landmark layout (:data:`facefarm.scene.classes.LAYOUTS`), bound to
    the posed mesh like :class:`Landmarks`.

    name : the layout's name (e.g. ``"wflw98"``)
    points : (k, 3) float64 metres, world frame, in the layout's order
    normals : (k, 3) float64 unit outward normals there (world frame)
    contour : (k, 3) float64 metres, world frame: the annotators' convention for this view
        (the jaw on the face's visible outline; every other point as in ``points``)
    """

    name: str
    points: np.ndarray
    normals: np.ndarray
    contour: np.ndarray


@dataclass(frozen=True)
class Eyes:
    """The eyeballs and lids of the posed head, the subject's right eye then the left (as the
    pupils, landmarks 68 and 69).

    centres : (2, 3) float64 metres, world frame: eyeball centres
    axes : (2, 3) float64 unit gaze axes (centre towards the pupil), world frame
    aperture_m : (2,) float64 metres: distance between the midpoints of the upper and lower lid
        margins (iBUG points 37/38 and 41/40; 43/44 and 47/46) on the posed head
    openness : (2,) float64 where ``aperture_m`` lies between the same identity's aperture with
        its lids closed (0; the lid points sit on the lids' skin, ~2 mm apart when closed) and
        with no expression, no blink and a straight gaze (1); above 1 wider
    """

    centres: np.ndarray
    axes: np.ndarray
    aperture_m: np.ndarray
    openness: np.ndarray


@dataclass(frozen=True)
class Scene:
    """Everything needed to render one labelled sample.

    ``head_pose``: (4, 4) head-to-world. ``meta``: JSON-able values the labels carry along.
    ``white_balance``: the camera's per-channel gains on scene-linear light, applied before the
    view transform (:mod:`facefarm.scene.white_balance`); (1, 1, 1) = none.
    """

    meshes: tuple[Mesh, ...]
    camera: Camera
    environment: Environment
    landmarks: Landmarks
    head_pose: np.ndarray
    lights: tuple[Light, ...] = ()
    curves: tuple[Curves, ...] = ()
    meta: dict = field(default_factory=dict)
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    eyes: Eyes | None = None
    layouts: tuple[LayoutPoints, ...] = ()


@dataclass(frozen=True)
class RenderResult:
    """What a back-end returns for a Scene.

    rgb : (H, W, 3) uint8 sRGB
    segmentation : (H, W) uint8 class ids
    depth : (H, W) float32, camera-frame z in metres, 0 where nothing was hit
    occluder_depth : (H, W) float32 like ``depth`` but of the landmark occluders only
        (meshes with ``occludes_landmarks``, no transparent lenses), or None = use ``depth``

    Optional label layers, None unless asked for (``render(scene, labels=...)``):

    segmentation_head : (H, W) uint8 class ids of the head layer alone (amodal: the face under
        hair, beard, glasses, headwear, clothing; ``facefarm/assets/schema/layers.json``)
    layers : (H, W) uint8, bit ``layer.bit`` set where that layer shows with only the head in front
    normals : (H, W, 3) float32 unit surface normals, camera frame (OpenCV axes; facing the
        camera = negative z), 0 where nothing was hit
    albedo : (H, W, 3) float32 linear surface albedo (Cycles), 0 where nothing was hit
    """

    rgb: np.ndarray
    segmentation: np.ndarray
    depth: np.ndarray
    timings: dict = field(default_factory=dict)
    occluder_depth: np.ndarray | None = None
    segmentation_head: np.ndarray | None = None
    layers: np.ndarray | None = None
    normals: np.ndarray | None = None
    albedo: np.ndarray | None = None
