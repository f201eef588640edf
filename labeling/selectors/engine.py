"""Reads about the segmentation engine's offer: the modes and models a project may use, and the settings
the annotator actually runs for a project (falling back, with a notice, when the configured ones are gone).

The names come from `inference.catalog` (no torch, no Django); this module adds nothing but the web's view.
"""
from __future__ import annotations

from dataclasses import dataclass

from inference.catalog import DEFAULT_MODE, DEFAULT_MODEL, MODE_INFO, MODES, model_names

from labeling.models import Project
from labeling.selectors.model_versions import model_version_get_promoted


@dataclass(frozen=True)
class EngineSettings:
    """What the annotator runs for a project: `mode`, `model`, and one sentence per setting that had to be
    replaced because the configured value is not available (empty when the project's settings are used)."""

    mode: str
    model: str
    notices: tuple[str, ...] = ()


def project_mode_names() -> tuple[str, ...]:
    """The modes a project may use, in the order the pickers list them."""
    return tuple(name for name in MODE_INFO if name in MODES)


def project_mode_label(*, mode: str) -> str:
    """"Precise — f-BRS-B" for a known mode; the name itself otherwise."""
    info = MODE_INFO.get(mode)
    return f"{info.title} — {info.technical}" if info else mode


def project_mode_choices() -> list[tuple[str, str]]:
    """(name, "Title — paper name") pairs for form and serializer choices."""
    return [(name, project_mode_label(mode=name)) for name in project_mode_names()]


def project_mode_options() -> list[dict]:
    """The annotator's mode picker: `[{"name", "title", "summary", "technical"}]`."""
    return [{"name": name, "title": MODE_INFO[name].title, "summary": MODE_INFO[name].summary,
             "technical": MODE_INFO[name].technical} for name in project_mode_names()]


def project_model_choices() -> list[tuple[str, str]]:
    """(name, name) pairs of the registered models (and the workers' extra names): never paths."""
    return [(name, name) for name in model_names()]


def project_engine_settings(*, project: Project) -> EngineSettings:
    """The project's mode and model (a registered name or one of its promoted adapted versions), or working ones
    with a notice when the configured ones are unknown (a mode or model removed from the engine, or a value
    stored before the names were checked)."""
    notices = []
    mode, model = project.default_mode, project.default_model
    if mode not in project_mode_names():
        fallback = DEFAULT_MODE if DEFAULT_MODE in project_mode_names() else project_mode_names()[0]
        notices.append(f"This project's mode “{mode}” is not available; using "
                       f"{project_mode_label(mode=fallback)} instead. A manager can choose another mode for the project.")
        mode = fallback
    known_models = model_names()
    if model not in known_models and model_version_get_promoted(project_id=project.pk, name=model) is None:
        fallback = DEFAULT_MODEL if DEFAULT_MODEL in known_models else known_models[0]
        notices.append(f"This project's model is not available; using “{fallback}” instead. "
                       f"A manager can choose another model for the project.")
        model = fallback
    return EngineSettings(mode=mode, model=model, notices=tuple(notices))
