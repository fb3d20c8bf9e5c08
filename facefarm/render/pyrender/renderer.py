"""The fast back-end: a :class:`Scene` rasterised with pyrender on headless EGL (llvmpipe on CPU).

Four passes per sample, all through one long-lived ``pyrender.OffscreenRenderer`` (one
EGL context, resized when the image size changes):

1. segmentation + depth: ``RenderFlags.SEG`` (no lighting, no multisampling, so every
   pixel is one class sampled at its centre); every face carries its own class id
   into the image (our segmentation shader), so classes never depend on scene order. Transparent
   glasses lenses are left out, so the class behind them shows. The depth buffer of
   this pass is the returned depth (camera z, metres, pixel centres).
2. landmark occluders (only when some mesh has ``occludes_landmarks=False``): the same
   pass restricted to the occluders; otherwise the depth of pass 1 is reused.
3. shadow maps (:mod:`facefarm.render.pyrender.shadows`): depth-only passes over the labelled
   meshes from the shadowed lights and a few sky directions, fitted to the depth of pass 1;
   they change no label.
4. colour: our own shaders (:mod:`facefarm.render.pyrender.shaders`) with 4x MSAA:
   vertex-colour albedo x material, smooth normals, the scene's lights plus the HDRI
   reduced to suns + SH irradiance + mip-mapped reflections
   (:mod:`facefarm.scene.env_lighting`), and the HDRI (or solid colour) drawn
   per pixel ray behind everything on a far quad. Output is display sRGB through the
   chosen view transform (AgX by default, like the Cycles back-end; or Standard).

Hair curves become camera-facing ribbons (:func:`facefarm.render.pyrender.geometry.ribbons`)
that take part in the segmentation and colour passes with their class id (they cast no shadow):
in colour as hair cards cut into strands with alpha to coverage, in the labels as the part of
each card at least half covered.

Not thread-safe: use one renderer per thread/process.
"""

from __future__ import annotations

import os
import time
import weakref
from dataclasses import dataclass, field, replace

import numpy as np

from facefarm.geometry.camera import CV_TO_GL, Camera
from facefarm.render.pyrender import device as gl_device
from facefarm.render.pyrender import geometry as geom
from facefarm.render.pyrender import label_passes
from facefarm.render.pyrender import shadows as shadow_maps
from facefarm.render.pyrender.buffers import primitive
from facefarm.render.pyrender.order import ordered_scene
from facefarm.render.pyrender.shaders import (
    ALBEDO_MAP_OFFSET,
    ALBEDO_MAP_SCALE,
    BG_UNIT,
    CLASS_UNIT,
    CLASS_WIDTH,
    ENV_UNIT,
    FACE_HAIR_SHARE,
    LUT_UNIT,
    MAX_SHADOWS,
    MAX_SKY,
    N_OPEN,
    SHADOW_UNIT,
    SHARP_ROUGHNESS,
    SKIN_ALBEDO_UNIT,
    SKIN_NORMAL_UNIT,
    SKIN_SPEC_UNIT,
    SPEC_MAP_SCALE,
    shader_dir,
)
from facefarm.render.pyrender.view import LOG2_MAX, LOG2_MIN, view_lut
from facefarm.scene.env_lighting import EnvLighting, environment_lighting
from facefarm.scene.environment import rotation_y
from facefarm.scene.model import (
    LASH_COVER_ATTRIBUTE,
    LASH_STRAND_ATTRIBUTE,
    OCCLUSION_ATTRIBUTE,
    Environment,
    Light,
    Material,
    RenderResult,
    Scene,
    SurfaceMaps,
)

#: Blender's default spot cone (45 degrees, blend 0.15), used because Light carries no cone.
_SPOT_OUTER = np.radians(22.5)
_SPOT_INNER = _SPOT_OUTER * 0.85
#: Rows of the face-class texture (llvmpipe's texture size limit; with the 3-byte first-face
#: index of a node, at most 2**24 faces).
MAX_CLASS_ROWS = 4096
#: Environments whose textures stay uploaded (each ~10 MB at 1024 x 512).
_MAX_ENV_TEXTURES = 8
#: Skin map sets whose textures stay uploaded (a person's images are often rendered in a row).
_MAX_MAP_TEXTURES = 2
#: Sky directions (0 = none, at most MAX_SKY) whose maps occlude the environment's SH light
#: (shadows.sky_lights).
SKY_DIRECTIONS = 2
#: Lights of each kind the lit pass binds (pyrender's MAX_N_LIGHTS, the shaders' array sizes).
_MAX_LIGHTS_PER_KIND = 4


@dataclass(frozen=True)
class _NodeParams:
    """Per-node uniforms of the lit pass (see :mod:`facefarm.render.pyrender.shaders`)."""

    sss: float = 0.0  # subsurface amount, 0..1
    sss_radius: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per channel, max 1
    specular: float = 0.5  # Principled "specular": f0 = 0.08 * specular
    sheen: float = 0.0  # fabric sheen weight (Material.sheen)
    strand_share: float = 1.0  # light reaching strands (FACE_HAIR_SHARE for brows, beards)
    two_sided: bool = False
    # hair cards: their alpha (the strands cut per fragment) becomes multisample coverage, so
    # they need no sorting, write depth where they cover, and leave the hair under them showing
    cards: bool = False
    maps: SurfaceMaps | None = None  # texture maps the skin variant samples (joints_0 = UVs)


@dataclass
class _Frame:
    """What the lit-pass hook needs while one Scene is being drawn."""

    lighting: EnvLighting
    env_rot: np.ndarray  # (3, 3) world -> map frame
    intensity: float
    bg_is_hdri: bool
    bg_color: tuple[float, float, float]
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    node_params: dict = field(default_factory=dict)  # pyrender node -> per-node uniforms
    shadow_lights: list = field(default_factory=list)  # shadows.ShadowLight that may get a map
    shadows: list = field(default_factory=list)  # shadows.ShadowView, one per map layer
    shadow_size: int = 1
    open_dirs: np.ndarray = field(default_factory=lambda: np.zeros((N_OPEN, 4), np.float32))


def _keep_display_on_delete(platform) -> None:
    """Make deleting this renderer destroy only its own EGL context.

    pyrender's EGL platform also calls ``eglTerminate`` on the display, which every EGL context
    of the process shares: deleting one renderer would then break every other renderer alive
    (``eglMakeCurrent`` fails, or GL calls hit a dead context). The display stays initialised
    for the process's lifetime instead (as EGL keeps it anyway while another context uses it).
    """
    if not hasattr(platform, "_egl_display"):
        return

    def delete_context() -> None:
        from OpenGL.EGL import eglDestroyContext

        if platform._egl_display is not None and platform._egl_context is not None:
            eglDestroyContext(platform._egl_display, platform._egl_context)
        platform._egl_context = None
        platform._egl_display = None

    platform.delete_context = delete_context


class _Context:
    """The OffscreenRenderer (one EGL context), our shader hook, and the GL textures it owns."""

    def __init__(self, width: int, height: int, shaders: str, view_lut: np.ndarray):
        import pyrender
        from pyrender.shader_program import ShaderProgramCache

        self.osr = pyrender.OffscreenRenderer(width, height)
        _keep_display_on_delete(self.osr._platform)
        inner = self.osr._renderer
        inner._program_cache = ShaderProgramCache(shader_dir=shaders)
        stock_bind_lighting = inner._bind_lighting
        # a weak reference: a cycle (context -> renderer -> hook -> context) would leave a dropped
        # renderer to the cyclic garbage collector, which may free its EGL context in the middle of
        # another renderer's draw calls (GL "invalid operation" there); without it, a dropped
        # renderer is freed at once, where its last reference goes
        me = weakref.ref(self)

        def bind_lighting(scene, program, node, flags):
            stock_bind_lighting(scene, program, node, flags)
            ctx = me()
            if ctx is not None:
                ctx._bind_extra(program, node)

        # pyrender calls self._bind_lighting once per drawn primitive in the lit pass,
        # with the program bound: the one place our extra uniforms can go in.
        inner._bind_lighting = bind_lighting
        self.frame: _Frame | None = None
        self.env_textures: dict[str, tuple[int, int, int]] = {}  # EnvLighting.key -> _env_textures()
        self.map_textures: dict[str, tuple[int, int, int]] = {}  # SurfaceMaps.key -> _map_textures()
        self._uniform_locs: dict[int, dict[str, int]] = {}  # program id -> uniform name -> location
        self._view_lut = view_lut
        self._lut_tex: int | None = None
        self._class_tex: int | None = None
        self.shadow_maps = shadow_maps.ShadowMaps()

    @staticmethod
    def _upload(img: np.ndarray, mipmaps: bool) -> int:
        from OpenGL import GL

        # half floats top out at 65504; brighter pixels (a sun core) stay saturated anyway
        img = np.ascontiguousarray(np.minimum(img, 65000.0), dtype=np.float32)
        h, w = img.shape[:2]
        tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        # row 0 of the array (top of the image) is texture t = 0, as the shaders expect
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGB16F, w, h, 0, GL.GL_RGB, GL.GL_FLOAT, img)
        if mipmaps:
            GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
            # llvmpipe builds the mip levels by drawing, queued on its rasteriser threads: a draw
            # that samples them soon after could read levels not yet written, so a busy machine
            # made the reflections of a sample's first render in an HDRI differ from run to run
            # (seen: 15-20 % of a 96 px image, up to 55 levels). Once per HDRI and context.
            GL.glFinish()
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_REPEAT)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(
            GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR if mipmaps else GL.GL_LINEAR
        )
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        return int(tex)

    @staticmethod
    def _upload_map(texels: np.ndarray) -> int:
        """A mip-mapped 8-bit texture of an (n, n, c) map in 0..1, c = 2 or 3, clamped at the edges
        (the UV islands have margins filled from their edges, :mod:`facefarm.compose.skin_maps`)."""
        from OpenGL import GL

        img = np.ascontiguousarray(np.clip(np.rint(texels * 255.0), 0, 255), dtype=np.uint8)
        internal, fmt = {2: (GL.GL_RG8, GL.GL_RG), 3: (GL.GL_RGB8, GL.GL_RGB)}[img.shape[2]]
        h, w = img.shape[:2]
        tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        # row 0 of the array is v = 0, texture t = 0
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, internal, w, h, 0, fmt, GL.GL_UNSIGNED_BYTE, img)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        GL.glFinish()  # llvmpipe draws mip levels on its threads: see _upload
        for wrap in (GL.GL_TEXTURE_WRAP_S, GL.GL_TEXTURE_WRAP_T):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, wrap, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        return int(tex)

    def _map_textures(self, maps: SurfaceMaps) -> tuple[int, int, int]:
        """(albedo, normal, roughness + specular) textures of a map set, uploaded once per key."""
        from OpenGL import GL

        key = maps.key or f"id-{id(maps)}"  # unnamed maps: reused only while this object is drawn
        hit = self.map_textures.get(key)
        if hit is not None:
            self.map_textures[key] = self.map_textures.pop(key)
            return hit
        if len(self.map_textures) >= _MAX_MAP_TEXTURES:
            GL.glDeleteTextures(list(self.map_textures.pop(next(iter(self.map_textures)))))
        # encoded as the skin variant decodes them (shaders.ALBEDO_MAP_OFFSET ...)
        hit = (
            self._upload_map((maps.albedo - ALBEDO_MAP_OFFSET) / ALBEDO_MAP_SCALE),
            self._upload_map(0.5 * maps.normal + 0.5),
            self._upload_map(np.stack([maps.roughness, maps.specular / SPEC_MAP_SCALE], axis=2)),
        )
        self.map_textures[key] = hit
        return hit

    @staticmethod
    def _upload_lut(lut: np.ndarray) -> int:
        from OpenGL import GL

        n = lut.shape[0]
        tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_3D, tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        # lut is indexed [b, g, r]: r runs fastest, so texture s = red, t = green, r = blue
        GL.glTexImage3D(
            GL.GL_TEXTURE_3D, 0, GL.GL_RGB32F, n, n, n, 0, GL.GL_RGB, GL.GL_FLOAT, np.ascontiguousarray(lut, np.float32)
        )
        for wrap in (GL.GL_TEXTURE_WRAP_S, GL.GL_TEXTURE_WRAP_T, GL.GL_TEXTURE_WRAP_R):
            GL.glTexParameteri(GL.GL_TEXTURE_3D, wrap, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_3D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_3D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        return int(tex)

    def bind_face_classes(self, face_class: np.ndarray) -> None:
        """Upload the (m,) value of every face the SEG passes draw (its class id; a face index + 1
        for the normals' pass; :data:`NOT_DRAWN` to leave it out) and bind it on ``CLASS_UNIT``
        (pyrender's SEG pass binds no textures, so it stays there)."""
        from OpenGL import GL

        # pyrender makes its context current when it renders and never lets go of it: after
        # another renderer of the process drew (or closed), these calls would go to its context
        # (or none), leaving ours with the last sample's classes
        self.osr._platform.make_current()

        rows = max(1, -(-len(face_class) // CLASS_WIDTH))
        if rows > MAX_CLASS_ROWS:
            raise ValueError(
                f"{len(face_class)} labelled faces: more than the segmentation pass's {CLASS_WIDTH * MAX_CLASS_ROWS}"
            )
        texels = np.zeros(rows * CLASS_WIDTH, np.uint32)
        texels[: len(face_class)] = face_class
        if self._class_tex is None:
            self._class_tex = int(GL.glGenTextures(1))
        GL.glActiveTexture(GL.GL_TEXTURE0 + CLASS_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._class_tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D, 0, GL.GL_R32UI, CLASS_WIDTH, rows, 0, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_INT, texels
        )
        for param in (GL.GL_TEXTURE_MIN_FILTER, GL.GL_TEXTURE_MAG_FILTER):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, param, GL.GL_NEAREST)

    def _env_textures(self, lighting: EnvLighting) -> tuple[int, int, int]:
        """(reflection texture, background texture, width) for an environment, uploaded once."""
        from OpenGL import GL

        hit = self.env_textures.get(lighting.key)
        if hit is not None:
            self.env_textures[lighting.key] = self.env_textures.pop(lighting.key)  # most recent last
            return hit
        if len(self.env_textures) >= _MAX_ENV_TEXTURES:  # bound GL memory when many HDRIs rotate through
            old = self.env_textures.pop(next(iter(self.env_textures)))
            GL.glDeleteTextures(list(old[:2]))
        # reflections: the map without its suns (they are lights), mip-mapped for roughness;
        # background: the map itself
        hit = (
            self._upload(lighting.residual, True),
            self._upload(lighting.radiance, False),
            lighting.residual.shape[1],
        )
        self.env_textures[lighting.key] = hit
        return hit

    def _bind_extra(self, program, node) -> None:
        from OpenGL import GL

        fr = self.frame
        if fr is None:
            return
        pid = program._program_id
        locs = self._uniform_locs.setdefault(pid, {})

        def loc(name):
            if name not in locs:
                locs[name] = GL.glGetUniformLocation(pid, name)
            return locs[name]

        if self._lut_tex is None:
            self._lut_tex = self._upload_lut(self._view_lut)
        refl, bg, width = self._env_textures(fr.lighting)
        for unit, target, tex in (
            (ENV_UNIT, GL.GL_TEXTURE_2D, refl),
            (BG_UNIT, GL.GL_TEXTURE_2D, bg),
            (LUT_UNIT, GL.GL_TEXTURE_3D, self._lut_tex),
        ):
            GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
            GL.glBindTexture(target, tex)
        GL.glUniform1f(loc("lut_size"), float(self._view_lut.shape[0]))
        GL.glUniform2f(loc("lut_range"), LOG2_MIN, LOG2_MAX)
        GL.glUniform3f(loc("white_balance"), *map(float, fr.white_balance))
        GL.glUniform1f(loc("env_width"), float(width))
        self._bind_shadows(loc)
        GL.glUniform1f(loc("env_max_lod"), float(np.log2(width)))
        GL.glUniform3fv(loc("sh"), 9, np.ascontiguousarray(fr.lighting.sh, np.float32))
        GL.glUniformMatrix3fv(loc("env_rot"), 1, GL.GL_TRUE, np.ascontiguousarray(fr.env_rot, np.float32))
        GL.glUniform1f(loc("env_intensity"), float(fr.intensity))
        GL.glUniform1i(loc("bg_is_hdri"), int(fr.bg_is_hdri))
        GL.glUniform3f(loc("bg_color"), *map(float, fr.bg_color))
        p = fr.node_params.get(node, _NodeParams())
        GL.glUniform1f(loc("sss_amount"), p.sss)
        GL.glUniform3f(loc("sss_radius"), *p.sss_radius)
        GL.glUniform1f(loc("spec_level"), p.specular)
        GL.glUniform1f(loc("sheen"), p.sheen)
        GL.glUniform1f(loc("strand_share"), p.strand_share)
        GL.glUniform1i(loc("two_sided"), int(p.two_sided))
        (GL.glEnable if p.cards else GL.glDisable)(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)
        if p.maps is not None:
            for unit, tex in zip((SKIN_ALBEDO_UNIT, SKIN_NORMAL_UNIT, SKIN_SPEC_UNIT), self._map_textures(p.maps)):
                GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
                GL.glBindTexture(GL.GL_TEXTURE_2D, tex)

    def end_cards(self) -> None:
        """Alpha to coverage off again (the colour pass turns it on for hair cards only)."""
        from OpenGL import GL

        platform = self.osr._platform
        platform.make_current()
        try:
            GL.glDisable(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)
        finally:
            platform.make_uncurrent()

    def _bind_shadows(self, loc) -> None:
        from OpenGL import GL

        fr = self.frame
        assert fr is not None
        GL.glActiveTexture(GL.GL_TEXTURE0 + SHADOW_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self.shadow_maps.texture)
        slots = {kind: np.zeros(MAX_SHADOWS * 4, np.int32) for kind in ("directional", "point", "spot")}
        mats = np.zeros((MAX_SHADOWS, 4, 4), np.float32)
        offsets = np.zeros(MAX_SHADOWS, np.float32)
        sky = np.zeros((MAX_SKY, 4), np.float32)
        n_sky, sky_layer = 0, 0
        for k, view in enumerate(fr.shadows):
            mats[k] = view.tex
            offsets[k] = view.offset
            if view.kind == "sky":
                sky_layer = k - n_sky
                sky[n_sky] = (*view.direction, view.weight)
                n_sky += 1
            else:
                slots[view.kind][view.index] = k + 1
        GL.glUniform1i(loc("n_sky"), n_sky)
        GL.glUniform1i(loc("sky_layer"), sky_layer)
        GL.glUniform4fv(loc("sky_dirs"), MAX_SKY, sky)
        GL.glUniform4fv(loc("open_dirs"), N_OPEN, fr.open_dirs)
        for kind, slot in slots.items():
            GL.glUniform1iv(loc(f"{kind}_shadow"), _MAX_LIGHTS_PER_KIND, slot[:_MAX_LIGHTS_PER_KIND])
        GL.glUniformMatrix4fv(loc("shadow_mat"), MAX_SHADOWS, GL.GL_TRUE, mats)
        GL.glUniform1fv(loc("shadow_offset"), MAX_SHADOWS, offsets)

    def render_shadows(
        self, frame: _Frame, depth: np.ndarray, camera: Camera, bounds: np.ndarray | None, casters: list
    ) -> None:
        """Fit and draw the shadow maps of ``frame``'s lights (see :mod:`.shadows`)."""
        size = shadow_maps.map_size(camera.width, camera.height)
        lights = shadow_maps.chosen(frame.shadow_lights)
        if SKY_DIRECTIONS:
            lights += shadow_maps.sky_lights(camera, frame.lighting.sh, frame.env_rot, SKY_DIRECTIONS)
            frame.open_dirs = shadow_maps.open_directions(camera, frame.lighting.sh, frame.env_rot)
        views = (
            []
            if bounds is None or not lights
            else shadow_maps.plan(lights, shadow_maps.visible_points(depth, camera), bounds, size)
        )
        self.osr._platform.make_current()
        try:
            self.shadow_maps.render(views, size, casters)
        finally:
            self.osr._platform.make_uncurrent()
        frame.shadows, frame.shadow_size = views, size

    def resize(self, width: int, height: int) -> None:
        """Framebuffers follow the viewport; pyrender reallocates them on the next render."""
        self.osr.viewport_width, self.osr.viewport_height = int(width), int(height)

    def delete(self) -> None:
        from OpenGL import GL

        platform = self.osr._platform
        platform.make_current()
        if self.env_textures:
            GL.glDeleteTextures([t for hit in self.env_textures.values() for t in hit[:2]])
        self.env_textures = {}
        if self.map_textures:
            GL.glDeleteTextures([t for hit in self.map_textures.values() for t in hit])
        self.map_textures = {}
        for tex in (self._lut_tex, self._class_tex):
            if tex is not None:
                GL.glDeleteTextures([tex])
        self._lut_tex = self._class_tex = None
        self.shadow_maps.delete()
        self.osr._renderer.delete()
        if getattr(platform, "_egl_context", None) is not None:
            # pyrender's own delete() calls eglTerminate, which kills every other EGL context of
            # the process on the same display (another renderer's included): destroy only ours.
            from OpenGL import EGL

            EGL.eglMakeCurrent(platform._egl_display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
            EGL.eglDestroyContext(platform._egl_display, platform._egl_context)
            platform._egl_context = None
            platform._egl_display = None
        else:
            platform.delete_context()
        self.osr._renderer = None
        self.osr._platform = None


class PyrenderRenderer:
    """Renders :class:`Scene` objects to RGB, segmentation and depth; keep one alive and reuse it::

    with PyrenderRenderer() as r:
        result = r.render(scene)  # RenderResult(rgb, segmentation, depth, timings, occluder_depth)
    """

    def __init__(self, view_transform: str = "AgX", device: str = "auto"):
        """``view_transform``: how linear light becomes 8-bit sRGB, as in the Cycles back-end:
        "AgX" (Blender's default, soft highlight roll-off) or "Standard" (plain sRGB curve,
        clips at 1), or any other view of Blender's OCIO config. ``device``: the catalog's
        ``render.device``; "cuda" or "optix" demand the worker's NVIDIA GPU (and refuse a software
        rasteriser), anything else draws on EGL's default device."""
        # EGL is the headless platform; must be chosen before PyOpenGL is first imported.
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        self.device = device
        gl_device.choose(device)
        import pyrender  # noqa: F401  (fails here, not mid-render, when the GL stack is missing)

        self.view_transform = view_transform
        self._view_lut = view_lut(view_transform)
        self._shaders = shader_dir()
        # One GL context, created on first use and resized when the image size changes:
        # shaders compile once, and no second EGL context can be torn down under us.
        self._ctx: _Context | None = None

    def _context(self, width: int, height: int) -> _Context:
        if self._ctx is None:
            self._ctx = _Context(width, height, self._shaders, self._view_lut)
            self.gl_renderer = gl_device.renderer_string()
            gl_device.check_renderer(self.gl_renderer, self.device)
        else:
            self._ctx.resize(width, height)
        return self._ctx

    def render(self, scene: Scene, labels: frozenset[str] = frozenset()) -> RenderResult:
        """Rasterise ``scene``; see the module docstring for what each output holds. ``labels``:
        optional label layers to draw too (``amodal_masks``, ``normals``; :mod:`.label_passes`)."""
        import pyrender
        from pyrender import RenderFlags

        t0 = time.perf_counter()
        cam = scene.camera
        ctx = self._context(cam.width, cam.height)
        built = _build(scene, pyrender)
        ctx.bind_face_classes(built.face_class)
        t1 = time.perf_counter()

        seg_rgb, depth = ctx.osr.render(built.scene, RenderFlags.SEG, seg_node_map=built.seg_map)
        segmentation = np.ascontiguousarray(seg_rgb[:, :, 0])
        depth = np.ascontiguousarray(depth, dtype=np.float32)
        t2 = time.perf_counter()

        if built.occluder_map is not None:
            _, occ = ctx.osr.render(built.scene, RenderFlags.SEG, seg_node_map=built.occluder_map)
            occluder_depth = np.ascontiguousarray(occ, dtype=np.float32)
        else:
            occluder_depth = depth
        t3 = time.perf_counter()

        extra: dict = {}
        if "amodal_masks" in labels:
            extra["segmentation_head"], extra["layers"] = label_passes.amodal(ctx, built)
        if "normals" in labels:
            extra["normals"] = label_passes.normals(ctx, built, cam)
        t_extra = time.perf_counter()

        ctx.render_shadows(built.frame, depth, cam, built.bounds, built.casters)
        t_shadow = time.perf_counter()

        for m in built.seg_meshes:
            m.is_visible = False
        ctx.frame = built.frame
        try:
            rgb, _ = ctx.osr.render(built.scene, RenderFlags.NONE)
        finally:
            ctx.frame = None
            ctx.end_cards()
            for m in built.seg_meshes:
                m.is_visible = True
        rgb = np.ascontiguousarray(rgb[:, :, :3])
        t4 = time.perf_counter()
        timings = {
            "build_ms": 1e3 * (t1 - t0),
            "seg_ms": 1e3 * (t2 - t1),
            "occluder_ms": 1e3 * (t3 - t2),
            "label_layers_ms": 1e3 * (t_extra - t3),
            "shadow_ms": 1e3 * (t_shadow - t_extra),
            "rgb_ms": 1e3 * (t4 - t_shadow),
            "total_ms": 1e3 * (t4 - t0),
        }
        return RenderResult(
            rgb=rgb,
            segmentation=segmentation,
            depth=depth,
            timings=timings,
            occluder_depth=occluder_depth,
            **extra,
        )

    def close(self) -> None:
        """Release every GL context and texture."""
        if self._ctx is not None:
            self._ctx.delete()
            self._ctx = None

    def __enter__(self) -> "PyrenderRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Scene -> pyrender scene


@dataclass
class _Built:
    scene: object  # pyrender.Scene
    seg_map: dict  # seg nodes (the SEG passes draw only these)
    occluder_map: dict | None  # subset of seg_map, or None when identical
    seg_meshes: list  # pyrender.Mesh objects that only the SEG passes draw
    face_class: np.ndarray  # (m,) uint8 class of every face the SEG passes draw, in draw order
    bare_class: np.ndarray  # (m,) uint8 the same with nothing worn over it (Mesh.bare_class)
    frame: _Frame
    bounds: np.ndarray | None  # (2, 3) min/max corner of what the SEG passes draw
    casters: list  # (SEG primitive, leading indices that cast shadows)
    parts: list  # geom.SegPart of everything the SEG passes draw, in the order of face_class


def _pyrender_material(pyrender, material: Material, blend: bool = False):
    """``blend``: drawn blended after the opaque meshes even at alpha 1 (the shader cuts it)."""
    alpha = float(np.clip(material.alpha, 0.0, 1.0))
    return pyrender.MetallicRoughnessMaterial(
        baseColorFactor=(*map(float, material.base_color), alpha),
        metallicFactor=float(material.metallic),
        roughnessFactor=float(material.roughness),
        doubleSided=geom.double_sided(material),
        alphaMode="BLEND" if alpha < 1.0 or blend else "OPAQUE",
    )


def _node_params(material: Material, two_sided: bool, maps: bool = False) -> _NodeParams:
    """``maps``: the mesh samples ``material.maps`` (it has UVs)."""
    radius = np.asarray(material.subsurface_radius, float)
    radius = radius / max(float(radius.max()), 1e-6)
    return _NodeParams(
        sss=float(material.subsurface),
        sss_radius=(float(radius[0]), float(radius[1]), float(radius[2])),
        specular=float(material.specular),
        sheen=float(material.sheen or 0.0),
        strand_share=FACE_HAIR_SHARE if material.kind in ("brow", "beard") else 1.0,
        two_sided=two_sided,
        maps=material.maps if maps else None,
    )


def _variant(material: Material, n: int) -> dict:
    """Extra Primitive arguments selecting a shader variant (see pyrender_shaders)."""
    if float(material.roughness) < SHARP_ROUGHNESS:
        return {"texcoord_1": np.zeros((n, 2), np.float32)}  # per-fragment highlights
    return {}


def _light_node(pyrender, light: Light):
    c = tuple(float(x) for x in light.color)
    if light.kind == "directional":
        return pyrender.DirectionalLight(color=c, intensity=float(light.intensity))
    if light.kind == "point":
        # watts -> radiant intensity (W/sr) of an isotropic emitter
        return pyrender.PointLight(color=c, intensity=float(light.intensity) / (4 * np.pi))
    if light.kind == "spot":
        return pyrender.SpotLight(
            color=c,
            intensity=float(light.intensity) / (4 * np.pi),
            innerConeAngle=_SPOT_INNER,
            outerConeAngle=_SPOT_OUTER,
        )
    # area: a one-sided Lambertian emitter, on-axis intensity P / pi, ~cos falloff; size ignored
    return pyrender.SpotLight(
        color=c, intensity=float(light.intensity) / np.pi, innerConeAngle=0.0, outerConeAngle=np.pi / 2
    )


def _light_power(light: Light) -> float:
    """A rough measure of a scene light's strength, for choosing which lights cast shadows."""
    return float(light.intensity) * float(max(light.color))


def _environment(env: Environment) -> tuple[EnvLighting, bool, tuple[float, float, float]]:
    lighting = environment_lighting(env)
    if isinstance(env.background, str):
        r, g, b = (float(c) for c in env.color)
        return lighting, env.hdri is not None, (r, g, b)
    r, g, b = (float(c) for c in env.background)
    return lighting, False, (r, g, b)


def _background_quad(cam: Camera) -> np.ndarray:
    """(4, 3) world corners of a far plane slightly larger than the image."""
    d = 0.98 * cam.far
    fx, fy, cx, cy = cam.K[0, 0], cam.K[1, 1], cam.K[0, 2], cam.K[1, 2]
    m = 2.0
    uv = np.array([[-m, -m], [cam.width + m, -m], [cam.width + m, cam.height + m], [-m, cam.height + m]])
    pc = np.column_stack([(uv[:, 0] - cx) * d / fx, (uv[:, 1] - cy) * d / fy, np.full(4, d)])
    c2w = cam.camera_to_world
    return pc @ c2w[:3, :3].T + c2w[:3, 3]


def _build(scene: Scene, pyrender) -> _Built:
    cam = scene.camera
    ps = ordered_scene(pyrender, bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=(0.0, 0.0, 0.0))
    K = cam.K
    pcam = pyrender.IntrinsicsCamera(
        fx=float(K[0, 0]),
        fy=float(K[1, 1]),
        cx=float(K[0, 2]),
        cy=float(K[1, 2]),
        znear=float(cam.near),
        zfar=float(cam.far),
    )
    ps.add(pcam, pose=cam.camera_to_world @ CV_TO_GL)

    lighting, bg_is_hdri, bg_color = _environment(scene.environment)
    env = scene.environment
    frame = _Frame(
        lighting=lighting,
        env_rot=rotation_y(-env.rotation_deg),
        intensity=float(env.intensity),
        bg_is_hdri=bg_is_hdri,
        bg_color=bg_color,
        white_balance=scene.white_balance,
    )
    # everything labelled, pooled into one indexed mesh for the landmark occluders and one for
    # the rest (their faces' classes in one texture): two draws per SEG pass however many
    # meshes there are
    pools: dict[bool, list] = {True: [], False: []}

    def add_seg(vertices, faces, face_class, both_sides, occludes, casts_shadow=True, normals=None, bare_class=None):
        # normals: (n, 3) per vertex for the normals label, None = flat (each face's own); bare_class:
        # the faces' classes with nothing worn over them (the amodal masks), None = face_class
        f, cls = geom.class_faces(faces, face_class, both_sides)
        bare = cls if bare_class is None else geom.class_faces(faces, bare_class, both_sides)[1]
        pools[bool(occludes)].append((np.asarray(vertices, np.float32), f, cls, casts_shadow, normals, bare))

    for mesh in scene.meshes:
        if len(mesh.faces) == 0:
            continue
        mat = mesh.material
        colors = None if mesh.vertex_colors is None else np.asarray(mesh.vertex_colors, np.float32)
        if mesh.smooth:
            positions = np.asarray(mesh.vertices, np.float32)
            normals = (
                np.asarray(mesh.normals, np.float32)
                if mesh.normals is not None
                else geom.vertex_normals(mesh.vertices, mesh.faces)
            )
            indices = np.asarray(mesh.faces, np.int32)
        else:
            positions, normals, colors, indices = geom.flat_shaded(mesh.vertices, mesh.faces, colors)
        color_0 = None if colors is None else np.column_stack([colors, np.ones(len(colors), np.float32)])
        extra = _variant(mat, len(positions))
        attributes = mesh.attributes or {}
        light = attributes.get(OCCLUSION_ATTRIBUTE)
        if light is not None and mesh.smooth:
            # how much light reaches these vertices (the inside of the mouth), in texcoord_0.x
            extra["texcoord_0"] = np.column_stack([light, np.zeros(len(light))]).astype(np.float32)
        mapped = mat.maps is not None and mesh.uvs is not None and mesh.smooth
        if mapped:
            # texture maps (skin): the UVs in joints_0.xy select the mapped shader variant
            uv = np.asarray(mesh.uvs, np.float32)
            extra["joints_0"] = np.column_stack([uv, np.zeros((len(uv), 2), np.float32)])
        lash = mesh.smooth and LASH_STRAND_ATTRIBUTE in attributes and LASH_COVER_ATTRIBUTE in attributes
        if lash:
            # lash cards: strand coordinate and coverage in weights_0.xy, cut into strands per fragment
            strand, cover = attributes[LASH_STRAND_ATTRIBUTE], attributes[LASH_COVER_ATTRIBUTE]
            extra["weights_0"] = np.column_stack([strand, cover, np.zeros((len(strand), 2))]).astype(np.float32)
        prim = primitive(
            pyrender,
            positions=positions,
            normals=normals,
            indices=indices,
            color_0=color_0,
            material=_pyrender_material(pyrender, mat, blend=lash),
            mode=pyrender.constants.GLTF.TRIANGLES,
            **extra,
        )
        node = ps.add(pyrender.Mesh([prim], name=mesh.name))
        frame.node_params[node] = _node_params(mat, geom.double_sided(mat), mapped)
        if not geom.is_transparent_lens(mat):
            add_seg(
                mesh.vertices,
                mesh.faces,
                mesh.face_class,
                geom.double_sided(mat),
                mesh.occludes_landmarks,
                normals=normals if mesh.smooth else None,
                bare_class=mesh.bare_class,
            )

    for material, group in _same_but_colour(scene.curves):
        ribbons = [(c, geom.ribbons(c, cam)) for c in group]
        ribbons = [(c, rb) for c, rb in ribbons if len(rb.faces)]
        if not ribbons:
            continue
        rb = geom.Ribbons(
            **{
                f: np.concatenate([getattr(r, f) for _, r in ribbons])
                for f in ("vertices", "normals", "shaded_vertices", "tangents", "cards")
            },
            faces=_stack_faces([r.faces for _, r in ribbons], [len(r.vertices) for _, r in ribbons]),
            colors=np.concatenate([r.colors * np.array([*c.material.base_color, 1.0], np.float32) for c, r in ribbons]),
        )
        # tangents select the strand shader variant (anisotropic highlights, per-vertex tint),
        # weights_0 with them the hair cards (strands cut per fragment, alpha to coverage);
        # the group's colours ride on the vertices, so one draw serves every colour of a kind
        prim = primitive(
            pyrender,
            positions=rb.shaded_vertices,
            normals=rb.normals,
            indices=rb.faces,
            tangents=rb.tangents,
            weights_0=rb.cards,
            color_0=rb.colors,
            material=_pyrender_material(pyrender, material),
            mode=pyrender.constants.GLTF.TRIANGLES,
        )
        node = ps.add(pyrender.Mesh([prim], name=group[0].name))
        frame.node_params[node] = replace(_node_params(material, True), cards=True)
        # hair occludes landmarks (a fringe over the brows hides them)
        # hair casts no shadow map: its ribbons are most of the triangles (4-6x a map's cost), and
        # its self-shadowing is STRAND_LIGHT_SHARE's
        add_seg(
            rb.vertices,
            rb.faces,
            np.concatenate([np.full(len(r.faces), c.class_id, np.uint8) for c, r in ribbons]),
            True,
            True,
            casts_shadow=False,
            normals=rb.normals,
        )

    quad = pyrender.Primitive(
        positions=_background_quad(cam),
        indices=np.array([[0, 1, 2], [0, 2, 3]]),
        material=pyrender.MetallicRoughnessMaterial(doubleSided=True),
        mode=pyrender.constants.GLTF.TRIANGLES,
    )
    ps.add(pyrender.Mesh([quad], name="background"))  # no normals: the backdrop shader variant

    r_env = rotation_y(env.rotation_deg)
    suns = [(r_env @ d, p * env.intensity) for d, p in lighting.suns]
    lights = [(_light_node(pyrender, lt), lt.pose, _light_power(lt), True) for lt in scene.lights]
    lights += [
        (
            pyrender.DirectionalLight(color=tuple(p / max(p.max(), 1e-12)), intensity=float(p.max())),
            _pose_towards(-d),
            float(p.max()),
            False,
        )
        for d, p in suns
    ]
    # pyrender binds each kind's lights in the order they were added (ordered_scene)
    kinds = {pyrender.DirectionalLight: "directional", pyrender.PointLight: "point", pyrender.SpotLight: "spot"}
    counts = dict.fromkeys(kinds.values(), 0)
    for light, pose, power, from_scene in lights:
        ps.add(light, pose=pose)
        kind = kinds[type(light)]
        frame.shadow_lights.append(
            shadow_maps.ShadowLight(kind, counts[kind], np.asarray(pose, float), power, from_scene)
        )
        counts[kind] += 1

    seg_map, occ_map, seg_meshes, classes, casters, drawn, bare = {}, {}, [], [], [], [], []
    first_face = 0
    bounds = None
    for occludes, parts in pools.items():
        if not parts:
            continue
        pos = np.concatenate([p[0] for p in parts])
        box = np.stack([pos.min(axis=0), pos.max(axis=0)]).astype(np.float64)
        bounds = box if bounds is None else np.stack([np.minimum(bounds[0], box[0]), np.maximum(bounds[1], box[1])])
        faces = _stack_faces([p[1] for p in parts], [len(p[0]) for p in parts])
        pm = pyrender.Mesh([primitive(pyrender, positions=pos, indices=faces, mode=pyrender.constants.GLTF.TRIANGLES)])
        node = ps.add(pm)
        seg_meshes.append(pm)
        # the shadow casters: a prefix of the pool's faces (meshes come before hair ribbons)
        casting = [len(p[1]) for p in parts if p[3]]
        assert all(p[3] for p in parts[: len(casting)]), "shadow casters must lead their pool"
        if casting:
            casters.append((pm.primitives[0], 3 * sum(casting)))
        # the pool's first face in the class texture, as three bytes (the segmentation shader)
        seg_map[node] = ((first_face >> 16) & 255, (first_face >> 8) & 255, first_face & 255)
        if occludes:
            occ_map[node] = seg_map[node]
        classes += [p[2] for p in parts]
        bare += [p[5] for p in parts]
        drawn += [geom.SegPart(p[0], p[1], p[4]) for p in parts]
        first_face += len(faces)
    occluder_map = None if len(occ_map) == len(seg_map) else occ_map
    face_class = np.concatenate(classes) if classes else np.zeros(0, np.uint8)
    bare_class = np.concatenate(bare) if bare else np.zeros(0, np.uint8)
    return _Built(
        scene=ps,
        seg_map=seg_map,
        occluder_map=occluder_map,
        seg_meshes=seg_meshes,
        face_class=face_class,
        bare_class=bare_class,
        frame=frame,
        bounds=bounds,
        casters=casters,
        parts=drawn,
    )


def _same_but_colour(curves) -> list[tuple[Material, list]]:
    """``curves`` grouped by everything but their material's colour (hair comes as up to five
    Curves by grey share, brows and beards likewise), in scene order; each group's material
    has a white ``base_color``, the members' colours going onto their vertices."""
    groups: dict = {}
    for c in curves:
        m = c.material
        key = (
            c.class_id,
            m.kind,
            m.roughness,
            m.metallic,
            m.specular,
            m.subsurface,
            tuple(m.subsurface_radius),
            m.alpha,
        )
        groups.setdefault(key, []).append(c)
    return [(replace(g[0].material, base_color=(1.0, 1.0, 1.0)), g) for g in groups.values()]


def _stack_faces(faces: list[np.ndarray], n_vertices: list[int]) -> np.ndarray:
    offsets = np.concatenate([[0], np.cumsum(n_vertices)[:-1]])
    return np.concatenate([f + o for f, o in zip(faces, offsets)]).astype(np.int32)


def _pose_towards(direction: np.ndarray) -> np.ndarray:
    """(4, 4) pose whose local -z points along ``direction`` (for a directional light)."""
    z = -np.asarray(direction, float)
    z /= np.linalg.norm(z)
    up = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, np.cross(z, x), z
    return pose
