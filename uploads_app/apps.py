from django.apps import AppConfig


class UploadsAppConfig(AppConfig):
    name = "uploads_app"
