"""The melanin <-> Monk Skin Tone mapping and the skin albedo model, fitted to measured skin."""

import math

import pytest

from facefarm.catalog.colors import hex_to_srgb, linear_to_srgb
from facefarm.catalog.skin_tone import (
    FITZPATRICK_ALBEDO,
    FITZPATRICK_MELANIN,
    MONK_SRGB,
    melanin_range,
    monk_tone,
    nearest_monk_tone,
    skin_albedo_linear,
    skin_albedo_srgb,
    srgb_to_lab,
)

GRID = [i / 1000 for i in range(1001)]


@pytest.mark.parametrize("kind", range(6))
def test_albedo_reproduces_measured_skin(kind):
    # each Fitzpatrick anchor of measured skin albedo, at its place on the melanin axis
    got = skin_albedo_srgb(FITZPATRICK_MELANIN[kind])
    want = tuple(linear_to_srgb(c) for c in FITZPATRICK_ALBEDO[kind])
    de = math.dist(srgb_to_lab(got), srgb_to_lab(want))
    assert de < 6.5, f"Fitzpatrick {kind + 1}: CIE76 dE {de:.2f}"


def test_light_skin_has_the_colour_of_skin_not_plaster():
    # Measured fair skin has CIELAB chroma ~15-20; the Monk orbs 1-3 (chroma 6-14), which the
    # albedo was once fitted to, rendered as grey plaster. Hue stays in the skin range (orange-red).
    for tone in (1, 2, 3):
        lo, hi = melanin_range(tone)
        _, a, b = srgb_to_lab(skin_albedo_srgb((lo + hi) / 2))
        assert math.hypot(a, b) > 14.0, f"tone {tone}: chroma {math.hypot(a, b):.1f}"
        assert 30.0 < math.degrees(math.atan2(b, a)) < 75.0
    orb_chroma = [math.hypot(*srgb_to_lab(hex_to_srgb(MONK_SRGB[t]))[1:]) for t in (0, 1)]
    assert max(orb_chroma) < 10.0  # the orbs themselves would fail the check above


def test_monk_tone_is_deciles_and_monotone():
    tones = [monk_tone(m) for m in GRID]
    assert tones == sorted(tones) and tones[0] == 1 and tones[-1] == 10
    assert set(tones) == set(range(1, 11))
    for k in range(1, 11):
        lo, hi = melanin_range(k)
        assert monk_tone(lo) == k and monk_tone(min(hi, 1.0) - 1e-9) == k
    assert monk_tone(-3) == 1 and monk_tone(7) == 10


def test_nearest_orb_follows_the_tone_in_order():
    # The orbs are display swatches, not albedos (see the module docstring): the orb nearest the
    # albedo may be another tone's, but within three tones and never out of order.
    near = [nearest_monk_tone(skin_albedo_srgb(m)) for m in GRID]
    tones = [monk_tone(m) for m in GRID]
    assert max(abs(a - b) for a, b in zip(near, tones)) <= 3
    assert near == sorted(near)


def test_albedo_darkens_with_melanin_and_reddens_with_haemoglobin():
    lum = [sum(skin_albedo_linear(m)) for m in GRID]
    assert all(b < a for a, b in zip(lum, lum[1:]))
    assert lum[0] > 5 * lum[-1]
    pale, flushed = skin_albedo_linear(0.3, 0.1), skin_albedo_linear(0.3, 0.9)
    assert flushed[0] / flushed[1] > pale[0] / pale[1]  # more red relative to green
    assert all(0.0 <= c <= 1.0 for m in GRID for c in skin_albedo_srgb(m, 0.5))


def test_melanin_range_rejects_bad_tone():
    with pytest.raises(ValueError):
        melanin_range(0)
