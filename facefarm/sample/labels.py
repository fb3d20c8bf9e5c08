"""Exact per-sample labels from the Scene and its render: landmarks with visibility, head pose, face boxes.

Landmarks are the Scene's 3-D points projected with the same camera the renderer
used, so the 2-D positions are exact ("x-ray": occluded points keep their position);
``visible`` adds what Face Synthetics lacks: a landmark is visible iff it is in frame and
the surface it marks is what its pixel sees. At each of the 2 x 2 pixel centres around
the point (see :func:`visibility`) that is so when

* nothing that hides landmarks is nearer than the point, within a small tolerance: a depth
  test against ``RenderResult.occluder_depth`` (every mesh with ``occludes_landmarks``,
  hair ribbons, not transparent lenses); or
* the segmentation there shows the point's own surface (:func:`own_surface`): its region's
  classes, strands of the region included (brow hairs over a brow, a beard over the jaw
  line), a bounded distance in front of it. Landmarks on edges are not on the surface
  their pixel sees: the jaw line seen edge-on lies up to ~9 cm behind the cheek a few
  pixels inside the outline, a lip's inner edge mm under the lip's bulge, a brow point
  under its hairs; a depth test alone hid most of them on frontal faces.

The head hides its own points where their surface is turned away from the camera
(:data:`GROUP_LIMITS`, from ``Landmarks.normals``): the far jaw of a profile, or where
another region of the face is in front (the nose over the far eye corner). Hair, glasses
frames, headwear and clothing in front of a point are never its own surface and hide it.

Everything returned is a numpy array or plain Python value; :func:`to_jsonable`
turns the dict into lists for JSON.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry.pose import euler_from_rotation
from facefarm.scene.classes import CLASS_IDS, N_LANDMARKS, landmark_layout, layout, layout_outline, layout_visibility
from facefarm.scene.model import LayoutPoints, RenderResult, Scene

#: How far (metres) an occluder may sit in front of a landmark without hiding it. Small
#: enough that hair lying a few mm above the skin or a closed eyelid over the pupil
#: still occludes; large enough for curvature within a pixel and depth quantisation.
DEFAULT_DEPTH_TOLERANCE_M = 0.001

#: Classes whose visible pixels make the segmentation face box.
FACE_CLASSES = tuple(
    CLASS_IDS[n]
    for n in (
        "SKIN",
        "NOSE",
        "RIGHT_EYE",
        "LEFT_EYE",
        "RIGHT_BROW",
        "LEFT_BROW",
        "MOUTH_INTERIOR",
        "TOP_LIP",
        "BOTTOM_LIP",
        "BEARD",
    )
)


def _ids(*names: str) -> frozenset[int]:
    return frozenset(CLASS_IDS[n] for n in names)


#: Per group of the 70-point layout (``landmarks70.json`` "groups"): the classes of the surface its
#: points mark, the region's own strands included (brow hairs over a brow point, a beard over the
#: jaw line). A pixel of one of these classes in front of a point is that surface seen, not an
#: occluder (on a thin lip, a brow under its hairs or a jaw line seen edge-on, the rendered
#: surface lies mm to cm in front of the point); any other class (hair, glasses frames,
#: headwear, clothing, another region of the face) is depth-tested.
GROUP_CLASSES: dict[str, frozenset[int]] = {
    "jaw": _ids("SKIN", "BEARD", "NECK", "RIGHT_EAR", "LEFT_EAR"),
    "right_brow": _ids("SKIN", "RIGHT_BROW"),
    "left_brow": _ids("SKIN", "LEFT_BROW"),
    "nose_bridge": _ids("SKIN", "NOSE"),
    "nose_lower": _ids("SKIN", "NOSE"),
    "right_eye": _ids("SKIN", "RIGHT_EYE"),
    "left_eye": _ids("SKIN", "LEFT_EYE"),
    "outer_lips": _ids("SKIN", "TOP_LIP", "BOTTOM_LIP", "MOUTH_INTERIOR"),
    "inner_lips": _ids("TOP_LIP", "BOTTOM_LIP", "MOUTH_INTERIOR"),
    "pupils": frozenset(),  # per eye, below: a lid (skin) over a pupil hides it
    # MediaPipe's 478: its irises (a lid over them hides them) and the points of the face's surface
    # in no group of the 70 (cheeks, forehead, temples), seen where the face is (a beard included,
    # as for the jaw)
    "right_iris": _ids("RIGHT_EYE"),
    "left_iris": _ids("LEFT_EYE"),
    "face": _ids("SKIN", "NOSE", "RIGHT_BROW", "LEFT_BROW", "TOP_LIP", "BOTTOM_LIP", "BEARD"),
}
_PUPIL_CLASSES = (_ids("RIGHT_EYE"), _ids("LEFT_EYE"))
#: The head's own surface outside a point's region: seen at a pixel centre with the depth test
#: passing, it still shows the point (an eye corner at a pixel of the nose class, a mouth corner
#: at one of skin). Everything else (background, hair, brow and beard strands, glasses frames,
#: headwear, clothing) shows a point with a region only where it is that region's own.
HEAD_CLASSES = _ids(
    "SKIN", "NOSE", "RIGHT_EYE", "LEFT_EYE", "RIGHT_EAR", "LEFT_EAR", "MOUTH_INTERIOR", "TOP_LIP", "BOTTOM_LIP", "NECK"
)
_HEAD = np.zeros(256, bool)
_HEAD[sorted(HEAD_CLASSES)] = True

#: How far a point's surface may turn away from the camera (cosine between its smooth outward
#: normal and the direction to the camera) and still be the surface its pixel sees. Jaw points
#: mark the face's outline: seen edge-on they lie on the part of the head turned just away from
#: the camera (down to about -0.5 on frontal faces, -0.6 at 35 degrees of yaw), while the far jaw
#: of a profile faces further away (-0.7 to -1) and is hidden by the head itself. Points inside
#: the face (brows, nose, outer lips) turned further away are ones the head hides.
OUTLINE_MIN_FACING = -0.6
INNER_MIN_FACING = -0.5
#: How far (m) the same region's own surface may lie in front of a point inside the face and still
#: count as that surface seen (a lip bulging over its inner edge, brow hairs, the wing of the
#: nose: up to ~13 mm at 256 px); beyond this it is another part of the head in front (the near
#: lips over the far mouth corner of a profile). The jaw line has no such bound: seen edge-on it
#: lies up to ~9 cm behind the cheek a few pixels inside the outline.
INNER_MAX_OWN_GAP_M = 0.02
#: group -> (least facing, or None: any; largest own-surface gap, m). Unlisted groups:
#: (INNER_MIN_FACING, INNER_MAX_OWN_GAP_M). The inner lip line and the lid margins are edges
#: whose normals point into the mouth or under the lid fold (an eye corner under a closed or
#: narrowed lid faces -0.6 to -0.8 and lies mm under the lid it is seen through), so only the
#: gap bound applies there; the far eye of a profile lies behind the nose, another region.
GROUP_LIMITS: dict[str, tuple[float | None, float]] = {
    "jaw": (OUTLINE_MIN_FACING, np.inf),
    "inner_lips": (None, INNER_MAX_OWN_GAP_M),
    "right_eye": (None, INNER_MAX_OWN_GAP_M),
    "left_eye": (None, INNER_MAX_OWN_GAP_M),
}


def visibility(
    uv: np.ndarray,
    z: np.ndarray,
    occluder_depth: np.ndarray,
    depth_tolerance_m: float = DEFAULT_DEPTH_TOLERANCE_M,
    segmentation: np.ndarray | None = None,
    own: np.ndarray | None = None,
    own_gap_m: np.ndarray | None = None,
) -> np.ndarray:
    """Which points are not hidden: (K, 2) pixels, (K,) camera z (m), (H, W) occluder depth -> (K,) bool.

    A point is seen at one of the 2 x 2 pixel centres around it when the occluder depth
    there is 0 (nothing there) or no nearer than ``z - depth_tolerance_m``. Given
    ``segmentation`` (H, W) and ``own`` (K, 256) bool (the classes of each point's own
    surface, see :func:`own_surface`), a point with an own surface is seen at a centre
    instead when the centre shows that surface no more than ``own_gap_m`` (K,) in front of
    it (default: any distance), or another part of the head (:data:`HEAD_CLASSES`) passing
    the depth test; never where it shows background or something covering (hair, strands
    of another region, glasses frames, headwear, clothing), even lying on the point within
    the tolerance (a moustache on a lip) or behind it (past a silhouette).

    Why the depth test needs no slope allowance: the point lies inside the square of those
    four centres, so on a locally planar surface its depth is a convex combination of theirs
    and can never exceed the largest, however oblique the surface. The tolerance only has to
    absorb curvature within a pixel, depth quantisation and small mismatches between the
    landmark surface and the rendered one, and it must stay below the thinnest occluder that
    should count (hair on skin, a closed lid). Where what the pixels see is not the point's
    locally planar neighbourhood (a jaw line seen edge-on, a lip's inner edge under its bulge,
    a brow under its hairs) the class test decides. Within a pixel of an occluder's edge or of
    a silhouette the test may go either way, as it must. Points outside the image or behind
    the camera come out False.
    """
    h, w = occluder_depth.shape
    uv = np.asarray(uv, np.float64)
    z = np.asarray(z, np.float64)
    ok = (z > 0) & np.all(np.isfinite(uv), axis=1)
    ok &= (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    uv = np.where(ok[:, None], uv, 0.0)
    i0 = np.floor(uv[:, 0] - 0.5).astype(np.int64)
    j0 = np.floor(uv[:, 1] - 0.5).astype(np.int64)
    rows = np.arange(len(z))
    seg, own_classes = segmentation, own
    has_own = own_classes.any(axis=1) if own_classes is not None and seg is not None else np.zeros(len(z), bool)
    max_gap = np.full(len(z), np.inf) if own_gap_m is None else np.asarray(own_gap_m, np.float64)
    seen = np.zeros(len(z), bool)
    for di in (0, 1):
        for dj in (0, 1):
            jj, ii = np.clip(j0 + dj, 0, h - 1), np.clip(i0 + di, 0, w - 1)
            d = occluder_depth[jj, ii].astype(np.float64)
            depth_ok = (d <= 0) | (z <= d + depth_tolerance_m)
            if seg is not None and own_classes is not None:
                c = seg[jj, ii]
                by_class = (own_classes[rows, c] & (z - d <= max_gap)) | (_HEAD[c] & depth_ok)
                depth_ok = np.where(has_own, by_class, depth_ok)
            seen |= depth_ok
    return ok & seen


def own_surface(scene: Scene, xyz_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each landmark's pixel may show in front of it and still see the point's own surface:
    (K, 256) bool classes (:data:`GROUP_CLASSES`) and (K,) the largest gap in metres
    (:data:`GROUP_LIMITS`). A point whose surface is turned away from the camera beyond its
    group's limit gets no classes (the head hides it from itself), as do dense points and scenes
    whose landmarks carry no normals: those are depth-tested only."""
    k = len(xyz_camera)
    own = np.zeros((k, 256), bool)
    gap = np.zeros(k)
    lm = scene.landmarks
    if lm.normals is None or int(lm.n_sparse) != N_LANDMARKS or k < N_LANDMARKS:
        return own, gap
    own[:N_LANDMARKS], gap[:N_LANDMARKS] = _own_by_group(
        scene, xyz_camera[:N_LANDMARKS], np.asarray(lm.normals)[:N_LANDMARKS], _members(landmark_layout()["groups"])
    )
    return own, gap


def _members(groups: dict) -> dict[str, list[int]]:
    """A layout's ``groups`` (name -> [first, last]) as name -> point ids."""
    return {g: list(range(a, b + 1)) for g, (a, b) in groups.items()}


def _own_by_group(scene: Scene, xyz_camera: np.ndarray, normals_world: np.ndarray, groups: dict) -> tuple:
    """:func:`own_surface` for the (k,) points of a layout by ``groups`` (name -> point ids), named
    as :data:`GROUP_CLASSES`."""
    k = len(xyz_camera)
    own = np.zeros((k, 256), bool)
    gap = np.zeros(k)
    xyz = np.asarray(xyz_camera, np.float64)
    normals = np.asarray(normals_world, np.float64) @ np.asarray(scene.camera.world_to_camera)[:3, :3].T
    to_camera = -xyz / np.maximum(np.linalg.norm(xyz, axis=1, keepdims=True), 1e-12)
    facing = np.einsum("nk,nk->n", normals, to_camera)
    for group, members in groups.items():
        idx = np.asarray(members, np.int64)
        min_facing, max_gap = GROUP_LIMITS.get(group, (INNER_MIN_FACING, INNER_MAX_OWN_GAP_M))
        gap[idx] = max_gap
        turned_in = np.ones(len(idx), bool) if min_facing is None else facing[idx] >= min_facing
        per_point = list(_PUPIL_CLASSES) if group == "pupils" else [GROUP_CLASSES[group]] * len(idx)
        for i, cls, keep in zip(idx, per_point, turned_in):
            if keep and cls:
                own[i, sorted(cls)] = True
    return own, gap


def head_pose_in_camera(scene: Scene) -> dict:
    """Head pose in the camera frame: ``rotation`` (3, 3) head->camera, ``translation`` (3,) m
    (the head frame's origin in camera coordinates) and ``yaw_deg``/``pitch_deg``/``roll_deg``
    (see :func:`euler_from_rotation`)."""
    w2c = np.asarray(scene.camera.world_to_camera, np.float64)
    hp = np.asarray(scene.head_pose, np.float64)
    h2c = w2c @ hp
    yaw, pitch, roll = euler_from_rotation(h2c[:3, :3])
    return {"rotation": h2c[:3, :3], "translation": h2c[:3, 3], "yaw_deg": yaw, "pitch_deg": pitch, "roll_deg": roll}


def eye_labels(scene: Scene) -> dict | None:
    """Gaze and lids in the camera frame: ``centre`` (2, 3) eyeball centres, metres; ``gaze`` (2, 3)
    unit gaze vectors (centre towards the pupil); ``aperture_m`` (2,) and ``openness`` (2,) as in
    :class:`~facefarm.scene.model.Eyes`; rows: the subject's right eye, then the left. None when the
    scene has no eye state."""
    if scene.eyes is None:
        return None
    w2c = np.asarray(scene.camera.world_to_camera, np.float64)
    centres = np.asarray(scene.eyes.centres, np.float64) @ w2c[:3, :3].T + w2c[:3, 3]
    gaze = np.asarray(scene.eyes.axes, np.float64) @ w2c[:3, :3].T
    gaze /= np.maximum(np.linalg.norm(gaze, axis=1, keepdims=True), 1e-12)
    return {
        "centre": centres,
        "gaze": gaze,
        "aperture_m": np.asarray(scene.eyes.aperture_m, np.float64),
        "openness": np.asarray(scene.eyes.openness, np.float64),
    }


def segmentation_box(segmentation: np.ndarray, classes=FACE_CLASSES) -> np.ndarray | None:
    """[x0, y0, x1, y1] pixel-edge box (x1, y1 exclusive) of the pixels whose class is in ``classes``."""
    mask = np.isin(segmentation, np.asarray(classes))
    if not mask.any():
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float64)


def _project(cam, points_world) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World points (k, 3) -> camera-frame xyz (k, 3), pixels uv (k, 2) and in_frame (k,): in
    front of the near plane and inside [0, W) x [0, H)."""
    xyz = cam.to_camera(np.asarray(points_world, np.float64).reshape(-1, 3))
    z = xyz[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (xyz @ cam.K.T)[:, :2] / z[:, None]
    in_frame = (z > cam.near) & (uv[:, 0] >= 0) & (uv[:, 0] < cam.width) & (uv[:, 1] >= 0) & (uv[:, 1] < cam.height)
    return xyz, uv, in_frame


def landmark_labels(scene: Scene, result: RenderResult, depth_tolerance_m: float = DEFAULT_DEPTH_TOLERANCE_M) -> dict:
    """Labels for one rendered sample; numpy arrays (use :func:`to_jsonable` for JSON).

    Returns
    -------
    uv : (K, 2) float64 pixels, OpenCV convention (pixel centres at +0.5), all K points
        (the first ``n_sparse`` are the 70-point layout, then the dense points)
    xyz_camera : (K, 3) float64 metres, camera frame (x right, y down, z forward)
    visible : (K,) bool, in frame and not occluded (see :func:`visibility`)
    in_frame : (K,) bool, in front of the camera and inside [0, W) x [0, H)
    n_sparse, names : layout of the points
    head_pose : see :func:`head_pose_in_camera`
    K : (3, 3) intrinsics; world_to_camera : (4, 4); image_size : (width, height)
    bbox_face_seg : [x0, y0, x1, y1] of the visible face-class pixels (None if none)
    bbox_landmarks : [min u, min v, max u, max v] of the sparse points (x-ray, unclipped)
    contour : the sparse points in the annotators' convention (uv, xyz_camera, visible,
        in_frame: the jaw on the face's outline in this view), or None when the scene has none
    eyes : gaze and lids (see :func:`eye_labels`), or None when the scene has none
    """
    cam = scene.camera
    xyz, uv, in_frame = _project(cam, scene.landmarks.points)
    z = xyz[:, 2]
    occ = result.occluder_depth if result.occluder_depth is not None else result.depth
    own, own_gap = own_surface(scene, xyz)
    visible = in_frame & visibility(uv, z, occ, depth_tolerance_m, result.segmentation, own, own_gap)
    n_sparse = int(scene.landmarks.n_sparse)
    sparse = uv[:n_sparse]
    contour = None
    if scene.landmarks.contour is not None and n_sparse == N_LANDMARKS:
        contour = _contour_labels(scene, result, own[:n_sparse], own_gap[:n_sparse], depth_tolerance_m)
    return {
        "uv": uv,
        "xyz_camera": xyz,
        "visible": visible,
        "in_frame": in_frame,
        "n_sparse": n_sparse,
        "names": list(scene.landmarks.names),
        "head_pose": head_pose_in_camera(scene),
        "K": np.asarray(cam.K, np.float64),
        "world_to_camera": np.asarray(cam.world_to_camera, np.float64),
        "image_size": (int(cam.width), int(cam.height)),
        "bbox_face_seg": segmentation_box(result.segmentation),
        "bbox_landmarks": (np.concatenate([sparse.min(axis=0), sparse.max(axis=0)]) if n_sparse else None),
        "contour": contour,
        "eyes": eye_labels(scene),
        "layouts": {lay.name: _layout_labels(scene, result, lay, depth_tolerance_m) for lay in scene.layouts},
    }


def _seen(scene: Scene, result: RenderResult, points_world, own, own_gap, tolerance: float) -> dict:
    """uv, xyz_camera, visible, in_frame of (k, 3) world points whose own surface is ``own``/``own_gap``."""
    xyz, uv, in_frame = _project(scene.camera, points_world)
    occ = result.occluder_depth if result.occluder_depth is not None else result.depth
    visible = in_frame & visibility(uv, xyz[:, 2], occ, tolerance, result.segmentation, own, own_gap)
    return {"uv": uv, "xyz_camera": xyz, "visible": visible, "in_frame": in_frame}


def _layout_labels(scene: Scene, result: RenderResult, points: LayoutPoints, tolerance: float) -> dict:
    """``xray`` and ``contour`` label blocks (as :func:`_seen`) of another layout's points: visible
    as the 70's are, by their groups; on the outline the jaw's own classes count whatever the facing."""
    xyz = scene.camera.to_camera(np.asarray(points.points, np.float64))
    own, gap = _own_by_group(scene, xyz, points.normals, layout_visibility(points.name))
    xray = _seen(scene, result, points.points, own, gap, tolerance)
    own, gap = _jaw_on_outline(own, gap, layout_outline(points.name))
    return {"xray": xray, "contour": _seen(scene, result, points.contour, own, gap, tolerance)}


def _jaw_on_outline(own: np.ndarray, gap: np.ndarray, jaw) -> tuple[np.ndarray, np.ndarray]:
    """Copies of a layout's ``own``/``gap`` (:func:`own_surface`) for its points on the outline: the
    jaw points ``jaw`` (point ids) lie where the head turns edge-on by construction, so the jaw's
    own classes count as their surface whatever the facing and however far behind."""
    idx = np.asarray(jaw, np.int64)
    own, gap = own.copy(), gap.copy()
    own[idx] = False
    own[np.ix_(idx, np.array(sorted(GROUP_CLASSES["jaw"]), np.int64))] = True
    gap[idx] = np.inf
    return own, gap


def _contour_labels(scene: Scene, result: RenderResult, own: np.ndarray, own_gap: np.ndarray, tolerance: float):
    """The sparse points in the annotators' convention (``Landmarks.contour``): uv, xyz_camera,
    visible, in_frame. Jaw points lie on the outline, where the head turns edge-on by
    construction: the jaw's own classes count as their surface whatever the facing; every
    other point is tested as its x-ray self."""
    a, b = landmark_layout()["groups"]["jaw"]
    own, own_gap = _jaw_on_outline(own, own_gap, range(a, b + 1))
    return _seen(scene, result, scene.landmarks.contour, own, own_gap, tolerance)


def to_jsonable(value):
    """Labels (nested dicts/lists of numpy values) -> plain lists/floats/bools for ``json.dumps``."""
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------------------------
# Horizontal flip (augmentation) — the labels of the mirror image


def sparse_flip_index() -> np.ndarray:
    """(70,) index: point i of a mirrored face is point ``flip[i]`` of the original."""
    return np.asarray(landmark_layout()["flip_index"], np.int64)


def class_flip_lut() -> np.ndarray:
    """(256,) uint8 lookup swapping every LEFT_* class with its RIGHT_* twin."""
    lut = np.arange(256, dtype=np.uint8)
    for name, cid in CLASS_IDS.items():
        if name.startswith("LEFT_"):
            twin = CLASS_IDS["RIGHT_" + name[5:]]
            lut[cid], lut[twin] = twin, cid
    return lut


def flip_segmentation(segmentation: np.ndarray) -> np.ndarray:
    """Mirror a (H, W) class map left-right and swap left/right classes."""
    return class_flip_lut()[segmentation[:, ::-1]]


def _flip_points(block: dict, perm: np.ndarray, width: int, s: np.ndarray) -> dict:
    """A point block (uv, xyz_camera, visible, in_frame) of the mirror image: renumbered by ``perm``."""
    uv = block["uv"][perm].copy()
    uv[:, 0] = width - uv[:, 0]
    return {
        "uv": uv,
        "xyz_camera": block["xyz_camera"][perm] @ s,
        "visible": block["visible"][perm],
        "in_frame": block["in_frame"][perm],
    }


def flip_labels(labels: dict, flip_index: np.ndarray) -> dict:
    """The labels of the left-right mirrored image (``image[:, ::-1]``).

    ``flip_index`` (K,) maps every point to its mirror twin (for the sparse part,
    :func:`sparse_flip_index`; dense points need their own mirror table). u becomes
    ``W - u``; the camera becomes the mirrored one (principal point ``W - cx``), the
    head pose is mirrored (yaw and roll change sign) and the boxes are mirrored. Names
    stay: point i of the mirror image is still the layout's point i.
    """
    flip = np.asarray(flip_index, np.int64)
    w, h = labels["image_size"]
    s = np.diag([-1.0, 1.0, 1.0])
    out = dict(labels)
    uv = labels["uv"][flip].copy()
    uv[:, 0] = w - uv[:, 0]
    out["uv"] = uv
    out["xyz_camera"] = labels["xyz_camera"][flip] @ s
    out["visible"] = labels["visible"][flip]
    out["in_frame"] = labels["in_frame"][flip]
    K = labels["K"].copy()
    K[0, 2] = w - K[0, 2]
    out["K"] = K
    w2c = labels["world_to_camera"].copy()
    m4 = np.diag([-1.0, 1.0, 1.0, 1.0])
    out["world_to_camera"] = m4 @ w2c @ m4  # the mirrored world seen by the mirrored camera
    hp = labels["head_pose"]
    rot = s @ hp["rotation"] @ s
    yaw, pitch, roll = euler_from_rotation(rot)
    out["head_pose"] = {
        "rotation": rot,
        "translation": s @ hp["translation"],
        "yaw_deg": yaw,
        "pitch_deg": pitch,
        "roll_deg": roll,
    }
    out["layouts"] = {}
    for name, blocks in (labels.get("layouts") or {}).items():
        perm = np.asarray(layout(name)["flip_index"], np.int64)
        out["layouts"][name] = {c: _flip_points(b, perm, w, s) for c, b in blocks.items()}
    eyes = labels.get("eyes")
    if eyes is not None:  # the mirror image's right eye is the subject's left, mirrored
        out["eyes"] = {
            "centre": eyes["centre"][::-1] @ s,
            "gaze": eyes["gaze"][::-1] @ s,
            "aperture_m": eyes["aperture_m"][::-1].copy(),
            "openness": eyes["openness"][::-1].copy(),
        }
    for key in ("bbox_face_seg", "bbox_landmarks"):
        b = labels.get(key)
        if b is not None:
            out[key] = np.array([w - b[2], b[1], w - b[0], b[3]], np.float64)
    return out
