"""TradingState: an order's filled size counts each fill once, whichever of the venue's
order update and the fill arrives first; a voided fill gives it back."""

from __future__ import annotations

from pmbot.core import events as ev
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.state import TradingState

T = "M"


def state(filled: int = 0) -> TradingState:
    st = TradingState()
    st.add_market(
        MarketSpec(
            T, T, "S", StrikeType.GREATER, 0.5, None, PriceGrid.linear_cent(), FeeSchedule(), 0
        )
    )
    st.register_order(
        LiveOrder(
            "c",
            T,
            Side.BID,
            4800,
            1000,
            1000 - filled,
            OrderStatus.RESTING,
            order_id="o",
            filled=filled,
        )
    )
    return st


def update(filled: int) -> ev.OrderUpdate:
    return ev.OrderUpdate(
        "o", None, T, Side.BID, 4800, OrderStatus.RESTING, 1000, filled, 1000 - filled, 1
    )


def fill(tid: str, qty: int) -> ev.Fill:
    return ev.Fill(tid, "o", T, Side.BID, 4800, qty, 0, False, 2)


def test_update_then_fill_counts_once() -> None:
    st = state()
    st.apply(update(900))
    st.apply(fill("t1", 900))
    o = st.orders["c"]
    assert (o.filled, o.remaining, o.status) == (900, 100, OrderStatus.RESTING)
    st.apply(fill("t2", 100))
    assert (o.filled, o.remaining, o.status) == (1000, 0, OrderStatus.EXECUTED)


def test_fill_then_update_and_void() -> None:
    st = state()
    st.apply(fill("t1", 600))
    st.apply(update(600))
    o = st.orders["c"]
    assert (o.filled, o.remaining) == (600, 400)
    st.apply(ev.FillVoided("t1", "o", 3))
    assert o.filled == 0 and st.position(T) == 0


def test_recovered_order_keeps_counting_from_its_stored_fill() -> None:
    st = state(filled=500)  # registered from the ledger with 5 filled before the restart
    st.apply(fill("t9", 300))
    o = st.orders["c"]
    assert (o.filled, o.remaining) == (800, 200)


def test_account_aggregates_follow_fills_voids_and_settlements() -> None:
    """The open positions, realised P&L and fees a decision reads are kept per positions
    version (a decision no longer walks every market the run ever held); each way a position
    changes moves them, and they always equal a fresh walk."""

    def walk(st: TradingState) -> tuple[dict[str, int], int, int]:
        ps = st.positions.values()
        held = {t: p.qty for t, p in st.positions.items() if p.qty}
        return held, sum(p.realized for p in ps), sum(p.fees for p in ps)

    def seen(st: TradingState) -> tuple[dict[str, int], int, int]:
        held = {t: p.qty for t, p in st.held_positions().items()}
        return held, st.realized_pnl(), st.fees_paid()

    st = state()
    assert seen(st) == walk(st) == ({}, 0, 0)
    st.apply(ev.Fill("t1", "o", T, Side.BID, 4800, 300, 70, False, 2))
    assert seen(st) == walk(st) and seen(st)[0] == {T: 300}
    st.apply(ev.Fill("t2", "o", T, Side.ASK, 5000, 100, 20, False, 3))  # realises 0.02 x 1
    assert seen(st) == walk(st) and seen(st)[1] == 200 * 100 and seen(st)[2] == 90
    st.apply(ev.FillVoided("t2", "o", 4))
    assert seen(st) == walk(st) and seen(st)[0] == {T: 300}
    assert st.settle_position(T, yes_won=True) == 300 * (10_000 - 4800)
    assert seen(st) == walk(st) and seen(st)[0] == {}
    assert st.settle_position("NONE", yes_won=True) is None
    assert st.settle_position("NONE", yes_won=True, create=True) == 0


def test_fills_reported_before_their_events_are_owed_once() -> None:
    """The venue's filled count (order update) above the fills applied is owed until the
    fill events arrive: each one pays its part once (a duplicate pays nothing, never below
    zero), and an order update after its fills owes nothing."""
    st = state()
    o = st.orders["c"]
    st.apply(update(600))
    assert (o.owed, list(st.owing)) == (600, ["c"])
    st.apply(fill("t1", 400))
    st.apply(fill("t1", 400))  # a duplicate frame
    assert o.owed == 200
    st.apply(fill("t2", 200))
    assert (o.owed, st.owing) == (0, {})
    st.apply(fill("t3", 100))  # a fill the update had not reported yet
    assert (o.owed, st.owing) == (0, {})
    st.apply(update(700))  # ... and the update that reports it, after it
    assert (o.owed, st.owing) == (0, {})
    st.apply(update(600))  # a stale update does not take back what was reported
    assert o.venue_filled == 700 and o.owed == 0


def test_an_ended_order_still_owes_and_a_fill_beyond_the_total_keeps_what_rests() -> None:
    """Executed by the update, the order leaves the live orders but its fills stay owed;
    a fill beyond the total we knew still keeps `remaining` for the venue to settle."""
    st = state()
    o = st.orders["c"]
    st.apply(ev.OrderUpdate("o", None, T, Side.BID, 4800, OrderStatus.EXECUTED, 1000, 1000, 0, 1))
    assert not st.live_orders() and st.owing == {"c": o} and o.owed == 1000
    st.apply(fill("t1", 1000))
    assert (o.owed, st.owing, st.position(T)) == (0, {}, 1000)

    st = state()
    o = st.orders["c"]
    st.apply(update(200))  # 2 filled of 10, 8 rest
    st.apply(fill("t1", 1100))  # 11: beyond the total of 10 we knew
    assert (o.filled, o.remaining, o.initial, o.owed) == (1100, 800, 1900, 0)
    assert o.status is OrderStatus.RESTING


def test_a_voided_fill_is_not_owed_again_and_a_forgotten_order_owes_nothing() -> None:
    st = state()
    o = st.orders["c"]
    st.apply(update(600))
    st.apply(fill("t1", 600))
    st.apply(ev.FillVoided("t1", "o", 3))  # it failed: the venue's count loses it too
    assert (o.filled, o.owed, st.owing) == (0, 0, {})
    st.apply(update(300))
    assert o.owed == 300
    st.forget_order("c")  # pruned: late fills still move the position, without the order
    assert st.owing == {} and "c" not in st.orders
