"""Landmark labels from real pyrender renders: projection, visibility, head pose, boxes, flips.

Scenes are built here from trimesh primitives (a sphere "head" with a box nose, an
occluding plate, a hand-like box); landmarks are points *on* the rendered triangles,
as the compositor's are. References are independent: geometry (normals, ray-plate
intersections), ``Camera.project`` and explicit rotations. Images are <= 128 px.
"""

from __future__ import annotations

import dataclasses
import json
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before pyrender / PyOpenGL are imported

import numpy as np
import pytest
import trimesh
from scipy import ndimage

from facefarm.geometry.camera import Camera, intrinsics, look_at
from facefarm.geometry.pose import euler_from_rotation
from facefarm.render.pyrender.renderer import PyrenderRenderer
from facefarm.sample.labels import (
    DEFAULT_DEPTH_TOLERANCE_M,
    FACE_CLASSES,
    class_flip_lut,
    flip_labels,
    flip_segmentation,
    landmark_labels,
    sparse_flip_index,
    to_jsonable,
)
from facefarm.scene.classes import CLASS_IDS, landmark_layout
from facefarm.scene.model import Environment, Eyes, Landmarks, Material, Mesh, Scene

pytestmark = pytest.mark.slow

SIZE = 128
R_HEAD = 0.09
GREY = Environment(hdri=None, color=(0.5, 0.5, 0.5))


@pytest.fixture(scope="module")
def renderer():
    r = PyrenderRenderer()
    yield r
    r.close()


def rot(yaw=0.0, pitch=0.0, roll=0.0) -> np.ndarray:
    """The compositor's head rotation: Ry(yaw) @ Rx(-pitch) @ Rz(roll), degrees."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def surface_points(tm: trimesh.Trimesh, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """n points on the mesh's triangles (barycentric) and their face normals."""
    idx = rng.integers(0, len(tm.faces), n)
    w = rng.dirichlet(np.ones(3), n)
    tri = tm.triangles[idx]
    return np.einsum("nk,nkd->nd", w, tri), tm.face_normals[idx]


class Head:
    """Head-frame geometry and landmarks; ``scene()`` poses them and adds a camera."""

    def __init__(self, seed=0, n_dense=300):
        rng = np.random.default_rng(seed)
        self.sphere = trimesh.creation.icosphere(subdivisions=4, radius=R_HEAD)
        self.nose = trimesh.creation.box(extents=(0.024, 0.034, 0.03))
        self.nose.apply_translation((0.0, -0.005, R_HEAD + 0.01))
        # 70 "sparse" points on the front of the sphere, dense ones anywhere (back included)
        front = trimesh.Trimesh(self.sphere.vertices, self.sphere.faces[self.sphere.triangles_center[:, 2] > 0.03])
        sparse, n_sparse = surface_points(front, 64, rng)
        tip = trimesh.Trimesh(self.nose.vertices, self.nose.faces[self.nose.face_normals[:, 2] > 0.9])
        on_nose, n_nose = surface_points(tip, 6, rng)
        dense, n_dense_ = surface_points(self.sphere, n_dense, rng)
        self.points = np.vstack([sparse, on_nose, dense])
        self.normals = np.vstack([n_sparse, n_nose, n_dense_])  # head frame, unit
        self.nose_idx = np.arange(64, 70)
        self.n_dense = n_dense

    def meshes(self, R, t, extra=()):
        sphere_cls = np.full(len(self.sphere.faces), CLASS_IDS["SKIN"], np.uint8)
        c = self.sphere.triangles_center
        sphere_cls[(c[:, 0] > 0.02) & (c[:, 1] > 0.02) & (c[:, 2] > 0.05)] = CLASS_IDS["LEFT_EYE"]
        sphere_cls[(c[:, 0] < -0.02) & (c[:, 1] > 0.02) & (c[:, 2] > 0.05)] = CLASS_IDS["RIGHT_EYE"]
        out = []
        for name, tm, cls in (("head", self.sphere, sphere_cls), ("nose", self.nose, CLASS_IDS["NOSE"])):
            fc = np.full(len(tm.faces), cls, np.uint8) if np.isscalar(cls) else cls
            out.append(
                Mesh(
                    name=name,
                    vertices=(tm.vertices @ R.T + t).astype(np.float32),
                    faces=np.asarray(tm.faces, np.int32),
                    face_class=fc,
                    material=Material(name=name, kind="skin", base_color=(0.7, 0.5, 0.4)),
                )
            )
        return out + list(extra)

    def scene(
        self, yaw=0.0, pitch=0.0, roll=0.0, cam_eye=(0.0, 0.0, 0.55), extra=(), size=SIZE, principal=(0.0, 7.5)
    ) -> Scene:
        R = rot(yaw, pitch, roll)
        t = np.array([0.0, 0.0, 0.0])
        hp = np.eye(4)
        hp[:3, :3], hp[:3, 3] = R, t
        cam = Camera(
            K=intrinsics(55, 36, size, size, principal),
            world_to_camera=look_at(cam_eye, (0, 0, 0)),
            width=size,
            height=size,
        )
        names = tuple(landmark_layout()["names"]) + tuple(f"dense_{i}" for i in range(self.n_dense))
        lm = Landmarks(points=self.points @ R.T + t, names=names, n_sparse=70)
        return Scene(meshes=tuple(self.meshes(R, t, extra)), camera=cam, environment=GREY, landmarks=lm, head_pose=hp)


def ray_hits_box(points: np.ndarray, target: np.ndarray, lo, hi) -> np.ndarray:
    """(K,) whether the segment from each point to ``target`` crosses the box [lo, hi] (slab test)."""
    d = target - points
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (np.asarray(lo) - points) / d
        t2 = (np.asarray(hi) - points) / d
    t_near = np.nanmax(np.minimum(t1, t2), axis=1)
    t_far = np.nanmin(np.maximum(t1, t2), axis=1)
    return (t_near <= t_far) & (t_far > 1e-9) & (t_near < 1.0)


def plate(z_head: float, half=0.03, name="plate", occludes=True, cls="HAIR") -> Mesh:
    """A thin square plate in front of the face at head-frame depth ``z_head`` (unposed head)."""
    box = trimesh.creation.box(extents=(2 * half, 2 * half, 0.0005))
    box.apply_translation((0.0, 0.02, z_head))
    return Mesh(
        name=name,
        vertices=np.asarray(box.vertices, np.float32),
        faces=np.asarray(box.faces, np.int32),
        face_class=np.full(len(box.faces), CLASS_IDS[cls], np.uint8),
        material=Material(name=name, kind="hair", base_color=(0.1, 0.05, 0.02)),
        occludes_landmarks=occludes,
    )


# --------------------------------------------------------------------------------------------


def facing(head: Head, sc: Scene, lab: dict) -> np.ndarray:
    """(K,) cosine between each point's surface normal and the direction to the camera."""
    xyz = lab["xyz_camera"]
    view = -xyz / np.linalg.norm(xyz, axis=1, keepdims=True)
    normals = head.normals @ (sc.camera.world_to_camera[:3, :3] @ sc.head_pose[:3, :3]).T
    return np.einsum("nk,nk->n", normals, view)


def test_visible_points_sit_on_the_depth_buffer_and_far_side_is_hidden(renderer):
    head = Head()
    sc = head.scene()
    res = renderer.render(sc)
    lab = landmark_labels(sc, res)
    uv, z, vis = lab["uv"], lab["xyz_camera"][:, 2], lab["visible"]
    cos = facing(head, sc, lab)
    assert lab["in_frame"].all()
    # bilinear depth at the point from the 4 surrounding pixel centres equals the point's depth
    i0 = np.floor(uv[:, 0] - 0.5).astype(int)
    j0 = np.floor(uv[:, 1] - 0.5).astype(int)
    fx, fy = uv[:, 0] - 0.5 - i0, uv[:, 1] - 0.5 - j0
    d = res.depth
    quad = np.stack([d[j0, i0], d[j0, i0 + 1], d[j0 + 1, i0], d[j0 + 1, i0 + 1]], 1)
    interp = (
        quad[:, 0] * (1 - fx) * (1 - fy)
        + quad[:, 1] * fx * (1 - fy)
        + quad[:, 2] * (1 - fx) * fy
        + quad[:, 3] * fx * fy
    )
    # away from the silhouette and the nose, all four centres see the same smooth patch
    smooth = vis & (cos > 0.5) & (quad.min(1) > 0) & (quad.max(1) - quad.min(1) < 0.01)
    assert smooth.sum() > 50
    np.testing.assert_allclose(interp[smooth], z[smooth], atol=3e-4)
    # facing the camera -> visible unless the nose box is in the way; facing away -> hidden
    centre = sc.camera.camera_to_world[:3, 3]
    pts = sc.landmarks.points
    nose = sc.meshes[1].vertices
    behind_nose = ray_hits_box(pts, centre, nose.min(0), nose.max(0))
    on_sphere = np.arange(len(pts)) >= 70
    assert np.all(vis[on_sphere & (cos > 0.05) & ~behind_nose])
    # on the far side, everything more than a pixel inside the silhouette is hidden (closer to
    # the rim, a point is within a pixel of being seen: the 2 x 2 test may go either way)
    inside_px = ndimage.distance_transform_edt(res.segmentation > 0)
    deep = inside_px[uv[:, 1].astype(int), uv[:, 0].astype(int)] > 1.5
    assert not np.any(vis[on_sphere & (cos < 0) & deep])
    assert (on_sphere & (cos < 0) & deep).sum() > 100
    assert vis[head.nose_idx].sum() >= 3


def test_grazing_points_need_the_2x2_neighbourhood(renderer):
    """On oblique surfaces a point and its nearest pixel centre differ in depth by mm: still visible."""
    head = Head(seed=1, n_dense=2000)
    sc = head.scene()
    res = renderer.render(sc)
    lab = landmark_labels(sc, res)
    xyz = lab["xyz_camera"][70:]
    cos = facing(head, sc, lab)[70:]
    grazing = (cos > 0.03) & (cos < 0.25)
    assert grazing.sum() > 30
    assert lab["visible"][70:][grazing].mean() > 0.97
    # a plain single-pixel test with the same absolute tolerance loses many of them
    uv = lab["uv"][70:][grazing]
    d = res.depth[np.floor(uv[:, 1]).astype(int), np.floor(uv[:, 0]).astype(int)]
    naive = xyz[grazing, 2] <= d + DEFAULT_DEPTH_TOLERANCE_M
    assert naive.mean() < 0.85


def test_points_under_a_plate_3mm_above_the_skin_are_hidden(renderer):
    head = Head()
    # the plate sits 3 mm in front of the sphere's front pole, over the upper face
    cover = plate(R_HEAD + 0.003, half=0.032)
    sc = head.scene(extra=[cover])
    res = renderer.render(sc)
    lab = landmark_labels(sc, res)
    pts = sc.landmarks.points
    centre = sc.camera.camera_to_world[:3, 3]
    behind = ray_hits_box(pts, centre, cover.vertices.min(0), cover.vertices.max(0))
    front = np.arange(len(pts)) < 70
    assert (behind & front).sum() >= 5
    assert not np.any(lab["visible"][behind])
    # the same plate marked as not occluding: segmentation still shows it, landmarks see through
    see_through = plate(R_HEAD + 0.003, half=0.032, occludes=False)
    sc2 = head.scene(extra=[see_through])
    res2 = renderer.render(sc2)
    lab2 = landmark_labels(sc2, res2)
    assert (res2.segmentation == CLASS_IDS["HAIR"]).sum() == (res.segmentation == CLASS_IDS["HAIR"]).sum()
    assert lab2["visible"][behind & front].all()
    # and a tolerance larger than the gap (3 mm at the pole, up to ~27 mm where the sphere curves
    # away under the flat plate) no longer sees the occluder: the parameter is honoured
    loose = landmark_labels(sc, res, depth_tolerance_m=0.03)
    assert loose["visible"][behind & front].all()


def test_labels_follow_head_pose_and_camera(renderer):
    head = Head()
    for yaw, pitch, roll, eye in [
        (0, 0, 0, (0.0, 0.0, 0.55)),
        (35, 10, -8, (0.0, 0.0, 0.55)),
        (-20, -15, 12, (0.1, 0.08, 0.5)),
        (30, 0, 0, (0.55 * np.sin(np.radians(30)), 0.0, 0.55 * np.cos(np.radians(30)))),
    ]:
        sc = head.scene(yaw, pitch, roll, cam_eye=eye)
        res = renderer.render(sc)
        lab = landmark_labels(sc, res)
        # independent projection of the *rotated head-frame* points through K [R | t]
        pts = head.points @ rot(yaw, pitch, roll).T
        w2c = look_at(eye, (0, 0, 0))
        pc = pts @ w2c[:3, :3].T + w2c[:3, 3]
        uv = (pc @ sc.camera.K.T)[:, :2] / pc[:, 2:3]
        np.testing.assert_allclose(lab["uv"], uv, atol=1e-9)
        np.testing.assert_allclose(lab["xyz_camera"], pc, atol=1e-12)
        # visible nose points land on NOSE pixels of the render
        nose = head.nose_idx[lab["visible"][head.nose_idx]]
        assert len(nose) >= 3
        seg_at = res.segmentation[lab["uv"][nose, 1].astype(int), lab["uv"][nose, 0].astype(int)]
        assert (seg_at == CLASS_IDS["NOSE"]).mean() >= 0.8
        # head pose: rotation head -> camera, and Euler angles about the camera axes
        hp = lab["head_pose"]
        np.testing.assert_allclose(hp["rotation"], w2c[:3, :3] @ rot(yaw, pitch, roll), atol=1e-12)
        np.testing.assert_allclose(hp["translation"], w2c[:3, 3], atol=1e-12)
        if eye == (0.0, 0.0, 0.55):
            np.testing.assert_allclose([hp["yaw_deg"], hp["pitch_deg"], hp["roll_deg"]], [yaw, pitch, roll], atol=1e-9)
    # the camera orbiting 30 degrees towards the subject's left cancels a 30 degree yaw
    assert abs(hp["yaw_deg"]) < 1e-9 and abs(hp["pitch_deg"]) < 1e-9 and abs(hp["roll_deg"]) < 1e-9


def test_euler_convention_round_trips():
    rng = np.random.default_rng(5)
    frontal = look_at((0, 0, 1.0), (0, 0, 0))[:3, :3]
    for _ in range(50):
        y, p, r = rng.uniform([-85, -60, -60], [85, 60, 60])
        np.testing.assert_allclose(euler_from_rotation(frontal @ rot(y, p, r)), [y, p, r], atol=1e-9)
    # signs: yaw + turns the nose to image right, pitch + moves it up, roll + turns the head CCW
    nose = np.array([0, 0, 1.0])
    top = np.array([0, 1.0, 0])
    assert (frontal @ rot(yaw=20) @ nose)[0] > 0
    assert (frontal @ rot(pitch=20) @ nose)[1] < 0  # image y points down
    assert (frontal @ rot(roll=20) @ top)[0] < 0  # head top towards image left


def test_in_frame_and_boxes(renderer):
    head = Head()
    sc = head.scene(yaw=10)
    # behind the camera, outside the image, in frame but behind the head
    far_off = np.array([[0.0, 0.0, 5.0], [2.0, 0.0, 0.0], [0.0, 0.0, -0.2]])
    lm = Landmarks(
        points=np.vstack([sc.landmarks.points, far_off]), names=sc.landmarks.names + ("a", "b", "c"), n_sparse=70
    )
    sc = Scene(**{**sc.__dict__, "landmarks": lm})
    res = renderer.render(sc)
    lab = landmark_labels(sc, res)
    assert not lab["in_frame"][-3:-1].any() and not lab["visible"][-3:-1].any()
    assert lab["in_frame"][-1] and not lab["visible"][-1]
    mask = np.isin(res.segmentation, FACE_CLASSES)
    ys, xs = np.nonzero(mask)
    np.testing.assert_array_equal(lab["bbox_face_seg"], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    sparse = lab["uv"][:70]
    np.testing.assert_allclose(lab["bbox_landmarks"], [*sparse.min(0), *sparse.max(0)])
    # the landmark box lies inside the face box (landmarks are on the front of the head)
    b, f = lab["bbox_landmarks"], lab["bbox_face_seg"]
    assert f[0] <= b[0] and f[1] <= b[1] and b[2] <= f[2] and b[3] <= f[3]


def test_same_scene_gives_identical_labels_and_json(renderer):
    head = Head()
    sc = head.scene(yaw=25, pitch=5, extra=[plate(R_HEAD + 0.004)])
    a = landmark_labels(sc, renderer.render(sc))
    b = landmark_labels(sc, renderer.render(sc))
    ja, jb = json.dumps(to_jsonable(a)), json.dumps(to_jsonable(b))
    assert ja == jb
    back = json.loads(ja)
    assert len(back["uv"]) == 370 and len(back["visible"]) == 370 and back["n_sparse"] == 70
    assert isinstance(back["visible"][0], bool) and len(back["head_pose"]["rotation"]) == 3


# --------------------------------------------------------------------------------------------
# horizontal flip


def mirror_scene(sc: Scene, flip: np.ndarray) -> Scene:
    """The same scene reflected in the world's x = 0 plane (left and right swapped)."""
    S = np.diag([-1.0, 1.0, 1.0])
    M4 = np.diag([-1.0, 1.0, 1.0, 1.0])
    lut = class_flip_lut()
    meshes = tuple(
        Mesh(
            name=m.name,
            vertices=(m.vertices @ S).astype(np.float32),
            faces=np.ascontiguousarray(m.faces[:, ::-1]),
            face_class=lut[m.face_class],
            material=m.material,
            occludes_landmarks=m.occludes_landmarks,
        )
        for m in sc.meshes
    )
    lm = Landmarks(points=(sc.landmarks.points @ S)[flip], names=sc.landmarks.names, n_sparse=70)
    cam = sc.camera
    assert cam.K[0, 2] == cam.width / 2  # a mirrored camera keeps K only with a centred principal point
    mcam = Camera(
        K=cam.K,
        world_to_camera=M4 @ cam.world_to_camera @ M4,
        width=cam.width,
        height=cam.height,
        near=cam.near,
        far=cam.far,
    )
    return Scene(meshes=meshes, camera=mcam, environment=sc.environment, landmarks=lm, head_pose=M4 @ sc.head_pose @ M4)


def test_flipped_image_labels_match_the_mirrored_scene(renderer):
    head = Head(seed=3)
    hand = trimesh.creation.box(extents=(0.04, 0.06, 0.02))
    hand.apply_translation((-0.05, -0.02, R_HEAD + 0.02))  # over the subject's right cheek only
    hand_mesh = Mesh(
        name="hand",
        vertices=np.asarray(hand.vertices, np.float32),
        faces=np.asarray(hand.faces, np.int32),
        face_class=np.full(12, CLASS_IDS["SKIN"], np.uint8),
        material=Material(name="hand", kind="skin"),
    )
    sc = head.scene(yaw=28, pitch=8, roll=6, cam_eye=(0.05, 0.03, 0.55), extra=[hand_mesh], principal=(0.0, 5.0))
    flip = np.concatenate([sparse_flip_index(), 70 + np.arange(head.n_dense)])
    gaze = np.array([[0.3, -0.1, 1.0], [0.2, -0.15, 1.0]])
    sc = dataclasses.replace(
        sc,
        eyes=Eyes(
            centres=np.array([[-0.03, 0.02, 0.06], [0.031, 0.021, 0.061]]),
            axes=gaze / np.linalg.norm(gaze, axis=1, keepdims=True),
            aperture_m=np.array([0.008, 0.007]),
            openness=np.array([0.9, 0.8]),
        ),
    )
    s3 = np.diag([-1.0, 1.0, 1.0])  # the mirror of the world frame (M4)
    mirrored = dataclasses.replace(
        mirror_scene(sc, flip),
        eyes=Eyes(
            centres=(sc.eyes.centres @ s3)[::-1],
            axes=(sc.eyes.axes @ s3)[::-1],
            aperture_m=sc.eyes.aperture_m[::-1],
            openness=sc.eyes.openness[::-1],
        ),
    )
    res_a, res_b = renderer.render(sc), renderer.render(mirrored)
    a, b = landmark_labels(sc, res_a), landmark_labels(mirrored, res_b)
    fa = flip_labels(a, flip)
    np.testing.assert_allclose(fa["uv"], b["uv"], atol=1e-9)
    np.testing.assert_allclose(fa["xyz_camera"], b["xyz_camera"], atol=1e-12)
    np.testing.assert_array_equal(fa["in_frame"], b["in_frame"])
    assert 0.2 < a["visible"].mean() < 0.9
    # visibility agrees but for rasterisation ties (an edge exactly through a pixel centre)
    assert (fa["visible"] != b["visible"]).sum() <= 2
    np.testing.assert_allclose(fa["K"], b["K"])
    np.testing.assert_allclose(fa["world_to_camera"], b["world_to_camera"], atol=1e-12)
    for k in ("yaw_deg", "pitch_deg", "roll_deg"):
        assert abs(fa["head_pose"][k] - b["head_pose"][k]) < 1e-9
    assert abs(fa["head_pose"]["yaw_deg"] + a["head_pose"]["yaw_deg"]) < 1e-9
    np.testing.assert_allclose(fa["head_pose"]["rotation"], b["head_pose"]["rotation"], atol=1e-12)
    for k in ("centre", "gaze", "aperture_m", "openness"):
        np.testing.assert_allclose(fa["eyes"][k], b["eyes"][k], atol=1e-12)
    assert not np.allclose(fa["eyes"]["gaze"], a["eyes"]["gaze"])
    # the render agrees with the flipped render: classes swap sides
    same = flip_segmentation(res_a.segmentation) == res_b.segmentation
    assert same.mean() > 0.995
    assert (res_a.segmentation == CLASS_IDS["LEFT_EYE"]).sum() > 20
    np.testing.assert_allclose(fa["bbox_face_seg"], b["bbox_face_seg"], atol=1.0)
    np.testing.assert_allclose(fa["bbox_landmarks"], b["bbox_landmarks"], atol=1e-9)
    # the hand hides points on one side only, so this is not a symmetric no-op
    assert (a["visible"] != a["visible"][flip]).sum() > 5
