import gzip
import io

import pytest

from ingestion.formats import FileFormat, FormatError, check_extension, choose_encoding, detect_format, is_gzip_name
from tests.datafiles import (
    APACHE_ACCESS_LOG,
    ECOMMERCE_ORDERS,
    FRAUD_TRANSACTIONS,
    ONLINE_RETAIL_FRANCE,
    WEB_ACCESS_LOGS,
    head_of,
)

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00\\r\xa8f"


@pytest.mark.parametrize(
    "filename", ["orders.csv", "orders.CSV", "logs.json", "logs.ndjson", "logs.jsonl", "a.csv.gz", "access.log.gz"]
)
def test_it_accepts_allowed_extensions(filename):
    check_extension(filename)


@pytest.mark.parametrize(
    ("filename", "extension"),
    [("notes.txt", ".txt"), ("notes.txt.gz", ".txt"), ("README", ""), ("app.logs", ".logs"), ("archive.gz", "")],
)
def test_it_refuses_other_extensions_naming_the_inner_one(filename, extension):
    with pytest.raises(FormatError) as caught:
        check_extension(filename)
    assert caught.value.message == f"File extension '{extension}' not allowed"
    assert caught.value.line is None


def test_it_reads_the_real_apache_log_as_an_access_log():
    fmt = detect_format(APACHE_ACCESS_LOG.name, head_of(APACHE_ACCESS_LOG))
    assert (fmt.kind, fmt.encoding, fmt.header) == ("access_log", "utf-8", None)


def test_it_reads_a_gzipped_access_log_in_the_common_format():
    head = b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
    assert detect_format("access.log.gz", head) == FileFormat("access_log", "utf-8", compressed=True)


def test_it_refuses_a_log_file_that_is_not_an_access_log_saying_which_formats_are_taken():
    application_log = b"2024-05-01 10:00:00 INFO shop started\n2024-05-01 10:00:01 ERROR payment refused\n"
    with pytest.raises(FormatError) as caught:
        detect_format("shop.log", application_log)
    assert caught.value.message == (
        "This .log file is not a web server access log: line 1 is not in the Apache/Nginx common or combined "
        "format. Accepted are access logs in that format, CSV, JSON and NDJSON: save a spreadsheet as CSV, or "
        "export the logs as NDJSON (one JSON object per line)."
    )
    assert caught.value.line == 1


def test_an_access_log_with_a_few_broken_lines_is_still_an_access_log():
    lines = APACHE_ACCESS_LOG.read_bytes().splitlines(keepends=True)
    head = b"".join([b"-- rotated by logrotate --\n", *lines[:3]])
    assert detect_format("access.log", head).kind == "access_log"


def test_it_recognises_gzip_names():
    assert is_gzip_name("logs.ndjson.GZ")
    assert not is_gzip_name("logs.ndjson")


def test_it_reads_the_real_ecommerce_orders_as_utf8_ndjson():
    fmt = detect_format(ECOMMERCE_ORDERS.name, head_of(ECOMMERCE_ORDERS))
    assert fmt == FileFormat(kind="ndjson", encoding="utf-8", compressed=False)


def test_it_reads_the_real_web_logs_as_ndjson_when_gzipped():
    fmt = detect_format("web_access_logs.ndjson.gz", head_of(WEB_ACCESS_LOGS))
    assert (fmt.kind, fmt.compressed) == ("ndjson", True)


def test_it_reads_the_real_retail_csv_header_and_delimiter():
    fmt = detect_format(ONLINE_RETAIL_FRANCE.name, head_of(ONLINE_RETAIL_FRANCE))
    assert fmt.kind == "csv"
    assert fmt.delimiter == ","
    assert fmt.header == (
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    )


def test_it_reads_the_real_fraud_csv_with_its_24_columns():
    fmt = detect_format(FRAUD_TRANSACTIONS.name, head_of(FRAUD_TRANSACTIONS))
    assert fmt.delimiter == ","
    assert len(fmt.header) == 24
    assert fmt.header[:3] == ("EVENT_LABEL", "EVENT_TIMESTAMP", "LABEL_TIMESTAMP")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_it_sniffs_each_delimiter(delimiter):
    rows = [
        ["InvoiceNo", "Description", "InvoiceDate", "UnitPrice"],
        ["536370", "ALARM CLOCK BAKELIKE PINK", "12/1/2010 8:45", "3.75"],
        ["536370", "SET/2 RED RETROSPOT TEA TOWELS", "12/1/2010 8:45", "3.25"],
    ]
    text = "\n".join(delimiter.join(row) for row in rows) + "\n"
    fmt = detect_format("retail.csv", text.encode())
    assert fmt.delimiter == delimiter
    assert fmt.header == tuple(rows[0])


def test_it_prefers_the_semicolon_when_commas_are_decimal_marks():
    text = "Description;UnitPrice;Quantity\nALARM CLOCK;3,75;24\nTEA TOWELS;3,25;6\nMUG;1,65;12\n"
    assert detect_format("retail.csv", text.encode()).delimiter == ";"


def test_it_ignores_delimiters_inside_quoted_fields():
    text = 'name;comment\n"Dupont, Jean";"a, b, c"\n"Martin, Anne";"x, y"\n'
    fmt = detect_format("people.csv", text.encode())
    assert fmt.delimiter == ";"
    assert fmt.header == ("name", "comment")


def test_it_allows_a_single_column_csv():
    fmt = detect_format("ips.csv", b"clientip\n223.87.60.27\n130.246.123.197\n")
    assert fmt.delimiter == ","
    assert fmt.header == ("clientip",)


def test_it_names_empty_headers_and_numbers_duplicates():
    fmt = detect_format("x.csv", b" id ,,name,name,, name \n1,2,3,4,5,6\n")
    assert fmt.header == ("id", "column_2", "name", "name_2", "column_5", "name_3")


def test_it_strips_the_bom_and_reports_utf8_sig():
    fmt = detect_format("orders.csv", b"\xef\xbb\xbfInvoiceNo,Country\n536370,France\n")
    assert fmt.encoding == "utf-8-sig"
    assert fmt.header == ("InvoiceNo", "Country")


def test_it_falls_back_to_cp1252_for_a_windows_file():
    fmt = detect_format("cafe.csv", "name,price\ncafé,2.50\n€ symbol,1\n".encode("cp1252"))
    assert fmt.encoding == "cp1252"


def test_it_falls_back_to_latin1_when_cp1252_cannot_decode():
    # 0x81 is undefined in cp1252 but a control character in Latin-1.
    fmt = detect_format("cafe.csv", b"name,price\ncaf\xe9,2.50\n\x81x,1\n")
    assert fmt.encoding == "latin-1"


def test_it_keeps_utf8_when_the_head_cuts_a_character_in_half():
    head = ("name\n" + "é" * 100).encode()[:-1]
    assert detect_format("names.csv", head).encoding == "utf-8"


def test_it_refuses_an_empty_or_blank_file():
    for head in (b"", b"  \n\r\n\t", b"\xef\xbb\xbf\n"):
        with pytest.raises(FormatError, match="File is empty"):
            detect_format("empty.csv", head)


def test_it_refuses_a_png_renamed_to_csv():
    with pytest.raises(FormatError) as caught:
        detect_format("chart.csv", PNG_HEAD)
    assert caught.value.message == (
        "File is not text (binary content): save a spreadsheet as CSV, or export the logs as NDJSON "
        "(one JSON object per line)"
    )


def test_it_refuses_binary_without_nul_bytes():
    noise = bytes((i * 7919) % 256 for i in range(4096)).replace(b"\x00", b"\x01")
    with pytest.raises(FormatError, match="binary"):
        detect_format("noise.json", noise)


def test_it_tells_a_json_array_from_ndjson_by_the_first_character():
    assert detect_format("logs.json", b'\n  [{"a": 1}]').kind == "json_array"
    assert detect_format("logs.json", b'{"a": 1}\n{"a": 2}\n').kind == "ndjson"
    assert detect_format("logs.jsonl", b'[{"a": 1}]').kind == "json_array"


def test_it_refuses_json_that_does_not_start_with_an_object_giving_the_line():
    with pytest.raises(FormatError) as caught:
        detect_format("logs.ndjson", b'\n\n  "just a string"\n')
    assert caught.value.message == (
        "Line 3: not a JSON object; save a spreadsheet as CSV, or export the logs as NDJSON (one JSON object per line)"
    )
    assert caught.value.line == 3


def test_a_format_survives_a_round_trip_through_a_json_safe_dict():
    fmt = FileFormat(kind="csv", encoding="cp1252", compressed=True, delimiter=";", header=("a", "b"))
    as_dict = fmt.to_dict()
    assert as_dict["header"] == ["a", "b"]
    assert FileFormat.from_dict(as_dict) == fmt


def test_choose_encoding_keeps_utf8_for_the_real_files():
    with WEB_ACCESS_LOGS.open("rb") as stream:
        assert choose_encoding(stream, "utf-8") == "utf-8"


def test_choose_encoding_finds_cp1252_past_the_first_mebibyte():
    content = b"name,city\n" + b"Dupont,Paris\n" * 100_000 + b"Lef\xe8vre,Nancy\n"
    assert detect_format("people.csv", content[: 2**20]).encoding == "utf-8"
    assert choose_encoding(io.BytesIO(content), "utf-8") == "cp1252"


def test_choose_encoding_falls_back_to_latin1_on_undefined_cp1252_bytes():
    assert choose_encoding(io.BytesIO(b"a\n" * 10 + b"\x81\xe9\n"), "utf-8") == "latin-1"


def test_choose_encoding_reads_through_gzip():
    compressed = gzip.compress("city\nMünchen\n".encode())
    with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
        assert choose_encoding(stream, "utf-8") == "utf-8"


def test_choose_encoding_rejects_a_character_cut_at_the_end_of_the_file():
    assert choose_encoding(io.BytesIO("café".encode()[:-1]), "utf-8") == "cp1252"
