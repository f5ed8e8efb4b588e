"""Chaos scenarios in `make test`: each runs the real bot on the accelerated simulator with one
family of faults and asserts every invariant (tests/chaos/invariants.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .runner import Scenario, Step, run_scenario

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

SCENARIOS = [
    Scenario("ws_drop", [Step(5, "drop_ws"), Step(20, "drop_ws")]),
    Scenario(
        "seq_faults",
        [Step(3, "skip_seq", 1), Step(10, "dup_seq", 3), Step(18, "reorder_seq", 2)],
    ),
]


@pytest.mark.parametrize("scn", SCENARIOS, ids=lambda s: s.name)
async def test_scenario(scn: Scenario, tmp_path: Path) -> None:
    run = await run_scenario(scn, tmp_path)
    assert not run.violations, "\n".join(run.violations) + f"\n{run.om_stats}"
    assert sum(run.checks.values()) > 0
