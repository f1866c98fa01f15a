"""Standard Webhooks signing: `whsec_` secrets and `v1,<base64 HMAC-SHA256>` signatures of id.timestamp.body.

See https://www.standardwebhooks.com: receivers verify with the spec's libraries (PyPI `standardwebhooks`).
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (the spec's prefix, not a secret)
SECRET_BYTES = 32


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,...` signature: the HMAC key is the secret's base64-decoded bytes, as the spec says."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets_in_force: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret in force, space-separated (rotation)."""
    return " ".join(
        signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body) for secret in secrets_in_force
    )
