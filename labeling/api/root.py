"""GET /api/ — the resources of the API with their URLs (public: it reveals no data), and GET /api/engine/ —
the modes and models a project may use."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.selectors.engine import project_mode_options, project_model_choices

# Templated URLs of the resources nested under one object ({id} = its id), relative to the server.
NESTED = {
    "project": {
        "detail": "/api/projects/{id}/", "images": "/api/projects/{id}/images/",
        "labels": "/api/projects/{id}/labels/", "members": "/api/projects/{id}/members/",
        "progress": "/api/projects/{id}/progress/", "next_image": "/api/projects/{id}/next-image/",
        "exports": "/api/projects/{id}/exports/", "export": "/api/projects/{id}/export/",
        "import_coco": "/api/projects/{id}/import/coco/",
    },
    "image": {
        "detail": "/api/images/{id}/", "file": "/api/images/{id}/file/", "thumb": "/api/images/{id}/thumb/",
        "submit": "/api/images/{id}/submit/", "review": "/api/images/{id}/review/",
        "assign": "/api/images/{id}/assign/", "draft": "/api/images/{id}/draft/",
        "annotations": "/api/annotations/?image={id}",
    },
    "annotation": {"detail": "/api/annotations/{id}/"},
    "export": {"detail": "/api/exports/{id}/", "download": "/api/exports/{id}/download/"},
}


class ApiRootApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=inline_serializer("ApiRoot", {
        "projects": serializers.URLField(), "images": serializers.URLField(),
        "annotations": serializers.URLField(), "engine": serializers.URLField(),
        "auth_token": serializers.URLField(), "schema": serializers.URLField(), "docs": serializers.URLField(),
        "nested": serializers.DictField()}))
    def get(self, request: Request) -> Response:
        def url(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        return Response({
            "projects": url("api-projects"), "images": url("api-images"), "annotations": url("api-annotations"),
            "engine": url("api-engine"), "auth_token": url("api-token"), "schema": url("schema"),
            "docs": url("api-docs"), "nested": NESTED,
        })


class EngineApi(APIView):
    @extend_schema(responses=inline_serializer("Engine", {
        "modes": inline_serializer("Mode", {"name": serializers.CharField(), "title": serializers.CharField(),
                                            "summary": serializers.CharField(),
                                            "technical": serializers.CharField()}, many=True),
        "models": serializers.ListField(child=serializers.CharField())}))
    def get(self, request: Request) -> Response:
        return Response({"modes": project_mode_options(), "models": [name for name, _ in project_model_choices()]})
