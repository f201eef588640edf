"""OpenAPI additions drf-spectacular cannot infer: the error responses every operation may give.

`add_error_responses` (a drf-spectacular postprocessing hook) documents the API's one error body,
`{"error": {"code", "message", "details"}}` (see `labeling.api.exception_handler`), under the statuses an
operation can answer with besides its own: 400 (malformed or invalid input), 401 (no or bad credentials),
403 (the role does not allow it), 404 (missing, or in a project the caller cannot see), 405, 406, 415,
429 (throttled or locked out); writes also 409 (state changed: stale version, invalid transition) and 413
(a body or an export over its limit). An operation's own declaration of a status wins; a 4xx it declares
without a body gets the error body.
"""
from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "machine-readable, e.g. not_found, invalid_mask"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
            "required": ["code", "message", "details"],
        },
    },
    "required": ["error"],
}

ALWAYS = {
    "400": "Malformed or invalid input.",
    "401": "Missing or invalid credentials.",
    "403": "The caller's role does not allow this.",
    "404": "Not found, or in a project the caller cannot see.",
    "405": "Method not allowed.",
    "406": "No acceptable response format.",
    "415": "Unsupported request media type.",
    "429": "Too many requests (throttled, or a locked-out login).",
}
WRITES = {
    "409": "The state changed (stale version, invalid transition, not ready).",
    "413": "The body or the export is over its limit.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def add_error_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Postprocessing hook: add `components.schemas.Error` and the error responses to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in WRITE_METHODS | {"get", "head"}:
                continue
            statuses = {**ALWAYS, **(WRITES if method in WRITE_METHODS else {})}
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                responses.setdefault(status, {"description": description, "content": reference})
            for status, response in responses.items():  # errors an operation declares itself carry the body too
                if status.startswith("4") and "content" not in response:
                    response["content"] = reference
    return result
