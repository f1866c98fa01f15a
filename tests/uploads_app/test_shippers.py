"""Real log shippers from Debian (rsyslog's omelasticsearch, syslog-ng's elasticsearch-http) send a slice of the
shared access log to the platform as to Elasticsearch; every line they read is counted in the stream.

scripts/shipper.sh installs the shipper a test runs (the two packages remove each other, so each test installs
its own); a machine where it cannot be installed fails the test with apt's error. The configurations are the
README's, with the test's paths, ports and key.
"""

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
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
LINES = 500

RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="imfile")
module(load="omelasticsearch")
input(type="imfile" File="{log}" Tag="shop")
template(name="as-is" type="string" string="%msg%")
action(type="omelasticsearch" server="127.0.0.1" serverport="{port}" searchIndex="shop-web"
       esVersion.major="8" bulkmode="on" uid="rsyslog" pwd="{key}" template="as-is"
       action.resumeRetryCount="-1")
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


def access_log(folder: Path, start: int) -> Path:
    """A file of LINES real access-log lines (from line `start` of the shared file), as a shipper would tail."""
    path = folder / "access.json"
    path.write_bytes(b"".join(data_lines(WEB_ACCESS_LOGS.name, start + LINES).splitlines(keepends=True)[start:]))
    return path


def reader(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def settled_stream(client: APIClient, name: str, shipper: subprocess.Popen) -> dict | None:
    """The stream once every line the shipper read has arrived and nothing is pending (the shipper still runs)."""
    assert shipper.poll() is None, "the shipper stopped: see its log"
    streams = [stream for stream in client.get("/api/logs/streams").json()["results"] if stream["name"] == name]
    if not streams:
        return None
    counts = client.get(streams[0]["status_url"]).json()
    return counts if counts["counts"]["received"] >= LINES and counts["counts"]["pending"] == 0 else None


def assert_every_line_counted(stream: dict, log: Path) -> None:
    """Received = indexed + dead-lettered + fallback, exactly; here every line is indexed, each as it was sent."""
    counts = stream["counts"]
    assert counts["received"] == LINES
    assert counts["received"] == counts["indexed"] + counts["dead_lettered"] + counts["fallback"]
    assert counts["indexed"] == LINES
    assert count_stream(stream["stream_id"]) == LINES
    sent = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    documents = stream_documents(stream["stream_id"], LINES)
    assert sorted(document["message"] for document in documents) == sorted(event["message"] for event in sent)
    # Each event as the access log has it: its own time and client, the stream's name and type.
    first = next(document for document in documents if document["message"] == sent[0]["message"])
    assert (first["clientip"], first["@timestamp"]) == (sent[0]["clientip"], sent[0]["timestamp"])
    assert first["stream"] == stream["name"]


def test_rsyslog_ships_the_access_log_to_the_ingest_port(celery_worker, user, tmp_path):
    install("rsyslog")
    key, port, client = ingest_token_create(user=user), free_port(), reader(user)
    log = access_log(tmp_path, 0)
    (tmp_path / "work").mkdir()
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(RSYSLOG_CONF.format(work=tmp_path / "work", log=log, port=port, key=key))
    command = ["rsyslogd", "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslog.pid")]

    with (
        gunicorn(port, log_name="test-shipper-ingest-port", app="config.ingest_wsgi", ready_path="/"),
        running(command, ROOT / "var" / "log" / "test-shipper-rsyslog.log") as shipper,
    ):
        stream = wait_until(lambda: settled_stream(client, "shop-web", shipper), attempts=1200)

    assert_every_line_counted(stream, log)


def test_syslog_ng_ships_the_access_log_to_the_bulk_path(celery_worker, user, tmp_path):
    install("syslog-ng")
    key, port, client = ingest_token_create(user=user), free_port(), reader(user)
    log = access_log(tmp_path, LINES)
    conf = tmp_path / "syslog-ng.conf"
    conf.write_text(SYSLOG_NG_CONF.format(log=log, port=port, key=key))
    command = ["syslog-ng", "-F", "-f", str(conf), "-R", str(tmp_path / "persist"), "-p", str(tmp_path / "pid")]
    command += ["-c", str(tmp_path / "ctl")]

    with (
        gunicorn(port, log_name="test-shipper-web"),
        running(command, ROOT / "var" / "log" / "test-shipper-syslog-ng.log") as shipper,
    ):
        stream = wait_until(lambda: settled_stream(client, "shop-syslog", shipper), attempts=1200)

    assert_every_line_counted(stream, log)
