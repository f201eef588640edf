"""The one DRF exception handler: every error body is `{"error": {"code", "message", "details"}}`."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from labeling.errors import ClickLabelError


def error_body(code: str, message: str, details: Any = None) -> dict:
    """The error envelope shared by the API."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return f"{key}: {_first_message(value)}"
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Map ClickLabelError to its status; reshape DRF / Django errors into the same envelope."""
    if isinstance(exc, ClickLabelError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        code, message, details = "invalid", _first_message(exc.detail), {"fields": exc.detail}
    else:
        code, message, details = exc.default_code, _first_message(exc.detail), {}
        if code == "permission_denied":
            code = "forbidden"
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            code = "not_authenticated"
    response.data = error_body(code, message, details)
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: under /api/ the API's JSON error body (a path that matches no route, e.g. a non-numeric
    id), elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)
    return page_not_found(request, exception)
