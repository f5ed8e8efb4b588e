"""Properties of the queue model on random single-level histories (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.backtest.matching import Shadow
from pmbot.core.book import BinaryBook
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid

SPEC = MarketSpec(
    "M", "E", "S", StrikeType.GREATER, 1.0, None, PriceGrid.linear_cent(), FeeSchedule(), 10**19
)
P = 4000

# (kind, size): 0 = size added, 1 = cancel, 2 = a sell print at our price (then its delta)
events = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 12).map(lambda x: x * 100)), max_size=40
)


def play(
    model: str, start: int, ours: int, evs: list[tuple[int, int]]
) -> tuple[int, int, list[int]]:
    book = BinaryBook(SPEC.grid, "M")
    book.apply_snapshot([(P, start)], [(5000, 1000)])
    sh = Shadow([SPEC], [book], model)
    oid, _ = sh.place(0, 0, True, P, ours)
    assert oid is not None
    filled = traded = 0
    ahead = []
    for t, (k, q) in enumerate(evs, 1):
        size = book.size_at(True, P)
        if k == 0:
            book.apply_delta(True, P, q)
            filled += sum(f.qty for f in sh.on_delta(t, 0, True, P, q))
        elif k == 1 and size:
            q = min(q, size)
            book.apply_delta(True, P, -q)
            sh.on_delta(t, 0, True, P, -q)
        elif k == 2 and size:
            q = min(q, size)
            traded += q
            filled += sum(f.qty for f in sh.on_trade(t, 0, False, P, q))
            book.apply_delta(True, P, -q)
            sh.on_delta(t, 0, True, P, -q)
        o = sh.order(oid)
        if o is not None and o.status == "resting":
            ahead.append(sh.queue_ahead(oid))
    return filled, traded, ahead


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 30).map(lambda x: x * 100), st.integers(1, 10).map(lambda x: x * 100), events)
def test_queue_invariants(start: int, ours: int, evs: list[tuple[int, int]]) -> None:
    res = {m: play(m, start, ours, evs) for m in ("back", "prorata", "front")}
    for m, (filled, traded, ahead) in res.items():
        assert 0 <= filled <= min(ours, traded), (
            m
        )  # only prints at our price fill us, at most our size
        assert all(0 <= a <= start for a in ahead), m  # the queue ahead never grows, never negative
        assert ahead == sorted(ahead, reverse=True), m
    # cancels taken from the back never help us more than cancels taken from the front
    assert res["back"][0] <= res["front"][0]
    assert res["back"][0] <= res["prorata"][0] <= res["front"][0]
