from django.urls import path

from analytics import apis
from analytics.fraud import apis as fraud_apis

urlpatterns = [
    path("search", apis.SearchApi.as_view(), name="search-api"),
    path("search/export", apis.SearchExportApi.as_view(), name="search-export"),
    path("events/<str:doc_id>", apis.EventDetailApi.as_view(), name="event-detail"),
    path("analytics/<str:panel>", apis.AnalyticsPanelApi.as_view(), name="analytics-panel"),
    path("anomalies", apis.AnomaliesApi.as_view(), name="anomalies-api"),
    path("dashboard", apis.DashboardApi.as_view(), name="dashboard-api"),
    path("live", apis.LiveApi.as_view(), name="live-api"),
    path("fraud/alerts", fraud_apis.AlertListApi.as_view(), name="fraud-alerts"),
    path("fraud/alerts/<int:alert_id>", fraud_apis.AlertDetailApi.as_view(), name="fraud-alert"),
    path("fraud/alerts/<int:alert_id>/status", fraud_apis.AlertStatusApi.as_view(), name="fraud-alert-status"),
    path("fraud/rules", fraud_apis.RuleListApi.as_view(), name="fraud-rules"),
    path("fraud/scan", fraud_apis.ScanApi.as_view(), name="fraud-scan"),
]
