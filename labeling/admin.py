"""Django admin: projects (labels with a colour picker, members chosen by user name, the engine's registered
modes and models only, progress, upload on the project's page, export with a visible status filter — accepted
images by default), images (thumbnails, assign, reset, filters), annotations, reviews, export jobs and COCO import jobs.
Writes go through `labeling.services`."""
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
from labeling.exports import FORMATS
from labeling.models import (AdaptationJob, AdaptationStatus, Annotation, ExportJob, Image, ImageStatus, ImportJob, Label,
                             Membership, ModelVersion, Project, Review, Role)
from labeling.selectors.engine import project_mode_choices, project_model_choices
from labeling.selectors.model_versions import model_version_list
from labeling.selectors.projects import label_list, project_progress
from labeling.services.adaptation import adaptation_job_cancel, adaptation_job_create
from labeling.services.projects import COLOR_RE
from labeling.services.exports import export_job_create
from labeling.services.model_versions import model_version_rollback
from labeling.services.images import image_upload_files, image_upload_zip
from labeling.services.thumbnails import thumbnail_get_or_create
from labeling.services.workflow import image_assign, image_reset_status

EXPORT_FORMAT = "coco-rle"
EXPORT_DEFAULT_STATUSES = [ImageStatus.ACCEPTED]


def _status_counts_html(counts: dict[str, int]) -> str:
    return format_html_join(" · ", "{}: <b>{}</b>", ((ImageStatus(s).label, counts.get(s, 0)) for s in ImageStatus.values))


class LabelForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ("name", "color", "order")
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}

    def clean_color(self) -> str:
        color = self.cleaned_data["color"]
        if not COLOR_RE.match(color or ""):
            raise forms.ValidationError("Pick a colour (#rrggbb).")
        return color.lower()


class LabelInline(admin.TabularInline):
    model = Label
    form = LabelForm
    extra = 1
    fields = ("name", "color", "order")


class MembershipFormSet(forms.BaseInlineFormSet):
    """A project that has a manager keeps at least one (as `labeling.services.projects.membership_set`)."""

    def clean(self) -> None:
        super().clean()
        if not self.instance.pk or not Membership.objects.filter(project=self.instance, role=Role.MANAGER).exists():
            return
        submitted = {form.instance.pk for form in self.forms if form.instance.pk}
        untouched_managers = Membership.objects.filter(project=self.instance, role=Role.MANAGER).exclude(
            pk__in=submitted).exists()
        kept = [form for form in self.forms
                if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")]
        if not untouched_managers and not any(form.cleaned_data.get("role") == Role.MANAGER for form in kept):
            raise forms.ValidationError("A project keeps at least one manager: make someone else manager first.")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 1
    autocomplete_fields = ("user",)  # type a user name; searches the user admin's search fields
    fields = ("user", "role")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; cleans to a list (empty when none was chosen)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(item, initial) for item in data if item]
        return [clean_one(data, initial)] if data else []


class ProjectAdminForm(forms.ModelForm):
    """The engine's registered names as choices (a stored unknown value must be replaced on save), and image
    files or .zip archives to add on save."""

    default_model = forms.ChoiceField(choices=project_model_choices, help_text="A registered model.")
    default_mode = forms.ChoiceField(choices=project_mode_choices,
                                     help_text="How the masks are computed; the papers' name after the dash.")
    upload = MultipleFileField(required=False, label="Add images",
                               help_text="Image files and/or .zip archives, added when you save.")

    class Meta:
        model = Project
        fields = ("name", "description", "default_model", "default_mode", "adapt_every")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:   # the project's own promoted versions may be chosen too
            versions = [(v.name, f"{v.name} (adapted)") for v in model_version_list(project=self.instance)
                        if v.decision == "promoted" and v.file]
            self.fields["default_model"].choices = [*project_model_choices(), *versions]


class ExportForm(forms.Form):
    """The export options, with the image statuses in view (accepted images only unless others are ticked)."""

    format = forms.ChoiceField(choices=[(name, name) for name in FORMATS], initial=EXPORT_FORMAT)
    statuses = forms.MultipleChoiceField(choices=ImageStatus.choices, initial=EXPORT_DEFAULT_STATUSES,
                                         widget=forms.CheckboxSelectMultiple,
                                         help_text="Images with these statuses are exported.")
    labels = forms.ModelMultipleChoiceField(queryset=Label.objects.none(), required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="None ticked: every label.")
    include_images = forms.BooleanField(required=False, help_text="Put the image files in the archive too.")

    def __init__(self, *args: Any, project: Project | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if project is None:
            del self.fields["labels"]
        else:
            self.fields["labels"].queryset = label_list(project=project)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "image_count", "progress", "default_model", "default_mode", "created_at")
    search_fields = ("name", "description")
    form = ProjectAdminForm
    inlines = [LabelInline, MembershipInline]
    readonly_fields = ("progress_detail", "upload_link", "export_link", "model_history", "created_at")
    fields = ("name", "description", "default_model", "default_mode", "adapt_every", "progress_detail", "upload",
              "upload_link", "export_link", "model_history", "created_at")
    actions = ["export_projects", "adapt_model", "rollback_model"]

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

    @admin.display(description="upload report")
    def upload_link(self, project: Project) -> str:
        if not project.pk:
            return "Images chosen above are added when the project is saved."
        return format_html('<a href="{}">Upload page with a per-file report</a>',
                           reverse("admin:labeling_project_upload", args=[project.pk]))

    @admin.display(description="export")
    def export_link(self, project: Project) -> str:
        if not project.pk:
            return "Save the project first."
        return format_html('<a class="button" href="{}">Export…</a> (accepted images unless you choose other '
                           'statuses)', reverse("admin:labeling_project_export", args=[project.pk]))

    def get_urls(self) -> list:
        return [path("<int:project_id>/upload/", self.admin_site.admin_view(self.upload_view),
                     name="labeling_project_upload"),
                path("<int:project_id>/export/", self.admin_site.admin_view(self.export_view),
                     name="labeling_project_export")] + super().get_urls()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save labels and members, then add the images chosen in the form's upload field."""
        super().save_related(request, form, formsets, change)
        files = form.cleaned_data.get("upload") or []
        if files:
            self._upload(request, form.instance, files)

    @admin.display(description="model versions")
    def model_history(self, project: Project) -> str:
        """The adapted versions (newest first) with their figures, and a button to run an earlier model again."""
        if not project.pk:
            return "–"
        versions = list(model_version_list(project=project)[:20])
        if not versions:
            return format_html("Runs {}; no adapted version yet (action “Adapt the model”).", project.default_model)
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (v.name + (" (active)" if v.name == project.default_model else ""), v.decision, v.parent,
             _figures(v.figures), v.reason, v.created_at.strftime("%Y-%m-%d %H:%M")) for v in versions))
        return format_html("Runs <b>{}</b> (action “Roll back the model” returns to the model it was trained from)."
                           "<table><tr><th>version</th><th>decision</th><th>trained from</th>"
                           "<th>held-out NoC@90 before → after</th><th>reason</th><th>date</th></tr>{}</table>",
                           project.default_model, rows)

    @admin.action(description="Roll back the model (to the model the current version was trained from)")
    def rollback_model(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            try:
                project = model_version_rollback(project=project, user=request.user)
            except ClickLabelError as exc:
                self.message_user(request, f"{project}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"{project}: now runs {project.default_model}.")

    @admin.action(description="Adapt the model to the accepted masks (runs on the training worker)")
    def adapt_model(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            try:
                job = adaptation_job_create(project=project, user=request.user)
            except ClickLabelError as exc:
                self.message_user(request, f"{project}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, format_html(
                '{}: adaptation job <a href="{}">#{}</a> queued.', project,
                reverse("admin:labeling_adaptationjob_change", args=[job.pk]), job.pk))

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
        return self._upload(request, project, files)

    def _upload(self, request: HttpRequest, project: Project, files: list) -> list[dict]:
        """Add loose image files and the images of .zip archives; one message with the counts."""
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

    def _export(self, request: HttpRequest, project: Project, options: dict) -> ExportJob | None:
        """Start one export job with the form's options; a message either way."""
        labels = options.get("labels")
        try:
            job = export_job_create(project=project, user=request.user, fmt=options["format"],
                                    statuses=list(options["statuses"]),
                                    label_ids=[label.pk for label in labels] if labels else None,
                                    include_images=options["include_images"])
        except ClickLabelError as exc:
            self.message_user(request, f"{project}: {exc.message}", messages.ERROR)
            return None
        statuses = ", ".join(ImageStatus(s).label.lower() for s in options["statuses"])
        self.message_user(request, format_html(
            '{}: export job <a href="{}">#{}</a> queued ({}, {} images).', project,
            reverse("admin:labeling_exportjob_change", args=[job.pk]), job.pk, options["format"], statuses))
        return job

    def export_view(self, request: HttpRequest, project_id: int) -> HttpResponse:
        """Export one project: format, the image statuses (accepted by default), labels, image files."""
        project = get_object_or_404(Project, pk=project_id)
        if not self.has_view_permission(request, project):
            return HttpResponse(status=403)
        form = ExportForm(request.POST or None, project=project)
        if request.method == "POST" and form.is_valid():
            job = self._export(request, project, form.cleaned_data)
            if job is not None:
                return HttpResponseRedirect(reverse("admin:labeling_exportjob_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "project": project,
                   "form": form, "title": f"Export {project}"}
        return TemplateResponse(request, "admin/labeling/project/export.html", context)

    @admin.action(description="Export selected projects… (choose the format and the image statuses)")
    def export_projects(self, request: HttpRequest, queryset: QuerySet[Project]) -> HttpResponse | None:
        if "apply" in request.POST:
            form = ExportForm(request.POST)
            if form.is_valid():
                for project in queryset:
                    self._export(request, project, form.cleaned_data)
                return HttpResponseRedirect(request.get_full_path())
        else:
            form = ExportForm()
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "projects": queryset, "action": "export_projects",
                   "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "title": "Export projects"}
        return TemplateResponse(request, "admin/labeling/project/export.html", context)


def _figures(figures: dict | None) -> str:
    before, after = (figures or {}).get("before"), (figures or {}).get("after")
    if not before or not after:
        return "–"
    return f"{before['noc90']:.2f} → {after['noc90']:.2f}"


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
    readonly_fields = ("thumbnail_large", "file_link", "checksum", "width", "height", "uploaded_by", "uploaded_at",
                       "updated_at")
    exclude = ("file",)  # its widget links MEDIA_URL, which is not served: the file is linked through the API
    raw_id_fields = ("assignee",)
    actions = ["assign_to_annotator", "reset_status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # images come in through the project's bulk upload (checked, deduplicated)

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

    @admin.display(description="file")
    def file_link(self, image: Image) -> str:
        if not image.pk:
            return "–"
        return format_html('<a href="{}">{}</a>', reverse("api-image-file", args=[image.pk]), image.original_name)

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


@admin.register(AdaptationJob)
class AdaptationJobAdmin(admin.ModelAdmin):
    """Adaptation rounds: progress while they run, the report (figure included) once done; cancel."""

    list_display = ("id", "project", "status", "stage", "progress_bar", "eta", "trigger", "outcome", "created_at")
    list_filter = ("status", "project")
    readonly_fields = ("project", "requested_by", "trigger", "status", "stage", "step", "steps", "progress_bar",
                       "eta", "cancel_requested", "accepted_images", "base_model", "options", "outcome",
                       "report_figure", "error", "created_at", "started_at", "finished_at")
    exclude = ("report", "report_image", "progress", "eta_seconds")
    actions = ["cancel_jobs"]

    def get_urls(self) -> list:
        return [path("<int:job_id>/report.png", self.admin_site.admin_view(self.report_view),
                     name="labeling_adaptationjob_report")] + super().get_urls()

    def report_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = get_object_or_404(AdaptationJob, pk=job_id)
        if not self.has_view_permission(request, job) or not job.report_image:
            return HttpResponse(status=404)
        with job.report_image.open("rb") as fh:
            return HttpResponse(fh.read(), content_type="image/png")

    @admin.display(description="progress")
    def progress_bar(self, job: AdaptationJob) -> str:
        return format_html('<progress value="{}" max="1"></progress> {}', f"{job.progress:.3f}",
                           f"{job.progress:.0%}" + (f" (step {job.step})" if job.step else ""))

    @admin.display(description="ETA")
    def eta(self, job: AdaptationJob) -> str:
        if job.eta_seconds is None or job.status != AdaptationStatus.RUNNING:
            return "–"
        return f"{job.eta_seconds / 60:.1f} min"

    @admin.display(description="outcome")
    def outcome(self, job: AdaptationJob) -> str:
        report = job.report or {}
        if not report:
            return job.error or "–"
        return f"{report.get('version') or 'no version'}: {report.get('reason', '')}"

    @admin.display(description="report")
    def report_figure(self, job: AdaptationJob) -> str:
        if not job.report_image:
            return "–"
        return format_html('<img src="{}" alt="report" style="max-width:100%">',
                           reverse("admin:labeling_adaptationjob_report", args=[job.pk]))

    @admin.action(description="Cancel selected adaptation jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[AdaptationJob]) -> None:
        for job in queryset:
            try:
                adaptation_job_cancel(job=job, user=request.user)
            except ClickLabelError as exc:
                self.message_user(request, f"#{job.pk}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"#{job.pk}: cancel requested.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AdaptationJob | None = None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Every candidate of every project: promoted ones are served by name, refused ones keep their figures."""

    list_display = ("name", "project", "decision", "parent", "train_objects", "heldout_objects", "created_at")
    list_filter = ("decision", "project")
    readonly_fields = ("project", "number", "name", "parent", "file", "decision", "reason", "train_objects",
                       "heldout_objects", "train_images", "heldout_images", "figures", "job", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        return False
