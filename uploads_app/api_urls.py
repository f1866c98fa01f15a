from django.urls import path

from uploads_app import apis

urlpatterns = [
    path("upload", apis.UploadCreateApi.as_view(), name="upload-create"),
    path("uploads", apis.UploadListApi.as_view(), name="upload-list"),
    path("uploads/<str:file_id>", apis.UploadDeleteApi.as_view(), name="upload-delete"),
    path("jobs/<str:job_id>", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<str:job_id>/retry", apis.JobRetryApi.as_view(), name="job-retry"),
    path("jobs/<str:job_id>/reindex-fallback", apis.JobReindexFallbackApi.as_view(), name="job-reindex-fallback"),
]
