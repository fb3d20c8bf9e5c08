"""MakeHuman's macro-target weighting (age, gender, ancestry, muscle, weight, proportions).

Reimplements, from the description in MakeHuman 1.x (``apps/human.py`` ``_set*Vals`` and
``apps/humanmodifier.py`` ``getTargetWeights``), how the slider values become weights of
the ``targets/macrodetails`` files: each file's weight is the product of the factors
named in its file name, e.g. ``caucasian-female-young`` gets
``caucasian * female * young`` and ``universal-male-old-maxmuscle-minweight`` gets
``male * old * maxmuscle * minweight``. Pure functions, no IO.
"""

from __future__ import annotations

import itertools

ANCESTRIES = ("african", "asian", "caucasian")
GENDERS = ("female", "male")
AGES = ("baby", "child", "young", "old")
MUSCLES = ("minmuscle", "averagemuscle", "maxmuscle")
WEIGHTS = ("minweight", "averageweight", "maxweight")
PROPORTIONS = ("uncommonproportions", "idealproportions")

MIN_AGE_YEARS, MID_AGE_YEARS, MAX_AGE_YEARS = 1.0, 25.0, 90.0


def age_slider(age_years: float) -> float:
    """Years (1..90) -> MakeHuman's age slider (0..1): 1 + 48 v below 25 years, 25 + 130 (v - 0.5) above."""
    y = min(max(float(age_years), MIN_AGE_YEARS), MAX_AGE_YEARS)
    if y < MID_AGE_YEARS:
        return (y - MIN_AGE_YEARS) / (2.0 * (MID_AGE_YEARS - MIN_AGE_YEARS))
    return 0.5 + (y - MID_AGE_YEARS) / (2.0 * (MAX_AGE_YEARS - MID_AGE_YEARS))


def age_years(slider: float) -> float:
    """Inverse of :func:`age_slider`."""
    v = min(max(float(slider), 0.0), 1.0)
    if v < 0.5:
        return MIN_AGE_YEARS + 2.0 * (MID_AGE_YEARS - MIN_AGE_YEARS) * v
    return MID_AGE_YEARS + 2.0 * (MAX_AGE_YEARS - MID_AGE_YEARS) * (v - 0.5)


def _age_factors(v: float) -> dict[str, float]:
    # Breakpoints baby 0, child 0.1875, young 0.5, old 1 (macro.json); MakeHuman's own constants.
    if v < 0.5:
        young = max(0.0, (v - 0.1875) * 3.2)
        return {
            "baby": max(0.0, 1.0 - v * 5.333),
            "child": max(0.0, min(1.0, 5.333 * v) - young),
            "young": young,
            "old": 0.0,
        }
    old = max(0.0, v * 2.0 - 1.0)
    return {"baby": 0.0, "child": 0.0, "young": 1.0 - old, "old": old}


def _three_way(v: float, names: tuple[str, str, str]) -> dict[str, float]:
    hi = max(0.0, v * 2.0 - 1.0)
    lo = max(0.0, 1.0 - v * 2.0)
    return {names[0]: lo, names[1]: 1.0 - (hi + lo), names[2]: hi}


def factors(
    *, age: float, gender: float, ancestry: dict[str, float], muscle: float, weight: float, proportions: float
) -> dict[str, float]:
    """Every factor name -> value, from slider values in 0..1 (``age`` is the slider, not years)."""
    clamp = lambda x: min(max(float(x), 0.0), 1.0)  # noqa: E731 - MakeHuman clamps every slider
    g = clamp(gender)
    f = {"female": 1.0 - g, "male": g}
    f.update(_age_factors(clamp(age)))
    f.update(_three_way(clamp(muscle), MUSCLES))
    f.update(_three_way(clamp(weight), WEIGHTS))
    p = clamp(proportions)
    # "regular" proportions (p = 0.5) is the absence of a target, so it needs no factor here.
    f.update({"idealproportions": max(0.0, p * 2.0 - 1.0), "uncommonproportions": max(0.0, 1.0 - p * 2.0)})
    for a in ANCESTRIES:
        f[a] = float(ancestry[a])
    return f


def target_names() -> list[str]:
    """All macro targets used, as paths below ``targets/macrodetails/`` without ``.target.gz``.

    The proportions set has no baby targets in MakeHuman, so a baby gets none.
    """
    names = [f"{a}-{g}-{age}" for a, g, age in itertools.product(ANCESTRIES, GENDERS, AGES)]
    names += [f"universal-{g}-{age}-{m}-{w}" for g, age, m, w in itertools.product(GENDERS, AGES, MUSCLES, WEIGHTS)]
    names += [
        f"proportions/{g}-{age}-{m}-{w}-{p}"
        for g, age, m, w, p in itertools.product(GENDERS, AGES[1:], MUSCLES, WEIGHTS, PROPORTIONS)
    ]
    return names


def target_weights(names: list[str], f: dict[str, float]) -> list[float]:
    """Weight of each named target: the product of the factors in its file name (``getTargetWeights``)."""
    out = []
    for name in names:
        parts = name.split("/")[-1].split("-")
        w = 1.0
        for p in parts:
            if p != "universal":
                w *= f[p]
        out.append(w)
    return out
