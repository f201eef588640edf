"""Services and selectors keep one shape: every public function is `<entity>_<action>` (the entity a word of a
model's name, or user / coco / thumbnail), keyword-only, typed and documented."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.apps import apps

LABELING = Path(__file__).resolve().parents[2] / "labeling"
MODULES = sorted([*LABELING.glob("services/*.py"), *LABELING.glob("selectors/*.py")])
OTHER_ENTITIES = {"user", "coco", "thumbnail"}


def _entities() -> set[str]:
    words = {w.lower() for model in apps.get_app_config("labeling").get_models()
             for w in re.findall(r"[A-Z][a-z]+", model.__name__)}
    return words | OTHER_ENTITIES


def _problems(function: ast.FunctionDef, entities: set[str]) -> list[str]:
    args = function.args
    found = []
    if "_" not in function.name or function.name.split("_")[0] not in entities:
        found.append("not named <entity>_<action>")
    if args.posonlyargs or args.args or args.vararg:
        found.append("takes positional arguments")
    keywords = [*args.kwonlyargs, *([args.kwarg] if args.kwarg else [])]
    if function.returns is None or any(a.annotation is None for a in keywords):
        found.append("is not fully typed")
    if not ast.get_docstring(function):
        found.append("has no docstring")
    return found


def test_the_rule_is_checked_on_the_real_modules():
    assert len(MODULES) >= 10
    assert {"image", "annotation", "export", "project", "draft"} <= _entities()


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_public_functions_are_entity_action_keyword_only_typed_and_documented(path):
    entities = _entities()
    tree = ast.parse(path.read_text())
    problems = [f"{node.name} {problem}" for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_")
                for problem in _problems(node, entities)]
    assert problems == []


def test_a_misshapen_service_is_reported():
    bad = ast.parse("def add_images(project, files, user):\n    pass\n").body[0]
    assert _problems(bad, _entities()) == ["not named <entity>_<action>", "takes positional arguments",
                                           "is not fully typed", "has no docstring"]
