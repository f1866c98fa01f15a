from django.urls import path

from uploads_app import jwt_apis

urlpatterns = [
    path("token", jwt_apis.TokenObtainApi.as_view(), name="jwt-obtain"),
    path("token/refresh", jwt_apis.TokenRefreshApi.as_view(), name="jwt-refresh"),
]
