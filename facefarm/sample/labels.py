"""Exact per-sample labels from the Scene and its render: landmarks with visibility, head pose, face boxes.

Landmarks are the Scene's 3-D points projected with the same camera the renderer
used, so the 2-D positions are exact ("x-ray": occluded points keep their position);
``visible`` adds what Face Synthetics lacks. Visibility = in frame AND not occluded,
where occlusion is a depth test against ``RenderResult.occluder_depth`` (every mesh
with ``occludes_landmarks``, hair ribbons, not transparent lenses); the same test
catches self-occlusion (points on the far side of a turned head).

Because landmarks sit *on* a rendered surface, the test compares the point's depth
with the depth at the 2 x 2 pixel centres around it, with a small absolute tolerance
(the nearest pixel centre alone would hide points on oblique surfaces, where it sees
the surface nearer to the camera than the point). See :func:`visibility`.

Everything returned is a numpy array or plain Python value; :func:`to_jsonable`
turns the dict into lists for JSON.
"""

from __future__ import annotations

import numpy as np

from facefarm.geometry.pose import euler_from_rotation

from facefarm.scene.classes import CLASS_IDS, landmark_layout
from facefarm.scene.model import RenderResult, Scene

#: How far (metres) an occluder may sit in front of a landmark without hiding it. Small
#: enough that hair lying a few mm above the skin or a closed eyelid over the pupil
#: still occludes; large enough for curvature within a pixel and depth quantisation.
DEFAULT_DEPTH_TOLERANCE_M = 0.001

#: Classes whose visible pixels make the segmentation face box.
FACE_CLASSES = tuple(CLASS_IDS[n] for n in (
    "SKIN", "NOSE", "RIGHT_EYE", "LEFT_EYE", "RIGHT_BROW", "LEFT_BROW",
    "MOUTH_INTERIOR", "TOP_LIP", "BOTTOM_LIP", "BEARD"))


def visibility(uv: np.ndarray, z: np.ndarray, occluder_depth: np.ndarray,
               depth_tolerance_m: float = DEFAULT_DEPTH_TOLERANCE_M) -> np.ndarray:
    """Which points are not hidden: (K, 2) pixels, (K,) camera z (m), (H, W) occluder depth -> (K,) bool.

    A point is unoccluded when, at one of the 2 x 2 pixel centres around it, the
    occluder depth is 0 (nothing there) or no nearer than ``z - depth_tolerance_m``.

    Why this needs no slope allowance: the point lies inside the square of those four
    centres, so on a locally planar surface its depth is a convex combination of
    theirs and can never exceed the largest, however oblique the surface. The
    tolerance only has to absorb curvature within a pixel, depth quantisation and
    small mismatches between the landmark surface and the rendered one, and it must
    stay below the thinnest occluder that should count (hair on skin, a closed lid).
    Within a pixel of an occluder's edge or of a silhouette the test may go either
    way, as it must. Points outside the image or behind the camera come out False.
    """
    h, w = occluder_depth.shape
    uv = np.asarray(uv, np.float64)
    z = np.asarray(z, np.float64)
    ok = (z > 0) & np.all(np.isfinite(uv), axis=1)
    ok &= (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    uv = np.where(ok[:, None], uv, 0.0)
    i0 = np.floor(uv[:, 0] - 0.5).astype(np.int64)
    j0 = np.floor(uv[:, 1] - 0.5).astype(np.int64)
    seen = np.zeros(len(z), bool)
    for di in (0, 1):
        for dj in (0, 1):
            d = occluder_depth[np.clip(j0 + dj, 0, h - 1), np.clip(i0 + di, 0, w - 1)].astype(np.float64)
            seen |= (d <= 0) | (z <= d + depth_tolerance_m)
    return ok & seen



def head_pose_in_camera(scene: Scene) -> dict:
    """Head pose in the camera frame: ``rotation`` (3, 3) head->camera, ``translation`` (3,) m
    (the head frame's origin in camera coordinates) and ``yaw_deg``/``pitch_deg``/``roll_deg``
    (see :func:`euler_from_rotation`)."""
    w2c = np.asarray(scene.camera.world_to_camera, np.float64)
    hp = np.asarray(scene.head_pose, np.float64)
    h2c = w2c @ hp
    yaw, pitch, roll = euler_from_rotation(h2c[:3, :3])
    return {"rotation": h2c[:3, :3], "translation": h2c[:3, 3],
            "yaw_deg": yaw, "pitch_deg": pitch, "roll_deg": roll}


def segmentation_box(segmentation: np.ndarray, classes=FACE_CLASSES) -> np.ndarray | None:
    """[x0, y0, x1, y1] pixel-edge box (x1, y1 exclusive) of the pixels whose class is in ``classes``."""
    mask = np.isin(segmentation, np.asarray(classes))
    if not mask.any():
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float64)


def landmark_labels(scene: Scene, result: RenderResult,
                    depth_tolerance_m: float = DEFAULT_DEPTH_TOLERANCE_M) -> dict:
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
    """
    cam = scene.camera
    pts = np.asarray(scene.landmarks.points, np.float64).reshape(-1, 3)
    xyz = cam.to_camera(pts)
    z = xyz[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (xyz @ cam.K.T)[:, :2] / z[:, None]
    in_frame = (z > cam.near) & (uv[:, 0] >= 0) & (uv[:, 0] < cam.width) \
        & (uv[:, 1] >= 0) & (uv[:, 1] < cam.height)
    occ = result.occluder_depth if result.occluder_depth is not None else result.depth
    visible = in_frame & visibility(uv, z, occ, depth_tolerance_m)
    n_sparse = int(scene.landmarks.n_sparse)
    sparse = uv[:n_sparse]
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
        "bbox_landmarks": (np.concatenate([sparse.min(axis=0), sparse.max(axis=0)])
                           if n_sparse else None),
    }


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
    out["head_pose"] = {"rotation": rot, "translation": s @ hp["translation"],
                        "yaw_deg": yaw, "pitch_deg": pitch, "roll_deg": roll}
    for key in ("bbox_face_seg", "bbox_landmarks"):
        b = labels.get(key)
        if b is not None:
            out[key] = np.array([w - b[2], b[1], w - b[0], b[3]], np.float64)
    return out
