from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingestion.timestamps import (
    find_timestamp_field,
    format_timestamp,
    in_accepted_range,
    parse_timestamp,
    read_timestamp,
    reads_day_first,
)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (["order_id", "order_date", "products"], "order_date"),
        (["agent", "bytes", "utc_time", "timestamp"], "timestamp"),
        (["InvoiceNo", "InvoiceDate", "UnitPrice"], "InvoiceDate"),
        (["EVENT_LABEL", "LABEL_TIMESTAMP", "EVENT_TIMESTAMP"], "EVENT_TIMESTAMP"),
        (["timestamp", "@timestamp"], "@timestamp"),
        (["Created-At", "message"], "Created-At"),
        (["message", "request_timestamp_ms"], "request_timestamp_ms"),
        (["message", "updatedAt"], "updatedAt"),
        (["message", "shipping date"], "shipping date"),
        (["message", "format", "level"], None),
    ],
)
def test_it_picks_the_event_time_field_by_name(fields, expected):
    assert find_timestamp_field(fields) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-12-26T09:28:48+00:00", at(2016, 12, 26, 9, 28, 48)),
        ("2018-07-22T00:39:02.912Z", at(2018, 7, 22, 0, 39, 2, 912_000)),
        ("2022-11-07T15:18:25Z", at(2022, 11, 7, 15, 18, 25)),
        ("2022-11-07 15:18:25", at(2022, 11, 7, 15, 18, 25)),
        ("2022-11-07T17:18:25+02:00", at(2022, 11, 7, 15, 18, 25)),
        ("2022-11-07T10:18:25-0500", at(2022, 11, 7, 15, 18, 25)),
        ("2022-11-07", at(2022, 11, 7)),
        ("2022-11-07 15:18:25 UTC", at(2022, 11, 7, 15, 18, 25)),
        ("12/1/2010 8:45", at(2010, 12, 1, 8, 45)),
        ("12/9/2011 12:50", at(2011, 12, 9, 12, 50)),
        ("12/9/2011 12:50:07", at(2011, 12, 9, 12, 50, 7)),
        ("25/12/2010 8:45", at(2010, 12, 25, 8, 45)),
        ("12/1/2010 8:45 PM", at(2010, 12, 1, 20, 45)),
        ("2010/12/01 08:45:00", at(2010, 12, 1, 8, 45)),
        ("01.12.2010 08:45", at(2010, 12, 1, 8, 45)),
        ("25.12.2010 18:05:09", at(2010, 12, 25, 18, 5, 9)),
        ("1.12.2010", at(2010, 12, 1)),
        ("2010.12.01 08:45", at(2010, 12, 1, 8, 45)),
        ("17/May/2015:10:05:03 +0000", at(2015, 5, 17, 10, 5, 3)),
        ("[20/May/2015:21:05:15 +0200]", at(2015, 5, 20, 19, 5, 15)),
        ("Tue, 01 Dec 2026 10:00:00 GMT", at(2026, 12, 1, 10)),
        (1532219942912, at(2018, 7, 22, 0, 39, 2, 912_000)),
        ("1532219942912", at(2018, 7, 22, 0, 39, 2, 912_000)),
        (1532219942, at(2018, 7, 22, 0, 39, 2)),
        (1532219942.5, at(2018, 7, 22, 0, 39, 2, 500_000)),
        (1532219942912000, at(2018, 7, 22, 0, 39, 2, 912_000)),
        (datetime(2016, 12, 1, 1, 4, 19, tzinfo=timezone(timedelta(hours=1))), at(2016, 12, 1, 0, 4, 19)),
    ],
)
def test_it_parses_real_world_formats_to_utc(value, expected):
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "n/a",
        "yesterday",
        True,
        "1969-12-31T23:59:59Z",
        "2101-01-01",
        -5,
        float("nan"),
        "13/13/2010 8:45",
    ],
)
def test_it_returns_none_for_what_is_not_a_time_from_1970_to_2100(value):
    assert parse_timestamp(value) is None


@pytest.mark.parametrize(
    ("value", "year"),
    [
        ("1969-12-31T23:59:59Z", 1969),
        ("2101-01-01", 2101),
        ("0001-01-01T00:00:00Z", 1),
        (-5, 1969),
        (-100_000_000_000, 1966),  # milliseconds before 1970
        (1e20, 9999),
        ("31/Dec/1969:23:00:00 +0000", 1969),
    ],
)
def test_a_time_outside_the_accepted_years_is_read_but_not_accepted(value, year):
    moment = read_timestamp(value)

    assert moment.year == year
    assert moment.utcoffset() == timedelta(0)
    assert not in_accepted_range(moment)
    assert parse_timestamp(value) is None


@pytest.mark.parametrize("value", [None, "", "yesterday", True, float("nan"), "13/13/2010 8:45", "99999-01-01"])
def test_what_is_not_a_time_is_not_read_either(value):
    assert read_timestamp(value) is None


def test_the_accepted_years_are_1970_to_2100_inclusive():
    assert in_accepted_range(at(1970, 1, 1))
    assert in_accepted_range(at(2100, 12, 31, 23, 59, 59))
    assert not in_accepted_range(at(2101, 1, 1))


def test_it_formats_utc_with_milliseconds():
    assert format_timestamp(at(2016, 12, 1, 0, 4, 19)) == "2016-12-01T00:04:19.000Z"
    assert format_timestamp(at(2018, 7, 22, 0, 39, 2, 912_345)) == "2018-07-22T00:39:02.912Z"


def test_it_formats_other_offsets_and_naive_values_as_utc():
    paris = datetime(2016, 12, 1, 1, 4, 19, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(paris) == "2016-12-01T00:04:19.000Z"
    assert format_timestamp(datetime(2016, 12, 1, 0, 4, 19)) == "2016-12-01T00:04:19.000Z"


def test_a_day_first_file_reads_an_ambiguous_date_as_the_day_then_the_month():
    assert parse_timestamp("01/12/2010 08:45", day_first=True) == at(2010, 12, 1, 8, 45)
    assert parse_timestamp("01/12/2010 08:45") == at(2010, 1, 12, 8, 45)
    assert parse_timestamp("25/12/2010 08:45", day_first=True) == at(2010, 12, 25, 8, 45)
    assert parse_timestamp("12/25/2010 08:45", day_first=True) is None  # not this file's order


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["01/12/2010 08:45", "15/12/2010 09:00"], True),  # a day above 12 comes first
        (["12/1/2010 8:45", "12/15/2010 9:00"], False),  # a day above 12 comes second
        (["01/12/2010 08:45", "05/04/2011 09:46"], False),  # never says: month first, as before
        (["15.12.2010 08:45"], True),
        (["2010-12-01T08:45:00Z", None, 1291193100, "15/12/2010"], True),
        (["13/12/2010", "12/13/2010"], False),  # both orders in one file: each date as it reads best
    ],
)
def test_the_date_order_of_a_file_comes_from_its_own_dates(values, expected):
    assert reads_day_first(values) is expected
