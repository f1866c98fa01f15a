"""Reading a shipper's body: lines (gzip inflated and bounded), NDJSON items, _bulk pairs, checked events, ids."""

import gzip
import io

import orjson
import pytest

from ingestion.stream_input import (
    BodyRefused,
    EventIds,
    IncomingLine,
    LineRefused,
    body_lines,
    bulk_lines,
    checked_event,
    ndjson_lines,
)
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines

ACCESS_LINES = data_lines(WEB_ACCESS_LOGS.name, 50)


def lines_of(data: bytes, *, gzipped: bool = False, limit: int = 10 * 2**20) -> list[bytes]:
    return list(body_lines(io.BytesIO(data).read, gzipped=gzipped, limit=limit))


def test_the_body_is_read_into_lines_without_their_line_ends():
    assert lines_of(b'{"a": 1}\r\n{"b": 2}\n\n{"c": 3}') == [b'{"a": 1}', b'{"b": 2}', b"", b'{"c": 3}']


def test_a_gzip_body_gives_the_same_lines_as_the_plain_one():
    assert lines_of(gzip.compress(ACCESS_LINES), gzipped=True) == lines_of(ACCESS_LINES)


def test_concatenated_gzip_members_are_one_body():
    first, second = ACCESS_LINES[:5000].rpartition(b"\n")[0] + b"\n", ACCESS_LINES[5000:].partition(b"\n")[2]
    joined = gzip.compress(first) + gzip.compress(second)

    assert lines_of(joined, gzipped=True) == lines_of(first + second)


def test_a_body_over_the_limit_is_refused_as_too_large():
    with pytest.raises(BodyRefused) as refusal:
        lines_of(ACCESS_LINES, limit=10_000)

    assert refusal.value.too_large


def test_a_gzip_bomb_stops_at_the_limit_of_its_inflated_size():
    bomb = gzip.compress(b"\n" * (50 * 2**20))

    with pytest.raises(BodyRefused) as refusal:
        lines_of(bomb, gzipped=True, limit=2**20)

    assert refusal.value.too_large and len(bomb) < 2**20


@pytest.mark.parametrize("body", [b"not gzip at all\n", gzip.compress(ACCESS_LINES)[:-200]])
def test_a_body_that_is_not_gzip_or_is_truncated_is_refused(body):
    with pytest.raises(BodyRefused) as refusal:
        lines_of(body, gzipped=True)

    assert not refusal.value.too_large
    assert "gzip" in refusal.value.message


def test_ndjson_items_are_numbered_as_the_sender_counts_lines_and_blank_ones_skipped():
    items = list(ndjson_lines(iter([b'{"a": 1}', b"", b"  ", b'{"b": 2}'])))

    assert [(item.line, item.raw) for item in items] == [(1, b'{"a": 1}'), (4, b'{"b": 2}')]


def test_bulk_pairs_give_their_action_index_and_id():
    body = [
        b'{"index": {"_index": "web", "_id": "a1"}}',
        b'{"@timestamp": "2024-05-01T10:00:00Z"}',
        b'{"create": {}}',
        b'{"@timestamp": "2024-05-01T10:00:01Z"}',
        b'{"delete": {"_index": "web", "_id": "a1"}}',
        b'{"update": {"_id": 7}}',
        b'{"doc": {"x": 1}}',
        b"",
    ]

    items = list(bulk_lines(iter(body)))

    assert items == [
        IncomingLine(1, b'{"@timestamp": "2024-05-01T10:00:00Z"}', "index", "web", "a1"),
        IncomingLine(3, b'{"@timestamp": "2024-05-01T10:00:01Z"}', "create", None, None),
        IncomingLine(5, b'{"delete": {"_index": "web", "_id": "a1"}}', "delete", "web", None),
        IncomingLine(6, b'{"doc": {"x": 1}}', "update", None, "7"),
    ]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ([b"GET / HTTP/1.1", b"{}"], "line [1]: not JSON"),
        ([b'{"index": {}, "create": {}}', b"{}"], "line [1]"),
        ([b'{"upsert": {}}', b"{}"], "but found [upsert]"),
        ([b'{"index": "web"}', b"{}"], "takes an object"),
        ([b'{"index": {}}'], "no document line"),
    ],
)
def test_a_broken_action_line_refuses_the_whole_bulk_request(body, said):
    with pytest.raises(BodyRefused) as refusal:
        list(bulk_lines(iter(body)))

    assert said in refusal.value.message


def test_a_real_access_log_line_is_an_event_with_its_timestamp_field():
    record, field = checked_event(ACCESS_LINES.splitlines()[0])

    assert field == "timestamp" and record["clientip"] == "223.87.60.27"


def test_syslog_ng_documents_are_events_by_their_at_timestamp():
    raw = orjson.dumps(
        {"MESSAGE": "session opened", "HOST": "web1", "ISODATE": "2024-05-01T10:00:00+00:00", "@timestamp": "x"}
    )

    with pytest.raises(LineRefused, match="Unparseable timestamp 'x' in field '@timestamp'"):
        checked_event(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 203023', "Not valid JSON"),
        (b"[1, 2]", "Not a JSON object"),
        (b'{"message": "no time here"}', "No timestamp field"),
        (b'{"timestamp": "yesterday"}', "Unparseable timestamp 'yesterday' in field 'timestamp'"),
        (b'{"timestamp": "1969-07-20T20:17:40Z"}', "out of range"),
        (b'{"timestamp": "2024-05-01T10:00:00Z", "x": "\xff"}', "Not valid JSON"),
    ],
)
def test_a_line_that_cannot_be_an_event_says_why(raw, reason):
    with pytest.raises(LineRefused, match=reason.replace("[", r"\[")):
        checked_event(raw)


def test_event_ids_are_the_same_for_the_same_lines_and_number_repeats():
    lines = [IncomingLine(n, raw) for n, raw in enumerate([b'{"a":1}', b'{"a":1}', b'{"b":2}'], start=1)]

    first = [EventIds().id_of("s1", item) for item in lines[:1]]
    ids = EventIds()
    again = [ids.id_of("s1", item) for item in lines]

    assert again[0] == first[0] and again[0].startswith("s1:")
    assert again[1] == again[0] + "-1"
    assert len(set(again)) == 3


def test_a_bulk_action_id_is_kept_under_the_stream_and_a_long_one_hashed():
    ids = EventIds()

    assert ids.id_of("s1", IncomingLine(1, b"{}", given_id="evt-42")) == "s1:evt-42"
    assert len(ids.id_of("s1", IncomingLine(1, b"{}", given_id="x" * 600))) == len("s1:") + 40
