"""URL map: pages, the REST API and its docs, the admin, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import errors
from config.health import HealthApi
from config.metrics import metrics_view

# Under /api/ even a URL no view matches (a non-integer alert id) answers the API's JSON error shape.
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error

urlpatterns = [
    path("", include("uploads_app.urls")),
    path("", include("analytics.urls")),
    path("notifications/", include("notifications.urls")),
    path("alerts/", include("notifications.rule_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/health", HealthApi.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("api/logs/", include("uploads_app.api_urls")),
    path("api/", include("uploads_app.ingest_urls")),
    path("api/auth/", include("uploads_app.auth_urls")),
    path("api/retention/", include("uploads_app.retention_api_urls")),
    path("api/", include("analytics.api_urls")),
    path("api/notifications/", include("notifications.api_urls")),
    path("api/alerts/", include("notifications.rule_api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
]
