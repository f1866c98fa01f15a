"""Real receivers on loopback for the notification tests: an HTTP server and an SMTP server.

The HTTP receiver verifies each request's Standard Webhooks signature with the spec's own library
(`standardwebhooks`), records what it got, and answers from a script: a status, a pause longer than the
sender's read timeout, a redirect, or a body far larger than the sender may read.
"""

import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.conftest import wait_until


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # Which of the receiver's secrets verified the signature (indexes into `secrets`).
    verified_by: list[int] = field(default_factory=list)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass(frozen=True)
class Pause:
    """Answer 200, but only after this many seconds (longer than the sender waits)."""

    seconds: float


@dataclass(frozen=True)
class Redirect:
    location: str
    status: int = 302


@dataclass(frozen=True)
class Huge:
    """Answer 200 with a body of this many bytes, and record how many the sender let us write."""

    size: int


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 (a free port) that records POSTs and answers from a script."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list = []
        self.secrets: list[str] = []
        self.huge_written = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "HttpReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer_with(self, *answers) -> None:
        """The next requests' answers in order (an int is a status); after them, 200."""
        with self._lock:
            self.script = list(answers)

    def wait_for(self, count: int, *, attempts: int = 600) -> list[Received]:
        wait_until(lambda: len(self.received) >= count, attempts=attempts)
        return self.received

    def _verify(self, body: bytes, headers: dict[str, str]) -> list[int]:
        verified = []
        for number, secret in enumerate(self.secrets):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(number)
        return verified

    def _next_answer(self):
        with self._lock:
            return self.script.pop(0) if self.script else 200

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = receiver._next_answer()
                receiver.received.append(Received(self.path, headers, body, receiver._verify(body, headers)))
                if isinstance(answer, Pause):
                    time.sleep(answer.seconds)
                    self._reply(200, b"late")
                elif isinstance(answer, Redirect):
                    self.send_response(answer.status)
                    self.send_header("Location", answer.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif isinstance(answer, Huge):
                    self._reply_huge(answer.size)
                else:
                    self._reply(answer, f"answer {answer}".encode())

            def _reply(self, status: int, content: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass  # the sender stopped waiting

            def _reply_huge(self, size: int) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                block = b"x" * 65536
                try:
                    while receiver.huge_written < size:
                        self.wfile.write(block)
                        receiver.huge_written += len(block)
                except OSError:
                    pass  # the sender closed the connection after reading its cap

        return Handler


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on the port the settings send to; it keeps every message it accepts."""

    def __init__(self, port: int) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpReceiver":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int) -> list[email.message.EmailMessage]:
        wait_until(lambda: len(self.messages) >= count)
        return self.messages
