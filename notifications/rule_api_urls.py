from django.urls import path

from notifications import rule_apis

urlpatterns = [
    path("rules", rule_apis.RuleListApi.as_view(), name="alert-rules"),
    path("rules/<int:rule_id>", rule_apis.RuleDetailApi.as_view(), name="alert-rule"),
    path("rules/<int:rule_id>/preview", rule_apis.RulePreviewApi.as_view(), name="alert-rule-preview"),
    path("rules/<int:rule_id>/runs", rule_apis.RuleRunListApi.as_view(), name="alert-rule-runs"),
    path("events", rule_apis.AlertEventListApi.as_view(), name="alert-events"),
]
