"""The read-side REST API: search, export, one event, analytics panels, anomalies, the dashboard, the live tail."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import anomalies, live, panels, search
from analytics.dashboard import dashboard
from analytics.exports import csv_export, ndjson_export
from analytics.filters import HTTP_STATUSES, filters_from
from analytics.selectors import panel_get
from config.errors import error_responses

FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description='simple_query_string syntax: words, "phrases", -not, a|b, prefix*'),
    OpenApiParameter("log_type", str, many=True),
    OpenApiParameter("stream", str, many=True, description="a stream's name (events sent to /api/ingest)"),
    OpenApiParameter("country", str, many=True, description="GeoIP country code, e.g. US"),
    OpenApiParameter("job_id", str, many=True),
    OpenApiParameter(
        "status",
        {"type": "array", "items": {"type": "integer", "minimum": HTTP_STATUSES[0], "maximum": HTTP_STATUSES[1]}},
        description="HTTP status, e.g. 404",
    ),
    OpenApiParameter("from", str, description="ISO 8601 (2024-05-01T10:00:00Z) or date math (now-7d)"),
    OpenApiParameter("to", str, description="ISO 8601 or date math"),
    OpenApiParameter("owner", str, description="staff only: one uploader's user id"),
]
# Free-form filters are not an OpenAPI parameter (a parameter named "field=value" is one literal name).
FIELD_FILTERS = (
    "Any other query parameter filters on that field, e.g. geo.country_iso_code=US; "
    "a value ending in * is a prefix (InvoiceNo=C*)."
)


class HitSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="file_id:line")
    index = serializers.CharField()
    source = serializers.DictField()
    highlight = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class TotalSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    relation = serializers.ChoiceField(choices=["eq", "gte"])


class SearchPageSerializer(serializers.Serializer):
    total = TotalSerializer()
    results = HitSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="pass as cursor= with the same filters")


class SearchApi(APIView):
    class InputSerializer(serializers.Serializer):
        sort = serializers.CharField(
            required=False, default=search.DEFAULT_SORT, help_text="field, -field for descending"
        )
        page_size = serializers.IntegerField(required=False, default=20, min_value=1, max_value=search.MAX_PAGE_SIZE)
        cursor = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        summary="Search the events",
        description=FIELD_FILTERS,
        parameters=[*FILTER_PARAMETERS, InputSerializer],
        responses={200: SearchPageSerializer, **error_responses(400, 401, 403, 410, 429)},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = search.search_page(
            user=request.user, filters=filters_from(request.query_params), **params.validated_data
        )
        return Response(page)


class SearchExportApi(APIView):
    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=["csv", "ndjson"], default="csv")
        sort = serializers.CharField(required=False, default=search.DEFAULT_SORT)

    @extend_schema(
        summary="Export every matching event",
        description=f"Streamed: CSV (cells neutralised against formula injection) or NDJSON. {FIELD_FILTERS}",
        parameters=[*FILTER_PARAMETERS, InputSerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        hits = search.export_hits(
            user=request.user, filters=filters_from(request.query_params), sort=params.validated_data["sort"]
        )
        if params.validated_data["format"] == "ndjson":
            response = StreamingHttpResponse(ndjson_export(hits), content_type="application/x-ndjson")
        else:
            response = StreamingHttpResponse(csv_export(hits), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="events.{params.validated_data["format"]}"'
        return response


class EventDetailApi(APIView):
    @extend_schema(
        summary="One event",
        responses={
            200: inline_serializer(
                "Event",
                {"id": serializers.CharField(), "index": serializers.CharField(), "source": serializers.DictField()},
            ),
            **error_responses(401, 403, 404),
        },
    )
    def get(self, request: Request, doc_id: str) -> Response:
        return Response(search.document_get(user=request.user, doc_id=doc_id))


class AnalyticsPanelApi(APIView):
    class InputSerializer(serializers.Serializer):
        field = serializers.CharField(required=False, help_text="top: the field whose values to count")
        size = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)
        interval = serializers.ChoiceField(choices=[name for name, _ in panels.INTERVALS], required=False)
        precision = serializers.IntegerField(required=False, default=3, min_value=0, max_value=10)
        tz = serializers.CharField(required=False, default="UTC", help_text="heatmap: IANA time zone")

    @extend_schema(
        summary="An analytics panel",
        description="summary, timeline, top (field=), categories, geo, status, heatmap; plain numbers. "
        + FIELD_FILTERS,
        parameters=[*FILTER_PARAMETERS, InputSerializer],
        responses={200: OpenApiTypes.OBJECT, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, panel: str) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = filters_from(request.query_params)
        return Response(panel_get(user=request.user, filters=filters, name=panel, options=params.validated_data))


class DashboardApi(APIView):
    @extend_schema(
        summary="The operations dashboard",
        description="Jobs by status, lines ingested per day and in the last 24 h, ingest rate, dead letters and "
        "fallback, documents (and, for staff, disk size) per daily index, storage used per user (documents, "
        "estimated bytes, files kept, rejected rows; staff: everyone's) and, for staff, the last retention run, "
        "dependency health.",
        responses={200: OpenApiTypes.OBJECT, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(dashboard(user=request.user))


# One Server-Sent Event, as OpenAPI 3.0 describes an event stream (its schema is one event's). The JSON inside
# `data` cannot be given a schema of its own before OpenAPI 3.1 (contentSchema): the description says it.
LIVE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string", "enum": ["message"]},
        "id": {"type": "string", "description": "resume position: send it back as Last-Event-ID"},
        "retry": {"type": "integer"},
        "data": {
            "type": "string",
            "description": 'one JSON object, as a search result without highlight: {"id", "index", "source"}',
        },
    },
}


class LiveApi(APIView):
    @extend_schema(
        summary="Follow newly indexed events (Server-Sent Events)",
        description="A text/event-stream: one `data:` line of JSON per event, in the shape of a search result "
        "(without highlight), within about a second of the event becoming searchable; an `id:` line with each "
        "(send the last one back as the Last-Event-ID header, or as `cursor`, to continue without a gap or a "
        "repeat); a comment line every 15 s when quiet. The stream ends after LIVE_STREAM_SECONDS (5 minutes) "
        f"and the client reconnects. Same filters as search. {FIELD_FILTERS}",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("cursor", str, description="where to continue, if the Last-Event-ID header is not sent"),
            OpenApiParameter("Last-Event-ID", str, location=OpenApiParameter.HEADER, required=False),
        ],
        responses={(200, "text/event-stream"): LIVE_EVENT_SCHEMA, **error_responses(400, 401, 403, 503)},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        stream = live.live_tail_open(
            user=request.user,
            filters=filters_from(request.query_params),
            resume=request.headers.get("Last-Event-ID") or request.query_params.get("cursor", ""),
        )
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx (compose) passes each event on at once
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple:
        # EventSource asks for text/event-stream only; an error before the stream starts is still the API's JSON.
        return super().perform_content_negotiation(request, force=True)


class AnomalyPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="the bucket's start (UTC)")
    value = serializers.FloatField(allow_null=True, help_text="null: nothing to measure in the bucket")
    expected = serializers.FloatField()
    low = serializers.FloatField(help_text="the expected band: a bucket outside it is an anomaly")
    high = serializers.FloatField()
    score = serializers.FloatField(min_value=0, max_value=100)
    anomaly = serializers.BooleanField()


class AnomalySerializer(serializers.Serializer):
    from_ = serializers.DateTimeField(help_text="start of the first unusual bucket")
    to = serializers.DateTimeField(help_text="end of the last unusual bucket")
    peak = serializers.DateTimeField(help_text="start of the highest-scored bucket")
    value = serializers.FloatField(help_text="the peak's value")
    expected = serializers.FloatField()
    score = serializers.FloatField(min_value=0, max_value=100)
    direction = serializers.ChoiceField(choices=["up", "down"])
    explanation = serializers.CharField()

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class AnomalySeriesFields(serializers.Serializer):
    series = AnomalyPointSerializer(many=True)
    anomalies = AnomalySerializer(many=True)
    season = serializers.ChoiceField(
        choices=["hour of week", "hour of day", "none", "pooled share of the week before"],
        help_text="what the baseline learned",
    )
    note = serializers.CharField(allow_null=True, help_text="why the baseline is simpler than usual, if it is")


class AnomalyEntitySerializer(AnomalySeriesFields):
    key = serializers.CharField(help_text="the `by` field's value")


class AnomaliesAnswerSerializer(serializers.Serializer):
    interval = serializers.CharField(help_text="the bucket length, e.g. 30m")
    series_name = serializers.CharField(help_text="the series in words, e.g. revenue")
    series = AnomalyPointSerializer(many=True, required=False, help_text="without by")
    anomalies = AnomalySerializer(many=True, required=False, help_text="without by")
    season = serializers.CharField(required=False, help_text="without by: what the baseline learned")
    note = serializers.CharField(required=False, allow_null=True, help_text="without by")
    by = serializers.CharField(required=False, help_text="with by: the field")
    entities = AnomalyEntitySerializer(many=True, required=False, help_text="with by: the top values by events")


class AnomaliesApi(APIView):
    class InputSerializer(serializers.Serializer):
        series = serializers.CharField(
            required=False,
            default="count",
            help_text="count, error_rate (share of 5xx among events with an HTTP status), sum:<field>, "
            "avg:<field>, max:<field>, cardinality:<field>",
        )
        interval = serializers.ChoiceField(
            choices=[name for name, _ in anomalies.INTERVALS],
            required=False,
            help_text="bucket length; by default the natural spacing of the data",
        )
        sensitivity = serializers.ChoiceField(choices=["low", "medium", "high"], default="medium")
        by = serializers.CharField(
            required=False, help_text=f"a field: anomalies per value, top {anomalies.BY_ENTITIES}"
        )

    @extend_schema(
        summary="Anomalies in a series of the events",
        description="The series per interval with its expected band (low, high), a score 0-100 per bucket "
        "(12.5 per decade of improbability of the robust z-score, capped at 100: z=3 scores 32, z=4 52, z=5 78) "
        "and the anomalies explained. With `by`: the same per entity, under `entities`. " + FIELD_FILTERS,
        parameters=[*FILTER_PARAMETERS, InputSerializer],
        responses={200: AnomaliesAnswerSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        answer = anomalies.series_anomalies(
            user=request.user, filters=filters_from(request.query_params), **params.validated_data
        )
        return Response(answer)
