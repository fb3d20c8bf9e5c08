"""Hair for one sample: scalp hair, eyebrows and facial hair as :class:`Curves` in the head frame.

``hair_strands(posed)`` is what the compositor calls (through the attachments); it returns curves in
the head frame (HM08 axes, metres, origin between the eyeballs) which the compositor maps to
the world with the head pose. Roots are bound to the mesh (face + barycentric), so hair
follows the identity's shape, age and expression; strands never enter the skin (every point
>= :data:`~facefarm.compose.hair.grow.MIN_OFFSET_M` outside). Strand counts at
``detail=1`` suit the fast back-end at 256-512 px; Cycles can ask for ``detail`` 4-16
(more, thinner strands with more points, so curls are resolved instead of suggested).

Colour: greying hair is a fraction of hairs with little melanin. A strand stands for a lock
of several hairs (more at low detail), so each hair kind comes as up to five Curves by the
lock's grey share (none, a quarter ... all; see :func:`_curves`). ``Material.melanin``/
``redness`` drive Cycles' Principled Hair BSDF; ``base_color`` (from
:func:`hair_colour.hair_albedo_linear`) is the same colour for the fast back-end.

Also here: :func:`hair_cover`, the per-vertex density of the identity's scalp hair (for
painting and labelling the skin under it), and headwear handling (hair under a hat is
combed flat: :attr:`PosedHead.headwear_coverage`). Style ids: :mod:`facefarm.compose.hair.styles`.
"""

from __future__ import annotations

import numpy as np

from facefarm.catalog.colors import rgb
from facefarm.catalog.rng import identity_stream
from facefarm.compose.hair.brows import brow_strands
from facefarm.compose.hair.collision import HeadFrame, HeadSurface
from facefarm.compose.hair.colour import GREY_MELANIN, GREY_REDNESS, cycles_lock_colour, hair_albedo_linear
from facefarm.compose.hair.face import FacialRequest, facial_strands
from facefarm.compose.hair.regions import NeutralHead
from facefarm.compose.hair.scalp import ScalpRequest, StrandSet, hairline_weight, scalp_strands
from facefarm.compose.hair.styles import facial_style, library, scalp_style
from facefarm.compose.posed_head import PosedHead
from facefarm.scene.classes import CLASS_IDS
from facefarm.scene.model import Curves, Material, MaterialKind

_NEUTRAL: dict[object, NeutralHead] = {}


def neutral_head(head) -> NeutralHead:
    """The neutral-head charts of ``head`` (cached per compiled asset)."""
    key = getattr(head, "path", None) or id(head)
    if key not in _NEUTRAL:
        _NEUTRAL[key] = NeutralHead(head)
    return _NEUTRAL[key]


def head_frame(head, vertices: np.ndarray, gravity: np.ndarray | None = None) -> HeadFrame:
    """The identity's :class:`HeadFrame` from its (V, 3) head-frame ``vertices``."""
    nh = neutral_head(head)
    v = np.asarray(vertices, np.float64)
    ears = np.isin(head.vertex_class, [CLASS_IDS["LEFT_EAR"], CLASS_IDS["RIGHT_EAR"]])
    left = v[head.vertex_class == CLASS_IDS["LEFT_EAR"]].mean(axis=0)
    right = v[head.vertex_class == CLASS_IDS["RIGHT_EAR"]].mean(axis=0)
    n_left = nh.vertices[head.vertex_class == CLASS_IDS["LEFT_EAR"]].mean(axis=0)
    n_right = nh.vertices[head.vertex_class == CLASS_IDS["RIGHT_EAR"]].mean(axis=0)
    brows = np.isin(head.vertex_class, [CLASS_IDS["LEFT_BROW"], CLASS_IDS["RIGHT_BROW"]])
    g = np.array([0.0, -1.0, 0.0]) if gravity is None else np.asarray(gravity, float)
    return HeadFrame(
        surface=HeadSurface.from_head(head, v),
        vertices=v,
        centre=v[ears].mean(axis=0),
        scale=float(np.linalg.norm(left - right) / np.linalg.norm(n_left - n_right)),
        chin_y=float(v[nh.chin_vertex, 1]),
        brow_top_y=float(v[brows, 1].max()),
        gravity=g / max(np.linalg.norm(g), 1e-12),
    )


#: Real hairs one strand stands for at detail 1 (~100k scalp hairs in ~6000 strands; ~600 hairs
#: in a brow's ~420 strands; a beard's hairs about as dense as its strands are, over a few).
HAIRS_PER_STRAND = {"hair": 16.0, "brow": 1.5, "beard": 4.0}
#: Grey shares a lock is drawn with (each strand stands for a lock of hairs, grey or not).
GREY_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _material(name: str, kind: MaterialKind, melanin: float, redness: float, grey: float) -> Material:
    """Material of a lock whose ``grey`` share (0..1) of hairs has lost its pigment.

    ``base_color`` mixes the pigmented and the grey hairs' albedos
    (:mod:`facefarm.compose.hair.colour`). Cycles' Principled Hair takes ``melanin`` for a lock
    of one kind; no melanin gives the grey of a mixed lock (less melanin is brown, then blond),
    so a mixed lock is coloured there by ``lock_color``, the same mix in Cycles' colour
    parametrization."""
    melanin, redness = float(melanin), float(redness)
    colour = hair_albedo_linear(melanin, redness, grey)
    # brow and beard hairs lie on the skin, in each other's shade, coarse and crinkled: a duller sheen
    lying = kind in ("brow", "beard")
    mixed = 0.0 < grey < 1.0
    return Material(
        name=name,
        kind=kind,
        base_color=rgb(colour),
        roughness=0.45 if lying else 0.35,
        specular=0.3 if lying else 0.5,
        melanin=GREY_MELANIN if grey >= 1.0 else melanin,
        redness=GREY_REDNESS * redness if grey >= 1.0 else redness,
        hair_radial_roughness=0.3,
        hair_random_color=0.1,
        hair_random_roughness=0.1,
        lock_color=rgb(cycles_lock_colour(melanin, redness, grey)) if mixed else None,
    )


def _curves(
    name: str,
    kind: MaterialKind,
    class_id: int,
    strands: StrandSet,
    melanin: float,
    redness: float,
    grey: float,
    rng: np.random.Generator,
    detail: float,
) -> list[Curves]:
    """``strands`` as Curves grouped by the grey share of the lock each strand stands for.

    A strand stands for ``HAIRS_PER_STRAND[kind] / detail`` real hairs, each grey with probability
    ``grey``: a lock's grey share is binomial around ``grey``, rounded to GREY_LEVELS. Fine
    strands (Cycles, high detail) stand for few hairs and come out pigmented or grey; coarse
    ones mix, so salt-and-pepper hair reads as grey, not as black and white stripes. Groups
    are named ``name`` (no grey), ``name_grey`` (all grey) and ``name_grey25`` etc.
    """
    n = len(strands.points)
    if n == 0:
        return []
    per_lock = max(1, int(round(HAIRS_PER_STRAND[kind] / max(detail, 1e-3))))
    share = rng.binomial(per_lock, float(np.clip(grey, 0.0, 1.0)), n) / per_lock
    level = np.rint(share * (len(GREY_LEVELS) - 1)).astype(int)
    out = []
    for li, g in enumerate(GREY_LEVELS):
        sel = level == li
        if sel.any():
            suffix = "" if g == 0.0 else "_grey" if g == 1.0 else f"_grey{int(round(100 * g))}"
            out.append(
                Curves(
                    name=name + suffix,
                    points=strands.points[sel].astype(np.float32),
                    radius=strands.radius[sel].astype(np.float32),
                    class_id=class_id,
                    material=_material(name + suffix, kind, melanin, redness, g),
                )
            )
    return out


def _scalp_request(sample, detail: float, covered: np.ndarray | None) -> ScalpRequest:
    hair = sample.hair
    return ScalpRequest(
        style=scalp_style(hair.style),
        length=float(hair.length),
        curl=float(hair.curl),
        density=float(hair.density),
        age_years=float(sample.age_years),
        gender=float(sample.gender),
        detail=detail,
        under_headwear=covered,
    )


def hair_cover(sample, head) -> np.ndarray:
    """(V,) float32 0..1: how densely scalp hair grows at each head vertex for this identity.

    Zero off the scalp, on bald styles, above a receding hairline or on a bald crown; the
    same hairline the strands grow from. For painting the skin under the hair (so the scalp
    does not shine through) and for labelling it, instead of the whole ``head.scalp``.
    """
    nh = neutral_head(head)
    req = _scalp_request(sample, 1.0, None)
    out = np.zeros(len(nh.vertices), np.float32)
    if req.style.bald:
        return out
    weight = hairline_weight(req, library(), nh, identity_stream(sample, "hair.scalp"))
    skin = np.unique(nh.faces[nh.face_is_skin & (nh.face_class == CLASS_IDS["SKIN"])])
    out[skin] = weight(nh.vertices[skin]) * float(np.clip(sample.hair.density, 0.0, 1.0))
    return out


def hair_strands(posed: PosedHead, *, detail: float = 1.0, gravity: np.ndarray | None = None) -> list[Curves]:
    """Scalp hair, eyebrows and facial hair of the posed head's sample, head frame.

    Uses the sample's ``hair``, ``eyebrows``, ``facial_hair``, ``age_years``, ``gender`` and
    identity seed, and the posed head's vertices, gravity and headwear coverage. ``detail``
    multiplies strand counts (points per strand grow with its square root). ``gravity``:
    (3,) "down" in the head frame; default the posed head's.
    Returns Curves with class HAIR (scalp; none under a headscarf), RIGHT_BROW / LEFT_BROW and BEARD.
    """
    sample, head, vertices = posed.sample, posed.head, posed.vertices
    lib = library()
    nh = neutral_head(head)
    frame = head_frame(head, vertices, posed.gravity if gravity is None else gravity)
    hair, brows, beard = sample.hair, sample.eyebrows, sample.facial_hair
    out: list[Curves] = []

    if not posed.tucks_all_hair:  # each part draws from its own stream: skipping one moves no other
        req = _scalp_request(sample, detail, posed.headwear_coverage)
        scalp = scalp_strands(req, lib, nh, frame, identity_stream(sample, "hair.scalp"))
        out += _curves(
            "hair",
            "hair",
            CLASS_IDS["HAIR"],
            scalp,
            hair.melanin,
            hair.redness,
            hair.grey,
            identity_stream(sample, "hair.scalp.colour"),
            detail,
        )

    b = brow_strands(posed.brow, detail, nh, frame, identity_stream(sample, "hair.brows"))
    for side, cls in (("r", "RIGHT_BROW"), ("l", "LEFT_BROW")):
        out += _curves(
            f"brow_{side}",
            "brow",
            CLASS_IDS[cls],
            b[side],
            brows.melanin * posed.brow.melanin,
            brows.redness,
            brows.grey,
            identity_stream(sample, "hair.brows.colour"),
            detail,
        )

    if beard.style != "none":
        rng = identity_stream(sample, "hair.beard")
        freq = FacialRequest(
            style=facial_style(beard.style),
            density=float(beard.density),
            curl=float(hair.curl),
            length=float(rng.random()),
            detail=detail,
        )
        fs = facial_strands(freq, lib, nh, frame, rng)
        out += _curves(
            "beard",
            "beard",
            CLASS_IDS["BEARD"],
            fs,
            beard.melanin,
            beard.redness,
            beard.grey,
            identity_stream(sample, "hair.beard.colour"),
            detail,
        )
    return out
