"""Found in review (failed before its fix): a fill frame without client_order_id beats the create's
answer; the answer (made before the fill) says remaining=10. `_name` now counts the fill
into `filled` but, unlike `_apply_fill`, leaves `remaining` and the status alone: the
order, fully executed on the venue, shows 10 resting (the planner keeps it as the quote,
the gate counts 10 more) until the venue's order update or a reconciliation."""

from pmbot.core import events as ev
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.state import TradingState


def test_fill_before_answer_cuts_remaining_once_named():
    st = TradingState()
    st.register_order(LiveOrder("c1", "T", Side.BID, 5000, 1000, 1000, OrderStatus.PENDING))
    st.apply(ev.Fill("t1", "O1", "T", Side.BID, 5000, 1000, 0, False, 1))  # no coid
    st.set_order_status("c1", OrderStatus.RESTING, 2, order_id="O1", remaining=1000)  # ack
    o = st.orders["c1"]
    assert (o.filled, o.remaining, o.status) == (1000, 0, OrderStatus.EXECUTED)


def test_partial_fill_before_answer():
    st = TradingState()
    st.register_order(LiveOrder("c1", "T", Side.BID, 5000, 1000, 1000, OrderStatus.PENDING))
    st.apply(ev.Fill("t1", "O1", "T", Side.BID, 5000, 400, 0, False, 1))  # no coid
    st.set_order_status("c1", OrderStatus.RESTING, 2, order_id="O1", remaining=1000)
    o = st.orders["c1"]
    assert (o.filled, o.remaining) == (400, 600)
