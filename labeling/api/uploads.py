"""Image upload: POST /api/projects/{id}/images/ with loose image files and/or zips (multipart `files`)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.errors import UploadRejected
from labeling.permissions import Action, access_project
from labeling.services.images import image_upload_files

_report = inline_serializer("UploadReport", fields={
    "accepted": serializers.ListField(child=serializers.DictField()),
    "refused": serializers.ListField(child=serializers.DictField()),
    "counts": serializers.DictField(child=serializers.IntegerField()),
})


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
        report = image_upload_files(project=project, files=[(f.name, f) for f in files], user=request.user)
        body = report.to_dict()
        if not report.accepted:
            first = report.refused[0].reason if report.refused else "no image found"
            raise UploadRejected(f"No file was accepted: {first}", details=body)
        return Response(body, status=status.HTTP_201_CREATED)
