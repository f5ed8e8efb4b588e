"""Pure stream logic on the recorded frames: books, deltas, staleness, fills, voids."""

from __future__ import annotations

import json
from pathlib import Path

from pmbot.core import events as ev
from pmbot.core.orders import OrderStatus, Side
from pmbot.errors import OrderRejected, RateLimited, VenueUnavailable
from pmbot.venues.polymarket import rest
from pmbot.venues.polymarket.convert import MarketInfo
from pmbot.venues.polymarket.stream import MarketStream, UserStream

FIX = Path(__file__).parents[2] / "fixtures" / "polymarket"


def _burst() -> tuple[list[dict], MarketInfo]:
    d = json.loads((FIX / "ws_market_price_change_crossing_burst.json").read_bytes())
    yes = d[0]["asset_id"]
    no = next(e["asset_id"] for e in d[1]["price_changes"] if e["asset_id"] != yes)
    return d, MarketInfo(d[0]["market"], yes, no, tick="0.001")


def test_burst_replay_reaches_the_closing_snapshot_without_false_staleness() -> None:
    frames, m = _burst()
    ms = MarketStream([m])
    kinds = []
    for i, f in enumerate(frames[:-1]):
        kinds += [type(e) for e in ms.on_frame(json.dumps(f), i)]
    assert ev.BookStale not in kinds and kinds[0] is ev.BookSnapshot and ev.BookDelta in kinds
    ref = MarketStream([m])
    ref.on_frame(json.dumps(frames[-1]), 0)
    assert ms.books[m.condition_id] == ref.books[m.condition_id]


def test_deltas_before_snapshot_and_disagreeing_bests_ask_for_resync() -> None:
    frames, m = _burst()
    ms = MarketStream([m])
    assert ms.on_frame(json.dumps(frames[5]), 0) == [] and m.condition_id in ms.needs_resync
    ms.on_frame(json.dumps(frames[0]), 1)
    assert not ms.needs_resync
    bad = dict(frames[1])
    bad["price_changes"] = [{**e, "best_bid": "0.5"} for e in bad["price_changes"]]
    out = ms.on_frame(json.dumps(bad), 2)
    assert isinstance(out[-1], ev.BookStale) and m.condition_id in ms.needs_resync
    assert ms.mark_all_stale(3, "reconnect") == []  # already stale: no duplicate event


def test_no_token_book_mirrors() -> None:
    book = json.loads((FIX / "ws_market_book_msg.json").read_bytes())
    m = MarketInfo(book["market"], "1", book["asset_id"])  # the fixture's token as the NO leg
    ms = MarketStream([m])
    (snap,) = ms.on_frame(json.dumps(book), 0)
    assert isinstance(snap, ev.BookSnapshot)
    b = ms.books[m.condition_id]
    assert (
        b.best_no_bid() == (5000, 20000) and b.yes_bid_price() == 4900
    )  # ask 0.51 on NO = YES bid 0.49


def test_user_trade_lifecycle_fill_then_void() -> None:
    t = json.loads((FIX / "ws_user_trade_full.json").read_bytes())
    m = MarketInfo(t["market"], t["asset_id"], "2")
    us = UserStream([m], owner=t["owner"])
    matched = {**t, "status": "MATCHED"}
    (fill,) = us.on_frame(json.dumps(matched), 1)
    assert (
        isinstance(fill, ev.Fill) and fill.provisional and fill.is_taker and fill.side is Side.BID
    )
    assert fill.qty == 10_000 and fill.price == 5000
    assert us.unsettled() == {m.condition_id: 100 * 10**6}  # matched, not mined: +100 YES
    # REST's pre-broadcast status is not mined either (it used to count as on chain)
    rest_only = UserStream([m], owner=t["owner"])
    rest_only.on_frame(json.dumps({**t, "status": "TRADE_STATUS_MATCHED_NOT_BROADCASTED"}), 1)
    assert rest_only.unsettled() == {m.condition_id: 100 * 10**6}
    assert us.on_frame(json.dumps({**t, "status": "MINED"}), 2) == []
    (void,) = us.on_frame((FIX / "ws_user_trade_full_failed.json").read_bytes(), 3)
    assert isinstance(void, ev.FillVoided) and void.trade_id == t["id"]
    assert us.unsettled() == {}
    # FAILED is final: a late CONFIRMED (or MINED) frame of the same trade changes nothing
    assert us.on_frame(json.dumps({**t, "status": "CONFIRMED"}), 4) == []
    assert not us.confirmed(t["id"], t["taker_order_id"])
    maker = UserStream([m], owner=t["maker_orders"][0]["owner"])
    (mf,) = maker.on_frame(json.dumps(t), 4)
    assert not mf.is_taker and mf.side is Side.ASK and not mf.provisional and mf.fee == 0


def test_fractional_fills_carry_and_confirm_and_void_exactly() -> None:
    """Fills finer than 0.01 share: booked Qty never drifts a whole unit from the exact size."""
    t = json.loads((FIX / "ws_user_trade_full.json").read_bytes())
    m = MarketInfo(t["market"], t["asset_id"], "2")
    us = UserStream([m], owner=t["owner"])
    qtys = []
    for i in range(3):  # three taker buys of 33.3333 shares
        f = {**t, "id": f"tr{i}", "status": "MATCHED", "size": "33.3333"}
        (fill,) = us.on_frame(json.dumps(f), i)
        qtys.append(fill.qty)
    assert qtys == [3333, 3333, 3333]  # 99.9999 exact: 99.99 booked, 0.0099 dust
    assert us.dust(m.condition_id) == {"bid": 9_900, "ask": 0}
    f4 = {**t, "id": "tr3", "status": "MATCHED", "size": "0.0001"}
    (fill,) = us.on_frame(json.dumps(f4), 4)
    assert fill.qty == 1 and us.dust(m.condition_id)["bid"] == 0  # the carry books 0.01
    (conf,) = us.on_frame(json.dumps({**f4, "status": "CONFIRMED"}), 5)
    assert isinstance(conf, ev.FillConfirmed) and conf.trade_id == "tr3"
    (void,) = us.on_frame(json.dumps({**t, "id": "tr1", "status": "FAILED"}), 6)
    assert isinstance(void, ev.FillVoided)
    assert us.booked[(m.condition_id, "bid")] == 3333 * 2 + 1
    assert us.exact[(m.condition_id, "bid")] == 33_333_300 * 2 + 100


def test_order_events() -> None:
    o = json.loads((FIX / "ws_user_order_update.json").read_bytes())
    us = UserStream([MarketInfo(o["market"], o["asset_id"], "2")], owner="x")
    (u,) = us.on_frame(json.dumps(o), 0)
    assert isinstance(u, ev.OrderUpdate) and u.status is OrderStatus.RESTING and u.filled == 2500
    (c,) = us.on_frame((FIX / "ws_user_order_cancellation.json").read_bytes(), 0)
    assert c.status is OrderStatus.CANCELED and c.remaining == 0


def test_rest_check_maps_errors() -> None:
    import pytest

    with pytest.raises(OrderRejected) as e:
        rest.check(400, {}, b'{"error":"not enough balance / allowance"}')
    assert e.value.code == "insufficient_balance"
    with pytest.raises(RateLimited):
        rest.check(429, {"Retry-After": "2"}, b'{"error":"Too Many Requests"}')
    with pytest.raises(VenueUnavailable) as e2:
        rest.check(
            503,
            {},
            b'{"error":"post-only mode: only post-only orders and cancels are allowed","code":"post_only_mode"}',
        )
    assert e2.value.code == "post_only_mode"
    from pmbot.venues.polymarket import wire as w

    batch = w.decode(
        (FIX / "http_batch_order_response.json").read_bytes(), list[w.PolyOrderResponse]
    )
    codes = []
    for r in batch:
        try:
            rest.order_result(r)
            codes.append("ok")
        except OrderRejected as ex:
            codes.append(ex.code)
    assert codes == ["ok", "insufficient_balance", "post_only_crosses"]


def test_token_movements_for_what_we_may_sell() -> None:
    """What a balance read has not shown yet: SELL fills owed at once, BUY fills counted only
    once a read after their mining shows them (the port's `sellable`)."""
    t = json.loads((FIX / "ws_user_trade_full.json").read_bytes())
    m = MarketInfo(t["market"], t["asset_id"], "2")
    us = UserStream([m], owner=t["owner"])
    us.on_frame(json.dumps({**t, "status": "MATCHED"}), 1)  # we BUY 100 YES (taker)
    assert us.to_read() == set() and us.sold_unread(m.yes_token) == 0
    us.on_frame(json.dumps({**t, "status": "MINED"}), 2)
    assert us.to_read() == {m.yes_token}
    keys = us.read_keys(m.yes_token)
    us.retire(keys)  # a read started after the MINED shows the tokens
    assert us.to_read() == set() and us.moves == {}
    sell = {**t, "id": "tr-s", "side": "SELL", "status": "MATCHED"}
    us.on_frame(json.dumps(sell), 3)
    assert us.sold_unread(m.yes_token) == 100 * 10**6 and us.read_keys(m.yes_token) == []
    us.on_frame(json.dumps({**sell, "status": "FAILED"}), 4)  # given back
    assert us.sold_unread(m.yes_token) == 0
    # an earlier run's provisional ask fill: which token it moved is not kept; counted as
    # YES sold (the cautious reading), a bid's as NO sold
    fresh = UserStream([m], owner="x")
    f = ev.Fill("tr-old", "o1", m.condition_id, Side.ASK, 5000, 300, 0, False, 0, provisional=True)
    g = ev.Fill("tr-old2", "o2", m.condition_id, Side.BID, 5000, 200, 0, False, 0, provisional=True)
    fresh.adopt_pending([f, g])
    assert fresh.sold_unread(m.yes_token) == 3 * 10**6 and fresh.sold_unread("2") == 2 * 10**6
