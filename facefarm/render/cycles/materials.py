"""Cycles shader graphs for each ``Material.kind``: one registered builder per kind.

Adding a kind is one ``@shader("kind")`` function (see :data:`SHADERS`), not a
branch in an ``if`` chain. A builder gets a :class:`NodeGraph` over a fresh
material's node tree, the :class:`~facefarm.scene.model.Material` and the
:class:`Surface` it will sit on, and returns the shader socket for the output.

Colours in a Material are linear RGB, which is what Cycles expects. Meshes carry
their per-vertex albedo in the colour attribute :data:`ALBEDO_ATTRIBUTE` (see
:mod:`facefarm.render.cycles.geometry`); when present it multiplies
``base_color``. Float attributes from ``Mesh.attributes`` (listed in
``Surface.attributes``) drive detail: the skin's fold depth
(:data:`~facefarm.compose.skin_detail.WRINKLE_ATTRIBUTE`) becomes a bump, the lash cards'
strand coordinates cut them into fine, partly transparent strands. Procedural detail (pores, fabric) is driven by object
coordinates, which are world metres because objects are built in place.

Segmentation is carried by ``bpy.types.Material.pass_index`` (the IndexMA pass):
:func:`material_for_class` hands out one copy of a material per class id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import bpy
import numpy as np

from facefarm.scene.model import LASH_COVER_ATTRIBUTE, LASH_STRAND_ATTRIBUTE, WRINKLE_ATTRIBUTE, Material, SurfaceMaps

#: Name of the per-vertex linear-RGB albedo colour attribute on meshes.
ALBEDO_ATTRIBUTE = "albedo"
#: Name of a mesh's UV layer (``Mesh.uvs``).
UV_MAP = "UVMap"
#: Sheen roughness of fabrics (the fast back-end's sheen is fitted to Cycles' at this value).
SHEEN_ROUGHNESS = 0.5


@dataclass(frozen=True)
class Surface:
    """What a shader may rely on from the geometry it is applied to."""

    geometry: Literal["mesh", "curves"] = "mesh"
    has_vertex_colors: bool = False
    attributes: frozenset[str] = frozenset()  # per-vertex float attributes on the mesh
    has_uvs: bool = False  # the mesh has the UV layer :data:`UV_MAP`


class NodeGraph:
    """Thin helper over a node tree: create nodes with inputs set or linked in one call."""

    def __init__(self, tree: bpy.types.NodeTree):
        self.tree = tree
        tree.nodes.clear()

    def node(self, idname: str, inputs: dict | None = None, **props) -> bpy.types.Node:
        """New node ``idname``; ``props`` are node properties (set first, they change sockets),
        ``inputs`` maps socket name/identifier/index -> constant or an output socket to link."""
        n = self.tree.nodes.new(idname)
        for key, value in props.items():
            setattr(n, key, value)
        for key, value in (inputs or {}).items():
            self.set(n.inputs, key, value)
        return n

    def set(self, sockets, key: str | int, value) -> None:
        sock = sockets[key] if isinstance(key, int) else _socket(sockets, key)
        if isinstance(value, bpy.types.NodeSocket):
            self.tree.links.new(value, sock)
        elif sock.type == "RGBA" and len(value) == 3:
            sock.default_value = (*value, 1.0)
        else:
            sock.default_value = value

    def output(self, shader: bpy.types.NodeSocket, kind: str = "ShaderNodeOutputMaterial") -> None:
        out = self.node(kind)
        self.tree.links.new(shader, out.inputs["Surface"])


def _socket(sockets, key: str) -> bpy.types.NodeSocket:
    """The enabled socket whose identifier or name is ``key`` (Mix nodes reuse names across types)."""
    for s in sockets:
        if s.identifier == key:
            return s
    for s in sockets:
        if s.name == key and s.enabled:
            return s
    raise KeyError(f"no socket {key!r}; have {[s.identifier for s in sockets]}")


ShaderBuilder = Callable[[NodeGraph, Material, Surface], bpy.types.NodeSocket]
#: Material.kind -> shader builder. Every ``MaterialKind`` must have one.
SHADERS: dict[str, ShaderBuilder] = {}


def shader(*kinds: str) -> Callable[[ShaderBuilder], ShaderBuilder]:
    """Register a builder for one or more material kinds."""

    def register(fn: ShaderBuilder) -> ShaderBuilder:
        for k in kinds:
            SHADERS[k] = fn
        return fn

    return register


def build_material(material: Material, surface: Surface) -> bpy.types.Material:
    """A new Blender material for ``material`` on ``surface`` (pass_index 0)."""
    try:
        builder = SHADERS[material.kind]
    except KeyError:
        raise KeyError(
            f"material {material.name!r}: no Cycles shader for kind {material.kind!r}; known kinds: {sorted(SHADERS)}"
        ) from None
    mat = bpy.data.materials.new(material.name)
    g = NodeGraph(mat.node_tree)
    g.output(builder(g, material, surface))
    return mat


def material_for_class(
    base: bpy.types.Material, class_id: int, made: dict[int, bpy.types.Material]
) -> bpy.types.Material:
    """``base`` (or a copy of it) carrying ``pass_index = class_id``; ``made`` caches per class."""
    if class_id not in made:
        mat = base if not made else base.copy()
        mat.pass_index = int(class_id)
        made[class_id] = mat
    return made[class_id]


# ---------------------------------------------------------------------------------------------
# shared pieces


def _albedo(g: NodeGraph, m: Material, s: Surface) -> bpy.types.NodeSocket | tuple:
    """Vertex colour x base_color when the mesh has colours, else base_color."""
    if not s.has_vertex_colors:
        return tuple(m.base_color)
    attr = g.node("ShaderNodeAttribute", attribute_type="GEOMETRY", attribute_name=ALBEDO_ATTRIBUTE)
    mix = g.node(
        "ShaderNodeMix",
        {"Factor_Float": 1.0, "A_Color": attr.outputs["Color"], "B_Color": tuple(m.base_color)},
        data_type="RGBA",
        blend_type="MULTIPLY",
        clamp_result=True,
    )
    return _socket(mix.outputs, "Result_Color")


def _float_attribute(g: NodeGraph, name: str) -> bpy.types.NodeSocket:
    return g.node("ShaderNodeAttribute", attribute_type="GEOMETRY", attribute_name=name).outputs["Fac"]


def _object_coords(g: NodeGraph) -> bpy.types.NodeSocket:
    return g.node("ShaderNodeTexCoord").outputs["Object"]


def _principled(g: NodeGraph, m: Material, **inputs) -> bpy.types.Node:
    base = {
        "Roughness": m.roughness,
        "Metallic": m.metallic,
        "IOR": m.ior,
        "Specular IOR Level": m.specular,
        "Alpha": m.alpha,
    }
    base.update(inputs)
    return g.node("ShaderNodeBsdfPrincipled", base)


def _shadow_transparent(g: NodeGraph, surface: bpy.types.NodeSocket) -> bpy.types.NodeSocket:
    """Let shadow rays pass: refracting shells (cornea) would otherwise darken what they cover,
    since Cycles does not trace caustics through them."""
    lp = g.node("ShaderNodeLightPath")
    clear = g.node("ShaderNodeBsdfTransparent", {"Color": (1.0, 1.0, 1.0)})
    mix = g.node("ShaderNodeMixShader", {"Fac": lp.outputs["Is Shadow Ray"]})
    g.tree.links.new(surface, mix.inputs[1])
    g.tree.links.new(clear.outputs[0], mix.inputs[2])
    return mix.outputs[0]


def _ranged_noise(g: NodeGraph, scale: float, lo: float, hi: float, detail: float = 2.0):
    """3D noise over world-metre coordinates mapped to [lo, hi]."""
    noise = g.node(
        "ShaderNodeTexNoise",
        {"Vector": _object_coords(g), "Scale": scale, "Detail": detail, "Roughness": 0.5},
        noise_dimensions="3D",
    )
    rng = g.node(
        "ShaderNodeMapRange",
        {"Value": noise.outputs["Factor"], "From Min": 0.3, "From Max": 0.7, "To Min": lo, "To Max": hi},
    )
    return rng.outputs["Result"]


def _map_image(name: str, pixels: np.ndarray) -> bpy.types.Image:
    """A float image held in Blender's memory (no file) from an (n, n) or (n, n, c) map whose
    row 0 is v = 0, as Blender stores pixels; read as data (no colour management)."""
    px = np.asarray(pixels, np.float32)
    px = px[..., None] if px.ndim == 2 else px
    h, w, c = px.shape
    rgba = np.ones((h, w, 4), np.float32)
    rgba[..., :c] = px
    img = bpy.data.images.new(name, width=w, height=h, alpha=False, float_buffer=True, is_data=True)
    img.colorspace_settings.name = "Non-Color"
    img.pixels.foreach_set(rgba.ravel())
    return img


def _map_texture(g: NodeGraph, uv: bpy.types.NodeSocket, image: bpy.types.Image) -> bpy.types.Node:
    return g.node("ShaderNodeTexImage", {"Vector": uv}, image=image, interpolation="Linear", extension="EXTEND")


def _skin_maps(g: NodeGraph, m: Material, maps: SurfaceMaps) -> dict[str, bpy.types.NodeSocket]:
    """The skin's texture maps as sockets: ``albedo`` (multiplier), ``normal`` (a tangent-space
    normal along the UV layer), ``roughness``, ``specular`` (multiplier)."""
    uv = g.node("ShaderNodeUVMap", uv_map=UV_MAP).outputs["UV"]
    key = maps.key or m.name
    albedo = _map_texture(g, uv, _map_image(f"{key}.albedo", maps.albedo))
    # the normal map node wants 0..1 encoded tangent-space normals
    normal = _map_texture(g, uv, _map_image(f"{key}.normal", 0.5 * maps.normal + 0.5))
    rs = _map_texture(g, uv, _map_image(f"{key}.rough_spec", np.stack([maps.roughness, maps.specular], axis=2)))
    nmap = g.node("ShaderNodeNormalMap", {"Color": normal.outputs["Color"]}, space="TANGENT", uv_map=UV_MAP)
    split = g.node("ShaderNodeSeparateColor", {"Color": rs.outputs["Color"]})
    return {
        "albedo": albedo.outputs["Color"],
        "normal": nmap.outputs["Normal"],
        "roughness": split.outputs["Red"],
        "specular": split.outputs["Green"],
    }


# ---------------------------------------------------------------------------------------------
# kinds


#: Skin micro-relief: Voronoi pores (scale in 1/m, bump strength) and the wrinkle fold bump strength.
PORE_SCALE = 2200.0
PORE_STRENGTH = 0.12
WRINKLE_STRENGTH = 0.6
#: Skin's subsurface scale (metres: red mean free path ~4 mm) and sheen (vellus hair).
SKIN_SUBSURFACE_SCALE_M = 0.004
SKIN_SHEEN = 0.05


@shader("skin")
def _skin(g: NodeGraph, m: Material, s: Surface):
    """Random-walk subsurface skin. With texture maps (``m.maps`` and UVs) the maps give the
    albedo detail, the pore relief, the roughness and the specular level, as in the fast back-end;
    without them, procedural pores (Voronoi pits + fine noise) and patchy roughness."""
    maps = _skin_maps(g, m, m.maps) if m.maps is not None and s.has_uvs else None
    albedo = _albedo(g, m, s)
    if maps is not None:
        relief = {"Normal": maps["normal"]}
        mix = g.node(
            "ShaderNodeMix",
            {"Factor_Float": 1.0, "A_Color": albedo, "B_Color": maps["albedo"]},
            data_type="RGBA",
            blend_type="MULTIPLY",
            clamp_result=True,
        )
        albedo = _socket(mix.outputs, "Result_Color")
        rough = maps["roughness"]
        spec = g.node("ShaderNodeMath", {0: maps["specular"], 1: m.specular}, operation="MULTIPLY").outputs[0]
    else:
        coords = _object_coords(g)
        pores = g.node(
            "ShaderNodeTexVoronoi",
            {"Vector": coords, "Scale": PORE_SCALE, "Randomness": 0.9},
            voronoi_dimensions="3D",
            feature="F1",
            distance="EUCLIDEAN",
        )
        fine = g.node("ShaderNodeTexNoise", {"Vector": coords, "Scale": 900.0, "Detail": 3.0}, noise_dimensions="3D")
        height = g.node("ShaderNodeMath", {0: pores.outputs["Distance"], 1: fine.outputs["Factor"]}, operation="ADD")
        bump = g.node("ShaderNodeBump", {"Height": height.outputs[0], "Strength": PORE_STRENGTH, "Distance": 0.0001})
        relief = {"Normal": bump.outputs["Normal"]}
        rough = _ranged_noise(g, 45.0, 0.8 * m.roughness, 1.2 * m.roughness, detail=3.0)
        spec = m.specular
    normal = relief["Normal"]
    if WRINKLE_ATTRIBUTE in s.attributes:
        # folds: a groove of up to ~0.5 mm (inverted: the attribute is depth, not height)
        fold = g.node(
            "ShaderNodeBump",
            {
                "Height": _float_attribute(g, WRINKLE_ATTRIBUTE),
                "Strength": WRINKLE_STRENGTH,
                "Distance": 0.0005,
                "Normal": normal,
            },
            invert=True,
        )
        normal = fold.outputs["Normal"]
    p = _principled(
        g,
        m,
        **{
            "Base Color": albedo,
            "Roughness": rough,
            "Specular IOR Level": spec,
            "Subsurface Weight": m.subsurface,
            "Subsurface Radius": tuple(m.subsurface_radius),
            "Subsurface Scale": SKIN_SUBSURFACE_SCALE_M,
            "Subsurface IOR": 1.4,
            "Coat Weight": 0.0,
            "Coat Roughness": 0.25,
            "Sheen Weight": SKIN_SHEEN,
            "Sheen Roughness": 0.4,
            "Normal": normal,
        },
    )
    p.subsurface_method = "RANDOM_WALK_SKIN"
    return p.outputs["BSDF"]


@shader("eye")
def _eye(g: NodeGraph, m: Material, s: Surface):
    """Eyeball painted by vertex colours (sclera/iris/pupil) under a wet, clear corneal coat."""
    p = _principled(
        g,
        m,
        **{
            "Base Color": _albedo(g, m, s),
            # 0 means "not specified" for the organ kinds: fall back to a plausible tissue value
            "Subsurface Weight": m.subsurface or 0.15,  # sclera is slightly translucent
            "Subsurface Radius": (1.0, 0.6, 0.5),
            "Subsurface Scale": 0.001,
            "Coat Weight": 1.0,
            "Coat Roughness": 0.02,
            "Coat IOR": 1.376,  # cornea / tear film
        },
    )
    p.subsurface_method = "RANDOM_WALK"
    return p.outputs["BSDF"]


@shader("cornea")
def _cornea(g: NodeGraph, m: Material, s: Surface):
    """Clear refracting shell over the iris."""
    p = _principled(
        g,
        m,
        **{"Base Color": (1.0, 1.0, 1.0), "Roughness": 0.0, "Metallic": 0.0, "Transmission Weight": 1.0, "IOR": 1.376},
    )
    return _shadow_transparent(g, p.outputs["BSDF"])


@shader("teeth")
def _teeth(g: NodeGraph, m: Material, s: Surface):
    p = _principled(
        g,
        m,
        **{
            "Base Color": _albedo(g, m, s),
            "Subsurface Weight": m.subsurface or 0.3,
            "Subsurface Radius": (1.0, 0.8, 0.6),
            "Subsurface Scale": 0.001,
            "Coat Weight": 0.5,
            "Coat Roughness": 0.05,
        },
    )
    p.subsurface_method = "RANDOM_WALK"
    return p.outputs["BSDF"]


@shader("tongue", "mouth")
def _wet_tissue(g: NodeGraph, m: Material, s: Surface):
    """Mucosa: translucent red tissue under a film of saliva."""
    bump = g.node("ShaderNodeBump", {"Height": _ranged_noise(g, 400.0, 0.0, 1.0), "Strength": 0.2, "Distance": 0.0002})
    p = _principled(
        g,
        m,
        **{
            "Base Color": _albedo(g, m, s),
            "Subsurface Weight": m.subsurface or 0.5,
            "Subsurface Radius": tuple(m.subsurface_radius),
            "Subsurface Scale": 0.002,
            "Coat Weight": 0.7,
            "Coat Roughness": 0.1,
            "Normal": bump.outputs["Normal"],
        },
    )
    p.subsurface_method = "RANDOM_WALK"
    return p.outputs["BSDF"]


@shader("hair", "beard", "brow", "lash")
def _hair(g: NodeGraph, m: Material, s: Surface):
    """Principled Hair BSDF (melanin, redness) on curves; on meshes (lash shells, scalp caps)
    ``base_color`` (x vertex colours) with a soft sheen, as the Material contract says."""
    if s.geometry == "curves":
        common = {
            "Roughness": m.roughness,
            "Radial Roughness": m.hair_radial_roughness,
            "Coat": 0.0,
            "IOR": 1.55,
            "Random Roughness": m.hair_random_roughness,
        }
        if m.lock_color is not None:
            # a lock of pigmented and grey hairs: no melanin gives its grey, its colour does
            h = g.node(
                "ShaderNodeBsdfHairPrincipled",
                {**common, "Color": (*m.lock_color, 1.0)},
                parametrization="COLOR",
                model="CHIANG",
            )
        else:
            h = g.node(
                "ShaderNodeBsdfHairPrincipled",
                {
                    **common,
                    "Melanin": m.melanin,
                    "Melanin Redness": m.redness,
                    "Random Color": m.hair_random_color,
                },
                parametrization="MELANIN",
                model="CHIANG",
            )
        return h.outputs["BSDF"]
    alpha = m.alpha
    if LASH_STRAND_ATTRIBUTE in s.attributes and LASH_COVER_ATTRIBUTE in s.attributes:
        alpha = _lash_alpha(g, m.alpha)
    p = _principled(
        g, m, **{"Base Color": _albedo(g, m, s), "Sheen Weight": 0.3, "Sheen Roughness": 0.3, "Alpha": alpha}
    )
    return p.outputs["BSDF"]


def _lash_alpha(g: NodeGraph, alpha: float) -> bpy.types.NodeSocket:
    """Coverage of a lash card cut into strands: a wave across the strand coordinate (jittered
    by noise so strands are uneven and cross) thresholded by the card's coverage, so strands
    stay solid at the root and thin out to nothing at the tips."""
    strand = _float_attribute(g, LASH_STRAND_ATTRIBUTE)
    jitter = g.node(
        "ShaderNodeTexNoise", {"Vector": _object_coords(g), "Scale": 1500.0, "Detail": 1.0}, noise_dimensions="3D"
    )
    phase = g.node("ShaderNodeMath", {0: jitter.outputs["Factor"], 1: 0.8, 2: strand}, operation="MULTIPLY_ADD")
    wave = g.node("ShaderNodeMath", {0: phase.outputs[0], 1: 2.0 * 3.14159265}, operation="MULTIPLY")
    wave = g.node("ShaderNodeMath", {0: wave.outputs[0]}, operation="COSINE")
    # a strand where cos > 1 - 2.6 * cover: solid where cover > ~0.8, thin where it is low
    cover = _float_attribute(g, LASH_COVER_ATTRIBUTE)
    edge = g.node("ShaderNodeMath", {0: cover, 1: -2.6, 2: 1.0}, operation="MULTIPLY_ADD")
    diff = g.node("ShaderNodeMath", {0: wave.outputs[0], 1: edge.outputs[0]}, operation="SUBTRACT")
    solid = g.node(
        "ShaderNodeMapRange",
        {"Value": diff.outputs[0], "From Min": 0.0, "From Max": 0.15, "To Min": 0.0, "To Max": alpha},
    )
    return solid.outputs["Result"]


@shader("glasses_frame")
def _frame(g: NodeGraph, m: Material, s: Surface):
    """Metal (metallic >= 0.5) or lacquered plastic (clear coat)."""
    plastic = m.metallic < 0.5
    p = _principled(
        g, m, **{"Base Color": _albedo(g, m, s), "Coat Weight": 0.6 if plastic else 0.0, "Coat Roughness": 0.05}
    )
    return p.outputs["BSDF"]


@shader("glasses_lens")
def _lens(g: NodeGraph, m: Material, s: Surface):
    """Thin tinted lens: Fresnel reflection over a tinted Transparent BSDF.

    A thin parallel plate barely displaces what is behind it, so straight-through
    transparency is accurate, casts tinted shadows and costs no refraction noise.
    """
    fresnel = g.node("ShaderNodeFresnel", {"IOR": max(m.ior, 1.0001)})
    clear = g.node("ShaderNodeBsdfTransparent", {"Color": tuple(m.base_color)})
    gloss = g.node("ShaderNodeBsdfGlossy", {"Color": (1.0, 1.0, 1.0), "Roughness": min(m.roughness, 0.05)})
    mix = g.node("ShaderNodeMixShader", {"Fac": fresnel.outputs["Fac"]})
    g.tree.links.new(clear.outputs[0], mix.inputs[1])
    g.tree.links.new(gloss.outputs[0], mix.inputs[2])
    return mix.outputs[0]


@shader("cloth", "headwear")
def _cloth(g: NodeGraph, m: Material, s: Surface):
    """Fabric: sheen plus a fine weave bump."""
    weave = g.node(
        "ShaderNodeTexWave",
        {"Vector": _object_coords(g), "Scale": 600.0, "Distortion": 2.0, "Detail": 2.0},
        wave_type="BANDS",
        bands_direction="DIAGONAL",
    )
    bump = g.node("ShaderNodeBump", {"Height": weave.outputs["Fac"], "Strength": 0.3, "Distance": 0.0003})
    p = _principled(
        g,
        m,
        **{
            "Base Color": _albedo(g, m, s),
            "Sheen Weight": m.sheen,
            "Sheen Roughness": SHEEN_ROUGHNESS,
            "Normal": bump.outputs["Normal"],
        },
    )
    return p.outputs["BSDF"]


@shader("marker")
def _marker(g: NodeGraph, m: Material, s: Surface):
    """Unlit emitter (calibration targets): radiance = base_color x emission."""
    e = g.node("ShaderNodeEmission", {"Color": _albedo(g, m, s), "Strength": float(m.emission)})
    return e.outputs["Emission"]
