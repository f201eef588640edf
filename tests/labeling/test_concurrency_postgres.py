"""Real concurrency on PostgreSQL: of N writers holding the same version exactly one wins; two annotators
asking for the next image at once never get the same image."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from labeling.errors import Conflict
from labeling.models import Annotation, Image
from labeling.services.annotations import annotation_create, annotation_update
from labeling.services.workflow import image_next_for_user

from labeling_factories import box_mask

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


def _run_threads(target, n: int) -> list:
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_only_one_of_concurrent_stale_updates_wins(world):
    ann = annotation_create(image=world.image, user=world.manager, label=world.label, mask=box_mask())
    users = [world.manager, world.staff, world.annotator, world.manager]
    results = _run_threads(lambda i: annotation_update(annotation=Annotation.objects.get(pk=ann.pk),
                                                       user=users[i], version=1, mode=f"m{i}"), len(users))
    winners = [r for r in results if isinstance(r, Annotation)]
    assert len(winners) == 1 and all(isinstance(r, Conflict) for r in results if r not in winners), results
    assert Annotation.objects.get(pk=ann.pk).version == 2


def test_concurrent_next_image_claims_distinct_images(world):
    users = [world.annotator, world.annotator2, world.manager]
    results = _run_threads(lambda i: image_next_for_user(project=world.project, user=users[i]), len(users))
    claimed = [r.pk for r in results if isinstance(r, Image)]
    assert len(claimed) == len(set(claimed)) == 2  # two open images, three callers
    assert [r for r in results if not isinstance(r, Image)] == [None]
