"""The melanin <-> Monk Skin Tone mapping and the skin albedo model agree with each other."""

import math

import pytest

from facefarm.catalog.colors import hex_to_srgb
from facefarm.catalog.skin_tone import (MONK_SRGB, melanin_range, monk_tone, nearest_monk_tone,
                                        skin_albedo_linear, skin_albedo_srgb, srgb_to_lab)

GRID = [i / 1000 for i in range(1001)]


@pytest.mark.parametrize("tone", range(1, 11))
def test_decile_centre_reproduces_monk_orb(tone):
    lo, hi = melanin_range(tone)
    centre = (lo + hi) / 2
    assert monk_tone(centre) == tone
    de = math.dist(srgb_to_lab(skin_albedo_srgb(centre)), srgb_to_lab(hex_to_srgb(MONK_SRGB[tone - 1])))
    assert de < 5.0, f"tone {tone}: CIE76 dE {de:.2f}"
    assert nearest_monk_tone(skin_albedo_srgb(centre)) == tone


def test_monk_tone_is_deciles_and_monotone():
    tones = [monk_tone(m) for m in GRID]
    assert tones == sorted(tones) and tones[0] == 1 and tones[-1] == 10
    assert set(tones) == set(range(1, 11))
    for k in range(1, 11):
        lo, hi = melanin_range(k)
        assert monk_tone(lo) == k and monk_tone(min(hi, 1.0) - 1e-9) == k
    assert monk_tone(-3) == 1 and monk_tone(7) == 10


def test_albedo_and_monk_tone_agree_everywhere():
    # Nearest orb to the rendered albedo is the reported tone or a neighbour; mostly the tone itself.
    near = [nearest_monk_tone(skin_albedo_srgb(m)) for m in GRID]
    tones = [monk_tone(m) for m in GRID]
    assert max(abs(a - b) for a, b in zip(near, tones)) <= 1
    assert sum(a == b for a, b in zip(near, tones)) / len(GRID) > 0.85


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
