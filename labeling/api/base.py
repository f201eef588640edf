"""Helpers shared by the API modules: pagination of plain APIViews and version headers."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.pagination import StandardPagination


def paginated(request: Request, view: APIView, queryset: QuerySet, serializer_class: type,
              context: dict | None = None) -> Response:
    """One page of `queryset` as `{"count", "next", "previous", "results"}`."""
    paginator = StandardPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)


def requested_version(request: Request) -> Any:
    """The annotation version the client last saw: body `version`, else `If-Match`, else `?version=`."""
    data = request.data if isinstance(request.data, dict) else {}
    if data.get("version") is not None:
        return data["version"]
    header = request.headers.get("If-Match")
    if header:
        return header.strip().removeprefix("W/").strip('"')
    return request.query_params.get("version")
