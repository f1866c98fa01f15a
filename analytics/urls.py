from django.urls import path

from analytics import views
from analytics.fraud import views as fraud_views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("search/events/<str:doc_id>/", views.event_page, name="event"),
    path("live/", views.live_page, name="live"),
    path("analytics/", views.analytics_page, name="analytics"),
    path("anomalies/", views.anomalies_page, name="anomalies"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("fraud/", fraud_views.alert_queue, name="fraud"),
    path("fraud/alerts/<int:alert_id>/", fraud_views.alert_page, name="fraud-alert-page"),
    path("fraud/alerts/<int:alert_id>/status", fraud_views.alert_status, name="fraud-alert-page-status"),
]
