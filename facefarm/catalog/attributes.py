"""The attributes strata, quotas and rules can talk about, and how a level matches a value.

Each attribute is drawn either once per **identity** (shared by every image of it) or once
per **image**:

=================  ========  ======  ==================================================
attribute          scope     kind    levels / value
=================  ========  ======  ==================================================
ancestry           identity  choice  taxonomy label of a single-label sample, or "mixed"
age                identity  range   age_years
gender             identity  range   0 female .. 1 male
muscle, weight     identity  range   0..1
monk_tone          identity  choice  "1".."10" (skin melanin deciles)
eye_color          identity  choice  eye colour family
hair_style         identity  choice  hair style id
facial_hair        identity  choice  facial hair style or "none"
glasses            image     bool    glasses present
glasses_family     image     choice  frame family or "none"
expression         image     choice  preset name, or "random" for a random blend
hdri               image     choice  HDRI id
headwear           image     choice  headwear id or "none"
background         image     choice  "hdri" or "solid"
head_yaw           image     range   degrees
head_pitch         image     range   degrees
=================  ========  ======  ==================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

from facefarm.catalog.distributions import choice_support
from facefarm.catalog.expressions import EXPRESSION_PRESETS
from facefarm.catalog.resolved import ResolvedSample
from facefarm.catalog.vocabulary import EYE_COLORS

#: The catalog these functions read: a validated ``facefarm.catalog.spec.Catalog``. Typed loosely
#: because spec.py's own validator calls these checks, and spec.py sits above this module.
Catalog = Any


@dataclass(frozen=True)
class ChoiceLevel:
    """Any of these labels."""

    labels: frozenset[str]

    def matches(self, value: Any) -> bool:
        return value in self.labels


@dataclass(frozen=True)
class BoolLevel:
    value: bool

    def matches(self, value: Any) -> bool:
        return bool(value) == self.value


@dataclass(frozen=True)
class RangeLevel:
    """``lo <= value < hi`` (``<= hi`` when ``hi`` is the top of the attribute's range, so a
    band can reach 90 years); ``name`` is the band name when it came from one."""

    lo: float
    hi: float
    name: str | None = None
    closed: bool = False

    def matches(self, value: Any) -> bool:
        return self.lo <= value < self.hi or (self.closed and value == self.hi)


Level = Union[ChoiceLevel, BoolLevel, RangeLevel]


@dataclass(frozen=True)
class Attribute:
    name: str
    scope: Literal["identity", "image"]
    kind: Literal["choice", "bool", "range"]
    #: JSON path of the catalog field whose distribution produces the attribute.
    source: str
    domain: tuple[float, float] | None = None
    #: labels the attribute can take under a catalog (choice attributes only)
    levels: Callable[["Catalog"], tuple[str, ...]] | None = None
    #: the attribute's value in a resolved sample (the one place that says where it is)
    value: Callable[[ResolvedSample], Any] | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """The domain of a range attribute (every range attribute has one)."""
        if self.domain is None:
            raise ValueError(f"{self.name} is a {self.kind} attribute: it has no numeric domain")
        return self.domain

    def labels(self, cat: "Catalog") -> tuple[str, ...]:
        """The labels a choice attribute can take under ``cat`` (none for other kinds)."""
        return self.levels(cat) if self.levels is not None else ()


def _ancestry_levels(cat: "Catalog") -> tuple[str, ...]:
    labels = sorted(cat.ancestry.labels or cat.ancestry.taxonomy.labels)
    return tuple(labels) + (("mixed",) if cat.ancestry.mixed_probability > 0 and len(labels) > 1 else ())


def _hair_levels(cat: "Catalog") -> tuple[str, ...]:
    s = set(choice_support(cat.hair.styles))
    if cat.hair.styles_male is not None:
        s |= set(choice_support(cat.hair.styles_male))
    return tuple(sorted(s))


def _expression_levels(cat: "Catalog") -> tuple[str, ...]:
    s = set(choice_support(cat.expression.presets))
    if cat.expression.random_probability > 0:
        s.add("random")
    return tuple(sorted(s))


def all_presets(cat: "Catalog") -> dict[str, dict[str, float]]:
    """Built-in presets plus the catalog's custom ones (custom wins on a name clash)."""
    out = {k: dict(v) for k, v in EXPRESSION_PRESETS.items()}
    out.update({k: dict(v) for k, v in cat.expression.custom_presets.items()})
    return out


ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute(
            "ancestry",
            "identity",
            "choice",
            "$.ancestry.labels",
            levels=_ancestry_levels,
            value=lambda s: next(iter(s.ancestry_labels)) if len(s.ancestry_labels) == 1 else "mixed",
        ),
        Attribute("age", "identity", "range", "$.age", (1.0, 90.0), value=lambda s: s.age_years),
        Attribute("gender", "identity", "range", "$.gender", (0.0, 1.0), value=lambda s: s.gender),
        Attribute("muscle", "identity", "range", "$.muscle", (0.0, 1.0), value=lambda s: s.muscle),
        Attribute("weight", "identity", "range", "$.weight", (0.0, 1.0), value=lambda s: s.weight),
        Attribute(
            "monk_tone",
            "identity",
            "choice",
            "$.skin.melanin",
            levels=lambda cat: tuple(str(k) for k in range(1, 11)),
            value=lambda s: str(s.skin.monk_tone),
        ),
        Attribute(
            "eye_color",
            "identity",
            "choice",
            "$.eyes.colors",
            levels=lambda cat: tuple(sorted(EYE_COLORS)),
            value=lambda s: s.eyes.color_family,
        ),
        Attribute(
            "hair_style", "identity", "choice", "$.hair.styles", levels=_hair_levels, value=lambda s: s.hair.style
        ),
        Attribute(
            "facial_hair",
            "identity",
            "choice",
            "$.facial_hair.styles",
            levels=lambda cat: ("none",) + choice_support(cat.facial_hair.styles),
            value=lambda s: s.facial_hair.style,
        ),
        Attribute("glasses", "image", "bool", "$.glasses.probability", value=lambda s: s.glasses.present),
        Attribute(
            "glasses_family",
            "image",
            "choice",
            "$.glasses.families",
            levels=lambda cat: ("none",) + choice_support(cat.glasses.families),
            value=lambda s: s.glasses.family if s.glasses.present else "none",
        ),
        Attribute(
            "expression",
            "image",
            "choice",
            "$.expression.presets",
            levels=_expression_levels,
            value=lambda s: s.expression.preset,
        ),
        Attribute(
            "hdri",
            "image",
            "choice",
            "$.lighting.hdri",
            levels=lambda cat: choice_support(cat.lighting.hdri),
            value=lambda s: s.lighting.hdri,
        ),
        Attribute(
            "headwear",
            "image",
            "choice",
            "$.headwear.ids",
            levels=lambda cat: ("none",) + choice_support(cat.headwear.ids),
            value=lambda s: s.headwear.id,
        ),
        Attribute(
            "background",
            "image",
            "choice",
            "$.background.kinds",
            levels=lambda cat: choice_support(cat.background.kinds),
            value=lambda s: s.background.kind,
        ),
        Attribute(
            "head_yaw", "image", "range", "$.head_pose.yaw_deg", (-90.0, 90.0), value=lambda s: s.head_pose.yaw_deg
        ),
        Attribute(
            "head_pitch",
            "image",
            "range",
            "$.head_pose.pitch_deg",
            (-90.0, 90.0),
            value=lambda s: s.head_pose.pitch_deg,
        ),
    )
}


def band_table(cat: "Catalog", attribute: str) -> dict[str, tuple[float, float]]:
    """Named bands defined for a numeric attribute anywhere in ``sampling.stratify_by``."""
    out: dict[str, tuple[float, float]] = {}
    for f in cat.sampling.stratify_by:
        if f.attribute == attribute and f.bands:
            out.update(f.bands)
    return out


def to_level(cat: "Catalog", attribute: str, raw: Any) -> Level:
    """Turn a JSON level (label, list, bool, band name, {min, max}) into a Level.

    Raises ``ValueError`` with a message saying what to change when the level cannot apply.
    """
    a = ATTRIBUTES[attribute]
    if a.kind == "bool":
        if not isinstance(raw, bool):
            raise ValueError(f"{attribute} takes true or false (got {raw!r})")
        return BoolLevel(raw)
    if a.kind == "range":
        if isinstance(raw, str):
            bands = band_table(cat, attribute)
            if raw not in bands:
                known = ", ".join(sorted(bands)) or "none defined"
                raise ValueError(
                    f"no band named {raw!r} for {attribute} (bands: {known}); define it under "
                    f'sampling.stratify_by or write {{"min": .., "max": ..}}'
                )
            lo, hi = bands[raw]
            return RangeLevel(lo, hi, raw, hi >= a.bounds[1])
        if hasattr(raw, "min") and hasattr(raw, "max"):
            lo, hi = a.domain or (raw.min, raw.max)
            if raw.max < lo or raw.min > hi:
                raise ValueError(f"range {raw.min:g}..{raw.max:g} lies outside {attribute}'s {lo:g}..{hi:g}")
            return RangeLevel(raw.min, raw.max, None, raw.max >= hi)
        raise ValueError(f'{attribute} is numeric: give a band name or {{"min": .., "max": ..}} (got {raw!r})')
    labels = [raw] if isinstance(raw, str) else raw
    if isinstance(raw, bool) or not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"{attribute} takes a label or a list of labels (got {raw!r})")
    possible = a.labels(cat)
    unknown = [x for x in labels if x not in possible]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} is not a value {attribute} can take under this "
            f"catalog (possible: {', '.join(possible)}); add it to {a.source} or fix the name"
        )
    return ChoiceLevel(frozenset(labels))


def factor_levels(cat: "Catalog", factor: Any) -> list[Level]:
    """The levels (cells along one axis) of a ``stratify_by`` factor, in a stable order."""
    a = ATTRIBUTES[factor.attribute]
    if a.kind == "range":
        return [RangeLevel(lo, hi, name, hi >= a.bounds[1]) for name, (lo, hi) in sorted(factor.bands.items())]
    if a.kind == "bool":
        values = factor.levels if factor.levels is not None else [False, True]
        return [BoolLevel(bool(v)) for v in values]
    labels = factor.levels if factor.levels is not None else list(a.labels(cat))
    return [ChoiceLevel(frozenset([str(v)])) for v in labels]


def level_json(level: Level) -> Any:
    """JSON form of a level, as reported in ``ResolvedSample.stratum``."""
    if isinstance(level, BoolLevel):
        return level.value
    if isinstance(level, RangeLevel):
        return level.name if level.name is not None else [level.lo, level.hi]
    return sorted(level.labels)[0] if len(level.labels) == 1 else sorted(level.labels)
