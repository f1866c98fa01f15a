"""API keys as the ingest endpoints take them: the user's API token or an ingest-only token, however a shipper
sends it (Token, ApiKey, ApiKey base64(id:key), or the password of HTTP Basic auth)."""

import base64
import binascii
import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.authtoken.models import Token

from uploads_app.models import IngestToken

# Longer than any key this app gives out (DRF's are 40 characters, ingest-only ones 40 too): not worth a lookup.
MAX_KEY_LENGTH = 128


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ingest_token_create(*, user: AbstractBaseUser) -> str:
    """A new ingest-only key for `user`, returned once (only its hash is stored)."""
    key = secrets.token_hex(20)
    IngestToken.objects.create(digest=_digest(key), user=user)
    return key


def is_ingest_only(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and IngestToken.objects.filter(digest=_digest(key)).exists()


def user_for_key(key: str) -> tuple[AbstractBaseUser, bool] | None:
    """The active user a key belongs to, and whether the key is ingest-only; None for an unknown key."""
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        return None
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is not None:
        return (token.user, False) if token.user.is_active else None
    ingest = IngestToken.objects.select_related("user").filter(digest=_digest(key)).first()
    if ingest is not None and ingest.user.is_active:
        return ingest.user, True
    return None


def key_from_api_key(credentials: str) -> str:
    """`ApiKey <key>` carries the key itself, or base64("id:key") as Filebeat and Vector send an `api_key: id:key`."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return credentials
    return decoded.partition(":")[2] if ":" in decoded and decoded.isprintable() else credentials


def key_from_basic(credentials: str) -> str | None:
    """The password of HTTP Basic auth, any username: how rsyslog's uid/pwd and syslog-ng's password() send a key."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    _user, colon, password = decoded.partition(":")
    return password if colon else None
