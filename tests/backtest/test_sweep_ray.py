"""A sweep on Ray (a private local instance) ranks the same rows, byte for byte, as on processes.

Runs only where the optional extra is installed (`pip install 'pmbot[ray]'`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pmbot.backtest.recorder import save_npz
from pmbot.backtest.report import to_json
from pmbot.backtest.runner import RunConfig
from pmbot.backtest.sources import SynthConfig, synthetic_day
from pmbot.backtest.sweep import sweep

ray = pytest.importorskip("ray")


def test_ray_sweep_ranks_the_same_table_as_the_process_pool(tmp_path: Path) -> None:
    tape = synthetic_day(SynthConfig(seed=5, start_s=22_200, end_s=22_500))
    path = str(tmp_path / "t.npz")
    save_npz(tape, path)
    cfg = RunConfig(entry_latency={"rtts_ms": [20.0, 40.0, 80.0]}, seed=7)  # sampled latencies
    axes = {"edge": [50, 100, 300], "risk_aversion": [0.001, 0.004]}
    done: list[tuple[int, int]] = []
    on_ray = sweep(path, "pmbot", {}, axes, {}, cfg, ray_address="local",
                   on_done=lambda i, n: done.append((i, n)))  # fmt: skip
    assert not ray.is_initialized()  # the private instance is stopped again
    on_procs = sweep(path, "pmbot", {}, axes, {}, cfg, workers=2)
    assert done[-1] == (6, 6)
    assert [r["params"] for r in on_ray] == [r["params"] for r in on_procs]
    assert to_json(on_ray) == to_json(on_procs)
    assert len({to_json(r["summary"]) for r in on_ray}) > 1  # the grid did change the runs
