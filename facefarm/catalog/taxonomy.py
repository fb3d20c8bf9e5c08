"""The user's ancestry taxonomy: labels, each mapped to appearance priors, and how priors blend.

A taxonomy is data, never code: ``{"description": ..., "labels": {label: LabelPriors}}``.
Each label says how strongly it uses the head model's three MakeHuman ancestry shape bases
(african / asian / caucasian) and gives priors for skin melanin and haemoglobin, hair colour
and curl, and eye colour. A catalog names a taxonomy file (``"taxonomy": "example"`` is
``facefarm/assets/taxonomy/example.json``; any other string is a path relative to the catalog file)
or writes one inline; either way the validated catalog carries the full taxonomy, so the
catalog hash covers it.

A *mixed* sample has several labels with weights summing to 1. Its priors blend:
shape bases and eye-colour probabilities are weighted sums; a number (melanin, curl, ...)
is the weighted mean of each label's quantile at one shared uniform draw, so a 50/50 mix
of two skin-tone priors lands between them without shrinking towards the middle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
from pydantic import Field
from pydantic_core import PydanticCustomError

from facefarm.catalog.distributions import Frozen, PositiveWeight, choice_dist, choice_weights, number_dist, quantile
from facefarm.catalog.vocabulary import EYE_COLORS
from facefarm.paths import ASSETS

TAXONOMY_DIR = ASSETS / "taxonomy"
SHAPE_BASES: tuple[str, ...] = ("african", "asian", "caucasian")

EyeColorFamily = Literal[tuple(EYE_COLORS)]  # type: ignore[valid-type]
if TYPE_CHECKING:  # built at run time (see facefarm.catalog.spec)
    Unit: TypeAlias = Any
    EyeChoice: TypeAlias = Any
else:
    Unit = number_dist("Unit", 0.0, 1.0, "")
    EyeChoice = choice_dist("EyeColor", EyeColorFamily)


class LabelPriors(Frozen):
    """Appearance priors of one taxonomy label."""

    description: str = Field("", description="What the label means and where the numbers come from.")
    shape_bases: dict[Literal["african", "asian", "caucasian"], PositiveWeight] = Field(
        min_length=1, description="Weights over the head model's ancestry shape bases; normalised to sum 1."
    )
    skin_melanin: Unit = Field(description="Skin melanin 0..1 (Monk tone k covers [(k-1)/10, k/10)).")
    skin_haemoglobin: Unit = Field(
        default_factory=lambda: {"kind": "uniform", "min": 0.35, "max": 0.65},
        validate_default=True,
        description="Skin haemoglobin 0..1 (redness).",
    )
    hair_melanin: Unit = Field(description="Hair melanin 0..1 (0 platinum blond .. 1 black).")
    hair_redness: Unit = Field(
        default_factory=lambda: {"kind": "uniform", "min": 0.0, "max": 0.15},
        validate_default=True,
        description="Hair pheomelanin share 0..1 (red).",
    )
    hair_curl: Unit = Field(description="Hair curl 0 straight .. 1 tightly coiled.")
    eye_colors: EyeChoice = Field(description="Eye colour family probabilities.")


class Taxonomy(Frozen):
    """A named set of labels; see the module docstring."""

    description: str = ""
    labels: dict[str, LabelPriors] = Field(min_length=1)


def _inside(root: Path, ref: str) -> Path | None:
    """``root / ref`` if it is a regular file that resolves inside ``root`` (no absolute
    path, no '..' or link out of it), else None."""
    p = (root / ref).resolve()
    return p if p.is_relative_to(root.resolve()) and p.is_file() else None


def load_taxonomy_data(ref: str, base_dir: Path | None) -> dict[str, Any]:
    """Read the JSON of a taxonomy reference: a shipped name, or a .json path relative to the
    catalog's folder (``base_dir``; the working directory for a catalog given as a dict) that
    stays inside it. Error messages name the reference, never the file's contents."""
    if Path(ref).is_absolute() or ".." in Path(ref).parts:
        raise PydanticCustomError(
            "taxonomy_outside",
            "taxonomy '{ref}' must be a path inside the catalog's folder (no absolute "
            "path, no '..'), or a shipped name ({shipped})",
            {"ref": ref, "shipped": ", ".join(sorted(x.stem for x in TAXONOMY_DIR.glob("*.json")))},
        )
    candidates = [c for c in (_inside(base_dir if base_dir is not None else Path.cwd(), ref),) if c is not None]
    if "/" not in ref and Path(ref).suffix == "":
        candidates += [c for c in (_inside(TAXONOMY_DIR, f"{ref}.json"),) if c is not None]
    for c in candidates:
        if c.is_file():
            try:
                return json.loads(c.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise PydanticCustomError(
                    "taxonomy_json",
                    "taxonomy file {path} is malformed JSON at line {line}, column {col}",
                    {"path": ref, "line": e.lineno, "col": e.colno},
                ) from None
            except (OSError, UnicodeDecodeError) as e:
                why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
                raise PydanticCustomError(
                    "taxonomy_unreadable",
                    "cannot read taxonomy file {path}: {err}",
                    {"path": ref, "err": why or type(e).__name__},
                ) from None
    shipped = ", ".join(sorted(x.stem for x in TAXONOMY_DIR.glob("*.json"))) or "none"
    raise PydanticCustomError(
        "taxonomy_not_found",
        "taxonomy '{ref}' not found; give a path relative to the catalog file, an inline object, "
        "or a shipped name ({shipped})",
        {"ref": ref, "shipped": shipped},
    )


# --------------------------------------------------------------------------- blending


def blend_shape_bases(taxonomy: Taxonomy, mix: dict[str, float]) -> dict[str, float]:
    """Weighted blend of the labels' shape-base weights; returns all three bases, summing to 1."""
    out = dict.fromkeys(SHAPE_BASES, 0.0)
    for label in sorted(mix):
        bases = taxonomy.labels[label].shape_bases
        total = sum(bases.values())
        for b in sorted(bases):
            out[b] += mix[label] * bases[b] / total
    s = sum(out.values())
    return {b: out[b] / s for b in SHAPE_BASES}


def blend_number(taxonomy: Taxonomy, mix: dict[str, float], field: str, u: float) -> float:
    """Weighted mean of each label's ``field`` prior evaluated at the same quantile ``u``."""
    return float(sum(mix[label] * quantile(getattr(taxonomy.labels[label], field), u) for label in sorted(mix)))


def blend_number_in_band(
    taxonomy: Taxonomy, mix: dict[str, float], field: str, u: float, lo: float, hi: float
) -> float:
    """Like :func:`blend_number`, conditioned on the result lying in ``[lo, hi]``.

    The blend is non-decreasing in ``u``, so the ``u`` that land in the band form an
    interval; bisection finds it and ``u`` is rescaled into it. If no ``u`` lands in the band
    (the priors never produce it) the band is forced: uniform in it.
    """

    def f(x: float) -> float:
        return blend_number(taxonomy, mix, field, x)

    if f(1.0) < lo or f(0.0) > hi:
        return lo + u * (hi - lo)

    def first_at_least(target: float) -> float:
        a, b = 0.0, 1.0
        for _ in range(50):
            m = 0.5 * (a + b)
            if f(m) < target:
                a = m
            else:
                b = m
        return b

    def last_at_most(target: float) -> float:
        a, b = 0.0, 1.0
        for _ in range(50):
            m = 0.5 * (a + b)
            if f(m) <= target:
                a = m
            else:
                b = m
        return a

    u_lo = 0.0 if f(0.0) >= lo else first_at_least(lo)
    u_hi = 1.0 if f(1.0) <= hi else last_at_most(hi)
    return min(max(f(u_lo + u * (u_hi - u_lo)), lo), hi)


def blend_eye_colors(taxonomy: Taxonomy, mix: dict[str, float]) -> dict[str, float]:
    """Mixture of the labels' eye-colour probabilities."""
    out: dict[str, float] = {}
    for label in sorted(mix):
        for fam, p in choice_weights(taxonomy.labels[label].eye_colors).items():
            out[fam] = out.get(fam, 0.0) + mix[label] * p
    return out


def dirichlet_mix(labels: list[str], rng: np.random.Generator, concentration: float) -> dict[str, float]:
    """Random weights (sum 1) over ``labels`` from a symmetric Dirichlet."""
    w = rng.dirichlet(np.full(len(labels), concentration))
    w = np.maximum(w, 1e-6)
    w = w / w.sum()
    return {lab: float(x) for lab, x in zip(labels, w)}
