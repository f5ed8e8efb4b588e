"""BinaryBook: unit cases, recorded frames, and hypothesis properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmbot.core.book import BinaryBook
from pmbot.core.money import ONE, PriceGrid, parse_count, parse_price
from pmbot.errors import BookError

FIX = Path(__file__).parents[1] / "fixtures" / "kalshi"
GRID = PriceGrid.linear_cent()
PRICES = st.sampled_from([p for p in GRID.prices if 0 < p < ONE])


def test_recorded_rest_book() -> None:
    body = json.loads((FIX / "orderbook__base.json").read_text())["orderbook_fp"]
    b = BinaryBook(GRID)
    b.apply_snapshot(
        [(parse_price(p), parse_count(q)) for p, q in body.get("yes_dollars") or []],
        [(parse_price(p), parse_count(q)) for p, q in body.get("no_dollars") or []],
    )
    assert b.levels()[0] == [
        (parse_price(p), parse_count(q)) for p, q in body.get("yes_dollars") or []
    ]


@pytest.mark.parametrize(
    "name,yes_scale",
    [("ws__orderbook_trade_noleg.jsonl", False), ("ws__orderbook_trade_yes.jsonl", True)],
)
def test_recorded_ws_frames_both_conventions(name: str, yes_scale: bool) -> None:
    books: dict[str, BinaryBook] = {}
    n = 0
    for line in (FIX / name).read_text().splitlines():
        if not line.strip():
            continue
        f = json.loads(line)
        m = f.get("msg", {})
        if f["type"] == "orderbook_snapshot":
            b = books.setdefault(m["market_ticker"], BinaryBook(GRID, m["market_ticker"]))
            b.apply_snapshot(
                [(parse_price(p), parse_count(q)) for p, q in m.get("yes_dollars_fp", [])],
                [(parse_price(p), parse_count(q)) for p, q in m.get("no_dollars_fp", [])],
                yes_scale=yes_scale,
            )
            n += 1
        elif f["type"] == "orderbook_delta":
            books[m["market_ticker"]].apply_delta(
                m["side"] == "yes",
                parse_price(m["price_dollars"]),
                parse_count(m["delta_fp"]),
                yes_scale=yes_scale,
            )
            n += 1
    assert n >= 2
    # The two recordings are of the same kind of book: the YES ask must be on the YES scale either way.
    for b in books.values():
        ask = b.best_yes_ask()
        if ask is not None:
            assert 0 < ask[0] < ONE


def test_basic_queries_and_conventions() -> None:
    b = BinaryBook(GRID, "T")
    b.apply_snapshot([(4700, 300), (4500, 100)], [(4800, 200)])
    assert b.best_yes_bid() == (4700, 300)
    assert b.best_yes_ask() == (5200, 200)
    assert b.best_no_bid() == (4800, 200)
    assert b.best_no_ask() == (5300, 300)
    assert b.mid() == pytest.approx(0.495)
    assert b.depth(True) == [(4700, 300), (4500, 100)]
    y = BinaryBook(GRID, "T")
    y.apply_snapshot([(4700, 300), (4500, 100)], [(5200, 200)], yes_scale=True)
    assert y == b
    b.apply_delta(False, 4800, -200)
    y.apply_delta(False, 5200, -200, yes_scale=True)
    assert b == y and b.best_yes_ask() is None


def test_negative_level_is_an_error_not_a_clamp() -> None:
    b = BinaryBook(GRID, "T")
    b.apply_snapshot([(4700, 300)], [])
    with pytest.raises(BookError):
        b.apply_delta(True, 4700, -301)
    assert b.best_yes_bid() == (4700, 300)
    with pytest.raises(BookError):
        b.apply_delta(True, 4750, 5)  # off grid


levels = st.dictionaries(PRICES, st.integers(min_value=1, max_value=10_000), max_size=20)


@st.composite
def delta_sequences(draw):
    yes0, no0 = draw(levels), draw(levels)
    cur = {True: dict(yes0), False: dict(no0)}
    deltas = []
    for _ in range(draw(st.integers(0, 60))):
        side = draw(st.booleans())
        p = draw(PRICES)
        have = cur[side].get(p, 0)
        d = draw(st.integers(min_value=-have, max_value=5000).filter(lambda x: x != 0))
        cur[side][p] = have + d
        deltas.append((side, p, d))
    return yes0, no0, deltas, cur


@given(delta_sequences(), st.booleans())
def test_deltas_equal_rebuild(seq, yes_scale: bool) -> None:
    yes0, no0, deltas, final = seq
    conv = (lambda p: ONE - p) if yes_scale else (lambda p: p)
    b = BinaryBook(GRID)
    b.apply_snapshot(yes0.items(), [(conv(p), q) for p, q in no0.items()], yes_scale=yes_scale)
    for side, p, d in deltas:
        b.apply_delta(side, p if side else conv(p), d, yes_scale=yes_scale)
    r = BinaryBook(GRID)
    r.apply_snapshot(
        [(p, q) for p, q in final[True].items() if q],
        [(p, q) for p, q in final[False].items() if q],
    )
    assert b == r
    assert b.best_yes_bid() == r.best_yes_bid() and b.best_no_bid() == r.best_no_bid()
    yb = max((p for p, q in final[True].items() if q), default=None)
    nb = max((p for p, q in final[False].items() if q), default=None)
    assert b.yes_bid_price() == yb
    assert b.yes_ask_price() == (None if nb is None else ONE - nb)  # YES ask = 1 - best NO bid
    if yb is not None and nb is not None and yb + nb < ONE:  # input not crossed
        assert not b.crossed()
        assert b.yes_bid_price() < b.yes_ask_price()
        assert b.best_no_bid()[0] < b.best_no_ask()[0]
