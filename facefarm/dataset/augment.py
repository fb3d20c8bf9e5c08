"""Label-correct augmentation of a :class:`~facefarm.dataset.loader.Sample` (the ops DigiFace-1M used).

``augment(sample, seed, Augment(blur=Op(0.3), affine=Op(0.5), occluder=Op(0.2)))`` returns a new
Sample. Every op is off by default (``Op.p = 0``); each one that is on is applied with its probability,
in this order:

1. **geometric** (image bilinear; segmentation and depth nearest, IGNORE / 0 where the warp brings in
   pixels from outside the render; landmarks moved exactly, ``visible`` and ``in_frame`` cleared for
   points leaving the image; ``transform`` composed):

   * ``affine``: rotation about the image centre up to ``strength`` x 25 degrees, scale
     ``exp(U(-1, 1) x strength x 0.2)``, shift up to ``strength`` x 10 % of the image;
   * ``perspective``: each image corner moved by up to ``strength`` x 8 % of the shorter side, the
     homography through them (``transform`` becomes 3 x 3);

2. **occluder**: one filled random polygon or smooth blob centred on a random in-frame landmark, radius
   ``strength`` x 15-45 % of the landmarks' extent, a solid colour with a little texture. Its pixels
   become :data:`OCCLUDER_CLASS` in the segmentation and depth 0, and landmarks whose pixel it covers
   become not visible (``in_frame`` is kept);

3. **photometric** (the image only; segmentation, depth, landmarks and flags are the same arrays):
   ``blur`` (Gaussian, sigma up to ``strength`` px), ``motion_blur`` (a line kernel up to ``strength`` px
   long, any direction, centred: no shift), ``noise`` (Gaussian, sd up to ``strength`` grey levels),
   ``jpeg`` (re-encoded at a quality down to ``95 - strength``), ``colour`` (brightness, contrast,
   saturation within ``1 +- strength``, hue within +-``strength`` x 36 degrees), ``grayscale`` (luma, to
   ``strength`` of the way), ``downsample`` (shrunk by up to ``strength`` x and resized back; cv2.resize
   maps corner-origin coordinates exactly, so nothing moves).

Deterministic: ``rng_or_seed`` (an int, a sequence of ints or a ``numpy.random.Generator``) seeds one
``numpy`` Generator, from which each op gets its own stream, so turning one op on or off does not change
what the others draw. In a DataLoader, give each item its own seed (README, "Training on facefarm data").

Occluder class. The occluder's pixels are labelled FACEWEAR (18), not IGNORE (255): the pixel is known
to show an object in front of the face, which is what FACEWEAR means in the Face Synthetics schema
(masks, anything worn over the face); IGNORE means "no label here" (pixels a warp brought in from
outside the render), so a loss that skips IGNORE would never learn occlusion. FACEWEAR is one of
:data:`~facefarm.dataset.source.FACE_CLASSES`, so a face box or face mask made from the augmented
segmentation still covers the occluded face. ``Augment(occluder_class="IGNORE")`` switches to the other
convention.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from facefarm.dataset.crop import warp, warp_perspective
from facefarm.dataset.loader import Sample
from facefarm.scene.classes import CLASS_IDS, amodal_layers

#: Default segmentation class of occluder pixels (module docstring).
OCCLUDER_CLASS = "FACEWEAR"
#: Affine ranges at strength 1: rotation (degrees), log scale, shift (fraction of the image side).
AFFINE_ROTATION_DEG, AFFINE_LOG_SCALE, AFFINE_SHIFT = 25.0, 0.2, 0.1
#: Perspective corner jitter at strength 1, fraction of the image's shorter side.
PERSPECTIVE_JITTER = 0.08


@dataclass(frozen=True)
class Op:
    """One augmentation: applied with probability ``p`` (0 = off), ``strength`` scales its range (per op:
    module docstring)."""

    p: float = 0.0
    strength: float = 1.0

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"an op's probability is in [0, 1] (got {self.p})")
        if not self.strength >= 0.0:
            raise ValueError(f"an op's strength is >= 0 (got {self.strength})")


@dataclass(frozen=True)
class Augment:
    """Which augmentations :func:`augment` applies, how often and how strongly; all off by default.

    ``Augment(blur=Op(0.3, 2.0), affine=Op(0.5))``: blur 30 % of samples with sigma up to 2 px, warp half.
    """

    affine: Op = Op(strength=1.0)
    perspective: Op = Op(strength=1.0)
    occluder: Op = Op(strength=1.0)
    blur: Op = Op(strength=2.0)
    motion_blur: Op = Op(strength=9.0)
    noise: Op = Op(strength=10.0)
    jpeg: Op = Op(strength=65.0)
    colour: Op = Op(strength=0.3)
    grayscale: Op = Op(strength=1.0)
    downsample: Op = Op(strength=4.0)
    occluder_class: str = OCCLUDER_CLASS

    def __post_init__(self):
        if self.occluder_class not in CLASS_IDS:
            raise ValueError(
                f"occluder_class {self.occluder_class!r} is not a class of the schema ({', '.join(CLASS_IDS)})"
            )
        if self.jpeg.strength > 94:
            raise ValueError(f"jpeg strength is at most 94 (quality down to 95 - strength; got {self.jpeg.strength})")

    @classmethod
    def digiface(cls) -> Augment:
        """A moderate mix of every op, in the spirit of DigiFace-1M's augmentation."""
        return cls(
            affine=Op(0.5),
            perspective=Op(0.2),
            occluder=Op(0.2),
            blur=Op(0.2),
            motion_blur=Op(0.1),
            noise=Op(0.2),
            jpeg=Op(0.3),
            colour=Op(0.5),
            grayscale=Op(0.1),
            downsample=Op(0.2),
        )


#: The ops in the order they are applied (geometric, occluder, photometric).
OPS: tuple[str, ...] = (
    "affine",
    "perspective",
    "occluder",
    "blur",
    "motion_blur",
    "noise",
    "jpeg",
    "colour",
    "grayscale",
    "downsample",
)


def augment(
    sample: Sample, rng_or_seed: int | Sequence[int] | np.random.Generator, spec: Augment | None = None
) -> Sample:
    """``sample`` with the ops of ``spec`` applied (module docstring); ``spec=None`` changes nothing.

    Geometric ops keep the image size. Photometric ops need a uint8 image (as loaded); geometric ones and
    the occluder take any dtype.
    """
    spec = spec or Augment()
    rng = rng_or_seed if isinstance(rng_or_seed, np.random.Generator) else np.random.default_rng(rng_or_seed)
    seeds = rng.integers(0, 2**63 - 1, size=len(OPS))  # one stream per op, drawn whether it is on or not
    out = sample
    for name, seed in zip(OPS, seeds):
        op: Op = getattr(spec, name)
        if op.p <= 0.0:
            continue
        r = np.random.default_rng(int(seed))
        if r.random() >= op.p:
            continue
        if name in _GEOMETRIC:
            out = _GEOMETRIC[name](out, r, op.strength)
        elif name == "occluder":
            out = occlude(out, r, op.strength, spec.occluder_class)
        else:
            if out.image.dtype != np.uint8:
                raise TypeError(f"augment {name}: photometric ops take a uint8 image, not {out.image.dtype}")
            out = dataclasses.replace(out, image=_PHOTOMETRIC[name](out.image, r, op.strength))
    return out


# -- geometric ------------------------------------------------------------------------------------------
def affine_transform(size: tuple[int, int], angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    """(2, 3) map (facefarm pixel frame) rotating by ``angle_deg`` (counter-clockwise on screen) and scaling
    by ``scale`` about the centre of a ``size`` (width, height) image, then shifting by ``shift`` pixels."""
    w, h = size
    a = np.radians(angle_deg)
    lin = scale * np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    centre = np.array([w / 2.0, h / 2.0])
    t = centre - lin @ centre + np.asarray(shift, dtype=np.float64)
    return np.hstack([lin, t[:, None]])


def _affine(sample: Sample, r: np.random.Generator, strength: float) -> Sample:
    w, h = sample.size
    angle = r.uniform(-1, 1) * strength * AFFINE_ROTATION_DEG
    scale = float(np.exp(r.uniform(-1, 1) * strength * AFFINE_LOG_SCALE))
    shift = r.uniform(-1, 1, size=2) * strength * AFFINE_SHIFT * np.array([w, h])
    return warp(sample, affine_transform((w, h), angle, scale, (shift[0], shift[1])), (w, h))


def perspective_transform(size: tuple[int, int], corners: np.ndarray) -> np.ndarray:
    """(3, 3) homography taking the image's corners (0, 0), (w, 0), (w, h), (0, h) to ``corners`` (4, 2)."""
    w, h = size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    return cv2.getPerspectiveTransform(src, np.asarray(corners, dtype=np.float32)).astype(np.float64)


def _perspective(sample: Sample, r: np.random.Generator, strength: float) -> Sample:
    w, h = sample.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    jitter = r.uniform(-1, 1, size=(4, 2)) * strength * PERSPECTIVE_JITTER * min(w, h)
    return warp_perspective(sample, perspective_transform((w, h), src + jitter), (w, h))


_GEOMETRIC: dict[str, Callable[[Sample, np.random.Generator, float], Sample]] = {
    "affine": _affine,
    "perspective": _perspective,
}


# -- occluder -------------------------------------------------------------------------------------------
def occluder_polygon(r: np.random.Generator, centre: np.ndarray, radius: float) -> np.ndarray:
    """(N, 2) vertices of a random star-shaped polygon (3-9 corners) or a smooth blob (48 vertices, a few
    low-frequency bumps) around ``centre``, about ``radius`` pixels from it."""
    if r.random() < 0.5:
        n = int(r.integers(3, 10))
        angles = np.sort(r.uniform(0, 2 * np.pi, size=n))
        radii = radius * r.uniform(0.5, 1.0, size=n)
    else:
        n = 48
        angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
        k = np.arange(1, 4)[:, None]
        bumps = (r.uniform(0, 0.25, size=(3, 1)) * np.cos(k * angles + r.uniform(0, 2 * np.pi, size=(3, 1)))).sum(0)
        radii = radius * (0.8 + bumps)
    return np.asarray(centre, dtype=np.float64) + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], -1)


def polygon_mask(polygon: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the pixels a polygon given in facefarm's frame fills (OpenCV, 8 fractional bits, after the
    half-pixel shift)."""
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    pts = np.round((np.asarray(polygon, dtype=np.float64) - 0.5) * 256).astype(np.int32)
    cv2.fillPoly(mask, [pts], (1,), lineType=cv2.LINE_8, shift=8)
    return mask.astype(bool)


def occlude(
    sample: Sample, r: np.random.Generator, strength: float = 1.0, occluder_class: str = OCCLUDER_CLASS
) -> Sample:
    """``sample`` with one random occluder painted over it (module docstring)."""
    w, h = sample.size
    pts = np.asarray(sample.landmarks, dtype=np.float64)
    inside = sample.in_frame & np.isfinite(pts).all(axis=1)
    if inside.any():
        centre = pts[r.choice(np.flatnonzero(inside))]
        extent = float(np.ptp(pts[inside], axis=0).max()) or 0.25 * min(w, h)
    else:
        centre, extent = r.uniform([0, 0], [w, h]), 0.5 * min(w, h)
    radius = strength * r.uniform(0.15, 0.45) * extent
    mask = polygon_mask(occluder_polygon(r, centre, radius), (w, h))
    # a solid colour with a little low-frequency texture
    colour = r.uniform(0, 255, size=3)
    texture = cv2.resize(r.normal(0, 20, size=(4, 4, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    paint = np.clip(colour + texture, 0, 255)
    image = sample.image.copy()
    if image.dtype == np.uint8:
        image[mask] = np.round(paint[mask]).astype(np.uint8)
    else:
        image[mask] = (paint[mask] / 255.0).astype(image.dtype)
    seg = sample.segmentation.copy()
    seg[mask] = CLASS_IDS[occluder_class]
    depth = sample.depth.copy()
    depth[mask] = 0
    covered = np.zeros(len(pts), bool)
    if inside.any():
        col = np.floor(np.where(inside, pts[:, 0], 0)).astype(np.int64)
        row = np.floor(np.where(inside, pts[:, 1], 0)).astype(np.int64)
        ok = inside & (col >= 0) & (col < w) & (row >= 0) & (row < h)
        covered[ok] = mask[row[ok], col[ok]]
    return dataclasses.replace(
        sample,
        image=image,
        segmentation=seg,
        depth=depth,
        visible=sample.visible & ~covered,
        planes=_occluded_planes(sample.planes, mask, occluder_class),
    )


def _occluded_planes(planes: dict[str, np.ndarray], mask: np.ndarray, occluder_class: str) -> dict[str, np.ndarray]:
    """The optional label planes under a pasted occluder (``mask`` (H, W) bool): no surface normal or
    albedo of the scene there (0); the amodal masks keep the head and layers behind it, and the
    occluder joins the layer its class belongs to."""
    out = dict(planes)
    for key in ("normals", "albedo"):
        if key in out:
            out[key] = out[key].copy()
            out[key][mask] = 0
    if "layers" in out:
        layer = next((x for x in amodal_layers() if CLASS_IDS[occluder_class] in x.classes), None)
        if layer is not None:
            out["layers"] = out["layers"] | (mask.astype(np.uint8) << layer.bit)
    return out


# -- photometric (uint8 RGB in, uint8 RGB out) ------------------------------------------------------------
def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _blur(image: np.ndarray, r: np.random.Generator, strength: float) -> np.ndarray:
    sigma = r.uniform(0.3, 1.0) * strength
    return cv2.GaussianBlur(image, (0, 0), sigmaX=max(sigma, 1e-3)) if sigma > 0 else image.copy()


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised line kernel ``length`` px long at ``angle_deg``, symmetric about its centre (odd size), so
    filtering with it blurs without moving the image."""
    n = max(1, int(np.ceil(length)) | 1)
    kernel = np.zeros((n, n), np.float32)
    c = n // 2
    d = np.array([np.cos(np.radians(angle_deg)), -np.sin(np.radians(angle_deg))]) * (length - 1) / 2
    a, b = np.round([c - d[0], c - d[1]]).astype(int), np.round([c + d[0], c + d[1]]).astype(int)
    cv2.line(kernel, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (1.0,), thickness=1, lineType=cv2.LINE_AA)
    kernel = 0.5 * (kernel + kernel[::-1, ::-1])  # exactly symmetric
    return kernel / kernel.sum()


def _motion_blur(image: np.ndarray, r: np.random.Generator, strength: float) -> np.ndarray:
    length = r.uniform(0.3, 1.0) * strength
    if length < 2:
        return image.copy()
    return cv2.filter2D(image, -1, motion_kernel(length, r.uniform(0, 180)), borderType=cv2.BORDER_REFLECT)


def _noise(image: np.ndarray, r: np.random.Generator, strength: float) -> np.ndarray:
    sd = r.uniform(0.2, 1.0) * strength
    shape = image.shape if r.random() < 0.5 else (*image.shape[:2], 1)  # colour or luma noise
    return _to_uint8(image.astype(np.float32) + r.normal(0, sd, size=shape).astype(np.float32))


def _jpeg(image: np.ndarray, r: np.random.Generator, strength: float) -> np.ndarray:
    quality = int(round(r.uniform(95 - strength, 95)))
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def _grey(x: np.ndarray) -> np.ndarray:
    return (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]


def _colour(image: np.ndarray, r: np.random.Generator, strength: float) -> np.ndarray:
    x = image.astype(np.float32)
    brightness, contrast, saturation = 1.0 + r.uniform(-1, 1, size=3) * strength
    x = x * brightness
    x = (x - _grey(x).mean()) * contrast + _grey(x).mean()
    x = (x - _grey(x)) * saturation + _grey(x)
    hue = r.uniform(-1, 1) * strength * 36.0
    hsv = cv2.cvtColor(np.clip(x, 0, 255) / 255.0, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = np.mod(hsv[..., 0] + hue, 360.0)
    return _to_uint8(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0)


def _grayscale(image: np.ndarray, r: np.random.Generator, strength: float) -> np.ndarray:
    x = image.astype(np.float32)
    amount = min(strength, 1.0)
    return _to_uint8(x + amount * (_grey(x) - x))


def _downsample(image: np.ndarray, r: np.random.Generator, strength: float) -> np.ndarray:
    h, w = image.shape[:2]
    factor = float(np.exp(r.uniform(0, np.log(max(strength, 1.0)))))
    small = (max(1, round(w / factor)), max(1, round(h / factor)))
    # INTER_NEAREST_EXACT: plain INTER_NEAREST samples half a pixel off the centres
    down = cv2.resize(
        image, small, interpolation=int(r.choice([cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_NEAREST_EXACT]))
    )
    return cv2.resize(
        down, (w, h), interpolation=int(r.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST_EXACT]))
    )


_PHOTOMETRIC: dict[str, Callable[[np.ndarray, np.random.Generator, float], np.ndarray]] = {
    "blur": _blur,
    "motion_blur": _motion_blur,
    "noise": _noise,
    "jpeg": _jpeg,
    "colour": _colour,
    "grayscale": _grayscale,
    "downsample": _downsample,
}
