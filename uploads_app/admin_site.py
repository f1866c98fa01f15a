"""The admin site, with "Upload jobs" pages over the jobs in MongoDB (no copy in the SQL database).

The pages are extra admin views (`get_urls` + `admin_view`, so staff only) that call the same ingestion
selectors and services as the job pages, rendered in the admin's own templates and styles.
"""

import math

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import ApplicationError
from ingestion import selectors
from ingestion.enums import JobStatus
from ingestion.job import Job
from ingestion.services import jobs

PER_PAGE = 50


class LogsAdminSite(admin.AdminSite):
    site_header = "Log platform administration"
    site_title = "Log platform admin"

    def get_urls(self):
        pages = [
            path("upload-jobs/", self.admin_view(self.job_list), name="upload-jobs"),
            path("upload-jobs/<str:job_id>/", self.admin_view(self.job_detail), name="upload-job"),
            path("upload-jobs/<str:job_id>/retry/", self.admin_view(self.job_retry), name="upload-job-retry"),
            path("upload-jobs/<str:job_id>/delete/", self.admin_view(self.job_delete), name="upload-job-delete"),
        ]
        return pages + super().get_urls()

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        if app_label in (None, "upload_jobs"):
            url = reverse("admin:upload-jobs", current_app=self.name)
            entry = {"name": "Upload jobs", "object_name": "UploadJob", "admin_url": url, "view_only": True}
            apps.insert(
                0,
                {
                    "name": "Uploads",
                    "app_label": "upload_jobs",
                    "app_url": url,
                    "has_module_perms": True,
                    "models": [{**entry, "perms": {"view": True}, "add_url": None}],
                },
            )
        return apps

    def _context(self, request: HttpRequest, title: str) -> dict:
        return {**self.each_context(request), "title": title, "opts": {"app_label": "upload_jobs"}}

    def _job(self, request: HttpRequest, job_id: str) -> Job:
        try:
            return selectors.job_get(job_id=job_id, user=request.user)
        except ApplicationError as error:
            raise Http404(error.message) from error

    def job_list(self, request: HttpRequest) -> HttpResponse:
        status = request.GET.get("status") if request.GET.get("status") in set(JobStatus) else None
        search = request.GET.get("q", "").strip()[:200]
        try:
            page = max(1, min(int(request.GET.get("p", 1)), 10**6))
        except ValueError:
            page = 1
        items, total = selectors.job_page(
            user=request.user, status_filter=status, page=page, page_size=PER_PAGE, search=search or None
        )
        context = {
            **self._context(request, "Upload jobs"),
            "jobs": [(job, selectors.job_detail(job)) for job in items],
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "status": status or "",
            "q": search,
            "statuses": list(JobStatus),
            # The admin's app sidebar would take a quarter of a 1366 px screen from the table; the breadcrumbs
            # lead back to the other admin pages.
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/upload_jobs/list.html", context)

    def job_detail(self, request: HttpRequest, job_id: str) -> HttpResponse:
        job = self._job(request, job_id)
        dead_letters, dead_total = selectors.dead_letters_page(job=job, page=1, page_size=100)
        context = {
            **self._context(request, f"Upload job {job.filename}"),
            "job": job,
            "detail": selectors.job_detail(job),
            "stage_timings": selectors.stage_timings(job),
            "dead_letters": dead_letters,
            "dead_total": dead_total,
            "tasks": selectors.job_task_results(job=job),
        }
        return TemplateResponse(request, "admin/upload_jobs/detail.html", context)

    @staticmethod
    def _back(request: HttpRequest, job: Job) -> HttpResponse:
        return redirect(reverse("admin:upload-job", kwargs={"job_id": job.job_id}))

    @method_decorator(require_POST)
    def job_retry(self, request: HttpRequest, job_id: str) -> HttpResponse:
        job = self._job(request, job_id)
        try:
            jobs.job_retry(job=job)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Retry of “{job.filename}” queued.")
        return self._back(request, job)

    @method_decorator(require_http_methods(["GET", "POST"]))
    def job_delete(self, request: HttpRequest, job_id: str) -> HttpResponse:
        job = self._job(request, job_id)
        if request.method != "POST":
            context = {**self._context(request, "Are you sure?"), "job": job}
            return TemplateResponse(request, "admin/upload_jobs/delete_confirmation.html", context)
        try:
            deleted = jobs.job_delete(job=job)
        except ApplicationError as error:
            messages.error(request, error.message)
            return self._back(request, job)
        messages.success(request, f"Deleted “{job.filename}” and its {deleted:,} indexed documents.")
        return redirect(reverse("admin:upload-jobs"))
