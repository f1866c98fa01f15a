from django.urls import path

from analytics import apis

urlpatterns = [
    path("search", apis.SearchApi.as_view(), name="search-api"),
    path("search/export", apis.SearchExportApi.as_view(), name="search-export"),
    path("events/<str:doc_id>", apis.EventDetailApi.as_view(), name="event-detail"),
    path("analytics/<str:panel>", apis.AnalyticsPanelApi.as_view(), name="analytics-panel"),
    path("dashboard", apis.DashboardApi.as_view(), name="dashboard-api"),
]
