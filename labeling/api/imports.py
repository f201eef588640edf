"""COCO import: POST /api/projects/{id}/import/coco/ with a COCO JSON as multipart `file` or as the body."""
from __future__ import annotations

import json

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.errors import ClickLabelError
from labeling.permissions import Action, access_project
from labeling.services.imports import coco_import

DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024


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
        report = coco_import(project=project, coco=coco, user=request.user)
        return Response(report.to_dict(), status=status.HTTP_200_OK)
