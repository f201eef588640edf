"""tools/bench_live: the order statistics and `manage.py bench_live --seed-only` (the seed the private stack runs)."""
from __future__ import annotations

import io
import json
import math

import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from labeling.models import Image, Membership
from tools.bench_live.scenarios import targets
from tools.bench_live.stats import percentile, summary


def test_percentile_interpolates_between_order_statistics():
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0], 95) == pytest.approx(19.5)
    assert percentile([5.0], 95) == 5.0
    assert math.isnan(percentile([], 50))
    assert summary([1.0, 2.0, 3.0]) == {"median": 2.0, "p95": 2.9, "n": 3}


@pytest.mark.django_db
def test_seed_only_creates_the_bench_project_and_prints_its_login():
    out = io.StringIO()
    call_command("bench_live", "--seed-only", "--mode", "f-brs-b", "--model", "default", "--fresh", "3", stdout=out)
    seed = json.loads(out.getvalue().strip().splitlines()[-1])
    assert seed["cookie"].startswith("sessionid=") and len(seed["cookie"]) > len("sessionid=")
    assert seed["sizes"] == {"small": [320, 240], "large": [4000, 3000]}
    small = Image.objects.select_related("project").get(pk=seed["small_image"])
    assert (small.project.name, small.project.default_mode) == ("bench-live", "f-brs-b")
    assert Membership.objects.filter(project=small.project, user__username="bench").exists()
    for key, size in (("small_image", (320, 240)), ("large_image", (4000, 3000))):
        with Image.objects.get(pk=seed[key]).file.open("rb") as handle:
            assert PILImage.open(handle).size == size
    assert len(seed["fresh_images"]) == 3 and len(set(seed["fresh_images"]) | {seed["small_image"]}) == 4
    assert Image.objects.filter(pk__in=seed["fresh_images"], project=small.project, width=320).count() == 3


def test_targets_follow_this_runs_model_latency():
    out = {"model_ms_median": 100.0, "first_click_prefetched_ms": 149.0, "first_click_cold_ms": 200.0,
           "warmup_ms": 40.0, "burst_final_ms": 135.0, "burst_model_ms_median": 100.0, "overhead_ms_median": 9.5,
           "payload_first_frame_bytes_4000x3000": 120_000}
    checks = targets(out)
    assert checks["first_click_prefetched_ms"] == {"value": 149.0, "limit": 150.0, "met": True}
    assert checks["first_click_cold_ms"]["limit"] == 190.0 and not checks["first_click_cold_ms"]["met"]
    assert not checks["burst_final_ms"]["met"] and checks["overhead_ms_median"]["met"]
    assert not checks["payload_first_frame_bytes_4000x3000"]["met"]
