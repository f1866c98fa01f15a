"""Parsers turn slices of an upload into rows: every record comes out parsed or explained."""

# (line_number, record, error_reason, raw_text): a record, or None with a reason, or None and no
# reason for a blank line (counted as skipped, not as an error).
Row = tuple[int, dict | None, str | None, str]
