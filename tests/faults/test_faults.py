"""Faults on the real stack while annotators click and save (`pytest -m faults`): a click worker SIGKILLed
mid-click (a supervisor starts a new one), Redis restarted (it keeps nothing: no persistence), daphne restarted.
Afterwards every annotation the server acknowledged is stored, every acknowledged draft is the stored one, and
every client reconnected and finished its objects. The fault table is printed at the end of the run."""
from __future__ import annotations

import pytest

from .harness import run_fault

pytestmark = [pytest.mark.faults, pytest.mark.slow]
CLIENTS = 4


def _assert_nothing_lost(row) -> None:
    assert row.unfinished_clients == 0, row
    assert row.annotations_lost == 0 and row.drafts_lost == 0, row
    assert row.annotations_saved == CLIENTS * 3 and row.drafts_saved == CLIENTS, row


def test_killed_click_worker_mid_click(fault_stack, fault_table):
    def inject() -> None:
        fault_stack.kill("live-worker")                         # SIGKILL, pool child included
        fault_stack.processes.start("live-worker", fault_stack.commands["live-worker"])   # the supervisor's restart

    row = run_fault(fault_stack, "click worker SIGKILLed mid-click, restarted", inject,
                    fault_stack.seed(CLIENTS, "kill"))
    fault_table(row)
    _assert_nothing_lost(row)
    assert row.clients_affected >= 1


def test_redis_restarted(fault_stack, fault_table):
    row = run_fault(fault_stack, "Redis restarted (empty: no persistence)", lambda: fault_stack.restart("redis"),
                    fault_stack.seed(CLIENTS, "redis"))
    fault_table(row)
    _assert_nothing_lost(row)


def test_daphne_restarted(fault_stack, fault_table):
    row = run_fault(fault_stack, "daphne restarted", lambda: fault_stack.restart("web"),
                    fault_stack.seed(CLIENTS, "web"))
    fault_table(row)
    _assert_nothing_lost(row)
    assert row.reconnects >= CLIENTS, "every socket was closed and reopened"
