"""The notifications REST API: channels (CRUD, send test, rotate secret) and deliveries (log, detail, resend)."""

import json

from django.core.paginator import Paginator
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_responses
from notifications import events, selectors
from notifications.models import Channel, Delivery
from notifications.services import channels as channel_services
from notifications.services import deliveries as delivery_services

URL_HELP = "webhook and slack: an http(s) URL whose host resolves to public addresses"


class ChannelSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=events.EVENT_TYPES))
    headers = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "email",
            "headers",
            "events",
            "min_tier",
            "shared",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "consecutive_failures",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]


class ChannelCreatedSerializer(ChannelSerializer):
    secret = serializers.CharField(help_text="webhook only: the whsec_ signing secret, shown in this answer only")

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class ChannelInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Channel.Kind.choices)
    url = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text=URL_HELP)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254, help_text="email: the address")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=events.EVENT_TYPES), allow_empty=False, max_length=20
    )
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000),
        required=False,
        help_text="webhook only: extra request headers, at most 20",
    )
    min_tier = serializers.ChoiceField(
        choices=Channel.Tier.choices, required=False, help_text="fraud.alert: alerts at or above this tier"
    )
    shared = serializers.BooleanField(required=False, help_text="staff only: the channel hears everyone's events")


class ChannelUpdateSerializer(ChannelInputSerializer):
    enabled = serializers.BooleanField(required=False, help_text="true enables a disabled channel again")

    def get_fields(self) -> dict:
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


def _channel_or_404(request: Request, channel_id: int) -> Channel:
    return selectors.channel_get(user=request.user, channel_id=channel_id)


class ChannelListApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Your notification channels",
        operation_id="notifications_channels_list",
        responses={200: ChannelSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(ChannelSerializer(selectors.channel_list(user=request.user), many=True).data)

    @extend_schema(
        summary="Create a notification channel",
        description="A webhook channel's `secret` (whsec_...) is in this answer only: keep it to verify signatures.",
        request=ChannelInputSerializer,
        responses={201: ChannelCreatedSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        data = ChannelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = channel_services.channel_create(owner=request.user, **data.validated_data)
        return Response(ChannelCreatedSerializer(channel).data, status=status.HTTP_201_CREATED)


class ChannelDetailApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="One notification channel", responses={200: ChannelSerializer, **error_responses(401, 403, 404)}
    )
    def get(self, request: Request, channel_id: int) -> Response:
        return Response(ChannelSerializer(_channel_or_404(request, channel_id)).data)

    @extend_schema(
        summary="Change a notification channel",
        request=ChannelUpdateSerializer,
        responses={200: ChannelSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def patch(self, request: Request, channel_id: int) -> Response:
        channel = _channel_or_404(request, channel_id)
        data = ChannelUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = channel_services.channel_update(channel=channel, user=request.user, **data.validated_data)
        return Response(ChannelSerializer(channel).data)

    @extend_schema(
        summary="Delete a notification channel and its delivery log",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, channel_id: int) -> Response:
        channel_services.channel_delete(channel=_channel_or_404(request, channel_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliverySerializer(serializers.ModelSerializer):
    channel = serializers.IntegerField(source="channel_id")
    channel_name = serializers.CharField(source="channel.name")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "channel_name",
            "message_id",
            "event_type",
            "state",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
        ]


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    response_excerpt = serializers.CharField(help_text="the first 4 KB of the answer")
    error = serializers.CharField()


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True)
    payload = serializers.SerializerMethodField()

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempt_log"]

    def get_payload(self, delivery: Delivery) -> dict:
        """The body as sent: {"type", "timestamp", "data"}."""
        return json.loads(delivery.body)


class ChannelTestApi(APIView):
    @extend_schema(
        summary="Send a test event to a channel",
        request=None,
        responses={202: DeliverySerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, channel_id: int) -> Response:
        delivery = delivery_services.delivery_test(channel=_channel_or_404(request, channel_id))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class ChannelRotateSecretApi(APIView):
    @extend_schema(
        summary="Rotate a webhook channel's signing secret",
        description="The new secret is in this answer only; the previous one keeps signing for 24 hours.",
        request=None,
        responses={
            200: inline_serializer(
                "RotatedSecret",
                {
                    "id": serializers.IntegerField(),
                    "secret": serializers.CharField(),
                    "previous_secret_expires_at": serializers.DateTimeField(),
                },
            ),
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, channel_id: int) -> Response:
        channel = channel_services.channel_rotate_secret(channel=_channel_or_404(request, channel_id))
        return Response(
            {
                "id": channel.pk,
                "secret": channel.secret,
                "previous_secret_expires_at": serializers.DateTimeField().to_representation(
                    channel.previous_secret_expires_at
                ),
            }
        )


class DeliveryFilterSerializer(serializers.Serializer):
    channel = serializers.IntegerField(required=False, min_value=1, help_text="one of your channels' id")
    state = serializers.ChoiceField(choices=Delivery.State.choices, required=False)
    page = serializers.IntegerField(min_value=1, max_value=10**6, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=200, default=50)


class DeliveryListApi(APIView):
    @extend_schema(
        summary="Deliveries to your channels, newest first",
        operation_id="notifications_deliveries_list",
        parameters=[DeliveryFilterSerializer],
        responses={
            200: inline_serializer(
                "DeliveryPage",
                {
                    "count": serializers.IntegerField(),
                    "page": serializers.IntegerField(),
                    "page_size": serializers.IntegerField(),
                    "results": DeliverySerializer(many=True),
                },
            ),
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        filters = DeliveryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        deliveries = selectors.delivery_list(user=request.user, channel_id=data.get("channel"), state=data.get("state"))
        page = Paginator(deliveries, data["page_size"]).get_page(data["page"])
        return Response(
            {
                "count": page.paginator.count,
                "page": page.number,
                "page_size": data["page_size"],
                "results": DeliverySerializer(page.object_list, many=True).data,
            }
        )


class DeliveryDetailApi(APIView):
    @extend_schema(
        summary="One delivery with its attempts",
        responses={200: DeliveryDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, delivery_id: int) -> Response:
        return Response(
            DeliveryDetailSerializer(selectors.delivery_get(user=request.user, delivery_id=delivery_id)).data
        )


class DeliveryResendApi(APIView):
    @extend_schema(
        summary="Send a finished delivery again",
        description="A new series of attempts with the same body and webhook-id; 409 while it is still being sent.",
        request=None,
        responses={202: DeliverySerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = selectors.delivery_get(user=request.user, delivery_id=delivery_id)
        delivery = delivery_services.delivery_resend(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
