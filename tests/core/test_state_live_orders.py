"""TradingState.live_orders: every order that could rest, by any path to a terminal state,
without walking the ended ones still kept."""

from __future__ import annotations

from pmbot.core import events as ev
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.state import TradingState


def _order(cid: str, ticker: str, status: OrderStatus = OrderStatus.RESTING) -> LiveOrder:
    return LiveOrder(cid, ticker, Side.BID, 4800, 100, 100, status, order_id=f"o-{cid}")


def test_live_orders_follow_every_way_an_order_ends() -> None:
    st = TradingState()
    for i in range(6):
        st.register_order(_order(f"c{i}", "A" if i % 2 else "B"))
    st.register_order(_order("p", "A", OrderStatus.PENDING))
    st.register_order(_order("u", "B", OrderStatus.UNKNOWN))
    assert {o.client_order_id for o in st.live_orders()} == {
        "c0",
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
        "p",
        "u",
    }
    st.set_order_status("c0", OrderStatus.CANCELED, 1)  # our own cancel
    st.apply(ev.Fill("t1", "o-c1", "A", Side.BID, 4800, 100, 0, False, 2))  # filled in full
    st.apply(  # the venue says it was cancelled
        ev.OrderUpdate("o-c2", None, "B", Side.BID, 4800, OrderStatus.CANCELED, 100, 0, 0, 3)
    )
    assert {o.client_order_id for o in st.live_orders()} == {"c3", "c4", "c5", "p", "u"}
    assert {o.client_order_id for o in st.live_orders("A")} == {"c3", "c5", "p"}
    st.set_order_status("c4", OrderStatus.EXECUTED, 4)  # ended after it was read as live
    assert {o.client_order_id for o in st.live_orders("B")} == {"u"}
    assert {o.client_order_id for o in st.live_orders()} == {"c3", "c5", "p", "u"}
    # every order of the run stays known (fills and updates of ended orders still resolve)
    assert len(st.orders) == 8
    assert st.order_by_id("o-c0") is st.orders["c0"]
