"""Annotation CRUD. The mask is `rle` in and out: bodies carry a mask payload (see
labeling.masks.parse_mask_payload) under `rle` (the older name `mask` is still accepted on input);
responses carry the stored COCO RLE under `rle`. Changes carry the `version` last seen (body, `If-Match` or
`?version=`), and a stale one answers 409.

The caller's right to edit the image is checked before the mask payload is decoded, and the payload is
decoded at the image's size only: a request that may not write costs no more than its body."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.base import paginated, requested_version
from labeling.api.pagination import StandardPagination
from labeling.api.serializers import AnnotationOutputSerializer
from labeling.errors import ClickLabelError
from labeling.masks import parse_mask_payload
from labeling.permissions import Action, access_annotation, access_image, require_image_edit
from labeling.selectors.annotations import annotation_list
from labeling.selectors.projects import label_get
from labeling.services.annotations import annotation_create, annotation_delete, annotation_update


MASK_HELP = 'COCO RLE {"size": [H, W], "counts": str or list} or {"png": base64}; the name of the mask in responses too.'
EDIT_SECONDS_HELP = "Active editing time of the object in seconds (the annotator's effort), 0 to 86400."


def _mask_payload(values: dict, *, required: bool) -> object:
    """The mask payload of a body: `rle`, else the older name `mask`; 400 when required and absent."""
    if values.get("rle") is not None:
        return values["rle"]
    if values.get("mask") is not None:
        return values["mask"]
    if required:
        raise ClickLabelError('Send the mask as "rle".', code="invalid", details={"fields": {"rle": ["required"]}})
    return None

VERSION_REQUIRED = OpenApiResponse(description='No "version" in the body, If-Match or ?version=.')


class AnnotationListCreateApi(APIView):
    pagination_class = StandardPagination  # GET answers one page (labeling.api.base.paginated)

    class AnnotationCreateInputSerializer(serializers.Serializer):
        image = serializers.IntegerField()
        label = serializers.IntegerField()
        rle = serializers.JSONField(required=False, help_text=MASK_HELP)
        mask = serializers.JSONField(required=False, help_text="The older name of `rle` (accepted on input).")
        clicks = serializers.JSONField(required=False, default=list)
        strokes = serializers.JSONField(required=False, default=list,
                                        help_text='Brush/eraser corrections: [{"mode", "radius", "points"}, ...].')
        model_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        mode = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
        edit_seconds = serializers.FloatField(required=False, allow_null=True, default=None,
                                              help_text=EDIT_SECONDS_HELP)

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
        payload = _mask_payload(values, required=True)
        image = access_image(request.user, values["image"])
        require_image_edit(request.user, image)
        label = label_get(project_id=image.project_id, label_id=values["label"])
        annotation = annotation_create(
            image=image, user=request.user, label=label,
            mask=parse_mask_payload(payload, image.height, image.width), clicks=values["clicks"],
            strokes=values["strokes"], model_name=values["model_name"], mode=values["mode"],
            edit_seconds=values["edit_seconds"])
        return Response(AnnotationOutputSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetailApi(APIView):
    class AnnotationUpdateInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False, help_text="Or send If-Match: <version>.")
        label = serializers.IntegerField(required=False)
        rle = serializers.JSONField(required=False, help_text=MASK_HELP)
        mask = serializers.JSONField(required=False, help_text="The older name of `rle` (accepted on input).")
        clicks = serializers.JSONField(required=False)
        strokes = serializers.JSONField(required=False)
        model_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
        mode = serializers.CharField(required=False, allow_blank=True, max_length=32)
        edit_seconds = serializers.FloatField(required=False, allow_null=True,
                                              help_text="The object's new total; " + EDIT_SECONDS_HELP)

    @extend_schema(responses=AnnotationOutputSerializer)
    def get(self, request: Request, annotation_id: int) -> Response:
        return Response(AnnotationOutputSerializer(access_annotation(request.user, annotation_id)).data)

    @extend_schema(request=AnnotationUpdateInputSerializer,
                   responses={200: AnnotationOutputSerializer, 428: VERSION_REQUIRED})
    def patch(self, request: Request, annotation_id: int) -> Response:
        annotation = access_annotation(request.user, annotation_id, Action.VIEW)
        data = self.AnnotationUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        image = annotation.image
        require_image_edit(request.user, image)
        changes = {key: values[key] for key in ("clicks", "strokes", "model_name", "mode", "edit_seconds")
                   if key in values}
        if "label" in values:
            changes["label"] = label_get(project_id=image.project_id, label_id=values["label"])
        payload = _mask_payload(values, required=False)
        if payload is not None:
            changes["mask"] = parse_mask_payload(payload, image.height, image.width)
        annotation = annotation_update(annotation=annotation, user=request.user, version=requested_version(request),
                                       **changes)
        return Response(AnnotationOutputSerializer(annotation).data)

    @extend_schema(parameters=[OpenApiParameter("version", int)], responses={204: None, 428: VERSION_REQUIRED})
    def delete(self, request: Request, annotation_id: int) -> Response:
        annotation = access_annotation(request.user, annotation_id)
        annotation_delete(annotation=annotation, user=request.user, version=requested_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


