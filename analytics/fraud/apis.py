"""The fraud REST API: alerts, one alert, its review status, the rules, a scan on demand."""

from django.core.paginator import Paginator
from drf_spectacular.utils import extend_schema, inline_serializer
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


class AlertSerializer(serializers.ModelSerializer):
    status_changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

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
            "job_ids",
            "created_at",
        ]


class AlertDetailSerializer(AlertSerializer):
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
        return Response(
            {
                "count": paginator.count,
                "page": page.number,
                "page_size": data["page_size"],
                "results": AlertSerializer(page.object_list, many=True).data,
            }
        )


class AlertDetailApi(APIView):
    @extend_schema(
        summary="One fraud alert with its evidence",
        responses={200: AlertDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, alert_id: int) -> Response:
        return Response(AlertDetailSerializer(selectors.alert_get(user=request.user, alert_id=alert_id)).data)


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
        return Response(AlertDetailSerializer(alert).data)


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
