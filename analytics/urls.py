from django.urls import path

from analytics import views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("search/events/<str:doc_id>/", views.event_page, name="event"),
    path("analytics/", views.analytics_page, name="analytics"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("fraud/", views.coming_soon, {"page": "fraud"}, name="fraud"),
]
