"""How samples are spread over attribute combinations: independent draws, strata, quotas, rules.

JSON shape (``"sampling"`` in a catalog)::

    {"mode": "stratified",
     "stratify_by": [{"attribute": "ancestry"},
                     {"attribute": "age", "bands": {"child": [1, 13], "adult": [13, 60], "senior": [60, 90]}},
                     {"attribute": "glasses"}],
     "quotas": [{"where": {"age": {"min": 5, "max": 12}, "facial_hair": "full_beard"}, "count": 4}],
     "constraints": [{"exclude": {"age": "child", "headwear": "cap"}},
                     {"force": {"when": {"hdri": "night"}, "then": {"background": "hdri"}}}]}

A *where* maps attribute names (see :mod:`facefarm.catalog.attributes`) to a level: a label
(``"smile"``), a list of labels (any of them), ``true``/``false`` (glasses), a band name
defined under ``stratify_by`` or an explicit ``{"min": a, "max": b}`` for numeric attributes.

* ``independent``: every sample drawn from the catalog's distributions.
* ``stratified``: the product of the ``stratify_by`` levels forms cells (minus excluded
  ones); the samples not taken by quotas are split over the cells in exact equal counts
  (when N divides evenly; otherwise cells differ by at most one).
* ``quotas`` reserve exact numbers (``count``) or shares (``fraction`` of N) of samples that
  satisfy their ``where`` — the way to ask for deliberately rare combinations.
* ``constraints``: ``exclude`` removes a combination (re-drawn until it no longer matches);
  ``force`` makes every sample matching ``when`` also satisfy ``then``.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import Field, field_validator, model_validator

from facefarm.catalog.distributions import Frozen

AttributeName = Literal[
    "ancestry",
    "age",
    "gender",
    "muscle",
    "weight",
    "monk_tone",
    "eye_color",
    "hair_style",
    "facial_hair",
    "glasses",
    "glasses_family",
    "expression",
    "hdri",
    "headwear",
    "background",
    "head_yaw",
    "head_pitch",
]


class Band(Frozen):
    """A numeric interval ``[min, max]`` of an attribute (years for age, degrees for angles)."""

    min: float
    max: float

    @field_validator("max")
    @classmethod
    def _ordered(cls, v: float, info) -> float:
        lo = info.data.get("min")
        if lo is not None and not v > lo:
            raise ValueError(f"max ({v:g}) must be above min ({lo:g})")
        return v


LevelValue = Union[bool, str, Band, list[str]]
Where = dict[AttributeName, LevelValue]


class Factor(Frozen):
    """One stratification axis. Labels/booleans use their levels (all by default, or ``levels``);
    numeric attributes need named ``bands`` ``{name: [min, max]}``."""

    attribute: AttributeName
    levels: list[Union[bool, str]] | None = Field(None, min_length=1)
    bands: dict[str, tuple[float, float]] | None = Field(None, min_length=1)


class Quota(Frozen):
    """Exactly ``count`` samples (or ``fraction`` of N, rounded) satisfy ``where``."""

    where: Where = Field(min_length=1)
    count: int | None = Field(None, ge=0)
    fraction: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_amount(self) -> "Quota":
        if (self.count is None) == (self.fraction is None):
            raise ValueError('give exactly one of "count" or "fraction"')
        return self


class ForceRule(Frozen):
    when: Where = Field(min_length=1)
    then: Where = Field(min_length=1)


class Constraint(Frozen):
    """Either ``{"exclude": where}`` or ``{"force": {"when": where, "then": where}}``."""

    exclude: Where | None = Field(None, min_length=1)
    force: ForceRule | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> "Constraint":
        if (self.exclude is None) == (self.force is None):
            raise ValueError('give exactly one of "exclude" or "force"')
        return self


class SamplingSpec(Frozen):
    mode: Literal["independent", "stratified"] = "independent"
    stratify_by: list[Factor] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
