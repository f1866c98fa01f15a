from django.urls import path

from notifications import rule_views

urlpatterns = [
    path("", rule_views.alerts_page, name="alerts"),
    path("rules/new", rule_views.rule_create, name="alert-rule-create"),
    path("rules/<int:rule_id>/", rule_views.rule_page, name="alert-rule-page"),
    path("rules/<int:rule_id>/edit", rule_views.rule_edit, name="alert-rule-edit"),
    path("rules/<int:rule_id>/enabled", rule_views.rule_enable, name="alert-rule-enable"),
    path("rules/<int:rule_id>/delete", rule_views.rule_delete, name="alert-rule-delete"),
    path("events/", rule_views.events_page, name="alert-events-page"),
]
