"""The OpenAPI schema says what the API answers: paginated lists, the error body under every error status,
and JSON errors even for paths that match no route."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient


@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("path", ["/api/projects/", "/api/images/", "/api/projects/{project_id}/images/",
                                  "/api/annotations/"])
def test_lists_are_documented_as_pages(schema, path):
    operation = schema["paths"][path]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}


def test_every_operation_documents_the_error_body(schema):
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404", "429"):
                assert operation["responses"][status]["content"]["application/json"]["schema"] == error, (
                    method, path, status)
    patch = schema["paths"]["/api/annotations/{annotation_id}/"]["patch"]["responses"]
    assert "409" in patch and patch["428"]["content"]["application/json"]["schema"] == error


def test_a_path_matching_no_route_gets_the_json_error_body(world):
    response = world.client(world.manager).get("/api/projects/not-a-number/progress/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"
    assert "json" not in Client().get("/no-such-page/")["Content-Type"]  # pages keep Django's HTML 404
