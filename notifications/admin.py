"""Channels and deliveries in the Django admin, read-only: staff see what was sent where, never a secret."""

from django.contrib import admin

from notifications.models import Channel, Delivery, DeliveryAttempt


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through the pages and the API, whose services check targets and sign; the admin only shows."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "kind", "owner", "enabled", "shared", "consecutive_failures", "created_at")
    list_filter = ("kind", "enabled", "shared")
    search_fields = ("name", "url", "email", "owner__username")
    # The signing secrets and custom headers (often credentials) stay out of the admin.
    exclude = ("secret", "previous_secret", "headers")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "event_type", "channel", "state", "attempts", "last_status_code", "created_at")
    list_filter = ("state", "event_type")
    search_fields = ("message_id", "channel__name")
    inlines = [DeliveryAttemptInline]
