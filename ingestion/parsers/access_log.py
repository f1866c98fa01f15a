"""Web server access-log parser: the Apache/Nginx common and combined formats, one request per line."""

import re
from collections.abc import Iterator

from ingestion.parsers import Row

# A quoted field as Apache (\") and Nginx (\x22) write it: any character but a bare quote.
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
# %h %l %u [%t] "%r" %>s %b, then for the combined format "%{Referer}i" "%{User-agent}i"; some setups add
# further quoted fields (Nginx's "$http_x_forwarded_for"), which are read past.
ACCESS_LINE = re.compile(
    r"(\S+) \S+ (\S+) \[([^\]]+)\] " + _QUOTED + r" (\d{3}) (\d+|-)"
    r"(?: " + _QUOTED + " " + _QUOTED + r"(?: " + _QUOTED + r")*)?[ \t\r]*"
)
_BARE_QUOTE = re.compile(r'(?<!\\)"')
FORMAT_NAMES = "the Apache/Nginx common or combined format"
_SHAPE = 'IP, identity, user, [time], "request", status, bytes, then "referrer" "user agent" in the combined format'


def parse_line(line: str) -> dict | None:
    """The request of one access-log line, in the fields named ip, timestamp, method, url, status, bytes,
    referrer and user_agent (with protocol, and user when one signed in); None when the line is not one."""
    match = ACCESS_LINE.fullmatch(line)
    if match is None:
        return None
    ip, user, timestamp, request, status, size, referrer, agent = match.groups()[:8]
    record: dict = {"ip": ip, "timestamp": timestamp}
    method, _, target = request.partition(" ")
    url, space, protocol = target.rpartition(" ")
    if not space or not protocol.startswith("HTTP/"):
        url, protocol = target, ""
    if method.isalpha() and url:
        record.update(method=method, url=url)
        if protocol:
            record["protocol"] = protocol
    elif request and request != "-":
        record["request"] = request  # not a method and a path (a probe, a bare TLS handshake): kept as sent
    record["status"] = int(status)
    record["bytes"] = 0 if size == "-" else int(size)
    # '-' is how the format writes "none"; leaving it out keeps the index free of empty values, as for CSV.
    for name, value in (("user", user), ("referrer", referrer), ("user_agent", agent)):
        if value and value != "-":
            record[name] = value
    return record


def not_an_access_line_reason(line: str) -> str:
    if len(_BARE_QUOTE.findall(line)) % 2:
        return (
            f"Not an access-log line in {FORMAT_NAMES}: a quoted field (request, referrer or user agent) is not closed"
        )
    return f"Not an access-log line in {FORMAT_NAMES} (expected {_SHAPE})"


def parse_chunk(data: bytes, encoding: str, first_line: int) -> Iterator[Row]:
    """Rows for a line-aligned slice of an access log whose first line is number `first_line`."""
    text = data.decode(encoding, "replace").lstrip("\ufeff")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=first_line):
        line = line.removesuffix("\r")
        if not line.strip():
            yield number, None, None, ""
            continue
        record = parse_line(line)
        if record is None:
            yield number, None, not_an_access_line_reason(line), line
        else:
            yield number, record, None, line
