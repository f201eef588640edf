"""Moving data in and out of a project: image upload, exports (jobs and direct), COCO import.

Thin views: parse the request, authorize through `labeling.permissions`, call the service, serialise.
Errors are `ClickLabelError`s rendered by the API's exception handler.
"""
from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.errors import ClickLabelError, Conflict, NotFound, UploadRejected
from labeling.exports import FORMATS, check_format, export_project
from labeling.exports.jobs import export_job_create
from labeling.exports.source import validate_filters
from labeling.models import ExportJob, ExportStatus, Image
from labeling.permissions import Action, access_project, require
from labeling.services.images import add_images
from labeling.services.imports import import_coco

DEFAULT_DIRECT_EXPORT_MAX_IMAGES = 200
DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024

_report = inline_serializer("UploadReport", fields={
    "accepted": serializers.ListField(child=serializers.DictField()),
    "refused": serializers.ListField(child=serializers.DictField()),
    "counts": serializers.DictField(child=serializers.IntegerField()),
})


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


class ProjectImagesUploadApi(APIView):
    """POST /api/projects/{id}/images/ — multipart `files` (images and/or zips)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("ImageUpload", fields={
            "files": serializers.ListField(child=serializers.FileField())})},
        responses={201: _report, 400: OpenApiResponse(description="nothing accepted; details hold the report")})
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_IMAGES)
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not files:
            raise UploadRejected('Send one or more files in the multipart field "files".', code="no_files")
        report = add_images(project, [(f.name, f) for f in files], request.user)
        body = report.to_dict()
        if not report.accepted:
            first = report.refused[0].reason if report.refused else "no image found"
            raise UploadRejected(f"No file was accepted: {first}", details=body)
        return Response(body, status=status.HTTP_201_CREATED)


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


def _access_job(request: Request, job_id: int) -> ExportJob:
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("Export not found.")
    try:
        require(request.user, job.project_id, Action.EXPORT)
    except NotFound:
        raise NotFound("Export not found.") from None
    return job


class ExportDetailApi(APIView):
    """GET /api/exports/{id}/ — status and progress of an export job."""

    @extend_schema(responses=_job)
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_body(request, _access_job(request, job_id)))


class ExportDownloadApi(APIView):
    """GET /api/exports/{id}/download/ — the finished file (409 until done)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="the export file")})
    def get(self, request: Request, job_id: int) -> FileResponse:
        job = _access_job(request, job_id)
        if job.status != ExportStatus.DONE or not job.file:
            raise Conflict(f"The export is {job.status}; download it once it is done.", code="export_not_ready",
                           details={"status": job.status, "error": job.error})
        name = job.file.name.rsplit("/", 1)[-1].split("-", 1)[-1]
        content_type = "application/json" if name.endswith(".json") else "application/zip"
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name, content_type=content_type)


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
    def get(self, request: Request, project_id: int) -> HttpResponse:
        project = access_project(request.user, project_id, Action.EXPORT)
        fmt = check_format(request.query_params.get("format", ""))
        statuses, label_ids = validate_filters(project, _list_param(request.query_params.get("statuses")),
                                               _int_list(request.query_params.get("labels")))
        images = Image.objects.filter(project=project)
        if statuses:
            images = images.filter(status__in=statuses)
        limit = int(getattr(settings, "CLICKLABEL_DIRECT_EXPORT_MAX_IMAGES", DEFAULT_DIRECT_EXPORT_MAX_IMAGES))
        count = images.count()
        if count > limit:
            raise ClickLabelError(f"{count} images are more than {limit} for a direct export; start an export job "
                                  f"with POST /api/projects/{project.pk}/exports/.", code="export_too_large",
                                  status=413, details={"images": count, "limit": limit})
        result = export_project(project, fmt, statuses=statuses, label_ids=label_ids,
                                include_images=_flag(request.query_params.get("include_images", "")))
        response = HttpResponse(result.data, content_type=result.content_type)
        response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
        return response


class ProjectCocoImportApi(APIView):
    """POST /api/projects/{id}/import/coco/ — a COCO JSON as multipart `file` or as the JSON body."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": inline_serializer("CocoUpload", fields={
        "file": serializers.FileField()}), "application/json": dict},
        responses={200: inline_serializer("ImportReport", fields={
            "imported": serializers.ListField(child=serializers.DictField()),
            "skipped": serializers.ListField(child=serializers.DictField()),
            "counts": serializers.DictField(child=serializers.IntegerField())})})
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.IMPORT)
        upload = request.FILES.get("file")
        if upload is not None:
            limit = int(getattr(settings, "CLICKLABEL_MAX_IMPORT_BYTES", DEFAULT_MAX_IMPORT_BYTES))
            if upload.size > limit:
                raise ClickLabelError(f"The COCO file has {upload.size:,} bytes, more than {limit:,}.",
                                      code="invalid_coco", status=413)
            try:
                coco = json.loads(upload.read())
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ClickLabelError(f"The file is not valid JSON ({exc}).", code="invalid_coco") from exc
        else:
            coco = request.data
        if hasattr(coco, "dict") and not isinstance(coco, dict):
            coco = coco.dict()
        report = import_coco(project, coco, request.user)
        return Response(report.to_dict(), status=status.HTTP_200_OK)
