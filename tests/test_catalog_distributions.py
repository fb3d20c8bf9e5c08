"""Distributions: quantile/CDF agree, draws stay in range, band conditioning, label choices."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from facefarm.catalog.distributions import (
    cdf,
    choice_dist,
    choice_weights,
    draw,
    draw_choice,
    draw_in_band,
    number_dist,
    quantile,
    support,
)

Years = TypeAdapter(number_dist("Years", 1.0, 90.0, "years"))
Labels = TypeAdapter(choice_dist("Id"))

finite = st.floats(1.0, 90.0, allow_nan=False)


@st.composite
def year_dists(draw_):
    kind = draw_(st.sampled_from(["fixed", "uniform", "normal", "truncnormal", "categorical"]))
    if kind == "fixed":
        return {"kind": "fixed", "value": draw_(finite)}
    if kind == "uniform":
        a, b = sorted((draw_(finite), draw_(finite)))
        return {"kind": "uniform", "min": a, "max": b}
    if kind == "normal":
        return {"kind": "normal", "mean": draw_(finite), "sd": draw_(st.floats(0.1, 50))}
    if kind == "truncnormal":
        a, b = sorted((draw_(finite), draw_(finite)))
        if b - a < 1e-3:
            b = min(a + 1.0, 90.0) if a < 89 else a
            a = b - 1.0
        return {
            "kind": "truncnormal",
            "mean": draw_(st.floats(-50, 150)),
            "sd": draw_(st.floats(0.1, 50)),
            "min": a,
            "max": b,
        }
    values = draw_(st.lists(finite, min_size=1, max_size=6))
    return {
        "kind": "categorical",
        "values": values,
        "weights": draw_(st.lists(st.floats(0.01, 10), min_size=len(values), max_size=len(values))),
    }


@settings(max_examples=80, deadline=None)
@given(year_dists(), st.floats(0.0, 1.0))
def test_quantile_in_support_and_inverts_cdf(spec, u):
    d = Years.validate_python(spec)
    x = quantile(d, u)
    lo, hi = support(d)
    assert 1.0 <= x <= 90.0 and lo - 1e-9 <= x <= hi + 1e-9
    # (a range a few ulps wide, e.g. uniform 1.0 .. 1.0000000000000002, has no u in between to invert)
    if d.kind in ("uniform", "truncnormal", "normal") and hi - lo > 1e-6:
        assert cdf(d, x) == pytest.approx(u, abs=1e-6)
    # Monotone: a larger u never gives a smaller value (this is what quantile blending relies on).
    assert quantile(d, min(1.0, u + 0.1)) >= x - 1e-9


@settings(max_examples=60, deadline=None)
@given(year_dists(), st.integers(0, 2**32), st.floats(1.0, 80.0), st.floats(1.0, 30.0))
def test_draw_in_band_stays_in_band(spec, seed, lo, width):
    d = Years.validate_python(spec)
    hi = min(90.0, lo + width)
    x = draw_in_band(d, np.random.default_rng(np.random.SeedSequence([seed])), lo, hi)
    assert lo <= x <= hi


def test_empirical_moments():
    rng = np.random.default_rng(np.random.SeedSequence([1, 2, 3]))
    u = Years.validate_python({"kind": "uniform", "min": 10, "max": 30})
    xs = np.array([draw(u, rng) for _ in range(4000)])
    assert xs.min() >= 10 and xs.max() <= 30 and abs(xs.mean() - 20) < 0.5
    t = Years.validate_python({"kind": "truncnormal", "mean": 40, "sd": 10, "min": 35, "max": 90})
    xs = np.array([draw(t, rng) for _ in range(4000)])
    # Mean of N(40, 10) truncated to [35, 90]: mu + sd * phi(a) / (1 - Phi(a)), a = -0.5 -> 45.09.
    assert xs.min() >= 35 and abs(xs.mean() - 45.09) < 0.5
    c = Years.validate_python({"kind": "categorical", "values": [5, 50], "weights": [1, 3]})
    xs = np.array([draw(c, rng) for _ in range(4000)])
    assert set(np.unique(xs)) == {5.0, 50.0} and abs((xs == 50).mean() - 0.75) < 0.03


def test_band_with_no_mass_is_forced_uniform():
    d = Years.validate_python({"kind": "uniform", "min": 30, "max": 60})
    rng = np.random.default_rng(np.random.SeedSequence([7]))
    xs = [draw_in_band(d, rng, 2.0, 12.0) for _ in range(200)]
    assert min(xs) >= 2 and max(xs) <= 12 and np.std(xs) > 2


def test_bare_number_and_label_shorthands():
    assert Years.validate_python(30).kind == "fixed"
    assert Labels.validate_python("smile").value == "smile"
    w = choice_weights(Labels.validate_python({"kind": "categorical", "weights": {"b": 3, "a": 1}}))
    assert list(w) == ["a", "b"] and w["b"] == pytest.approx(0.75)


def test_label_choice_ignores_json_key_order():
    a = Labels.validate_python({"kind": "categorical", "weights": {"x": 1, "y": 2, "z": 3}})
    b = Labels.validate_python({"kind": "categorical", "weights": {"z": 3, "x": 1, "y": 2}})
    for s in range(50):
        assert draw_choice(a, np.random.default_rng(np.random.SeedSequence([s]))) == draw_choice(
            b, np.random.default_rng(np.random.SeedSequence([s]))
        )
