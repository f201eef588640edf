"""COCO import jobs: POST /api/projects/{id}/import/coco/ (a COCO JSON as multipart `file` or as the body)
answers 202 with the job; GET /api/imports/{id}/ shows its status, progress and report."""
from __future__ import annotations

import json

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.imports.coco import ImportReport
from labeling.models import ImportJob
from labeling.permissions import Action, access_project
from labeling.selectors.imports import import_job_get
from labeling.services.imports import import_job_create

_job = inline_serializer("ImportJob", fields={
    "id": serializers.IntegerField(), "project": serializers.IntegerField(), "file_name": serializers.CharField(),
    "status": serializers.CharField(help_text="pending, running, done or failed"),
    "progress": serializers.FloatField(), "processed": serializers.IntegerField(),
    "total": serializers.IntegerField(), "error": serializers.CharField(),
    "report": inline_serializer("ImportReport", fields={
        "imported": serializers.ListField(child=serializers.DictField()),
        "skipped": serializers.ListField(child=serializers.DictField()),
        "counts": serializers.DictField(child=serializers.IntegerField()),
        "truncated": serializers.BooleanField()}),
    "created_at": serializers.DateTimeField(), "finished_at": serializers.DateTimeField(allow_null=True),
    "status_url": serializers.URLField()})


def _job_body(request: Request, job: ImportJob) -> dict:
    """The job as the API shows it; before the job has read its file, the report is the empty one (zero counts),
    so `report` always has the documented shape."""
    return {"id": job.pk, "project": job.project_id, "file_name": job.file_name, "status": job.status,
            "progress": job.progress, "processed": job.cursor, "total": job.total, "error": job.error,
            "report": job.report or ImportReport().to_dict(), "created_at": job.created_at, "finished_at": job.finished_at,
            "status_url": request.build_absolute_uri(reverse("api-import", args=[job.pk]))}


class ProjectCocoImportApi(APIView):
    """POST /api/projects/{id}/import/coco/ — a COCO JSON as multipart `file` or as the JSON body → 202 job."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": inline_serializer("CocoUpload", fields={
        "file": serializers.FileField()}), "application/json": dict}, responses={202: _job})
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.IMPORT)
        upload = request.FILES.get("file")
        if upload is not None:
            job = import_job_create(project=project, user=request.user, data=upload, name=upload.name or "")
        else:
            coco = request.data
            if hasattr(coco, "dict") and not isinstance(coco, dict):
                coco = coco.dict()
            job = import_job_create(project=project, user=request.user, data=json.dumps(coco).encode(),
                                    name="request body")
        return Response(_job_body(request, job), status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(APIView):
    """GET /api/imports/{id}/ — status, progress and report of an import job."""

    @extend_schema(responses=_job)
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_body(request, import_job_get(user=request.user, job_id=job_id)))
