"""JWT for REST clients (djangorestframework-simplejwt), beside the API tokens: a username and password give a
short-lived access token and a refresh token. The password check goes through django-axes like every sign-in,
so the lockout after repeated wrong passwords holds here too."""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from config.errors import ApplicationError, error_responses
from config.lockout import lockout_message

TOKEN_PAIR = inline_serializer("JwtPair", {"access": serializers.CharField(), "refresh": serializers.CharField()})
# The requests as the schema states them: no field may be blank (the views refuse that with a 400).
NOT_BLANK = r"\S"
CREDENTIALS = inline_serializer(
    "JwtCredentials", {"username": serializers.RegexField(NOT_BLANK), "password": serializers.RegexField(NOT_BLANK)}
)
REFRESH = inline_serializer("JwtRefresh", {"refresh": serializers.RegexField(NOT_BLANK)})


class TokenObtainApi(TokenObtainPairView):
    @extend_schema(
        summary="Get a JWT pair",
        description="A username and password give an access token (`Authorization: Bearer <access>`, valid "
        "`JWT_ACCESS_MINUTES`, 10 min by default) and a refresh token. Wrong passwords count towards the sign-in "
        "lockout: after `LOGIN_FAILURE_LIMIT` of them the pair of username and address gets 429.",
        request=CREDENTIALS,
        responses={200: TOKEN_PAIR, **error_responses(400, 401, 429)},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # django-axes marks the request it refused; its middleware never sees DRF's wrapper.
            if getattr(request, "axes_locked_out", False):
                minutes = max(1, math.ceil(get_cool_off(request).total_seconds() / 60))
                raise ApplicationError(lockout_message(minutes), settings.AXES_HTTP_RESPONSE_CODE) from None
            raise


class TokenRefreshApi(TokenRefreshView):
    @extend_schema(
        summary="Refresh a JWT access token",
        description="A refresh token gives a new access token.",
        request=REFRESH,
        responses={
            200: inline_serializer("JwtAccess", {"access": serializers.CharField()}),
            **error_responses(400, 401),
        },
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)
