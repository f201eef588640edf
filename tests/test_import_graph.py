"""No import cycles in the repository's packages (labeling, inference, webapp, tools: every top-level package),
read statically by `tools.import_graph`: module-level imports must form no cycle, and no function-level
import may dodge one (its target must not import the importer back)."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tools.import_graph import ROOT, build, packages

PACKAGES = packages(ROOT)


@pytest.fixture(scope="module")
def graph():
    return build(ROOT)


def _in(package: str, module: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_every_package_is_checked(graph):
    assert {"labeling", "inference"} <= set(PACKAGES)
    for package in ("labeling", "inference"):
        assert sum(_in(package, m) for m in graph.modules) > 20
    module_level = {(i.source, i.target) for i in graph.imports if not i.lazy}
    assert ("labeling.services.exports", "labeling.tasks") in module_level  # services enqueue tasks
    assert ("labeling.tasks", "labeling.exports.jobs") in module_level  # tasks call the job runner


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(graph, package):
    cycles = [" → ".join(c) for c in graph.cycles() if any(_in(package, m) for m in c)]
    assert cycles == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_level_import_hides_a_cycle(graph, package):
    hidden = [str(i) for i in graph.hidden_cycles() if _in(package, i.source)]
    assert hidden == []


def _package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_checker_finds_cycles_and_the_lazy_imports_that_hide_them(tmp_path):
    _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "from . import a\n",                                   # a → b → a
        "pkg/c.py": "def f():\n    from pkg.d import x\n    return x\n",   # lazy c → d ...
        "pkg/d.py": "import pkg.c\nx = 1\n",                               # ... and d → c at import time
        "pkg/e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import f\n",
        "pkg/f.py": "import pkg.e\n",                                       # never runs: no cycle
        "pkg/sub/__init__.py": "from pkg.sub.g import G\n",
        "pkg/sub/g.py": "class G:\n    try:\n        from ..sub import h\n    except ImportError:\n        pass\n",
        "pkg/sub/h.py": "from pkg.sub import g\n",                        # g → h → g, from a class body
    })
    graph = build(tmp_path, ["pkg"])
    assert graph.cycles() == [["pkg.a", "pkg.b", "pkg.a"], ["pkg.sub.g", "pkg.sub.h", "pkg.sub.g"]]
    assert [str(i) for i in graph.hidden_cycles()] == ["pkg.c:2 → pkg.d"]


def _not_python(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir() or n == "__pycache__"]


def test_putting_back_the_old_export_job_shape_is_caught(tmp_path):
    """The job runner calling back into the module that enqueues its task closes a cycle."""
    for package in ("labeling", "inference", "webapp"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_not_python)
    assert build(tmp_path).cycles() == []
    jobs = tmp_path / "labeling" / "exports" / "jobs.py"
    jobs.write_text(jobs.read_text() + "\nfrom labeling.services.exports import export_job_create  # noqa\n")
    assert build(tmp_path).cycles() == [["labeling.exports.jobs", "labeling.services.exports", "labeling.tasks",
                                         "labeling.exports.jobs"]]
