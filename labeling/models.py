"""The labelling domain. Writes go through `labeling.services`, reads through `labeling.selectors`.

Masks are stored as COCO RLE (pycocotools, Fortran order, `counts` as an ASCII string) in
`Annotation.rle`; `bbox` is COCO's [x, y, width, height] in image pixels; clicks are a JSON list of
{"x": int, "y": int, "positive": bool} in original-image pixels (x = column, y = row); `n_clicks` mirrors
their count and `edit_seconds` the annotator's active time on the object (the effort figures).
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    default_model = models.CharField(max_length=200, default="default",
                                     help_text="A registered model name (inference.catalog); never a path.")
    default_mode = models.CharField(max_length=32, default="f-brs-b",
                                    help_text="A mode of inference.catalog.MODES (f-brs-b = “Precise”).")
    adapt_every = models.PositiveIntegerField(
        default=0, help_text="Start adapting the model after every N newly accepted images (0: only by hand).")
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#ff0000", help_text="#rrggbb")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="unique_label_per_project")]

    def __str__(self) -> str:
        return f"{self.project.name}/{self.name}"


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


class ImageStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    ANNOTATED = "annotated", "Annotated"
    IN_REVIEW = "in_review", "In review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


def image_upload_path(instance: "Image", filename: str) -> str:
    return f"projects/{instance.project_id}/images/{instance.checksum[:2]}/{instance.checksum}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot >= 0 else ""


class Image(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    file = models.ImageField(upload_to=image_upload_path, width_field="width", height_field="height")
    original_name = models.CharField(max_length=255)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the stored (normalised) file.")
    status = models.CharField(max_length=16, choices=ImageStatus.choices, default=ImageStatus.NEW)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_images")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="uploaded_images")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "checksum"], name="unique_image_per_project")]
        indexes = [models.Index(fields=["project", "status"]), models.Index(fields=["project", "assignee"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.width}x{self.height})"


class Annotation(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="annotations")
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="annotations")
    rle = models.JSONField(help_text='COCO RLE: {"size": [height, width], "counts": "..."}')
    bbox = models.JSONField(help_text="[x, y, width, height] in image pixels")
    area = models.PositiveIntegerField()
    clicks = models.JSONField(default=list, blank=True,
                              help_text='[{"x": int, "y": int, "positive": bool}, ...] in image pixels')
    n_clicks = models.PositiveIntegerField(default=0, help_text="len(clicks), kept for the effort figures.")
    edit_seconds = models.FloatField(null=True, blank=True,
                                     help_text="Active editing time of the object in seconds, as measured by the "
                                               "annotator's browser (null when unknown, e.g. imports).")
    strokes = models.JSONField(default=list, blank=True,
                               help_text='Brush/eraser corrections painted over the network\'s mask, in order: '
                                         '[{"mode": "brush"|"erase", "radius": number, "points": [[x, y], ...]}, ...] '
                                         'in image pixels')
    model_name = models.CharField(max_length=200, blank=True)
    mode = models.CharField(max_length=32, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="annotations")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock; bumped on every update.")

    class Meta:
        ordering = ["image", "id"]

    def __str__(self) -> str:
        return f"{self.label.name} on image {self.image_id}"


class ReviewDecision(models.TextChoices):
    ACCEPT = "accept", "Accept"
    REJECT = "reject", "Reject"


class Review(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="reviews")
    decision = models.CharField(max_length=8, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """An export run as a Celery task; `file` holds the result (JSON or zip) once done."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    format = models.CharField(max_length=32)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to="exports/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class AnnotationDraft(models.Model):
    """Autosaved in-progress object of the live annotator (clicks, brush edits), so a reload loses nothing."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "user"], name="unique_draft_per_user_image")]


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def import_upload_path(instance: "ImportJob", filename: str) -> str:
    """A random, unguessable name for the uploaded COCO file (deleted when the job ends)."""
    return f"imports/{secrets.token_hex(16)}.json"


class ImportJob(models.Model):
    """A COCO import run as a Celery task in chunks of short transactions; `cursor` is the number of the
    file's annotations already processed (a resumed job starts there), `report` what was imported/skipped."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    file = models.FileField(upload_to=import_upload_path, blank=True)
    file_name = models.CharField(max_length=255, blank=True, help_text="The client's name of the file.")
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes of the COCO file.")
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    progress = models.FloatField(default=0.0)
    cursor = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="Annotations in the file (known once it is read).")
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class AdaptationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class AdaptationJob(models.Model):
    """One adaptation round of a project's model, run by a Celery task on the training queue
    (docs/adaptation.md). `report` is the round's JSON (`inference.adaptation.rounds.RoundResult.to_json`)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="adaptation_jobs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    trigger = models.CharField(max_length=16, default="manual", help_text="manual, or auto (every N accepted)")
    status = models.CharField(max_length=16, choices=AdaptationStatus.choices, default=AdaptationStatus.PENDING)
    stage = models.CharField(max_length=32, blank=True)
    step = models.PositiveIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0.0)
    eta_seconds = models.FloatField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    accepted_images = models.PositiveIntegerField(default=0, help_text="Accepted images when the job was created.")
    base_model = models.CharField(max_length=200, blank=True, help_text="The model the round started from.")
    options = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)
    report_image = models.FileField(upload_to="adaptation/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"adaptation #{self.pk} of {self.project_id} ({self.status})"


class ModelDecision(models.TextChoices):
    PROMOTED = "promoted", "Promoted"
    REFUSED = "refused", "Refused"


class ModelVersion(models.Model):
    """A candidate model of a project: promoted ones have a weights file (served as `name`), refused ones keep
    only their figures and the reason."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=64, unique=True, help_text="project-<project id>-v<number>")
    parent = models.CharField(max_length=200, help_text="The model it was trained from.")
    file = models.FileField(upload_to="models/", blank=True)
    decision = models.CharField(max_length=16, choices=ModelDecision.choices)
    reason = models.TextField(blank=True)
    train_objects = models.PositiveIntegerField(default=0)
    heldout_objects = models.PositiveIntegerField(default=0)
    train_images = models.PositiveIntegerField(default=0)
    heldout_images = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict, blank=True, help_text='{"before": {...}, "after": {...}}')
    job = models.OneToOneField(AdaptationJob, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="model_version")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="unique_version_per_project")]

    def __str__(self) -> str:
        return self.name


class AdaptationSplit(models.Model):
    """The project's held-out split (image ids as strings), kept from round to round."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="adaptation_split")
    seed = models.IntegerField(default=0)
    heldout_images = models.JSONField(default=list)
    train_images = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)
