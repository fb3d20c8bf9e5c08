"""One sample's head, posed: everything the fitters need about it, computed once per sample.

The compositor builds a :class:`PosedHead` and hands it to every fitter (hair, glasses, garments,
user assets) instead of the whole sample, so the head rotation, the body measurements, the
headwear's coverage and the head scale are each derived in one place and never twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from facefarm.catalog import ResolvedSample
from facefarm.compose.garments.body import Body
from facefarm.compose.garments.headwear import headwear_coverage, headwear_field, tucks_all_hair
from facefarm.compose.hair.brows import Brow, identity_brow
from facefarm.compose.skin import FaceGeometry
from facefarm.geometry.pose import pose_matrix
from facefarm.head.model import HeadModel

_DOWN = np.array([0.0, -1.0, 0.0])


def _worn(item) -> str | None:
    return None if item is None or item.id in (None, "", "none") else item.id


@dataclass(frozen=True, eq=False)
class PosedHead:
    """A resolved sample's head in one pose.

    ``vertices``: (V, 3) float64 metres, head frame (+y up, +z out of the face, +x the subject's
    left), identity + expression + gaze applied; ``rest``: the same without expression;
    ``rotation``: (3, 3) head pose; ``head_to_world``: (4, 4) with the neck pivot at the world
    origin; ``face``: the identity's face measurements (pivot, face centre, head scale).
    """

    sample: ResolvedSample
    head: HeadModel
    vertices: np.ndarray
    rest: np.ndarray
    rotation: np.ndarray
    head_to_world: np.ndarray
    face: FaceGeometry

    @staticmethod
    def pose(
        sample: ResolvedSample, head: HeadModel, vertices: np.ndarray, rest: np.ndarray | None = None
    ) -> "PosedHead":
        """The posed head of ``sample`` for head-frame ``vertices`` (``rest``: the identity without
        expression, default ``vertices``)."""
        v = np.asarray(vertices, np.float64)
        r = v if rest is None else np.asarray(rest, np.float64)
        face = FaceGeometry.measure(head.eye_centres(r), r, head.vertex_class)
        p = sample.head_pose
        R = pose_matrix(p.yaw_deg, p.pitch_deg, p.roll_deg)
        m = np.eye(4)
        m[:3, :3] = R
        m[:3, 3] = -R @ face.pivot
        return PosedHead(sample=sample, head=head, vertices=v, rest=r, rotation=R, head_to_world=m, face=face)

    def to_world(self, points: np.ndarray) -> np.ndarray:
        """(n, 3) head-frame points -> world frame (metres)."""
        return np.asarray(points, np.float64) @ self.rotation.T + self.head_to_world[:3, 3]

    @property
    def scale(self) -> float:
        """Head scale: the identity's eye spacing relative to the model's adult."""
        return float(self.face.scale)

    @cached_property
    def gravity(self) -> np.ndarray:
        """(3,) world "down" seen from the posed head (hair falls with the world, not the head)."""
        return self.rotation.T @ _DOWN

    @cached_property
    def brow(self) -> Brow:
        """The identity's eyebrows (placed on ``rest``): hairs, paint, brow labels and landmarks."""
        return identity_brow(self.sample, self.head, self.rest)

    @cached_property
    def body(self) -> Body:
        """The body garments are fitted to, measured on the posed vertices."""
        return Body.measure(self.head, self.vertices)

    @property
    def headwear_id(self) -> str | None:
        return _worn(getattr(self.sample, "headwear", None))

    @cached_property
    def headwear_field(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """g(points) <= 0 in the part of the head the headwear covers; None without (built-in) headwear."""
        return None if self.headwear_id is None else headwear_field(self.headwear_id, self.body)

    @cached_property
    def headwear_coverage(self) -> np.ndarray | None:
        """(V,) bool head vertices under the headwear, or None without headwear."""
        if self.headwear_id is None:
            return None
        return np.asarray(headwear_coverage(self.headwear_id, self.head, self.vertices, self.headwear_field), bool)

    @property
    def tucks_all_hair(self) -> bool:
        """Whether the headwear hides all scalp hair (a headscarf): none is grown then."""
        return self.headwear_id is not None and tucks_all_hair(self.headwear_id)
