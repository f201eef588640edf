"""The permission table: every API endpoint × every kind of caller, with the expected HTTP status.

Callers: anonymous, outsider (manager of ANOTHER project), annotator (assignee of the image),
annotator2 (an annotator of the project, image assigned to someone else), reviewer, manager, staff.
Setup: `image` is new and assigned to `annotator` and carries one annotation (version 1); `image2`
is in review; `image3` is new and unassigned (so edits there test the role, not the assignment); `job` is a pending export.
"""
from __future__ import annotations

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, ExportJob, ImageStatus, ImportJob
from labeling.masks import mask_to_rle

from labeling_factories import box_mask, make_image, png_bytes

CALLERS = ("anonymous", "outsider", "annotator", "annotator2", "reviewer", "manager", "staff")

#            anon outsider annot annot2 review manager staff
VIEW =      (401, 404,     200,  200,   200,   200,    200)
MANAGE =    (401, 404,     403,  403,   403,   200,    200)
CREATE =    (401, 404,     403,  403,   403,   201,    201)
EDIT =      (401, 404,     200,  403,   403,   200,    200)
EDIT_NEW =  (401, 404,     201,  403,   403,   201,    201)

TABLE = [
    # (name, method, url, body, expected per caller)
    ("project list", "get", "/api/projects/", None, (401, 200, 200, 200, 200, 200, 200)),
    ("project create", "post", "/api/projects/", {"name": "New"}, (401, 403, 403, 403, 403, 403, 201)),
    ("project detail", "get", "/api/projects/{project}/", None, VIEW),
    ("project patch", "patch", "/api/projects/{project}/", {"description": "d"}, MANAGE),
    ("progress", "get", "/api/projects/{project}/progress/", None, VIEW),
    ("next image", "get", "/api/projects/{project}/next-image/", None, (401, 404, 200, 200, 403, 200, 200)),
    ("label list", "get", "/api/projects/{project}/labels/", None, VIEW),
    ("label create", "post", "/api/projects/{project}/labels/", {"name": "bird", "color": "#123456"}, CREATE),
    ("member list", "get", "/api/projects/{project}/members/", None, VIEW),
    ("member add", "post", "/api/projects/{project}/members/", {"user": "newcomer", "role": "reviewer"}, CREATE),
    ("member remove", "delete", "/api/projects/{project}/members/{annotator2_id}/", None,
     (401, 404, 403, 403, 403, 204, 204)),
    ("image list", "get", "/api/images/?project={project}", None, (401, 200, 200, 200, 200, 200, 200)),
    ("image detail", "get", "/api/images/{image}/", None, VIEW),
    ("image file", "get", "/api/images/{image}/file/", None, VIEW),
    ("image submit", "post", "/api/images/{image}/submit/", {}, EDIT),
    ("image review", "post", "/api/images/{image2}/review/", {"decision": "accept"},
     (401, 404, 403, 403, 201, 201, 201)),
    ("image assign", "post", "/api/images/{image}/assign/", {"assignee": "{annotator2_id}"}, MANAGE),
    ("draft get", "get", "/api/images/{image}/draft/", None, (401, 404, 204, 204, 204, 204, 204)),
    ("draft put", "put", "/api/images/{image}/draft/", {"state": {"clicks": []}}, EDIT),
    ("annotation list", "get", "/api/annotations/?image={image}", None, VIEW),
    ("annotation create", "post", "/api/annotations/", "CREATE_ANNOTATION", EDIT_NEW),
    ("annotation create, unassigned image", "post", "/api/annotations/", "CREATE_ANNOTATION_IMAGE3",
     (401, 404, 201, 201, 403, 201, 201)),
    ("draft put, unassigned image", "put", "/api/images/{image3}/draft/", {"state": {"clicks": []}},
     (401, 404, 200, 200, 403, 200, 200)),
    ("submit, unassigned image", "post", "/api/images/{image3}/submit/", {}, (401, 404, 200, 200, 403, 200, 200)),
    ("annotation detail", "get", "/api/annotations/{annotation}/", None, VIEW),
    ("annotation patch", "patch", "/api/annotations/{annotation}/", {"version": 1, "mode": "nobrs"}, EDIT),
    ("annotation delete", "delete", "/api/annotations/{annotation}/?version=1", None,
     (401, 404, 204, 403, 403, 204, 204)),
    # upload / export / import (labeling/api/uploads.py, exports.py, imports.py), same permission model
    ("image upload", "post", "/api/projects/{project}/images/", "UPLOAD", CREATE),
    ("export start", "post", "/api/projects/{project}/exports/", {"format": "coco-rle"},
     (401, 404, 403, 403, 403, 202, 202)),
    ("export status", "get", "/api/exports/{job}/", None, MANAGE),
    ("export download (not ready)", "get", "/api/exports/{job}/download/", None, (401, 404, 403, 403, 403, 409, 409)),
    ("direct export", "get", "/api/projects/{project}/export/?format=coco-rle", None, MANAGE),
    ("coco import", "post", "/api/projects/{project}/import/coco/",
     {"images": [], "annotations": [], "categories": []}, (401, 404, 403, 403, 403, 202, 202)),
    ("import status", "get", "/api/imports/{import_job}/", None, MANAGE),
    ("schema", "get", "/api/schema/", None, (200,) * 7),
]


@pytest.fixture
def table_world(world):
    from labeling_factories import make_user

    make_user("newcomer")
    world.image.assignee = world.annotator
    world.image.save()
    world.image2.status = ImageStatus.IN_REVIEW
    world.image2.save()
    world.image3 = make_image(world.project)
    world.job = ExportJob.objects.create(project=world.project, format="coco-rle", requested_by=world.manager)
    world.import_job = ImportJob.objects.create(project=world.project, requested_by=world.manager)
    rle = mask_to_rle(box_mask())
    world.annotation = Annotation.objects.create(image=world.image, label=world.label, rle=rle, bbox=[2, 1, 4, 3],
                                                 area=12, author=world.annotator)
    return world


def _fill(value, ids):
    if isinstance(value, str):
        return int(value.format(**ids)) if value.startswith("{") and value.endswith("_id}") else value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("caller_index,caller", list(enumerate(CALLERS)))
@pytest.mark.parametrize("name,method,url,body,expected", TABLE, ids=[row[0] for row in TABLE])
def test_permission_table(table_world, name, method, url, body, expected, caller_index, caller):
    w = table_world
    ids = {"project": w.project.pk, "image": w.image.pk, "image2": w.image2.pk, "image3": w.image3.pk, "annotation": w.annotation.pk,
           "annotator2_id": w.annotator2.pk, "job": w.job.pk, "import_job": w.import_job.pk}
    if body in ("CREATE_ANNOTATION", "CREATE_ANNOTATION_IMAGE3"):
        body = {"image": (w.image3 if body.endswith("IMAGE3") else w.image).pk, "label": w.label.pk, "mask": mask_to_rle(box_mask()),
                "clicks": [{"x": 3, "y": 2, "positive": True}]}
    user = None if caller == "anonymous" else getattr(w, caller)
    client = w.client(user)
    kwargs = {"format": "json"} if body is not None else {}
    if body == "UPLOAD":
        body, kwargs = {"files": [SimpleUploadedFile("new.png", png_bytes(7, 5, seed=1234))]}, {"format": "multipart"}
    response = getattr(client, method)(url.format(**ids), _fill(body, ids), **kwargs) if body is not None \
        else getattr(client, method)(url.format(**ids))
    assert response.status_code == expected[caller_index], (name, caller, getattr(response, "data", None))
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_lists_hide_other_projects(table_world):
    w = table_world
    names = [p["name"] for p in w.client(w.outsider).get("/api/projects/").json()["results"]]
    assert names == ["Dogs"]
    images = w.client(w.outsider).get(f"/api/images/?project={w.project.pk}").json()
    assert images["count"] == 0
    assert w.client(w.annotator).get("/api/images/").json()["count"] == 3
    assert w.client(w.staff).get("/api/images/").json()["count"] == 4
