"""CSV cells are neutralised against spreadsheet formula injection."""

import pytest

from config.spreadsheets import csv_lines, neutralize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("Invalid JSON", "Invalid JSON"),
        (42, "42"),
        (-15.9, "-15.9"),
        ("-12311.21", "'-12311.21"),
        ("-1+1", "'-1+1"),
        (None, ""),
    ],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote_and_numbers_stay_numbers(value, expected):
    assert neutralize(value) == expected


def test_csv_lines_neutralize_header_and_rows_and_quote_what_needs_it():
    lines = list(csv_lines(["line", "raw", "@risk"], [(3, '=1+1, "quoted"', 1), (4, "ok", 2)]))

    assert lines == ["line,raw,'@risk\r\n", '3,"\'=1+1, ""quoted""",1\r\n', "4,ok,2\r\n"]


def test_our_own_header_names_are_written_as_they_are_and_a_files_column_names_are_neutralized():
    header = next(csv_lines(["@timestamp", "=cmd", "@timestamp2"], [], own_names={"@timestamp"}))

    assert header == "@timestamp,'=cmd,'@timestamp2\r\n"
