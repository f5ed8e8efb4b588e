"""Replay a CSV of timestamps and index levels at any frequency.

Columns: a timestamp (`ts_ns`, `ts_ms`, `ts` as epoch seconds, or an ISO-8601 string with
an offset) and `level`. Rows that do not parse are logged and skipped; timestamps must not
go backwards (such rows are skipped too). With `speed` the replay waits on the injected
clock between rows (speed 2 = twice real time); without it rows are emitted at once.
Each tick carries the file's timestamp.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import math
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

from pmbot.clock import Clock
from pmbot.core.events import IndexTick, VolTick
from pmbot.feeds.base import IndexFeed

__all__ = ["ReplayFeed", "read_levels"]

log = logging.getLogger("pmbot.feeds.replay")


def _parse_ts(row: dict[str, str]) -> int:
    if row.get("ts_ns"):
        return int(row["ts_ns"])
    if row.get("ts_ms"):
        return int(float(row["ts_ms"]) * 1_000_000)
    raw = (row.get("ts") or row.get("timestamp") or "").strip()
    try:
        return round(float(raw) * 1e9)
    except ValueError:
        dt = datetime.fromisoformat(raw)
        if dt.tzinfo is None:
            raise ValueError(f"timestamp without an offset: {raw!r}") from None
        return round(dt.timestamp() * 1e6) * 1000


def read_levels(path: str | Path) -> Iterator[tuple[int, float]]:
    """(ts_ns, level) per good row, in file order, never going backwards."""
    last = -(2**63)
    with open(path, newline="") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            try:
                ts = _parse_ts(row)
                level = float(row["level"])
                if not (math.isfinite(level) and level > 0):
                    raise ValueError(f"bad level {row['level']!r}")
            except (KeyError, TypeError, ValueError) as e:
                log.warning("replay skipped row line=%d reason=%s", n, e)
                continue
            if ts < last:
                log.warning("replay skipped row line=%d reason=timestamp goes backwards", n)
                continue
            last = ts
            yield ts, level


class ReplayFeed(IndexFeed):
    def __init__(
        self,
        clock: Clock,
        path: str | Path,
        speed: float | None = None,
        stale_after: float = 30.0,
        name: str = "replay",
    ) -> None:
        super().__init__(name, clock, stale_after)
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self.path = Path(path)
        self.speed = speed

    async def _produce(self) -> AsyncIterator[IndexTick | VolTick]:
        first: int | None = None
        start = self.clock.monotonic()
        for i, (ts, level) in enumerate(read_levels(self.path)):
            if self.speed is None and i % 1000 == 999:
                await asyncio.sleep(0)  # let the loop breathe on big files
            if self.speed is not None:
                first = ts if first is None else first
                due = start + (ts - first) / 1e9 / self.speed
                wait = due - self.clock.monotonic()
                if wait > 0:
                    await self.clock.sleep(wait)
            yield IndexTick(ts, level, self.name)
