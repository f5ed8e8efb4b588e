"""The quote loop's helpers: garbage collection between decisions, decision timing."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading

import pytest

from pmbot.app_parts import IdleGC, LoopStats


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_idle_gc_collects_only_when_asked_and_restores_the_collector():
    was = gc.isenabled()
    gc.enable()
    g = IdleGC(threshold0=50, full_every_s=100.0)
    try:
        g.start(now_s=0.0)
        assert not gc.isenabled()
        for _ in range(200):  # young garbage cycles: nothing collects them by itself now
            _Cycle()
        assert gc.get_count()[0] >= 50 and g.collections == [0, 0, 0]
        g.maybe(now_s=1.0, busy=True)  # an event waits: 200 < 10 x 50, it goes first
        assert g.collections == [0, 0, 0]
        g.maybe(now_s=1.0)
        assert g.collections == [1, 0, 0] and gc.get_count()[0] < 50
        for i in range(2, 11):
            for _ in range(60):
                _Cycle()
            g.maybe(now_s=float(i))
        assert g.collections == [9, 1, 0]  # every 10th young collection includes gen 1
        g.maybe(now_s=100.0)  # the full one, on its wall-time schedule
        assert g.collections[2] == 1
        for _ in range(600):  # a backlog ten times the threshold goes even when busy
            _Cycle()
        g.maybe(now_s=101.0, busy=True)
        assert sum(g.collections[:2]) == 11
    finally:
        g.stop()
        assert gc.isenabled()
        if not was:
            gc.disable()
        gc.unfreeze()


def test_loop_stats_percentiles():
    s = LoopStats(window=4)
    assert s.percentile_us(0.5) is None
    for ns in (1_000, 2_000, 3_000, 4_000, 100_000):  # the window keeps the last 4
        s.decide(ns)
    assert s.count == 5 and s.percentile_us(0.5) == 3.0 and s.percentile_us(0.99) == 100.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_presign_worker_runs_at_lower_priority():
    from pmbot.app import _background_thread

    seen: list[int] = []

    def work() -> None:
        base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        _background_thread()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) - base)

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    t = threading.Thread(target=work)
    t.start()
    t.join()
    after = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen and seen[0] > 0 and after == before  # that thread only, not the loop's


def test_the_sink_wakes_no_decision_for_our_own_book_echo(tmp_path):
    """A book delta our own order caused (tagged with our client_order_id) is applied but
    wakes no decision; the crowd's deltas and index ticks do."""
    from pmbot.app import BotApp, RunOptions
    from pmbot.core import events as ev
    from pmbot.settings import Secrets, load_settings

    s = load_settings(
        None,
        environ={},
        overrides={"ledger": {"path": str(tmp_path / "l.sqlite3")}, "bot": {"dashboard": False}},
    )
    app = BotApp(s, Secrets({}), RunOptions(dashboard=False, install_signal_handlers=False))
    t = "KXINX-26NOV24H1600-B6800"
    app.sink(ev.BookDelta(t, 1, True, 4500, 300, client_order_id="ours"))
    assert not app._wake.is_set()
    app.sink(ev.BookDelta(t, 2, True, 4500, 300))
    assert app._wake.is_set()
    app._wake.clear()
    app.sink(ev.IndexTick(3, 6800.0, "sim"))
    assert app._wake.is_set()


def test_the_sink_wakes_no_decision_for_a_change_below_the_best_prices(tmp_path):
    """The strategy and the gate read a Kalshi book only through its best bid and ask and
    whether it is current: a crowd delta behind the best levels is applied but wakes no
    decision; one that moves a best price, empties a best level or breaks the book does."""
    from pmbot.app import BotApp, RunOptions
    from pmbot.core import events as ev
    from pmbot.settings import Secrets, load_settings
    from pmbot.strategy.synthetic import ladder_markets

    s = load_settings(
        None,
        environ={},
        overrides={"ledger": {"path": str(tmp_path / "l.sqlite3")}, "bot": {"dashboard": False}},
    )
    app = BotApp(s, Secrets({}), RunOptions(dashboard=False, install_signal_handlers=False))
    m = ladder_markets(3)[1]
    t = m.ticker
    app.state.add_market(m)
    app.sink(ev.BookSnapshot(t, 1, ((4500, 300), (4400, 100)), ((5000, 200),)))
    assert app._wake.is_set()
    book = app.state.books[t]
    steps = [
        (ev.BookDelta(t, 2, True, 4300, 500), False),  # a new level behind the best bid
        (ev.BookDelta(t, 3, True, 4500, 700), False),  # more size at the best bid
        (ev.BookDelta(t, 4, False, 4900, 100), False),  # behind the best NO bid (YES ask)
        (ev.BookDelta(t, 5, True, 4600, 100), True),  # a better bid
        (ev.BookDelta(t, 6, True, 4600, -100), True),  # ... gone again
        (ev.BookDelta(t, 7, False, 5000, -200), True),  # the best ask emptied
        (ev.BookDelta(t, 8, True, 4400, -100), False),  # behind the best bid
        (ev.BookDelta(t, 9, True, 4300, -900), True),  # would go negative: stale, cleared
    ]
    for e, wakes in steps:
        app._wake.clear()
        app.sink(e)
        assert app._wake.is_set() is wakes, e
    assert not app.state.book_fresh[t] and book.yes_bid_price() is None
    assert app.state.take_changes().stale == {t}


def test_a_waiting_decision_asks_the_websocket_reader_for_a_turn_once_per_wait(tmp_path):
    """`bot.burst_wait_ms`: once an event has waited that long for its decision, the reader
    is told (once) to give the quote loop a turn; the decision starting ends the wait."""
    from pmbot.core import events as ev

    def app_with(wait_ms):
        return _quiet_app(tmp_path / str(wait_ms), burst_wait_ms=wait_ms)

    app = app_with(0)
    assert not app._decision_overdue()  # nothing waits
    app.sink(ev.IndexTick(1, 6800.0, "sim"))
    assert app._decision_overdue()
    assert not app._decision_overdue()  # once per wait
    app.sink(ev.IndexTick(2, 6801.0, "sim"))
    assert app._decision_overdue()
    patient = app_with(60_000)  # a minute: never reached here
    patient.sink(ev.IndexTick(1, 6800.0, "sim"))
    assert not patient._decision_overdue()


def test_the_polymarket_app_asks_for_a_turn_the_same_way(tmp_path):
    from pmbot.app_polymarket import PolyBotApp
    from pmbot.core import events as ev

    app = _quiet_app(tmp_path, PolyBotApp, burst_wait_ms=0)
    assert not app._decision_overdue()
    app.sink([ev.IndexTick(1, 0.5, "x")])
    assert app._wake.is_set()
    assert app._decision_overdue()
    assert not app._decision_overdue()  # once per wait


def test_a_websocket_reconnect_asks_the_order_manager_to_catch_up(tmp_path):
    """Fills and order changes sent while the socket was down, and the exchange's own
    cancels, are fetched at once after a reconnect (not at the next periodic reconcile)."""
    from pmbot.venues.kalshi.stream import KalshiStream

    app = _quiet_app(tmp_path)
    stream = KalshiStream(app.sink)
    stream.connected(1)
    assert not app._reconnect  # the first connect: start() reconciles anyway
    stream.disconnected(2, "socket closed")
    stream.connected(3)
    assert app._reconnect


def test_an_order_left_behind_by_an_event_roll_stays_in_the_decisions_scope(tmp_path):
    """Pulling a left event's quotes cannot cancel an order still in flight or of unknown
    outcome; every later decision plans for its market too (nothing is desired there, so it
    is cancelled once it can be), until no live order of ours is left on it."""
    from pmbot.core.orders import LiveOrder, OrderStatus, Side
    from pmbot.execution.planner import plan

    app = _quiet_app(tmp_path)
    new = _spec("KXINXU-NEW-T1")
    app.event_markets = [new]
    app._left = {"KXINXU-OLD-T1", "KXINXU-OLD-T2"}
    stray = LiveOrder("c1", "KXINXU-OLD-T1", Side.BID, 4800, 500, 500, OrderStatus.UNKNOWN)
    app.state.register_order(stray)
    assert app._scope() == ["KXINXU-NEW-T1", "KXINXU-OLD-T1"]
    app.state.set_order_status("c1", OrderStatus.RESTING, 1, order_id="o1")  # reconciled
    p = plan([], app.state.live_orders(), lambda: "x", tickers=app._scope())
    assert [c.client_order_id for b in p.cancel_batches for c in b] == ["c1"]
    app.state.set_order_status("c1", OrderStatus.CANCELED, 2)
    assert app._scope() == ["KXINXU-NEW-T1"] and not app._left


def _spec(ticker: str):
    from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
    from pmbot.core.money import PriceGrid

    return MarketSpec(ticker, ticker.rsplit("-", 1)[0], "KXINXU", StrikeType.GREATER_OR_EQUAL,
                      7000.0, None, PriceGrid.linear_cent(), FeeSchedule(), 0)  # fmt: skip


def test_the_live_calendar_prices_a_month_into_a_run(tmp_path):
    """The bot's calendar is built once at start: it must outlast a long run (it ended 20
    days on, and pricing raised from then)."""
    from pmbot.app_parts import fair_model
    from pmbot.settings import load_settings

    s = load_settings(None, environ={}, overrides={"ledger": {"path": str(tmp_path / "l")}})
    start = 1_795_000_000 * 10**9  # 2026-11-18
    m = fair_model(s, start, None)
    later = start + 40 * 86_400 * 10**9
    assert m.calendar.closes[-1] > later
    assert m.stdev(later, m.calendar.next_close(later), 16.0) > 0


def test_the_daily_loss_counts_today_only_and_survives_a_restart(tmp_path):
    """The ledger's positions carry every earlier day's P&L: the kill switch's daily P&L is
    measured from the day's start (kept in the ledger, so a restart within the day keeps it)."""
    from pmbot.app_parts import Accounting
    from pmbot.core import events as ev
    from pmbot.core.orders import Side
    from pmbot.core.state import TradingState
    from pmbot.store.ledger import Ledger

    day1 = 1_795_000_000 * 10**9  # 2026-11-18, 07:06 ET
    day2 = day1 + 86_400 * 10**9
    st = TradingState()
    # yesterday: bought 10 at 0.60, sold at 0.20: -$4 realised
    st.apply(ev.Fill("t1", "o1", "M", Side.BID, 6000, 1000, 0, False, day1 - 86_400 * 10**9))
    st.apply(ev.Fill("t2", "o2", "M", Side.ASK, 2000, 1000, 0, False, day1 - 86_400 * 10**9))
    led = Ledger(str(tmp_path / "l.sqlite3")).open()
    acct = Accounting()
    assert acct.net_pnl(st, None) == -4_000_000
    assert acct.daily_pnl(st, None, day1, led) == 0  # not today's
    st.apply(ev.Fill("t3", "o3", "M", Side.BID, 5000, 500, 0, False, day1 + 1))
    st.apply(ev.Fill("t4", "o4", "M", Side.ASK, 3000, 500, 0, False, day1 + 2))
    assert acct.daily_pnl(st, None, day1 + 3, led) == -1_000_000  # today's -$1
    again = Accounting()  # a restart the same day
    assert again.daily_pnl(st, None, day1 + 4, led) == -1_000_000
    assert again.daily_pnl(st, None, day2, led) == 0  # a new day
    led.close()


def test_a_restart_marks_positions_of_an_event_left_behind_as_before(tmp_path):
    """Rolled to tomorrow's event, today's position waits for settlement and is marked at its
    last fair value. A restart used to mark it at cost: a $30 loss read as $0 to the daily
    loss limit. The marks of open positions are kept in the ledger."""
    from pmbot.app_parts import Accounting
    from pmbot.core import events as ev
    from pmbot.core.fairvalue import EventFairValue
    from pmbot.core.orders import Side
    from pmbot.core.state import TradingState
    from pmbot.store.ledger import Ledger

    S = 10**9
    t0 = 1_795_532_400 * S  # 2026-11-24 10:00 ET
    old, new = "KXINX-26NOV24H1600-B7912", "KXINX-26NOV25H1600-B7912"

    def fv(ticker: str, p: float) -> EventFairValue:
        return EventFairValue(ticker.rsplit("-", 1)[0], t0, 6900.0, (), (), {ticker: p})

    path = str(tmp_path / "l.sqlite3")
    led = Ledger(path).open()
    st, acct = TradingState(), Accounting()
    assert acct.daily_pnl(st, fv(old, 0.5), t0, led) == 0
    f = ev.Fill("t1", "o1", old, Side.BID, 5000, 10_000, 0, False, t0 + S, client_order_id="c1")
    st.apply(f)
    led.add_fill(f, st.positions[old])
    acct.mark(st, fv(old, 0.2))  # 100 bought at 0.50, now 0.20: -$30
    acct.save_marks(st, led, t0 + 10 * S)
    rolled = acct.daily_pnl(st, fv(new, 0.3), t0 + 11 * S, led)
    assert rolled == -30_000_000
    led.close()  # kill -9 (the ledger is durable either way)
    led2 = Ledger(path).open()
    st2, again = TradingState(), Accounting()
    led2.recover(st2)
    assert again.load_marks(led2) == 1
    assert again.daily_pnl(st2, fv(new, 0.3), t0 + 11 * S, led2) == rolled
    led2.close()


def _quiet_app(tmp_path, cls=None, **bot):
    """A bot app built from defaults (no dashboard, no signal handlers, a ledger in tmp)."""
    from pmbot.app import BotApp, RunOptions
    from pmbot.settings import Secrets, load_settings

    s = load_settings(
        None,
        environ={},
        overrides={
            "ledger": {"path": str(tmp_path / "l.sqlite3")},
            "bot": {"dashboard": False, **bot},
        },
    )
    return (cls or BotApp)(
        s, Secrets({}), RunOptions(dashboard=False, install_signal_handlers=False)
    )


def test_a_delta_the_book_refuses_makes_the_stream_resync_it(tmp_path):
    """Regression (review): the app runs the Kalshi stream in events mode, where TradingState
    applies the deltas; a delta the book refused (it would go negative) left the book stale
    and empty with no snapshot ever asked for, until the next reconnect. The sink now tells
    the stream, which asks for a fresh snapshot."""
    import json
    import types

    from pmbot.app import BotApp, RunOptions
    from pmbot.settings import Secrets, load_settings
    from pmbot.strategy.synthetic import ladder_markets
    from pmbot.venues.kalshi.stream import BOOK, KalshiStream

    s = load_settings(
        None,
        environ={},
        overrides={"ledger": {"path": str(tmp_path / "l.sqlite3")}, "bot": {"dashboard": False}},
    )
    app = BotApp(s, Secrets({}), RunOptions(dashboard=False, install_signal_handlers=False))
    t = ladder_markets(3)[1].ticker
    app.state.add_market(ladder_markets(3)[1])
    stream = KalshiStream(app.sink, use_yes_price=True)
    app.venue = types.SimpleNamespace(stream=stream)  # type: ignore[assignment]
    stream.want(BOOK, [t])
    stream.connected(1)

    def feed(frame: dict) -> None:
        stream.receive(json.dumps(frame), 2)

    (sub,) = [json.loads(b) for b in stream.data_to_send()]
    feed({"type": "subscribed", "id": sub["id"], "msg": {"channel": BOOK, "sid": 7}})
    snap = {"market_ticker": t, "yes_dollars_fp": [["0.4500", "3.00"]]}
    feed({"type": "orderbook_snapshot", "sid": 7, "seq": 1, "msg": snap})
    assert app.state.book_fresh[t]
    bad = {"market_ticker": t, "price_dollars": "0.4500", "delta_fp": "-5.00", "side": "yes"}
    feed({"type": "orderbook_delta", "sid": 7, "seq": 2, "msg": bad})
    assert not app.state.book_fresh[t]
    cmds = [json.loads(b) for b in stream.data_to_send()]
    assert [c["params"].get("action") for c in cmds] == ["get_snapshot"], cmds
    feed({"type": "orderbook_snapshot", "sid": 7, "seq": 3, "msg": snap})
    assert app.state.book_fresh[t]


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signal")
async def test_sighup_stops_the_run_like_sigterm_unless_ignored(tmp_path):
    """Regression (review): a closed terminal or SSH session (SIGHUP) killed the bot with its
    quotes left resting; it now takes the SIGTERM path (cancel-all, summary). Under nohup
    (SIGHUP ignored) the run goes on, as the operator asked."""
    import asyncio
    import contextlib
    import signal

    from pmbot.app import BotApp, RunOptions
    from pmbot.settings import Secrets, load_settings

    s = load_settings(
        None,
        environ={},
        overrides={"ledger": {"path": str(tmp_path / "l.sqlite3")}, "bot": {"dashboard": False}},
    )
    old = signal.getsignal(signal.SIGHUP)
    try:
        for ignored in (False, True):
            signal.signal(signal.SIGHUP, signal.SIG_IGN if ignored else signal.SIG_DFL)
            app = BotApp(s, Secrets({}), RunOptions(dashboard=False))
            got = asyncio.Event()
            seen: list[int] = []

            def on_signal(sig: int, seen: list[int] = seen, got: asyncio.Event = got) -> None:
                seen.append(sig)
                got.set()

            app._on_signal = on_signal  # type: ignore[method-assign]
            async with contextlib.AsyncExitStack() as stack:
                app._install_signals(stack)
                if ignored:
                    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
                else:
                    os.kill(os.getpid(), signal.SIGHUP)
                    await asyncio.wait_for(got.wait(), 5)
                    assert seen == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, old)


@pytest.mark.parametrize("venue", ["kalshi", "polymarket"])
async def test_the_dashboard_on_a_closed_stdout_stops_drawing_not_the_process(
    tmp_path, monkeypatch, venue
):
    """Regression (review): `pmbot run | tee log` and Ctrl-C: tee dies first, and rich, on
    the broken pipe, raises SystemExit, which a task passes straight out of the event loop:
    the run ended with no shutdown and no cancel-all (orders left resting). The dashboard
    now stops drawing and the run goes on to its orderly stop."""
    import asyncio
    import contextlib

    from pmbot.app import BotApp, RunOptions
    from pmbot.settings import Secrets, load_settings

    s = load_settings(
        None,
        environ={},
        overrides={
            "ledger": {"path": str(tmp_path / "l.sqlite3")},
            "bot": {"dashboard": False, "venue": venue},
        },
    )
    r, w = os.pipe()
    os.close(r)  # tee is gone: every write now fails with EPIPE
    out = os.fdopen(w, "w")
    monkeypatch.setattr(sys, "stdout", out)
    if venue == "kalshi":
        app = BotApp(s, Secrets({}), RunOptions(dashboard=True, install_signal_handlers=False))
        loop = app._dashboard_loop()
    else:
        from pmbot.app_polymarket import PolyBotApp
        from pmbot.app_polymarket_parts import dashboard_loop

        papp = PolyBotApp(s, Secrets({}), RunOptions(dashboard=True, install_signal_handlers=False))
        loop = dashboard_loop(papp)
    task = asyncio.ensure_future(loop)
    try:
        await asyncio.sleep(0.05)
        task.cancel()  # the stop: the live display's last frame meets the closed pipe
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)  # no SystemExit out of the loop
    finally:
        with contextlib.suppress(OSError):
            out.close()


def test_the_final_frame_is_drawn_after_the_stop_and_survives_a_closed_stdout(
    tmp_path, capsys, monkeypatch
):
    """The frame left on screen predated the cancel-all (every order still listed): one
    more is drawn after the stop; a closed stdout costs it nothing but the frame."""
    from pmbot.app import BotApp, RunOptions
    from pmbot.settings import Secrets, load_settings

    s = load_settings(
        None,
        environ={},
        overrides={"ledger": {"path": str(tmp_path / "l.sqlite3")}, "bot": {"dashboard": True}},
    )
    app = BotApp(s, Secrets({}), RunOptions(dashboard=True, install_signal_handlers=False))
    app._final_frame()
    assert "live orders 0" in capsys.readouterr().out
    r, w = os.pipe()
    os.close(r)
    out = os.fdopen(w, "w")
    monkeypatch.setattr(sys, "stdout", out)
    app._final_frame()  # no BrokenPipeError, no SystemExit
    with contextlib.suppress(OSError):
        out.close()
