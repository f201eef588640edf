"""Annotation CRUD. Bodies carry a mask payload (see labeling.masks.parse_mask_payload); changes carry the
`version` last seen (body, `If-Match` or `?version=`), and a stale one answers 409."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.base import paginated, requested_version
from labeling.api.serializers import AnnotationOutputSerializer
from labeling.masks import parse_mask_payload
from labeling.permissions import Action, access_annotation, access_image
from labeling.selectors.annotations import annotation_list
from labeling.selectors.projects import label_get
from labeling.services.annotations import annotation_create, annotation_delete, annotation_update


class AnnotationListCreateApi(APIView):
    class AnnotationCreateInputSerializer(serializers.Serializer):
        image = serializers.IntegerField()
        label = serializers.IntegerField()
        mask = serializers.JSONField(help_text='RLE {"size", "counts"} (str or list) or {"png": base64}.')
        clicks = serializers.JSONField(required=False, default=list)
        strokes = serializers.JSONField(required=False, default=list,
                                        help_text='Brush/eraser corrections: [{"mode", "radius", "points"}, ...].')
        model_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        mode = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)

    @extend_schema(parameters=[OpenApiParameter("image", int)], responses=AnnotationOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        image_id = request.query_params.get("image")
        if image_id not in (None, ""):
            access_image(request.user, image_id)  # 404 for images the caller cannot see
        annotations = annotation_list(user=request.user, image_id=int(image_id) if image_id else None)
        return paginated(request, self, annotations, AnnotationOutputSerializer)

    @extend_schema(request=AnnotationCreateInputSerializer, responses={201: AnnotationOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.AnnotationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        image = access_image(request.user, values["image"])
        annotation = annotation_create(
            image=image, user=request.user, label=label_get(project_id=image.project_id, label_id=values["label"]),
            mask=parse_mask_payload(values["mask"], image.height, image.width), clicks=values["clicks"],
            strokes=values["strokes"], model_name=values["model_name"], mode=values["mode"])
        return Response(AnnotationOutputSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetailApi(APIView):
    class AnnotationUpdateInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False, help_text="Or send If-Match: <version>.")
        label = serializers.IntegerField(required=False)
        mask = serializers.JSONField(required=False)
        clicks = serializers.JSONField(required=False)
        strokes = serializers.JSONField(required=False)
        model_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
        mode = serializers.CharField(required=False, allow_blank=True, max_length=32)

    @extend_schema(responses=AnnotationOutputSerializer)
    def get(self, request: Request, annotation_id: int) -> Response:
        return Response(AnnotationOutputSerializer(access_annotation(request.user, annotation_id)).data)

    @extend_schema(request=AnnotationUpdateInputSerializer, responses=AnnotationOutputSerializer)
    def patch(self, request: Request, annotation_id: int) -> Response:
        annotation = access_annotation(request.user, annotation_id, Action.VIEW)
        data = self.AnnotationUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        image = annotation.image
        changes = {key: values[key] for key in ("clicks", "strokes", "model_name", "mode") if key in values}
        if "label" in values:
            changes["label"] = label_get(project_id=image.project_id, label_id=values["label"])
        if "mask" in values:
            changes["mask"] = parse_mask_payload(values["mask"], image.height, image.width)
        annotation = annotation_update(annotation=annotation, user=request.user, version=requested_version(request),
                                       **changes)
        return Response(AnnotationOutputSerializer(annotation).data)

    @extend_schema(parameters=[OpenApiParameter("version", int)], responses={204: None})
    def delete(self, request: Request, annotation_id: int) -> Response:
        annotation = access_annotation(request.user, annotation_id)
        annotation_delete(annotation=annotation, user=request.user, version=requested_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


