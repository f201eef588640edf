"""Adaptation settings (Django settings `CLICKLABEL_ADAPT_*`, read from the environment in
webapp/settings/base.py) → the engine's `AdaptConfig`. The Celery job and `manage.py adapt_simulate` use the
same defaults."""
from __future__ import annotations

from typing import Any

from django.conf import settings

from inference.adaptation.config import AdaptConfig

__all__ = ["ADAPTATION_TASK", "adapt_config", "training_queue"]

ADAPTATION_TASK = "labeling.run_adaptation_job"   # the Celery task (labeling.tasks), sent by name


def adapt_config(**overrides: Any) -> AdaptConfig:
    """The round settings from Django settings, with `overrides` (AdaptConfig fields; None values ignored).

    CLICKLABEL_ADAPT_BUDGET_MIN (10), CLICKLABEL_ADAPT_THREADS (2), CLICKLABEL_ADAPT_DEVICE ("" = CUDA when
    present), CLICKLABEL_ADAPT_GENERIC_DATA ("" = project data only), CLICKLABEL_ADAPT_RECIPE ("adapt"),
    CLICKLABEL_ADAPT_MAX_CLICKS (20, clicks per held-out object)."""
    base: dict[str, Any] = {
        "budget_min": float(getattr(settings, "CLICKLABEL_ADAPT_BUDGET_MIN", 10.0)),
        "threads": int(getattr(settings, "CLICKLABEL_ADAPT_THREADS", 2)),
        "device": getattr(settings, "CLICKLABEL_ADAPT_DEVICE", "") or None,
        "generic_data": getattr(settings, "CLICKLABEL_ADAPT_GENERIC_DATA", "") or None,
        "recipe": getattr(settings, "CLICKLABEL_ADAPT_RECIPE", "adapt"),
        "max_clicks": int(getattr(settings, "CLICKLABEL_ADAPT_MAX_CLICKS", 20)),
    }
    base.update({k: v for k, v in overrides.items() if v is not None})
    return AdaptConfig(**base)


def training_queue() -> str:
    """The Celery queue of adaptation jobs (CLICKLABEL_TRAINING_QUEUE, default "training")."""
    return getattr(settings, "CLICKLABEL_TRAINING_QUEUE", "training") or "training"
