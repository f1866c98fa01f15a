"""The fraud REST API: alerts, one alert, its review status, the rules, a scan on demand."""

from django.core.paginator import Paginator
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.fraud import selectors, services
from analytics.fraud.models import FraudAlert
from analytics.fraud.rules import RULES
from analytics.tasks import fraud_scan
from config.errors import error_responses
from ingestion.contract import job_get


class AlertJobSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    filename = serializers.CharField(allow_null=True, help_text="null when the job was deleted")


class AlertSerializer(serializers.ModelSerializer):
    """An alert; the context's `uploads` ({job id: file name}) names its jobs."""

    status_changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    uploader = serializers.CharField(read_only=True, allow_null=True, help_text="who uploaded the events")
    jobs = serializers.SerializerMethodField()

    class Meta:
        model = FraudAlert
        fields = [
            "id",
            "entity_type",
            "entity",
            "rules",
            "score",
            "tier",
            "status",
            "status_note",
            "status_changed_by",
            "status_changed_at",
            "first_seen",
            "last_seen",
            "event_count",
            "uploader",
            "job_ids",
            "jobs",
            "created_at",
        ]

    @extend_schema_field(AlertJobSerializer(many=True))
    def get_jobs(self, alert: FraudAlert) -> list[dict]:
        uploads = self.context.get("uploads", {})
        return [{"job_id": job_id, "filename": uploads.get(job_id)} for job_id in alert.job_ids]


class EvidenceSerializer(serializers.Serializer):
    """One flagged order or event (evidence written before orders were counted once lacks the optional keys)."""

    id = serializers.CharField(help_text="the document shown: an order's first line")
    ids = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="every document: the order's lines, re-uploads"
    )
    jobs = serializers.ListField(child=serializers.CharField(), required=False)
    order_id = serializers.CharField(allow_null=True, required=False)
    lines = serializers.IntegerField(required=False)
    time = serializers.CharField()
    amount = serializers.FloatField(allow_null=True)
    currency = serializers.CharField(allow_null=True, required=False)
    ip = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    score = serializers.IntegerField()
    rules = serializers.ListField(child=serializers.CharField())
    reasons = serializers.DictField(child=serializers.CharField(), help_text="rule -> why, in plain words")


class AlertDetailSerializer(AlertSerializer):
    evidence = EvidenceSerializer(many=True, read_only=True)
    changes = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "evidence", "changes"]

    def get_changes(self, alert: FraudAlert) -> list[dict]:
        return [
            {
                "from": change.from_status,
                "to": change.to_status,
                "note": change.note,
                "by": change.changed_by.get_username() if change.changed_by else None,
                "at": change.changed_at,
            }
            for change in alert.changes.select_related("changed_by")
        ]


class AlertFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FraudAlert.Status.values, required=False)
    tier = serializers.ChoiceField(choices=FraudAlert.Tier.values, required=False)
    rule = serializers.ChoiceField(choices=list(RULES), required=False)
    entity = serializers.CharField(required=False, max_length=200)
    since = serializers.DateTimeField(required=False, help_text="alerts with events at or after this time")
    until = serializers.DateTimeField(required=False)
    page = serializers.IntegerField(min_value=1, max_value=10**6, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=200, default=50)


class AlertListApi(APIView):
    @extend_schema(
        summary="Fraud alerts",
        operation_id="fraud_alerts_list",
        parameters=[AlertFilterSerializer],
        responses={
            200: inline_serializer(
                "AlertPage",
                {
                    "count": serializers.IntegerField(),
                    "page": serializers.IntegerField(),
                    "page_size": serializers.IntegerField(),
                    "results": AlertSerializer(many=True),
                },
            ),
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        filters = AlertFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        alerts = selectors.alert_list(
            user=request.user,
            status_filter=data.get("status"),
            tier=data.get("tier"),
            rule=data.get("rule"),
            entity=data.get("entity"),
            since=data.get("since"),
            until=data.get("until"),
        )
        paginator = Paginator(alerts, data["page_size"])
        page = paginator.get_page(data["page"])
        uploads = selectors.alert_uploads(alerts=page.object_list, user=request.user)
        return Response(
            {
                "count": paginator.count,
                "page": page.number,
                "page_size": data["page_size"],
                "results": AlertSerializer(page.object_list, many=True, context={"uploads": uploads}).data,
            }
        )


def _detail(alert: FraudAlert, request: Request) -> dict:
    uploads = selectors.alert_uploads(alerts=[alert], user=request.user)
    return AlertDetailSerializer(alert, context={"uploads": uploads}).data


class AlertDetailApi(APIView):
    @extend_schema(
        summary="One fraud alert with its evidence",
        responses={200: AlertDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, alert_id: int) -> Response:
        return Response(_detail(selectors.alert_get(user=request.user, alert_id=alert_id), request))


class AlertStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FraudAlert.Status.values)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class AlertStatusApi(APIView):
    @extend_schema(
        summary="Review an alert",
        description="open, acknowledged, dismissed (with a note) or confirmed_fraud; recorded with its user.",
        request=AlertStatusInputSerializer,
        responses={200: AlertDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        data = AlertStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = selectors.alert_get(user=request.user, alert_id=alert_id)
        alert = services.alert_set_status(
            alert=alert, user=request.user, new_status=data.validated_data["status"], note=data.validated_data["note"]
        )
        return Response(_detail(alert, request))


class RuleListApi(APIView):
    @extend_schema(
        summary="The fraud rules",
        description="Each rule's points and thresholds as in force, and the fields it needs.",
        responses={
            200: inline_serializer(
                "Rules",
                {
                    "review_score": serializers.IntegerField(),
                    "high_score": serializers.IntegerField(),
                    "rules": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        return Response(services.rules_described())


class ScanInputSerializer(serializers.Serializer):
    job_id = serializers.CharField(
        required=False, allow_blank=True, help_text="only this job's events; empty or absent: all of yours"
    )


class ScanApi(APIView):
    # JSON only: every field is optional, so an unreadable form body would read as "no fields", which means
    # "screen all your events"; an unreadable JSON body is a 400 instead.
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Screen events for fraud now",
        request=ScanInputSerializer,
        responses={
            202: inline_serializer("ScanQueued", {"task_id": serializers.CharField()}),
            **error_responses(400, 401, 403, 404, 415),
        },
    )
    def post(self, request: Request) -> Response:
        data = ScanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # An empty form field reads as absent; the same empty value in JSON means the same.
        job_id = data.validated_data.get("job_id") or None
        owner_id = request.user.pk
        if job_id:
            owner_id = job_get(job_id=job_id, user=request.user).owner_id
        task = fraud_scan.delay(owner_id, job_id)
        return Response({"task_id": task.id}, status=status.HTTP_202_ACCEPTED)
