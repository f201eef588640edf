"""The one application error type raised by services; the API maps it to HTTP, the consumer to a typed
websocket error message."""
from __future__ import annotations


class ClickLabelError(Exception):
    """A refused operation, with a machine-readable `code`, a human message and an HTTP status."""

    status: int = 400
    code: str = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}


class NotFound(ClickLabelError):
    status = 404
    code = "not_found"


class PermissionDenied(ClickLabelError):
    status = 403
    code = "forbidden"


class Conflict(ClickLabelError):
    """Optimistic-locking failure: the client's version is stale (HTTP 409)."""

    status = 409
    code = "conflict"


class UploadRejected(ClickLabelError):
    status = 400
    code = "upload_rejected"
