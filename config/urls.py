"""URL map: admin, health, the logs API and pages."""

from django.contrib import admin
from django.urls import include, path

from config.health import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/health", health, name="health"),
    path("api/logs/", include("uploads_app.api_urls")),
]
