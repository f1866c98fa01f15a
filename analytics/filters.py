"""What a reader asks for (query text, filters, time range), read from request parameters and applied to a search.

Every search, panel, export and page goes through `scoped_search`, so every read is limited to the
signed-in user's own documents (staff see everyone's and may filter by owner).
"""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.http import QueryDict
from elasticsearch_dsl import Q, Search
from elasticsearch_dsl.query import Query

from analytics.mapping import field_map
from analytics.queries import events_search
from config.errors import ApplicationError

# Parameters with a meaning of their own; any other parameter is a `field=value` filter.
RESERVED = frozenset(
    {"q", "log_type", "stream", "country", "job_id", "status", "from", "to", "owner", "sort", "page_size", "cursor"}
    | {"format", "field", "size", "tz", "precision", "page", "interval", "csrfmiddlewaretoken", "dead_page"}
    | {"add_field", "add_value"}  # the pages' "filter on any field" pair, which becomes a field=value parameter
    | {"series", "sensitivity", "by"}
)
MAX_QUERY_LENGTH = 1000
# The range of HTTP status codes (the API schema states it too).
HTTP_STATUSES = (100, 599)
_FIELD_NAME = re.compile(r"[A-Za-z0-9_@][A-Za-z0-9_@.\-]{0,199}")
_DATE_MATH = re.compile(r"now(?:[+-]\d+[yMwdhHms])*(?:/[yMwdhHms])?")


@dataclass(frozen=True)
class EventFilters:
    text: str = ""
    log_types: tuple[str, ...] = ()
    streams: tuple[str, ...] = ()  # stream names (a streamed event's `stream`)
    countries: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()
    http_statuses: tuple[int, ...] = ()
    start: str | None = None
    end: str | None = None
    owner: str | None = None
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def as_params(self) -> list[tuple[str, str]]:
        """The same filters as query parameters: links into search and exports carry them."""
        params = [("q", self.text)] if self.text else []
        params += [("log_type", value) for value in self.log_types]
        params += [("stream", value) for value in self.streams]
        params += [("country", value) for value in self.countries]
        params += [("job_id", value) for value in self.job_ids]
        params += [("status", str(value)) for value in self.http_statuses]
        params += [(name, value) for name, value in (("from", self.start), ("to", self.end)) if value]
        params += [("owner", self.owner)] if self.owner else []
        params += [(name, value) for name, values in self.fields.items() for value in values]
        return params


def check_field_name(name: str) -> str:
    if not _FIELD_NAME.fullmatch(name):
        raise ApplicationError(
            f"'{name[:60]}' is not a field name: use letters, digits, _ @ . - and no spaces (e.g. geo.country_iso_code)"
        )
    return name


def check_query_text(text: str) -> str:
    """Refuse simple_query_string input that Elasticsearch would silently misread, with a sentence why."""
    if len(text) > MAX_QUERY_LENGTH:
        raise ApplicationError(f"The query is longer than {MAX_QUERY_LENGTH} characters")
    unescaped = re.sub(r"\\.", "", text)
    if unescaped.count('"') % 2:
        raise ApplicationError('Query syntax: a phrase is opened with " but never closed')
    depth = 0
    for char in re.sub(r'"[^"]*"', "", unescaped):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise ApplicationError("Query syntax: a ')' closes a group that was never opened")
    if depth:
        raise ApplicationError("Query syntax: a '(' opens a group that is never closed")
    stripped = unescaped.strip()
    if stripped.startswith("|") or stripped.endswith(("|", "+")):
        raise ApplicationError("Query syntax: an operator (| or +) has nothing on one side")
    return text.strip()


def check_time(name: str, value: str) -> str:
    """ISO 8601 (2024-05-01, 2024-05-01T10:00:00Z) or date math (now-7d, now/d), as Elasticsearch reads it."""
    value = value.strip()
    if _DATE_MATH.fullmatch(value):
        return value
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ApplicationError(
            f"{name}: could not read '{value[:40]}' as a time (use ISO 8601 such as 2024-05-01T10:00:00Z, or now-7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.isoformat()


def _statuses(values: list[str]) -> tuple[int, ...]:
    lowest, highest = HTTP_STATUSES
    message = f"status: an HTTP status is a number from {lowest} to {highest}, such as 404"
    try:
        statuses = tuple(int(value) for value in values)
    except ValueError:
        raise ApplicationError(message) from None
    if any(not lowest <= value <= highest for value in statuses):
        raise ApplicationError(message)
    return statuses


def filters_from(params: QueryDict) -> EventFilters:
    """Read the filters of a request; a bad value is an ApplicationError (400) naming it."""
    fields = {
        check_field_name(name): tuple(value for value in params.getlist(name) if value != "")
        for name in params
        if name not in RESERVED
    }
    return EventFilters(
        text=check_query_text(params.get("q", "")),
        log_types=tuple(value for value in params.getlist("log_type") if value),
        streams=tuple(value for value in params.getlist("stream") if value),
        countries=tuple(value.upper() for value in params.getlist("country") if value),
        job_ids=tuple(value for value in params.getlist("job_id") if value),
        http_statuses=_statuses([value for value in params.getlist("status") if value]),
        start=check_time("from", params["from"]) if params.get("from") else None,
        end=check_time("to", params["to"]) if params.get("to") else None,
        owner=params.get("owner") or None,
        fields={name: values for name, values in fields.items() if values},
    )


def owner_query(user: AbstractBaseUser, filters: EventFilters) -> Query | None:
    """Only the user's own documents; staff see all, or one owner's when they ask for it."""
    if not user.is_staff:
        return Q("term", owner=str(user.pk))
    if filters.owner:
        return Q("term", owner=filters.owner)
    return None


def _terms(name: str, values: tuple) -> Query:
    return Q("terms", **{name: list(values)})


def _field_values(name: str, values: tuple[str, ...]) -> Query:
    """Exact values, or a prefix for a value ending in * (InvoiceNo=C* finds the cancellations)."""
    exact = tuple(value for value in values if not value.endswith("*"))
    prefixes = [Q("prefix", **{name: value.rstrip("*")}) for value in values if value.endswith("*")]
    queries = ([_terms(name, exact)] if exact else []) + prefixes
    return queries[0] if len(queries) == 1 else Q("bool", should=queries, minimum_should_match=1)


def text_query(text: str) -> Query:
    # simple_query_string never raises on syntax; lenient skips fields of other types (numbers, dates).
    return Q("simple_query_string", query=text, default_operator="and", lenient=True)


def filter_queries(user: AbstractBaseUser, filters: EventFilters) -> list[Query]:
    queries = [query for query in [owner_query(user, filters)] if query is not None]
    if filters.log_types:
        queries.append(_terms("log_type", filters.log_types))
    if filters.streams:
        queries.append(_terms("stream", filters.streams))
    if filters.countries:
        queries.append(_terms("geo.country_iso_code", filters.countries))
    if filters.job_ids:
        queries.append(_terms("job_id", filters.job_ids))
    if filters.http_statuses:
        queries.append(_terms("http_status", filters.http_statuses))
    if filters.start or filters.end:
        window = {key: value for key, value in (("gte", filters.start), ("lte", filters.end)) if value}
        queries.append(Q("range", **{"@timestamp": window}))
    if filters.fields:
        fields = field_map(*filters.fields)
        for name, values in filters.fields.items():
            path = fields.nested_path(name)
            query = _field_values(name, values)
            queries.append(Q("nested", path=path, query=query) if path else query)
    return queries


def scoped_search(user: AbstractBaseUser, filters: EventFilters, search: Search | None = None) -> Search:
    """The events this user may see that match the filters (and the query text, when there is one)."""
    search = search if search is not None else events_search()
    for query in filter_queries(user, filters):
        search = search.filter(query)
    if filters.text:
        search = search.query(text_query(filters.text))
    return search
