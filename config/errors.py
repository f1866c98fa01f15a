"""One application error type, rendered by one DRF exception handler as {"success": false, "error": ...}."""

from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """An expected failure with a sentence for the user and the HTTP status that goes with it."""

    def __init__(self, message: str, status_code: int = status.HTTP_400_BAD_REQUEST):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ServiceUnavailable(ApplicationError):
    def __init__(self, message: str):
        super().__init__(message, status.HTTP_503_SERVICE_UNAVAILABLE)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        return f"{field}: {_first_message(value)}" if field != "non_field_errors" else _first_message(value)
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input"
    return str(detail)


def api_exception_handler(error: Exception, context: dict) -> Response | None:
    if isinstance(error, ApplicationError):
        return Response({"success": False, "error": error.message}, status=error.status_code)
    response = exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, exceptions.APIException):
        response.data = {"success": False, "error": _first_message(error.detail)}
    return response


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API, for the schema."""

    success = serializers.BooleanField(default=False)
    error = serializers.CharField()


def error_responses(*codes: int) -> dict:
    """Schema responses for the given error statuses, all with the one error shape."""
    return dict.fromkeys(codes, ErrorSerializer)
