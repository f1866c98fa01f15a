"""Ingest-only tokens in the admin: staff see whose they are and revoke one by deleting it (keys are not kept)."""

from django.contrib import admin

from uploads_app.models import IngestToken


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "digest")
    list_filter = ("created_at",)
    search_fields = ("user__username",)
    readonly_fields = ("digest", "user", "created_at")

    def has_add_permission(self, request) -> bool:
        # A key exists only at creation, printed by the command; the admin could never show it.
        return False
