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
    Scenario("frames_delayed", [Step(3, "delay_frames_s", 3.0), Step(15, "delay_frames_s", 0.0)]),
    Scenario("http_429_storm", [Step(3, "http_429", 40), Step(20, "http_429", 40)]),
    Scenario("http_5xx", [Step(3, "http_5xx", 10), Step(20, "http_5xx", 10)]),
    Scenario("lie_after_cancel", [Step(2, "stale_after_cancel", 1), Step(12, "index_jump", 15.0)]),
    Scenario("trading_pause", [Step(5, "pause", True), Step(15, "pause", False)]),
    Scenario("exchange_restart", [Step(5, "restart"), Step(20, "restart")]),
    Scenario(
        "index_stall",
        [Step(3, "index_stall", True), Step(20, "index_stall", False)],
        run_s=35,
    ),
    Scenario("index_jump", [Step(3, "index_jump", 40.0), Step(15, "index_jump", -40.0)]),
]


@pytest.mark.parametrize("scn", SCENARIOS, ids=lambda s: s.name)
async def test_scenario(scn: Scenario, tmp_path: Path) -> None:
    run = await run_scenario(scn, tmp_path)
    assert not run.violations, "\n".join(run.violations) + f"\n{run.om_stats}"
    assert sum(run.checks.values()) > 0
