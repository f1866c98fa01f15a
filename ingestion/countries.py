"""Countries as files write them ("France", "FR", "EIRE", "USA"): the ISO code, a plain name and a point for the map.

Codes and names come from pycountry (ISO 3166-1); the other spellings people use ("EIRE" from "Éire", "UK",
"RSA") from the alternative spellings countryinfo ships, and so does the point: countryinfo's country centre
(its `latlng`, else the capital), a marker for the map rather than where the event happened.
"""

import unicodedata
from functools import cache, lru_cache
from typing import NamedTuple

import pycountry
from countryinfo import CountryInfo


class Country(NamedTuple):
    iso_code: str
    name: str
    lat: float | None
    lon: float | None


def _key(text: str) -> str:
    """Spellings compare without case, accents, spaces or punctuation: "Éire" and "EIRE", "U.S.A." and "USA"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


@cache
def _countries() -> tuple[dict[str, str], dict[str, Country]]:
    """Every known spelling -> ISO code, and each code's country; built once per process (about 0.1 s)."""
    spellings: dict[str, str] = {}
    by_code: dict[str, Country] = {}
    # countryinfo lists a country first, then regions that share its code (Wales: GB).
    infos: dict[str, list[dict]] = {}
    for info in CountryInfo.all().values():
        if code := info.get("ISO", {}).get("alpha2"):
            infos.setdefault(code, []).append(info)
    for country in pycountry.countries:
        code = country.alpha_2
        for spelling in (code, country.alpha_3, country.name, *_optional_names(country)):
            spellings.setdefault(_key(spelling), code)
        point = _point(infos.get(code, [{}])[0])
        by_code[code] = Country(code, getattr(country, "common_name", None) or country.name, *point)
    # ISO's own names win; countryinfo only adds spellings ISO lacks.
    for code, entries in infos.items():
        for info in entries if code in by_code else ():
            for spelling in (info["name"], *info.get("altSpellings", ()), info.get("nativeName") or ""):
                if spelling:
                    spellings.setdefault(_key(spelling), code)
    return spellings, by_code


def _optional_names(country: object) -> tuple[str, ...]:
    return tuple(filter(None, (getattr(country, "official_name", None), getattr(country, "common_name", None))))


def _point(info: dict) -> tuple[float | None, float | None]:
    for name in ("latlng", "capital_latlng"):
        point = info.get(name)
        if point and len(point) == 2:
            return float(point[0]), float(point[1])
    return None, None


@lru_cache(maxsize=1024)
def country_of(text: str) -> Country | None:
    """The country a name or ISO code stands for; None when it names none ("Unspecified", "Channel Islands")."""
    spellings, by_code = _countries()
    code = spellings.get(_key(text))
    return by_code.get(code) if code else None
