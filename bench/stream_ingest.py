"""make bench, streams: sustained events/s over _bulk from one and four senders, and send-to-searchable delay.

Senders post batches of real access-log lines to the ingest port's `/_bulk` as a shipper does (an ingest-only key
as the basic-auth password, 429 answered by waiting Retry-After and sending the batch again). Called by
bench/ingest.py with the file path's end-to-end rate of the same run; needs the product running. Asserts nothing.
"""

import http.client
import statistics
import threading
import time
import uuid
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from config.es import get_es
from uploads_app.tokens import ingest_token_create

BATCH = 500  # documents per request, as rsyslog's bulk mode or Filebeat's bulk_max_size send
STEADY_RATE = 1000  # events/s for the delay measure
STEADY_SECONDS = 30
STEADY_BATCH = 500  # the same batches, two a second at 1,000 events/s
SAMPLE_EVERY = 50  # one event in 50 is timed
POLL_SECONDS = 0.05  # how often the delay measure asks Elasticsearch; bounds the delay's error


def bulk_bodies(lines: list[bytes], *, run: str, count: int, batch: int) -> list[bytes]:
    """`count` events from the real lines, each message ending with its own marker (so none is a retry)."""
    bodies, body = [], []
    for number in range(count):
        event = orjson.loads(lines[number % len(lines)])
        event["message"] = f"{event.get('message', '')} {marker(run, number)}"
        body.append(b'{"index":{}}\n' + orjson.dumps(event) + b"\n")
        if len(body) == batch:
            bodies.append(b"".join(body))
            body = []
    if body:
        bodies.append(b"".join(body))
    return bodies


def marker(run: str, number: int) -> str:
    """One word the search analyzer keeps whole: finds exactly one event."""
    return f"m{run}x{number}"


class Sender:
    """Posts _bulk bodies to one stream like a shipper: basic auth, resend after Retry-After on 429."""

    def __init__(self, *, url: str, key: str, stream: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.path = f"{parts.path.rstrip('/')}/{stream}/_bulk"
        self.auth = "Basic " + b64encode(f"bench:{key}".encode()).decode()
        self.refused = 0

    def send(self, body: bytes) -> int:
        """Sends until accepted; returns the documents the answer says were created."""
        while True:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            headers = {"Authorization": self.auth, "Content-Type": "application/x-ndjson"}
            connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            connection.close()
            if response.status == 429:
                self.refused += 1
                time.sleep(int(response.getheader("Retry-After", "1")))
                continue
            if response.status != 200:
                raise RuntimeError(f"_bulk answered {response.status}: {answer[:300]!r}")
            items = orjson.loads(answer)["items"]
            return sum(1 for item in items if next(iter(item.values()))["status"] == 201)


def stream_counts(client, stream: str) -> dict | None:
    """The stream's counts from the API (the bench user's token), once the stream exists."""
    listing = client("/api/logs/streams")["results"]
    found = [row for row in listing if row["name"] == stream]
    return client(found[0]["status_url"])["counts"] if found else None


def wait_indexed(client, stream: str, sent: int) -> dict:
    """Polls until the stream's counters say every sent event is indexed (or accounted for otherwise)."""
    while True:
        counts = stream_counts(client, stream)
        if counts and counts["pending"] == 0 and counts["received"] >= sent:
            return counts
        time.sleep(0.25)


def sustained(bodies: list[bytes], *, senders: int, url: str, key: str, stream: str, client) -> tuple[float, dict]:
    """Events/s from the first send until the counters say indexed == sent; `senders` post side by side."""
    sender = Sender(url=url, key=key, stream=stream)
    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        sent = sum(pool.map(sender.send, bodies))
    counts = wait_indexed(client, stream, sent)
    elapsed = time.perf_counter() - started
    counts["refused_429"] = sender.refused
    return counts["indexed"] / elapsed, counts


def searchable_delays(lines: list[bytes], *, run: str, url: str, key: str, stream: str) -> list[float]:
    """Seconds from a batch's send to its marked event being found by a search, at a steady 1,000 events/s."""
    count = STEADY_RATE * STEADY_SECONDS
    bodies = bulk_bodies(lines, run=run, count=count, batch=STEADY_BATCH)
    sender = Sender(url=url, key=key, stream=stream)
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    lock = threading.Lock()
    done = threading.Event()

    def send(index: int) -> None:
        first = index * STEADY_BATCH
        with lock:
            for number in range(first, first + STEADY_BATCH, SAMPLE_EVERY):
                sent_at[marker(run, number)] = time.perf_counter()
        sender.send(bodies[index])

    def poll() -> None:
        es = get_es()
        while not (done.is_set() and len(seen_at) == len(sent_at)):
            with lock:
                waiting = [name for name in sent_at if name not in seen_at]
            if waiting:
                found = es.search(
                    index=settings.LOGS_INDEX_PREFIX,
                    query={"match": {"message": " ".join(waiting)}},
                    size=len(waiting),
                    source=["message"],
                )["hits"]["hits"]
                now = time.perf_counter()
                for hit in found:
                    seen_at.setdefault(hit["_source"]["message"].rsplit(" ", 1)[1], now)
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    interval = STEADY_BATCH / STEADY_RATE
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        sends = []
        for index in range(len(bodies)):
            time.sleep(max(0.0, started + index * interval - time.perf_counter()))
            sends.append(pool.submit(send, index))
    done.set()
    for finished in sends:
        finished.result()  # a refused request stops the bench with its answer instead of waiting for ever
    poller.join()
    return sorted(seen_at[name] - sent_at[name] for name in sent_at)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def api_client(base_url: str, token: str):
    """A GET of the platform's JSON API with the bench user's token."""
    base = urlsplit(base_url)

    def get(path: str) -> dict:
        path = urlsplit(path).path  # a status_url is absolute
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
        connection.request("GET", path, headers={"Authorization": f"Token {token}"})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {body[:300]!r}")
        return orjson.loads(body)

    return get


def main(*, data: Path, api_url: str, token: str, file_rate: float, events: int = 60_000) -> None:
    user = get_user_model().objects.get(pk=Token.objects.get(key=token).user_id)
    key = ingest_token_create(user=user)
    url = f"http://127.0.0.1:{settings.INGEST_ES_PORT}"
    client = api_client(api_url, token)
    lines = (data / "web_access_logs.ndjson").read_bytes().splitlines()
    run = uuid.uuid4().hex[:8]
    print(f"\n=== streams: _bulk on {url}, {BATCH} real access-log events per request, {events:,} per measure")
    for senders in (1, 4):
        bodies = bulk_bodies(lines, run=f"{run}s{senders}", count=events, batch=BATCH)
        rate, counts = sustained(
            bodies, senders=senders, url=url, key=key, stream=f"bench-{run}-{senders}", client=client
        )
        print(
            f"{senders} sender{'s' if senders > 1 else ''}: {rate:,.0f} events/s end to end "
            f"({rate / file_rate:.2f}x the file's {file_rate:,.0f} events/s; target >= 0.8x); "
            f"counts {orjson.dumps(counts).decode()}"
        )
    delays = searchable_delays(lines, run=f"{run}d", url=url, key=key, stream=f"bench-{run}-delay")
    print(
        f"send to searchable at {STEADY_RATE:,} events/s for {STEADY_SECONDS} s ({len(delays)} sampled events): "
        f"p50 {percentile(delays, 0.5):.2f} s, p95 {percentile(delays, 0.95):.2f} s, max {delays[-1]:.2f} s "
        "(target p95 <= 2 s)"
    )
