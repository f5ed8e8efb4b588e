"""`pmbot run --venue polymarket` end to end on the embedded Polymarket simulator.

The run quotes both demo markets; the test drives the house against our resting quotes:
one trade walks MATCHED -> MINED -> CONFIRMED, one is made to FAIL and must be rolled back
in state AND ledger; shutdown cancels everything and the venue holds none of our orders.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pmbot.app import RunOptions
from pmbot.app_polymarket import PolyBotApp
from pmbot.app_polymarket_parts import dashboard_view
from pmbot.core.money import ONE
from pmbot.core.orders import OrderStatus, Side
from pmbot.core.state import TradingState
from pmbot.dashboard import render
from pmbot.settings import Secrets, load_settings
from pmbot.store.ledger import Ledger


async def until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll the loop's own state (the app runs in this loop) until `pred` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def settings(tmp_path: Path):
    return load_settings(
        None,
        environ={},
        overrides={
            "bot": {"venue": "polymarket", "dashboard": False, "reconcile_interval_s": 1.0},
            "polymarket": {
                "sim_flow_hz": 0.001,  # the test makes the trades it needs
                "sim_fail_every_s": 0,
                "sim_confirm_s": 0.2,
                "heartbeat_s": 1.0,
                "book_reconcile_s": 1.0,
            },
            "strategy": {"min_rest_s": 0.0, "fill_pause_s": 0.0, "debounce_s": 0.0},
            "risk": {"book_stale_s": 20.0},
            "ledger": {"path": str(tmp_path / "pm.sqlite3")},
            "logging": {"file": None},
        },
    )


async def test_run_quotes_fills_rolls_back_a_failed_trade_and_leaves_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="pmbot")
    app = PolyBotApp(
        settings(tmp_path),
        Secrets({}),
        RunOptions(duration_s=30, dashboard=False, install_signal_handlers=False),
    )
    run = asyncio.create_task(app.run())

    def our(side: Side):
        return [
            o
            for o in app.state.live_orders()
            if o.side is side and o.status is OrderStatus.RESTING and o.order_id
        ]

    # quotes: both sides of both markets rest on the venue
    await until(lambda: app.om is not None and len(our(Side.BID)) == 2 and len(our(Side.ASK)) == 2)
    sim, house = app.sim, app.house
    me = app.venue.http.creds.api_key
    assert {o.market for o in sim.engine.live(me)} == set(sim.markets)
    # the dashboard names each market by a short id and its tick, with both our quotes
    c = Console(record=True, width=120)
    c.print(render(dashboard_view(app)))
    screen = c.export_text()
    for cid in sim.markets:
        assert f"{cid[:6]}…{cid[-4:]}" in screen and cid not in screen
    assert screen.count("tick 0.01") == len(sim.markets)

    def alone_at_top(side: Side):
        """One of our resting orders that is the whole best level on the venue (a taker
        limited to its price trades with it and nothing else), or None."""
        for o in our(side):
            book = sim.engine.books[o.ticker]
            yes_bid = side is Side.BID
            if book.best(yes_bid) == o.price and all(
                e.owner == me for e in book.side(yes_bid)[o.price]
            ):
                return o
        return None

    # a trade that FAILS: the house sells YES into our bid (buys NO at 1 - our bid)
    await until(lambda: alone_at_top(Side.BID) is not None)
    bid = alone_at_top(Side.BID)
    m = app.infos[bid.ticker]
    sim.faults.fail_owner, sim.faults.fail_trades = me, 1
    await house.order(m.no_token, "BUY", ONE - bid.price, 2_000_000, "FAK")
    await until(lambda: len(app.voided) == 1)
    v = app.voided[0]
    assert v.order_id == bid.order_id
    assert (v.trade_id, v.order_id) not in {(f.trade_id, f.order_id) for f in app.state.fills}
    pos0 = app.state.position(bid.ticker)
    assert pos0 == 0  # rolled back in state

    # a trade that is CONFIRMED: the house buys YES from our ask
    await until(lambda: alone_at_top(Side.ASK) is not None)
    ask = alone_at_top(Side.ASK)
    m = app.infos[ask.ticker]
    before = app.state.position(ask.ticker)
    await house.order(m.yes_token, "BUY", ask.price, 3_000_000, "FAK")
    await until(lambda: app.confirmed >= 1 and app.state.position(ask.ticker) == before - 300)

    # a fill finer than 0.01 share (1.234567 shares): booked 1.23, the rest is carried as dust
    await until(lambda: alone_at_top(Side.ASK) is not None)
    ask = alone_at_top(Side.ASK)
    m = app.infos[ask.ticker]
    before = app.state.position(ask.ticker)
    n_fills = len(app.state.fills)
    await house.order(m.yes_token, "BUY", ask.price, 1_234_567, "FAK")
    await until(lambda: len(app.state.fills) == n_fills + 1)
    assert app.state.position(ask.ticker) == before - 123
    assert app.venue.user_feed.stream.dust(ask.ticker)["ask"] == 4_567

    # a repricing: the house moves its ladder up; our quotes follow by cancel + create
    t = ask.ticker
    before_ids = {o.client_order_id for o in app.state.live_orders(t)}
    await house.requote(t, 6000)

    def moved() -> bool:
        live = [o for o in app.state.live_orders(t) if o.status is OrderStatus.RESTING]
        return len(live) == 2 and all(
            o.price > 5500 and o.client_order_id not in before_ids for o in live
        )

    await until(moved)
    assert app.om.stats.writes["amend"] == 0 and app.om.stats.writes["decrease"] == 0

    # the periodic reconciliation agrees with the venue (token balances, fills, orders)
    await until(lambda: app.om.last_report is not None and app.om.last_report.ts_ns > 0)
    rep = await app.om.reconcile()
    assert rep.ok, rep.position_mismatches  # within 0.01 share of the token balances
    venue_pos = {p.ticker: p.qty for p in await app.port.get_positions()}
    assert all(abs(venue_pos[t] - app.state.position(t)) <= 1 for t in sim.markets)

    app.request_stop("test done")
    result = await run
    assert result.clean_shutdown
    s = result.summary
    assert s["venue"] == "polymarket" and s["open_orders_after_shutdown"] == 0
    assert sim.engine.live(me) == []  # the venue itself holds none of ours
    assert s["fill_lifecycle"]["voided"] == 1 and s["fill_lifecycle"]["confirmed"] >= 1
    assert s["fills"] == len(app.state.fills) == s["venue_view"]["fills"]  # the void not counted
    assert s["orders"].get("create", 0) + s["orders"].get("batch_create", 0) >= 1
    assert not {"amend", "decrease"} & set(s["orders"]) and s["rejects"] == {}  # no amend here
    # trading.log: fills in dollars and contracts, with their market and order in full
    # (they read "price=5100 qty=500", a 12-character ticker and no order)
    fills = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fill ticker=")]
    assert fills and all(
        re.search(r" price=0\.\d{4} count=\d+\.\d\d fee=\d+\.\d+ ", m) and " order_id=0x" in m
        for m in fills
    ), fills[:2]
    assert all(f" ticker={bid.ticker} " in m for m in fills if bid.ticker[:12] in m)
    # ... and every order written: each one the venue took is named on a "created" line
    # (a quote created and cancelled without a fill left no trace), each cancel too
    msgs = [r.getMessage() for r in caplog.records]
    created = " ".join(m for m in msgs if m.startswith("polymarket order created "))
    placed = {o.client_order_id: o.order_id for o in app.state.orders.values() if o.order_id}
    assert placed and all(f"order_id={oid} " in created for oid in placed.values())
    # ... with the side and token that went on the wire (an ask is a SELL of YES or a BUY
    # of NO: the pUSD moves differently)
    assert re.search(r" wire=(BUY|SELL) token_id=\d+", created)
    cancels = [m for m in msgs if m.startswith("polymarket order canceled ")]
    assert cancels and all(
        re.search(r"order_id=0x[0-9a-f]+ client_order_id=\S+", m) for m in cancels
    )

    # the ledger: the FAILED trade is rolled back (kept only as voided), positions match
    with Ledger(app.ledger_path) as led:
        assert led.fill_status(v.trade_id, v.order_id) == "voided"
        kept = {(f.trade_id, f.order_id) for f in led.fills()}
        assert (v.trade_id, v.order_id) not in kept and len(kept) == len(app.state.fills)
        recovered = TradingState()
        led.recover(recovered)
        rows = led.positions()
        assert v.order_id and bid.ticker in rows  # the void rewrote the position row
        for t in sim.markets:
            stored = rows[t].qty if t in rows else 0
            assert stored == app.state.position(t) == recovered.position(t)


async def test_insufficient_balance_trips_the_kill_switch_and_stops_clean(tmp_path: Path):
    app = PolyBotApp(
        settings(tmp_path),
        Secrets({}),
        RunOptions(duration_s=30, dashboard=False, install_signal_handlers=False),
    )
    run = asyncio.create_task(app.run())
    await until(lambda: app.om is not None and len(app.state.live_orders()) == 4)
    sim, me = app.sim, app.venue.http.creds.api_key
    addr = app.venue.http.signer.funder.lower()
    # risk.book_stale_s is both channels' silence limit (a silent socket: books stale)
    assert app.venue.market_feed.ws.stale_after == app.venue.user_feed.ws.stale_after == 20.0
    sim.accounts.cash[addr] = 0  # the wallet is drained behind the bot's back
    await app.house.requote(next(iter(sim.markets)), 6000)  # the bot must requote: refused
    result = await asyncio.wait_for(run, 10)
    assert result.summary["stop_reason"].endswith("venue: insufficient_balance")
    assert result.clean_shutdown and sim.engine.live(me) == []


async def test_a_user_channel_reconnect_is_shown_and_reconciled(tmp_path: Path) -> None:
    """Regression (review): the Polymarket feeds emitted no ConnectionState: the dashboard and
    metrics showed no connections even with a channel down, and the order manager's
    reconcile-after-reconnect (what orders ended while we were deaf) never ran."""
    app = PolyBotApp(
        settings(tmp_path),
        Secrets({}),
        RunOptions(duration_s=30, dashboard=False, install_signal_handlers=False),
    )
    run = asyncio.create_task(app.run())
    try:
        await until(lambda: app.om is not None and len(app.state.live_orders()) >= 2)
        assert app.state.connections == {"polymarket.market": True, "polymarket.user": True}
        assert app.om is not None
        reconciles: list[object] = []
        reconnect = app.om.on_reconnect

        async def counting() -> object:
            reconciles.append(1)
            return await reconnect()

        app.om.on_reconnect = counting  # type: ignore[method-assign]
        await app.sim.hub.drop_all()  # both channels drop and come back
        await until(lambda: app.venue.user_feed.ws.connects >= 2 and bool(reconciles))
        await until(lambda: all(app.state.connections.values()))
    finally:
        app.request_stop("test done")
        await run


_TICK_CID = "0x" + "5c" * 32


def _one_fine_tick_market(tmp_path: Path) -> tuple[PolyBotApp, Any]:
    """An app on one 0.001-tick market of the embedded simulator, and that market."""
    from pmbot.sim.polymarket_views import SimMarket

    mk = SimMarket(_TICK_CID, "8001", "8002", tick="0.001", question="q", slug="s")
    app = PolyBotApp(
        settings(tmp_path),
        Secrets({}),
        RunOptions(duration_s=30, dashboard=False, install_signal_handlers=False),
        sim_kw={"markets": [mk]},
    )
    return app, mk


def _requoted_on_cents(app: PolyBotApp) -> bool:
    live = [o for o in app.state.live_orders() if o.status is OrderStatus.RESTING]
    return len(live) >= 2 and all(o.price % 100 == 0 for o in live)


async def test_quotes_follow_a_tick_size_change(tmp_path: Path) -> None:
    """Regression (review): a tick_size_change reached only the order signer's tick cache;
    after a move to a coarser tick (0.001 -> 0.01) the strategy kept pricing on the 0.001
    grid and the signer refused every quote (invalid_tick): the market went unquoted."""
    app, _ = _one_fine_tick_market(tmp_path)
    cid = _TICK_CID
    run = asyncio.create_task(app.run())
    try:
        await until(lambda: app.om is not None and len(app.state.live_orders()) >= 2)
        assert app.sim is not None and app.om is not None
        await app.sim.set_tick(cid, "0.01")
        await until(lambda: app.state.markets[cid].grid.ranges[0].step == 100)
        await until(lambda: _requoted_on_cents(app))
        assert not any("tick" in k for k in app.om.stats.rejects), app.om.stats.rejects
    finally:
        app.request_stop("test done")
        await run


async def test_a_tick_change_seen_only_in_a_snapshot_reaches_signer_and_grid(
    tmp_path: Path,
) -> None:
    """Regression (review): a tick change learnt from a `book` snapshot (its tick_size_change
    went out while the market channel was down) reached the stream only: the signer kept
    the old tick and the strategy its old grid, and every quote was refused."""
    from pmbot.venues.polymarket.signing import tick_units

    app, mk = _one_fine_tick_market(tmp_path)
    cid = _TICK_CID
    run = asyncio.create_task(app.run())
    try:
        await until(lambda: app.om is not None and len(app.state.live_orders()) >= 2)
        sim, venue = app.sim, app.venue
        assert sim is not None and venue is not None and app.om is not None
        sim.markets[cid].tick = "0.01"  # the venue moves to 0.01, no frame heard
        sim.engine.books[cid].tick = tick_units("0.01")
        n = venue.market_feed.ws.connects
        await sim.hub.drop_all()  # the reconnect's `book` snapshot says tick_size 0.01
        await until(lambda: venue.market_feed.ws.connects > n)
        await until(lambda: venue.http.cached_tick(mk.yes_token) == "0.01")
        await until(lambda: app.state.markets[cid].grid.ranges[0].step == 100)
        await until(lambda: _requoted_on_cents(app))
    finally:
        app.request_stop("test done")
        await run
