import gzip
import io
import random
from itertools import pairwise

import pytest

from ingestion.chunking import Chunk, count_records, plan_chunks, write_plain_copy
from ingestion.formats import FileFormat, detect_format
from ingestion.parsers import csv as csv_parser
from ingestion.parsers import ndjson
from tests.datafiles import RECORD_COUNTS, head_of

SMALL_CHUNK = 64 * 1024


def parse_all(path, fmt, target_bytes):
    """Every row the parsers yield when the file is cut into chunks of about `target_bytes`."""
    data = path.read_bytes()
    rows = []
    for chunk in chunks_of(str(path), fmt, target_bytes):
        piece = data[chunk.start : chunk.end]
        if fmt.kind == "csv":
            rows.extend(csv_parser.parse_chunk(piece, fmt, chunk.first_line, skip_header=chunk.start == 0))
        else:
            rows.extend(ndjson.parse_chunk(piece, fmt.encoding, chunk.first_line))
    return rows


def count_in(path, fmt):
    with open(path, "rb") as stream:
        return count_records(stream, fmt)


def chunks_of(path, fmt, *target_bytes):
    with open(path, "rb") as stream:
        return plan_chunks(stream, fmt, *target_bytes)


def plain_copy(source, fmt, dest):
    with dest.open("wb") as out:
        return write_plain_copy(source, fmt, out)


def write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("path", list(RECORD_COUNTS), ids=lambda path: path.name)
def test_it_counts_the_records_of_each_real_file(path):
    assert count_in(str(path), detect_format(path.name, head_of(path))) == RECORD_COUNTS[path]


@pytest.mark.parametrize("path", list(RECORD_COUNTS), ids=lambda path: path.name)
def test_small_chunks_of_each_real_file_yield_every_line_exactly_once(path):
    fmt = detect_format(path.name, head_of(path))
    rows = parse_all(path, fmt, SMALL_CHUNK)
    numbers = [row[0] for row in rows]
    first = 2 if fmt.kind == "csv" else 1
    assert numbers == list(range(first, first + RECORD_COUNTS[path]))
    assert all(error is None for _, _, error, _ in rows)


@pytest.mark.parametrize("path", list(RECORD_COUNTS), ids=lambda path: path.name)
def test_chunks_of_each_real_file_are_contiguous_and_cover_it(path):
    chunks = chunks_of(str(path), detect_format(path.name, head_of(path)), SMALL_CHUNK)
    assert len(chunks) > 5
    assert chunks[0].start == 0
    assert chunks[0].first_line == 1
    assert chunks[-1].end == path.stat().st_size
    assert [chunk.number for chunk in chunks] == list(range(len(chunks)))
    assert all(left.end == right.start for left, right in pairwise(chunks))


def test_a_file_smaller_than_the_target_is_one_chunk(tmp_path):
    path = write(tmp_path, "a.ndjson", b'{"a": 1}\n{"a": 2}\n')
    assert chunks_of(str(path), FileFormat(kind="ndjson", encoding="utf-8")) == [Chunk(0, 0, 18, 1)]


def test_an_empty_file_has_no_chunks_and_no_records(tmp_path):
    path = write(tmp_path, "a.ndjson", b"")
    fmt = FileFormat(kind="ndjson", encoding="utf-8")
    assert chunks_of(str(path), fmt) == []
    assert count_in(str(path), fmt) == 0


def test_ndjson_counts_a_final_line_without_newline_but_not_a_trailing_newline(tmp_path):
    fmt = FileFormat(kind="ndjson", encoding="utf-8")
    assert count_in(str(write(tmp_path, "a.ndjson", b'{"a":1}\n\n{"a":2}')), fmt) == 3
    assert count_in(str(write(tmp_path, "b.ndjson", b'{"a":1}\n\n{"a":2}\n')), fmt) == 3


def test_quoted_newlines_never_split_a_csv_record_across_chunks(tmp_path):
    record = '{n},"line one\nline two, with ""quotes""\nline three",{n}.5\n'
    content = "id,comment,price\n" + "".join(record.format(n=n) for n in range(200))
    path = write(tmp_path, "notes.csv", content.encode())
    fmt = detect_format(path.name, head_of(path))
    rows = parse_all(path, fmt, target_bytes=7)
    assert [row[0] for row in rows] == list(range(2, 2 + 3 * 200, 3))
    assert rows[10][1] == {"id": "10", "comment": 'line one\nline two, with "quotes"\nline three', "price": "10.5"}
    assert count_in(str(path), fmt) == 200


def test_csv_counting_agrees_with_the_parser_on_messy_quoting(tmp_path):
    generator = random.Random(20161201)
    pieces = ['12" RECORD', '"quoted, with comma"', '"multi\nline"', '"a ""b"" c"', "plain", "", 'x"y', '"unclosed\n']
    lines = ["a,b,c"]
    for _ in range(400):
        lines.append(",".join(generator.choice(pieces[:-1]) for _ in range(3)))
    content = ("\r\n".join(lines) + "\n\n" + 'last,"unclosed\nfield').encode()
    path = write(tmp_path, "messy.csv", content)
    fmt = detect_format(path.name, content)
    whole = list(csv_parser.parse_chunk(content, fmt, 1, skip_header=True))
    for target in (1, 50, 4096):
        assert [row[0] for row in parse_all(path, fmt, target)] == [row[0] for row in whole]
    assert count_in(str(path), fmt) == len(whole)


def test_a_csv_with_only_a_header_has_no_records(tmp_path):
    path = write(tmp_path, "empty.csv", b"InvoiceNo,Country")
    assert count_in(str(path), detect_format(path.name, b"InvoiceNo,Country")) == 0


def test_a_chunk_survives_a_round_trip_through_a_json_safe_dict():
    chunk = Chunk(number=3, start=8_388_608, end=16_777_300, first_line=40_001)
    assert Chunk.from_dict(chunk.to_dict()) == chunk


def test_a_json_array_becomes_ndjson_with_one_line_per_element(tmp_path):
    content = b'[{"order_id": 584677, "price": 11.99}, 42, {"order_id": 584678}]'
    fmt = detect_format("orders.json", content)
    dest = tmp_path / "plain.ndjson"
    plain = plain_copy(io.BytesIO(content), fmt, dest)
    assert plain == FileFormat(kind="ndjson", encoding="utf-8", compressed=False)
    assert dest.read_bytes() == b'{"order_id":584677,"price":11.99}\n42\n{"order_id":584678}\n'
    rows = list(ndjson.parse_chunk(dest.read_bytes(), plain.encoding, 1))
    assert [row[2] for row in rows] == [None, "Not a JSON object (got number)", None]
    assert count_in(str(dest), plain) == 3


def test_a_broken_gzipped_json_array_keeps_every_element_and_explains_the_break(tmp_path):
    content = gzip.compress(b'[{"a": 1}, {"a": 2}, {"a": oops}]')
    source = write(tmp_path, "upload.json.gz", content)
    fmt = detect_format("upload.json.gz", gzip.decompress(content))
    assert count_in(str(source), fmt) == 3
    dest = tmp_path / "plain.ndjson"
    with source.open("rb") as stream:
        plain = plain_copy(stream, fmt, dest)
    rows = list(ndjson.parse_chunk(dest.read_bytes(), plain.encoding, 1))
    assert [row[0] for row in rows] == [1, 2, 3]
    assert rows[2][2] == "Invalid JSON array at element 3: lexical error: invalid char in json text."


def test_a_gzip_source_that_is_already_decompressed_is_copied_as_is(tmp_path):
    content = b"InvoiceNo,Country\n536370,France\n"
    fmt = detect_format("orders.csv.gz", content)
    dest = tmp_path / "plain.csv"
    with gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(content))) as decompressed:
        plain = plain_copy(decompressed, fmt, dest)
    assert dest.read_bytes() == content
    assert plain.compressed is False
    assert plain.header == ("InvoiceNo", "Country")


def test_a_gzipped_ndjson_upload_is_decompressed_into_the_copy(tmp_path):
    content = b'{"a": 1}\n{"a": 2}\n'
    fmt = detect_format("logs.ndjson.gz", content)
    dest = tmp_path / "plain.ndjson"
    plain_copy(io.BytesIO(gzip.compress(content)), fmt, dest)
    assert dest.read_bytes() == content


def test_plan_chunks_refuses_a_json_array():
    with pytest.raises(ValueError, match="plain CSV, NDJSON or access-log file"):
        plan_chunks("/nonexistent", FileFormat(kind="json_array", encoding="utf-8"))
