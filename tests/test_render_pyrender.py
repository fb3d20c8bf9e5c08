"""The fast pyrender back-end (headless EGL) against independent references.

References never come from the renderer: ``Camera.project`` and point-in-triangle tests
for geometry, ray-plane intersections for depth, ``environment.background_image``
(numpy) for the HDRI background, brute-force integrals for the SH lighting, and the
rendering equation for a Lambertian sphere. Images are <= 128 px.
"""

from __future__ import annotations

import os
from dataclasses import replace

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before pyrender / PyOpenGL are imported

import numpy as np
import pytest
import trimesh

from facefarm.geometry.camera import Camera, intrinsics, look_at
from facefarm.render.pyrender.geometry import LABEL_ROOT, LABEL_TIP
from facefarm.render.pyrender.renderer import PyrenderRenderer
from facefarm.render.pyrender.view import apply_lut, apply_view, view_lut
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.env_lighting import _downsample, hdri_lighting, irradiance
from facefarm.scene.environment import (
    available_hdris,
    background_image,
    direction_to_equirect,
    equirect_directions,
    hdri_path,
    load_equirect,
    rotation_y,
    sample_equirect,
)
from facefarm.scene.model import Curves, Environment, Landmarks, Light, Material, Mesh, Scene

pytestmark = pytest.mark.slow

NO_LANDMARKS = Landmarks(points=np.zeros((0, 3)), names=(), n_sparse=0)
BLACK = Environment(hdri=None, color=(0.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def renderer():
    """The plain sRGB view, so pixel values can be checked against linear radiometry."""
    r = PyrenderRenderer(view_transform="Standard")
    yield r
    r.close()


@pytest.fixture(scope="module")
def agx_renderer():
    r = PyrenderRenderer()  # the default view: AgX, like the Cycles back-end
    yield r
    r.close()


def mesh(name, tm, cls, kind="skin", color=(0.8, 0.8, 0.8), **mat) -> Mesh:
    faces = np.asarray(tm.faces, np.int32)
    fc = np.full(len(faces), cls, np.uint8) if np.isscalar(cls) else np.asarray(cls, np.uint8)
    occludes = mat.pop("occludes_landmarks", True)
    return Mesh(
        name=name,
        vertices=np.asarray(tm.vertices, np.float32),
        faces=faces,
        face_class=fc,
        material=Material(name=name, kind=kind, base_color=color, **mat),
        occludes_landmarks=occludes,
    )


def scene(meshes=(), camera=None, env=BLACK, lights=(), curves=()) -> Scene:
    camera = camera or Camera(
        K=intrinsics(50, 36, 96, 96), world_to_camera=look_at((0, 0, 0.6), (0, 0, 0)), width=96, height=96
    )
    return Scene(
        meshes=tuple(meshes),
        camera=camera,
        environment=env,
        landmarks=NO_LANDMARKS,
        head_pose=np.eye(4),
        lights=tuple(lights),
        curves=tuple(curves),
    )


def odd_camera(width=112, height=88) -> Camera:
    """Non-square image, fx != fy, principal point well off centre, oblique pose."""
    K = np.array([[131.0, 0.0, 47.3], [0.0, 127.5, 51.9], [0.0, 0.0, 1.0]])
    return Camera(
        K=K,
        world_to_camera=look_at((0.12, 0.07, 0.65), (0.01, -0.02, 0.0)),
        width=width,
        height=height,
        near=0.05,
        far=5.0,
    )


def world_from_pixels(cam: Camera, uv: np.ndarray, z: np.ndarray) -> np.ndarray:
    K = cam.K
    pc = np.column_stack([(uv[:, 0] - K[0, 2]) * z / K[0, 0], (uv[:, 1] - K[1, 2]) * z / K[1, 1], z])
    c2w = cam.camera_to_world
    return pc @ c2w[:3, :3].T + c2w[:3, 3]


def pixel_centres(cam: Camera):
    return np.meshgrid(np.arange(cam.width) + 0.5, np.arange(cam.height) + 0.5)


def srgb(c):
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


# --------------------------------------------------------------------------------------------
# geometry: camera, coverage, depth


def test_small_disc_renders_at_projected_point_subpixel(renderer):
    cam = odd_camera()
    rng = np.random.default_rng(7)
    errors = []
    for _ in range(6):
        centre_px = rng.uniform([15, 15], [cam.width - 15, cam.height - 15])
        z = rng.uniform(0.45, 0.8)
        centre = world_from_pixels(cam, centre_px[None], np.array([z]))[0]
        # a disc parallel to the image plane: its projection is a disc centred on project(centre)
        ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        rad_px = 5.3
        ring_px = centre_px + rad_px * np.column_stack([np.cos(ang), np.sin(ang)])
        verts = np.vstack([centre, world_from_pixels(cam, ring_px, np.full(48, z))])
        faces = np.array([[0, 1 + i, 1 + (i + 1) % 48] for i in range(48)])
        disc = Mesh(
            name="disc",
            vertices=verts.astype(np.float32),
            faces=faces.astype(np.int32),
            face_class=np.full(48, 16, np.uint8),
            material=Material(name="m", kind="marker"),
        )
        res = renderer.render(scene([disc], cam))
        ys, xs = np.nonzero(res.segmentation == 16)
        assert len(xs) > 60
        got = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
        expect = cam.project(centre[None])[0][0]
        errors.append(np.linalg.norm(got - expect))
    assert max(errors) < 0.25, errors
    assert np.mean(errors) < 0.12, errors


def test_triangle_coverage_matches_pixel_centre_rule(renderer):
    """Every pixel whose centre lies inside the projected triangle has its class, no other does."""
    cam = odd_camera()
    rng = np.random.default_rng(3)
    xs, ys = pixel_centres(cam)
    for _ in range(4):
        uv = rng.uniform([4, 4], [cam.width - 4, cam.height - 4], size=(3, 2))
        tri = world_from_pixels(cam, uv, rng.uniform(0.4, 0.9, 3))
        m = Mesh(
            name="t",
            vertices=tri.astype(np.float32),
            faces=np.array([[0, 1, 2]], np.int32),
            face_class=np.array([7], np.uint8),
            material=Material(name="t", kind="marker"),
        )
        res = renderer.render(scene([m], cam))
        p = cam.project(tri)[0]
        edges = [
            (p[(i + 1) % 3, 0] - p[i, 0]) * (ys - p[i, 1]) - (p[(i + 1) % 3, 1] - p[i, 1]) * (xs - p[i, 0])
            for i in range(3)
        ]
        inside = np.all([e > 0 for e in edges], 0) | np.all([e < 0 for e in edges], 0)
        margin = np.min([np.abs(e) / np.linalg.norm(p[(i + 1) % 3] - p[i]) for i, e in enumerate(edges)], 0)
        got = res.segmentation == 7
        assert inside.sum() > 50
        # a half-pixel or 0.25 px shift would flip hundreds of edge pixels; only exact ties may differ
        assert np.all(got[margin > 1e-3] == inside[margin > 1e-3])
        assert set(np.unique(res.segmentation)) <= {0, 7}


def test_depth_is_camera_z_in_metres(renderer):
    cam = odd_camera()
    # a tilted plane across the whole view, built from pixel corners at different depths
    corners = np.array([[-5, -5], [cam.width + 5, -5], [cam.width + 5, cam.height + 5], [-5, cam.height + 5.0]])
    z = np.array([0.5, 0.7, 0.9, 0.6])
    quad = world_from_pixels(cam, corners, z)
    # make it exactly planar: replace the 4th corner by the plane through the first three
    n = np.cross(quad[1] - quad[0], quad[2] - quad[0])
    ray = quad[3] - cam.camera_to_world[:3, 3]
    quad[3] = cam.camera_to_world[:3, 3] + ray * (n @ (quad[0] - cam.camera_to_world[:3, 3])) / (n @ ray)
    m = Mesh(
        name="plane",
        vertices=quad.astype(np.float32),
        faces=np.array([[0, 1, 2], [0, 2, 3]], np.int32),
        face_class=np.array([1, 1], np.uint8),
        material=Material(name="p", kind="marker"),
    )
    res = renderer.render(scene([m], cam))
    assert res.depth.dtype == np.float32 and res.depth.shape == (cam.height, cam.width)
    xs, ys = pixel_centres(cam)
    rays = np.stack([(xs - cam.K[0, 2]) / cam.K[0, 0], (ys - cam.K[1, 2]) / cam.K[1, 1], np.ones_like(xs)], -1)
    qc = cam.to_camera(quad)
    nc = np.cross(qc[1] - qc[0], qc[2] - qc[0])
    z_true = (nc @ qc[0]) / (rays @ nc)
    assert np.all(res.depth > 0)
    np.testing.assert_allclose(res.depth, z_true, rtol=1e-4)
    np.testing.assert_array_equal(res.occluder_depth, res.depth)
    empty = renderer.render(scene([], cam))
    assert np.all(empty.depth == 0) and np.all(empty.segmentation == 0)


# --------------------------------------------------------------------------------------------
# segmentation


def head_with_parts():
    head = trimesh.creation.icosphere(subdivisions=4, radius=0.09)
    c = head.triangles_center
    cls = np.full(len(c), CLASS_IDS["SKIN"], np.uint8)
    cls[(c[:, 1] < -0.03) & (c[:, 2] > 0.04)] = CLASS_IDS["BOTTOM_LIP"]  # a per-face class inside one mesh
    nose = trimesh.creation.box(extents=(0.02, 0.03, 0.03))
    nose.apply_translation((0, 0, 0.095))
    eye = trimesh.creation.icosphere(subdivisions=2, radius=0.013)
    eye.apply_translation((0.035, 0.025, 0.08))
    return [
        mesh("head", head, cls),
        mesh("nose", nose, CLASS_IDS["NOSE"]),
        mesh("eye", eye, CLASS_IDS["LEFT_EYE"], kind="eye", roughness=0.05),
    ]


def test_classes_come_from_face_ids_not_scene_order(renderer):
    parts = head_with_parts()
    a = renderer.render(scene(parts))
    b = renderer.render(scene(parts[::-1]))
    np.testing.assert_array_equal(a.segmentation, b.segmentation)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert set(np.unique(a.segmentation)) == {
        0,
        CLASS_IDS["SKIN"],
        CLASS_IDS["BOTTOM_LIP"],
        CLASS_IDS["NOSE"],
        CLASS_IDS["LEFT_EYE"],
    }
    # the nose box sits in front of the sphere centre: the image centre is NOSE
    assert a.segmentation[48, 48] == CLASS_IDS["NOSE"]


def lens_scene(alpha: float):
    eye = trimesh.creation.icosphere(subdivisions=3, radius=0.02)
    lens = trimesh.creation.cylinder(radius=0.03, height=0.002, sections=32)
    lens.apply_translation((0, 0, 0.05))
    rim = trimesh.creation.annulus(r_min=0.03, r_max=0.034, height=0.004, sections=32)
    rim.apply_translation((0, 0, 0.05))
    return scene(
        [
            mesh("eye", eye, CLASS_IDS["RIGHT_EYE"], kind="eye"),
            mesh("lens", lens, CLASS_IDS["GLASSES"], kind="glasses_lens", alpha=alpha, occludes_landmarks=False),
            mesh("rim", rim, CLASS_IDS["GLASSES"], kind="glasses_frame"),
        ]
    )


def test_transparent_lens_shows_class_behind_opaque_parts_do_not(renderer):
    clear = renderer.render(lens_scene(alpha=0.3))
    seg = clear.segmentation
    assert seg[48, 48] == CLASS_IDS["RIGHT_EYE"]  # through the lens
    assert (seg == CLASS_IDS["GLASSES"]).sum() > 30  # the rim is there
    # the depth and the occluder depth see the eye, not the lens 5 cm in front of the centre
    assert abs(clear.depth[48, 48] - (0.6 - 0.02)) < 1e-3
    assert abs(clear.occluder_depth[48, 48] - (0.6 - 0.02)) < 1e-3
    # the lens is drawn in colour: the eye seen through it differs from the bare eye
    grey = Environment(hdri=None, color=(0.5, 0.5, 0.5))
    clear = renderer.render(Scene(**{**lens_scene(0.3).__dict__, "environment": grey}))
    bare = renderer.render(scene([lens_scene(0.3).meshes[0]], env=grey))
    assert np.abs(clear.rgb[44:52, 44:52].astype(int) - bare.rgb[44:52, 44:52].astype(int)).mean() > 2
    opaque = renderer.render(lens_scene(alpha=1.0))
    assert opaque.segmentation[48, 48] == CLASS_IDS["GLASSES"]
    assert abs(opaque.depth[48, 48] - (0.6 - 0.051)) < 1e-3


def test_occluder_depth_leaves_out_meshes_that_do_not_occlude(renderer):
    parts = head_with_parts()
    veil = trimesh.creation.box(extents=(0.3, 0.3, 0.001))
    veil.apply_translation((0, 0, 0.2))
    res = renderer.render(
        scene(parts + [mesh("veil", veil, CLASS_IDS["FACEWEAR"], kind="cloth", occludes_landmarks=False)])
    )
    assert np.all(res.segmentation[20:76, 20:76] == CLASS_IDS["FACEWEAR"])
    assert abs(res.depth[48, 48] - 0.3995) < 1e-3
    expect = renderer.render(scene(parts)).depth
    np.testing.assert_allclose(res.occluder_depth, expect, atol=1e-6)


def test_every_face_shows_its_own_class_across_texture_rows(renderer):
    """Classes are looked up per face (gl_PrimitiveID) in a texture of CLASS_WIDTH texels a row:
    a grid whose neighbouring faces all differ, drawn after more faces than one row holds and
    in the second pool (it does not occlude landmarks), shows at every pixel centre well inside
    a face exactly that face's class; an offset or row error by even one face would not."""
    from facefarm.render.pyrender.shaders import CLASS_WIDTH

    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.09)  # hidden behind the grid
    assert len(sphere.faces) > CLASS_WIDTH
    n, half, z = 12, 0.08, 0.3
    xs = np.linspace(-half, half, n + 1)
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    verts = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, z)])
    vid = lambda i, j: i * (n + 1) + j  # noqa: E731
    faces = []
    for i in range(n):
        for j in range(n):
            faces += [(vid(i, j), vid(i + 1, j), vid(i + 1, j + 1)), (vid(i, j), vid(i + 1, j + 1), vid(i, j + 1))]
    ids = [CLASS_IDS[k] for k in ("SKIN", "NOSE", "LEFT_EYE", "TOP_LIP", "HAIR", "GLASSES", "NECK")]
    face_class = np.array([ids[(f * 5) % len(ids)] for f in range(len(faces))], np.uint8)
    grid = trimesh.Trimesh(verts, np.array(faces), process=False)
    res = renderer.render(
        scene([mesh("sphere", sphere, CLASS_IDS["SKIN"]), mesh("grid", grid, face_class, occludes_landmarks=False)])
    )
    cam = scene().camera
    u, v = pixel_centres(cam)
    p = world_from_pixels(cam, np.column_stack([u.ravel(), v.ravel()]), np.full(u.size, 0.6 - z))
    cell = (p[:, :2] + half) / (2 * half / n)
    ij, st = np.floor(cell).astype(int), cell - np.floor(cell)
    inside = (
        np.all((ij >= 0) & (ij < n), axis=1)
        & np.all((st > 0.1) & (st < 0.9), axis=1)
        & (np.abs(st[:, 0] - st[:, 1]) > 0.15)
    )
    face = 2 * (ij[:, 0] * n + ij[:, 1]) + (st[:, 1] > st[:, 0])
    assert inside.sum() > 1500
    np.testing.assert_array_equal(res.segmentation.ravel()[inside], face_class[face[inside]])
    # the grid does not occlude: behind it the occluder depth is the sphere's
    assert abs(res.occluder_depth[48, 48] - (0.6 - 0.09)) < 2e-3
    assert abs(res.depth[48, 48] - (0.6 - z)) < 1e-3


def test_hair_curves_become_segmented_ribbons(renderer):
    rng = np.random.default_rng(0)
    roots = np.column_stack([rng.uniform(-0.05, 0.05, 40), np.full(40, 0.05), np.full(40, 0.1)])
    t = np.linspace(0, 1, 8)[None, :, None]
    pts = roots[:, None, :] + t * np.array([0.0, -0.1, 0.0])
    hair = Curves(
        name="hair",
        points=pts,
        radius=np.full(pts.shape[:2], 4e-5),
        class_id=CLASS_IDS["HAIR"],
        material=Material(name="hair", kind="hair", base_color=(0.05, 0.03, 0.02), roughness=0.4),
    )
    parts = head_with_parts()
    res = renderer.render(scene(parts, curves=[hair]))
    hair_px = res.segmentation == CLASS_IDS["HAIR"]
    # 40 vertical strands, each at least ~one pixel wide although 80 microns thick
    cols = np.flatnonzero(hair_px.sum(axis=0) > 10)
    assert len(cols) >= 15
    # (labels end where a card's staggered tips leave it half covered)
    assert hair_px.sum() > 40 * 10 * (LABEL_TIP - LABEL_ROOT)
    # they hang 10 cm in front of the sphere centre
    assert np.all(np.abs(res.depth[hair_px] - 0.5) < 0.01)
    assert np.all(res.occluder_depth[hair_px] == res.depth[hair_px])


# --------------------------------------------------------------------------------------------
# environment: registry, mapping, background, lighting


def test_builtin_hdris_are_found_and_read():
    found = available_hdris()
    assert {"city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset"} <= set(found)
    img = load_equirect(hdri_path("studio"))
    assert img.shape == (512, 1024, 3) and img.dtype == np.float32 and not img.flags.writeable
    assert img.min() >= 0 and img.max() > 10  # an HDR image, not display-referred
    assert load_equirect(hdri_path("studio")) is img  # cached
    with pytest.raises(KeyError, match="unknown HDRI"):
        hdri_path("no-such-hdri")


def test_equirect_mapping_round_trip_and_rotation():
    img = load_equirect(hdri_path("city"))
    d, solid = equirect_directions(16, 32)
    assert abs(solid.sum() - 4 * np.pi) < 1e-9
    ut = direction_to_equirect(d.reshape(-1, 3))
    np.testing.assert_allclose(ut[:, 0], np.tile((np.arange(32) + 0.5) / 32, 16), atol=1e-12)
    np.testing.assert_allclose(ut[:, 1], np.repeat((np.arange(16) + 0.5) / 16, 32), atol=1e-12)
    # documented anchors: +y is the top row, +z (in front of the face) is u = 0.75
    anchors = direction_to_equirect(np.array([[0, 0, 1.0], [1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]]))
    np.testing.assert_allclose(anchors[:2], [[0.75, 0.5], [0.5, 0.5]], atol=1e-12)
    np.testing.assert_allclose(anchors[2:, 1], [0.0, 1.0], atol=1e-12)
    # a pixel-centre direction samples exactly that pixel; rotation moves the map about +y
    dirs, _ = equirect_directions(*img.shape[:2])
    np.testing.assert_allclose(sample_equirect(img, dirs[100, 300]), img[100, 300], rtol=1e-5)
    w = rotation_y(40.0) @ dirs[100, 300]
    np.testing.assert_allclose(sample_equirect(img, w, rotation_deg=40.0), img[100, 300], rtol=1e-4)


BACKGROUNDS = [
    Environment(hdri="city", rotation_deg=37.0, intensity=0.8),
    Environment(hdri="sunset", rotation_deg=-120.0, intensity=1.2),
    Environment(hdri="studio", background=(0.2, 0.5, 0.05)),
    Environment(hdri=None, color=(0.7, 0.1, 0.3)),
]


@pytest.mark.parametrize("env", BACKGROUNDS)
def test_background_is_the_environment_per_pixel_ray(renderer, env):
    if env.hdri is not None:
        env = Environment(
            hdri=hdri_path(env.hdri), rotation_deg=env.rotation_deg, intensity=env.intensity, background=env.background
        )
    cam = odd_camera()
    res = renderer.render(scene([], cam, env=env))
    expect = np.round(srgb(background_image(cam, env)) * 255)
    diff = np.abs(res.rgb.astype(float) - expect)
    # GPU bilinear filtering uses 8-bit weights: a few levels at sharp edges of the HDRI
    assert diff.max() <= 10 and np.percentile(diff, 99.5) <= 3 and diff.mean() < 0.3
    if env.hdri is not None and isinstance(env.background, str):
        wrong = Environment(hdri=env.hdri, rotation_deg=env.rotation_deg + 20, intensity=env.intensity)
        assert np.abs(res.rgb - np.round(srgb(background_image(cam, wrong)) * 255)).mean() > 3


def test_agx_view_matches_blenders_ocio_transform(agx_renderer):
    """The default view transform is Blender's AgX (reference: OCIO with Blender's config)."""
    cam = odd_camera()
    env = Environment(hdri=hdri_path("sunset"), rotation_deg=-120.0, intensity=1.2)
    res = agx_renderer.render(scene([], cam, env=env))
    expect = np.round(apply_view(background_image(cam, env), "AgX") * 255)
    diff = np.abs(res.rgb.astype(float) - expect)
    assert diff.max() <= 12 and np.percentile(diff, 99.5) <= 4 and diff.mean() < 0.5
    standard = np.round(srgb(background_image(cam, env)) * 255)
    assert np.abs(standard - expect).mean() > 5  # the two views do differ on this HDRI
    # the table itself, on colours the background does not reach (bright, saturated)
    rng = np.random.default_rng(2)
    cols = rng.uniform(0, 1, (2000, 3)) ** 2.2 * rng.uniform(0.01, 8, (2000, 1))
    d = np.abs(apply_lut(cols, view_lut("AgX")) - apply_view(cols, "AgX")) * 255
    assert d.max() < 6 and d.mean() < 0.3


def test_sh_plus_suns_approximate_the_hdri_irradiance():
    for name in ("city", "courtyard", "studio"):
        lighting = hdri_lighting(hdri_path(name))
        img = _downsample(load_equirect(hdri_path(name)), 128)
        d, solid = equirect_directions(*img.shape[:2])
        n = np.random.default_rng(1).normal(size=(60, 3))
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        brute = np.einsum("nhw,hwc->nc", np.clip(np.einsum("nk,hwk->nhw", n, d), 0, None) * solid, img)
        approx = irradiance(lighting, n)
        assert np.abs(approx - brute).mean() / brute.mean() < 0.06, name


# --------------------------------------------------------------------------------------------
# shading: radiometry and the direction of the light


def sphere_scene(env, lights=(), albedo=0.5, roughness=0.9):
    s = trimesh.creation.icosphere(subdivisions=4, radius=0.1)
    return scene(
        [mesh("ball", s, CLASS_IDS["SKIN"], kind="cloth", color=(albedo,) * 3, roughness=roughness, specular=0.0)],
        env=env,
        lights=lights,
    )


def test_lambert_sphere_under_uniform_sky_and_sun(renderer):
    # uniform sky of radiance L: irradiance pi L everywhere, outgoing radiance albedo * L
    res = renderer.render(sphere_scene(Environment(hdri=None, color=(0.4, 0.4, 0.4))))
    centre = res.rgb[40:56, 40:56].astype(float) / 255
    np.testing.assert_allclose(centre, srgb(0.5 * 0.4), atol=0.02)
    # a sun of irradiance E behind the camera: radiance albedo * E / pi * cos(theta)
    sun = np.eye(4)  # shines along -z, i.e. from the camera towards the sphere
    res = renderer.render(sphere_scene(BLACK, lights=[Light("directional", (1.0, 1.0, 1.0), 2.0, sun)]))
    assert abs(res.rgb[48, 48, 0] / 255 - srgb(0.5 * 2.0 / np.pi)) < 0.02
    # limb darkening follows cos(theta): at sin(theta) = 0.8 the radiance is 0.6x the centre's
    cam = sphere_scene(BLACK).camera
    p = np.array([[0.08, 0.0, np.sqrt(0.1**2 - 0.08**2)]])
    u, v = cam.project(p)[0][0]
    val = res.rgb[int(v), int(u), 0] / 255
    lin = np.where(val <= 0.04045, val / 12.92, ((val + 0.055) / 1.055) ** 2.4)
    assert abs(lin / (0.5 * 2.0 / np.pi) - 0.6) < 0.08


def test_sphere_is_brightest_towards_the_rotated_sun(renderer):
    path = hdri_path("city")
    sun_map = hdri_lighting(path).suns[0][0]
    brighter = []
    for rot in (0.0, 90.0, 180.0, 270.0):
        res = renderer.render(sphere_scene(Environment(hdri=path, rotation_deg=rot, background=(0, 0, 0))))
        sun_world = rotation_y(rot) @ sun_map
        lum = res.rgb.astype(float).mean(axis=2)
        lum[res.segmentation == 0] = np.nan
        left, right = np.nanmean(lum[:, :48]), np.nanmean(lum[:, 48:])
        brighter.append((np.sign(right - left), np.sign(sun_world[0])))  # image right = world +x
    assert all(a == b for a, b in brighter), brighter


# --------------------------------------------------------------------------------------------
# lifecycle


def test_white_balance_gains_scale_the_light_before_the_view(renderer):
    """A white ball under a bluish sky renders blue; with the camera's gains for that sky
    (Scene.white_balance) it renders grey of about the same brightness."""
    from facefarm.scene import white_balance

    sky = Environment(hdri=None, color=(0.25, 0.4, 0.8), background=(0.0, 0.0, 0.0))
    ball = mesh(
        "ball",
        trimesh.creation.icosphere(subdivisions=3, radius=0.08),
        CLASS_IDS["SKIN"],
        kind="cloth",
        color=(0.7, 0.7, 0.7),
    )
    plain = scene([ball], env=sky)
    gains = white_balance.gains(white_balance.illuminant(sky, [], np.zeros(3), np.array([0.0, 0.0, 1.0])))
    blue = renderer.render(plain).rgb[40:56, 40:56].reshape(-1, 3).mean(axis=0)
    grey = renderer.render(replace(plain, white_balance=gains)).rgb[40:56, 40:56].reshape(-1, 3).mean(axis=0)
    assert blue[2] > blue[0] + 40
    assert np.ptp(grey) < 6, grey
    assert abs(grey.mean() - blue @ [0.2126, 0.7152, 0.0722]) < 25


def test_same_scene_twice_is_identical_and_the_context_is_reused(renderer):
    parts = head_with_parts()
    env = Environment(hdri=hdri_path("courtyard"), rotation_deg=30.0)
    lights = [
        Light("point", (1.0, 0.9, 0.8), 20.0, look_at_pose((0.5, 0.3, 1.0))),
        Light("area", (1.0, 1.0, 1.0), 30.0, look_at_pose((-0.8, 0.2, 0.8))),
        Light("spot", (1.0, 1.0, 1.0), 30.0, look_at_pose((0.5, 0.6, 0.9))),
    ]
    a = renderer.render(scene(parts, env=env, lights=lights))
    b = renderer.render(scene(parts, env=env, lights=lights))
    for f in ("rgb", "segmentation", "depth", "occluder_depth"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert a.rgb.dtype == np.uint8 and a.rgb.shape == (96, 96, 3)
    assert a.segmentation.dtype == np.uint8
    assert {"seg_ms", "rgb_ms", "total_ms"} <= set(a.timings)
    small = renderer.render(
        scene(
            parts,
            Camera(K=intrinsics(50, 36, 64, 48), world_to_camera=look_at((0, 0, 0.6), (0, 0, 0)), width=64, height=48),
            env=env,
        )
    )
    assert small.rgb.shape == (48, 64, 3)
    ctx = renderer._ctx
    again = renderer.render(scene(parts, env=env, lights=lights))
    assert renderer._ctx is ctx
    np.testing.assert_array_equal(again.rgb, a.rgb)  # back at 96 px after 64 x 48: same pixels


def test_nodes_iterate_in_the_order_they_were_added():
    """pyrender keeps nodes in sets (memory-address order); ours keep insertion order, so draw
    order and light order do not depend on what the process allocated before."""
    import pyrender

    from facefarm.render.pyrender.order import ordered_scene

    s = ordered_scene(pyrender)
    quad = trimesh.creation.box(extents=(0.1, 0.1, 0.001))
    meshes = [s.add(pyrender.Mesh.from_trimesh(quad)) for _ in range(40)]
    suns = [s.add(pyrender.DirectionalLight()) for _ in range(6)]
    points = [s.add(pyrender.PointLight()) for _ in range(4)]
    assert list(s.mesh_nodes) == meshes
    assert list(s.directional_light_nodes) == suns and list(s.point_light_nodes) == points
    assert list(s.light_nodes) == points + suns
    s.remove_node(meshes[3])
    assert list(s.mesh_nodes) == meshes[:3] + meshes[4:]


def test_coplanar_surfaces_resolve_by_scene_order_in_every_render(renderer):
    """Two surfaces at the same depth: the mesh listed first wins the pixel, every time; with
    pyrender's sets the winner followed the meshes' memory addresses."""
    quad = trimesh.creation.box(extents=(0.2, 0.2, 0.001))
    grey = Environment(hdri=None, color=(0.5, 0.5, 0.5))
    red = mesh("red", quad, CLASS_IDS["SKIN"], color=(0.8, 0.05, 0.05))
    blue = mesh("blue", quad, CLASS_IDS["SKIN"], color=(0.05, 0.05, 0.8))
    for _ in range(6):
        first_red = renderer.render(scene([red, blue], env=grey)).rgb[48, 48].astype(int)
        first_blue = renderer.render(scene([blue, red], env=grey)).rgb[48, 48].astype(int)
        assert first_red[0] > first_red[2] + 50, first_red
        assert first_blue[2] > first_blue[0] + 50, first_blue


def look_at_pose(position) -> np.ndarray:
    """Light-to-world pose at ``position`` whose -z points at the origin."""
    w2c = look_at(np.asarray(position, float), np.zeros(3))
    # look_at gives an OpenCV camera (+z forward); a light shines along its -z
    return np.linalg.inv(w2c) @ np.diag([1.0, -1.0, -1.0, 1.0])


def test_dropping_one_renderer_leaves_the_others_working(renderer):
    """Renderers share the process's EGL display: freeing one (here at once, by reference count)
    must neither terminate it nor leave another renderer's context unusable."""
    sc = scene([mesh("ball", trimesh.creation.icosphere(2, 0.1), CLASS_IDS["SKIN"])])
    before = renderer.render(sc)
    other = PyrenderRenderer()
    other.render(sc)
    del other
    after = renderer.render(sc)
    assert np.array_equal(before.segmentation, after.segmentation)
    assert (before.segmentation == CLASS_IDS["SKIN"]).sum() > 100
    with PyrenderRenderer() as third:  # and a new one still starts, renders and closes
        assert np.array_equal(third.render(sc).segmentation, before.segmentation)


# --------------------------------------------------------------------------------------------
# shadows


def ball_under_box(
    box: bool,
    light: Light,
    env=Environment(hdri=None, color=(0.05, 0.05, 0.05)),
    slab=((0.4, 0.02, 0.4), (0.0, 0.3, 0.09)),
) -> Scene:
    """A grey ball at the origin; ``box``: a slab above it, out of the camera's view."""
    parts = [
        mesh(
            "ball",
            trimesh.creation.icosphere(subdivisions=4, radius=0.1),
            CLASS_IDS["SKIN"],
            kind="cloth",
            color=(0.5, 0.5, 0.5),
            roughness=0.9,
            specular=0.0,
        )
    ]
    if box:
        extents, centre = slab
        slab_mesh = trimesh.creation.box(extents=extents)
        slab_mesh.apply_translation(centre)
        parts.append(mesh("box", slab_mesh, CLASS_IDS["HEADWEAR"], kind="cloth", color=(0.5, 0.5, 0.5)))
    return scene(parts, env=env, lights=[light])


def test_a_box_shadows_the_ball_below_it_but_not_the_labels(renderer):
    """Light from above: a box between it and a ball darkens the ball's top by a wide margin
    (the fast back-end's shadow maps), and changes neither segmentation nor depth."""
    sun = Light("directional", (1.0, 1.0, 1.0), 3.0, look_at_pose((0.0, 1.0, 0.3)))
    free, shaded = renderer.render(ball_under_box(False, sun)), renderer.render(ball_under_box(True, sun))
    np.testing.assert_array_equal(free.segmentation, shaded.segmentation)
    np.testing.assert_array_equal(free.depth, shaded.depth)
    ball = free.segmentation == CLASS_IDS["SKIN"]
    rows = np.arange(96)[:, None]
    top = ball & (rows < 40)  # faces the light
    bottom = ball & (rows > 62)  # faces away: only the sky reaches it either way
    lum = {k: r.rgb.astype(float).mean(axis=2) for k, r in (("free", free), ("shaded", shaded))}
    assert lum["shaded"][top].mean() < 0.5 * lum["free"][top].mean(), (
        lum["shaded"][top].mean(),
        lum["free"][top].mean(),
    )
    assert abs(lum["shaded"][bottom].mean() - lum["free"][bottom].mean()) < 2.0
    # and the same shadowed scene again: the same pixels
    np.testing.assert_array_equal(renderer.render(ball_under_box(True, sun)).rgb, shaded.rgb)


@pytest.mark.parametrize("kind", ["point", "spot", "area"])
def test_positional_lights_cast_shadows_too(renderer, kind):
    lamp = Light(kind, (1.0, 1.0, 1.0), 40.0, look_at_pose((0.0, 0.8, 0.24)))
    free, shaded = renderer.render(ball_under_box(False, lamp)), renderer.render(ball_under_box(True, lamp))
    top = (free.segmentation == CLASS_IDS["SKIN"]) & (np.arange(96)[:, None] < 40)
    assert shaded.rgb[top].mean() < 0.5 * free.rgb[top].mean(), kind


def test_lit_side_of_a_ball_has_no_shadow_acne(renderer):
    """A ball lit from the side, alone, casts shadows on itself only where it turns away from the
    light: its lit side matches Lambert under the sun and the sky, pixel by pixel (acne would
    leave dark speckles there)."""
    sun = Light("directional", (1.0, 1.0, 1.0), 3.0, look_at_pose((1.0, 0.3, 0.6)))
    res = renderer.render(ball_under_box(False, sun))
    cam = ball_under_box(False, sun).camera
    ball = res.segmentation == CLASS_IDS["SKIN"]
    for axis in (0, 1):  # away from the silhouette (its pixels mix in the background)
        ball &= np.roll(ball, 2, axis) & np.roll(ball, -2, axis)
    u, v = pixel_centres(cam)
    uv = np.column_stack([u[ball], v[ball]])
    n = world_from_pixels(cam, uv, res.depth[ball])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    to_sun = np.array([1.0, 0.3, 0.6]) / np.linalg.norm([1.0, 0.3, 0.6])
    cos = n @ to_sun
    lit = cos > 0.25
    expected = srgb(0.5 * (3.0 / np.pi * cos[lit] + 0.05))
    got = res.rgb[ball][lit].astype(float).mean(axis=1) / 255
    err = np.abs(got - expected)
    assert lit.sum() > 500
    assert err.max() < 0.03, err.max()


def test_classes_are_uploaded_to_this_renderers_context_after_another_one_closed(renderer):
    """pyrender leaves the last renderer's context current: a renderer whose sample follows
    another renderer's (here one that closed) must still upload its face classes to its own."""
    small = scene([mesh("ball", trimesh.creation.icosphere(1, 0.1), CLASS_IDS["SKIN"])])
    big = scene([mesh("ball", trimesh.creation.icosphere(4, 0.1), CLASS_IDS["SKIN"])])
    renderer.render(small)  # 80 faces of classes in this context's texture
    with PyrenderRenderer() as other:
        other.render(small)
    seg = renderer.render(big).segmentation
    assert (seg == CLASS_IDS["SKIN"]).sum() == (seg > 0).sum() > 1000


def test_a_box_hides_the_sky_from_the_ball_below_it(renderer):
    """No lights, an even sky: a box above a ball darkens the ball's top (the environment's
    occlusion), leaves its lower half about as it was, and changes no label."""
    sky = Environment(hdri=None, color=(0.5, 0.5, 0.5))
    dark = Light("directional", (1.0, 1.0, 1.0), 0.0, np.eye(4))
    free = renderer.render(ball_under_box(False, dark, sky))
    shaded = renderer.render(ball_under_box(True, dark, sky, slab=((0.8, 0.02, 0.5), (0.0, 0.26, 0.2))))
    np.testing.assert_array_equal(free.segmentation, shaded.segmentation)
    np.testing.assert_array_equal(free.depth, shaded.depth)
    ball = free.segmentation == CLASS_IDS["SKIN"]
    rows = np.arange(96)[:, None]
    lum = {k: r.rgb.astype(float).mean(axis=2) for k, r in (("free", free), ("shaded", shaded))}
    top, bottom = ball & (rows < 36), ball & (rows > 62)
    assert lum["shaded"][top].mean() < 0.85 * lum["free"][top].mean(), (
        lum["shaded"][top].mean(),
        lum["free"][top].mean(),
    )
    assert abs(lum["shaded"][bottom].mean() - lum["free"][bottom].mean()) < 0.05 * lum["free"][bottom].mean()


def test_a_mesh_lit_in_full_by_the_compositor_is_still_shadowed(renderer):
    """The head carries the compositor's share of light reaching into the mouth (1 outside it):
    where it is 1, the shadow maps count in full (they once were dropped for the whole mesh)."""
    from facefarm.scene.model import OCCLUSION_ATTRIBUTE

    sun = Light("directional", (1.0, 1.0, 1.0), 3.0, look_at_pose((0.0, 1.0, 0.3)))
    plain = renderer.render(ball_under_box(True, sun))
    sc = ball_under_box(True, sun)
    ball = sc.meshes[0]
    lit = replace(ball, attributes={OCCLUSION_ATTRIBUTE: np.ones(len(ball.vertices), np.float32)})
    marked = renderer.render(replace(sc, meshes=(lit, *sc.meshes[1:])))
    assert np.abs(marked.rgb.astype(int) - plain.rgb).max() <= 1


# --------------------------------------------------------------------------------------------
# lash cards: cut into strands by their strand coordinate and coverage


def lash_card_scene(cover: float, strands: float) -> Scene:
    """A white backdrop plane, with a dark lash card in front of it whose strand coordinate runs
    0..``strands`` across the image and whose coverage is ``cover`` everywhere (None: no card)."""
    back = mesh("back", trimesh.creation.box((0.3, 0.3, 0.01)), CLASS_IDS["SKIN"], color=(0.9, 0.9, 0.9))
    card = trimesh.creation.box((0.08, 0.08, 0.002))
    card.apply_translation((0.0, 0.0, 0.05))
    v = np.asarray(card.vertices)
    strand = (v[:, 0] - v[:, 0].min()) / np.ptp(v[:, 0]) * strands
    lash = replace(
        mesh("lash_r", card, CLASS_IDS["RIGHT_EYE"], kind="lash", color=(0.02, 0.015, 0.01), occludes_landmarks=False),
        attributes={"lash_strand": strand.astype(np.float32), "lash_cover": np.full(len(v), cover, np.float32)},
    )
    light = Light(kind="directional", color=(1.0, 1.0, 1.0), intensity=3.0, pose=np.eye(4))  # along -z
    return scene([back, lash] if cover is not None else [back], lights=[light])


def test_lash_cards_are_cut_into_strands_by_their_coverage(renderer):
    bare = renderer.render(lash_card_scene(None, 12.0))
    none = renderer.render(lash_card_scene(0.0, 12.0))
    full = renderer.render(lash_card_scene(1.0, 12.0))
    half = renderer.render(lash_card_scene(0.3, 12.0))
    inside = full.segmentation == CLASS_IDS["RIGHT_EYE"]  # the card's pixels (labels keep the card)
    assert np.count_nonzero(inside) >= 300 and np.array_equal(inside, none.segmentation == CLASS_IDS["RIGHT_EYE"])
    lum = {
        k: r.rgb.astype(float).mean(axis=2) for k, r in (("bare", bare), ("none", none), ("full", full), ("half", half))
    }
    # no coverage: the card is not drawn at all; full coverage: dark, solid; partial: strands
    # with the backdrop between them, darker and lighter columns across the strand coordinate
    assert np.abs(lum["none"] - lum["bare"]).max() <= 1.0
    assert lum["full"][inside].mean() < 0.6 * lum["bare"][inside].mean()
    columns = np.array([lum["half"][:, j][inside[:, j]].mean() for j in range(inside.shape[1]) if inside[:, j].any()])
    assert lum["full"][inside].mean() < columns.mean() < lum["bare"][inside].mean()
    assert columns.max() - columns.min() > 0.3 * (lum["bare"][inside].mean() - lum["full"][inside].mean())
