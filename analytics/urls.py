from django.urls import path

from analytics import views

urlpatterns = [
    path("search/", views.coming_soon, {"page": "search"}, name="search"),
    path("analytics/", views.coming_soon, {"page": "analytics"}, name="analytics"),
    path("dashboard/", views.coming_soon, {"page": "dashboard"}, name="dashboard"),
    path("fraud/", views.coming_soon, {"page": "fraud"}, name="fraud"),
]
