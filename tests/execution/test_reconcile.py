"""Reconciliation cases: cancel race, unknown venue order, missing fill, lost ack, mismatches."""

from __future__ import annotations

from pmbot.core.events import Fill, OrderUpdate
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.execution.reconcile import (
    ReconcileConfig,
    VenueSnapshot,
    orders_to_resolve,
    reconcile,
)

T = "KXINX-26NOV24H1600-B5800"
NOW = 100_000_000_000


def mine(coid, oid, status=OrderStatus.RESTING, price=5000, rem=1000, filled=0, ts=NOW - 1):
    return LiveOrder(
        coid,
        T,
        Side.BID,
        price,
        rem + filled,
        rem,
        status,
        order_id=oid,
        filled=filled,
        created_ns=ts,
        updated_ns=ts,
    )


def venue_order(oid, coid, status=OrderStatus.RESTING, price=5000, rem=1000, filled=0):
    return OrderUpdate(oid, coid, T, Side.BID, price, status, rem + filled, filled, rem, NOW)


def fill(tid, oid, qty=100, side=Side.BID):
    return Fill(tid, oid, T, side, 5000, qty, 0, False, NOW)


def run(snapshot, live, *, coids=(), oids=(), fill_keys=(), positions=None, in_flight=(), **cfg):
    return reconcile(
        snapshot,
        live,
        known_client_ids=set(coids) | {o.client_order_id for o in live},
        known_order_ids=set(oids) | {o.order_id for o in live if o.order_id},
        fill_keys=set(fill_keys),
        positions=positions or {},
        in_flight=in_flight,
        config=ReconcileConfig(**cfg),
    )


def test_all_agree_is_clean():
    live = [mine("a", "oa")]
    rep = run(VenueSnapshot(NOW, [venue_order("oa", "a")], positions={}), live)
    assert rep.ok and not rep.changed


def test_cancel_race_list_still_says_resting_after_our_cancel():
    # we cancelled "a" (200, terminal here); the list still shows it resting: cancel again
    rep = run(VenueSnapshot(NOW, [venue_order("oa", "a")]), [], coids={"a"}, oids={"oa"})
    assert [u.order_id for u in rep.cancel] == ["oa"] and rep.foreign == 0 and rep.ok


def test_cancel_404_resolved_through_list_and_fills():
    # a 404 on cancel left "a" UNKNOWN; the resting list lacks it; the history says executed
    live = [mine("a", "oa", OrderStatus.UNKNOWN)]
    assert orders_to_resolve(live, []) == live
    rep = run(
        VenueSnapshot(
            NOW,
            [],
            history=[venue_order("oa", "a", OrderStatus.EXECUTED, rem=0, filled=1000)],
            history_tickers={T},
            fills=[fill("t1", "oa", 1000)],
        ),
        live,
    )
    assert rep.fixes[0].status is OrderStatus.EXECUTED and rep.fixes[0].filled == 1000
    assert [f.trade_id for f in rep.backfill] == ["t1"]
    # not in any list: the fills decide executed vs canceled
    rep = run(VenueSnapshot(NOW, [], history_tickers={T}, fills=[fill("t1", "oa", 400)]), live)
    assert rep.fixes[0].status is OrderStatus.CANCELED and rep.fixes[0].filled == 400
    # history not fetched yet: unresolved, not clean (its group stays frozen; quoting may go on)
    rep = run(VenueSnapshot(NOW, []), live)
    assert rep.unresolved == ["a"] and not rep.clean and rep.ok


def test_unknown_venue_order_cancel_or_adopt():
    snap = VenueSnapshot(NOW, [venue_order("ox", "")])
    rep = run(snap, [])
    assert [u.order_id for u in rep.cancel] == ["ox"] and rep.foreign == 1
    rep = run(snap, [], unknown_orders="adopt")
    assert [u.order_id for u in rep.adopt] == ["ox"] and not rep.cancel


def test_missing_fill_backfilled_and_positions_compared_after():
    snap = VenueSnapshot(
        NOW, [], fills=[fill("t1", "oa"), fill("t2", "oa"), fill("t2", "oa")], positions={T: 200}
    )
    rep = run(snap, [], fill_keys={("t1", "oa")}, positions={T: 100})
    assert [f.trade_id for f in rep.backfill] == ["t2"] and rep.ok
    rep = run(snap, [], fill_keys={("t1", "oa"), ("t2", "oa")}, positions={T: 100})
    assert not rep.ok and rep.position_mismatches[0].venue == 200


def test_lost_ack_found_by_client_order_id_and_never_arrived():
    live = [
        mine("a", None, OrderStatus.UNKNOWN),
        mine("b", None, OrderStatus.UNKNOWN, ts=NOW - 20_000_000_000),
    ]
    rep = run(
        VenueSnapshot(NOW, [venue_order("oa", "a", rem=700, filled=300)], history_tickers={T}), live
    )
    fixes = {f.client_order_id: f for f in rep.fixes}
    assert fixes["a"].status is OrderStatus.RESTING and fixes["a"].order_id == "oa"
    assert fixes["b"].status is OrderStatus.REJECTED
    # too young to call: unresolved
    rep = run(VenueSnapshot(NOW, [], history_tickers={T}), [mine("c", None, OrderStatus.UNKNOWN)])
    assert rep.unresolved == ["c"]


def test_in_flight_orders_untouched_and_size_drift_fixed():
    live = [mine("a", None, OrderStatus.PENDING), mine("b", "ob", rem=1000)]
    rep = run(
        VenueSnapshot(NOW, [venue_order("ob", "b", rem=600, filled=400)]), live, in_flight={"a"}
    )
    assert [(f.client_order_id, f.remaining) for f in rep.fixes] == [("b", 600)] and rep.ok
    # the report says what differs (both sides said "resting", which told nothing)
    assert rep.fixes[0].reason == "venue lists it resting: remaining 10.00 -> 6.00"
