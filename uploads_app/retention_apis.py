"""The retention REST API under /api/retention/: policies (own and staff default), the dry run, and the audit."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_responses
from ingestion.services import retention

DAYS = {"required": False, "allow_null": True, "min_value": 1, "max_value": 36_500}


class RetentionPolicySerializer(serializers.Serializer):
    upload_events_days = serializers.IntegerField(
        **DAYS, help_text="keep an upload's events this many days after the upload; null: the default (or for ever)"
    )
    stream_events_days = serializers.IntegerField(
        **DAYS, help_text="keep streamed events this many days by event day; null: the default (or for ever)"
    )
    files_days = serializers.IntegerField(
        **DAYS, help_text="keep uploaded files this many days (the job keeps its counts); null: the default"
    )
    dead_letters_days = serializers.IntegerField(
        **DAYS, help_text="keep rejected rows (dead letters) this many days after the upload; null: the default"
    )


class RetentionOwnPolicySerializer(serializers.Serializer):
    own = RetentionPolicySerializer(help_text="your own figures (null follows the staff default)")
    default = RetentionPolicySerializer(help_text="the staff default for everyone (null keeps for ever)")
    effective = RetentionPolicySerializer(help_text="what applies to your data (null: kept for ever)")


def _own_answer(user) -> dict:
    return {
        "own": vars_of(retention.policy_own(user=user)),
        "default": vars_of(retention.policy_default()),
        "effective": vars_of(retention.policy_effective(user=user)),
    }


def vars_of(policy: retention.Policy) -> dict:
    return {name: getattr(policy, name) for name in retention.POLICY_FIELDS}


class PolicyApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Your retention policy",
        description="Your own figures, the staff default and what applies. Nothing is deleted unless someone sets "
        "a figure: by default everything is kept.",
        responses={200: RetentionOwnPolicySerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(_own_answer(request.user))

    @extend_schema(
        summary="Set your retention policy",
        description="Days to keep each kind of your data; a null or missing figure follows the staff default.",
        request=RetentionPolicySerializer,
        responses={200: RetentionOwnPolicySerializer, **error_responses(400, 401, 403)},
    )
    def put(self, request: Request) -> Response:
        given = RetentionPolicySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        retention.policy_update(user=request.user, values=given.validated_data)
        return Response(_own_answer(request.user))


class DefaultPolicyApi(APIView):
    permission_classes = [IsAdminUser]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="The default retention policy (staff)",
        description="Applies to every user for each figure they leave empty; null keeps that data for ever.",
        responses={200: RetentionPolicySerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(vars_of(retention.policy_default()))

    @extend_schema(
        summary="Set the default retention policy (staff)",
        request=RetentionPolicySerializer,
        responses={200: RetentionPolicySerializer, **error_responses(400, 401, 403)},
    )
    def put(self, request: Request) -> Response:
        given = RetentionPolicySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        return Response(vars_of(retention.policy_default_update(values=given.validated_data)))


class RetentionFiguresSerializer(serializers.Serializer):
    jobs = serializers.IntegerField(help_text="jobs whose events, file or dead letters go")
    events = serializers.IntegerField(help_text="documents deleted from Elasticsearch")
    bytes = serializers.IntegerField(help_text="their size on disk (an estimate per user: see the README)")
    files = serializers.IntegerField(help_text="uploaded files deleted")
    file_bytes = serializers.IntegerField()
    dead_letters = serializers.IntegerField()
    indices = serializers.IntegerField(help_text="daily indices deleted whole")


class RetentionUserFiguresSerializer(RetentionFiguresSerializer):
    owner_id = serializers.IntegerField()


class RetentionStepSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[kind.value for kind in retention.Kind])
    key = serializers.CharField()
    target = serializers.CharField(help_text="a job id or a daily index")
    owner_id = serializers.IntegerField(allow_null=True, help_text="null: a whole index several users share")
    documents = serializers.IntegerField()
    bytes = serializers.IntegerField()
    files = serializers.IntegerField()
    dead_letters = serializers.IntegerField()
    days = serializers.IntegerField(allow_null=True, help_text="the policy's figure that expired it")
    owners = serializers.DictField(child=serializers.IntegerField(), help_text="documents per owner id")


class RetentionDryRunSerializer(serializers.Serializer):
    totals = RetentionFiguresSerializer()
    per_user = RetentionUserFiguresSerializer(many=True, help_text="staff see every user; others themselves")
    steps = RetentionStepSerializer(many=True)


class DryRunApi(APIView):
    @extend_schema(
        summary="What retention would delete now",
        description="The run's plan at this moment, nothing deleted: your data (staff: everyone's, per user).",
        responses={200: RetentionDryRunSerializer, **error_responses(401, 403, 503)},
    )
    def get(self, request: Request) -> Response:
        owner = None if request.user.is_staff else request.user.pk
        return Response(retention.retention_dry_run(owner_id=owner))


class RetentionRunStepSerializer(serializers.Serializer):
    kind = serializers.CharField()
    target = serializers.CharField()
    owner_id = serializers.IntegerField(allow_null=True)
    documents = serializers.IntegerField()
    bytes = serializers.IntegerField()
    files = serializers.IntegerField()
    dead_letters = serializers.IntegerField()
    claimed_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True, help_text="null: claimed by a run that has not finished")


class RetentionRunSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    trigger = serializers.CharField(help_text="beat, command")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    resumes = serializers.IntegerField(help_text="times an interrupted run was taken up again")
    steps = RetentionRunStepSerializer(many=True)


class RunListApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="The retention audit (staff)",
        description="The last 50 runs, newest first, each with a row per job, file, index or stream day it deleted.",
        responses={200: RetentionRunSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(RetentionRunSerializer(retention.retention_runs(), many=True).data)
