"""The logs REST API: thin views that parse input, call one ingestion service or selector, and render."""

from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.errors import ApplicationError
from ingestion import selectors
from ingestion.enums import JobStatus
from ingestion.files import ReceivedFile
from ingestion.job import Job
from ingestion.services import jobs


def _summary(job: Job) -> dict:
    return {**selectors.job_summary(job), "status_url": reverse("job-detail", kwargs={"job_id": job.job_id})}


class UploadCreateApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        log_type = serializers.CharField(required=False, allow_blank=True, max_length=40)

    def post(self, request: Request) -> Response:
        if "file" not in request.FILES:  # parses the body: our upload handler streams it to disk now
            raise ApplicationError("No file provided")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        received = serializer.validated_data["file"]
        if not isinstance(received, ReceivedFile):
            raise ApplicationError("No file provided")
        job = jobs.job_create(
            owner=request.user, received=received, log_type=serializer.validated_data.get("log_type", "")
        )
        data = {**_summary(job), "preview_lines": job.preview_lines, "preview": job.preview}
        return Response(
            {"success": True, "message": "File uploaded successfully", "data": data}, status=status.HTTP_201_CREATED
        )


class UploadListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[item.value for item in JobStatus], required=False)
        page = serializers.IntegerField(min_value=1, default=1)
        page_size = serializers.IntegerField(min_value=1, max_value=200, default=50)

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page, page_size = filters.validated_data["page"], filters.validated_data["page_size"]
        items, total = selectors.job_page(
            user=request.user, status_filter=filters.validated_data.get("status"), page=page, page_size=page_size
        )
        return Response(
            {"count": total, "page": page, "page_size": page_size, "results": [_summary(job) for job in items]}
        )


class UploadDeleteApi(APIView):
    def delete(self, request: Request, file_id: str) -> Response:
        job = selectors.job_get_by_file(file_id=file_id, user=request.user)
        deleted = jobs.job_delete(job=job)
        return Response({"success": True, "message": "Upload deleted", "documents_deleted": deleted})


class JobDetailApi(APIView):
    def get(self, request: Request, job_id: str) -> Response:
        return Response(selectors.job_detail(selectors.job_get(job_id=job_id, user=request.user)))


class JobRetryApi(APIView):
    def post(self, request: Request, job_id: str) -> Response:
        job = jobs.job_retry(job=selectors.job_get(job_id=job_id, user=request.user))
        return Response(selectors.job_detail(job), status=status.HTTP_202_ACCEPTED)
