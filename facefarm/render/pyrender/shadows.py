"""Shadow maps for the fast back-end's lit pass.

Which lights cast shadows: the scene's own lights (point, spot, directional; an area light as a
spot at its centre, as the lit pass treats it) and the environment's suns (its key directions,
:mod:`facefarm.scene.env_lighting`), at most :data:`MAX_SHADOWS` of them, scene lights first,
then suns by power.

The environment's occlusion: the SH irradiance (the sky) is scaled per vertex by how much of
it reaches the surface, estimated from maps of a few sky directions (:func:`sky_lights`: the
zenith, 35 degrees up towards the camera, and with four, 35 degrees up to either side), each
weighted by the sky's irradiance from there and the surface's cosine, against the rest of the
sphere taken as open (:func:`open_directions`). It is what darkens a forehead under a cap's
brim (sky light there, not sunlight, is most of it). The reflections stay unshadowed.

Each shadowed light gets one depth-only pass over the meshes the segmentation pass draws
(transparent lenses cast nothing; hair ribbons neither: they are most of a sample's triangles,
and drawing them made a map 4-6x dearer; hair's self-shadowing stays the shaders'
``STRAND_LIGHT_SHARE``) into one layer of a depth texture array. Its frustum is fitted to what the camera sees: the points of the
segmentation pass's depth image, so no resolution goes to the body below the frame or to the
back of the head. A directional light gets an orthographic box over those points, reaching
towards the light as far as the scene's bounds; a point or spot light a perspective frustum
from its position around them. The map's size follows the image (:func:`map_size`).

Bias: the depth pass is drawn with a slope-scaled polygon offset, and the lit pass looks up
a point moved along its normal by about a texel, more at grazing light (see the shaders).
All of it is plain depth rasterisation in a fixed order: the same scene gives the same maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facefarm.geometry.camera import Camera
from facefarm.render.pyrender.shaders import MAX_LIGHT_SHADOWS, MAX_SKY, N_OPEN
from facefarm.scene.env_lighting import sh_basis

#: (u, v, depth) in [0, 1] from GL clip coordinates, homogeneous.
TEX_FROM_CLIP = np.array([[0.5, 0, 0, 0.5], [0, 0.5, 0, 0.5], [0, 0, 0.5, 0.5], [0, 0, 0, 1.0]])
#: Widest half-angle of a point or spot light's frustum; receivers outside it are unshadowed.
_MAX_HALF_ANGLE = np.radians(75.0)
#: Normal offset of a lookup, in texels of the map (grown towards grazing light by the shader).
OFFSET_TEXELS = 1.5
#: Slope-scaled polygon offset of the depth pass (factor, units).
POLYGON_OFFSET = (1.5, 4.0)
#: Pixels of the segmentation depth image kept per side when fitting frusta.
_FIT_PIXELS = 96


@dataclass(frozen=True)
class ShadowLight:
    """A light that may cast shadows: ``kind`` as the lit pass binds it (``directional``,
    ``point`` or ``spot``), ``index`` among the lights of that kind in binding order, ``pose``
    its (4, 4) light-to-world pose (local -z along the light), ``power`` for choosing."""

    kind: str
    index: int
    pose: np.ndarray
    power: float
    from_scene: bool


@dataclass(frozen=True)
class ShadowView:
    """One shadow map: ``clip`` (4, 4) world -> GL clip coordinates of the depth pass;
    ``offset`` the world normal offset of a lookup."""

    kind: str
    index: int
    clip: np.ndarray
    offset: float
    direction: tuple[float, float, float] = (0.0, 0.0, 0.0)  # towards a directional light or sky
    weight: float = 0.0  # a sky direction's weight

    @property
    def tex(self) -> np.ndarray:
        """(4, 4) world -> homogeneous (u, v, depth) in [0, 1]."""
        return TEX_FROM_CLIP @ self.clip


def map_size(width: int, height: int) -> int:
    """Side of the shadow maps for an image: twice its longer side, rounded up to a power of two
    (the frusta hug what the camera sees, so a texel is about half a pixel), 256..2048."""
    side = 2 * max(int(width), int(height))
    return int(min(2048, max(256, 1 << (side - 1).bit_length())))


def chosen(lights: list[ShadowLight]) -> list[ShadowLight]:
    """The lights that get a map: the scene's, then the suns by power, ``MAX_LIGHT_SHADOWS`` at most."""
    ordered = [lt for lt in lights if lt.from_scene]
    ordered += sorted((lt for lt in lights if not lt.from_scene), key=lambda lt: -lt.power)
    return [lt for lt in ordered if lt.power > 0.0][:MAX_LIGHT_SHADOWS]


#: Elevation (degrees) of the sky directions around the zenith, and their azimuths from the camera.
_SKY_ELEVATION = 35.0
_SKY_AZIMUTHS = (0.0, 70.0, -70.0)


def open_directions(camera: Camera, sh: np.ndarray, env_rot: np.ndarray) -> np.ndarray:
    """(N_OPEN, 4) directions and weights standing for the part of the sphere that
    :func:`sky_lights` leaves out (horizon all round, 35 degrees up behind, the ground), taken as
    unoccluded."""
    back = _towards_camera(camera)
    side = np.cross([0.0, 1.0, 0.0], back)
    el = np.radians(_SKY_ELEVATION)
    dirs = [
        back,
        -back,
        side,
        -side,
        np.cos(el) * -back + np.array([0.0, np.sin(el), 0.0]),
        np.array([0.0, -1.0, 0.0]),
    ][:N_OPEN]
    return np.array([[*d, _sky_weight(d, sh, env_rot)] for d in dirs], np.float32)


def _towards_camera(camera: Camera) -> np.ndarray:
    back = -np.asarray(camera.camera_to_world, float)[:3, 2]  # from the subject towards the camera
    back[1] = 0.0
    return back / np.linalg.norm(back) if np.linalg.norm(back) > 1e-6 else np.array([0.0, 0.0, 1.0])


def _sky_weight(d: np.ndarray, sh: np.ndarray, env_rot: np.ndarray) -> float:
    e = sh_basis(np.asarray(env_rot, float) @ np.asarray(d, float)) @ np.asarray(sh, float)
    return float(max(e @ [0.2126, 0.7152, 0.0722], 0.0))


def sky_lights(camera: Camera, sh: np.ndarray, env_rot: np.ndarray, count: int = MAX_SKY) -> list[ShadowLight]:
    """The environment's occlusion directions: the zenith and ``MAX_SKY - 1`` directions 35 degrees up,
    towards the camera and to either side of it; each weighted (``power``) by the luminance of the
    environment's irradiance there (``sh`` (9, 3) in the map frame, ``env_rot`` world -> map)."""
    back = _towards_camera(camera)
    el = np.radians(_SKY_ELEVATION)
    dirs = [np.array([0.0, 1.0, 0.0])]
    for az in np.radians(_SKY_AZIMUTHS[: MAX_SKY - 1]):
        c, s = np.cos(az), np.sin(az)
        h = np.array([c * back[0] + s * back[2], 0.0, -s * back[0] + c * back[2]])
        dirs.append(np.cos(el) * h + np.array([0.0, np.sin(el), 0.0]))
    return [
        ShadowLight("sky", k, _pose_along(d), _sky_weight(d, sh, env_rot), False) for k, d in enumerate(dirs[:count])
    ]


def _pose_along(d: np.ndarray) -> np.ndarray:
    """(4, 4) rotation whose local +z is ``d`` (a light at ``d`` shining along -z)."""
    z = np.asarray(d, float) / np.linalg.norm(d)
    up = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, np.cross(z, x), z
    return pose


def visible_points(depth: np.ndarray, camera: Camera) -> np.ndarray:
    """(n, 3) world points of a subsampled camera-z depth image (0 = nothing there)."""
    h, w = depth.shape
    step = max(1, max(h, w) // _FIT_PIXELS)
    v, u = np.mgrid[0:h:step, 0:w:step]
    z = depth[::step, ::step].astype(np.float64)
    hit = z > 0
    z, u, v = z[hit], u[hit] + 0.5 * step, v[hit] + 0.5 * step
    K = camera.K
    pc = np.column_stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z])
    c2w = camera.camera_to_world
    return pc @ c2w[:3, :3].T + c2w[:3, 3]


def plan(lights: list[ShadowLight], points: np.ndarray, bounds: np.ndarray, size: int) -> list[ShadowView]:
    """One :class:`ShadowView` per light covering ``points`` (what the camera sees), reaching
    towards the light as far as ``bounds`` ((2, 3) min/max corner of every caster)."""
    if len(points) == 0:
        return []
    corners = np.array([[bounds[i, 0], bounds[j, 1], bounds[k, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    views = []
    for lt in lights:
        if lt.kind in ("directional", "sky"):
            views.append(_orthographic(lt, points, corners, size))
        else:
            view = _perspective(lt, points, corners, size)
            if view is not None:
                views.append(view)
    return views


def _orthographic(lt: ShadowLight, points: np.ndarray, corners: np.ndarray, size: int) -> ShadowView:
    R = np.asarray(lt.pose, float)[:3, :3]
    q = points @ R  # light frame: x, y across, z towards the light
    lo, hi = q.min(axis=0), q.max(axis=0)
    margin = 0.02 * float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-3))
    lo[:2] -= margin
    hi[:2] += margin
    z_near = max(float((corners @ R)[:, 2].max()), float(hi[2])) + margin  # towards the light
    z_far = float(lo[2]) - margin
    ext = hi - lo
    tex = np.zeros((4, 4))
    tex[0, :3], tex[0, 3] = R[:, 0] / ext[0], -lo[0] / ext[0]
    tex[1, :3], tex[1, 3] = R[:, 1] / ext[1], -lo[1] / ext[1]
    depth = z_near - z_far
    tex[2, :3], tex[2, 3] = -R[:, 2] / depth, z_near / depth
    tex[3, 3] = 1.0
    clip = np.linalg.inv(TEX_FROM_CLIP) @ tex
    return ShadowView(
        lt.kind,
        lt.index,
        clip,
        OFFSET_TEXELS * float(max(ext[0], ext[1])) / size,
        (float(R[0, 2]), float(R[1, 2]), float(R[2, 2])),
        lt.power,
    )


def _perspective(lt: ShadowLight, points: np.ndarray, corners: np.ndarray, size: int) -> ShadowView | None:
    o = np.asarray(lt.pose, float)[:3, 3]
    d = points - o
    dist = np.linalg.norm(d, axis=1)
    if float(dist.min()) < 1e-4:
        return None
    u = d / dist[:, None]
    f = u.mean(axis=0)
    f /= max(float(np.linalg.norm(f)), 1e-12)
    half = float(np.arccos(np.clip(u @ f, -1.0, 1.0)).max())
    half = min(half * 1.03 + 1e-3, _MAX_HALF_ANGLE)
    along = d @ f
    near = max(1e-3, 0.05 * float(along.min()))
    far = max(float(((corners - o) @ f).max()), float(along.max())) * 1.02 + near
    z = -f
    up = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = x, y, z
    view[:3, 3] = -view[:3, :3] @ o
    t = 1.0 / np.tan(half)
    proj = np.array(
        [
            [t, 0, 0, 0],
            [0, t, 0, 0],
            [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0, 0, -1, 0],
        ]
    )
    texel = 2.0 * float(np.median(along)) * np.tan(half) / size
    return ShadowView(lt.kind, lt.index, proj @ view, OFFSET_TEXELS * texel)


_VERT = """#version 330 core
layout(location = 0) in vec3 position;
uniform mat4 light_clip;
void main() { gl_Position = light_clip * vec4(position, 1.0); }
"""
_FRAG = """#version 330 core
void main() { }
"""


class ShadowMaps:
    """The depth texture array (one layer per shadowed light) and the pass that fills it; lives in
    one GL context, whose calls must be made with it current."""

    def __init__(self) -> None:
        self.texture: int | None = None
        self._shape: tuple[int, int] | None = None
        self._program: int | None = None
        self._fbo: int | None = None

    def _allocate(self, size: int, layers: int) -> None:
        from OpenGL import GL

        if self._shape == (size, layers):
            return
        if self.texture is None:
            self.texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self.texture)
        GL.glTexImage3D(
            GL.GL_TEXTURE_2D_ARRAY,
            0,
            GL.GL_DEPTH_COMPONENT32F,
            size,
            size,
            layers,
            0,
            GL.GL_DEPTH_COMPONENT,
            GL.GL_FLOAT,
            None,
        )
        for param, value in (
            (GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR),
            (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
            (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE),
            (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE),
            (GL.GL_TEXTURE_COMPARE_MODE, GL.GL_COMPARE_REF_TO_TEXTURE),
            (GL.GL_TEXTURE_COMPARE_FUNC, GL.GL_LEQUAL),
        ):
            GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, param, value)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, 0)
        self._shape = (size, layers)

    def render(self, views: list[ShadowView], size: int, casters: list) -> None:
        """Draw ``casters`` into one layer per view: (pyrender primitive already in this context,
        indexed triangles in world space; how many of its leading indices to draw)."""
        from OpenGL import GL
        from OpenGL.GL import shaders

        if not views:
            self._allocate(1, 1)  # something to bind: the lit pass's sampler must see a texture
            return
        self._allocate(size, len(views))
        if self._program is None:
            self._program = int(
                shaders.compileProgram(
                    shaders.compileShader(_VERT, GL.GL_VERTEX_SHADER),
                    shaders.compileShader(_FRAG, GL.GL_FRAGMENT_SHADER),
                    validate=False,
                )
            )
            self._fbo = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._fbo)
        GL.glDrawBuffer(GL.GL_NONE)
        GL.glReadBuffer(GL.GL_NONE)
        GL.glViewport(0, 0, size, size)
        GL.glUseProgram(self._program)
        loc = GL.glGetUniformLocation(self._program, "light_clip")
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_MULTISAMPLE)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glColorMask(GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE)
        GL.glEnable(GL.GL_POLYGON_OFFSET_FILL)
        GL.glPolygonOffset(*POLYGON_OFFSET)
        try:
            for layer, view in enumerate(views):
                GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, self.texture, 0, layer)
                GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
                GL.glUniformMatrix4fv(loc, 1, GL.GL_TRUE, np.ascontiguousarray(view.clip, np.float32))
                for prim, count in casters:
                    GL.glBindVertexArray(prim._vaid)
                    GL.glDrawElements(GL.GL_TRIANGLES, int(count), GL.GL_UNSIGNED_INT, None)
        finally:
            GL.glBindVertexArray(0)
            GL.glDisable(GL.GL_POLYGON_OFFSET_FILL)
            GL.glColorMask(GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE)
            GL.glUseProgram(0)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        # llvmpipe queues draws on its rasteriser threads: the lit pass must read finished maps
        GL.glFinish()

    def delete(self) -> None:
        from OpenGL import GL

        if self.texture is not None:
            GL.glDeleteTextures([self.texture])
        if self._fbo is not None:
            GL.glDeleteFramebuffers(1, [self._fbo])
        if self._program is not None:
            GL.glDeleteProgram(self._program)
        self.texture = self._fbo = self._program = None
        self._shape = None
