"""Image endpoints: list/detail (also under their project), the bytes, a thumbnail, submit, review, assign and
the autosave draft."""
from __future__ import annotations

import mimetypes

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.base import paginated
from labeling.api.pagination import StandardPagination
from labeling.api.serializers import (DraftOutputSerializer, ImageDetailOutputSerializer, ImageOutputSerializer,
                                      ReviewOutputSerializer)
from labeling.api.streaming import ChunkedFileResponse
from labeling.errors import NotFound
from labeling.models import ReviewDecision
from labeling.api.uploads import ProjectImagesUploadApi
from labeling.permissions import Action, access_image, access_project
from labeling.selectors.annotations import draft_get
from labeling.selectors.images import image_last_review, image_list
from labeling.selectors.users import user_get_active
from labeling.services.drafts import draft_delete, draft_save
from labeling.services.thumbnails import thumbnail_get_or_create
from labeling.services.workflow import image_assign, image_review, image_submit


class ImageListApi(APIView):
    pagination_class = StandardPagination  # GET answers one page (labeling.api.base.paginated)

    @extend_schema(parameters=[
        OpenApiParameter("project", int), OpenApiParameter("status", str, description="one or several, comma-separated"),
        OpenApiParameter("assignee", str, description="user id, 'me' or 'none'")],
        responses=ImageOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        project = request.query_params.get("project")
        if project not in (None, "") and not str(project).isdigit():
            raise NotFound("Project not found.")
        images = image_list(user=request.user, project_id=int(project) if project else None,
                            status=request.query_params.get("status"), assignee=request.query_params.get("assignee"))
        return paginated(request, self, images, ImageOutputSerializer)


class ProjectImagesApi(ProjectImagesUploadApi):
    """GET /api/projects/{id}/images/ — the project's images (filters as /api/images/); POST uploads."""

    pagination_class = StandardPagination  # GET answers one page (labeling.api.base.paginated)

    @extend_schema(parameters=[
        OpenApiParameter("status", str, description="one or several, comma-separated"),
        OpenApiParameter("assignee", str, description="user id, 'me' or 'none'")],
        responses=ImageOutputSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id)
        images = image_list(user=request.user, project_id=project.pk, status=request.query_params.get("status"),
                            assignee=request.query_params.get("assignee"))
        return paginated(request, self, images, ImageOutputSerializer)


def _detail(image) -> dict:
    return ImageDetailOutputSerializer(image, context={"last_review": image_last_review(image=image)}).data


class ImageDetailApi(APIView):
    @extend_schema(responses=ImageDetailOutputSerializer)
    def get(self, request: Request, image_id: int) -> Response:
        return Response(_detail(access_image(request.user, image_id)))


class ImageFileApi(APIView):
    @extend_schema(responses={(200, "image/*"): OpenApiResponse(description="The image bytes.")})
    def get(self, request: Request, image_id: int) -> ChunkedFileResponse:
        image = access_image(request.user, image_id)
        try:
            handle = image.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise NotFound("The image file is missing from storage.") from None
        content_type = mimetypes.guess_type(image.file.name)[0] or "application/octet-stream"
        response = ChunkedFileResponse(handle, content_type=content_type)
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ImageThumbApi(APIView):
    @extend_schema(responses={(200, "image/jpeg"): OpenApiResponse(description="A JPEG of at most 96×96 px.")})
    def get(self, request: Request, image_id: int) -> HttpResponse:
        image = access_image(request.user, image_id)
        try:
            data = thumbnail_get_or_create(image=image)
        except (OSError, ValueError):
            raise NotFound("The image file is missing from storage.") from None
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ImageSubmitApi(APIView):
    @extend_schema(request=None, responses=ImageDetailOutputSerializer)
    def post(self, request: Request, image_id: int) -> Response:
        image = access_image(request.user, image_id)
        return Response(_detail(image_submit(image=image, user=request.user)))


class ImageReviewApi(APIView):
    class ReviewInputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=ReviewDecision.choices)
        comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)

    @extend_schema(request=ReviewInputSerializer, responses={201: ReviewOutputSerializer})
    def post(self, request: Request, image_id: int) -> Response:
        image = access_image(request.user, image_id)
        data = self.ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = image_review(image=image, user=request.user, **data.validated_data)
        return Response(ReviewOutputSerializer(review).data, status=status.HTTP_201_CREATED)


class ImageAssignApi(APIView):
    class AssignInputSerializer(serializers.Serializer):
        assignee = serializers.IntegerField(allow_null=True, help_text="User id, or null to unassign.")

    @extend_schema(request=AssignInputSerializer, responses=ImageDetailOutputSerializer)
    def post(self, request: Request, image_id: int) -> Response:
        image = access_image(request.user, image_id, Action.MANAGE_IMAGES)
        data = self.AssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignee_id = data.validated_data["assignee"]
        assignee = user_get_active(user_id=assignee_id) if assignee_id is not None else None
        return Response(_detail(image_assign(image=image, user=request.user, assignee=assignee)))


class ImageDraftApi(APIView):
    class DraftInputSerializer(serializers.Serializer):
        state = serializers.JSONField(help_text="Any JSON object, at most 1 MB serialised.")

    @extend_schema(responses={200: DraftOutputSerializer, 204: OpenApiResponse(description="No draft.")})
    def get(self, request: Request, image_id: int) -> Response:
        draft = draft_get(image=access_image(request.user, image_id), user=request.user)
        if draft is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(DraftOutputSerializer(draft).data)

    @extend_schema(request=DraftInputSerializer, responses=DraftOutputSerializer)
    def put(self, request: Request, image_id: int) -> Response:
        image = access_image(request.user, image_id)
        data = self.DraftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = draft_save(image=image, user=request.user, state=data.validated_data["state"])
        return Response(DraftOutputSerializer(draft).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, image_id: int) -> Response:
        draft_delete(image=access_image(request.user, image_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
