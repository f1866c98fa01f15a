from django.urls import path

from uploads_app import retention_apis

urlpatterns = [
    path("policy", retention_apis.PolicyApi.as_view(), name="retention-policy"),
    path("default", retention_apis.DefaultPolicyApi.as_view(), name="retention-default"),
    path("dry-run", retention_apis.DryRunApi.as_view(), name="retention-dry-run"),
    path("runs", retention_apis.RunListApi.as_view(), name="retention-runs"),
]
