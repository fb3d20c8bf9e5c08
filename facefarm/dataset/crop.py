"""Face-aligned crops of a :class:`~facefarm.dataset.loader.Sample`: one similarity warps every label.

``crop(sample, 128)`` finds a similarity (rotation, uniform scale, translation) from the landmarks —
the eye centres and the mouth corners, as FFHQ aligns faces — or from the face box, and applies it to
the image (bilinear), the segmentation and the depth (nearest: class ids and depths are never mixed)
and the landmarks (exactly: the same matrix, no rounding).

Pixel convention: facefarm's, as everywhere (:mod:`facefarm.dataset.loader`): the origin is the
top-left *corner* of the image and the centre of pixel (i, j) is at (i + 0.5, j + 0.5). A transform
here maps those coordinates: ``p_out = A[:, :2] @ p_in + A[:, 2]``. OpenCV's ``warpAffine`` puts
pixel centres at integers, so the matrix handed to it is the same map conjugated by a half-pixel
shift (``u_cv = u - 0.5`` in, ``u = u_cv + 0.5`` out); without it a crop that scales by s would move
the image by (s - 1) / 2 pixels against its landmarks.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facefarm.dataset.loader import Sample
from facefarm.scene.classes import CLASS_IDS

#: Segmentation id of crop pixels that fall outside the source image (not labelled there).
OUTSIDE_CLASS = CLASS_IDS["IGNORE"]
#: Crop side at ``scale=1`` in eye-centre distances and in eye-to-mouth distances (the larger wins, so a
#: turned or tilted head, whose eye or eye-to-mouth distance shrinks, keeps its size), centred below the
#: eyes by ``CENTRE_BELOW_EYES`` of the eye-to-mouth vector: on frontal renders of the default catalog
#: that is the face box (hairline to chin, about 3.1 eye-to-mouth distances).
EYE_SPAN, EYE_MOUTH_SPAN, CENTRE_BELOW_EYES = 3.4, 3.1, 0.3

RIGHT_EYE, LEFT_EYE = slice(36, 42), slice(42, 48)  # iBUG 300-W, 0-based; right = the subject's right
MOUTH_CORNERS = (48, 54)


def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    w, h = (size, size) if isinstance(size, (int, float, np.number)) else size
    if int(w) != w or int(h) != h or w < 1 or h < 1:
        raise ValueError(f"crop size must be a positive integer or (width, height) (got {size!r})")
    return int(w), int(h)


def _similarity(centre: np.ndarray, right: np.ndarray, side: float, size: tuple[int, int]) -> np.ndarray:
    """(2, 3) map taking ``centre`` to the middle of the output and the unit vector ``right`` to +u, with a
    source length ``side`` spanning the output's shorter edge."""
    if not np.isfinite(side) or side <= 0:
        raise ValueError(f"cannot crop: the face's size is {side} pixels")
    s = min(size) / side
    c, d = right
    lin = s * np.array([[c, d], [-d, c]])
    t = np.array([size[0] / 2.0, size[1] / 2.0]) - lin @ centre
    return np.hstack([lin, t[:, None]])


def landmark_transform(landmarks: np.ndarray, size: int | tuple[int, int], scale: float = 1.25) -> np.ndarray:
    """(2, 3) similarity that centres and uprights the face whose 70 landmarks are ``landmarks`` (pixels).

    The eye line and the eye-to-mouth line both set the roll (FFHQ's rule: the face's x axis is
    eye_to_eye - rot90(eye_to_mouth)); the side of the crop is ``scale`` times the larger of
    ``EYE_SPAN`` eye distances and ``EYE_MOUTH_SPAN`` eye-to-mouth distances.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    eye_r, eye_l = pts[RIGHT_EYE].mean(axis=0), pts[LEFT_EYE].mean(axis=0)
    mouth = pts[list(MOUTH_CORNERS)].mean(axis=0)
    eye_mid = (eye_r + eye_l) / 2.0
    eye_to_eye, eye_to_mouth = eye_l - eye_r, mouth - eye_mid
    x = eye_to_eye + np.array([eye_to_mouth[1], -eye_to_mouth[0]])
    norm = np.hypot(*x)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("cannot crop: the eye and mouth landmarks give no direction")
    side = scale * max(EYE_SPAN * np.hypot(*eye_to_eye), EYE_MOUTH_SPAN * np.hypot(*eye_to_mouth))
    return _similarity(eye_mid + CENTRE_BELOW_EYES * eye_to_mouth, x / norm, side, _size(size))


def box_transform(box, size: int | tuple[int, int], scale: float = 1.25) -> np.ndarray:
    """(2, 3) map (scale and shift, no rotation) centring the box ``[x0, y0, x1, y1]`` with side ``scale``
    times its longer edge."""
    x0, y0, x1, y1 = (float(v) for v in box)
    centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    return _similarity(centre, np.array([1.0, 0.0]), scale * max(x1 - x0, y1 - y0), _size(size))


def _warp_image(
    image: np.ndarray, a: np.ndarray, size: tuple[int, int], interpolation: int, antialias: bool
) -> np.ndarray:
    lin, t = a[:, :2], a[:, 2]
    scale = float(np.sqrt(abs(np.linalg.det(lin))))
    if antialias and scale < 1.0:
        # shrink first by averaging (INTER_AREA), then warp at about 1:1: bilinear sampling alone would skip
        # source pixels. cv2.resize scales corner-origin coordinates exactly (p' = p * w2 / w), so the map
        # from the shrunk image is the same map after undoing that scale.
        h, w = image.shape[:2]
        w2, h2 = max(1, round(w * scale)), max(1, round(h * scale))
        image = cv2.resize(image, (w2, h2), interpolation=cv2.INTER_AREA)
        lin = lin @ np.diag([w / w2, h / h2])
    # OpenCV's pixel centres are at integers: p_cv = p - 0.5 on both sides of the map
    a_cv = np.hstack([lin, (t + lin @ [0.5, 0.5] - 0.5)[:, None]])
    return cv2.warpAffine(
        image,
        a_cv,
        size,
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,  # type: ignore[call-overload]
        borderValue=0,
    )


def warp(
    sample: Sample,
    transform: np.ndarray,
    size: int | tuple[int, int],
    interpolation: int = cv2.INTER_LINEAR,
    antialias: bool = True,
) -> Sample:
    """``sample`` with every label moved by the affine ``transform`` (2, 3; facefarm pixel frame) into a
    ``size`` image: image by ``interpolation`` (0 outside the source; when the map shrinks and
    ``antialias``, the image is first averaged down with ``cv2.INTER_AREA``), segmentation and depth by
    the nearest source pixel (:data:`OUTSIDE_CLASS` and 0 outside), landmarks exactly; ``visible`` and
    ``in_frame`` also require the point inside the new image. ``record`` is kept; ``transform`` composes."""
    w, h = _size(size)
    a = np.asarray(transform, dtype=np.float64).reshape(2, 3)
    lin, t = a[:, :2], a[:, 2]
    if abs(np.linalg.det(lin)) < 1e-12:
        raise ValueError(f"transform is singular: {a.tolist()}")
    image = _warp_image(sample.image, a, (w, h), interpolation, antialias)
    # nearest by hand: the source pixel containing the pre-image of each output pixel centre
    inv = np.linalg.inv(lin)
    jj, ii = np.mgrid[0:h, 0:w]
    centres = np.stack([ii + 0.5, jj + 0.5], axis=-1) - t
    src = centres @ inv.T
    col, row = np.floor(src[..., 0]).astype(np.int64), np.floor(src[..., 1]).astype(np.int64)
    src_h, src_w = sample.segmentation.shape[:2]
    inside = (col >= 0) & (col < src_w) & (row >= 0) & (row < src_h)
    col, row = np.clip(col, 0, src_w - 1), np.clip(row, 0, src_h - 1)
    seg, depth = _labels_at(sample, row, col, inside)
    planes = _planes_at(sample, row, col, inside, lin)

    uv = np.asarray(sample.landmarks, dtype=np.float64) @ lin.T + t
    return _warped(sample, image, seg, depth, uv, (w, h), a, planes)


def homogeneous(transform: np.ndarray) -> np.ndarray:
    """A (2, 3) affine or (3, 3) projective map as a (3, 3) matrix."""
    m = np.asarray(transform, dtype=np.float64)
    if m.shape == (2, 3):
        return np.vstack([m, [0.0, 0.0, 1.0]])
    if m.shape == (3, 3):
        return m
    raise ValueError(f"a transform is (2, 3) or (3, 3), not {m.shape}")


def compose(after: np.ndarray, before: np.ndarray) -> np.ndarray:
    """``after`` applied to what ``before`` gives: (2, 3) while both are affine, else (3, 3) (a perspective
    warp has no affine form)."""
    m = homogeneous(after) @ homogeneous(before)
    if np.asarray(after).shape == (2, 3) and np.asarray(before).shape == (2, 3):
        return m[:2]
    return m / m[2, 2]


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) points moved by a (2, 3) affine or (3, 3) projective map (facefarm's frame on both sides).
    Points the projective map sends to or behind infinity (w <= 0) come out NaN."""
    m = homogeneous(transform)
    p = np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p[:, 2:] > 0, p[:, :2] / p[:, 2:], np.nan)


def layout_points(sample: Sample, layout: str = "wflw98") -> tuple[np.ndarray, np.ndarray]:
    """Another landmark layout of ``sample`` in its frame and convention: ((K, 2) float64 pixels,
    (K,) bool visible), e.g. WFLW's 98 points (``facefarm/assets/schema/wflw98.json``; the dataset's
    catalog must have listed ``landmarks_wflw98`` in ``outputs.labels``).

    The record's points are moved by ``sample.transform`` (so they follow :func:`crop` and the
    warps of :func:`~facefarm.dataset.augment.augment` exactly) and are visible when the record says
    so and they lie inside this sample's image. Occluders drawn by ``augment`` are not known here:
    ``sample.visible`` (the 70 points) takes them into account.
    """
    blocks = getattr(sample.record.layouts, layout, None) if sample.record.layouts is not None else None
    if blocks is None:
        raise ValueError(
            f"sample {sample.sample_id} has no {layout!r} points: render its dataset with "
            f"landmarks_{layout} in the catalog's outputs.labels"
        )
    block = blocks.contour if sample.convention == "contour" else blocks.xray
    uv = transform_points(sample.transform, np.asarray(block.uv, np.float64))
    w, h = sample.size
    with np.errstate(invalid="ignore"):
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    return uv, np.asarray(block.visible, bool) & inside


def to_opencv(transform: np.ndarray) -> np.ndarray:
    """The (3, 3) form of ``transform`` as OpenCV's warps take it: the same map with pixel centres at
    integers (``p_cv = p - 0.5`` on both sides)."""
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
    return back @ homogeneous(transform) @ shift


def nearest_labels(sample: Sample, transform: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Segmentation and depth of ``sample`` warped by ``transform`` into a ``size`` (width, height) image by the
    nearest source pixel: each output pixel takes the source pixel that contains its centre's pre-image
    (:data:`OUTSIDE_CLASS` and depth 0 where that falls outside the source)."""
    return _labels_at(sample, *_nearest_index(sample, transform, size))


def _labels_at(sample: Sample, row, col, inside) -> tuple[np.ndarray, np.ndarray]:
    """Segmentation and depth of ``sample`` taken at the source pixels (row, col) (clipped), with
    :data:`OUTSIDE_CLASS` and depth 0 where ``inside`` is false."""
    seg = np.where(inside, sample.segmentation[row, col], np.uint8(OUTSIDE_CLASS)).astype(sample.segmentation.dtype)
    depth = np.where(inside, sample.depth[row, col], 0).astype(sample.depth.dtype)
    return seg, depth


def _nearest_index(sample: Sample, transform: np.ndarray, size: tuple[int, int]):
    """(row, col, inside): (h, w) source pixel of each output pixel of :func:`nearest_labels` (clipped), and
    whether it lies in the source."""
    w, h = size
    jj, ii = np.mgrid[0:h, 0:w]
    centres = np.stack([ii + 0.5, jj + 0.5], axis=-1).reshape(-1, 2)
    src = transform_points(np.linalg.inv(homogeneous(transform)), centres).reshape(h, w, 2)
    finite = np.isfinite(src).all(axis=-1)
    src = np.where(finite[..., None], src, -1.0)
    col, row = np.floor(src[..., 0]).astype(np.int64), np.floor(src[..., 1]).astype(np.int64)
    src_h, src_w = sample.segmentation.shape[:2]
    inside = finite & (col >= 0) & (col < src_w) & (row >= 0) & (row < src_h)
    col, row = np.clip(col, 0, src_w - 1), np.clip(row, 0, src_h - 1)
    return row, col, inside


def _in_plane_rotation(linear: np.ndarray) -> np.ndarray:
    """(2, 2) orthogonal part of a 2-D linear map (a mirror included): how the map turns image directions,
    and so the x, y of camera-frame normals."""
    u, _, vt = np.linalg.svd(np.asarray(linear, np.float64))
    return u @ vt


def _planes_at(sample: Sample, row, col, inside, linear: np.ndarray) -> dict[str, np.ndarray]:
    """``sample.planes`` taken at the source pixels (row, col) (:func:`_nearest_index`); class planes get
    :data:`OUTSIDE_CLASS` outside the source, the rest 0; normals turn with the map's in-plane rotation
    (``linear``: its 2x2 part; for a homography, its Jacobian at the output's centre)."""
    out = {}
    for key, plane in sample.planes.items():
        fill = OUTSIDE_CLASS if key == "segmentation_head" else 0
        mask = inside if plane.ndim == 2 else inside[..., None]
        taken = np.where(mask, plane[row, col], np.asarray(fill, plane.dtype)).astype(plane.dtype)
        if key == "normals":
            taken = taken.copy()
            taken[..., :2] = taken[..., :2] @ _in_plane_rotation(linear).T.astype(taken.dtype)
        out[key] = taken
    return out


def _jacobian(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(2, 2) derivative of the homography ``m`` (3, 3) at the pre-image of the output image's centre."""
    w, h = size
    centre = transform_points(np.linalg.inv(m), np.array([[w / 2.0, h / 2.0]]))[0]
    x = np.array([centre[0], centre[1], 1.0])
    p = m @ x
    return (m[:2, :2] * p[2] - np.outer(p[:2], m[2, :2])) / p[2] ** 2


def _warped(sample: Sample, image, seg, depth, uv: np.ndarray, size: tuple[int, int], transform, planes) -> Sample:
    """``sample`` with its warped pixels, label ``planes`` and landmarks ``uv``; ``visible`` and ``in_frame``
    also require the point (finite: a homography can send it to infinity) inside the new ``size`` image;
    ``transform`` composes."""
    w, h = size
    in_image = np.isfinite(uv).all(axis=1)
    in_image[in_image] = (uv[in_image, 0] >= 0) & (uv[in_image, 0] < w) & (uv[in_image, 1] >= 0) & (uv[in_image, 1] < h)
    return dataclasses.replace(
        sample,
        image=image,
        segmentation=seg,
        depth=depth,
        landmarks=uv,
        visible=sample.visible & in_image,
        in_frame=sample.in_frame & in_image,
        transform=compose(transform, sample.transform),
        planes=planes,
    )


def warp_perspective(
    sample: Sample, homography: np.ndarray, size: int | tuple[int, int], interpolation: int = cv2.INTER_LINEAR
) -> Sample:
    """:func:`warp` for a projective map (3, 3, facefarm pixel frame): image by ``interpolation`` (0 outside the
    source), segmentation and depth by the nearest source pixel, landmarks exactly (the homography with its
    division); ``visible`` and ``in_frame`` also require the point inside the new image. ``transform``
    becomes (3, 3): no affine map takes the rendered frame here."""
    w, h = _size(size)
    m = homogeneous(homography)
    if abs(np.linalg.det(m)) < 1e-12:
        raise ValueError(f"homography is singular: {m.tolist()}")
    image = cv2.warpPerspective(
        sample.image,
        to_opencv(m),
        (w, h),
        flags=interpolation,  # type: ignore[call-overload]
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    row, col, inside = _nearest_index(sample, m, (w, h))
    seg, depth = _labels_at(sample, row, col, inside)
    planes = _planes_at(sample, row, col, inside, _jacobian(m, (w, h))) if sample.planes else {}
    uv = transform_points(m, sample.landmarks)
    return _warped(sample, image, seg, depth, uv, (w, h), m, planes)


def crop(
    sample: Sample,
    size: int | tuple[int, int],
    scale: float = 1.25,
    *,
    method: str = "landmarks",
    interpolation: int = cv2.INTER_LINEAR,
    antialias: bool = True,
) -> Sample:
    """A ``size`` x ``size`` (or ``(width, height)``) crop of ``sample``, face centred and upright.

    method "landmarks": similarity from the eye centres and mouth corners (:func:`landmark_transform`;
    hidden landmarks are projections too, so a turned head still has all of them). "box": the record's
    ``face_bbox`` (visible face-class pixels), scaled and centred without rotation. ``scale`` is the
    margin: 1.0 frames the face tightly, 1.25 adds an eighth of it on every side.

    Returns a new :class:`~facefarm.dataset.loader.Sample` (see :func:`warp`): landmarks are exact
    (``p_out = A @ p_in``, facefarm's convention on both sides, pixel centres at +0.5), the image is
    bilinear (after averaging the image down when the crop shrinks it and ``antialias``), segmentation
    and depth take the nearest pixel.
    ``sample.transform`` holds the map from the rendered image, e.g. to move ``record.camera.K``.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0 (got {scale})")
    if method == "landmarks":
        a = landmark_transform(sample.landmarks, size, scale)
    elif method == "box":
        box = sample.record.face_bbox or sample.record.landmarks_bbox
        if box is None:
            raise ValueError(f"sample {sample.sample_id} has no face box")
        corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]])
        corners = transform_points(sample.transform, corners)
        a = box_transform([*corners.min(axis=0), *corners.max(axis=0)], size, scale)
    else:
        raise ValueError(f"method must be 'landmarks' or 'box' (got {method!r})")
    return warp(sample, a, size, interpolation, antialias)
