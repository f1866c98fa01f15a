"""Upload reads: what a user may see, shaped for the API and the pages."""

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from rest_framework import status

from config.errors import ApplicationError
from ingestion import services as ingestion
from uploads_app import repository as uploads_repo


def _visible(upload: dict | None, user: AbstractBaseUser) -> dict:
    # Another user's upload is reported exactly like a missing one, so ids cannot be probed.
    if upload is None or (not user.is_staff and upload["owner_id"] != user.pk):
        raise ApplicationError("Job not found", status.HTTP_404_NOT_FOUND)
    return upload


def upload_get_by_job(*, job_id: str, user: AbstractBaseUser) -> dict:
    return _visible(uploads_repo.get(job_id), user)


def upload_get_by_file(*, file_id: str, user: AbstractBaseUser) -> dict:
    return _visible(uploads_repo.get_by_file_id(file_id), user)


def upload_page(*, user: AbstractBaseUser, status_filter: str | None, page: int, page_size: int) -> dict:
    owner = None if user.is_staff else user.pk
    items, total = uploads_repo.page(owner_id=owner, status=status_filter, skip=(page - 1) * page_size, limit=page_size)
    return {"count": total, "page": page, "page_size": page_size, "results": [upload_summary(item) for item in items]}


def status_url(job_id: str) -> str:
    return reverse("job-detail", kwargs={"job_id": job_id})


def upload_summary(upload: dict) -> dict:
    return {
        "file_id": upload["file_id"],
        "job_id": upload["job_id"],
        "filename": upload["filename"],
        "file_type": upload["file_type"],
        "file_size": upload["file_size"],
        "total_lines": upload["total_lines"],
        "status": upload["status"],
        "uploaded_at": upload["created_at"],
        "status_url": status_url(upload["job_id"]),
    }


def job_detail(upload: dict) -> dict:
    """The job as the API shows it; a running job's counts are summed live from its chunks."""
    counts, indices, errors = upload["counts"], upload["indices"], upload["errors"]
    if upload["status"] == "processing":
        live = ingestion.job_progress(upload)
        counts = {"total_lines": upload["total_lines"], **live["counts"]}
        indices, errors = live["indices"], live["errors"]
    done = sum(value for name, value in counts.items() if name != "total_lines")
    return {
        "job_id": upload["job_id"],
        "file_id": upload["file_id"],
        "filename": upload["filename"],
        "status": upload["status"],
        "stage": upload["stage"],
        "attempt": upload["attempt"],
        "progress": round(100 * done / upload["total_lines"], 1) if upload["total_lines"] else 100.0,
        "counts": counts,
        "indices": indices,
        "errors": errors,
        "reason": upload.get("reason"),
        "log_type": upload.get("log_type"),
        "timestamp_field": upload.get("timestamp_field"),
        "field_types": upload.get("field_types", {}),
        "created_at": upload["created_at"],
        "started_at": upload.get("started_at"),
        "finished_at": upload.get("finished_at"),
        "stages": upload.get("stages", {}),
    }
