"""The catalog vocabulary matches what the pipeline builds, and the shipped catalogs use it sensibly:
every hair style of the library is a catalog choice, bald/receding/balding go to older masculine
identities, and facial hair never goes to feminine faces."""

import collections
import json

import pytest

from facefarm.catalog import DEFAULT_KNOWN_ASSETS, CatalogError, load_catalog, resolve, validate_asset_ids
from facefarm.catalog.vocabulary import CLOTHING_IDS, HAIR_STYLES
from facefarm.paths import ASSETS

CATALOGS = sorted((ASSETS / "catalogs").glob("*.json"))
KNOWN = {k: set(v) for k, v in DEFAULT_KNOWN_ASSETS.items()}
OLDER_ONLY = ("bald", "receding", "balding")


def test_hair_styles_are_exactly_the_style_library():
    # read the JSON itself (not the pipeline's reader): the catalog list is the library, in order
    library = json.loads((ASSETS / "hair" / "styles.json").read_text())["scalp"]
    assert HAIR_STYLES == tuple(library)


def test_every_library_style_and_the_scarf_are_valid_choices():
    cat = load_catalog(
        {
            "catalog_version": 1,
            "hair": {"styles": {"kind": "categorical", "weights": dict.fromkeys(HAIR_STYLES, 1)}},
            "clothing": {"ids": "scarf"},
        }
    )
    assert validate_asset_ids(cat, KNOWN) == []
    assert "scarf" in CLOTHING_IDS
    assert {resolve(cat, 0, i).clothing.id for i in range(3)} == {"scarf"}
    assert validate_asset_ids(load_catalog({"catalog_version": 1, "hair": {"styles": "mullet"}}), KNOWN)


def test_default_hair_tables_use_the_new_styles():
    cat = load_catalog({"catalog_version": 1})
    used = set(cat.hair.styles.weights) | set(cat.hair.styles_male.weights)
    assert used == set(HAIR_STYLES)
    assert not set(OLDER_ONLY) & set(cat.hair.styles.weights), "bald/receding/balding are masculine styles here"


def test_age_ramps_keep_receding_and_balding_for_older_identities():
    cat = load_catalog({"catalog_version": 1, "age": {"kind": "uniform", "min": 1, "max": 90}, "gender": 0.9})
    by_band = collections.defaultdict(collections.Counter)
    for i in range(800):
        s = resolve(cat, 3, i)
        band = "child" if s.age_years < 14 else "young" if s.age_years < 28 else "older" if s.age_years >= 55 else "mid"
        by_band[band][s.hair.style] += 1
        lo = cat.hair.age_ramps_years.get(s.hair.style, (0.0, 0.0))[0]
        assert s.age_years >= lo, (s.hair.style, s.age_years)
    assert sum(by_band["child"][k] for k in OLDER_ONLY) == 0
    old_share = sum(by_band["older"][k] for k in ("receding", "balding")) / sum(by_band["older"].values())
    young_share = sum(by_band["young"][k] for k in ("receding", "balding")) / sum(by_band["young"].values())
    # expected ~0.14 (2.7 of 17.7 of the masculine weights, most of this catalog); ~300 older
    # identities give a standard error of ~0.02, so the bound sits three of them below
    assert old_share > 0.08 and old_share > 3 * young_share, (old_share, young_share)


def test_a_quota_can_still_ask_for_a_balding_child():
    cat = load_catalog(
        {
            "catalog_version": 1,
            "size": 10,
            "sampling": {
                "quotas": [
                    {
                        "where": {
                            "age": {"min": 5, "max": 10},
                            "gender": {"min": 0.7, "max": 1},
                            "hair_style": "balding",
                        },
                        "count": 3,
                    }
                ]
            },
        }
    )
    rare = [s for s in (resolve(cat, 0, i) for i in range(10)) if s.quota == 0]
    assert len(rare) == 3 and all(s.hair.style == "balding" and s.age_years <= 10 for s in rare)


def test_bad_age_ramps_are_reported_at_their_path():
    with pytest.raises(CatalogError) as e:
        load_catalog({"catalog_version": 1, "hair": {"age_ramps_years": {"receding": [45, 20]}}})
    assert any(p.path.startswith("$.hair.age_ramps_years") for p in e.value.problems)
    cat = load_catalog({"catalog_version": 1, "hair": {"age_ramps_years": {"recedign": [20, 45]}}})
    assert [p.path for p in validate_asset_ids(cat, KNOWN)] == ["$.hair.age_ramps_years.recedign"]


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_facial_hair_follows_gender_in_shipped_catalogs(path):
    cat = load_catalog(path)
    n = cat.size or 200
    ss = [resolve(cat, 0, i, n) for i in range(0, n, cat.identity.images_per_identity)]
    feminine = [s for s in ss if s.gender <= 0.5]
    assert feminine and not [s for s in feminine if s.facial_hair.style != "none"]
    adult_masc = [s for s in ss if s.gender >= 0.7 and s.age_years >= 18]
    share = sum(s.facial_hair.style != "none" for s in adult_masc) / len(adult_masc)
    assert share > 0.25, share
