"""The Cycles back-end against the label math: camera, classes, depth, HDRI, devices, memory.

Renders are tiny (<= 96 px, 1-8 samples). References are computed independently of
Blender: ``Camera.project`` for the camera, a trimesh ray cast through the pixel
centres for classes and depth, ``environment.background_image`` for the HDRI.
"""

from __future__ import annotations

import typing

import numpy as np
import pytest
import trimesh

from facefarm.geometry.camera import Camera, intrinsics, look_at
from facefarm.render.cycles.device import KNOWN_TYPES, select_device
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.environment import available_hdris, background_image, pixel_rays
from facefarm.scene.model import Curves, Environment, Landmarks, Light, Material, MaterialKind, Mesh, Scene

# --------------------------------------------------------------------------------------------
# device policy: pure, no Blender


@pytest.mark.parametrize(
    "available, expected",
    [
        ({}, "CPU"),
        ({"CUDA": [], "OPTIX": []}, "CPU"),
        ({"CUDA": ["RTX"], "OPTIX": ["RTX"]}, "OPTIX"),
        ({"CUDA": ["T4"], "HIP": ["W7900"]}, "CUDA"),
        ({"HIP": ["W7900"], "METAL": ["M2"]}, "HIP"),
        ({"METAL": ["M2"]}, "METAL"),
        ({"ONEAPI": ["Arc"]}, "CPU"),  # oneAPI only on request
    ],
)
def test_auto_prefers_optix_cuda_hip_metal_then_cpu(available, expected):
    assert select_device("auto", available) == expected


def test_explicit_device_requests():
    gpus = {"CUDA": ["T4"], "OPTIX": ["T4"]}
    assert select_device("cuda", gpus) == "CUDA"
    assert select_device("CPU", gpus) == "CPU"
    assert select_device("cpu", {}) == "CPU"
    with pytest.raises(RuntimeError, match="(?i)hip.*not available"):
        select_device("hip", gpus)
    with pytest.raises(RuntimeError, match="not available"):
        select_device("optix", {"OPTIX": []})
    with pytest.raises(ValueError, match="unknown Cycles device"):
        select_device("vulkan", gpus)
    assert set(KNOWN_TYPES) >= {"OPTIX", "CUDA", "HIP", "METAL", "CPU"}


def test_camera_params_reject_what_blender_cannot_express():
    from facefarm.render.cycles.camera import blender_camera_params

    K = intrinsics(50, 36, 64, 64)
    ok = Camera(K, np.eye(4), 64, 64)
    p = blender_camera_params(ok)
    assert p.lens_mm == pytest.approx(50.0 * 36.0 / 36.0)
    assert (p.shift_x, p.shift_y) == (0.0, 0.0)
    K2 = K.copy()
    K2[1, 1] *= 1.01
    with pytest.raises(ValueError, match="square pixels"):
        blender_camera_params(Camera(K2, np.eye(4), 64, 64))


# --------------------------------------------------------------------------------------------
# helpers


def _mesh(name, tm: trimesh.Trimesh, face_class, material, **kw) -> Mesh:
    fc = np.broadcast_to(np.asarray(face_class, np.uint8), (len(tm.faces),)).copy()
    return Mesh(name, np.asarray(tm.vertices, np.float32), np.asarray(tm.faces, np.int32), fc, material, **kw)


def _scene(meshes, camera, env=None, curves=(), lights=()) -> Scene:
    env = env or Environment(None, intensity=0.5, color=(1.0, 1.0, 1.0), background=(0.0, 0.0, 0.0))
    return Scene(
        meshes=tuple(meshes),
        camera=camera,
        environment=env,
        curves=tuple(curves),
        lights=tuple(lights),
        landmarks=Landmarks(np.zeros((0, 3)), ()),
        head_pose=np.eye(4),
    )


def _ray_cast(meshes, camera):
    """Per pixel centre: (class (H, W) uint8, camera z (H, W) float64), 0 where nothing is hit.

    Moller-Trumbore against every triangle, in float64: an independent reference.
    """
    tri = np.concatenate([np.asarray(m.vertices, np.float64)[m.faces] for m in meshes])
    classes = np.concatenate([m.face_class for m in meshes])
    dirs = pixel_rays(camera).reshape(-1, 3)
    origin = camera.camera_to_world[:3, 3]
    best_t = np.full(len(dirs), np.inf)
    cls = np.zeros(len(dirs), np.uint8)
    for start in range(0, len(tri), 256):
        a, b, c = (tri[start : start + 256, i] for i in range(3))
        e1, e2 = b - a, c - a
        p = np.cross(dirs[:, None], e2[None])  # (rays, tris, 3)
        det = np.einsum("rtk,tk->rt", p, e1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = origin - a  # (tris, 3)
        u = np.einsum("rtk,tk->rt", p, s) * inv
        q = np.cross(s, e1)  # (tris, 3)
        v = np.einsum("rk,tk->rt", dirs, q) * inv
        t = np.einsum("tk,tk->t", e2, q)[None] * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
        t = np.where(hit, t, np.inf)
        j = t.argmin(axis=1)
        tj = t[np.arange(len(dirs)), j]
        closer = tj < best_t
        best_t[closer] = tj[closer]
        cls[closer] = classes[start + j[closer]]
    hit = np.isfinite(best_t)
    z = np.zeros(len(dirs))
    z[hit] = camera.to_camera(origin + best_t[hit, None] * dirs[hit])[:, 2]
    h, w = camera.height, camera.width
    return cls.reshape(h, w), z.reshape(h, w)


def _interior(labels: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood has one label (away from silhouettes and class borders)."""
    p = np.pad(labels, 1, mode="edge")
    same = np.ones(labels.shape, bool)
    for dy in range(3):
        for dx in range(3):
            same &= p[dy : dy + labels.shape[0], dx : dx + labels.shape[1]] == labels
    return same


MARKER = Material("marker", "marker", base_color=(1.0, 1.0, 1.0), emission=1.0)


# --------------------------------------------------------------------------------------------
# camera


@pytest.mark.blender
@pytest.mark.parametrize(
    "size, offset, focal",
    [
        ((64, 64), (0.0, 0.0), 50.0),
        ((96, 64), (7.3, -5.1), 40.0),  # landscape, off-centre principal point
        ((48, 80), (-4.6, 6.2), 60.0),  # portrait
    ],
)
def test_markers_land_where_the_camera_projects_them(cycles_renderer, size, offset, focal):
    w, h = size
    cam = Camera(intrinsics(focal, 36.0, w, h, offset), look_at(np.array([0.12, 0.07, 1.0]), np.zeros(3)), w, h)
    # markers spread over the frame: a wrong focal length or shift moves the outer ones
    points = np.array(
        [[0.0, 0.0, 0.0], [0.16, 0.1, 0.05], [-0.15, -0.12, -0.05], [0.14, -0.14, 0.1], [-0.12, 0.13, 0.0]]
    )
    uv, z = cam.project(points)
    assert np.all((uv > 4) & (uv < np.array([w, h]) - 4)), "test markers must be inside the frame"
    radius = 1.6 * z / cam.K[0, 0]  # ~1.6 px: small, so the blob centre is the projected centre
    meshes = [
        _mesh(f"m{i}", trimesh.creation.icosphere(3, radius=radius[i]).apply_translation(p), 20 + i, MARKER)
        for i, p in enumerate(points)
    ]
    out = cycles_renderer.render(_scene(meshes, cam))
    assert out.rgb.shape == (h, w, 3) and out.segmentation.shape == (h, w) == out.depth.shape
    lum = out.rgb.astype(np.float64).sum(-1)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    for i, (u, v) in enumerate(uv):
        ys, xs = np.nonzero(out.segmentation == 20 + i)
        assert len(xs) >= 3, f"marker {i} missing from the segmentation"
        win = (np.abs(xx - u) < 4) & (np.abs(yy - v) < 4)
        wgt = lum * win
        centroid = np.array([(wgt * xx).sum(), (wgt * yy).sum()]) / wgt.sum()
        assert np.linalg.norm(centroid - (u, v)) < 0.5, (i, centroid, (u, v))
        seg_centroid = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
        assert np.linalg.norm(seg_centroid - (u, v)) < 0.75, (i, seg_centroid, (u, v))


# --------------------------------------------------------------------------------------------
# classes and depth against a ray cast


@pytest.fixture(scope="module")
def primitive_render(cycles_renderer):
    w, h = 80, 60
    cam = Camera(
        intrinsics(30.0, 36.0, w, h, (3.0, -2.0)), look_at(np.array([0.25, 0.15, 0.9]), np.array([0.0, 0.0, 0.0])), w, h
    )
    ball = trimesh.creation.icosphere(3, radius=0.16)
    c = ball.triangles_center
    # three classes interleaved over one mesh, ids unrelated to face or scene order
    ball_cls = np.where(c[:, 1] > 0.06, 7, np.where(c[:, 0] > 0.0, 2, 11))
    wall = trimesh.creation.box((1.2, 1.0, 0.02))
    wall.apply_transform(trimesh.transformations.rotation_matrix(np.radians(35), [0, 1, 0]))
    wall.apply_translation([0.0, 0.0, -0.35])
    frame = trimesh.creation.box((0.03, 0.2, 0.02)).apply_translation([0.02, -0.02, 0.3])
    lens = trimesh.creation.box((0.16, 0.16, 0.004)).apply_translation([0.12, -0.02, 0.3])
    skin = Material("skin", "skin", base_color=(0.8, 0.6, 0.5), subsurface=1.0)
    meshes = [
        _mesh("wall", wall, 12, Material("wall", "cloth")),
        _mesh("ball", ball, ball_cls, skin, vertex_colors=np.full((len(ball.vertices), 3), 0.9, np.float32)),
        _mesh("frame", frame, 16, Material("frame", "glasses_frame", metallic=1.0)),
        _mesh("lens", lens, 16, Material("lens", "glasses_lens", base_color=(0.3, 0.3, 0.3))),
    ]
    out = cycles_renderer.render(_scene(meshes, cam))
    ref_cls, ref_z = _ray_cast([m for m in meshes if m.name != "lens"], cam)
    lens_cls, _ = _ray_cast([meshes[3]], cam)
    return out, ref_cls, ref_z, lens_cls > 0


@pytest.mark.blender
def test_segmentation_is_the_class_of_the_face_under_each_pixel_centre(primitive_render):
    out, ref_cls, _, _ = primitive_render
    assert set(np.unique(ref_cls)) == {0, 2, 7, 11, 12, 16}
    mismatch = out.segmentation != ref_cls
    assert mismatch.mean() < 0.005, f"{mismatch.sum()} of {mismatch.size} pixels differ"
    assert not mismatch[_interior(ref_cls)].any()


@pytest.mark.blender
def test_transparent_lens_shows_the_class_and_depth_behind_it(primitive_render):
    out, ref_cls, ref_z, under_lens = primitive_render
    assert under_lens.sum() > 100
    inner = under_lens & _interior(ref_cls)
    assert np.array_equal(out.segmentation[inner], ref_cls[inner])
    assert np.isin(ref_cls[inner], [2, 7, 11, 12]).all()  # the lens itself is never labelled
    np.testing.assert_allclose(out.depth[inner], ref_z[inner], rtol=1e-4)
    # and the beauty pass does show the (dark) lens: it is darker than the same
    # surfaces outside it on average
    lum = out.rgb.astype(float).mean(-1)
    ball = np.isin(ref_cls, [2, 11]) & _interior(ref_cls)
    assert lum[ball & under_lens].mean() < 0.8 * lum[ball & ~under_lens].mean()


@pytest.mark.blender
def test_depth_is_planar_camera_z(primitive_render):
    out, ref_cls, ref_z, _ = primitive_render
    hit = _interior(ref_cls) & (ref_cls > 0)
    np.testing.assert_allclose(out.depth[hit], ref_z[hit], rtol=1e-4)
    assert np.all(out.depth[ref_cls == 0] == 0.0)
    assert out.depth.dtype == np.float32
    assert out.occluder_depth is not None and np.array_equal(out.occluder_depth, out.depth)


@pytest.mark.blender
def test_non_occluding_meshes_are_missing_only_from_the_occluder_depth(cycles_renderer):
    w = h = 48
    cam = Camera(intrinsics(40.0, 36.0, w, h), look_at(np.array([0.0, 0.0, 1.0]), np.zeros(3)), w, h)
    back = trimesh.creation.box((0.6, 0.6, 0.02)).apply_translation([0, 0, -0.1])
    veil = trimesh.creation.box((0.2, 0.2, 0.01)).apply_translation([0, 0, 0.2])
    meshes = [
        _mesh("back", back, 1, Material("b", "skin")),
        _mesh("veil", veil, 18, Material("v", "cloth"), occludes_landmarks=False),
    ]
    out = cycles_renderer.render(_scene(meshes, cam))
    c = (h // 2, w // 2)
    assert out.segmentation[c] == 18
    assert out.depth[c] == pytest.approx(1.0 - 0.2 - 0.005, rel=1e-4)
    assert out.occluder_depth[c] == pytest.approx(1.0 + 0.1 - 0.01, rel=1e-4)


# --------------------------------------------------------------------------------------------
# every material kind


@pytest.mark.blender
def test_every_material_kind_has_a_shader_and_labels_its_pixels(cycles_renderer):
    from facefarm.render.cycles.materials import SHADERS

    kinds = typing.get_args(MaterialKind)
    assert set(kinds) <= set(SHADERS)
    w, h = 96, 64
    cam = Camera(intrinsics(35.0, 36.0, w, h), look_at(np.array([0.0, 0.0, 1.6]), np.zeros(3)), w, h)
    cols = 5
    meshes, centres = [], {}
    for i, kind in enumerate(k for k in kinds if k != "glasses_lens"):
        p = np.array([(i % cols - 2) * 0.2, (1 - i // cols) * 0.2, 0.0])
        cls = 30 + i
        ball = trimesh.creation.icosphere(2, radius=0.07).apply_translation(p)
        extra = {}
        if kind == "skin":  # also exercise normals and UVs
            extra = dict(
                normals=np.asarray(ball.vertex_normals, np.float32),
                uvs=np.random.default_rng(0).random((len(ball.vertices), 2)).astype(np.float32),
            )
        meshes.append(
            _mesh(
                kind,
                ball,
                cls,
                Material(kind, kind, melanin=0.5, redness=0.3, subsurface=0.5),
                vertex_colors=np.full((len(ball.vertices), 3), 0.7, np.float32),
                **extra,
            )
        )
        centres[cls] = p
    strands = np.stack(
        [np.linspace([x, -0.35, 0.0], [x + 0.05, -0.2, 0.05], 6) for x in np.linspace(-0.3, 0.3, 40)]
    ).astype(np.float32)
    hair = Curves(
        "hair",
        strands,
        np.full(strands.shape[:2], 0.004, np.float32),
        13,
        Material("hair", "hair", melanin=0.8, redness=0.2, roughness=0.3),
    )
    out = cycles_renderer.render(_scene(meshes, cam, curves=[hair]))
    uv, _ = cam.project(np.array(list(centres.values())))
    for cls, (u, v) in zip(centres, uv):
        assert out.segmentation[int(v), int(u)] == cls
    assert (out.segmentation == 13).sum() > 20, "hair curves are rendered and labelled"
    assert out.rgb[out.segmentation > 0].max() > 20, "lit surfaces are not black"


# --------------------------------------------------------------------------------------------
# HDRI: orientation convention shared with the other back-end


@pytest.mark.blender
def test_hdri_background_matches_the_shared_environment_mapping():
    pytest.importorskip("bpy")
    from facefarm.render.cycles.passes import to_display
    from facefarm.render.cycles.renderer import CyclesRenderer

    hdri = available_hdris().get("city")
    if hdri is None:
        pytest.skip("built-in HDRIs not found")
    w, h = 64, 48
    cam = Camera(intrinsics(14.0, 36.0, w, h, (2.5, -1.5)), look_at(np.zeros(3), np.array([1.0, 0.3, 0.4])), w, h)
    env = Environment(hdri, rotation_deg=70.0, intensity=0.6, background="hdri")
    with CyclesRenderer(device="cpu", samples=4, denoise=False, view_transform="Standard") as r:
        out = r.render(_scene([], cam, env=env))
    expect = to_display(background_image(cam, env), "Standard").astype(float)
    wrong = to_display(background_image(cam, Environment(hdri, rotation_deg=160.0, intensity=0.6)), "Standard").astype(
        float
    )
    err = np.abs(out.rgb.astype(float) - expect).mean()
    err_wrong = np.abs(out.rgb.astype(float) - wrong).mean()
    assert err < 6.0, err  # pixel filter vs point lookup differ at sharp edges only
    assert err_wrong > 3 * err, (err, err_wrong)
    assert not out.segmentation.any() and not out.depth.any()


@pytest.mark.blender
def test_solid_background_still_lit_by_the_hdri(cycles_renderer):
    hdri = available_hdris().get("studio")
    if hdri is None:
        pytest.skip("built-in HDRIs not found")
    w = h = 32
    cam = Camera(intrinsics(50.0, 36.0, w, h), look_at(np.array([0.0, 0.0, 1.0]), np.zeros(3)), w, h)
    ball = _mesh(
        "ball", trimesh.creation.icosphere(3, radius=0.08), 1, Material("grey", "cloth", base_color=(0.5, 0.5, 0.5))
    )
    env = Environment(hdri, intensity=1.0, background=(0.2, 0.05, 0.6))
    out = cycles_renderer.render(_scene([ball], cam, env=env))
    from facefarm.render.cycles.passes import to_display

    bg = to_display(np.array([[env.background]], np.float32), "Standard")[0, 0]
    assert np.abs(out.rgb[0, 0].astype(int) - bg).max() <= 1
    centre = out.rgb[h // 2, w // 2].astype(int)
    assert centre.sum() > 60 and abs(centre[0] - centre[1]) < 40  # grey, lit by the studio HDRI


@pytest.mark.blender
def test_white_balance_gains_scale_the_light_before_the_view(cycles_renderer):
    """The same Scene.white_balance the fast back-end applies: a white ball under a bluish
    sky renders blue without it and grey with the gains for that sky."""
    from dataclasses import replace

    from facefarm.scene import white_balance

    w = h = 32
    cam = Camera(intrinsics(50.0, 36.0, w, h), look_at(np.array([0.0, 0.0, 1.0]), np.zeros(3)), w, h)
    sky = Environment(None, color=(0.25, 0.4, 0.8), background=(0.0, 0.0, 0.0))
    ball = _mesh(
        "ball", trimesh.creation.icosphere(3, radius=0.1), 1, Material("white", "cloth", base_color=(0.7, 0.7, 0.7))
    )
    plain = _scene([ball], cam, env=sky)
    gains = white_balance.gains(white_balance.illuminant(sky, [], np.zeros(3), np.array([0.0, 0.0, 1.0])))
    blue = cycles_renderer.render(plain).rgb[12:20, 12:20].reshape(-1, 3).mean(axis=0)
    grey = cycles_renderer.render(replace(plain, white_balance=gains)).rgb[12:20, 12:20].reshape(-1, 3).mean(axis=0)
    assert blue[2] > blue[0] + 40
    assert np.ptp(grey) < 8, grey


def _radial_profile(rgb: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(centre, rim) median linear green of a disc: radius < 0.5 and 0.8..0.95 of the disc's."""
    from facefarm.catalog.colors import srgb_to_linear

    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    r = np.hypot(yy - yy[mask].mean(), xx - xx[mask].mean()) / np.sqrt(mask.sum() / np.pi)
    lin = np.vectorize(lambda c: srgb_to_linear(c / 255.0))(rgb[..., 1].astype(float))
    return float(np.median(lin[mask & (r < 0.5)])), float(np.median(lin[mask & (r > 0.8) & (r < 0.95)]))


@pytest.mark.blender
@pytest.mark.parametrize(
    "kind, watts, distance, azimuth, elevation",
    [("point", 10.0, 1.0, 0.0, 0.0), ("spot", 10.0, 2.0, 6.0, 46.0), ("area", 10.0, 1.0, 48.0, 51.0)],
)
def test_extra_lights_light_alike_in_both_back_ends(cycles_renderer, kind, watts, distance, azimuth, elevation):
    """A grey ball lit by one extra light in a black world: the brightest pixels agree within 20 %
    (the fast back-end once summed point, spot and area lights into a shadowed local and drew
    only their highlights, ~200x too dark)."""
    from facefarm.catalog.colors import srgb_to_linear
    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.scene.lighting import direction_pose

    w = h = 64
    cam = Camera(intrinsics(200.0, 36.0, w, h), look_at(np.array([0.0, 0.0, 3.0]), np.zeros(3)), w, h)
    black = Environment(None, color=(0.0, 0.0, 0.0), background=(0.0, 0.0, 0.0))
    light = Light(
        kind=kind,
        color=(1.0, 1.0, 1.0),
        intensity=watts,
        pose=direction_pose(azimuth, elevation, distance, (0.0, 0.0, 0.0)),
        size=0.3,
    )
    ball = _mesh(
        "ball",
        trimesh.creation.icosphere(4, radius=0.1),
        CLASS_IDS["CLOTHING"],
        Material("grey", "cloth", base_color=(0.5, 0.5, 0.5), roughness=0.9, specular=0.0, sheen=0.0),
    )
    scene = _scene([ball], cam, env=black, lights=[light])
    got = {}
    with PyrenderRenderer(view_transform="Standard") as fast:
        for name, r in (("cycles", cycles_renderer), ("fast", fast)):
            out = r.render(scene)
            lit = out.rgb[out.segmentation == CLASS_IDS["CLOTHING"]][:, 1]
            got[name] = srgb_to_linear(float(np.percentile(lit, 95)) / 255.0)
    assert got["cycles"] > 0.02
    assert abs(got["fast"] / got["cycles"] - 1.0) < 0.2, got


@pytest.mark.blender
def test_fabric_sheen_agrees_with_the_fast_back_end(cycles_renderer):
    """A black fabric ball in a uniform white world: its sheen brightens the rim in Cycles, and the
    fast back-end's fitted sheen gives the same centre and rim; no sheen, no bright rim."""
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    w = h = 96
    cam = Camera(intrinsics(200.0, 36.0, w, h), look_at(np.array([0.0, 0.0, 3.0]), np.zeros(3)), w, h)
    world = Environment(None, color=(1.0, 1.0, 1.0), background=(0.0, 0.0, 0.0))
    got = {}
    with PyrenderRenderer(view_transform="Standard") as fast:
        for sheen in (0.0, 0.8):
            ball = _mesh(
                "ball",
                trimesh.creation.icosphere(5, radius=0.1),
                CLASS_IDS["CLOTHING"],
                Material("cloth", "cloth", base_color=(0.0, 0.0, 0.0), roughness=0.9, specular=0.3, sheen=sheen),
            )
            for name, r in (("cycles", cycles_renderer), ("fast", fast)):
                out = r.render(_scene([ball], cam, env=world))
                got[name, sheen] = _radial_profile(out.rgb, out.segmentation == CLASS_IDS["CLOTHING"])
    for name in ("cycles", "fast"):
        centre, rim = got[name, 0.8]
        assert rim > 3.0 * centre and rim > 0.08, (name, got[name, 0.8])
        assert got[name, 0.0][1] < 0.03, (name, got[name, 0.0])
    for part in (0, 1):
        c, f = got["cycles", 0.8][part], got["fast", 0.8][part]
        assert abs(f - c) < 0.25 * c + 0.005, (part, c, f)


# --------------------------------------------------------------------------------------------
# devices and process hygiene


@pytest.mark.blender
def test_unavailable_gpu_request_raises():
    pytest.importorskip("bpy")
    from facefarm.render.cycles.device import available_devices
    from facefarm.render.cycles.renderer import CyclesRenderer

    if available_devices().get("OPTIX"):
        pytest.skip("this machine has OptiX")
    with pytest.raises(RuntimeError, match="OPTIX|optix"):
        CyclesRenderer(device="optix")


@pytest.mark.blender
def test_threads_option_reaches_cycles():
    pytest.importorskip("bpy")
    import bpy

    from facefarm.render.cycles.renderer import CyclesRenderer

    cam = Camera(intrinsics(50.0, 36.0, 16, 16), look_at(np.array([0.0, 0.0, 1.0]), np.zeros(3)), 16, 16)
    ball = _mesh("ball", trimesh.creation.icosphere(2, radius=0.1), 1, MARKER)
    with CyclesRenderer(device="cpu", samples=1, threads=1) as r:
        out = r.render(_scene([ball], cam))
        assert (bpy.context.scene.render.threads_mode, bpy.context.scene.render.threads) == ("FIXED", 1)
    assert out.segmentation[8, 8] == 1
    with CyclesRenderer(device="cpu", samples=1) as r:
        assert bpy.context.scene.render.threads_mode == "AUTO"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.blender
@pytest.mark.parametrize("recycle_every", [None, 4])
def test_memory_and_data_blocks_stay_flat_over_many_renders(recycle_every):
    pytest.importorskip("bpy")
    import bpy

    from facefarm.render.cycles.renderer import CyclesRenderer

    hdri = available_hdris().get("forest")
    w = h = 24
    cam = Camera(intrinsics(50.0, 36.0, w, h), look_at(np.array([0.0, 0.0, 1.0]), np.zeros(3)), w, h)
    env = Environment(hdri, background=(0.1, 0.1, 0.1)) if hdri else None

    big = trimesh.creation.icosphere(5, radius=0.1)  # 20k faces: a leak would show
    cls = (np.arange(len(big.faces)) % 3 + 1).astype(np.uint8)
    colours = np.full((len(big.vertices), 3), 0.5, np.float32)

    def scene(i):
        mesh = _mesh("big", big, cls, Material("s", "skin"), vertex_colors=colours)
        mesh = Mesh(
            mesh.name,
            mesh.vertices * (1.0 + 0.01 * i),
            mesh.faces,
            mesh.face_class,
            mesh.material,
            vertex_colors=mesh.vertex_colors,
        )
        return _scene([mesh], cam, env=env)

    def counts():
        d = bpy.data
        return {
            k: len(getattr(d, k))
            for k in (
                "objects",
                "meshes",
                "materials",
                "images",
                "worlds",
                "node_groups",
                "collections",
                "lights",
                "cameras",
            )
        }

    with CyclesRenderer(device="cpu", samples=1, denoise=False, recycle_every=recycle_every) as r:
        for i in range(4):
            r.render(scene(i))
        before, rss0 = counts(), _rss_mb()
        for i in range(4, 24):
            out = r.render(scene(i))
        after, rss1 = counts(), _rss_mb()
    assert set(np.unique(out.segmentation)) == {0, 1, 2, 3}
    assert before == after
    assert rss1 - rss0 < 40.0, f"RSS grew {rss1 - rss0:.1f} MB over 20 renders ({rss0:.0f} -> {rss1:.0f})"
