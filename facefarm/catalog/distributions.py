"""Distributions a catalog attribute can be given, and how they are sampled.

Numbers (``NumberDist``), each spelled as JSON with a ``kind``:

* a bare number, or ``{"kind": "fixed", "value": v}``;
* ``{"kind": "uniform", "min": a, "max": b}``;
* ``{"kind": "normal", "mean": m, "sd": s}`` — a normal *truncated to the attribute's valid
  range* (an age never comes out as -3 years);
* ``{"kind": "truncnormal", "mean": m, "sd": s, "min": a, "max": b}``;
* ``{"kind": "categorical", "values": [..], "weights": [..]}`` (weights optional = equal).

Labels (``ChoiceDist``): a bare string, ``{"kind": "fixed", "value": "x"}`` or
``{"kind": "categorical", "weights": {"x": 2, "y": 1}}``.

Every number distribution belongs to a *domain* (the attribute's valid range and unit,
e.g. years 1..90); its values are checked against it where they are written, so an error
points at ``$.age.max`` and says which range is allowed.

Sampling goes through the quantile function (:func:`quantile`): one uniform ``u`` in
[0, 1) maps to a value. That makes blends of several priors (mixed ancestry) a
weighted mean of quantiles at the same ``u``, and conditioning on a band
(:func:`draw_in_band`) a restriction of ``u``. Randomness always comes from a
``numpy.random.Generator`` passed in; nothing here owns one.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias, Union

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from facefarm.catalog.colors import HEX_PATTERN

_STD_NORMAL = NormalDist()


class Frozen(BaseModel):
    """Base of every catalog model: immutable, unknown fields rejected, no NaN/inf."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _positive_weight(v: float) -> float:
    if not v > 0:
        raise PydanticCustomError(
            "weight_not_positive",
            "weight must be > 0 (got {got}); remove the entry instead of giving it weight 0",
            {"got": v},
        )
    return v


PositiveWeight = Annotated[float, AfterValidator(_positive_weight), Field(json_schema_extra={"exclusiveMinimum": 0})]


@lru_cache(maxsize=None)
def bounded(lo: float, hi: float, unit: str) -> Any:
    """A float type that must lie in ``lo..hi`` (inclusive), with a message naming the unit."""

    def check(v: float) -> float:
        if not lo <= v <= hi:
            raise PydanticCustomError(
                "out_of_range",
                "must be within {lo}..{hi}{unit} (got {got}); change it to a value in that range",
                {"lo": _fmt(lo), "hi": _fmt(hi), "unit": f" {unit}" if unit else "", "got": _fmt(v)},
            )
        return v

    return Annotated[float, AfterValidator(check), Field(json_schema_extra={"minimum": lo, "maximum": hi})]


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- numbers


class _NumberBase(Frozen):
    #: (lo, hi) the attribute's valid range; set on each generated subclass.
    DOMAIN: ClassVar[tuple[float, float]] = (-math.inf, math.inf)
    UNIT: ClassVar[str] = ""


class _FixedBase(_NumberBase):
    kind: Literal["fixed"] = "fixed"
    value: float


class _UniformBase(_NumberBase):
    kind: Literal["uniform"]
    min: float
    max: float

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, v: float, info: ValidationInfo) -> float:
        lo = info.data.get("min")
        if lo is not None and v < lo:
            raise PydanticCustomError(
                "max_below_min",
                "max ({max}) is below min ({min}); swap them or raise max",
                {"max": _fmt(v), "min": _fmt(lo)},
            )
        return v


class _NormalBase(_NumberBase):
    kind: Literal["normal"]
    mean: float
    sd: float

    @field_validator("sd")
    @classmethod
    def _sd_positive(cls, v: float) -> float:
        if not v > 0:
            raise PydanticCustomError(
                "sd_not_positive", 'sd must be > 0 (got {got}); for a constant use kind "fixed"', {"got": _fmt(v)}
            )
        return v


class _TruncNormalBase(_NormalBase):
    kind: Literal["truncnormal"]  # type: ignore[assignment]
    min: float
    max: float

    @field_validator("max")
    @classmethod
    def _max_above_min(cls, v: float, info: ValidationInfo) -> float:
        lo = info.data.get("min")
        if lo is not None and not v > lo:
            raise PydanticCustomError(
                "max_below_min", "max ({max}) must be above min ({min})", {"max": _fmt(v), "min": _fmt(lo)}
            )
        return v


class _CategoricalNumberBase(_NumberBase):
    kind: Literal["categorical"]
    values: list[float] = Field(min_length=1)
    weights: list[PositiveWeight] | None = None

    @field_validator("weights")
    @classmethod
    def _same_length(cls, v: list[float] | None, info: ValidationInfo) -> list[float] | None:
        values = info.data.get("values")
        if v is not None and values is not None and len(v) != len(values):
            raise PydanticCustomError(
                "length_mismatch",
                "weights has {n} entries but values has {m}; give one weight per value",
                {"n": len(v), "m": len(values)},
            )
        return v


def _number_shorthand(v: Any) -> Any:
    # A bare number is the friendliest way to write a constant.
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"kind": "fixed", "value": v}
    if not isinstance(v, (dict, BaseModel)):
        raise PydanticCustomError(
            "number_dist_expected",
            'expected a number or a distribution object like {"kind": "uniform", "min": .., "max": ..} (got {got})',
            {"got": repr(v)},
        )
    return v


@lru_cache(maxsize=None)
def number_dist(tag: str, lo: float, hi: float, unit: str) -> Any:
    """The ``NumberDist`` type for one domain, e.g. ``number_dist("Years", 1, 90, "years")``.

    ``tag`` names the generated models in the JSON Schema (``UniformYears``, ...).
    """
    B: Any = bounded(lo, hi, unit)
    classes = [
        create_model(f"Fixed{tag}", __base__=_FixedBase, value=(B, ...)),
        create_model(f"Uniform{tag}", __base__=_UniformBase, min=(B, ...), max=(B, ...)),
        create_model(f"Normal{tag}", __base__=_NormalBase, mean=(B, ...)),
        create_model(f"TruncNormal{tag}", __base__=_TruncNormalBase, min=(B, ...), max=(B, ...)),
        create_model(f"Categorical{tag}", __base__=_CategoricalNumberBase, values=(list[B], Field(min_length=1))),
    ]
    for c in classes:
        c.DOMAIN = (lo, hi)
        c.UNIT = unit
    union: Any = Annotated[Union[tuple(classes)], Field(discriminator="kind")]  # type: ignore[valid-type]
    return Annotated[union, BeforeValidator(_number_shorthand, json_schema_input_type=Union[float, union])]


NumberDist = Union[_FixedBase, _UniformBase, _NormalBase, _TruncNormalBase, _CategoricalNumberBase]


# --------------------------------------------------------------------------- labels


class _ChoiceBase(Frozen):
    pass


def _choice_shorthand(v: Any) -> Any:
    if isinstance(v, str):
        return {"kind": "fixed", "value": v}
    if not isinstance(v, (dict, BaseModel)):
        raise PydanticCustomError(
            "choice_dist_expected",
            'expected a label or an object like {"kind": "categorical", "weights": {"label": 1}} (got {got})',
            {"got": repr(v)},
        )
    return v


@lru_cache(maxsize=None)
def choice_dist(tag: str, key: Any = str) -> Any:
    """The ``ChoiceDist`` type over labels of type ``key`` (``str``, a ``Literal``, ...)."""
    fields: dict[str, Any] = {"kind": (Literal["fixed"], "fixed"), "value": (key, ...)}
    fixed: Any = create_model(f"FixedChoice{tag}", __base__=_ChoiceBase, **fields)
    fields = {"kind": (Literal["categorical"], ...), "weights": (dict[key, PositiveWeight], Field(min_length=1))}
    cat: Any = create_model(f"CategoricalChoice{tag}", __base__=_ChoiceBase, **fields)
    union: Any = Annotated[Union[fixed, cat], Field(discriminator="kind")]
    return Annotated[union, BeforeValidator(_choice_shorthand, json_schema_input_type=Union[key, union])]


HexColor = Annotated[str, Field(pattern=HEX_PATTERN, description="sRGB colour '#rrggbb'")]
if TYPE_CHECKING:  # built at run time (see facefarm.catalog.spec)
    ColorChoice: TypeAlias = Any
else:
    ColorChoice = choice_dist("Color", HexColor)


# --------------------------------------------------------------------------- sampling


def choice_weights(dist: Any) -> dict[str, float]:
    """Normalised label probabilities, keys sorted (so JSON key order never matters)."""
    if dist.kind == "fixed":
        return {dist.value: 1.0}
    total = float(sum(dist.weights.values()))
    return {k: dist.weights[k] / total for k in sorted(dist.weights)}


def choice_support(dist: Any) -> tuple[str, ...]:
    """The labels a choice can produce, sorted."""
    return tuple(choice_weights(dist))


def draw_from_weights(weights: dict[str, float], rng: np.random.Generator) -> str:
    """One label from (not necessarily normalised) weights, iterated in sorted-key order."""
    keys = sorted(k for k, w in weights.items() if w > 0)
    if not keys:
        raise ValueError("no label has positive weight")
    w = np.array([weights[k] for k in keys], dtype=float)
    cdf = np.cumsum(w / w.sum())
    i = int(np.searchsorted(cdf, rng.random(), side="right"))
    return keys[min(i, len(keys) - 1)]


def draw_choice(dist: Any, rng: np.random.Generator) -> str:
    """One label from a ChoiceDist. Always consumes exactly one uniform from ``rng``."""
    return draw_from_weights(choice_weights(dist), rng)


def _sorted_categorical(dist: Any) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(dist.values, dtype=float)
    weights = np.ones(len(values)) if dist.weights is None else np.asarray(dist.weights, float)
    order = np.argsort(values, kind="stable")
    return values[order], weights[order] / weights.sum()


def _bounds(dist: Any) -> tuple[float, float]:
    lo, hi = dist.DOMAIN
    if dist.kind in ("uniform", "truncnormal"):
        lo, hi = max(lo, dist.min), min(hi, dist.max)
    return lo, hi


def support(dist: Any) -> tuple[float, float]:
    """Smallest and largest value the distribution can produce."""
    if dist.kind == "fixed":
        return dist.value, dist.value
    if dist.kind == "categorical":
        return min(dist.values), max(dist.values)
    return _bounds(dist)


def _tail_masses(dist: Any, lo: float, hi: float) -> tuple[bool, float, float]:
    """(upper, m_lo, m_hi): normal masses at the range ends, taken in the tail the range lies in.

    For a range above the mean the survival function is used (1 - cdf loses everything past
    ~8 sd), so far-tail truncations stay exact down to ~37 sd.
    """
    from scipy.special import ndtr

    za, zb = (lo - dist.mean) / dist.sd, (hi - dist.mean) / dist.sd
    upper = za > 0
    if upper:
        return True, float(ndtr(-za)), float(ndtr(-zb))
    return False, float(ndtr(za)), float(ndtr(zb))


def cdf(dist: Any, x: float) -> float:
    """P(X <= x)."""
    if dist.kind == "fixed":
        return 1.0 if x >= dist.value else 0.0
    if dist.kind == "categorical":
        values, weights = _sorted_categorical(dist)
        return float(weights[values <= x].sum())
    lo, hi = _bounds(dist)
    if x < lo:
        return 0.0
    if x >= hi:
        return 1.0
    if dist.kind == "uniform":
        return (x - lo) / (hi - lo) if hi > lo else 1.0
    from scipy.special import ndtr

    upper, m_lo, m_hi = _tail_masses(dist, lo, hi)
    if abs(m_lo - m_hi) <= 1e-300:  # no representable mass in the range: uniform in it
        return (x - lo) / (hi - lo)
    z = (x - dist.mean) / dist.sd
    return float((m_lo - ndtr(-z)) / (m_lo - m_hi)) if upper else float((ndtr(z) - m_lo) / (m_hi - m_lo))


def quantile(dist: Any, u: float) -> float:
    """The value at cumulative probability ``u`` in [0, 1] (inverse CDF)."""
    u = min(max(float(u), 0.0), 1.0)
    if dist.kind == "fixed":
        return float(dist.value)
    if dist.kind == "categorical":
        values, weights = _sorted_categorical(dist)
        i = int(np.searchsorted(np.cumsum(weights), u, side="right"))
        return float(values[min(i, len(values) - 1)])
    lo, hi = _bounds(dist)
    if dist.kind == "uniform":
        return lo + u * (hi - lo)
    from scipy.special import ndtri

    upper, m_lo, m_hi = _tail_masses(dist, lo, hi)
    if abs(m_lo - m_hi) <= 1e-300:
        return lo + u * (hi - lo)
    if upper:
        z = -ndtri(min(max(m_lo - u * (m_lo - m_hi), 1e-300), 1.0))
    else:
        z = ndtri(min(max(m_lo + u * (m_hi - m_lo), 1e-300), 1.0 - 1e-16))
    return float(min(max(dist.mean + dist.sd * z, lo), hi))


def draw(dist: Any, rng: np.random.Generator) -> float:
    """One value. Always consumes exactly one uniform from ``rng``."""
    return quantile(dist, rng.random())


def draw_in_band(dist: Any, rng: np.random.Generator, lo: float, hi: float, closed: bool = True) -> float:
    """One value conditioned on ``lo <= x < hi`` (``<= hi`` if ``closed``).

    If the distribution puts no mass in the band, the band is *forced*: the value is uniform
    in it (that is how a quota asks for deliberately rare combinations). Always consumes
    exactly one uniform from ``rng``.
    """
    u = rng.random()
    dlo, dhi = dist.DOMAIN
    lo, hi = max(lo, dlo), min(hi, dhi)
    if dist.kind in ("categorical", "fixed"):
        if dist.kind == "fixed":
            values, weights = np.array([float(dist.value)]), np.array([1.0])
        else:
            values, weights = _sorted_categorical(dist)
        keep = (values >= lo) & ((values <= hi) if closed else (values < hi))
        if keep.any():
            w = np.cumsum(weights[keep] / weights[keep].sum())
            i = int(np.searchsorted(w, u, side="right"))
            return float(values[keep][min(i, int(keep.sum()) - 1)])
        return lo + u * (hi - lo)
    a = cdf(dist, lo) if lo > support(dist)[0] else 0.0
    b = cdf(dist, hi)
    if b - a <= 1e-12:
        return lo + u * (hi - lo)
    return min(max(quantile(dist, a + u * (b - a)), lo), hi)
