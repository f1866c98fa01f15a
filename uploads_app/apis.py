"""The logs REST API: thin views that parse input, call one ingestion service or selector, and render."""

from django.core.exceptions import TooManyFilesSent
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from config.errors import ApplicationError, error_responses
from config.throttling import UploadThrottle
from ingestion import selectors, stream_selectors
from ingestion.enums import JobStatus
from ingestion.files import ObjectReceivedFile, ReceivedFile
from ingestion.job import Job
from ingestion.services import jobs, reindex
from uploads_app.authentication import ApiTokenAuthentication, HeaderCsrfSessionAuthentication
from uploads_app.storage import StreamingUploadHandler


class JobSummarySerializer(serializers.Serializer):
    file_id = serializers.CharField()
    job_id = serializers.CharField()
    filename = serializers.CharField()
    file_type = serializers.CharField(help_text="csv, json, ndjson, jsonl, log, or one of these with .gz")
    file_size = serializers.IntegerField(help_text="bytes as uploaded")
    total_lines = serializers.IntegerField(help_text="records in the file (a CSV header is not one)")
    status = serializers.ChoiceField(choices=[item.value for item in JobStatus])
    uploaded_at = serializers.DateTimeField()
    status_url = serializers.CharField()


class UploadedSerializer(JobSummarySerializer):
    duplicate_of = serializers.CharField(
        allow_null=True, help_text="the job of your earlier upload of the same file (same sha256), if any"
    )
    preview_lines = serializers.IntegerField()
    preview = serializers.ListField(child=serializers.DictField(), help_text="the first 10 parsed records")


class CountsSerializer(serializers.Serializer):
    total_lines = serializers.IntegerField()
    indexed = serializers.IntegerField()
    dead_lettered = serializers.IntegerField()
    fallback = serializers.IntegerField()
    skipped_blank = serializers.IntegerField()


class LineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class RowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()
    raw = serializers.CharField(allow_blank=True, help_text="the line as the file has it (its first 1,000 characters)")


class RowsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    rows = RowSerializer(many=True, help_text="the first 20, in line order")
    download = serializers.CharField(help_text="every row as a CSV (line, reason, raw), safe to open in a spreadsheet")


class ReindexSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued", "done", "failed"])
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    moved = serializers.IntegerField(allow_null=True, help_text="set-aside rows now in the daily indices")
    still_set_aside = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="why it failed")


class RetentionSerializer(serializers.Serializer):
    events_deleted_at = serializers.DateTimeField(required=False, help_text="when its events were deleted")
    events_deleted = serializers.IntegerField(required=False)
    events_days = serializers.IntegerField(required=False, help_text="the policy's days after upload")
    file_deleted_at = serializers.DateTimeField(required=False, help_text="when the uploaded file was deleted")
    file_days = serializers.IntegerField(required=False)
    dead_letters_deleted_at = serializers.DateTimeField(required=False)
    dead_letters_deleted = serializers.IntegerField(required=False)


class JobDetailSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    file_id = serializers.CharField()
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=[item.value for item in JobStatus])
    stage = serializers.CharField()
    attempt = serializers.IntegerField()
    progress = serializers.FloatField(help_text="percent of the lines accounted for")
    counts = CountsSerializer(help_text="indexed + dead_lettered + fallback + skipped_blank == total_lines when done")
    indices = serializers.ListField(child=serializers.CharField())
    errors = LineErrorSerializer(many=True)
    reason = serializers.CharField(allow_null=True)
    log_type = serializers.CharField(allow_null=True)
    timestamp_field = serializers.CharField(allow_null=True)
    field_types = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    stages = serializers.DictField(child=serializers.IntegerField(), help_text="milliseconds per stage")
    reindex = ReindexSerializer(allow_null=True, help_text="the last re-index of the set-aside rows, if any")
    retention = RetentionSerializer(help_text="what the retention policy removed ({} when nothing); counts stay")
    rejected = RowsSerializer(help_text="lines that could not be read (dead letters): fix them and upload them again")
    set_aside = RowsSerializer(
        help_text="lines read but refused by Elasticsearch (the fallback index): re-index them once the rules "
        "allow, or fix them and upload them again"
    )


def _summary(job: Job) -> dict:
    return {**selectors.job_summary(job), "status_url": reverse("job-detail", kwargs={"job_id": job.job_id})}


def _job_answer(job: Job) -> dict:
    """The job with its first rejected and set-aside rows and where to download them all."""
    detail = selectors.job_detail(job)
    rows = selectors.job_rows(job, detail["counts"])
    rows["rejected"]["download"] = reverse("job-dead-letters", kwargs={"job_id": job.job_id})
    rows["set_aside"]["download"] = reverse("job-set-aside", kwargs={"job_id": job.job_id})
    return {**detail, **rows}


class UploadCreateApi(APIView):
    # A browser session's CSRF token comes in the X-CSRFToken header, so signing in never reads the body.
    authentication_classes = [ApiTokenAuthentication, JWTAuthentication, HeaderCsrfSessionAuthentication]
    throttle_classes = [UploadThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        log_type = serializers.CharField(required=False, allow_blank=True, max_length=40)
        on_duplicate = serializers.ChoiceField(
            choices=["index", "skip"],
            default="index",
            help_text="a file you uploaded before (same sha256): index it again (a new job), or skip it (200, "
            "nothing stored, the earlier job answered)",
        )

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # Signed in, allowed and within the rate: only now may the body be streamed to disk (a .gz inflated).
        request._request.upload_handlers = [StreamingUploadHandler(request._request)]

    @extend_schema(
        summary="Upload a log file",
        description="Multipart field `file` (.csv, .json, .ndjson, .jsonl, .log as an Apache/Nginx access log, or "
        ".gz of these), optional `log_type` and `on_duplicate`. The file is checked and previewed at once; its job "
        "runs in the background. `duplicate_of` names your earlier upload of the same file either way.",
        request={"multipart/form-data": InputSerializer},
        responses={
            200: inline_serializer(
                "UploadSkipped",
                {
                    "success": serializers.BooleanField(),
                    "message": serializers.CharField(),
                    "data": UploadedSerializer(help_text="the earlier job of this file"),
                },
            ),
            201: inline_serializer(
                "UploadCreated",
                {
                    "success": serializers.BooleanField(),
                    "message": serializers.CharField(),
                    "data": UploadedSerializer(),
                },
            ),
            **error_responses(400, 401, 403, 413, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            files = request.FILES  # parses the body: our upload handler streams it to disk now
        except TooManyFilesSent:
            raise ApplicationError("Send one file per upload request") from None
        if "file" not in files:
            raise ApplicationError("No file provided")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        received = serializer.validated_data["file"]
        if not isinstance(received, ReceivedFile | ObjectReceivedFile):
            raise ApplicationError("No file provided")
        upload = jobs.job_create(
            owner=request.user,
            received=received,
            log_type=serializer.validated_data.get("log_type", ""),
            on_duplicate=serializer.validated_data["on_duplicate"],
        )
        job = upload.job
        data = {**_summary(job), "preview_lines": job.preview_lines, "preview": job.preview}
        if not upload.created:
            message = f"You uploaded this file before (job {job.job_id}); nothing was stored"
            return Response({"success": True, "message": message, "data": {**data, "duplicate_of": job.job_id}})
        return Response(
            {
                "success": True,
                "message": "File uploaded successfully",
                "data": {**data, "duplicate_of": job.duplicate_of},
            },
            status=status.HTTP_201_CREATED,
        )


class UploadListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[item.value for item in JobStatus], required=False)
        page = serializers.IntegerField(min_value=1, max_value=10**6, default=1)
        page_size = serializers.IntegerField(min_value=1, max_value=200, default=50)

    @extend_schema(
        summary="List uploads",
        description="Your uploads (staff: everyone's), newest first.",
        parameters=[FilterSerializer],
        responses={
            200: inline_serializer(
                "UploadPage",
                {
                    "count": serializers.IntegerField(),
                    "page": serializers.IntegerField(),
                    "page_size": serializers.IntegerField(),
                    "results": JobSummarySerializer(many=True),
                },
            ),
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page, page_size = filters.validated_data["page"], filters.validated_data["page_size"]
        items, total = selectors.job_page(
            user=request.user, status_filter=filters.validated_data.get("status"), page=page, page_size=page_size
        )
        return Response(
            {"count": total, "page": page, "page_size": page_size, "results": [_summary(job) for job in items]}
        )


class UploadDeleteApi(APIView):
    @extend_schema(
        summary="Delete an upload",
        description="The file, its job record, its dead letters and all its indexed documents.",
        responses={
            200: inline_serializer(
                "UploadDeleted",
                {
                    "success": serializers.BooleanField(),
                    "message": serializers.CharField(),
                    "documents_deleted": serializers.IntegerField(),
                },
            ),
            **error_responses(401, 403, 404, 409),
        },
    )
    def delete(self, request: Request, file_id: str) -> Response:
        job = selectors.job_get_by_file(file_id=file_id, user=request.user)
        deleted = jobs.job_delete(job=job)
        return Response({"success": True, "message": "Upload deleted", "documents_deleted": deleted})


class JobDetailApi(APIView):
    @extend_schema(
        summary="A job's status",
        description="Its counts, its first rejected and set-aside rows with their reasons, and its last re-index.",
        responses={200: JobDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, job_id: str) -> Response:
        return Response(_job_answer(selectors.job_get(job_id=job_id, user=request.user)))


class JobRetryApi(APIView):
    @extend_schema(
        summary="Run a finished job again",
        description="Document ids are deterministic, so a retry never duplicates documents.",
        request=None,
        responses={202: JobDetailSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = jobs.job_retry(job=selectors.job_get(job_id=job_id, user=request.user))
        return Response(_job_answer(job), status=status.HTTP_202_ACCEPTED)


class JobReindexFallbackApi(APIView):
    @extend_schema(
        summary="Re-index a job's set-aside rows",
        description="Reads the finished job's set-aside rows again with today's rules and moves the ones that now "
        "fit into the daily indices (same document ids, so nothing is duplicated); the counts follow. It runs in "
        "the background: `reindex` on the job says when it is done, how many rows moved and how many are still "
        "set aside. A row whose value still clashes with its day's field types stays set aside.",
        request=None,
        responses={202: JobDetailSerializer, **error_responses(401, 403, 404, 409, 503)},
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = reindex.job_reindex_fallback(job=selectors.job_get(job_id=job_id, user=request.user))
        return Response(_job_answer(job), status=status.HTTP_202_ACCEPTED)


# Streams: what shippers send (POST /api/ingest, the Elasticsearch-compatible _bulk), accounted like files.


class StreamCountsSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    indexed = serializers.IntegerField()
    dead_lettered = serializers.IntegerField()
    fallback = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="accepted, waiting to be indexed")


class StreamSummarySerializer(serializers.Serializer):
    stream_id = serializers.CharField()
    name = serializers.CharField()
    log_type = serializers.CharField(allow_null=True, help_text="null: guessed per batch")
    owner_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_received_at = serializers.DateTimeField(allow_null=True)
    today = StreamCountsSerializer(help_text="this UTC day: received == indexed + dead_lettered + fallback + pending")
    status_url = serializers.CharField()


class StreamDaySerializer(StreamCountsSerializer):
    day = serializers.DateField()


class StreamMinuteSerializer(serializers.Serializer):
    minute = serializers.DateTimeField()
    received = serializers.IntegerField()


class StreamDetailSerializer(StreamSummarySerializer):
    counts = StreamCountsSerializer(help_text="over the days listed")
    days = StreamDaySerializer(many=True, help_text="per UTC day of receipt, the last 30 days with traffic")
    rate = StreamMinuteSerializer(many=True, help_text="lines received per minute over the last hour")


def _with_url(summary: dict) -> dict:
    return {**summary, "status_url": reverse("stream-detail", kwargs={"stream_id": summary["stream_id"]})}


class StreamListApi(APIView):
    @extend_schema(
        operation_id="logs_streams_list",
        summary="List streams",
        description="Your streams (staff: everyone's) by name, each with today's counts (UTC).",
        responses={200: inline_serializer("StreamList", {"results": StreamSummarySerializer(many=True)})},
    )
    def get(self, request: Request) -> Response:
        summaries = stream_selectors.stream_summaries(user=request.user, today=timezone.now().date())
        return Response({"results": [_with_url(summary) for summary in summaries]})


class StreamDetailApi(APIView):
    @extend_schema(
        summary="A stream's counts",
        responses={200: StreamDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, stream_id: str) -> Response:
        stream = stream_selectors.stream_get(stream_id=stream_id, user=request.user)
        return Response(_with_url(stream_selectors.stream_detail(stream=stream, now=timezone.now())))
