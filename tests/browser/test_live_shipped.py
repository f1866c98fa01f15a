"""The live page in a real browser shows a line a real log shipper sends after the page was opened, newest first.

The shipper is Debian's syslog-ng with the README's `elasticsearch-http()` configuration (tests/uploads_app/
test_shippers.py's, reused), tailing a file of real access-log lines and posting them to the `_bulk` endpoint
under `/api/ingest/es/` with an ingest-only key as its basic-auth password. syslog-ng rather than rsyslog because
rsyslog needs the ingest port's second gunicorn (no URL path), and the two packages remove each other: this test
installs syslog-ng only when it is missing.
"""

from urllib.parse import urlsplit

import orjson
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.datafiles import WEB_ACCESS_LOGS
from tests.helpers import data_lines
from tests.uploads_app.test_shippers import ROOT, SYSLOG_NG_CONF, install, running
from uploads_app.tokens import ingest_token_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shippers]
SHIPPED_TIMEOUT = 60_000  # ms: the shipper's file poll, the worker and a refresh; a bound, not a speed check
STREAM = "shop-syslog"  # the index() of the README's syslog-ng configuration
FIRST_LINES = 5
START = 3000  # a slice of the shared file of its own


def access_lines(count: int) -> list[bytes]:
    """`count` real access-log lines from line START of the shared file."""
    return data_lines(WEB_ACCESS_LOGS.name, START + count).splitlines(keepends=True)[START:]


def shown_message(line: bytes) -> str:
    """The part of the line's message the page shows (a row keeps 140 characters of a field)."""
    return orjson.loads(line)["message"][:140]


def test_a_line_a_shipper_sends_after_the_page_opened_appears_on_top(
    page: Page, live_server, celery_worker, member, tmp_path
):
    install("syslog-ng")
    lines = access_lines(FIRST_LINES + 1)
    newest = shown_message(lines[FIRST_LINES])
    log = tmp_path / "access.json"
    log.write_bytes(b"".join(lines[:FIRST_LINES]))
    conf = tmp_path / "syslog-ng.conf"
    # The test server's own port: syslog-ng posts to its /api/ingest/es/_bulk.
    port = urlsplit(live_server.url).port
    (tmp_path / "work").mkdir()
    key = ingest_token_create(user=member)
    conf.write_text(SYSLOG_NG_CONF.format(log=log, port=port, key=key, work=tmp_path / "work"))
    sign_in(page, "maria")
    page.goto(f"/live/?stream={STREAM}")
    expect(page.locator("#live-state")).to_have_text("Live: new events appear below as they are indexed.")
    expect(page.locator("#live-empty")).to_be_visible()
    rows = page.locator("#live-events > li")
    command = ["syslog-ng", "-F", "-f", str(conf), "-R", str(tmp_path / "persist"), "-p", str(tmp_path / "pid")]
    command += ["-c", str(tmp_path / "ctl")]

    with running(command, ROOT / "var" / "log" / "test-live-syslog-ng.log"):
        expect(rows).to_have_count(FIRST_LINES, timeout=SHIPPED_TIMEOUT)
        with log.open("ab") as tailed:
            tailed.write(lines[FIRST_LINES])

        expect(rows.first).to_contain_text(newest, timeout=SHIPPED_TIMEOUT)

    expect(rows).to_have_count(FIRST_LINES + 1)
    expect(rows.filter(has_text=newest)).to_have_count(1)
    for line in lines[:FIRST_LINES]:
        expect(rows.filter(has_text=shown_message(line))).to_have_count(1)
    screenshot(page, "live-shipped")
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "live-shipped-375")
