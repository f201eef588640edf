"""Resident memory of process groups, read from /proc (Linux): a worker's group holds its pool children too."""
from __future__ import annotations

import threading
from pathlib import Path


def group_rss_kb(pgids: set[int]) -> dict[int, int]:
    """Sum of VmRSS (KiB) of the live processes of each process group in `pgids`."""
    totals = {pgid: 0 for pgid in pgids}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pgrp = int(fields[2])
            if pgrp not in totals or fields[0] == "Z":
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    totals[pgrp] += int(line.split()[1])
                    break
        except (OSError, IndexError, ValueError):
            continue
    return totals


class RssSampler:
    """Samples the RSS of named process groups every `period_s` in a thread; `peak_mb` / `last_mb` by name."""

    def __init__(self, groups: dict[str, int], period_s: float = 2.0) -> None:
        self.groups = groups
        self.period_s = period_s
        self.peak_kb = {name: 0 for name in groups}
        self.last_kb = {name: 0 for name in groups}
        self.first_kb: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        totals = group_rss_kb(set(self.groups.values()))
        for name, pgid in self.groups.items():
            kb = totals.get(pgid, 0)
            self.first_kb.setdefault(name, kb)
            self.last_kb[name] = kb
            self.peak_kb[name] = max(self.peak_kb[name], kb)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self._sample()

    def start(self) -> "RssSampler":
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> dict[str, dict[str, float]]:
        """Stop sampling; {name: {"start_mb", "peak_mb", "end_mb"}}."""
        self._stop.set()
        self._thread.join(timeout=self.period_s * 2)
        self._sample()
        mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
        return {name: {"start_mb": mb(self.first_kb.get(name, 0)), "peak_mb": mb(self.peak_kb[name]),
                       "end_mb": mb(self.last_kb[name])} for name in self.groups}
