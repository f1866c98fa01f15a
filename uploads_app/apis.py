"""The logs REST API: thin views that parse input, call one service or selector, and render."""

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.errors import ApplicationError
from uploads_app import selectors, services
from uploads_app.storage import IncomingFile

STATUSES = ("pending", "processing", "completed", "completed_with_errors", "failed")


class UploadCreateApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        log_type = serializers.CharField(required=False, allow_blank=True, max_length=40)

    def post(self, request: Request) -> Response:
        files = request.FILES  # parses the body: our upload handler streams it to disk now
        refusal = getattr(request._request, "upload_refusal", None)
        if refusal:
            raise ApplicationError(*refusal)
        if "file" not in files:
            raise ApplicationError("No file provided")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incoming = serializer.validated_data["file"]
        if not isinstance(incoming, IncomingFile):
            raise ApplicationError("No file provided")
        upload = services.upload_create(
            user=request.user,
            incoming=incoming,
            filename=incoming.name,
            log_type=serializer.validated_data.get("log_type", ""),
        )
        data = {
            **selectors.upload_summary(upload),
            "preview_lines": upload["preview_lines"],
            "preview": upload["preview"],
        }
        return Response(
            {"success": True, "message": "File uploaded successfully", "data": data}, status=status.HTTP_201_CREATED
        )


class UploadListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=STATUSES, required=False)
        page = serializers.IntegerField(min_value=1, default=1)
        page_size = serializers.IntegerField(min_value=1, max_value=200, default=50)

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = selectors.upload_page(
            user=request.user,
            status_filter=filters.validated_data.get("status"),
            page=filters.validated_data["page"],
            page_size=filters.validated_data["page_size"],
        )
        return Response(page)


class UploadDeleteApi(APIView):
    def delete(self, request: Request, file_id: str) -> Response:
        upload = selectors.upload_get_by_file(file_id=file_id, user=request.user)
        deleted = services.upload_delete(upload=upload)
        return Response({"success": True, "message": "Upload deleted", "documents_deleted": deleted})


class JobDetailApi(APIView):
    def get(self, request: Request, job_id: str) -> Response:
        upload = selectors.upload_get_by_job(job_id=job_id, user=request.user)
        return Response(selectors.job_detail(upload))


class JobRetryApi(APIView):
    def post(self, request: Request, job_id: str) -> Response:
        upload = selectors.upload_get_by_job(job_id=job_id, user=request.user)
        upload = services.job_retry(upload=upload)
        return Response(selectors.job_detail(upload), status=status.HTTP_202_ACCEPTED)
