"""Projects, labels, members, progress and next-image endpoints (thin: validate → service/selector → shape)."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.base import paginated
from labeling.api.serializers import (ImageOutputSerializer, LabelOutputSerializer, MembershipOutputSerializer,
                                      ProjectOutputSerializer)
from labeling.errors import ClickLabelError
from labeling.models import Membership, Role
from labeling.permissions import Action, access_project
from labeling.selectors.projects import label_list, membership_list, project_list, project_progress
from labeling.services.projects import label_create, membership_remove, membership_set, project_create, project_update
from labeling.services.workflow import image_next_for_user


def _roles(user: Any, project_ids: list[int]) -> dict[int, str]:
    return dict(Membership.objects.filter(user_id=user.pk, project_id__in=project_ids)
                .values_list("project_id", "role"))


def _project_response(request: Request, project: Any, code: int = status.HTTP_200_OK) -> Response:
    context = {"roles": _roles(request.user, [project.pk])}
    return Response(ProjectOutputSerializer(project, context=context).data, status=code)


class ProjectListCreateApi(APIView):
    class ProjectCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        default_model = serializers.CharField(required=False, max_length=200, default="default")
        default_mode = serializers.CharField(required=False, max_length=32, default="f-brs-b")

    @extend_schema(responses=ProjectOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        projects = project_list(user=request.user).prefetch_related("labels")
        ids = list(projects.values_list("id", flat=True))
        return paginated(request, self, projects, ProjectOutputSerializer, {"roles": _roles(request.user, ids)})

    @extend_schema(request=ProjectCreateInputSerializer, responses={201: ProjectOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.ProjectCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_create(user=request.user, **data.validated_data)
        return _project_response(request, project, status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    class ProjectUpdateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        default_model = serializers.CharField(required=False, max_length=200)
        default_mode = serializers.CharField(required=False, max_length=32)

    @extend_schema(responses=ProjectOutputSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        return _project_response(request, access_project(request.user, project_id))

    @extend_schema(request=ProjectUpdateInputSerializer, responses=ProjectOutputSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_PROJECT)
        data = self.ProjectUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return _project_response(request, project_update(project=project, user=request.user, **data.validated_data))


class ProjectProgressApi(APIView):
    @extend_schema(responses=inline_serializer("Progress", {
        "total": serializers.IntegerField(), "by_status": serializers.DictField(child=serializers.IntegerField()),
        "done_fraction": serializers.FloatField()}))
    def get(self, request: Request, project_id: int) -> Response:
        return Response(project_progress(project=access_project(request.user, project_id)))


class ProjectNextImageApi(APIView):
    @extend_schema(responses={200: ImageOutputSerializer, 204: OpenApiResponse(description="Nothing left to annotate.")})
    def get(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.ANNOTATE)
        image = image_next_for_user(project=project, user=request.user)
        if image is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ImageOutputSerializer(image).data)


class ProjectLabelsApi(APIView):
    class LabelCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        color = serializers.CharField(max_length=7, required=False, default="#ff0000")
        order = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)

    @extend_schema(responses=LabelOutputSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id)
        return Response(LabelOutputSerializer(label_list(project=project), many=True).data)

    @extend_schema(request=LabelCreateInputSerializer, responses={201: LabelOutputSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_LABELS)
        data = self.LabelCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = label_create(project=project, user=request.user, **data.validated_data)
        return Response(LabelOutputSerializer(label).data, status=status.HTTP_201_CREATED)


def _member_user(value: Any) -> Any:
    users = get_user_model().objects.filter(is_active=True)
    user = (users.filter(pk=int(value)).first() if isinstance(value, int) or str(value).isdigit()
            else users.filter(username=str(value)).first())
    if user is None:
        raise ClickLabelError(f"No active user {value!r}.", code="invalid_user")
    return user


class ProjectMembersApi(APIView):
    class MemberAddInputSerializer(serializers.Serializer):
        user = serializers.CharField(help_text="User id or username.")
        role = serializers.ChoiceField(choices=Role.choices, default=Role.ANNOTATOR)

    @extend_schema(responses=MembershipOutputSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id)
        return Response(MembershipOutputSerializer(membership_list(project=project), many=True).data)

    @extend_schema(request=MemberAddInputSerializer, responses={201: MembershipOutputSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_MEMBERS)
        data = self.MemberAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_set(project=project, user=request.user, member=_member_user(data.validated_data["user"]),
                                    role=data.validated_data["role"])
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class ProjectMemberDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_MEMBERS)
        membership_remove(project=project, user=request.user, member=_member_user(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
