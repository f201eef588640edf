"""Projects, labels, members, progress and next-image endpoints (thin: validate → service/selector → shape)."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.base import paginated
from labeling.api.pagination import StandardPagination
from labeling.api.serializers import (ImageOutputSerializer, LabelOutputSerializer, MembershipOutputSerializer,
                                      ProjectOutputSerializer)
from labeling.models import Role
from labeling.permissions import Action, access_project
from labeling.selectors.engine import project_mode_choices, project_model_choices
from labeling.selectors.projects import (label_list, membership_list, membership_roles, project_effort, project_list,
                                        project_progress, project_progress_by_assignee)
from labeling.selectors.users import user_get_active_by_ref
from labeling.services.projects import label_create, membership_remove, membership_set, project_create, project_update
from labeling.services.workflow import image_next_for_user


class EngineChoiceField(serializers.ChoiceField):
    """A choice among the engine's current names (`choices_of()` is read again for every request)."""

    def __init__(self, choices_of, **kwargs: Any) -> None:
        super().__init__(choices_of(), **kwargs)  # DRF rebuilds declared fields from these arguments per serializer


def _project_response(request: Request, project: Any, code: int = status.HTTP_200_OK) -> Response:
    context = {"roles": membership_roles(user=request.user, project_ids=[project.pk])}
    return Response(ProjectOutputSerializer(project, context=context).data, status=code)


class ProjectListCreateApi(APIView):
    pagination_class = StandardPagination  # GET answers one page (labeling.api.base.paginated)

    class ProjectCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        default_model = EngineChoiceField(project_model_choices, required=False, default="default",
                                          help_text="A registered model name (never a path).")
        default_mode = EngineChoiceField(project_mode_choices, required=False, default="f-brs-b")

    @extend_schema(responses=ProjectOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        projects = project_list(user=request.user).prefetch_related("labels")
        ids = list(projects.values_list("id", flat=True))
        roles = membership_roles(user=request.user, project_ids=ids)
        return paginated(request, self, projects, ProjectOutputSerializer, {"roles": roles})

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
        default_model = serializers.CharField(required=False, max_length=200,
                                              help_text="A registered model name or one of the project's promoted "
                                                        "versions (project-<id>-v<n>); never a path.")
        default_mode = EngineChoiceField(project_mode_choices, required=False)
        adapt_every = serializers.IntegerField(required=False, min_value=0,
                                               help_text="Adapt the model after every N accepted images (0: off).")

    @extend_schema(responses=ProjectOutputSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        return _project_response(request, access_project(request.user, project_id))

    @extend_schema(request=ProjectUpdateInputSerializer, responses=ProjectOutputSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_PROJECT)
        data = self.ProjectUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return _project_response(request, project_update(project=project, user=request.user, **data.validated_data))


def _effort_fields() -> dict:
    return {"objects": serializers.IntegerField(), "timed_objects": serializers.IntegerField(),
            "clicks_per_object": serializers.FloatField(allow_null=True),
            "seconds_per_object": serializers.FloatField(allow_null=True)}


class ProjectProgressApi(APIView):
    """Image counts by status (overall and per assignee) and the team's effort: clicks and active seconds per
    object, overall and per annotator."""

    @extend_schema(responses=inline_serializer("Progress", {
        "total": serializers.IntegerField(), "by_status": serializers.DictField(child=serializers.IntegerField()),
        "done_fraction": serializers.FloatField(),
        "by_assignee": inline_serializer("AssigneeProgress", {
            "user": serializers.DictField(allow_null=True), "total": serializers.IntegerField(),
            "by_status": serializers.DictField(child=serializers.IntegerField())}, many=True),
        "effort": inline_serializer("Effort", {**_effort_fields(), "by_annotator": inline_serializer(
            "AnnotatorEffort", {"user": serializers.DictField(allow_null=True), **_effort_fields()}, many=True)}),
    }))
    def get(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id)
        return Response({**project_progress(project=project), "by_assignee": project_progress_by_assignee(
            project=project), "effort": project_effort(project=project)})


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
        member = user_get_active_by_ref(ref=data.validated_data["user"])
        membership = membership_set(project=project, user=request.user, member=member, role=data.validated_data["role"])
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class ProjectMemberDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_MEMBERS)
        membership_remove(project=project, user=request.user, member=user_get_active_by_ref(ref=user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
