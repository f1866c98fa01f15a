"""The ingest endpoints: NDJSON at POST /api/ingest, and an Elasticsearch-compatible surface under /api/ingest/es/.

Each checks the key, the rate and the queue behind it before it reads a byte of the body, then streams the
body (gzip inflated, 10 MB at most) line by line into the stream's batches through one ingestion service,
and answers once they are durable: 202 with counts on /api/ingest, Elasticsearch's bulk answer under es/.
"""

import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError, error_responses
from config.throttling import UploadThrottle
from ingestion.services import streams
from ingestion.stream import DEFAULT_STREAM, STREAM_NAME_PATTERN, stream_name_problem
from ingestion.stream_input import BodyRefused, IncomingLine, body_lines, bulk_lines, ndjson_lines
from uploads_app import es_format
from uploads_app.apis import LineErrorSerializer
from uploads_app.authentication import IngestAuthentication

NDJSON = "application/x-ndjson"
MAX_LOG_TYPE = 40


def _body(request: Request) -> Iterator[bytes]:
    """The request body's lines, inflated when it says Content-Encoding: gzip."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise ApplicationError(
            f"Content-Encoding '{encoding[:20]}' is not supported: send gzip or nothing",
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    limit = settings.INGEST_MAX_REQUEST_MB * 2**20
    return body_lines(request._request.read, gzipped=encoding == "gzip", limit=limit)


def _receive(
    request: Request,
    items: Callable[[Iterator[bytes]], Iterator[IncomingLine]],
    *,
    stream: str,
    log_type: str,
    keep_items: bool = False,
) -> streams.Receipt:
    try:
        receipt = streams.stream_receive(
            owner=request.user,
            log_type=log_type,
            stream_name=stream,
            items=items(_body(request)),
            keep_items=keep_items,
        )
    except BodyRefused as refusal:
        code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if refusal.too_large else status.HTTP_400_BAD_REQUEST
        raise ApplicationError(refusal.message, code) from None
    if not receipt.accepted and not receipt.rejected:
        raise ApplicationError("The request body has no events: send one JSON object per line")
    return receipt


class IngestView(APIView):
    """Shippers' keys, their own rate (not the per-person API rate), and backpressure before the body is read."""

    authentication_classes = [IngestAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [UploadThrottle]
    throttle_scope = "ingest"

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT"):
            streams.stream_queue_check(owner_id=request.user.pk)


class IngestApi(IngestView):
    class InputSerializer(serializers.Serializer):
        stream = serializers.RegexField(
            rf"^{STREAM_NAME_PATTERN}$",
            required=False,
            default=DEFAULT_STREAM,
            help_text="the stream's name (default: default); with your user and the log type it names the stream",
        )
        log_type = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=MAX_LOG_TYPE, help_text="empty: guessed per batch"
        )

    @extend_schema(
        summary="Send events (NDJSON)",
        description="A body of NDJSON lines (optionally `Content-Encoding: gzip`), at most "
        "`INGEST_MAX_REQUEST_MB` (10 MB, the inflated size too). Each line must be a JSON object with a readable "
        "timestamp field; any other line is rejected and dead-lettered with its reason. The answer comes once the "
        "accepted lines are durably queued; they are searchable seconds later. Sending the same lines again "
        "(a retry) never duplicates an event. 429 with Retry-After when too many batches wait to be indexed.",
        parameters=[InputSerializer],
        request={NDJSON: OpenApiTypes.BINARY},
        responses={
            202: inline_serializer(
                "IngestAccepted",
                {
                    "accepted": serializers.IntegerField(),
                    "rejected": serializers.IntegerField(),
                    "stream_id": serializers.CharField(),
                    "errors": LineErrorSerializer(many=True, help_text="the first 20 rejected lines"),
                },
            ),
            **error_responses(400, 401, 413, 415, 429, 503),
        },
        examples=[
            OpenApiExample(
                "Two access-log events",
                value='{"timestamp": "2018-07-22T00:39:02.912Z", "clientip": "223.87.60.27", "response": 200}\n'
                '{"timestamp": "2018-07-22T03:26:21.326Z", "clientip": "130.246.123.197", "response": 200}\n',
                request_only=True,
                media_type=NDJSON,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        receipt = _receive(
            request, ndjson_lines, stream=params.validated_data["stream"], log_type=params.validated_data["log_type"]
        )
        return Response(
            {
                "accepted": receipt.accepted,
                "rejected": receipt.rejected,
                "stream_id": receipt.stream_ids[0],
                "errors": receipt.errors,
            },
            status=status.HTTP_202_ACCEPTED,
        )


# The Elasticsearch-compatible surface: shippers configured for Elasticsearch send to it unchanged.


def es_exception_handler(error: Exception, context: dict) -> Response | None:
    """Any refusal on the Elasticsearch-compatible paths, in Elasticsearch's error shape with its status."""
    if isinstance(error, ApplicationError):
        code, reason = error.status_code, error.message
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
    elif isinstance(error, exceptions.APIException):
        code, reason, headers = error.status_code, str(error.detail), {}
        if isinstance(error, exceptions.Throttled) and error.wait is not None:
            headers = {"Retry-After": str(int(error.wait) + 1)}
        if isinstance(error, exceptions.NotFound):
            request = context["request"]
            reason = f"no handler found for uri [{request.path}] and method [{request.method}]"
    else:
        return None
    return Response(
        es_format.error_body(code, reason), status=code, headers={**es_format.error_headers(code), **headers}
    )


class EsView(IngestView):
    """Answers in Elasticsearch's shapes, every one with the X-Elastic-Product header Elastic's clients check."""

    def get_exception_handler(self):
        return es_exception_handler

    def get_authenticate_header(self, request: Request) -> str:
        return es_format.AUTHENTICATE

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in es_format.PRODUCT_HEADERS.items():
            response[name] = value
        return response


ES_SCHEMA = {"tags": ["ingest (Elasticsearch-compatible)"]}
ES_ERRORS = {
    code: OpenApiResponse(OpenApiTypes.OBJECT, description="Elasticsearch's error shape")
    for code in (400, 401, 413, 415, 429, 503)
}
ES_PROBE = {200: OpenApiTypes.OBJECT, 401: ES_ERRORS[401]}
BULK_EXAMPLE = OpenApiExample(
    "An index and a create action",
    value='{"index": {"_index": "web-logs"}}\n'
    '{"@timestamp": "2018-07-22T00:39:02.912Z", "clientip": "223.87.60.27", "response": 200}\n'
    '{"create": {"_index": "web-logs", "_id": "evt-2"}}\n'
    '{"@timestamp": "2018-07-22T03:26:21.326Z", "clientip": "130.246.123.197", "response": 200}\n',
    request_only=True,
    media_type=NDJSON,
)


class EsRootApi(EsView):
    @extend_schema(
        **ES_SCHEMA,
        summary="Elasticsearch root (version probe)",
        description="What shippers read before they send: an Elasticsearch 8 version and the product header.",
        responses=ES_PROBE,
    )
    def get(self, request: Request) -> Response:
        return Response(es_format.root())


class EsBulkApi(EsView):
    @extend_schema(
        **ES_SCHEMA,
        summary="Elasticsearch _bulk",
        description="NDJSON `index` and `create` actions, each followed by its document (`delete` and `update` are "
        "answered per item with a 400). `_index` (from the URL or the action) names the stream; it is never used "
        "as a real index. A document with no readable timestamp is rejected per item and dead-lettered. The "
        "answer is Elasticsearch's: `{took, errors, items}`, per item 201 or 400.",
        parameters=[
            OpenApiParameter(
                "log_type",
                {"type": "string", "maxLength": MAX_LOG_TYPE},
                required=False,
                description="the streams' log type (empty: guessed)",
            )
        ],
        request={NDJSON: OpenApiTypes.BINARY},
        responses={200: OpenApiTypes.OBJECT, **ES_ERRORS},
        examples=[BULK_EXAMPLE],
    )
    def post(self, request: Request, index: str | None = None) -> Response:
        started = time.perf_counter()
        if index is not None and (problem := stream_name_problem(index)):
            raise ApplicationError(problem)
        log_type = request.query_params.get("log_type", "")
        if len(log_type) > MAX_LOG_TYPE:
            raise ApplicationError(f"log_type: at most {MAX_LOG_TYPE} characters")
        receipt = _receive(request, bulk_lines, stream=index or DEFAULT_STREAM, log_type=log_type, keep_items=True)
        return Response(
            {
                "took": round((time.perf_counter() - started) * 1000),
                "errors": receipt.rejected > 0,
                "items": [{item.action: _bulk_item(item)} for item in receipt.items],
            }
        )

    @extend_schema(
        **ES_SCHEMA,
        summary="Elasticsearch _bulk (PUT)",
        description="The same as POST.",
        request={NDJSON: OpenApiTypes.BINARY},
        responses={200: OpenApiTypes.OBJECT, **ES_ERRORS},
        examples=[BULK_EXAMPLE],
    )
    def put(self, request: Request, index: str | None = None) -> Response:
        return self.post(request, index)


class EsIndexBulkApi(EsBulkApi):
    """`/<index>/_bulk`: the index in the path names the stream of the actions that name none."""

    @extend_schema(
        **ES_SCHEMA,
        operation_id="ingest_es_index_bulk_create",
        summary="Elasticsearch _bulk into a named stream",
        description="As `_bulk`, the path's index naming the stream of actions without an `_index`.",
        parameters=[OpenApiParameter("log_type", {"type": "string", "maxLength": MAX_LOG_TYPE}, required=False)],
        request={NDJSON: OpenApiTypes.BINARY},
        responses={200: OpenApiTypes.OBJECT, **ES_ERRORS},
        examples=[BULK_EXAMPLE],
    )
    def post(self, request: Request, index: str | None = None) -> Response:
        return super().post(request, index)

    @extend_schema(
        **ES_SCHEMA,
        operation_id="ingest_es_index_bulk_update",
        summary="Elasticsearch _bulk into a named stream (PUT)",
        description="The same as POST.",
        request={NDJSON: OpenApiTypes.BINARY},
        responses={200: OpenApiTypes.OBJECT, **ES_ERRORS},
        examples=[BULK_EXAMPLE],
    )
    def put(self, request: Request, index: str | None = None) -> Response:
        return super().post(request, index)


def _bulk_item(item: streams.ItemOutcome) -> dict:
    if item.error_type is None:
        return {
            "_index": item.stream,
            "_id": item.doc_id,
            "_version": 1,
            "result": "created",
            "_shards": {"total": 1, "successful": 1, "failed": 0},
            "status": 201,
        }
    return {
        "_index": item.stream,
        "_id": item.doc_id,
        "status": 400,
        "error": {"type": item.error_type, "reason": item.reason},
    }


class EsRootWithoutSlashApi(EsRootApi):
    """The root as a shipper configured with `.../api/ingest/es` (no slash) asks for it; the schema lists it once."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return super().get(request)


class EsClusterHealthApi(EsView):
    @extend_schema(**ES_SCHEMA, summary="Elasticsearch _cluster/health", responses=ES_PROBE)
    def get(self, request: Request) -> Response:
        return Response(es_format.cluster_health())


class EsCatHealthApi(EsView):
    FORMATS = ("json", "text")

    @extend_schema(
        **ES_SCHEMA,
        summary="Elasticsearch _cat/health",
        description="rsyslog's omelasticsearch checks it (HEAD) before sending and to resume after an outage.",
        parameters=[OpenApiParameter("format", str, required=False, enum=FORMATS)],
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            (200, "application/json"): {"type": "array", "items": {"type": "object"}},
            (400, "application/json"): ES_ERRORS[400],
            (401, "application/json"): ES_ERRORS[401],
        },
    )
    def get(self, request: Request):
        chosen = request.query_params.get("format") or "text"
        if chosen not in self.FORMATS:
            raise ApplicationError(f"format: one of {', '.join(self.FORMATS)}, not [{chosen[:20]}]")
        rows = es_format.cat_health(timezone.now(), as_json=chosen == "json")
        if isinstance(rows, list):
            return Response(rows)
        return HttpResponse(rows, content_type="text/plain; charset=UTF-8")


class EsLicenseApi(EsView):
    @extend_schema(**ES_SCHEMA, summary="Elasticsearch _license", responses=ES_PROBE)
    def get(self, request: Request) -> Response:
        return Response(es_format.license_info())


class EsXpackApi(EsView):
    @extend_schema(**ES_SCHEMA, summary="Elasticsearch _xpack", responses=ES_PROBE)
    def get(self, request: Request) -> Response:
        return Response(es_format.xpack_info())


class EsNodesApi(EsView):
    @extend_schema(
        **ES_SCHEMA,
        summary="Elasticsearch _nodes",
        description="Also `_nodes/<selector>` (e.g. `_nodes/http`), with the same answer.",
        responses=ES_PROBE,
    )
    def get(self, request: Request, selector: str = "") -> Response:
        return Response(es_format.nodes_info(request.get_host()))


class EsNodesSelectedApi(EsNodesApi):
    @extend_schema(exclude=True)
    def get(self, request: Request, selector: str = "") -> Response:
        return super().get(request, selector)


class EsUnknownApi(EsView):
    """Any other Elasticsearch API a client may try (templates, ILM, search): Elasticsearch's 404, once signed in."""

    @extend_schema(exclude=True)
    def get(self, request: Request, rest: str) -> Response:
        raise exceptions.NotFound()

    post = put = delete = patch = get
