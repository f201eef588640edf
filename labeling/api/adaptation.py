"""Model adaptation: start, follow and cancel a project's adaptation jobs, list its model versions, roll back
(docs/adaptation.md). Thin: validate → service/selector → shape."""
from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.errors import NotFound
from labeling.models import AdaptationJob, ModelVersion
from labeling.permissions import Action, access_project
from labeling.selectors.model_versions import adaptation_job_get, adaptation_job_list, model_version_list
from labeling.services.adaptation import adaptation_job_cancel, adaptation_job_create
from labeling.services.model_versions import model_version_rollback

REPORT_KEYS = ("promoted", "reason", "train_objects", "heldout_objects", "train_images", "heldout_images",
               "generic_objects", "steps", "train_seconds", "seconds", "version", "current_model")
FIGURE_KEYS = ("noc85", "noc90", "nof85", "nof90", "n", "miou_curve")


def _report(report: dict) -> dict | None:
    if not report:
        return None
    out = {k: report.get(k) for k in REPORT_KEYS}
    for side in ("before", "after"):
        figures = report.get(side)
        out[side] = {k: figures.get(k) for k in FIGURE_KEYS} if figures else None
    out["mode"] = (report.get("config") or {}).get("mode")
    return out


def _job_body(request: Request, job: AdaptationJob) -> dict[str, Any]:
    image = (request.build_absolute_uri(reverse("api-adaptation-report-image", args=[job.pk]))
             if job.report_image else None)
    return {"id": job.pk, "project": job.project_id, "status": job.status, "stage": job.stage, "step": job.step,
            "steps": job.steps, "progress": job.progress, "eta_seconds": job.eta_seconds,
            "cancel_requested": job.cancel_requested, "trigger": job.trigger, "base_model": job.base_model,
            "options": job.options, "error": job.error, "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "report": _report(job.report), "report_image_url": image,
            "status_url": request.build_absolute_uri(reverse("api-adaptation", args=[job.pk]))}


def _version_body(version: ModelVersion, current: str) -> dict[str, Any]:
    return {"name": version.name, "number": version.number, "parent": version.parent, "decision": version.decision,
            "reason": version.reason, "active": version.name == current, "has_file": bool(version.file),
            "train_objects": version.train_objects, "heldout_objects": version.heldout_objects,
            "train_images": version.train_images, "heldout_images": version.heldout_images,
            "figures": version.figures, "job": version.job_id, "created_at": version.created_at}


class AdaptationJobOutputSerializer(serializers.Serializer):
    """The documented shape of an adaptation job (`_job_body`)."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    status = serializers.CharField()
    stage = serializers.CharField()
    step = serializers.IntegerField()
    steps = serializers.IntegerField()
    progress = serializers.FloatField()
    eta_seconds = serializers.FloatField(allow_null=True)
    cancel_requested = serializers.BooleanField()
    report = serializers.DictField(allow_null=True)
    report_image_url = serializers.URLField(allow_null=True)
    status_url = serializers.URLField()


_job = AdaptationJobOutputSerializer
_versions = inline_serializer("ModelVersions", fields={
    "current": serializers.CharField(), "versions": serializers.ListField(child=serializers.DictField())})


class ProjectAdaptationsApi(APIView):
    """GET /api/projects/{id}/adaptations/ — the project's jobs; POST — start one (managers)."""

    class AdaptationStartInputSerializer(serializers.Serializer):
        budget_min = serializers.FloatField(required=False, allow_null=True, min_value=0.01,
                                            help_text="Training minutes (default: the server's setting, 10).")

    @extend_schema(responses=AdaptationJobOutputSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id)
        jobs = adaptation_job_list(project=project)[:50]
        return Response([_job_body(request, job) for job in jobs])

    @extend_schema(request=AdaptationStartInputSerializer, responses={202: _job})
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_PROJECT)
        data = self.AdaptationStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = adaptation_job_create(project=project, user=request.user, budget_min=data.validated_data.get("budget_min"))
        return Response(_job_body(request, job), status=status.HTTP_202_ACCEPTED)


class AdaptationDetailApi(APIView):
    """GET /api/adaptations/{id}/ — status, stage, step, progress, ETA and (once done) the report."""

    @extend_schema(responses=_job)
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_body(request, adaptation_job_get(user=request.user, job_id=job_id)))


class AdaptationCancelApi(APIView):
    """POST /api/adaptations/{id}/cancel/ — cancel a pending or running job (managers)."""

    @extend_schema(request=None, responses=_job)
    def post(self, request: Request, job_id: int) -> Response:
        job = adaptation_job_get(user=request.user, job_id=job_id)
        return Response(_job_body(request, adaptation_job_cancel(job=job, user=request.user)))


class AdaptationReportImageApi(APIView):
    """GET /api/adaptations/{id}/report.png — the round's figure (curves before/after, training loss)."""

    @extend_schema(responses={(200, "image/png"): OpenApiResponse(description="the report figure")})
    def get(self, request: Request, job_id: int) -> FileResponse:
        job = adaptation_job_get(user=request.user, job_id=job_id)
        if not job.report_image:
            raise NotFound("This job has no report image (yet).")
        return FileResponse(job.report_image.open("rb"), content_type="image/png")


class ProjectModelVersionsApi(APIView):
    """GET /api/projects/{id}/model-versions/ — the model the project runs and its versions, newest first."""

    @extend_schema(responses=_versions)
    def get(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id)
        versions = model_version_list(project=project)
        return Response({"current": project.default_model,
                         "versions": [_version_body(v, project.default_model) for v in versions]})


class ProjectModelRollbackApi(APIView):
    """POST /api/projects/{id}/model-versions/rollback/ {"to"?} — run an earlier model again (managers)."""

    class ModelRollbackInputSerializer(serializers.Serializer):
        to = serializers.CharField(required=False, allow_null=True, max_length=200,
                                   help_text="A promoted version or the model the first version started from; "
                                             "default: the parent of the current version.")

    @extend_schema(request=ModelRollbackInputSerializer, responses=_versions)
    def post(self, request: Request, project_id: int) -> Response:
        project = access_project(request.user, project_id, Action.MANAGE_PROJECT)
        data = self.ModelRollbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = model_version_rollback(project=project, user=request.user, to=data.validated_data.get("to"))
        versions = model_version_list(project=project)
        return Response({"current": project.default_model,
                         "versions": [_version_body(v, project.default_model) for v in versions]})
