"""One application error type, rendered by one DRF exception handler as {"success": false, "error": ...}.

Django's own error views (a URL no view matches, an exception outside DRF) answer the same JSON under /api/.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """An expected failure with a sentence for the user and the HTTP status that goes with it."""

    def __init__(self, message: str, status_code: int = status.HTTP_400_BAD_REQUEST, *, retry_after: int = 0):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after  # seconds, sent as Retry-After when set


class ServiceUnavailable(ApplicationError):
    def __init__(self, message: str, *, retry_after: int = 0):
        super().__init__(message, status.HTTP_503_SERVICE_UNAVAILABLE, retry_after=retry_after)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        return f"{field}: {_first_message(value)}" if field != "non_field_errors" else _first_message(value)
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input"
    return str(detail)


def api_exception_handler(error: Exception, context: dict) -> Response | None:
    if isinstance(error, ApplicationError):
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return Response({"success": False, "error": error.message}, status=error.status_code, headers=headers)
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


def _api_or_page(status_code: int, message: str, page: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A Django error view: the API's JSON error under /api/ (clients parse it), the site's page elsewhere."""

    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse({"success": False, "error": message}, status=status_code)
        return page(request, *args, **kwargs)

    return view


bad_request = _api_or_page(400, "Bad request", defaults.bad_request)
permission_denied = _api_or_page(403, "You do not have permission to perform this action.", defaults.permission_denied)
page_not_found = _api_or_page(404, "Not found", defaults.page_not_found)
server_error = _api_or_page(500, "Internal server error", defaults.server_error)
