"""A short accelerated bot run on the simulator with informed/noise flow (in-process)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pmbot.settings import load_settings

START = int(datetime(2026, 11, 24, 10, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()) * 10**9


def settings(tmp: Path, **over: dict[str, object]) -> Any:
    layers: dict[str, dict[str, object]] = {
        "ledger": {"path": str(tmp / "ledger.sqlite3")},
        "logging": {"file": str(tmp / "trading.log"), "console": False},
        "bot": {"dashboard": False, "reconcile_interval_s": 5.0},
    }
    for k, v in over.items():
        layers.setdefault(k, {}).update(v)
    return load_settings(None, environ={}, overrides=layers)


async def until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait (bounded) for a state the system under test must reach."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
