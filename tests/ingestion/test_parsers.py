import io

import orjson
import pytest

from ingestion.formats import FileFormat, detect_format
from ingestion.parsers import access_log, json_array, ndjson
from ingestion.parsers import csv as csv_parser
from tests.datafiles import APACHE_ACCESS_LOG, FRAUD_TRANSACTIONS, WEB_ACCESS_LOGS


def csv_rows(text: str, delimiter: str = ",", encoding: str = "utf-8", first_line: int = 1) -> list:
    data = text.encode(encoding)
    fmt = detect_format("upload.csv", data)
    assert fmt.delimiter == delimiter
    return list(csv_parser.parse_chunk(data, fmt, first_line=first_line, skip_header=True))


def test_ndjson_yields_each_object_with_its_line_number_and_raw_text():
    with WEB_ACCESS_LOGS.open("rb") as stream:
        data = b"".join(stream.readline() for _ in range(3))
    rows = list(ndjson.parse_chunk(data, "utf-8", first_line=1))
    assert [row[0] for row in rows] == [1, 2, 3]
    _, record, error, raw = rows[0]
    assert record["clientip"] == "223.87.60.27"
    assert record["timestamp"] == "2018-07-22T00:39:02.912Z"
    assert error is None
    assert orjson.loads(raw) == record


def test_ndjson_numbers_lines_from_the_chunk_start():
    rows = list(ndjson.parse_chunk(b'{"a": 1}\n{"a": 2}\n', "utf-8", first_line=5001))
    assert [row[0] for row in rows] == [5001, 5002]


def test_ndjson_reports_blank_lines_without_an_error():
    rows = list(ndjson.parse_chunk(b'{"a": 1}\n\n   \n{"a": 2}', "utf-8", first_line=1))
    assert [(row[0], row[1], row[2]) for row in rows] == [
        (1, {"a": 1}, None),
        (2, None, None),
        (3, None, None),
        (4, {"a": 2}, None),
    ]


def test_ndjson_explains_a_malformed_line_with_its_column():
    data = b'{"order_id": 584677}\n{"order_id": 584678, oops}\n{"order_id": 584679}\n'
    rows = list(ndjson.parse_chunk(data, "utf-8", first_line=1))
    assert rows[1] == (2, None, "Invalid JSON: unexpected character at column 22", '{"order_id": 584678, oops}')
    assert rows[2][1] == {"order_id": 584679}


@pytest.mark.parametrize(
    ("line", "kind"), [(b"[1, 2]", "array"), (b'"GET /"', "string"), (b"404", "number"), (b"null", "null")]
)
def test_ndjson_explains_values_that_are_not_objects(line, kind):
    [row] = ndjson.parse_chunk(line + b"\n", "utf-8", first_line=1)
    assert row[1:3] == (None, f"Not a JSON object (got {kind})")


def test_ndjson_handles_crlf_line_endings():
    rows = list(ndjson.parse_chunk(b'{"a": 1}\r\n\r\n{"a": 2}\r\n', "utf-8", first_line=1))
    assert [row[1] for row in rows] == [{"a": 1}, None, {"a": 2}]
    assert rows[0][3] == '{"a": 1}'


def test_ndjson_decodes_cp1252_and_skips_a_bom():
    [row] = ndjson.parse_chunk('{"city": "Besançon"}\n'.encode("cp1252"), "cp1252", 1)
    assert row[1] == {"city": "Besançon"}
    [row] = ndjson.parse_chunk(b'\xef\xbb\xbf{"city": "Besan\xc3\xa7on"}\n', "utf-8-sig", 1)
    assert row[1] == {"city": "Besançon"}


def test_ndjson_reports_a_conversion_error_line_with_its_own_reason():
    data = ndjson.CONVERSION_ERROR_PREFIX + b"Invalid JSON array at element 3: parse error: premature EOF\n"
    [row] = ndjson.parse_chunk(data, "utf-8", first_line=3)
    assert row[:3] == (3, None, "Invalid JSON array at element 3: parse error: premature EOF")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_splits_on_the_sniffed_delimiter(delimiter):
    lines = [
        ["InvoiceNo", "Description", "Quantity", "InvoiceDate"],
        ["536370", "ALARM CLOCK BAKELIKE PINK", "24", "12/1/2010 8:45"],
        ["536370", "CIRCUS PARADE LUNCH BOX", "24", "12/1/2010 8:45"],
    ]
    rows = csv_rows("\n".join(delimiter.join(line) for line in lines) + "\n", delimiter)
    assert [row[0] for row in rows] == [2, 3]
    assert rows[1][1] == dict(zip(lines[0], lines[2], strict=True))
    assert rows[1][3] == delimiter.join(lines[2])


def test_csv_keeps_quoted_newlines_and_doubled_quotes_and_numbers_physical_lines():
    text = (
        "id,comment,price\n"
        '1,"plain",2.5\n'
        '2,"two\nlines with ""quotes""",3.5\n'
        '3,"three\r\nphysical\nlines",4.5\n'
        "4,after,5.5\n"
    )
    rows = csv_rows(text)
    assert [row[0] for row in rows] == [2, 3, 5, 8]
    assert rows[1][1] == {"id": "2", "comment": 'two\nlines with "quotes"', "price": "3.5"}
    assert rows[1][3] == '2,"two\nlines with ""quotes""",3.5'
    assert rows[2][1]["comment"] == "three\r\nphysical\nlines"
    assert rows[3][1] == {"id": "4", "comment": "after", "price": "5.5"}


def test_csv_explains_rows_with_too_many_or_too_few_fields():
    rows = csv_rows("a,b,c\n1,2,3\n1,2\n1,2,3,4\n1,2,3,\n")
    assert [(row[0], row[2]) for row in rows] == [
        (2, None),
        (3, "Row has 2 fields, header has 3"),
        (4, "Row has 4 fields, header has 3"),
        (5, None),
    ]
    assert rows[3][1] == {"a": "1", "b": "2", "c": "3"}


def test_csv_drops_empty_values_and_reports_blank_lines():
    rows = csv_rows("EVENT_LABEL,EVENT_TIMESTAMP,order_price\n,2022-11-07T15:18:25Z,7.53\n\n  \n,,\n")
    assert rows[0][1] == {"EVENT_TIMESTAMP": "2022-11-07T15:18:25Z", "order_price": "7.53"}
    assert [(row[0], row[1], row[2]) for row in rows[1:]] == [(3, None, None), (4, None, None), (5, None, None)]


def test_csv_handles_crlf_and_a_bom():
    data = b"\xef\xbb\xbfname,city\r\nDupont,Paris\r\n"
    fmt = detect_format("people.csv", data)
    [row] = csv_parser.parse_chunk(data, fmt, first_line=1, skip_header=True)
    assert row == (2, {"name": "Dupont", "city": "Paris"}, None, "Dupont,Paris")


def test_csv_decodes_cp1252():
    rows = csv_rows("name,city\nLefèvre,Besançon\n", encoding="cp1252")
    assert rows[0][1] == {"name": "Lefèvre", "city": "Besançon"}


def test_csv_chunks_after_the_first_do_not_skip_a_header():
    fmt = FileFormat(kind="csv", encoding="utf-8", delimiter=",", header=("a", "b"))
    rows = list(csv_parser.parse_chunk(b"1,2\n3,4\n", fmt, first_line=101, skip_header=False))
    assert [(row[0], row[1]) for row in rows] == [(101, {"a": "1", "b": "2"}), (102, {"a": "3", "b": "4"})]


def test_csv_reads_the_real_fraud_file():
    data = FRAUD_TRANSACTIONS.read_bytes()
    fmt = detect_format(FRAUD_TRANSACTIONS.name, data[: 2**20])
    rows = list(csv_parser.parse_chunk(data, fmt, first_line=1, skip_header=True))
    assert len(rows) == 1611
    assert all(error is None for _, _, error, _ in rows)
    assert rows[0][1]["EVENT_TIMESTAMP"] == "2022-12-24T15:53:30Z"
    assert "EVENT_LABEL" not in rows[-1][1] or rows[-1][1]["EVENT_LABEL"] in ("0", "1")


def test_json_array_yields_elements_numbered_from_one_with_floats():
    stream = io.BytesIO(b'[\n {"price": 11.99, "qty": 1},\n {"price": 24.99, "tags": ["a"]}\n]')
    rows = list(json_array.iter_elements(stream))
    assert rows == [
        (1, {"price": 11.99, "qty": 1}, None, '{"price":11.99,"qty":1}'),
        (2, {"price": 24.99, "tags": ["a"]}, None, '{"price":24.99,"tags":["a"]}'),
    ]
    assert type(rows[0][1]["price"]) is float


def test_json_array_explains_non_object_elements():
    rows = list(json_array.iter_elements(io.BytesIO(b'[{"a": 1}, 7, "x", [1]]')))
    assert [row[2] for row in rows] == [
        None,
        "Not a JSON object (got number)",
        "Not a JSON object (got string)",
        "Not a JSON object (got array)",
    ]


def test_json_array_stops_at_a_syntax_error_with_one_error_row():
    rows = list(json_array.iter_elements(io.BytesIO(b'[{"a": 1}, {"a": 2}, {"a": }, {"a": 4}]')))
    assert len(rows) == 3
    number, record, error, raw = rows[2]
    assert (number, record, raw) == (3, None, "")
    assert error.startswith("Invalid JSON array at element 3: parse error")


def test_json_array_reports_a_truncated_file():
    rows = list(json_array.iter_elements(io.BytesIO(b'[{"a": 1}, {"a": 2')))
    assert rows[-1][0] == 2
    assert "premature EOF" in rows[-1][2]


def test_json_array_transcodes_other_encodings():
    data = '[{"city": "Besançon"}]'.encode("cp1252")
    [row] = json_array.iter_elements(io.BytesIO(data), encoding="cp1252")
    assert row[1] == {"city": "Besançon"}
    [row] = json_array.iter_elements(io.BytesIO(b'\xef\xbb\xbf[{"a": 1}]'), encoding="utf-8-sig")
    assert row[1] == {"a": 1}


def test_access_log_reads_every_line_of_the_real_apache_log_but_the_one_with_an_unclosed_quote():
    rows = list(access_log.parse_chunk(APACHE_ACCESS_LOG.read_bytes(), "utf-8", first_line=1))

    assert len(rows) == 10_000
    broken = [(line, reason) for line, record, reason, _raw in rows if record is None]
    assert broken == [
        (
            8899,
            "Not an access-log line in the Apache/Nginx common or combined format: a quoted field (request, "
            "referrer or user agent) is not closed",
        )
    ]
    assert rows[0][1] == {
        "ip": "83.149.9.216",
        "timestamp": "17/May/2015:10:05:03 +0000",
        "method": "GET",
        "url": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
        "protocol": "HTTP/1.1",
        "status": 200,
        "bytes": 203023,
        "referrer": "http://semicomplete.com/presentations/logstash-monitorama-2013/",
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/32.0.1700.77 Safari/537.36",
    }
    assert rows[8899][1]["bytes"] == 0  # the next line sent "-" bytes
    assert rows[8898][3].startswith("46.118.127.106 - - [20/May/2015:12:05:17 +0000]")


def test_access_log_reads_the_common_format_with_a_signed_in_user_and_nginx_extras():
    data = (
        b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
        b"\n"
        b'10.0.0.7 - - [10/Oct/2000:13:56:01 -0700] "POST /checkout HTTP/1.1" 502 - "https://shop.example/cart" '
        b'"curl/8.1 \\"beta\\"" "203.0.113.9"\r\n'
        b'10.0.0.8 - - [10/Oct/2000:13:56:02 -0700] "\\x16\\x03\\x01" 400 166 "-" "-"\n'
    )
    rows = list(access_log.parse_chunk(data, "utf-8", first_line=41))

    assert [row[0] for row in rows] == [41, 42, 43, 44]
    assert rows[0][1] == {
        "ip": "127.0.0.1",
        "timestamp": "10/Oct/2000:13:55:36 -0700",
        "method": "GET",
        "url": "/apache_pb.gif",
        "protocol": "HTTP/1.0",
        "status": 200,
        "bytes": 2326,
        "user": "frank",
    }
    assert rows[1][1:3] == (None, None)  # a blank line is skipped, not an error
    assert rows[2][1]["bytes"] == 0
    assert rows[2][1]["user_agent"] == 'curl/8.1 \\"beta\\"'
    assert rows[2][1]["referrer"] == "https://shop.example/cart"
    assert rows[3][1] == {
        "ip": "10.0.0.8",
        "timestamp": "10/Oct/2000:13:56:02 -0700",
        "request": "\\x16\\x03\\x01",
        "status": 400,
        "bytes": 166,
    }


def test_access_log_explains_a_line_in_another_format():
    rows = list(access_log.parse_chunk(b"2024-05-01 10:00:00 INFO shop started\n", "utf-8", first_line=1))
    assert rows == [
        (
            1,
            None,
            "Not an access-log line in the Apache/Nginx common or combined format (expected IP, identity, user, "
            '[time], "request", status, bytes, then "referrer" "user agent" in the combined format)',
            "2024-05-01 10:00:00 INFO shop started",
        )
    ]
