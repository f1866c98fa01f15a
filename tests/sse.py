"""A Server-Sent Events client for tests: reads a real server's stream event by event, as EventSource does."""

import http.client
from collections.abc import Iterator

import orjson


class EventStream:
    """GET `path` on 127.0.0.1:`port` and read its events; a read waits at most `timeout` seconds (a bound, so a
    missing event fails the test instead of hanging it)."""

    def __init__(self, port: int, path: str, *, headers: dict[str, str], timeout: float = 60) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream", **headers})
        self.response = self.connection.getresponse()
        self.last_event_id: str | None = None  # as EventSource keeps it: set by every id line, data or not
        self.comments = 0

    @property
    def status(self) -> int:
        return self.response.status

    def json(self) -> dict:
        return orjson.loads(self.response.read())

    def blocks(self) -> Iterator[dict[str, str]]:
        """Each block of fields up to its blank line (comments counted, not kept), until the server ends the stream."""
        block: dict[str, str] = {}
        while raw := self.response.readline():
            line = raw.decode().rstrip("\r\n")
            if line.startswith(":"):
                self.comments += 1
            elif line:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                block[name] = f"{block[name]}\n{value}" if name == "data" and name in block else value
                if name == "id":
                    self.last_event_id = value
            elif block:
                yield block
                block = {}

    def events(self) -> Iterator[dict]:
        """Each event's JSON data, in order, until the server ends the stream."""
        for block in self.blocks():
            if "data" in block:
                yield orjson.loads(block["data"])

    def take(self, count: int) -> list[dict]:
        """The next `count` events (fewer only if the server ends the stream first)."""
        taken = []
        for event in self.events():
            taken.append(event)
            if len(taken) == count:
                break
        return taken

    def close(self) -> None:
        self.connection.close()
