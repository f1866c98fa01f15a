from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class UploadsAppConfig(AppConfig):
    name = "uploads_app"
    default = True


class LogsAdminConfig(admin_apps.AdminConfig):
    """Django's admin on our site class, which adds the "Upload jobs" pages over MongoDB."""

    default = False
    default_site = "uploads_app.admin_site.LogsAdminSite"
