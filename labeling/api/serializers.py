"""Output shapes of the REST API (input shapes live next to each API class)."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from labeling.models import Annotation, AnnotationDraft, Image, Label, Membership, Project, Review


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class LabelOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "project", "name", "color", "order"]


def _looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.endswith((".pth", ".pt"))


class ProjectOutputSerializer(serializers.ModelSerializer):
    labels = LabelOutputSerializer(many=True, read_only=True)
    role = serializers.SerializerMethodField(help_text="The caller's role, or null (staff who are not members).")
    default_model = serializers.SerializerMethodField(
        help_text="A registered model name; \"\" for a checkpoint path stored before names were checked.")

    class Meta:
        model = Project
        fields = ["id", "name", "description", "default_model", "default_mode", "adapt_every", "created_at", "labels",
                  "role"]

    def get_default_model(self, project: Project) -> str:
        return "" if _looks_like_path(project.default_model) else project.default_model  # never a host path

    def get_role(self, project: Project) -> str | None:
        roles = self.context.get("roles")
        return roles.get(project.pk) if roles is not None else None


class MembershipOutputSerializer(serializers.ModelSerializer):
    user = UserRefSerializer()

    class Meta:
        model = Membership
        fields = ["id", "user", "role"]


class ReviewOutputSerializer(serializers.ModelSerializer):
    reviewer = UserRefSerializer(allow_null=True)

    class Meta:
        model = Review
        fields = ["id", "image", "reviewer", "decision", "comment", "created_at"]


class ImageOutputSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()
    thumb_url = serializers.SerializerMethodField()
    assignee = UserRefSerializer(allow_null=True)

    class Meta:
        model = Image
        fields = ["id", "project", "original_name", "width", "height", "status", "assignee", "uploaded_at",
                  "updated_at", "file_url", "thumb_url"]

    def get_file_url(self, image: Image) -> str:
        return reverse("api-image-file", kwargs={"image_id": image.pk})

    def get_thumb_url(self, image: Image) -> str:
        return reverse("api-image-thumb", kwargs={"image_id": image.pk})


class ImageDetailOutputSerializer(ImageOutputSerializer):
    last_review = serializers.SerializerMethodField()

    class Meta(ImageOutputSerializer.Meta):
        fields = ImageOutputSerializer.Meta.fields + ["last_review"]

    def get_last_review(self, image: Image) -> dict | None:
        review = self.context.get("last_review")
        return ReviewOutputSerializer(review).data if review is not None else None


class AnnotationOutputSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(allow_null=True)

    class Meta:
        model = Annotation
        fields = ["id", "image", "label", "rle", "bbox", "area", "clicks", "n_clicks", "edit_seconds", "strokes",
                  "model_name", "mode", "author", "version", "created_at", "updated_at"]


class DraftOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AnnotationDraft
        fields = ["image", "state", "updated_at"]
