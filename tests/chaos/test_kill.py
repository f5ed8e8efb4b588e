"""SIGKILL at seeded random points, restart, SIGTERM: no orphans, fills once, positions equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from .killer import run_kills

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


async def test_sigkill_restart_sigterm(tmp_path: Path) -> None:
    run = await run_kills(tmp_path, seed=3, kills=2)
    assert not run.violations, "\n".join(run.violations) + str(run.summary)
