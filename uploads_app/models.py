"""Ingest-only tokens: what a shipper on a server is given, so its credentials can send events but never read."""

from django.conf import settings
from django.db import models


class IngestToken(models.Model):
    """A token the ingest endpoints accept and every other endpoint and page refuses.

    Only the key's sha256 is kept: the key is shown once, when it is made (`create_api_token USER --ingest-only`).
    """

    digest = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ingest_tokens")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ingest-only token of {self.user} ({self.digest[:8]}…)"
