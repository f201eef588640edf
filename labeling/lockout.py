"""The response to a login attempt that django-axes refused (too many failures): HTTP 429.

Set as AXES_LOCKOUT_CALLABLE: API paths get the API's error envelope, pages a short plain-text message.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from labeling.api.exception_handler import error_body


def login_lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """429 for a locked-out login; extra positional arguments (axes' original response, credentials) are unused."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) if settings.AXES_COOLOFF_TIME else 0
    message = (f"Too many failed logins for this account from this address; try again in {minutes} minutes."
               if minutes else "Too many failed logins for this account from this address.")
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body("locked_out", message), status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response
