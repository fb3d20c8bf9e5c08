"""The hair style library: ``facefarm/assets/hair/styles.json`` read into frozen, validated records.

Styles are data: a scalp style names a hairline, a length range, a flow (how strands
are combed), a curl range, volume and strand budget; facial styles name the regions
they cover. :func:`scalp_style_ids` / :func:`facial_style_ids` are what the render side
can build (pass them to the catalog's asset-id check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Literal

import numpy as np

from facefarm.paths import ASSETS

STYLES_PATH = ASSETS / "hair" / "styles.json"

Flow = Literal["back", "natural", "radial", "braids", "locs", "ponytail", "bun"]
FLOWS = ("back", "natural", "radial", "braids", "locs", "ponytail", "bun")


def _pair(v) -> tuple[float, float]:
    a = np.atleast_1d(np.asarray(v, float))
    return (float(a[0]), float(a[-1]))


@dataclass(frozen=True)
class ScalpStyle:
    """One scalp hair style (see the description in ``styles.json`` for units).

    ``length_m``: strand length range on the crown; ``side_factor``/``back_factor`` scale it
    over the temples/sides and the back; ``ends_at``: range of cut levels relative to the
    chin for hair that falls (None: cut by length only); ``fade_el``: elevations over which
    clipped sides blend into the top length; ``gather``: where a ponytail or bun is tied.
    """

    id: str
    label: str
    strands: int = 0
    hairline: str = "natural"
    length_m: tuple[float, float] = (0.05, 0.05)
    side_factor: float = 1.0
    back_factor: float = 1.0
    fade_el: tuple[float, float] | None = None
    ends_at: tuple[float, float] | None = None
    flow: Flow = "natural"
    parting: Literal["none", "side", "centre"] = "none"
    fringe_probability: float = 0.0
    curl: tuple[float, float] = (0.0, 1.0)
    volume_m: float = 0.005
    lift: float = 0.3
    stiffness: float = 0.4
    guides: int = 400
    points: int = 12
    coverage: float = 3.0
    crown_bald_deg: tuple[float, float] | None = None
    top_thinning: float = 0.0
    gather: dict | None = None
    bun_radius_m: tuple[float, float] = (0.025, 0.03)
    bundle_radius_m: float = 0.003
    bundle_pitch_m: float = 0.012

    @property
    def bald(self) -> bool:
        return self.strands == 0


@dataclass(frozen=True)
class FacialStyle:
    """A facial hair style: the regions it covers (``facial_regions`` keys) and its strands."""

    id: str
    label: str
    strands: int = 0
    regions: tuple[str, ...] = ()
    length_m: tuple[float, float] = (0.01, 0.01)
    curl: float = 0.0
    lift: float = 0.3
    points: int = 5
    coverage: float = 3.0


@dataclass(frozen=True)
class BrowShape:
    """The mean adult eyebrow, in eye-widths of each face (see ``brows`` in styles.json).

    ``landmark_x_ew`` / ``landmark_y_ew`` (5,): the 300-W brow points, inner end .. tail, as
    distance from the midline and height above the upper-lid line; ``height_ew`` (5,) the band's
    height there, ``top_share`` of it above the landmark line; ``angle_deg`` ``[[t, deg], ...]``
    the hair direction along the brow (from the subject's lateral, up positive),
    ``herringbone_deg`` how much the upper hairs turn down and the lower ones up towards the
    brow's middle line; ``length_m`` hair length range; ``strands`` per brow at detail 1.
    """

    landmark_x_ew: tuple[float, ...]
    landmark_y_ew: tuple[float, ...]
    height_ew: tuple[float, ...]
    top_share: float
    angle_deg: tuple[tuple[float, float], ...]
    herringbone_deg: float
    length_m: tuple[float, float]
    strands: int
    points: int
    coverage: float = 1.6
    description: str = ""

    @staticmethod
    def profile(table, t: np.ndarray) -> np.ndarray:
        """Piecewise-linear value of a ``[[t, value], ...]`` table at ``t`` (n,)."""
        tab = np.asarray(table, float)
        return np.interp(t, tab[:, 0], tab[:, 1])


@dataclass(frozen=True)
class HairLibrary:
    scalp: dict[str, ScalpStyle]
    facial: dict[str, FacialStyle]
    hairlines: dict[str, np.ndarray] = field(repr=False)  # name -> (k, 2) [azimuth, elevation] deg
    facial_regions: dict[str, np.ndarray] = field(repr=False)  # name -> (k, 2) [azimuth deg, height m]
    brows: BrowShape = field(repr=False)


def _record(cls, key: str, raw: dict, where: str):
    names = {f.name for f in fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(
            f"{STYLES_PATH}: {where}.{key} has unknown field(s) {sorted(unknown)}; known: {sorted(names - {'id'})}"
        )
    out = dict(raw)
    for k, v in raw.items():
        if k in ("length_m", "curl", "fade_el", "ends_at", "crown_bald_deg", "bun_radius_m") and isinstance(v, list):
            out[k] = _pair(v)
        elif k == "regions":
            out[k] = tuple(v)
    return cls(id=key, **out) if "id" in names else cls(**out)


@lru_cache(maxsize=None)
def library() -> HairLibrary:
    """The library in ``facefarm/assets/hair/styles.json`` (validated; cached)."""
    doc = json.loads(STYLES_PATH.read_text())
    hairlines = {k: np.asarray(v, float) for k, v in doc["hairlines"].items()}
    scalp = {k: _record(ScalpStyle, k, v, "scalp") for k, v in doc["scalp"].items()}
    for s in scalp.values():
        if s.bald:
            continue
        if s.hairline not in hairlines:
            raise ValueError(f"{STYLES_PATH}: scalp.{s.id}.hairline {s.hairline!r} is not one of {sorted(hairlines)}")
        if s.flow not in FLOWS:
            raise ValueError(f"{STYLES_PATH}: scalp.{s.id}.flow {s.flow!r} must be one of {FLOWS}")
        if s.flow in ("ponytail", "bun") and not s.gather:
            raise ValueError(f"{STYLES_PATH}: scalp.{s.id} needs a 'gather' point for flow {s.flow!r}")
        if s.points < 2:
            raise ValueError(f"{STYLES_PATH}: scalp.{s.id}.points must be at least 2")
    regions = {k: np.asarray(v, float) for k, v in doc["facial_regions"].items() if k != "description"}
    facial = {k: _record(FacialStyle, k, v, "facial") for k, v in doc["facial"].items()}
    for f in facial.values():
        missing = set(f.regions) - set(regions)
        if missing:
            raise ValueError(f"{STYLES_PATH}: facial.{f.id}.regions names unknown region(s) {sorted(missing)}")
    b = doc["brows"]
    brows = BrowShape(
        landmark_x_ew=tuple(map(float, b["landmark_x_ew"])),
        landmark_y_ew=tuple(map(float, b["landmark_y_ew"])),
        height_ew=tuple(map(float, b["height_ew"])),
        top_share=float(b["top_share"]),
        angle_deg=tuple(map(tuple, b["angle_deg"])),
        herringbone_deg=float(b["herringbone_deg"]),
        length_m=_pair(b["length_m"]),
        strands=int(b["strands"]),
        points=int(b["points"]),
        coverage=float(b.get("coverage", 1.6)),
        description=b.get("description", ""),
    )
    for key in ("landmark_x_ew", "landmark_y_ew", "height_ew"):
        if len(getattr(brows, key)) != 5:
            raise ValueError(f"{STYLES_PATH}: brows.{key} must list the 5 brow landmarks (inner end .. tail)")
    return HairLibrary(scalp=scalp, facial=facial, hairlines=hairlines, facial_regions=regions, brows=brows)


def scalp_style(style_id: str) -> ScalpStyle:
    """The scalp style ``style_id``; KeyError names the known ids."""
    lib = library()
    if style_id not in lib.scalp:
        raise KeyError(f"unknown hair style {style_id!r}; known: {sorted(lib.scalp)} ({STYLES_PATH})")
    return lib.scalp[style_id]


def facial_style(style_id: str) -> FacialStyle:
    lib = library()
    if style_id not in lib.facial:
        raise KeyError(f"unknown facial hair style {style_id!r}; known: {sorted(lib.facial)} ({STYLES_PATH})")
    return lib.facial[style_id]


def scalp_style_ids() -> tuple[str, ...]:
    """Every scalp style id the pipeline can build (a superset of the catalog's defaults)."""
    return tuple(library().scalp)


def facial_style_ids() -> tuple[str, ...]:
    """Every facial hair style id the pipeline can build, without ``"none"``."""
    return tuple(k for k in library().facial if k != "none")
