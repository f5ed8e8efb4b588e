"""`pmbot run --record`: record a short simulated run, read it back, replay it in the backtester."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pmbot.app import BotApp, RunOptions
from pmbot.backtest.recorder import load_tape
from pmbot.backtest.tape import CLEAR, DELTA, INDEX, TRADE
from pmbot.record import LiveRecorder
from pmbot.settings import Secrets
from pmbot.sim.flow import FlowConfig
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

from .conftest import START, settings

pytestmark = pytest.mark.slow


async def test_record_run_and_read_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    rec_dir = tmp_path / "rec"
    recorder = LiveRecorder(rec_dir)
    try:
        res = await BotApp(
            settings(tmp_path),
            Secrets({}),
            RunOptions(duration_s=120, dashboard=False, install_signal_handlers=False),
            sim=sim,
            recorder=recorder,
        ).run()
    finally:
        await sim.stop()
    assert res.clean_shutdown
    tape = load_tape(rec_dir)
    kinds = {int(k) for k in set(tape.kind.tolist())}
    assert {INDEX, CLEAR, DELTA, TRADE} <= kinds, tape.counts()
    assert (tape.ts[1:] >= tape.ts[:-1]).all()  # time-ordered
    # simulated time: the tape spans about the run's duration from the simulated start
    span_s = (tape.ts[-1] - tape.ts[0]) / 1e9
    assert 60 <= span_s <= 200 and tape.ts[0] >= START - 10**9
    tickers = {m.ticker for m in tape.markets}
    assert tickers and all(t.startswith(res.summary["event"]) for t in tickers)
    assert set(res.summary["positions"]) <= tickers
    levels = tape.qty[tape.kind == INDEX]
    assert (levels > 0).all()
    fills = [json.loads(x) for x in (rec_dir / "fills.jsonl").read_text().splitlines()]
    assert len(fills) == res.summary["fills"]

    # and `pmbot backtest` replays it
    cfg = tmp_path / "bt.toml"
    cfg.write_text(f'strategies = ["pmbot"]\n[data]\nkind = "recording"\npath = "{rec_dir}"\n')
    from pmbot.cli import main

    capsys.readouterr()
    assert main(["backtest", str(cfg), "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["events"] == len(tape)
