"""Real log shippers from Debian (rsyslog's omelasticsearch, syslog-ng's elasticsearch-http) send 3,000 lines of
the shared access log, 1% of them broken as a faulty app writes them, to the platform as to Elasticsearch, through
an outage of the platform's endpoint; every line they read is counted in the stream, once.

One scenario per shipper: part one is shipped and counted; our gunicorn stops; part two is appended to the
tailed file while it is down (the shipper must keep it and retry); gunicorn starts again on the same port; then
every good line is indexed exactly once and every broken one is dead-lettered with its reason.

scripts/shipper.sh installs the shipper a test runs (the two packages remove each other, so each test installs
its own); a machine where it cannot be installed fails the test with apt's error. The configurations are the
README's, with the test's paths, ports and key.
"""

import csv
import io
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import orjson
import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import wait_until
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines
from tests.uploads_app.test_ingest_api import count_stream, stream_documents
from tests.webserver import gunicorn
from uploads_app.tokens import ingest_token_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shippers]
ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "var" / "log"
GOOD_LINES = 3000
BROKEN_EVERY = 100  # 1% of the lines are broken

RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="imfile")
module(load="omelasticsearch")
# The file's lines go to the platform through a ruleset of their own: rsyslog's own messages never do.
input(type="imfile" File="{log}" Tag="shop" ruleset="to-platform")
template(name="as-is" type="string" string="%msg%")
ruleset(name="to-platform") {{
  action(type="omelasticsearch" server="127.0.0.1" serverport="{port}" searchIndex="shop-web"
         esVersion.major="8" bulkmode="on" maxbytes="8m" uid="rsyslog" pwd="{key}" template="as-is"
         errorFile="{work}/platform-errors.json"
         action.resumeRetryCount="-1" action.resumeInterval="5"
         queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="100")
}}
"""

SYSLOG_NG_CONF = """@version: 3.38
@include "scl.conf"
source s_shop {{ file("{log}" flags(no-parse)); }};
destination d_platform {{
  elasticsearch-http(
    url("http://127.0.0.1:{port}/api/ingest/es/_bulk")
    index("shop-syslog") type("")
    user("syslog-ng") password("{key}")
    template("${{MESSAGE}}")
    time-reopen(5)
    disk-buffer(reliable(yes) disk-buf-size(104857600) dir("{work}"))
  );
}};
log {{ source(s_shop); destination(d_platform); }};
"""


def install(shipper: str) -> None:
    done = subprocess.run(
        ["bash", "scripts/shipper.sh", "install", shipper], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        pytest.fail(f"could not install {shipper}: {done.stderr.strip()[-2000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(command: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """The shipper in the foreground, its output in `log`; stopped at the end."""
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=20)


def broken_line(number: int, good: bytes) -> bytes:
    """A line a faulty app writes instead of an event: plain text, a JSON event cut short, or a JSON array."""
    kind = number % 3
    if kind == 0:
        return f"Traceback (most recent call last): worker {number} lost its logger".encode()
    if kind == 1:
        return good[: len(good) // 2]
    return f'["GET /opensearch", 200, {number}]'.encode()


def shipped_lines(start: int) -> tuple[list[bytes], list[bytes]]:
    """GOOD_LINES real access-log lines (from line `start` of the shared file) with a broken line after every
    BROKEN_EVERY of them; and the broken lines alone."""
    good = data_lines(WEB_ACCESS_LOGS.name, start + GOOD_LINES).splitlines()[start:]
    lines, broken = [], []
    for number, line in enumerate(good, start=1):
        lines.append(line)
        if number % BROKEN_EVERY == 0:
            broken.append(broken_line(number, line))
            lines.append(broken[-1])
    return lines, broken


def append(path: Path, lines: list[bytes]) -> None:
    with path.open("ab") as tailed:
        tailed.write(b"".join(line + b"\n" for line in lines))


def reader(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def settled_stream(client: APIClient, name: str, shipper: subprocess.Popen, lines: int) -> dict | None:
    """The stream once `lines` lines have arrived and nothing is pending (the shipper still runs)."""
    assert shipper.poll() is None, "the shipper stopped: see its log"
    streams = [stream for stream in client.get("/api/logs/streams").json()["results"] if stream["name"] == name]
    if not streams:
        return None
    counts = client.get(streams[0]["status_url"]).json()
    return counts if counts["counts"]["received"] >= lines and counts["counts"]["pending"] == 0 else None


def ship_through_an_outage(
    *,
    client: APIClient,
    stream: str,
    lines: list[bytes],
    log: Path,
    server: Callable[[], AbstractContextManager],
    shipper: AbstractContextManager[subprocess.Popen],
    output: Path,
    failed: str,
) -> dict:
    """Part one shipped and counted, part two written while our endpoint is down, then delivered after it."""
    half = len(lines) // 2
    append(log, lines[:half])
    with ExitStack() as shipping:
        with server():
            process = shipping.enter_context(shipper)
            wait_until(lambda: settled_stream(client, stream, process, half), attempts=1200)
        outage_starts = output.stat().st_size
        append(log, lines[half:])
        # The shipper has read part two and failed to send it: it must keep it and try again.
        wait_until(lambda: failed in output.read_text(errors="replace")[outage_starts:], attempts=600)
        assert process.poll() is None, "the shipper stopped during the outage"
        with server():
            settled = wait_until(lambda: settled_stream(client, stream, process, len(lines)), attempts=1800)
        assert process.poll() is None
    return settled


def dead_letters(user, stream_id: str) -> list[list[str]]:
    """The stream's rejected lines as its page's CSV download gives them (rows after the header)."""
    browser = Client()
    browser.force_login(user)
    response = browser.get(f"/streams/{stream_id}/dead-letters.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["received_at", "line", "reason", "raw"]
    return rows[1:]


def assert_every_line_counted_once(stream: dict, lines: list[bytes], broken: list[bytes], user) -> None:
    """Received = indexed + dead-lettered + fallback, exactly; each good line indexed once as it was sent, each
    broken one dead-lettered with why."""
    counts = stream["counts"]
    assert counts["received"] == len(lines) == GOOD_LINES + len(broken)
    assert counts["received"] == counts["indexed"] + counts["dead_lettered"] + counts["fallback"]
    assert (counts["indexed"], counts["dead_lettered"], counts["fallback"]) == (GOOD_LINES, len(broken), 0)
    assert count_stream(stream["stream_id"]) == GOOD_LINES  # no duplicate documents after the retries
    sent = [orjson.loads(line) for line in lines if line not in broken]
    documents = stream_documents(stream["stream_id"], GOOD_LINES + 1)
    assert sorted(document["message"] for document in documents) == sorted(event["message"] for event in sent)
    # Each event as the access log has it: its own time and client, the stream's name and type.
    first = next(document for document in documents if document["message"] == sent[0]["message"])
    assert (first["clientip"], first["@timestamp"]) == (sent[0]["clientip"], sent[0]["timestamp"])
    assert first["stream"] == stream["name"]
    rejected = dead_letters(user, stream["stream_id"])
    assert sorted(row[3] for row in rejected) == sorted(line.decode() for line in broken)
    for raw, reason in ((row[3], row[2]) for row in rejected):
        assert reason.startswith("Not a JSON object" if raw.startswith("[") else "Not valid JSON (")


def test_rsyslog_ships_thousands_of_lines_to_the_ingest_port_through_an_outage(celery_worker, user, tmp_path):
    install("rsyslog")
    key, port, client = ingest_token_create(user=user), free_port(), reader(user)
    lines, broken = shipped_lines(0)
    log, output = tmp_path / "access.json", LOGS / "test-shipper-rsyslog.log"
    log.touch()
    (tmp_path / "work").mkdir()
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(RSYSLOG_CONF.format(work=tmp_path / "work", log=log, port=port, key=key))
    command = ["rsyslogd", "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslog.pid")]

    stream = ship_through_an_outage(
        client=client,
        stream="shop-web",
        lines=lines,
        log=log,
        server=lambda: gunicorn(port, log_name="test-shipper-ingest-port", app="config.ingest_wsgi", ready_path="/"),
        shipper=running(command, output),
        output=output,
        failed="suspending ourselfs due to server failure",
    )

    assert_every_line_counted_once(stream, lines, broken, user)


def test_syslog_ng_ships_thousands_of_lines_to_the_bulk_path_through_an_outage(celery_worker, user, tmp_path):
    install("syslog-ng")
    key, port, client = ingest_token_create(user=user), free_port(), reader(user)
    lines, broken = shipped_lines(GOOD_LINES)
    log, output = tmp_path / "access.json", LOGS / "test-shipper-syslog-ng.log"
    log.touch()
    (tmp_path / "work").mkdir()
    conf = tmp_path / "syslog-ng.conf"
    conf.write_text(SYSLOG_NG_CONF.format(log=log, port=port, key=key, work=tmp_path / "work"))
    command = ["syslog-ng", "-F", "-e", "-f", str(conf), "-R", str(tmp_path / "persist"), "-p", str(tmp_path / "pid")]
    command += ["-c", str(tmp_path / "ctl")]

    stream = ship_through_an_outage(
        client=client,
        stream="shop-syslog",
        lines=lines,
        log=log,
        server=lambda: gunicorn(port, log_name="test-shipper-web"),
        shipper=running(command, output),
        output=output,
        failed="error sending HTTP request",
    )

    assert_every_line_counted_once(stream, lines, broken, user)
