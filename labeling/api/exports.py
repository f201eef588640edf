"""Exports: jobs (POST /api/projects/{id}/exports/, GET /api/exports/{id}/ and its download) and the direct
export of a small project (GET /api/projects/{id}/export/)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.streaming import ChunkedFileResponse
from labeling.errors import ClickLabelError, Conflict, NotFound
from labeling.exports import FORMATS, check_format
from labeling.models import ExportJob, ExportStatus
from labeling.permissions import Action, access_project
from labeling.selectors.exports import export_job_filename, export_job_get, project_export
from labeling.services.exports import export_job_create


def _list_param(value: Any) -> list[str] | None:
    """A list from JSON (list) or a query/form string ("a,b"); None when absent or empty."""
    if value in (None, "", []):
        return None
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        items = [v.strip() for v in str(value).split(",")]
    return [v for v in items if v] or None


def _int_list(value: Any) -> list[int] | None:
    items = _list_param(value)
    if items is None:
        return None
    try:
        return [int(v) for v in items]
    except ValueError:
        raise ClickLabelError("labels must be label ids (integers).", code="invalid_filter") from None


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _job_body(request: Request, job: ExportJob) -> dict:
    status_url = request.build_absolute_uri(reverse("api-export", args=[job.pk]))
    download = (request.build_absolute_uri(reverse("api-export-download", args=[job.pk]))
                if job.status == ExportStatus.DONE else None)
    return {"id": job.pk, "project": job.project_id, "format": job.format, "options": job.options,
            "status": job.status, "progress": job.progress, "error": job.error,
            "created_at": job.created_at, "finished_at": job.finished_at,
            "status_url": status_url, "download_url": download}


_job = inline_serializer("ExportJob", fields={
    "id": serializers.IntegerField(), "project": serializers.IntegerField(), "format": serializers.CharField(),
    "status": serializers.CharField(), "progress": serializers.FloatField(), "error": serializers.CharField(),
    "status_url": serializers.URLField(), "download_url": serializers.URLField(allow_null=True)})


class ProjectExportsApi(APIView):
    """POST /api/projects/{id}/exports/ — start an export job."""

    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=list(FORMATS))
        statuses = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
        labels = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True)
        include_images = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses={202: _job})
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.EXPORT)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = export_job_create(project=project, user=request.user, fmt=data.validated_data["format"],
                                statuses=data.validated_data.get("statuses"),
                                label_ids=data.validated_data.get("labels"),
                                include_images=data.validated_data["include_images"])
        return Response(_job_body(request, job), status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(APIView):
    """GET /api/exports/{id}/ — status and progress of an export job."""

    @extend_schema(responses=_job)
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_body(request, export_job_get(user=request.user, job_id=job_id)))


class ExportDownloadApi(APIView):
    """GET /api/exports/{id}/download/ — the finished file (409 until done)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="the export file"),
                              409: OpenApiResponse(description="The export is not done (or failed).")})
    def get(self, request: Request, job_id: int) -> ChunkedFileResponse:
        job = export_job_get(user=request.user, job_id=job_id)
        if job.status != ExportStatus.DONE or not job.file:
            raise Conflict(f"The export is {job.status}; download it once it is done.", code="export_not_ready",
                           details={"status": job.status, "error": job.error})
        name = export_job_filename(job=job)
        content_type = "application/json" if name.endswith(".json") else "application/zip"
        try:
            handle = job.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise NotFound("The export file is missing from storage.") from None
        return ChunkedFileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


class _FormatIsOurs(DefaultContentNegotiation):
    """DRF reads `?format=` as a renderer choice; on the export endpoint it names the export format."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class ProjectDirectExportApi(APIView):
    """GET /api/projects/{id}/export/?format=&statuses=&labels=&include_images= — small exports at once."""

    content_negotiation_class = _FormatIsOurs

    @extend_schema(parameters=[
        OpenApiParameter("format", str, required=True, enum=list(FORMATS)),
        OpenApiParameter("statuses", str, description="comma-separated image statuses"),
        OpenApiParameter("labels", str, description="comma-separated label ids"),
        OpenApiParameter("include_images", bool)],
        responses={(200, "application/octet-stream"): OpenApiResponse(description="JSON or zip"),
                   413: OpenApiResponse(description="too large: use POST /api/projects/{id}/exports/")})
    def get(self, request: Request, project_id: int) -> ChunkedFileResponse:
        project = access_project(request.user, project_id, Action.EXPORT)
        params = request.query_params
        fmt = check_format(params.get("format", ""))
        result = project_export(project=project, fmt=fmt, statuses=_list_param(params.get("statuses")),
                                label_ids=_int_list(params.get("labels")),
                                include_images=_flag(params.get("include_images", "")))
        # streamed from the export's temporary file, which the response deletes once sent
        return ChunkedFileResponse(result.file, as_attachment=True, filename=result.filename,
                            content_type=result.content_type)
