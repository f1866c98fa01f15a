"""Country names and codes as real files write them, read into ISO codes, names and a map point."""

import pytest

from ingestion.countries import country_of


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("France", "FR"),
        ("FR", "FR"),
        ("fra", "FR"),
        ("EIRE", "IE"),  # the UCI retail data's spelling of Éire
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("RSA", "ZA"),
        ("Czech Republic", "CZ"),
        ("Russia", "RU"),
        ("Hong Kong", "HK"),
        ("  germany ", "DE"),
    ],
)
def test_names_and_codes_people_write_give_the_iso_code(written, code):
    assert country_of(written).iso_code == code


@pytest.mark.parametrize("written", ["Channel Islands", "European Community", "Unspecified", "Korea", "", "-"])
def test_what_names_no_single_country_gives_none(written):
    # The Channel Islands are two ISO countries (Jersey, Guernsey): the row does not say which.
    assert country_of(written) is None


def test_a_country_has_a_plain_name_and_a_point_inside_it():
    ireland = country_of("EIRE")
    usa = country_of("USA")

    assert ireland.name == "Ireland"
    assert 51 < ireland.lat < 56 and -11 < ireland.lon < -5
    assert usa.name == "United States"
    assert 25 < usa.lat < 50 and -125 < usa.lon < -65


def test_a_territory_without_a_centre_of_its_own_is_placed_at_its_capital():
    aland = country_of("Åland Islands")

    assert aland.iso_code == "AX"
    assert aland.lat is not None and 59 < aland.lat < 61
