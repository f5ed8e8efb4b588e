"""`make soak`: every scenario under several seeds and longer, a storm of mixed faults, and
repeated SIGKILLs; the chaos report at the end prints the totals (0 violations expected)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from .killer import run_kills
from .runner import Scenario, Step, run_scenario
from .test_chaos import SCENARIOS

pytestmark = [pytest.mark.soak, pytest.mark.chaos]

MIXED = Scenario(
    "mixed_storm",
    [
        Step(3, "skip_seq", 2),
        Step(6, "http_5xx", 5),
        Step(9, "drop_ws"),
        Step(14, "http_429", 20),
        Step(18, "stale_after_cancel", 2),
        Step(22, "reorder_seq", 2),
        Step(26, "index_jump", 25.0),
        Step(30, "pause", True),
        Step(36, "pause", False),
        Step(40, "restart"),
        Step(46, "index_jump", 0.0),
        Step(48, "dup_seq", 4),
        Step(52, "index_stall", True),
        Step(68, "index_stall", False),
    ],
    run_s=80,
    speed=2.0,
)

SOAK = [
    dataclasses.replace(s, name=f"{s.name}_seed{seed}", seed=seed, run_s=s.run_s + 20)
    for seed in (2, 3, 4)
    for s in SCENARIOS
] + [dataclasses.replace(MIXED, name=f"mixed_storm_seed{seed}", seed=seed) for seed in (1, 2, 3)]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scn", SOAK, ids=lambda s: s.name)
async def test_soak_scenario(scn: Scenario, tmp_path: Path) -> None:
    run = await run_scenario(scn, tmp_path)
    assert not run.violations, "\n".join(run.violations)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_soak_sigkill(seed: int, tmp_path: Path) -> None:
    run = await run_kills(tmp_path, seed=seed, kills=6)
    assert not run.violations, "\n".join(run.violations) + str(run.summary)
