"""Label-correct augmentation (facefarm/dataset/augment.py): geometric ops move every label with the pixels,
photometric ops touch only the image, occluders hide what they cover, a seed fixes everything.

The pixel convention is proved on synthetic images (a smooth checkerboard whose corners are saddle points
located to a few hundredths of a pixel; a coordinate ramp); one tiny real render (2 samples, 96 px, pyrender,
marked slow) checks that visible landmarks keep their segmentation class.
"""

from __future__ import annotations

import dataclasses
import json
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import facefarm  # noqa: E402
from facefarm.dataset.augment import OPS, Augment, Op, augment, motion_kernel  # noqa: E402
from facefarm.dataset.crop import crop, transform_points  # noqa: E402
from facefarm.dataset.loader import Sample  # noqa: E402
from facefarm.paths import CATALOGS  # noqa: E402
from facefarm.scene.classes import CLASS_IDS  # noqa: E402

SIZE, SQUARE = 192, 16  # synthetic image side and checker square, pixels
GEOMETRIC = ("affine", "perspective")
PHOTOMETRIC = ("blur", "motion_blur", "noise", "jpeg", "colour", "grayscale", "downsample")


def _on(*names: str, **strengths: float) -> Augment:
    """An Augment with ``names`` always applied at their default strength (or ``strengths``)."""
    default = Augment()
    return Augment(**{n: Op(1.0, strengths.get(n, getattr(default, n).strength)) for n in names})


def _corner_landmarks() -> np.ndarray:
    """70 landmarks on checker corners (u, v multiples of SQUARE) around the middle of the image."""
    ks = np.arange(4, 9) * SQUARE
    grid = np.array([(u, v) for v in ks for u in ks], dtype=np.float64)
    return grid[np.arange(70) % len(grid)]


def _saddle_sample(landmarks: np.ndarray) -> Sample:
    """A smooth checkerboard: sin(pi u / S) sin(pi v / S) at each pixel centre, a saddle point at every corner
    (u, v multiples of S); segmentation is the hard checkerboard (classes 1 and 2), depth 1 + its class."""
    jj, ii = np.mgrid[0:SIZE, 0:SIZE]
    u, v = ii + 0.5, jj + 0.5
    board = (np.sin(np.pi * u / SQUARE) * np.sin(np.pi * v / SQUARE)).astype(np.float32)
    seg = (1 + (ii // SQUARE + jj // SQUARE) % 2).astype(np.uint8)
    return Sample(
        image=np.repeat(board[:, :, None], 3, axis=2),
        segmentation=seg,
        depth=seg.astype(np.float32),
        landmarks=landmarks,
        visible=np.ones(70, bool),
        in_frame=np.ones(70, bool),
        record=None,
    )


def _saddle_at(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """The stationary point of a quadratic fitted to the 6 x 6 pixel centres around ``uv`` (facefarm's frame)."""
    i0, j0 = int(np.floor(uv[0] - 2.5)), int(np.floor(uv[1] - 2.5))
    jj, ii = np.mgrid[j0 : j0 + 6, i0 : i0 + 6]
    x, y = (ii + 0.5 - uv[0]).ravel(), (jj + 0.5 - uv[1]).ravel()
    z = image[jj, ii].ravel()
    design = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    _, b, c, d, e, f = np.linalg.lstsq(design, z, rcond=None)[0]
    return uv + np.linalg.solve([[2 * d, e], [e, 2 * f]], [-b, -c])


def _textured(seed: int = 0) -> Sample:
    """A uint8 image with gradients and detail (every photometric op changes it), random labels."""
    r = np.random.default_rng(seed)
    jj, ii = np.mgrid[0:96, 0:96]
    base = np.stack([ii * 2.0, jj * 2.0, 128 + 60 * np.sin(ii / 5.0) * np.cos(jj / 7.0)], axis=-1)
    image = np.clip(base + r.normal(0, 12, size=base.shape), 0, 255).astype(np.uint8)
    return Sample(
        image=image,
        segmentation=r.integers(0, 19, size=(96, 96)).astype(np.uint8),
        depth=r.uniform(0.3, 0.6, size=(96, 96)).astype(np.float32),
        landmarks=r.uniform(20, 76, size=(70, 2)),
        visible=r.random(70) < 0.8,
        in_frame=np.ones(70, bool),
        record=None,
    )


# ------------------------------------------------------------------------------ geometric ops


def test_the_saddle_finder_finds_corners_of_the_unwarped_board():
    s = _saddle_sample(_corner_landmarks())
    for uv in s.landmarks[:25]:
        assert np.hypot(*(_saddle_at(s.image[:, :, 0], uv) - uv)) < 0.01


@pytest.mark.parametrize("ops", [("affine",), ("perspective",), ("affine", "perspective")])
def test_geometric_ops_keep_each_landmark_on_its_checker_corner(ops):
    src = _saddle_sample(_corner_landmarks())
    worst = 0.0
    for seed in range(6):
        out = augment(src, seed, _on(*ops))
        assert out.image.shape == src.image.shape and out.segmentation.shape == src.segmentation.shape
        assert not np.allclose(out.landmarks, src.landmarks)  # it did move them
        np.testing.assert_allclose(out.landmarks, transform_points(out.transform, src.landmarks), atol=1e-9)
        for k in np.flatnonzero(out.visible):
            uv = out.landmarks[k]
            if not ((uv > 4) & (uv < SIZE - 4)).all():
                continue
            worst = max(worst, float(np.hypot(*(_saddle_at(out.image[:, :, 0], uv) - uv))))
            # nearest: the four pixels round the corner are the board's 2 x 2 pattern (two classes, diagonal)
            col, row = int(np.floor(uv[0])), int(np.floor(uv[1]))
            quad = out.segmentation[row - 1 : row + 2, col - 1 : col + 2]
            assert set(np.unique(quad)) <= {1, 2}, (seed, k)
    # a half-pixel slip in the OpenCV matrix would put the image 0.5 px (x scale - 1, rotation...) off
    assert worst < 0.05, worst


def test_a_rotated_ramp_samples_each_pixel_where_its_landmark_map_says():
    # image = (u, v) of the source pixel centre: bilinear resampling is exact on it, so every output pixel holds
    # its own pre-image, which must be where the inverse of the landmarks' map puts it
    jj, ii = np.mgrid[0:SIZE, 0:SIZE]
    ramp = np.stack([ii + 0.5, jj + 0.5, np.zeros_like(ii, dtype=np.float64)], axis=-1).astype(np.float32)
    src = dataclasses.replace(_saddle_sample(_corner_landmarks()), image=ramp)
    for ops in (("affine",), ("perspective",)):
        out = augment(src, 11, _on(*ops))
        back = transform_points(
            np.linalg.inv(
                np.vstack([out.transform, [0, 0, 1]])[:3] if out.transform.shape == (2, 3) else out.transform
            ),
            np.stack([ii + 0.5, jj + 0.5], -1).reshape(-1, 2),
        ).reshape(SIZE, SIZE, 2)
        inside = ((back > 2) & (back < SIZE - 2)).all(-1)
        assert inside.mean() > 0.5
        err = np.abs(out.image[..., :2] - back)[inside]
        assert err.max() < 0.05, (ops, err.max())
        # segmentation and depth: the source pixel containing the pre-image; IGNORE / 0 from outside
        col, row = np.floor(back[..., 0]).astype(int), np.floor(back[..., 1]).astype(int)
        np.testing.assert_array_equal(out.segmentation[inside], src.segmentation[row[inside], col[inside]])
        outside = ~((back >= 0) & (back < SIZE)).all(-1)
        assert outside.any() and (out.segmentation[outside] == CLASS_IDS["IGNORE"]).all()
        assert (out.depth[outside] == 0).all()


def test_landmarks_leaving_the_image_are_no_longer_visible_or_in_frame():
    pts = _corner_landmarks()
    pts[:10] = [[3.0, 3.0 + k] for k in range(10)]  # near the left edge: a strong warp pushes some out
    src = _saddle_sample(pts)
    left = 0
    for seed in range(20):  # one warp at a time: a point pushed out by one warp stays out after the next
        out = augment(src, seed, _on(GEOMETRIC[seed % 2], affine=2.0, perspective=2.0))
        uv = out.landmarks
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < SIZE) & (uv[:, 1] >= 0) & (uv[:, 1] < SIZE)
        np.testing.assert_array_equal(out.in_frame, inside)
        np.testing.assert_array_equal(out.visible, inside)
        left += int((~inside).sum())
    assert left > 0


def test_crop_after_a_perspective_warp_composes_the_homography():
    src = _saddle_sample(_corner_landmarks())
    out = augment(src, 3, _on("perspective"))
    assert out.transform.shape == (3, 3)
    c = crop(out, 64, method="box") if out.record is not None else crop(out, 64)
    assert c.transform.shape == (3, 3)
    np.testing.assert_allclose(c.landmarks, transform_points(c.transform, src.landmarks), atol=1e-9)


# ------------------------------------------------------------------------------ photometric ops


@pytest.mark.parametrize("name", PHOTOMETRIC)
def test_photometric_ops_change_only_the_image(name):
    src = _textured()
    out = augment(src, 5, _on(name))
    assert out.image.shape == src.image.shape and out.image.dtype == np.uint8
    assert np.abs(out.image.astype(int) - src.image).mean() > 0.5, name
    for field in ("segmentation", "depth", "landmarks", "visible", "in_frame", "transform"):
        np.testing.assert_array_equal(getattr(out, field), getattr(src, field), err_msg=field)


@pytest.mark.parametrize("name", ["blur", "motion_blur", "downsample"])  # JPEG: block noise, no shift
def test_photometric_ops_do_not_move_the_image(name):
    # a smooth bright blob at a sub-pixel position: its centroid stays put (a kernel or resize off by half a
    # pixel would move it with respect to the untouched labels)
    jj, ii = np.mgrid[0:96, 0:96]
    centre = np.array([47.3, 44.8])
    blob = 255 * np.exp(-((ii + 0.5 - centre[0]) ** 2 + (jj + 0.5 - centre[1]) ** 2) / (2 * 6.0**2))
    src = dataclasses.replace(_textured(), image=np.repeat(blob[:, :, None], 3, axis=2).round().astype(np.uint8))
    for seed in range(5):
        img = augment(src, seed, _on(name)).image[:, :, 1].astype(np.float64)
        got = np.array([(img * (ii + 0.5)).sum(), (img * (jj + 0.5)).sum()]) / img.sum()
        assert np.hypot(*(got - centre)) < 0.1, (name, seed, got)


def test_motion_kernel_is_symmetric_and_normalised():
    for length, angle in ((3, 0), (7.5, 33), (9, 90), (12, 135)):
        k = motion_kernel(length, angle)
        assert k.shape[0] % 2 == 1 and abs(k.sum() - 1) < 1e-6
        np.testing.assert_allclose(k, k[::-1, ::-1])


# ------------------------------------------------------------------------------ occluders


def test_occluders_hide_the_landmarks_they_cover_and_label_their_pixels():
    src = _textured()
    src = dataclasses.replace(src, segmentation=np.ones_like(src.segmentation), visible=np.ones(70, bool))
    hidden = 0
    for seed in range(12):
        out = augment(src, seed, _on("occluder"))
        mask = out.segmentation == CLASS_IDS["FACEWEAR"]
        assert mask.any()
        assert (out.segmentation[~mask] == 1).all()
        np.testing.assert_array_equal(out.image[~mask], src.image[~mask])  # paint only where the label says
        assert (out.depth[mask] == 0).all() and (out.depth[~mask] == src.depth[~mask]).all()
        col, row = np.floor(src.landmarks).astype(int).T
        np.testing.assert_array_equal(out.visible, ~mask[row, col])
        np.testing.assert_array_equal(out.landmarks, src.landmarks)
        np.testing.assert_array_equal(out.in_frame, src.in_frame)
        hidden += int((~out.visible).sum())
    assert hidden > 0
    ignore = augment(src, 0, dataclasses.replace(_on("occluder"), occluder_class="IGNORE"))
    assert (ignore.segmentation == CLASS_IDS["IGNORE"]).any()


# ------------------------------------------------------------------------------ seeds and the spec


def test_same_seed_same_sample_other_seed_other_sample():
    src = _textured()
    spec = _on(*OPS)
    a, b, c = augment(src, 42, spec), augment(src, 42, spec), augment(src, 43, spec)
    for field in ("image", "segmentation", "depth", "landmarks", "visible", "in_frame", "transform"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert not np.array_equal(a.image, c.image) and not np.allclose(a.landmarks, c.landmarks)
    np.testing.assert_array_equal(augment(src, np.random.default_rng(42), spec).image, a.image)
    # each op has its own stream: turning the photometric ops off leaves the warp as it was
    np.testing.assert_array_equal(
        augment(src, 42, _on("affine")).landmarks, augment(src, 42, _on("affine", "blur", "noise", "jpeg")).landmarks
    )


def test_everything_is_off_by_default():
    src = _textured()
    assert all(getattr(Augment(), n).p == 0 for n in OPS)
    for out in (augment(src, 0), augment(src, 0, Augment())):
        for field in ("image", "segmentation", "depth", "landmarks", "visible", "in_frame", "transform"):
            np.testing.assert_array_equal(getattr(out, field), getattr(src, field))


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="probability"):
        Op(1.5)
    with pytest.raises(ValueError, match="strength"):
        Op(0.5, -1.0)
    with pytest.raises(ValueError, match="occluder_class"):
        Augment(occluder_class="HAND")
    with pytest.raises(TypeError, match="uint8"):
        augment(_saddle_sample(_corner_landmarks()), 0, _on("blur"))


def test_the_api_exposes_augment():
    assert facefarm.augment is augment and facefarm.Augment is Augment


# ------------------------------------------------------------------------------ a real render


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    cat = json.loads((CATALOGS / "default.json").read_text())
    cat["render"]["resolution"] = [96, 96]
    return facefarm.render(cat, 2, tmp_path_factory.mktemp("augment") / "dataset", exports=False, datasheet=False)


@pytest.mark.slow  # renders
def test_warped_render_keeps_visible_landmarks_on_their_classes(rendered):
    total = 0
    for s in rendered:
        for seed in range(4):
            out = augment(s, seed, _on("affine", "perspective", "blur", "jpeg"))
            assert out.record is s.record and (out.visible <= s.visible).all()
            np.testing.assert_allclose(out.landmarks, transform_points(out.transform, s.landmarks), atol=1e-9)
            for k in np.flatnonzero(out.visible):
                (u0, v0), (u1, v1) = s.landmarks[k], out.landmarks[k]
                near = s.segmentation[max(int(v0) - 1, 0) : int(v0) + 2, max(int(u0) - 1, 0) : int(u0) + 2]
                assert out.segmentation[int(v1), int(u1)] in near, (s.sample_id, seed, k)
                total += 1
    assert total > 300


@pytest.mark.slow  # renders
def test_occluded_render_hides_covered_landmarks(rendered):
    for s in rendered:
        for seed in range(4):
            out = augment(s, seed, _on("occluder"))
            face = out.segmentation == CLASS_IDS["FACEWEAR"]
            col, row = np.floor(s.landmarks).astype(int).T
            under = face[np.clip(row, 0, 95), np.clip(col, 0, 95)] & s.in_frame
            assert not (out.visible & under).any()
            np.testing.assert_array_equal(out.visible, s.visible & ~under)
