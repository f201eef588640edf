"""Schema-driven API fuzzing: Schemathesis generates requests for every operation of `/api/schema/`
(drf-spectacular) and sends them to the application through its WSGI interface, in this test's database,
as each role: anonymous, annotator, reviewer, manager and staff.

Every operation gets positive cases (valid by the schema; path ids drawn from objects that exist, plus
one that does not) and negative cases (invalid by the schema). Where Schemathesis finds nothing to make
invalid (no parameters and no body, like `GET /api/`, or only optional free-form headers such as the
credentials), it skips the negative run, as its own runner does, and the test lists the operation.
The properties: no 5xx, every status is one the schema documents, every response body and content type
matches the schema.

Example counts: CLICKLABEL_FUZZ_EXAMPLES per operation, role and mode (default 3: about 1,070 requests,
under a minute of CPU); raise it for a longer run, e.g. `CLICKLABEL_FUZZ_EXAMPLES=30 pytest -m fuzz`.
Generation is derandomized (the same cases every run) unless CLICKLABEL_FUZZ_RANDOM=1.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.control import SkipTest
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from labeling.exports.jobs import export_job_run
from labeling.models import ExportJob
from labeling.services.drafts import draft_save

from export_helpers import add_annotation, ring_mask
from request_helpers import connections_kept_open

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("CLICKLABEL_FUZZ_EXAMPLES", "3"))
DERANDOMIZE = os.environ.get("CLICKLABEL_FUZZ_RANDOM", "") not in ("1", "true", "yes")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ["anonymous", "annotator", "reviewer", "manager", "staff"]
MISSING_ID = 987654


@dataclass
class Tally:
    """What one role's run sent and what it found."""

    cases: int = 0
    server_errors: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    without_negative: list[str] = field(default_factory=list)  # operations with no input to make invalid


@pytest.fixture
def wsgi_app():
    """The Django application as a WSGI callable, sharing this test's database connection and transaction
    (Django's test client does the same: no connection closing around requests)."""
    with connections_kept_open():
        yield WSGIHandler()


@pytest.fixture
def id_pools(world) -> dict[str, list[int]]:
    """Path ids the positive cases draw from: objects of the world (own and other project) plus a missing id."""
    ann = add_annotation(world.image, world.label, ring_mask(8, 12))
    add_annotation(world.other_image, world.other_label, ring_mask(8, 12))
    job = export_job_run(job_id=ExportJob.objects.create(project=world.project, format="coco-rle").pk)
    pending = ExportJob.objects.create(project=world.project, format="voc")
    draft_save(image=world.image2, user=world.annotator, state={"clicks": []})
    return {
        "project_id": [world.project.pk, world.other_project.pk, MISSING_ID],
        "image_id": [world.image.pk, world.image2.pk, world.other_image.pk, MISSING_ID],
        "annotation_id": [ann.pk, MISSING_ID],
        "job_id": [job.pk, pending.pk, MISSING_ID],
        "user_id": [world.annotator.pk, world.reviewer.pk, world.manager.pk, world.outsider.pk, MISSING_ID],
    }


def _path_parameters(operation, pools: dict[str, list[int]]) -> st.SearchStrategy[dict[str, int]]:
    names = [p.name for p in operation.path_parameters]
    return st.fixed_dictionaries({name: st.sampled_from(pools[name]) for name in names})


def _fuzz_operation(app, operation, mode: GenerationMode, headers: dict[str, str],
                    pools: dict[str, list[int]], tally: Tally) -> None:
    # One mode at a time: with only NEGATIVE configured, Schemathesis answers SkipTest ("Impossible to generate
    # negative test cases") for an operation with nothing to make invalid, instead of rejecting every case.
    operation.schema.config.generation.update(modes=[mode])
    if mode == GenerationMode.POSITIVE and operation.path_parameters:
        strategy = _path_parameters(operation, pools).flatmap(
            lambda params: operation.as_strategy(mode, path_parameters=params, headers=headers or None))
    else:
        strategy = operation.as_strategy(mode, headers=headers or None)

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck),
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    @hypothesis.given(case=strategy)
    def run(case) -> None:
        tally.cases += 1
        tally.by_operation[operation.label] = tally.by_operation.get(operation.label, 0) + 1
        response = case.call(app=app)
        if response.status_code >= 500:
            tally.server_errors += 1
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except SkipTest:
        if mode != GenerationMode.NEGATIVE:
            raise
        tally.without_negative.append(operation.label)
    except (Exception, BaseExceptionGroup) as exc:  # one failure per operation and mode is enough to report
        tally.failures[f"{operation.label} [{mode.value}]"] = str(exc)[:3000]


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_within_its_schema(world, wsgi_app, id_pools, role):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    user = None if role == "anonymous" else getattr(world, role)
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"} if user else {}
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(wsgi_app, operation, mode, headers, id_pools, tally)
    print(f"\nfuzz {role}: {tally.cases} cases over {len(tally.by_operation)} operations, "
          f"{tally.server_errors} responses 5xx, {len(tally.failures)} failing operation/mode pairs; "
          f"no input to make invalid: {', '.join(tally.without_negative) or 'none'}")
    for name, message in tally.failures.items():
        first = next((line.strip(" |") for line in message.splitlines() if "Error" in line or "error" in line), "")
        print(f"  FAIL {name}: {first[:200]}")
    assert set(tally.by_operation) == {op.label for op in operations}  # every operation was exercised
    declared_input = {op.label for op in operations if op.body or len(op.path_parameters) or len(op.query)}
    assert not declared_input & set(tally.without_negative)  # a body, path or query parameter was made invalid
    assert tally.server_errors == 0 and not tally.failures, "\n\n".join(
        f"=== {name}\n{message}" for name, message in tally.failures.items())
