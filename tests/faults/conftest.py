"""The fault tests' stack (one per module) and the fault table: printed after the run; written as JSON to
$CLICKLABEL_FAULTS_JSON when set (docs/reliability.md is made from it: `python -m tools.reliability_report`)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .harness import EmbeddedStack, FaultRow

ROWS: list[FaultRow] = []


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory):
    """The embedded stack as `make run` starts it, in a temporary var dir."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    stack = EmbeddedStack(tmp_path_factory.mktemp("fault-stack"))
    try:
        stack.start()
        yield stack
    except Exception:
        print(stack.processes.logs())
        raise
    finally:
        stack.stop()


@pytest.fixture
def fault_table():
    """Append a FaultRow to the table of this run."""
    return ROWS.append


def fault_table_markdown(rows: list[dict]) -> str:
    """The fault table as Markdown."""
    lines = ["| fault | clients affected | time to recover (s) | annotations saved / lost | drafts saved / lost "
             "| duplicates | reconnects | failed attempts |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['fault']} | {r['clients_affected']} of {r['clients']} | {r['recover_s']:.1f} "
                     f"| {r['annotations_saved']} / {r['annotations_lost']} | {r['drafts_saved']} / {r['drafts_lost']} "
                     f"| {r['duplicates']} | {r['reconnects']} | {r['failed_attempts']} |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    rows = [row.as_dict() for row in ROWS]
    terminalreporter.write_sep("=", "fault table")
    terminalreporter.write_line(fault_table_markdown(rows))
    out = os.environ.get("CLICKLABEL_FAULTS_JSON")
    if out:
        Path(out).write_text(json.dumps({"rows": rows}, indent=2))
        terminalreporter.write_line(f"written to {out}")
