"""End-to-end: the real bot against the real simulator on loopback.

* in-process: a short accelerated run; the summary's positions, fills and cash equal the
  simulator's own account, and nothing of ours rests afterwards;
* as a separate process: kill -9 mid-run, restart, SIGTERM: no orphaned orders, every
  venue fill in the ledger exactly once, ledger positions equal the venue's, and after
  SIGTERM nothing of ours rests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pmbot.app import BotApp, RunOptions
from pmbot.core.money import ONE, PriceGrid, PriceRange, fmt_count, parse_count, parse_money
from pmbot.errors import AuthError
from pmbot.settings import Secrets, load_settings
from pmbot.sim.flow import FlowConfig
from pmbot.sim.kalshi_auth import write_key
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

pytestmark = pytest.mark.slow

START = int(datetime(2026, 11, 24, 10, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()) * 10**9
BALANCE = 10_000 * 1_000_000


async def _until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a condition the system under test must reach (bounded; polls, no fixed sleep)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _settings(tmp: Path, **over: dict[str, object]) -> object:
    layers: dict[str, dict[str, object]] = {
        "ledger": {"path": str(tmp / "ledger.sqlite3")},
        "logging": {"file": str(tmp / "trading.log"), "console": False},
        "bot": {"dashboard": False, "reconcile_interval_s": 5.0},
    }
    for k, v in over.items():
        layers.setdefault(k, {}).update(v)
    return load_settings(None, environ={}, overrides=layers)


def _app(tmp: Path, sim: KalshiSim, duration_s: float, **over: dict[str, object]) -> BotApp:
    """The bot on the in-process simulator (its generated key), no dashboard or signals."""
    return BotApp(
        _settings(tmp, **over),  # type: ignore[arg-type]
        Secrets({}),  # type: ignore[arg-type]
        RunOptions(duration_s=duration_s, dashboard=False, install_signal_handlers=False),
        sim=sim,
    )


def _venue_positions(sim: KalshiSim) -> dict[str, str]:
    acct = sim.exchange.ledger.accounts[sim.key.user]
    return {t: fmt_count(p.qty) for t, p in sorted(acct.positions.items()) if p.qty}


async def test_run_summary_equals_simulator_account(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="pmbot")
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    try:
        app = _app(tmp_path, sim, 240)
        res = await app.run()
        s = res.summary
        acct = sim.exchange.ledger.accounts[sim.key.user]
        assert res.clean_shutdown
        assert s["fills"] > 0, s
        assert s["fills"] == len(acct.fills) == s["venue_view"]["fills"]
        assert s["positions"] == _venue_positions(sim) == s["venue_view"]["positions"]
        # cash: what the bot says it paid is exactly what left the simulator's account
        assert BALANCE - parse_money(s["cash_paid"]) == acct.cash
        assert parse_money(s["fees"]) == sum(f.fee for f in acct.fills)
        assert sum(parse_count(v) for v in s["positions"].values()) == sum(
            p.qty for p in acct.positions.values()
        )
        assert sim.exchange.engine.resting(sim.key.user) == []  # nothing of ours rests
        assert s["open_orders_after_shutdown"] == 0 and Path(s["ledger"]).is_file()
        assert set(s["pnl"]) == {"spread", "inventory", "fees", "total"}
        # the log tells every order write, in dollars and contracts (prices were raw ints)
        created = [r.getMessage() for r in caplog.records if "order created" in r.getMessage()]
        assert created and all(re.search(r" price=0\.\d{4} count=\d+\.\d\d ", m) for m in created)
        # ... every order the venue has of ours, batched or not (batches wrote no line), and
        # every fill names its order (an audit trail from trading.log alone). A create whose
        # answer never came (cancelled at the stop, timed out on a loaded machine) is named
        # by the reconciliation or the stream that found it
        found = [
            m
            for r in caplog.records
            if (m := r.getMessage()).startswith(("order reconciled ", "order learned from"))
        ]
        logged = {m.split(" order_id=")[1].split()[0] for m in created + found}
        ours = {o.order_id for o in sim.exchange.engine.orders.values() if o.user == sim.key.user}
        assert ours and ours <= logged, sorted(ours - logged)[:5]
        assert s["orders"].get("batch_create", 0) > 0
        fills = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fill ")]
        assert len(fills) == s["fills"] and all(" order_id=" in m for m in fills)
        amended = sum("kalshi order amended" in r.getMessage() for r in caplog.records)
        # an amend can also fail (a fill got there first: 404, settled by reconciliation)
        failed = sum(
            r.getMessage().startswith(("amend rejected", "amend outcome unknown", "amend rate"))
            for r in caplog.records
        )
        assert amended > 0 and amended + failed == s["orders"].get("amend", 0)
        # cancels, amends and decreases name our client_order_id too, and every order of
        # ours the venue cancelled has a line saying we cancelled it (the shutdown's group
        # trigger cancels them all at once: one line per order)
        msgs = [r.getMessage() for r in caplog.records]
        writes = [
            m
            for m in msgs
            if m.startswith(("kalshi order canceled", "kalshi order amended", "kalshi order decr"))
        ]
        assert writes and all(
            " client_order_id=" in m and " client_order_id=None" not in m for m in writes
        ), [m for m in writes if "client_order_id=None" in m or "client_order_id=" not in m][:3]
        said = {
            m.split(" client_order_id=")[1].split()[0]
            for m in msgs
            if m.startswith(("kalshi order canceled", "order canceled by the group trigger"))
        }
        cancelled = {
            o.client_order_id
            for o in sim.exchange.engine.orders.values()
            if o.user == sim.key.user and o.status == "canceled"
        }
        assert cancelled and not cancelled - said, sorted(cancelled - said)[:5]
    finally:
        await sim.stop()


def _bot(tmp: Path, sim: KalshiSim, keydir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "PMBOT_KALSHI_KEY_ID": sim.key_id,
            "PMBOT_KALSHI_PRIVATE_KEY_PATH": str(keydir / "private_key.pem"),
            "PMBOT__LOGGING__CONSOLE": "false",
            "PMBOT__LOGGING__FILE": str(tmp / "trading.log"),
            "PMBOT__BOT__RECONCILE_INTERVAL_S": "5",
        }
    )
    cmd = [
        sys.executable,
        "-m",
        "pmbot.cli",
        "run",
        "--rest-url",
        sim.rest_url,
        "--ws-url",
        sim.ws_url,
        "--ledger",
        str(tmp / "ledger.sqlite3"),
        "--no-dashboard",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _ledger(tmp: Path) -> tuple[list[tuple[str, str]], dict[str, int], set[str]]:
    db = sqlite3.connect(tmp / "ledger.sqlite3")
    try:
        fills = [(r[0], r[1]) for r in db.execute("SELECT trade_id, order_id FROM fills")]
        pos = {r[0]: r[1] for r in db.execute("SELECT ticker, qty FROM positions") if r[1]}
        ids = {r[0] for r in db.execute("SELECT order_id FROM orders WHERE order_id IS NOT NULL")}
    finally:
        db.close()
    return fills, pos, ids


async def _wait_exit(p: subprocess.Popen[bytes], timeout: float) -> int:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.run_in_executor(None, p.wait), timeout)


@pytest.mark.timeout(400)
async def test_kill9_restart_then_sigterm(tmp_path: Path) -> None:
    sim = KalshiSim(SimConfig(seed=11, speed=10.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    keydir = tmp_path / "keys"
    write_key(sim.key, keydir)
    user = sim.key.user
    acct = sim.exchange.ledger.accounts[user]
    try:
        bot = _bot(tmp_path, sim, keydir)
        await _until(
            lambda: len(acct.fills) >= 2 and sim.exchange.engine.resting(user),
            90,
            "fills and quotes",
        )
        bot.send_signal(signal.SIGKILL)
        assert await _wait_exit(bot, 10) == -signal.SIGKILL
        orphans_at_death = {o.order_id for o in sim.exchange.engine.resting(user)}
        assert orphans_at_death  # the killed bot left quotes behind: the restart must own them

        ids_at_death = _ledger(tmp_path)[2]
        bot = _bot(tmp_path, sim, keydir)
        fills_before = len(acct.fills)
        # the restarted bot has recovered, reconciled and quotes again: it placed new orders
        await _until(
            lambda: len(_ledger(tmp_path)[2] - ids_at_death) >= 2, 120, "quotes after restart"
        )
        # after the restart every resting order of ours is one the ledger knows (adopted from
        # the ledger or replaced), and the bot trades on
        await _until(lambda: len(acct.fills) >= fills_before + 1, 180, "fills after restart")

        def owned() -> bool:  # the restarted bot owns (or has replaced) every resting order
            resting = {o.order_id for o in sim.exchange.engine.resting(user)}
            return resting <= _ledger(tmp_path)[2]

        await _until(owned, 60, "no orphaned orders after restart")

        bot.send_signal(signal.SIGTERM)
        rc = await _wait_exit(bot, 60)
        err = bot.stderr.read().decode() if bot.stderr else ""
        assert rc == 0, err[-2000:]
        assert sim.exchange.engine.resting(user) == [], "orders still rest after SIGTERM"

        fills, pos, _ = _ledger(tmp_path)
        venue_fills = [(f.trade_id, f.order_id) for f in acct.fills]
        assert sorted(fills) == sorted(venue_fills)  # every venue fill exactly once
        # and each has its line in trading.log, those found by reconciliation after the
        # restart too (the fills that landed while the bot was dead were not logged)
        log_text = (tmp_path / "trading.log").read_text()
        logged = set(re.findall(r"\bfill (?:\(backfill\) )?.*?trade_id=(\S+)", log_text))
        assert {t for t, _ in fills} <= logged, sorted({t for t, _ in fills} - logged)[:5]
        assert len(set(fills)) == len(fills)
        assert pos == {t: p.qty for t, p in acct.positions.items() if p.qty}
    finally:
        for p in (locals().get("bot"),):
            if p is not None and p.poll() is None:
                p.kill()
        await sim.stop()


async def test_insufficient_balance_trips_the_kill_switch(tmp_path: Path) -> None:
    """A money reject from the venue halts the bot and cancels everything (no retry loop)."""
    sim = KalshiSim(
        SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig(), balance="3.0000")
    )
    await sim.start()
    try:
        app = _app(tmp_path, sim, 600)
        res = await app.run()
        assert "kill switch" in res.summary["stop_reason"], res.summary["stop_reason"]
        assert "insufficient_balance" in res.summary["stop_reason"]
        assert res.clean_shutdown
        assert sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_auth_failure_of_a_send_stops_the_bot(tmp_path: Path) -> None:
    """A 401 on an order write (the key revoked mid-run) ends the run as a fatal error with
    the venue holding none of our orders: the sends run outside the TaskGroup (they start
    eagerly), and the quote loop raises what a send could not handle."""
    sim = KalshiSim(SimConfig(seed=3, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    try:
        app = _app(tmp_path, sim, 600)
        run = asyncio.create_task(app.run())
        await _until(lambda: app.loop_stats.count > 0, 60, "the first decision")
        sim.faults.http_401_writes = 1
        with pytest.raises(BaseExceptionGroup) as ei:
            await asyncio.wait_for(run, 60)
        assert ei.group_contains(AuthError)
        assert app._stop_reason.startswith("fatal:"), app._stop_reason
        assert sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_a_tripped_order_group_stops_the_bot(tmp_path: Path) -> None:
    """Fills over the group's limit within 15 s: the exchange cancels the group's orders and
    refuses new ones; the bot halts on the first refusal instead of quoting into them."""
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    try:
        app = _app(tmp_path, sim, 600, risk={"order_group_contracts": 1.0, "book_stale_s": 12.0})
        res = await asyncio.wait_for(app.run(), 60)
        # risk.book_stale_s is the stream's silence limit (a silent socket: books stale)
        assert app.venue is not None and app.venue.stream.silence_timeout_ns == 12 * 10**9
        # halted by the order_group_updates frame or, when a create already on its way is
        # refused first, by that refusal (it used to take 77 refusals)
        reason = res.summary["stop_reason"]
        assert reason.endswith(("order_group_updates: triggered", "order_group_triggered")), reason
        assert (
            app.om is not None
            and sum(n for k, n in app.om.stats.rejects.items() if "order_group" in k) <= 2
        )
        assert res.clean_shutdown and sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_an_order_group_the_exchange_triggers_halts_the_bot_at_once(
    tmp_path: Path,
) -> None:
    """The group tripped while the bot sends nothing: only the order_group_updates channel
    tells, before the cancellations it causes (so before any refused create)."""
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    try:
        app = _app(tmp_path, sim, 600, risk={"order_group_contracts": 1_000_000.0})
        run = asyncio.create_task(app.run())
        await _until(
            lambda: bool(app.om and app.om.order_group_id and app.state.live_orders()), 30, "quotes"
        )
        assert app.om is not None and app.om.order_group_id is not None
        x = sim.exchange
        x.group_trigger(x.groups[app.om.order_group_id], sim.now_ns())
        sim.hub.dispatch(x.drain(), sim.now_ns())
        res = await asyncio.wait_for(run, 30)
        assert res.summary["stop_reason"] == "kill switch: venue: order_group_updates: triggered"
        assert res.clean_shutdown and x.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_a_bug_in_the_decision_still_cancels_everything(tmp_path: Path) -> None:
    """Not a PmbotError: a plain ValueError from the pricing code once orders rest ends the
    run as fatal, after the verified cancel-all."""
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    try:
        app = _app(tmp_path, sim, 600)
        fair = app._fair_value

        def buggy(now: int):  # type: ignore[no-untyped-def]
            if sim.exchange.engine.resting(sim.key.user):
                raise ValueError("a bug")
            return fair(now)

        app._fair_value = buggy  # type: ignore[method-assign]
        with pytest.raises(BaseExceptionGroup) as ei:
            await asyncio.wait_for(app.run(), 60)
        assert ei.group_contains(ValueError)
        assert app._stop_reason.startswith("fatal:") and app.result.clean_shutdown
        assert sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_pulls_the_closing_event_and_rolls_to_the_next(tmp_path: Path) -> None:
    """Quoting the hourly KXINXU ladder from 11:58 ET: before the 12:00 event closes its quotes
    are pulled (nothing of ours rests on it from `pull_before_close_s` on), then the bot
    quotes the 13:00 event."""
    start = int(datetime(2026, 11, 24, 11, 58, tzinfo=ZoneInfo("America/New_York")).timestamp())
    sim = KalshiSim(SimConfig(seed=7, speed=20.0, start_ns=start * 10**9, flow=FlowConfig()))
    await sim.start()
    first, nxt = "KXINXU-26NOV24H1200", "KXINXU-26NOV24H1300"
    pull_at = (start + 120 - 5) * 10**9  # 12:00 ET less pull_before_close_s = 5
    try:
        app = _app(tmp_path, sim, 600, markets={"series": ["KXINXU"]})
        run = asyncio.create_task(app.run())
        await _until(lambda: app.event_ticker == first and app.loop_stats.count > 0, 60, "quotes")
        late: list[str] = []

        def on_first_after_pull() -> bool:  # sampled while waiting for the roll
            if sim.now_ns() >= pull_at:
                late.extend(
                    o.ticker
                    for o in sim.exchange.engine.resting(sim.key.user)
                    if o.ticker.startswith(first)
                )
            return app.event_ticker == nxt

        await _until(on_first_after_pull, 60, "the roll to the next event")
        await _until(
            lambda: any(
                o.ticker.startswith(nxt) for o in sim.exchange.engine.resting(sim.key.user)
            ),
            60,
            "quotes on the next event",
        )
        assert app.venue is not None  # the left event's books are no longer subscribed
        booked = app.venue.ws.stream.desired["orderbook_delta"] or set()
        assert booked and not any(t.startswith(first) for t in booked), sorted(booked)
        app._on_signal(signal.SIGTERM)
        await asyncio.wait_for(run, 60)
        assert late == [], f"orders rested on {first} after its pull time: {sorted(set(late))}"
        assert sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_a_second_bot_on_a_ledger_in_use_stops_before_touching_orders(
    tmp_path: Path,
) -> None:
    """One bot per ledger: a second one used to recover the first one's orders as its own,
    fail on its first create, and cancel every order of the account on its way out."""
    from pmbot.errors import LedgerInUse
    from pmbot.store.ledger import Ledger

    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    try:
        t = next(t for t, m in sim.exchange.markets.items() if m.status == "active")
        first = sim.exchange.create(
            sim.key.user, ticker=t, side="bid", price=100, count=100,
            tif="good_till_canceled", stp="maker", ts_ns=sim.now_ns(),
        )  # fmt: skip
        with Ledger(str(tmp_path / "ledger.sqlite3")).open(exclusive=True):  # the first bot
            app = _app(tmp_path, sim, 60)
            with pytest.raises((LedgerInUse, ExceptionGroup)) as e:
                await asyncio.wait_for(app.run(), 30)
        errs = e.value.exceptions if isinstance(e.value, ExceptionGroup) else (e.value,)
        assert any(isinstance(x, LedgerInUse) for x in errs), errs
        assert app.om is None  # stopped before reconciling, quoting or any cancel-all
        assert [o.order_id for o in sim.exchange.engine.resting(sim.key.user)] == [first.order_id]
    finally:
        await sim.stop()


async def test_follows_a_new_price_grid_and_a_moved_close(tmp_path: Path) -> None:
    """`market_lifecycle_v2` changes a live market's terms: on a finer grid
    (`price_level_structure_updated`) the bot's book resyncs onto it and its quotes use the
    new prices; an earlier close (`close_date_updated`) pulls the quotes before the new
    close, not the old one."""
    start = int(datetime(2026, 11, 24, 11, 30, tzinfo=ZoneInfo("America/New_York")).timestamp())
    sim = KalshiSim(SimConfig(seed=11, speed=20.0, start_ns=start * 10**9, flow=FlowConfig()))
    await sim.start()
    first, nxt = "KXINXU-26NOV24H1200", "KXINXU-26NOV24H1300"
    try:
        app = _app(tmp_path, sim, 900, markets={"series": ["KXINXU"]})
        run = asyncio.create_task(app.run())
        await _until(lambda: app.event_ticker == first and app.loop_stats.count > 0, 60, "quotes")
        tickers = [m.ticker for m in app.event_markets]
        fine = PriceGrid([PriceRange(0, ONE, 10)])  # deci_cent: $0.001 steps
        for t in tickers:
            sim.set_price_levels(t, "deci_cent", fine)

        def ours() -> list[object]:
            return [o for o in sim.exchange.engine.resting(sim.key.user) if o.ticker in tickers]

        await _until(
            lambda: any(o.price % 100 for o in ours()),  # type: ignore[attr-defined]
            60,
            "a quote at a price only the new grid has",
        )
        quoted = {m.ticker for m in app.quotable}
        assert all(app.state.markets[t].grid.ranges == fine.ranges for t in tickers)
        await _until(lambda: all(app.state.book_fresh.get(t) for t in quoted), 30, "books")
        assert all(app.state.books[t].grid.ranges == fine.ranges for t in quoted)

        close_ns = sim.now_ns() + 60 * 10**9
        for t in tickers:
            sim.set_close(t, close_ns)
        pull_at = close_ns - 5 * 10**9  # pull_before_close_s = 5
        late: list[str] = []

        def rolled() -> bool:
            if sim.now_ns() >= pull_at:
                late.extend(o.ticker for o in ours())  # type: ignore[attr-defined]
            return app.event_ticker == nxt

        await _until(rolled, 60, "the roll to the next event after the moved close")
        app._on_signal(signal.SIGTERM)
        await asyncio.wait_for(run, 60)
        assert late == [], f"orders rested after the moved close's pull time: {sorted(set(late))}"
        assert sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_a_trading_pause_halts_quoting_until_the_venue_trades_again(tmp_path: Path) -> None:
    """The venue's trading pause (Thursday maintenance: cancels only): the first refused
    order halts quoting, the quotes are pulled, and quoting resumes once the exchange status
    says it trades again. Every decision was refused all pause long before (60 rejects in
    two simulated minutes) while stale quotes sat on the book."""
    sim = KalshiSim(SimConfig(seed=5, speed=20.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    try:
        app = _app(tmp_path, sim, 900)
        run = asyncio.create_task(app.run())
        await _until(
            lambda: app.om is not None and bool(sim.exchange.engine.resting(sim.key.user)),
            60,
            "quotes",
        )
        sim.set_paused(True)
        t0 = sim.now_ns()
        await _until(lambda: sim.now_ns() - t0 > 120 * 10**9, 60, "two paused minutes")
        assert app.om is not None
        assert app.om.stats.rejects.get("trading_paused", 0) <= 2, dict(app.om.stats.rejects)
        assert sim.exchange.engine.resting(sim.key.user) == []  # pulled: cancels are taken
        assert not app.state.trading_active
        sim.set_paused(False)
        await _until(lambda: bool(sim.exchange.engine.resting(sim.key.user)), 30, "quotes again")
        assert app.state.trading_active
        app._on_signal(signal.SIGTERM)
        await asyncio.wait_for(run, 60)
        assert sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()


async def test_a_bot_started_inside_a_trading_pause_quotes_once_it_ends(tmp_path: Path) -> None:
    """Started inside the pause, the bot reads `trading_active: false` at start-up, so no
    order is ever refused for it: the status is polled from the start (it never quoted for
    the rest of the run, the pause long over)."""
    sim = KalshiSim(SimConfig(seed=5, speed=20.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    sim.set_paused(True)
    try:
        app = _app(tmp_path, sim, 900)
        run = asyncio.create_task(app.run())
        await _until(lambda: app.om is not None and app.loop_stats.count > 0, 60, "deciding")
        assert not app.state.trading_active and not sim.exchange.engine.resting(sim.key.user)
        t0 = sim.now_ns()
        await _until(lambda: sim.now_ns() - t0 > 30 * 10**9, 60, "30 paused seconds")
        sim.set_paused(False)
        await _until(lambda: bool(sim.exchange.engine.resting(sim.key.user)), 30, "quotes")
        app._on_signal(signal.SIGTERM)
        await asyncio.wait_for(run, 60)
        assert sim.exchange.engine.resting(sim.key.user) == []
    finally:
        await sim.stop()
