"""Property tests of the matching engine and ledger: no crossed book, conservation, priority."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.core.market import StrikeType
from pmbot.core.money import ONE
from pmbot.sim.engine import FOK, GTC, IOC, Engine, Order
from pmbot.sim.exchange import Exchange, ExchangeError
from pmbot.sim.markets import SimEvent, SimMarket

USERS = ["a", "b", "c"]
CASH = 1_000 * 1_000_000
T = "KXINX-26NOV24H1600-B7662"

op = st.one_of(
    st.tuples(
        st.just("new"),
        st.sampled_from(USERS),
        st.sampled_from(["bid", "ask"]),
        st.integers(1, 99),
        st.integers(1, 2000),
        st.sampled_from([GTC, GTC, IOC, FOK]),
        st.sampled_from(["taker_at_cross", "maker"]),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("amend"), st.integers(0, 50), st.integers(1, 99), st.integers(1, 2000)),
    st.tuples(st.just("decrease"), st.integers(0, 50), st.integers(0, 1000)),
)


def make_exchange() -> Exchange:
    x = Exchange(seed=1)
    ev = SimEvent("KXINX-26NOV24H1600", "KXINX", "t", "s", 0, True, "MECNET")
    m = SimMarket(
        T, ev.event_ticker, "KXINX", StrikeType.BETWEEN, 1, 2, "t", "s", "r", 0, 0, 10**20
    )
    m.status = "active"
    x.add_markets([ev], [m])
    for u in USERS:
        x.ledger.open(u, CASH)
    return x


@settings(max_examples=150, deadline=None)
@given(st.lists(op, max_size=60))
def test_matching_invariants(ops: list[tuple]) -> None:
    x = make_exchange()
    ids: list[tuple[str, str]] = []
    ts = 1
    for o in ops:
        ts += 1
        try:
            if o[0] == "new":
                _, u, side, px, n, tif, stp = o
                order = x.create(
                    u, ticker=T, side=side, price=px * 100, count=n, tif=tif, stp=stp, ts_ns=ts
                )
                ids.append((u, order.order_id))
            elif o[0] == "cancel" and ids:
                u, oid = ids[o[1] % len(ids)]
                x.cancel(u, oid, ts)
            elif o[0] == "amend" and ids:
                u, oid = ids[o[1] % len(ids)]
                od = x.engine.orders[oid]
                x.amend(
                    u,
                    oid,
                    ticker=T,
                    side=od.side,
                    price=o[2] * 100,
                    count=od.filled + o[3],
                    ts_ns=ts,
                )
            elif o[0] == "decrease" and ids:
                u, oid = ids[o[1] % len(ids)]
                x.decrease(u, oid, ts, reduce_by=o[2], reduce_to=None)
        except ExchangeError:
            pass
        book = x.engine.book(T)
        assert not book.crossed()
        # every resting order is on the book exactly once with positive remaining
        on_book = [r for side in (book.bids, book.asks) for q in side.values() for r in q]
        assert all(r.remaining > 0 and r.status == "resting" for r in on_book)
        assert len(on_book) == len({id(r) for r in on_book}) == len(x.engine.resting())
        # contracts: every fill has two sides -> net YES == net NO
        assert sum(a.positions[T].qty for a in x.ledger.accounts.values() if T in a.positions) == 0
        # money: cash + fees + collateral is conserved
        assert x.money_check(CASH * len(USERS))
        for a in x.ledger.accounts.values():
            assert a.reserved == x.ledger.reserved_of(x.engine.resting(a.user))
            assert a.cash >= -10_000_000  # never meaningfully negative (fees on a maxed balance)
    # a settlement pays out exactly the collateral
    before = x.ledger.total_cash() + x.ledger.collateral()
    x.ledger.settle(T, True, ts + 1)
    assert x.ledger.total_cash() == before
    assert x.ledger.collateral() == 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(40, 60), st.integers(1, 500)), min_size=1, max_size=30),
    st.integers(1, 5000),
)
def test_price_time_priority(makers: list[tuple[int, int]], take: int) -> None:
    """A sweeping taker fills makers best price first, then earliest first at equal price."""
    e = Engine()
    for i, (px, n) in enumerate(makers):
        e.submit(Order(f"m{i}", f"u{i}", T, "ask", px * 100, n), ts_ns=i + 1)
    e.drain()
    t = Order("t", "taker", T, "bid", 99 * 100, take, tif=IOC)
    e.submit(t, ts_ns=10_000)
    _, fills, _ = e.drain()
    order = sorted(range(len(makers)), key=lambda i: (makers[i][0], i))
    expected: list[tuple[str, int]] = []
    left = take
    for i in order:
        if left == 0:
            break
        n = min(left, makers[i][1])
        expected.append((f"m{i}", n))
        left -= n
    assert [(f.maker.order_id, f.count) for f in fills] == expected
    assert all(f.price == f.maker.price for f in fills)
    assert t.filled == take - left


def test_amend_priority_rules() -> None:
    e = Engine()
    e.submit(Order("a", "u1", T, "bid", 5000, 300), 1)
    e.submit(Order("b", "u2", T, "bid", 5000, 300), 2)
    e.amend("a", 5000, 200, 3)  # pure decrease: keeps the front
    assert e.queue_position("a") == 0 and e.queue_position("b") == 200
    e.amend("a", 5000, 400, 4)  # size up: back of the queue
    assert e.queue_position("b") == 0 and e.queue_position("a") == 300


def test_stp_modes() -> None:
    e = Engine()
    e.submit(Order("r", "me", T, "bid", 4800, 100), 1)
    t = Order("x", "me", T, "ask", 4800, 100, tif=IOC)
    e.submit(t, 2)
    assert t.status == "canceled" and t.filled == 0 and e.orders["r"].status == "resting"
    e.submit(Order("o", "other", T, "bid", 4700, 100), 3)
    t2 = Order("y", "me", T, "ask", 4700, 100, tif=IOC, stp="maker")
    e.submit(t2, 4)
    assert e.orders["r"].status == "canceled" and t2.filled == 100 and t2.status == "executed"


def test_fee_on_taker_fill() -> None:
    x = make_exchange()
    x.create("a", ticker=T, side="ask", price=5200, count=100, tif=GTC, stp="maker", ts_ns=1)
    o = x.create("b", ticker=T, side="bid", price=9900, count=100, tif=IOC, stp="maker", ts_ns=2)
    assert o.status == "executed" and o.taker_fees == 17_500 and o.taker_fill_cost == 520_000
    assert x.ledger.accounts["b"].cash == CASH - 520_000 - 17_500
    assert (
        x.ledger.accounts["a"].cash == CASH - (ONE - 5200) * 100
    )  # maker pays no fee on quadratic
