"""Session sign-in for the upload API: the CSRF token is read from the X-CSRFToken header only.

Django's CSRF check reads the form (request.POST) before it looks at the header, and reading the form of
a multipart request parses the whole body, file included. The upload API must not parse its body before
the user is known, allowed and within the rate, so its check sees a request without form fields.
"""

from django.http import HttpRequest, QueryDict
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request


class _WithoutForm:
    """The request as the CSRF check sees it: no form fields, so the token can only come from the header."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self.POST = QueryDict()

    def __getattr__(self, name: str):
        return getattr(self._request, name)


class HeaderCsrfSessionAuthentication(SessionAuthentication):
    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(_WithoutForm(request._request))
        except exceptions.PermissionDenied as denied:
            raise exceptions.PermissionDenied(
                f"{denied.detail} Send the CSRF token in the X-CSRFToken header: uploads never read it from the form."
            ) from None


class HeaderCsrfSessionScheme(SessionScheme):
    """In the OpenAPI schema: the session cookie, with the CSRF token in its header."""

    target_class = HeaderCsrfSessionAuthentication
    name = "cookieAuthCsrfHeader"

    def get_security_definition(self, auto_schema):
        return {
            **super().get_security_definition(auto_schema),
            "description": "The session cookie; a POST also sends the CSRF token in the X-CSRFToken header.",
        }
