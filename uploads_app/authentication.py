"""How callers sign in: the API token (refusing ingest-only ones), the ingest endpoints' keys, and session
sign-in for the upload API, whose CSRF token is read from the X-CSRFToken header only.

Django's CSRF check reads the form (request.POST) before it looks at the header, and reading the form of
a multipart request parses the whole body, file included. The upload API must not parse its body before
the user is known, allowed and within the rate, so its check sees a request without form fields.
"""

from django.http import HttpRequest, QueryDict
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
    get_authorization_header,
)
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from uploads_app.tokens import is_ingest_only, key_from_api_key, key_from_basic, user_for_key


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


class ApiTokenAuthentication(TokenAuthentication):
    """The user's API token (`Authorization: Token <key>`) for the whole API; an ingest-only token is refused (401)
    with a sentence saying what it is for."""

    def authenticate_credentials(self, key: str):
        try:
            return super().authenticate_credentials(key)
        except exceptions.AuthenticationFailed:
            if is_ingest_only(key):
                raise exceptions.AuthenticationFailed(
                    "This token is ingest-only: it can send events to /api/ingest and /api/ingest/es/, not read"
                ) from None
            raise


class IngestAuthentication(BaseAuthentication):
    """What shippers send to the ingest endpoints: the user's API token or an ingest-only token as `Token <key>`,
    `ApiKey <key>` or `ApiKey base64(id:key)`, or as the password of HTTP Basic auth (any username); or a JWT
    access token (`Bearer`)."""

    def authenticate(self, request: Request):
        scheme, _, credentials = get_authorization_header(request).decode("latin-1").partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "bearer":
            return JWTAuthentication().authenticate(request)
        if scheme == "token":
            key = credentials
        elif scheme == "apikey":
            key = key_from_api_key(credentials)
        elif scheme == "basic":
            key = key_from_basic(credentials)
        else:
            return None
        found = user_for_key(key) if key else None
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid API key")
        user, ingest_only = found
        return user, {"ingest_only": ingest_only}

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="ingest", Token, ApiKey'


class IngestScheme(OpenApiAuthenticationExtension):
    """In the OpenAPI schema: the key in the Authorization header, however a shipper sends it."""

    target_class = IngestAuthentication
    name = "ingestKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, `ApiKey <key>`, `ApiKey base64(id:key)`, `Basic base64(any:key)` or "
            "`Bearer <JWT access token>`; the key is the user's API token or an ingest-only token.",
        }
