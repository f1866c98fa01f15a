"""Guarding request bodies before Django reads a byte of them, and cleaning up after any refusal.

An over-limit upload is refused from its Content-Length alone; a chunked one (no length) is refused
too, since Django cannot stream it; a body that stalls times out instead of holding a thread. The ingest
endpoints do the same with their own limit (INGEST_MAX_REQUEST_MB), answering in the caller's format
(Elasticsearch's under /api/ingest/es/). Any other URL refuses a body larger than its form data may be
(DATA_UPLOAD_MAX_MEMORY_SIZE plus the multipart framing). gunicorn runs with keep-alive off, so a refused
body is never read: the connection just closes.

IngestOnlyTokenMiddleware refuses (401) a page request that carries an ingest-only token: such a key may
send events and nothing else.
"""

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.urls import reverse

from uploads_app import es_format
from uploads_app.tokens import is_ingest_only, key_from_api_key, key_from_basic

INGEST_PATH = "/api/ingest"
# Room for the multipart framing and the small form fields around the file.
MULTIPART_SLACK = 1 << 20


def _refusal(message: str, status: int) -> JsonResponse:
    return JsonResponse({"success": False, "error": message}, status=status)


def _too_large(request: HttpRequest) -> HttpResponse | None:
    """413 for a body over the form-data limit (not an upload): JSON on the API, a plain sentence elsewhere."""
    length = request.META.get("CONTENT_LENGTH") or ""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MULTIPART_SLACK
    if not length.isdigit() or int(length) <= limit:
        return None
    message = f"Request body exceeds {limit // 2**20} MB limit; files are uploaded with POST /api/logs/upload"
    if request.path.startswith("/api/"):
        return _refusal(message, 413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class UploadGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == reverse("upload-create"):
            refusal = self._check_length(request)
            if refusal is not None:
                return refusal
            self._limit_idle_time(request)
        elif request.path == INGEST_PATH or request.path.startswith(INGEST_PATH + "/"):
            refusal = self._check_ingest_length(request)
            if refusal is not None:
                return refusal
            self._limit_idle_time(request)
        elif refusal := _too_large(request):
            return refusal
        try:
            return self.get_response(request)
        except TimeoutError:
            return _refusal(
                f"The upload stalled: no data for {settings.LOGS_UPLOAD_IDLE_SECONDS} s, so it was dropped", 408
            )
        finally:
            # Whatever the outcome, temporary files of this request that were not stored are removed.
            for path in getattr(request, "incoming_paths", ()):
                Path(path).unlink(missing_ok=True)
            for upload in getattr(request, "incoming_uploads", ()):
                upload.discard()  # an upload a job keeps stays

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Django reports a body read that timed out as UnreadablePostError (an OSError); say what happened.
        if isinstance(exception, UnreadablePostError | TimeoutError):
            return _refusal(
                f"The upload stalled: no data for {settings.LOGS_UPLOAD_IDLE_SECONDS} s, so it was dropped", 408
            )
        return None

    @staticmethod
    def _check_length(request: HttpRequest) -> JsonResponse | None:
        length = request.META.get("CONTENT_LENGTH") or ""
        if not length.isdigit():
            if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
                return _refusal("Send the file with a Content-Length header; chunked uploads are not accepted", 411)
            return None
        if int(length) > settings.LOGS_MAX_UPLOAD_MB * 2**20 + MULTIPART_SLACK:
            return _refusal(f"File size exceeds {settings.LOGS_MAX_UPLOAD_MB} MB limit", 413)
        return None

    @staticmethod
    def _check_ingest_length(request: HttpRequest) -> HttpResponse | None:
        """The ingest endpoints' own limit, before a byte is read (a gzip body's inflated size is bounded as read)."""
        length = request.META.get("CONTENT_LENGTH") or ""
        limit = settings.INGEST_MAX_REQUEST_MB
        if length.isdigit() and int(length) > limit * 2**20:
            status, message = 413, f"The request body exceeds {limit} MB; send smaller batches"
        elif not length.isdigit() and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            status, message = 411, "Send the body with a Content-Length header; chunked bodies are not accepted"
        else:
            return None
        if es_format.is_es_path(request):
            return es_format.error_response(status, message)
        return _refusal(message, status)

    @staticmethod
    def _limit_idle_time(request: HttpRequest) -> None:
        # gunicorn hands its socket over; other servers (tests, runserver) simply keep their own behaviour.
        connection = request.META.get("gunicorn.socket")
        if connection is not None:
            connection.settimeout(settings.LOGS_UPLOAD_IDLE_SECONDS)


class IngestOnlyTokenMiddleware:
    """A page request carrying an ingest-only token gets 401, not a sign-in page: that key may only send events.

    The API refuses such a token itself (uploads_app.authentication.ApiTokenAuthentication), with its JSON error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header and not request.path.startswith("/api/") and is_ingest_only(_key_in(header)):
            return HttpResponse(
                "This token is ingest-only: it can send events to /api/ingest, not open pages.",
                status=401,
                content_type="text/plain; charset=utf-8",
                headers={"WWW-Authenticate": 'Token realm="api"'},
            )
        return self.get_response(request)


def _key_in(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "apikey":
        return key_from_api_key(credentials)
    if scheme == "basic":
        return key_from_basic(credentials) or ""
    return credentials
