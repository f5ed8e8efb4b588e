"""Owed fills and amends in flight, found by the review of this change (each failed before
its fix): a backfilled fill of an order its own reconciliation named, or a fill frame that
beat the create's answer, counted twice once the venue reported it; an amend of unknown
outcome shown at its target for the order's life after reconciliation had settled it."""

from __future__ import annotations

import dataclasses

from fake_venue import unavailable
from test_gate_view import cost_rig, position_rig

from pmbot.core.orders import Side
from pmbot.strategy.inputs import DesiredQuote


async def test_a_backfilled_fill_of_an_order_named_in_the_same_reconcile_is_not_counted_twice(
    tmp_path,
):
    """A create whose answer was lost (UNKNOWN, no order_id) fills 6 of 10 while its fill
    frame is lost too. Reconciliation backfills the REST fill (no client_order_id on REST
    fills since 2026-03-30) BEFORE its fixes name the order, so the fill moves the position
    but not the order's `filled`; the venue's next order update then reports filled=6 and
    the 6 are 'owed' on top of the 6 already held: the gate sees 12."""
    r = position_rig(tmp_path)
    a = r.tickers[2]
    want = [DesiredQuote(a, "bid", 5000, 1000)]
    assert (await r.om.start()).ok
    r.venue.fail_after["create"] = [unavailable()]  # the venue acts; the answer is lost
    await r.om.sync(r.decide(want))
    (o,) = r.state.orders.values()
    assert o.order_id is None
    r.venue.trade(a, Side.ASK, 5000, 600)
    r.late_fills()  # the fill frames never arrive

    real_get_fills = r.venue.get_fills

    async def rest_fills(**kw):  # Kalshi REST fills carry no client_order_id
        return [dataclasses.replace(f, client_order_id=None) for f in await real_get_fills(**kw)]

    r.venue.get_fills = rest_fills
    await r.om.reconcile()
    assert r.state.position(a) == 600
    assert r.inputs().positions[a] == 600
    (vo,) = r.venue.orders.values()
    r.om.on_order_update(vo.view(r.clock.now_ns()))  # the venue's next user_order frame
    assert r.inputs().positions[a] == 600, "a backfilled fill counted twice"


async def test_an_amend_whose_outcome_was_unknown_is_not_shown_forever_after_reconcile(tmp_path):
    """An amend 10 -> 20 times out before the venue acted (UNKNOWN); reconciliation finds
    the order resting at 10 and settles it, but `amending` is never cleared: the gate keeps
    seeing 20 resting and keeps trimming the rest of the event under its cost cap."""
    r = cost_rig(tmp_path, 10_000_000)  # $10 event cost cap
    a, b = r.tickers[1], r.tickers[2]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 1000)]))
    r.venue.fail["amend"] = [unavailable()]  # never reached the venue
    p = await r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 2000)]))
    assert p is not None and len(p.amends) == 1
    await r.om.reconcile()
    (o,) = r.state.live_orders(a)
    assert (o.status.value, o.remaining) == ("resting", 1000)
    (seen,) = r.inputs().resting[a]
    # the strategy now wants A as it rests and 10 on B: $5 + $5 fits the $10 cap
    q = r.decide([DesiredQuote(a, "bid", 5000, 1000), DesiredQuote(b, "bid", 5000, 1000)])
    # and it stays so: A is cut with a decrease (which never clears `amending`), B never goes
    for _ in range(3):
        await r.om.sync(q)
        q = r.decide([DesiredQuote(a, "bid", 5000, 1000), DesiredQuote(b, "bid", 5000, 1000)])
    assert seen.remaining == 1000, "the reconciled order is shown at the failed amend's size"
    assert r.venue.resting(b), "B never quoted: A counted at 20 under the $10 cap"


def test_a_fill_frame_before_the_create_answer_without_client_order_id_is_not_owed_again():
    """The WS `fill` frame's client_order_id is optional (protocol §4.4 'Required' omits it).
    A fill that beats the create's answer cannot be matched to the order (no order_id yet):
    it moves the position only; the order's next update (filled=1) makes it owed as well."""
    from pmbot.app_parts import _with_owed_fills
    from pmbot.core import events as ev
    from pmbot.core.orders import LiveOrder, OrderStatus
    from pmbot.core.state import TradingState

    st = TradingState()
    st.register_order(LiveOrder("c1", "T", Side.BID, 5000, 1000, 1000, OrderStatus.PENDING))
    st.apply(ev.Fill("t1", "O1", "T", Side.BID, 5000, 100, 0, False, 1))
    st.set_order_status("c1", OrderStatus.RESTING, 2, order_id="O1", remaining=1000)  # the ack
    st.apply(
        ev.OrderUpdate("O1", "c1", "T", Side.BID, 5000, OrderStatus.RESTING, 1000, 100, 900, 3)
    )
    held = _with_owed_fills(st).get("T", st.positions["T"]).qty
    assert held == 100
