"""The alert rules REST API: rules (CRUD, preview, run history) and their alert events, under /api/alerts/."""

from django.conf import settings
from django.core.paginator import Paginator
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_responses
from notifications import selectors
from notifications.models import AlertEvent, AlertRule, RuleEvaluation
from notifications.rules.durations import duration_text
from notifications.services import rules as rule_services
from notifications.services.rules import PREVIEW_DAYS

DURATION_HELP = "a number and a unit (s, m, h, d), such as 5m, 1h or 1d"
STATES = ["firing", "ok", "pending", "disabled"]


class RuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=AlertRule.Type.choices)
    query = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text='the same q and filters as /api/search, such as {"q": "checkout", "status": 404}; '
        "a value may be a list",
    )
    window = serializers.CharField(
        max_length=20,
        help_text=f"the span of event time judged: {DURATION_HELP}; 1m to 30d. anomaly: the bucket the series is "
        "cut into, one of 1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h, 1d",
    )
    every = serializers.CharField(
        max_length=20, required=False, help_text=f"how often it is evaluated, 1m (the default) to 1d: {DURATION_HELP}"
    )
    threshold = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="frequency: the least count that fires (per value with field); flatline: it fires below this "
        "count; spike: the least count of the busier window; metric: the bound",
    )
    field = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="frequency: count per value of this field (optional); new_term: the field whose new values fire; "
        "metric: the number field",
    )
    metric = serializers.ChoiceField(
        choices=AlertRule.Metric.choices, required=False, allow_blank=True, help_text="metric rules"
    )
    direction = serializers.ChoiceField(
        choices=AlertRule.Direction.choices,
        required=False,
        allow_blank=True,
        help_text="metric: above (the default) or below; spike: up, down or both (the default)",
    )
    ratio = serializers.FloatField(
        required=False, allow_null=True, help_text="spike: how many times more (or fewer), above 1"
    )
    history = serializers.CharField(
        max_length=20, required=False, allow_blank=True, help_text="new_term: how far back a value must be unseen (30d)"
    )
    series = serializers.CharField(
        max_length=210,
        required=False,
        allow_blank=True,
        help_text="anomaly: the series /api/anomalies follows: count (the default), error_rate, sum:<field>, "
        "avg:<field>, max:<field> or cardinality:<field>",
    )
    sensitivity = serializers.ChoiceField(
        choices=AlertRule.Sensitivity.choices,
        required=False,
        allow_blank=True,
        help_text="anomaly: low, medium (the default) or high",
    )
    channels = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        max_length=20,
        help_text="your channels' ids; each must hear rule.fired",
    )
    realert = serializers.CharField(
        max_length=20,
        required=False,
        help_text="while it keeps firing, tell again at most this often; 0 (the default): tell once",
    )
    notify_resolved = serializers.BooleanField(required=False, help_text="send rule.resolved (default true)")
    enabled = serializers.BooleanField(required=False)


class RuleUpdateSerializer(RuleInputSerializer):
    def get_fields(self) -> dict:
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


class RunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleEvaluation
        fields = ["id", "evaluated_at", "window_start", "window_end", "windows", "value", "fired", "detail", "error"]


class RuleSerializer(serializers.ModelSerializer):
    window = serializers.SerializerMethodField()
    every = serializers.SerializerMethodField()
    realert = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    channels = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    state = serializers.SerializerMethodField()
    open_events = serializers.IntegerField(read_only=True)
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "type",
            "query",
            "window",
            "every",
            "threshold",
            "field",
            "metric",
            "direction",
            "ratio",
            "history",
            "series",
            "sensitivity",
            "channels",
            "realert",
            "notify_resolved",
            "enabled",
            "state",
            "open_events",
            "last_run",
            "last_evaluated_at",
            "last_window_end",
            "next_due_at",
            "created_at",
            "updated_at",
        ]

    def get_window(self, rule: AlertRule) -> str:
        return duration_text(rule.window_seconds)

    def get_every(self, rule: AlertRule) -> str:
        return duration_text(rule.every_seconds)

    def get_realert(self, rule: AlertRule) -> str:
        return duration_text(rule.realert_seconds)

    def get_history(self, rule: AlertRule) -> str:
        return duration_text(rule.history_seconds) if rule.history_seconds else ""

    @extend_schema_field({"type": "string", "enum": STATES})
    def get_state(self, rule: AlertRule) -> str:
        return selectors.rule_state(rule)

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_last_run(self, rule: AlertRule) -> dict | None:
        run = self.context.get("runs", {}).get(rule.pk)
        return RunSerializer(run).data if run else None


def _rule_out(rule: AlertRule) -> dict:
    """A rule as the API shows it, read back with its state and latest run."""
    return _rules_out([rule])[0]


def _rules_out(rules: list[AlertRule]) -> list[dict]:
    return RuleSerializer(rules, many=True, context={"runs": selectors.last_runs(rules)}).data


class RuleListApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Your alert rules",
        operation_id="alerts_rules_list",
        responses={200: RuleSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(_rules_out(list(selectors.rule_list(user=request.user))))

    @extend_schema(
        summary="Create an alert rule",
        request=RuleInputSerializer,
        responses={201: RuleSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        data = RuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = rule_services.rule_create(owner=request.user, **data.validated_data)
        rule = selectors.rule_get(user=request.user, rule_id=rule.pk)
        return Response(_rule_out(rule), status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="One alert rule", responses={200: RuleSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(_rule_out(selectors.rule_get(user=request.user, rule_id=rule_id)))

    @extend_schema(
        summary="Change an alert rule",
        description="Only the settings sent change. A changed condition, or enabling again, starts its evaluations "
        "afresh from now; disabling resolves its open events without a notification.",
        request=RuleUpdateSerializer,
        responses={200: RuleSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = selectors.rule_get(user=request.user, rule_id=rule_id)
        data = RuleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule_services.rule_update(rule=rule, **data.validated_data)
        return Response(_rule_out(selectors.rule_get(user=request.user, rule_id=rule_id)))

    @extend_schema(
        summary="Delete an alert rule, its runs and its events", responses={204: None, **error_responses(401, 403, 404)}
    )
    def delete(self, request: Request, rule_id: int) -> Response:
        rule_services.rule_delete(rule=selectors.rule_get(user=request.user, rule_id=rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RulePreviewApi(APIView):
    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(min_value=PREVIEW_DAYS[0], max_value=PREVIEW_DAYS[1], default=7)

    @extend_schema(
        summary="When this rule would have fired over the last days of your events",
        description="Back-to-back windows of the rule's size, ending now, judged from one aggregation query. "
        "`value` is the window's value (new_term: the new value, `at` the time it was first seen); `count` is how "
        "many windows fired (the list holds at most 1,000), `events` how many alert events that makes. anomaly: each "
        "anomaly of the days asked (`at` its end, `value` its peak, `explanation`), scored by the same model as "
        "/api/anomalies; `note` says how that differs from the running rule.",
        parameters=[InputSerializer],
        responses={
            200: inline_serializer(
                "RulePreview",
                {
                    "fired": inline_serializer(
                        "RulePreviewFired",
                        {
                            "at": serializers.DateTimeField(),
                            "value": serializers.JSONField(),
                            "explanation": serializers.CharField(required=False, help_text="anomaly rules"),
                        },
                        many=True,
                    ),
                    "count": serializers.IntegerField(),
                    "events": serializers.IntegerField(),
                    "windows": serializers.IntegerField(),
                    "from": serializers.DateTimeField(),
                    "to": serializers.DateTimeField(),
                    "window": serializers.CharField(),
                    "note": serializers.CharField(required=False, help_text="anomaly rules"),
                },
            ),
            **error_responses(400, 401, 403, 404, 503),
        },
    )
    def get(self, request: Request, rule_id: int) -> Response:
        rule = selectors.rule_get(user=request.user, rule_id=rule_id)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        preview = rule_services.rule_preview(
            owner=request.user, fields=rule_services.rule_fields(rule), days=params.validated_data["days"]
        )
        return Response(preview)


class PageSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=10**6, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=200, default=50)


def _page(items, data: dict, serializer: type[serializers.Serializer]) -> dict:
    page = Paginator(items, data["page_size"]).get_page(data["page"])
    return {
        "count": page.paginator.count,
        "page": page.number,
        "page_size": data["page_size"],
        "results": serializer(page.object_list, many=True).data,
    }


def _page_of(name: str, serializer: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "page": serializers.IntegerField(),
            "page_size": serializers.IntegerField(),
            "results": serializer,
        },
    )


class RuleRunListApi(APIView):
    @extend_schema(
        summary="An alert rule's runs, newest first",
        description="Each evaluation: the span of event time it judged, its value, whether it fired, or its error.",
        parameters=[PageSerializer],
        responses={200: _page_of("RuleRunPage", RunSerializer(many=True)), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, rule_id: int) -> Response:
        rule = selectors.rule_get(user=request.user, rule_id=rule_id)
        params = PageSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(_page(selectors.rule_evaluation_list(rule=rule), params.validated_data, RunSerializer))


class AlertEventSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name")
    search_url = serializers.SerializerMethodField()

    class Meta:
        model = AlertEvent
        fields = [
            "id",
            "rule",
            "rule_name",
            "key",
            "state",
            "value",
            "last_value",
            "fired_at",
            "last_fired_at",
            "resolved_at",
            "window_start",
            "window_end",
            "documents",
            "search_url",
            "detail",
        ]

    def get_search_url(self, event: AlertEvent) -> str:
        """/search/ with the rule's query and the window it first fired in (and the value it fired for)."""
        return f"{settings.SITE_URL}{event.search_path}"


class AlertEventListApi(APIView):
    class InputSerializer(PageSerializer):
        rule = serializers.IntegerField(required=False, min_value=1, max_value=2**62, help_text="one of your rules")
        state = serializers.ChoiceField(choices=AlertEvent.State.choices, required=False)

    @extend_schema(
        summary="Alert events of your rules, newest first",
        operation_id="alerts_events_list",
        parameters=[InputSerializer],
        responses={
            200: _page_of("AlertEventPage", AlertEventSerializer(many=True)),
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        alert_events = selectors.alert_event_list(user=request.user, rule_id=data.get("rule"), state=data.get("state"))
        return Response(_page(alert_events, data, AlertEventSerializer))
