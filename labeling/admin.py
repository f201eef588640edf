"""Django admin: projects (labels, members, progress, bulk upload, export), images (thumbnails, assign,
reset, filters), annotations, reviews, export jobs and COCO import jobs. Writes go through `labeling.services`."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from labeling.errors import ClickLabelError
from labeling.models import (Annotation, ExportJob, Image, ImageStatus, ImportJob, Label, Membership, Project, Review,
                              Role)
from labeling.selectors.projects import project_progress
from labeling.services.exports import export_job_create
from labeling.services.images import image_upload_files, image_upload_zip
from labeling.services.thumbnails import thumbnail_get_or_create
from labeling.services.workflow import image_assign, image_reset_status

EXPORT_FORMAT = "coco-rle"


def _status_counts_html(counts: dict[str, int]) -> str:
    return format_html_join(" · ", "{}: <b>{}</b>", ((ImageStatus(s).label, counts.get(s, 0)) for s in ImageStatus.values))


class LabelInline(admin.TabularInline):
    model = Label
    extra = 1
    fields = ("name", "color", "order")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ("user",)
    fields = ("user", "role")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "image_count", "progress", "default_model", "default_mode", "created_at")
    search_fields = ("name", "description")
    inlines = [LabelInline, MembershipInline]
    readonly_fields = ("progress_detail", "upload_link", "created_at")
    fields = ("name", "description", "default_model", "default_mode", "progress_detail", "upload_link", "created_at")
    actions = ["export_projects"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        counts = {f"n_{s}": Count("images", filter=Q(images__status=s)) for s in ImageStatus.values}
        return super().get_queryset(request).annotate(n_images=Count("images"), **counts)

    @admin.display(description="images", ordering="n_images")
    def image_count(self, project: Project) -> int:
        return project.n_images

    @admin.display(description="progress (images by status)")
    def progress(self, project: Project) -> str:
        return _status_counts_html({s: getattr(project, f"n_{s}", 0) for s in ImageStatus.values})

    @admin.display(description="progress")
    def progress_detail(self, project: Project) -> str:
        if not project.pk:
            return "–"
        data = project_progress(project=project)
        return format_html("{} images — {} ({} accepted)", data["total"], _status_counts_html(data["by_status"]),
                           f"{data['done_fraction']:.0%}")

    @admin.display(description="bulk upload")
    def upload_link(self, project: Project) -> str:
        if not project.pk:
            return "Save the project first."
        return format_html('<a class="button" href="{}">Upload images (files or a .zip)</a>',
                           reverse("admin:labeling_project_upload", args=[project.pk]))

    def get_urls(self) -> list:
        return [path("<int:project_id>/upload/", self.admin_site.admin_view(self.upload_view),
                     name="labeling_project_upload")] + super().get_urls()

    def upload_view(self, request: HttpRequest, project_id: int) -> HttpResponse:
        """Bulk upload: many image files and/or .zip archives; shows accepted and refused files."""
        project = get_object_or_404(Project, pk=project_id)
        if not self.has_change_permission(request, project):
            return HttpResponse(status=403)
        reports = self._handle_upload(request, project) if request.method == "POST" else []
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "project": project,
                   "reports": reports, "title": f"Upload images to {project}"}
        return TemplateResponse(request, "admin/labeling/project/upload.html", context)

    def _handle_upload(self, request: HttpRequest, project: Project) -> list[dict]:
        files = request.FILES.getlist("files")
        if not files:
            messages.warning(request, "Choose at least one file.")
            return []
        reports = []
        loose = [(f.name, f) for f in files if not f.name.lower().endswith(".zip")]  # streamed, not read whole
        try:
            if loose:
                report = image_upload_files(project=project, files=loose, user=request.user)
                reports.append({"source": f"{len(loose)} file(s)", **report.to_dict()})
            for archive in (f for f in files if f.name.lower().endswith(".zip")):
                report = image_upload_zip(project=project, archive=archive, user=request.user)
                reports.append({"source": archive.name, **report.to_dict()})
        except ClickLabelError as exc:
            messages.error(request, exc.message)
        accepted = sum(r["counts"]["accepted"] for r in reports)
        refused = sum(r["counts"]["refused"] for r in reports)
        if reports:
            messages.info(request, f"{accepted} image(s) added, {refused} file(s) refused.")
        return reports

    @admin.action(description=f"Export selected projects ({EXPORT_FORMAT}, runs in the background)")
    def export_projects(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            try:
                job = export_job_create(project=project, user=request.user, fmt=EXPORT_FORMAT)
            except ClickLabelError as exc:
                self.message_user(request, f"{project}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, format_html(
                '{}: export job <a href="{}">#{}</a> queued.', project,
                reverse("admin:labeling_exportjob_change", args=[job.pk]), job.pk))


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                      empty_label="— unassign —")

    def __init__(self, *args: Any, project_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(project_id__in=project_ids, role__in=[Role.ANNOTATOR, Role.MANAGER])
        self.fields["assignee"].queryset = (get_user_model().objects.filter(is_active=True, memberships__in=members)
                                            .distinct().order_by("username"))


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "original_name", "project", "status", "assignee", "width", "height", "updated_at")
    list_display_links = ("thumbnail", "original_name")
    list_filter = ("project", "status", ("assignee", admin.RelatedOnlyFieldListFilter))
    search_fields = ("original_name", "checksum")
    list_select_related = ("project", "assignee")
    readonly_fields = ("thumbnail_large", "checksum", "width", "height", "uploaded_by", "uploaded_at", "updated_at")
    raw_id_fields = ("assignee",)
    actions = ["assign_to_annotator", "reset_status"]

    def get_urls(self) -> list:
        return [path("<int:image_id>/thumb/", self.admin_site.admin_view(self.thumb_view),
                     name="labeling_image_thumb")] + super().get_urls()

    def thumb_view(self, request: HttpRequest, image_id: int) -> HttpResponse:
        image = get_object_or_404(Image, pk=image_id)
        if not self.has_view_permission(request, image):
            return HttpResponse(status=403)
        try:
            data = thumbnail_get_or_create(image=image)
        except (OSError, ValueError):
            return HttpResponse(status=404)
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    @admin.display(description="")
    def thumbnail(self, image: Image) -> str:
        return format_html('<img src="{}" alt="" loading="lazy" style="max-width:96px;max-height:96px">',
                           reverse("admin:labeling_image_thumb", args=[image.pk]))

    @admin.display(description="preview")
    def thumbnail_large(self, image: Image) -> str:
        return self.thumbnail(image) if image.pk else "–"

    @admin.action(description="Assign selected images to an annotator…")
    def assign_to_annotator(self, request: HttpRequest, queryset: QuerySet[Image]) -> HttpResponse | None:
        project_ids = sorted(set(queryset.values_list("project_id", flat=True)))
        if "apply" in request.POST:
            form = AssignForm(request.POST, project_ids=project_ids)
            if form.is_valid():
                assignee, done = form.cleaned_data["assignee"], 0
                for image in queryset:
                    try:
                        image_assign(image=image, user=request.user, assignee=assignee)
                        done += 1
                    except ClickLabelError as exc:
                        self.message_user(request, f"{image}: {exc.message}", messages.ERROR)
                self.message_user(request, f"{done} image(s) assigned to {assignee or 'nobody'}.")
                return HttpResponseRedirect(request.get_full_path())
        else:
            form = AssignForm(project_ids=project_ids)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "images": queryset, "action": "assign_to_annotator",
                   "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "title": "Assign images"}
        return TemplateResponse(request, "admin/labeling/image/assign.html", context)

    @admin.action(description="Reset status to new")
    def reset_status(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        count = 0
        for image in queryset:
            image_reset_status(image=image, user=request.user, to=ImageStatus.NEW)
            count += 1
        self.message_user(request, f"{count} image(s) reset to new.")


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    """Annotations are made in the annotator; here they can be inspected, relabelled or deleted."""

    list_display = ("id", "image", "label", "area", "author", "model_name", "mode", "version", "updated_at")
    list_filter = ("label__project", "label", "mode")
    list_select_related = ("image", "label", "author")
    search_fields = ("image__original_name",)
    fields = ("image", "label", "rle", "bbox", "area", "clicks", "model_name", "mode", "author", "version",
              "created_at", "updated_at")
    readonly_fields = ("image", "rle", "bbox", "area", "clicks", "model_name", "mode", "author", "version",
                       "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Annotation, form: Any, change: bool) -> None:
        if change:  # an admin edit is a change like any other: clients holding the old version get 409
            obj.version = F("version") + 1
        super().save_model(request, obj, form, change)
        obj.refresh_from_db(fields=["version"])


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """The review history (read-only: reviews are made through the API / review page, which moves the status)."""

    list_display = ("image", "decision", "reviewer", "created_at", "comment")
    list_filter = ("decision", "image__project")
    list_select_related = ("image", "reviewer")
    search_fields = ("comment", "image__original_name")
    readonly_fields = ("image", "reviewer", "decision", "comment", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Review | None = None) -> bool:
        return False


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "format", "status", "progress", "requested_by", "created_at", "download")
    list_filter = ("status", "format", "project")
    readonly_fields = ("project", "requested_by", "format", "options", "status", "progress", "error", "download",
                       "created_at", "finished_at")
    exclude = ("file",)

    @admin.display(description="result")
    def download(self, job: ExportJob) -> str:
        if not job.file:
            return "–"
        return format_html('<a href="{}">download</a>', reverse("api-export-download", args=[job.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """COCO imports started through the API: status, progress and what was imported or skipped (read-only)."""

    list_display = ("id", "project", "file_name", "status", "progress", "imported", "skipped", "requested_by",
                    "created_at", "finished_at")
    list_filter = ("status", "project")
    readonly_fields = ("project", "requested_by", "file_name", "size", "status", "progress", "cursor", "total",
                       "report", "error", "created_at", "finished_at")
    exclude = ("file",)

    @admin.display(description="imported")
    def imported(self, job: ImportJob) -> int:
        return int((job.report or {}).get("counts", {}).get("imported", 0))

    @admin.display(description="skipped")
    def skipped(self, job: ImportJob) -> int:
        return int((job.report or {}).get("counts", {}).get("skipped", 0))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False
