"""Landmark visibility agrees with what the fast back-end's image shows, on real default-catalog heads.

A landmark is visible iff the surface it marks is what its pixel sees: the jaw line seen edge-on,
a lip's inner edge, a brow under its hairs count as seen; hair, glasses frames, headwear,
clothing in front of a point and the far side of a head turned to profile hide it. References
are the segmentation (which class each pixel shows) and opaque plates placed in front of points.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import trimesh  # noqa: E402

from facefarm.catalog import load_catalog, resolve  # noqa: E402
from facefarm.compose.compositor import compose  # noqa: E402
from facefarm.sample.labels import landmark_labels  # noqa: E402
from facefarm.scene.classes import CLASS_IDS  # noqa: E402
from facefarm.scene.model import Material, Mesh  # noqa: E402

pytestmark = pytest.mark.slow

C = CLASS_IDS
SKIN = {C["SKIN"]}
#: (first, end, the classes a visible point's pixel may show) per region of the 70-point layout
REGIONS = {
    "jaw": (0, 17, SKIN | {C["BEARD"], C["NECK"], C["RIGHT_EAR"], C["LEFT_EAR"]}),
    "right_brow": (17, 22, SKIN | {C["RIGHT_BROW"]}),
    "left_brow": (22, 27, SKIN | {C["LEFT_BROW"]}),
    "nose": (27, 36, SKIN | {C["NOSE"]}),
    "right_eye": (36, 42, SKIN | {C["RIGHT_EYE"]}),
    "left_eye": (42, 48, SKIN | {C["LEFT_EYE"]}),
    "outer_lips": (48, 60, SKIN | {C["TOP_LIP"], C["BOTTOM_LIP"], C["MOUTH_INTERIOR"]}),
    "inner_lips": (60, 68, {C["TOP_LIP"], C["BOTTOM_LIP"], C["MOUTH_INTERIOR"]}),
}
N = 8


@pytest.fixture(scope="module")
def renderer():
    from facefarm.render.pyrender.renderer import PyrenderRenderer

    r = PyrenderRenderer()
    yield r
    r.close()


def sample(index: int, yaw: float | None = None, bare: bool = False, seed: int = 0):
    """Default-catalog sample ``index``, its yaw clipped to +-20 degrees (or set to ``yaw``);
    ``bare``: no scalp hair, glasses or headwear (brows and beards stay: they are the face's own)."""
    s = resolve(load_catalog("facefarm/assets/catalogs/default.json"), seed, index)
    y = float(np.clip(s.head_pose.yaw_deg, -20, 20)) if yaw is None else float(yaw)
    update = {"head_pose": s.head_pose.model_copy(update={"yaw_deg": y})}
    if bare:
        update["hair"] = s.hair.model_copy(update={"style": "bald"})
        update["glasses"] = s.glasses.model_copy(update={"present": False})
        update["headwear"] = s.headwear.model_copy(update={"id": "none"})
    return s.model_copy(update=update)


@pytest.fixture(scope="module")
def bare_frontal(renderer, head):
    out = []
    for i in range(N):
        scene = compose(sample(i, bare=True), head)
        result = renderer.render(scene)
        out.append((scene, result, landmark_labels(scene, result)))
    return out


@pytest.fixture(scope="module")
def dressed_frontal(renderer, head):
    out = []
    for i in range(N):
        scene = compose(sample(i), head)
        result = renderer.render(scene)
        out.append((scene, result, landmark_labels(scene, result)))
    return out


def neighbourhood(seg: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(K, 9) classes of the pixel containing each point (column 0) and its 8 neighbours."""
    h, w = seg.shape
    i, j = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    offs = [(0, 0)] + [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]
    return np.stack([seg[np.clip(j + a, 0, h - 1), np.clip(i + b, 0, w - 1)] for a, b in offs], axis=1)


def test_frontal_unoccluded_jaw_brow_and_lip_points_are_visible(bare_frontal):
    """No scalp hair, glasses or headwear, |yaw| <= 20: the jaw line, brows (under their own hairs)
    and both lip lines are seen, so >= 99 % of them must be visible (chin point 8 on every face)."""
    counts = {}
    for scene, result, lab in bare_frontal:
        assert lab["in_frame"][:70].all()
        assert lab["visible"][8], (scene.meta["sample_id"], "chin")
        for name, (a, b, _) in REGIONS.items():
            n, v = counts.get(name, (0, 0))
            counts[name] = (n + b - a, v + int(lab["visible"][a:b].sum()))
    for name in ("jaw", "right_brow", "left_brow", "outer_lips", "inner_lips"):
        n, v = counts[name]
        assert v >= 0.99 * n, (name, v, n, counts)
    for name in ("nose", "right_eye", "left_eye"):
        n, v = counts[name]
        assert v >= 0.97 * n, (name, v, n, counts)


@pytest.mark.parametrize("which", ["bare", "dressed"])
def test_visible_points_show_their_region_and_covered_points_are_hidden(which, bare_frontal, dressed_frontal):
    """Every visible point's pixel (or a 1-px neighbour) shows its region's class; a point whose
    whole 3 x 3 neighbourhood shows hair, glasses, headwear or clothing is hidden."""
    rendered = bare_frontal if which == "bare" else dressed_frontal
    covering = [C[n] for n in ("HAIR", "GLASSES", "HEADWEAR", "CLOTHING", "FACEWEAR")]
    n_covered = 0
    for scene, result, lab in rendered:
        classes = neighbourhood(result.segmentation, lab["uv"][:70])
        for name, (a, b, expected) in REGIONS.items():
            vis = lab["visible"][a:b]
            ok = np.isin(classes[a:b], list(expected)).any(axis=1)
            assert ok[vis].all(), (scene.meta["sample_id"], name, np.flatnonzero(vis & ~ok) + a)
            covered = np.isin(classes[a:b], covering).all(axis=1)
            assert not vis[covered].any(), (scene.meta["sample_id"], name, np.flatnonzero(vis & covered) + a)
            n_covered += int(covered.sum())
    if which == "dressed":
        assert n_covered > 0  # hair and glasses do cover some points in these samples


def plate_before(scene, idx: np.ndarray, gap_m: float, cls: str, margin_px: float = 6.0) -> Mesh:
    """An opaque 0.5 mm plate facing the camera, ``gap_m`` in front of the nearest of the points
    ``idx``, covering their image box plus ``margin_px``."""
    cam = scene.camera
    xyz = cam.to_camera(np.asarray(scene.landmarks.points, np.float64)[idx])
    z = xyz[:, 2].min() - gap_m
    uv = (xyz @ cam.K.T)[:, :2] / xyz[:, 2:3]
    lo, hi = uv.min(0) - margin_px, uv.max(0) + margin_px
    corners = np.array([[lo[0], lo[1]], [hi[0], hi[1]]])
    xy = (corners - cam.K[[0, 1], [2, 2]]) / cam.K[[0, 1], [0, 1]] * z
    box = trimesh.creation.box(extents=(*(xy[1] - xy[0]), 0.0005))
    box.apply_translation((*(xy.mean(0)), z))
    c2w = cam.camera_to_world
    vertices = (np.asarray(box.vertices) @ c2w[:3, :3].T + c2w[:3, 3]).astype(np.float32)
    return Mesh(
        name="plate",
        vertices=vertices,
        faces=np.asarray(box.faces, np.int32),
        face_class=np.full(len(box.faces), C[cls], np.uint8),
        material=Material(name="plate", kind="headwear", base_color=(0.2, 0.2, 0.2)),
    )


@pytest.mark.parametrize("cls", ["HAIR", "HEADWEAR", "GLASSES", "CLOTHING"])
def test_an_opaque_plate_over_the_brows_hides_them(renderer, head, cls):
    scene = compose(sample(2, bare=True), head)
    brows = np.arange(17, 27)
    lab = landmark_labels(scene, renderer.render(scene))
    assert lab["visible"][brows].all()
    # 0.5 mm: lying on the nearest point, within the depth tolerance (a strand or a frame on the skin)
    for gap in (0.0005, 0.003, 0.03):
        covered = replace(scene, meshes=scene.meshes + (plate_before(scene, brows, gap, cls),))
        res = renderer.render(covered)
        lab = landmark_labels(covered, res)
        covered = (neighbourhood(res.segmentation, lab["uv"][brows]) == C[cls]).all(axis=1)
        # (brow hairs standing more than 0.5 mm off the skin show in front of the closest plate)
        assert covered.sum() >= (3 if gap < 0.001 else 10), (cls, gap, covered)
        assert not lab["visible"][brows[covered]].any(), (cls, gap, lab["visible"][brows])
        # the rest of the face is untouched
        assert lab["visible"][list(range(0, 17)) + list(range(48, 68))].mean() >= 0.99


def test_a_plate_over_the_mouth_hides_the_lips_and_not_the_jaw(renderer, head):
    scene = compose(sample(4, bare=True), head)
    lips = np.arange(48, 68)
    covered = replace(scene, meshes=scene.meshes + (plate_before(scene, lips, 0.004, "FACEWEAR", 3.0),))
    lab = landmark_labels(covered, renderer.render(covered))
    assert not lab["visible"][lips].any()
    assert lab["visible"][[0, 1, 2, 14, 15, 16]].all()


@pytest.mark.parametrize("yaw", [-85.0, 85.0])
def test_a_profile_hides_its_far_side(renderer, head, yaw):
    """Turned to profile, the far jaw, the far eye and brow lie behind the head: hidden; the near
    jaw, eye and brow are seen."""
    scene = compose(sample(3, yaw=yaw, bare=True), head)
    lab = landmark_labels(scene, renderer.render(scene))
    z = lab["xyz_camera"][:, 2]
    # which side is far, from the geometry (the subject's right: jaw 0-5, right eye and brow)
    right_far = z[0:6].mean() > z[11:17].mean()
    assert abs(z[0:6].mean() - z[11:17].mean()) > 0.05
    # (the inner end of the far brow, by the midline, may still show over the brow ridge)
    right = (np.arange(0, 6), np.arange(36, 42), np.arange(17, 21))
    left = (np.arange(11, 17), np.arange(42, 48), np.arange(23, 27))
    (jaw_far, eye_far, brow_far), (jaw_near, eye_near, brow_near) = (right, left) if right_far else (left, right)
    vis = lab["visible"]
    assert not vis[jaw_far].any(), vis[:17]
    assert not vis[eye_far].any() and not vis[brow_far].any(), (vis[17:27], vis[36:48])
    assert vis[jaw_near].mean() >= 0.8 and vis[eye_near].mean() >= 0.8 and vis[brow_near].all()


def test_visibility_rules_on_synthetic_buffers():
    """The per-centre rules of :func:`visibility`, on hand-made 8 x 8 buffers (no render)."""
    from facefarm.sample.labels import visibility

    def one(cls: str, depth_m: float, z: float = 0.5, own=("SKIN",), gap=np.inf, with_classes=True):
        occ = np.full((8, 8), depth_m, np.float32)
        seg = np.full((8, 8), C[cls], np.uint8)
        table = np.zeros((1, 256), bool)
        table[0, [C[n] for n in own]] = True
        args = (seg, table, np.array([gap])) if with_classes else ()
        return bool(visibility(np.array([[4.0, 4.0]]), np.array([z]), occ, 0.001, *args)[0])

    # the point's own surface 6 cm in front (a jaw line seen edge-on): seen, unless bounded
    assert one("SKIN", 0.44)
    assert not one("SKIN", 0.44, gap=0.02)
    # without classes (or without an own surface) the plain depth test decides
    assert not one("SKIN", 0.44, with_classes=False)
    assert not one("SKIN", 0.44, own=())
    # covering classes hide it in front, lying on it (within the tolerance) and past a silhouette
    for cls in ("HAIR", "GLASSES", "HEADWEAR", "CLOTHING", "BEARD"):
        assert not one(cls, 0.49) and not one(cls, 0.4995) and not one(cls, 0.6)
    assert one("BEARD", 0.49, own=("SKIN", "BEARD"))  # a beard over the jaw line is the jaw's own
    assert not one("BACKGROUND", 0.0)
    # another part of the head: depth-tested
    assert one("NOSE", 0.4995) and one("NOSE", 0.6) and not one("NOSE", 0.49)
