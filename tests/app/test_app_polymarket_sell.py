"""Regressions (review) of the Polymarket run on its embedded simulator.

* Capital lock: every ask was a BUY of NO at 1 - p, also while the bot held the YES its bid
  had bought, so each bid fill plus ask fill turned ~$1 of pUSD into a YES+NO pair it never
  merges: flat and profitable on paper, the wallet drained until "not enough balance"
  tripped the kill switch ($150 -> $18 and ~132 pairs in 40 s of the default flow).
* Min size: quotes the position cap cut under the market's 5-share minimum went out and
  were refused (400 "Size (3) lower than the minimum: 5"), pass after pass.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
from test_app_polymarket import settings, until

from pmbot.app import RunOptions
from pmbot.app_polymarket import PolyBotApp
from pmbot.core.money import ONE
from pmbot.core.orders import OrderStatus, Side
from pmbot.settings import Secrets

E6 = 1_000_000


def _app(tmp_path: Path, **risk: float) -> PolyBotApp:
    s = settings(tmp_path)
    if risk:
        s = msgspec.structs.replace(s, risk=msgspec.structs.replace(s.risk, **risk))
    return PolyBotApp(
        s, Secrets({}), RunOptions(duration_s=30, dashboard=False, install_signal_handlers=False)
    )


def _ours(app: PolyBotApp, side: Side, ticker: str | None = None):
    return [
        o
        for o in app.state.live_orders(ticker)
        if o.side is side and o.status is OrderStatus.RESTING and o.order_id
    ]


def _alone_at_top(app: PolyBotApp, side: Side):
    me = app.venue.http.creds.api_key
    for o in _ours(app, side):
        book = app.sim.engine.books[o.ticker]
        yes_bid = side is Side.BID
        if book.best(yes_bid) == o.price and all(
            e.owner == me for e in book.side(yes_bid)[o.price]
        ):
            return o
    return None


async def test_a_round_trip_sells_the_yes_it_bought_and_locks_no_pusd(tmp_path: Path) -> None:
    app = _app(tmp_path)
    run = asyncio.create_task(app.run())
    try:
        await until(lambda: app.om is not None and len(_ours(app, Side.BID)) == 2)
        sim, house = app.sim, app.house
        me = app.venue.http.signer.funder
        cash0 = sim.accounts.cash_of(me)
        await until(lambda: _alone_at_top(app, Side.BID) is not None)
        bid = _alone_at_top(app, Side.BID)
        t, m, held, bid_px = bid.ticker, app.infos[bid.ticker], bid.remaining, bid.price
        await house.order(m.no_token, "BUY", ONE - bid_px, held * 10_000, "FAK")
        await until(lambda: app.state.position(t) == held)

        def sells_yes():
            return [
                o
                for o in sim.engine.live(app.venue.http.creds.api_key)
                if o.token_id == m.yes_token and o.side == "SELL"
            ]

        # once the bought YES is mined, the ask SELLs it (it stayed a BUY of NO before)
        await until(lambda: len(sells_yes()) == 1 and sells_yes()[0].original == held * 10_000)
        (ask,) = [o for o in _ours(app, Side.ASK, t) if o.order_id == sells_yes()[0].id]
        ask_px = ask.price
        await house.order(m.yes_token, "BUY", ask_px, held * 10_000, "FAK")
        await until(lambda: app.state.position(t) == 0)
        await until(lambda: not any(x.status != "CONFIRMED" for x in sim.trades.values()))
        # no pair: the wallet holds no token of this market and gained the spread
        assert sim.accounts.shares_of(me, m.yes_token) == 0
        assert sim.accounts.shares_of(me, m.no_token) == 0
        gain = held * (ask_px - bid_px)  # Qty x Price = micros
        assert sim.accounts.cash_of(me) == cash0 + gain
        rep = await app.om.reconcile()
        assert rep.ok, rep.position_mismatches
    finally:
        app.request_stop("test done")
        result = await run
    s = result.summary
    assert result.clean_shutdown and s["rejects"] == {}
    w = s["wallet"]
    assert w["locked_pairs"] == "0.000000" and w["pusd_spent"] == f"-{gain / 1e6:.6f}"
    assert w["unmined_fills"] == 0 and "does not hold" not in w["note"]


async def test_the_wallet_says_when_a_fill_was_not_mined_at_the_stop(tmp_path: Path) -> None:
    """The wallet's balances move only when a trade is mined: with a fill still MATCHED at
    the stop its identity (pusd_spent = cash_paid + pairs) cannot hold, and it says so (it
    printed the identity beside figures that contradicted it)."""
    s = settings(tmp_path)
    s = msgspec.structs.replace(
        s, polymarket=msgspec.structs.replace(s.polymarket, sim_confirm_s=600.0)
    )
    app = PolyBotApp(
        s, Secrets({}), RunOptions(duration_s=30, dashboard=False, install_signal_handlers=False)
    )
    run = asyncio.create_task(app.run())
    try:
        await until(lambda: app.om is not None and _alone_at_top(app, Side.BID) is not None)
        bid = _alone_at_top(app, Side.BID)
        m = app.infos[bid.ticker]
        n = len(app.state.fills)
        await app.house.order(m.no_token, "BUY", ONE - bid.price, 2 * E6, "FAK")
        await until(lambda: len(app.state.fills) > n)
    finally:
        app.request_stop("test done")
        result = await run
    w = result.summary["wallet"]
    assert w["unmined_fills"] >= 1 and "not mined when the wallet was read" in w["note"], w


async def test_quotes_under_the_min_size_are_not_sent(tmp_path: Path) -> None:
    app = _app(tmp_path, max_position_per_market=13.0)
    run = asyncio.create_task(app.run())
    try:
        await until(lambda: app.om is not None and len(_ours(app, Side.BID)) == 2)
        await until(lambda: _alone_at_top(app, Side.BID) is not None)
        bid = _alone_at_top(app, Side.BID)
        t, m = bid.ticker, app.infos[bid.ticker]
        assert bid.remaining == 1000
        await app.house.order(m.no_token, "BUY", ONE - bid.price, 10 * E6, "FAK")
        await until(lambda: app.state.position(t) == 1000)
        # the cap leaves room for 3 shares of bid: under the 5-share minimum, not quoted
        n = app.quote_passes
        await until(lambda: app.quote_passes >= n + 5)
        assert "min_size" not in app.om.stats.rejects, app.om.stats.rejects
        assert _ours(app, Side.BID, t) == []
    finally:
        app.request_stop("test done")
        await run
