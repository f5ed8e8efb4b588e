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


async def test_the_recording_is_the_market_without_us(tmp_path: Path) -> None:
    """Our orders' size is left out of the tape (a replay adds its own): deltas our orders
    caused (tagged with our client_order_id) are skipped, snapshots lose our confirmed
    resting size (YES bids; asks as NO bids at 1 - price), a pending create is not taken
    out of a snapshot that cannot show it yet."""
    from types import SimpleNamespace

    from pmbot.clock import ManualClock
    from pmbot.core import events as ev
    from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
    from pmbot.core.money import PriceGrid
    from pmbot.core.orders import LiveOrder, OrderStatus, Side
    from pmbot.core.state import TradingState

    t = "KXINX-26NOV24H1600-B6800"
    st = TradingState()
    st.add_market(
        MarketSpec(
            t,
            "KXINX-26NOV24H1600",
            "KXINX",
            StrikeType.BETWEEN,
            6800.0,
            6824.99,
            PriceGrid.linear_cent(),
            FeeSchedule(),
            0,
        )
    )
    for cid, side, price, qty, status, oid in (
        ("b", Side.BID, 4500, 300, OrderStatus.RESTING, "o-b"),  # YES bid 0.45 x 3
        ("a", Side.ASK, 4800, 200, OrderStatus.RESTING, "o-a"),  # NO bid 0.52 x 2
        ("p", Side.BID, 4400, 500, OrderStatus.PENDING, None),  # not on the venue yet
    ):
        st.register_order(LiveOrder(cid, t, side, price, qty, qty, status, order_id=oid))
    app = SimpleNamespace(state=st, clock=ManualClock(START), venue=None, all_markets=[])
    rec = LiveRecorder(tmp_path / "rec")
    await rec.attach(app)
    rec.on_event(ev.BookSnapshot(t, START, ((4400, 1000), (4500, 700)), ((5200, 200), (5100, 900))))
    rec.on_event(ev.BookDelta(t, START, True, 4500, -300, client_order_id="b"))  # ours
    rec.on_event(ev.BookDelta(t, START, True, 4400, 500, client_order_id="p"))  # ours
    rec.on_event(ev.BookDelta(t, START, False, 5100, -400))  # the crowd's
    await rec.aclose()
    tape = load_tape(tmp_path / "rec")
    rows = [
        (int(k), bool(s), int(p), int(q))
        for k, s, p, q in zip(tape.kind, tape.side, tape.price, tape.qty, strict=True)
    ]
    assert rows == [
        (CLEAR, False, 0, 0),
        (DELTA, True, 4400, 1000),  # the pending create is not in the venue's snapshot
        (DELTA, True, 4500, 400),  # 700 less our 300
        (DELTA, False, 5100, 900),  # the NO level 0.52 was all ours: no row
        (DELTA, False, 5100, -400),
    ]
    assert rec.skipped_own == 2
