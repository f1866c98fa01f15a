from django.urls import path

from uploads_app import retention_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("uploads/", views.upload_page, name="upload"),
    path("settings/retention/", retention_views.retention_settings, name="retention-settings"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/<str:job_id>/", views.job_detail, name="job-page"),
    path("jobs/<str:job_id>/dead-letters.csv", views.dead_letters_csv, name="job-dead-letters"),
    path("jobs/<str:job_id>/set-aside.csv", views.set_aside_csv, name="job-set-aside"),
    path("jobs/<str:job_id>/retry", views.job_retry, name="job-page-retry"),
    path("jobs/<str:job_id>/reindex-fallback", views.job_reindex, name="job-page-reindex"),
    path("jobs/<str:job_id>/delete", views.job_delete, name="job-page-delete"),
    path("streams/<str:stream_id>/", views.stream_detail, name="stream-page"),
    path("streams/<str:stream_id>/dead-letters.csv", views.stream_dead_letters_csv, name="stream-dead-letters"),
]
