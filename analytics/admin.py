"""The fraud rules' settings and the alerts in the Django admin."""

from django.contrib import admin

from analytics.fraud.models import FraudAlert, FraudAlertChange, FraudRuleSetting
from analytics.fraud.rules import RULES


@admin.register(FraudRuleSetting)
class FraudRuleSettingAdmin(admin.ModelAdmin):
    list_display = ("rule", "enabled", "points", "params", "updated_at")
    list_editable = ("enabled", "points")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "rule":
            field.help_text = "One of: " + ", ".join(
                f"{key} ({rule.points} points, {rule.params})" for key, rule in RULES.items()
            )
        return field


class FraudAlertChangeInline(admin.TabularInline):
    model = FraudAlertChange
    extra = 0
    readonly_fields = ("from_status", "to_status", "note", "changed_by", "changed_at")
    can_delete = False


@admin.register(FraudAlert)
class FraudAlertAdmin(admin.ModelAdmin):
    list_display = ("id", "tier", "score", "entity_type", "entity", "rule_list", "status", "last_seen", "owner_id")
    list_filter = ("tier", "status", "entity_type")
    search_fields = ("entity", "key", "rule_list")
    readonly_fields = (
        "key",
        "owner_id",
        "entity_type",
        "entity",
        "rules",
        "rule_list",
        "score",
        "tier",
        "first_seen",
        "last_seen",
        "event_count",
        "evidence",
        "job_ids",
        "status_changed_by",
        "status_changed_at",
        "created_at",
        "updated_at",
    )
    inlines = [FraudAlertChangeInline]
