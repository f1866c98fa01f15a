"""The upload and job pages: server-rendered, live parts refreshed by htmx, actions as POST forms."""

import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from analytics import search
from analytics.filters import EventFilters
from config.errors import ApplicationError
from config.es import CLIENT_UNREACHABLE
from config.kibana import discover_url
from config.spreadsheets import csv_lines
from ingestion import selectors, stream_selectors
from ingestion.bulk import TransientIndexError
from ingestion.enums import FINISHED, JobStatus
from ingestion.fallback import MAX_PAGED_ROWS
from ingestion.formats import ALLOWED_EXTENSIONS
from ingestion.job import Job
from ingestion.log_types import LOG_TYPE_LABELS
from ingestion.services import jobs, reindex
from ingestion.stream import Stream

JOBS_PER_PAGE = 25
DEAD_LETTERS_PER_PAGE = 50
LAST_EVENTS = 10


def _job_or_404(request: HttpRequest, job_id: str) -> Job:
    try:
        return selectors.job_get(job_id=job_id, user=request.user)
    except ApplicationError as error:
        raise Http404(error.message) from error


def _page_number(request: HttpRequest, name: str = "page") -> int:
    try:
        return max(1, min(int(request.GET.get(name, 1)), 10**6))
    except ValueError:
        return 1


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The upload page for a signed-in user, the sign-in page for anyone else."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    return upload_page(request)


@login_required
@require_GET
def upload_page(request: HttpRequest) -> HttpResponse:
    extensions = [*ALLOWED_EXTENSIONS, *(f"{extension}.gz" for extension in ALLOWED_EXTENSIONS)]
    return render(
        request,
        "uploads/upload.html",
        {
            "nav": "upload",
            "accept": ",".join([*ALLOWED_EXTENSIONS, ".gz"]),
            "extensions": extensions,
            "log_types": LOG_TYPE_LABELS.items(),
            # The page's script names statuses in the enum's words and knows which ones are final.
            "statuses": {
                "labels": {status.value: status.label for status in JobStatus},
                "finished": [status.value for status in FINISHED],
            },
        },
    )


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in {item.value for item in JobStatus}:
        status = None
    search = request.GET.get("q", "").strip()[:200]
    page = _page_number(request)
    items, total = selectors.job_page(
        user=request.user, status_filter=status, page=page, page_size=JOBS_PER_PAGE, search=search or None
    )
    pages = max(1, math.ceil(total / JOBS_PER_PAGE))
    context = {
        "nav": "jobs",
        "jobs": [(job, selectors.job_detail(job)) for job in items],
        "total": total,
        "page": page,
        "pages": pages,
        "status": status or "",
        "q": search,
        "statuses": list(JobStatus),
        "running": any(not job.finished for job in items),
        "show_owner": request.user.is_staff,
    }
    if not request.htmx:
        context["streams"] = stream_selectors.stream_summaries(user=request.user, today=timezone.now().date())
    template = "uploads/_job_rows.html" if request.htmx else "uploads/job_list.html"
    return render(request, template, context)


def _set_aside_context(request: HttpRequest, job: Job) -> dict:
    """A page of the job's set-aside rows, or a sentence saying why they cannot be shown now."""
    page = _page_number(request, "aside_page")
    if not job.counts.get("fallback") and job.finished:
        return {"set_aside": [], "aside_total": 0, "aside_page": 1, "aside_pages": 1}
    try:
        rows, total = selectors.set_aside_page_of(job=job, page=page, page_size=DEAD_LETTERS_PER_PAGE)
    except TransientIndexError:
        return {"set_aside_unavailable": True, "aside_total": job.counts.get("fallback", 0)}
    shown = min(total, MAX_PAGED_ROWS)
    return {
        "set_aside": rows,
        "aside_total": total,
        "aside_page": page,
        "aside_pages": max(1, math.ceil(shown / DEAD_LETTERS_PER_PAGE)),
        "aside_beyond_pages": total > MAX_PAGED_ROWS,
    }


def _job_context(request: HttpRequest, job: Job) -> dict:
    dead_page = _page_number(request, "dead_page")
    dead_letters, dead_total = selectors.dead_letters_page(job=job, page=dead_page, page_size=DEAD_LETTERS_PER_PAGE)
    detail = selectors.job_detail(job)
    counts = detail["counts"]
    columns = list(dict.fromkeys(name for record in job.preview for name in record))
    return {
        "nav": "jobs",
        "job": job,
        "detail": detail,
        "accounted": sum(value for name, value in counts.items() if name != "total_lines"),
        "columns": [(name, job.field_types.get(name)) for name in columns],
        "stage_timings": selectors.stage_timings(job),
        "preview_rows": [[record.get(name) for name in columns] for record in job.preview],
        "dead_letters": dead_letters,
        "dead_total": dead_total,
        "dead_page": dead_page,
        "dead_pages": max(1, math.ceil(dead_total / DEAD_LETTERS_PER_PAGE)),
        **_set_aside_context(request, job),
        "reindex": detail["reindex"],
        "reindex_running": detail["reindex"] is not None and detail["reindex"]["status"] == "queued",
        "tasks": selectors.job_task_results(job=job),
        "kibana_discover": discover_url(f'job_id:"{job.job_id}"', user=request.user),
        "retention_notes": _retention_notes(job),
    }


def _retention_notes(job: Job) -> list[str]:
    """What the retention policy removed from this job, in the words its page shows."""
    notes = []
    if job.retention.get("events_deleted_at"):
        notes.append(jobs.events_gone_sentence(job))
    if job.retention.get("file_deleted_at"):
        notes.append(jobs.file_gone_sentence(job))
    if job.retention.get("dead_letters_deleted_at"):
        notes.append(
            f"Its {job.retention.get('dead_letters_deleted', 0):,} rejected rows were deleted by the retention policy "
            f"on {job.retention['dead_letters_deleted_at']:%Y-%m-%d}"
        )
    return notes


@login_required
@require_GET
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    template = "uploads/_job_live.html" if request.htmx else "uploads/job_detail.html"
    return render(request, template, _job_context(request, job))


@login_required
@require_GET
def dead_letters_csv(request: HttpRequest, job_id: str) -> StreamingHttpResponse:
    """The rejected rows (line, reason, raw) for fix-and-reupload; cells are safe to open in a spreadsheet."""
    job = _job_or_404(request, job_id)
    rows = ((row["line"], row["reason"], row["raw"]) for row in selectors.dead_letters_iter(job=job))
    response = StreamingHttpResponse(csv_lines(["line", "reason", "raw"], rows), content_type="text/csv")
    stem = job.filename.rsplit(".", 1)[0][:80] or "upload"
    response["Content-Disposition"] = f'attachment; filename="{_ascii(stem)}-rejected-rows.csv"'
    return response


@login_required
@require_GET
def set_aside_csv(request: HttpRequest, job_id: str) -> StreamingHttpResponse:
    """The set-aside rows (line, reason, raw) to re-index or fix; cells are safe to open in a spreadsheet."""
    job = _job_or_404(request, job_id)
    rows = ((row["line"], row["reason"], row["raw"]) for row in selectors.set_aside_iter(job=job))
    response = StreamingHttpResponse(csv_lines(["line", "reason", "raw"], rows), content_type="text/csv")
    stem = job.filename.rsplit(".", 1)[0][:80] or "upload"
    response["Content-Disposition"] = f'attachment; filename="{_ascii(stem)}-set-aside-rows.csv"'
    return response


def _ascii(text: str) -> str:
    return "".join(char if char.isascii() and (char.isalnum() or char in "-_.") else "_" for char in text)


@login_required
@require_http_methods(["GET", "POST"])
def job_retry(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    if request.method == "GET":
        return _confirm(request, job, "retry")
    try:
        jobs.job_retry(job=job)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Retry of {job.filename} queued.")
    return redirect("job-page", job_id=job.job_id)


@login_required
@require_http_methods(["GET", "POST"])
def job_reindex(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    if request.method == "GET":
        return _confirm(request, job, "reindex")
    try:
        reindex.job_reindex_fallback(job=job)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        count = job.counts.get("fallback", 0)
        messages.success(
            request,
            f"Re-indexing the {count:,} set-aside row{pluralize(count)} of {job.filename}: this page shows "
            "what moved when it is done.",
        )
    return redirect("job-page", job_id=job.job_id)


@login_required
@require_http_methods(["GET", "POST"])
def job_delete(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    if request.method == "GET":
        return _confirm(request, job, "delete")
    try:
        deleted = jobs.job_delete(job=job)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("job-page", job_id=job.job_id)
    messages.success(request, f"Deleted {job.filename} and its {deleted:,} indexed documents.")
    return redirect("job-list")


def _confirm(request: HttpRequest, job: Job, action: str) -> HttpResponse:
    return render(
        request,
        "uploads/confirm.html",
        {"nav": "jobs", "job": job, "action": action, "cancel_url": reverse("job-page", kwargs={"job_id": job.job_id})},
    )


# Streams: what shippers send, shown like a job.


def _stream_or_404(request: HttpRequest, stream_id: str) -> Stream:
    try:
        return stream_selectors.stream_get(stream_id=stream_id, user=request.user)
    except ApplicationError as error:
        raise Http404(error.message) from error


@login_required
@require_GET
def stream_detail(request: HttpRequest, stream_id: str) -> HttpResponse:
    """A stream's counts per day, its rate over the last hour, its last events and its dead letters; the live part
    refreshes itself."""
    stream = _stream_or_404(request, stream_id)
    dead_page = _page_number(request, "dead_page")
    dead_letters, dead_total = stream_selectors.dead_letters_page(
        stream=stream, page=dead_page, page_size=DEAD_LETTERS_PER_PAGE
    )
    detail = stream_selectors.stream_detail(stream=stream, now=timezone.now())
    try:
        latest = search.latest(
            user=request.user, filters=EventFilters(fields={"stream_id": (stream.stream_id,)}), size=LAST_EVENTS
        )
        events_error = None
    except CLIENT_UNREACHABLE:
        latest, events_error = [], "The search index cannot be reached right now; the counts above are still exact."
    context = {
        "events_error": events_error,
        "nav": "jobs",
        "stream": stream,
        "detail": detail,
        "accounted": sum(detail["today"][name] for name in ("indexed", "dead_lettered", "fallback", "pending")),
        "busiest": max(minute["received"] for minute in detail["rate"]),
        "rate_span": (detail["rate"][0]["minute"], detail["rate"][-1]["minute"]),
        "last_events": [_event_row(hit) for hit in latest],
        "search_url": "/search/?" + urlencode({"stream_id": stream.stream_id}),
        "dead_letters": dead_letters,
        "dead_total": dead_total,
        "dead_page": dead_page,
        "dead_pages": max(1, math.ceil(dead_total / DEAD_LETTERS_PER_PAGE)),
    }
    template = "uploads/_stream_live.html" if request.htmx else "uploads/stream_detail.html"
    return render(request, template, context)


def _event_row(hit: dict) -> dict:
    source = hit["source"]
    return {
        "id": hit["id"],
        "time": source.get("@timestamp"),
        "ingested_at": source.get("ingested_at"),
        # Its message when it has one, else the whole event (shown as compact JSON).
        "text": source.get("message") or source,
    }


@login_required
@require_GET
def stream_dead_letters_csv(request: HttpRequest, stream_id: str) -> StreamingHttpResponse:
    """The stream's rejected lines (received, line, reason, raw); cells are safe to open in a spreadsheet."""
    stream = _stream_or_404(request, stream_id)
    rows = (
        (row["at"].isoformat(), row["line"], row["reason"], row["raw"])
        for row in stream_selectors.dead_letters_iter(stream=stream)
    )
    response = StreamingHttpResponse(csv_lines(["received_at", "line", "reason", "raw"], rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{_ascii(stream.name)}-rejected-lines.csv"'
    return response
