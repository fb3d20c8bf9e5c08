"""Surface appearance of the head: skin albedo per vertex, painted brows and hair caps, materials.

Skin colour starts from the sample's melanin and haemoglobin through the albedo
model in :mod:`facefarm.catalog.skin_tone` (fitted to measured skin albedo) and adds
what makes a face read as a face: redder, darker lips; flushed cheeks;
a low-frequency mottle; :func:`paint_brow` the colour under the brow hairs. Identity-level detail (the
mottle) is seeded by the identity, so every image of a person shares it. What is finer than the
mesh (freckles, moles, pores, fine mottling, sheen) is in the skin's texture maps
(:mod:`facefarm.compose.skin_maps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facefarm.catalog.colors import srgb_to_linear_rgb
from facefarm.catalog.rng import identity_stream
from facefarm.catalog.skin_tone import skin_albedo_linear
from facefarm.compose.hair.colour import hair_albedo_linear
from facefarm.geometry import vectors
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import Material

ADULT_INTEROCULAR_M = 0.063


@dataclass(frozen=True)
class FaceGeometry:
    """Reference points of one identity's rest mesh (head frame, metres)."""

    pivot: np.ndarray  # (3,) neck pivot the head pose rotates about
    face_centre: np.ndarray  # (3,) between the eyes and the mouth: what the camera aims at
    eye_mid: np.ndarray  # (3,)
    mouth: np.ndarray  # (3,)
    scale: float  # interocular distance / adult average

    @staticmethod
    def measure(eye_centres: np.ndarray, vertices: np.ndarray, vertex_class: np.ndarray) -> "FaceGeometry":
        ears = np.isin(vertex_class, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]])
        lips = np.isin(vertex_class, [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]])
        eye_mid = eye_centres.mean(axis=0)
        scale = float(np.linalg.norm(eye_centres[0] - eye_centres[1]) / ADULT_INTEROCULAR_M)
        mouth = vertices[lips].mean(axis=0)
        ear_mid = vertices[ears].mean(axis=0)
        # the head nods about a point below and slightly behind the ear canals
        pivot = ear_mid + np.array([0.0, -0.03, -0.01]) * scale
        centre = 0.5 * (eye_mid + mouth)
        return FaceGeometry(pivot=pivot, face_centre=centre, eye_mid=eye_mid, mouth=mouth, scale=scale)


def iris_linear_rgb(sample) -> tuple[float, float, float]:
    rgb = getattr(sample.eyes, "iris_rgb", None) or getattr(sample.eyes, "rgb", None) or (0.35, 0.22, 0.12)
    return srgb_to_linear_rgb(rgb)


def _smooth_field(points: np.ndarray, rng: np.random.Generator, wavelengths=(0.015, 0.03, 0.06)) -> np.ndarray:
    """(n,) zero-mean, roughly unit-variance smooth noise over 3-D points (metres)."""
    out = np.zeros(len(points))
    for wl in wavelengths:
        for _ in range(4):
            d = rng.normal(size=3)
            d /= np.linalg.norm(d)
            out += np.sin(points @ d * (2 * np.pi / wl) + rng.uniform(0, 2 * np.pi))
    return out / np.sqrt(0.5 * 4 * len(wavelengths))


#: Opacity of the brow colour painted under the brow hairs at full density: the skin between
#: hairs is shaded by them, so a brow reads as one soft shape, not as strokes on bare skin.
BROW_PAINT = 0.6


def paint_brow(sample, colours: np.ndarray, weight: np.ndarray, brow) -> np.ndarray:
    """(V_r, 3) ``colours`` with the brow painted where ``weight`` (V_r,) 0..1 says it lies:
    the brow hairs' colour (:class:`~facefarm.compose.hair.brows.Brow` ``melanin`` scales the
    sample's brow melanin), stronger where the brow is denser."""
    eb = sample.eyebrows
    colour = hair_albedo_linear(float(eb.melanin) * brow.melanin, eb.redness, eb.grey)
    w = BROW_PAINT * float(np.clip(brow.density, 0.0, 1.0)) * np.clip(weight, 0.0, 1.0)
    return (1.0 - w[:, None]) * colours + w[:, None] * colour


def skin_vertex_colors(
    sample,
    vertices: np.ndarray,
    vertex_class: np.ndarray,
    faces: np.ndarray,
    geo: FaceGeometry,
    scalp: np.ndarray | None = None,
) -> np.ndarray:
    """(V, 3) float32 linear albedo for every head vertex (non-skin parts get their own materials)."""
    sk = sample.skin
    base = np.asarray(skin_albedo_linear(sk.melanin, sk.haemoglobin))
    rng = identity_stream(sample, "skin.tone")
    n = len(vertices)
    col = np.tile(base, (n, 1))
    mottle = _smooth_field(vertices, rng)
    col *= (1.0 + 0.05 * mottle)[:, None]

    s = geo.scale
    # flushed cheeks: haemoglobin pools below and outside the eyes
    for side in (-1.0, 1.0):
        c = geo.eye_mid + np.array([side * 0.036, -0.03, 0.0]) * s
        c[2] = vertices[:, 2].max() - 0.02 * s
        d = vertices - c
        w = np.exp(-vectors.dot(d, d) / (2 * (0.018 * s) ** 2))
        col *= 1.0 - (0.10 * (0.5 + sk.haemoglobin) * w)[:, None] * np.array([0.0, 1.0, 0.8])

    lips = np.isin(vertex_class, [CLASS_IDS["TOP_LIP"], CLASS_IDS["BOTTOM_LIP"]])
    lip_tint = np.array([0.82, 0.50, 0.52]) * (1.0 - 0.25 * sk.melanin)
    col[lips] *= lip_tint

    if scalp is not None and len(scalp):
        hair = sample.hair
        hcol = hair_albedo_linear(hair.melanin, hair.redness, hair.grey)
        col[scalp] = hcol * (1.0 + 0.08 * _smooth_field(vertices[scalp], rng, (0.003, 0.006)))[:, None]
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def material_for(part: str, sample) -> Material:
    """Material of a head part by its name in the compiled head asset."""
    sk = sample.skin
    if part == "skin":
        return Material(
            name="skin",
            kind="skin",
            roughness=0.45,
            specular=0.35,
            subsurface=0.25,
            subsurface_radius=(1.0, 0.35, 0.2),
            melanin=float(sk.melanin),
        )
    if part.startswith("eye"):
        return Material(name=part, kind="eye", roughness=0.05, specular=0.8, ior=1.376)
    if part.startswith("lash"):
        col = (
            tuple(hair_albedo_linear(sample.eyebrows.melanin, 0.1, 0.0) * 0.5)
            if hasattr(sample.eyebrows, "melanin")
            else (0.02, 0.015, 0.01)
        )
        return Material(name=part, kind="lash", base_color=col, roughness=0.6)
    if part.startswith("teeth"):
        # white: the albedo of each tooth and of the gums is in the vertex colours (compose.teeth)
        return Material(
            name=part, kind="teeth", base_color=(1.0, 1.0, 1.0), roughness=0.25, specular=0.6, subsurface=0.1
        )
    if part == "tongue":
        return Material(name=part, kind="tongue", base_color=(0.45, 0.12, 0.12), roughness=0.35, subsurface=0.3)
    return Material(name=part, kind="mouth", base_color=(0.25, 0.05, 0.05), roughness=0.5)
