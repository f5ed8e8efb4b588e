"""A single binary market as a one-market event: micro-price net of our orders, external p."""

from __future__ import annotations

import pytest

from pmbot.core.book import BinaryBook
from pmbot.core.money import PriceGrid, PriceRange
from pmbot.pricing.binary import binary_fair, binary_spec, fair_probability, microprice_ex
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.inputs import QuoteInputs
from pmbot.strategy.inventory import win_cells
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker

CID = "0x" + "ab" * 32
GRID = PriceGrid([PriceRange(0, 10_000, 100)])


def book() -> BinaryBook:
    b = BinaryBook(GRID, CID)
    # YES bids 0.48 x 30, 0.47 x 100; YES asks 0.52 x 10 (NO bid 0.48), 0.53 x 50
    b.apply_snapshot([(4800, 3000), (4700, 10_000)], [(4800, 1000), (4700, 5000)])
    return b


def test_microprice_leans_to_the_thin_side_and_ignores_our_own_size() -> None:
    b = book()
    assert microprice_ex(b) == pytest.approx((0.48 * 10 + 0.52 * 30) / 40)
    assert b.microprice() == pytest.approx(microprice_ex(b))
    # our bid is all of the 0.48 level: the next real bid is 0.47 x 100
    p = microprice_ex(b, own_bids={4800: 3000}, own_asks={5200: 400})
    assert p == pytest.approx((0.47 * 6 + 0.52 * 100) / 106)
    # nothing but ours on the ask side: no price
    assert microprice_ex(b, own_asks={5200: 1000, 5300: 5000}) is None


def test_sources() -> None:
    assert fair_probability("external", None, external=0.62) == 0.62
    assert fair_probability("external", book(), external=None) is None
    assert fair_probability("microprice", None) is None
    with pytest.raises(ValueError):
        fair_probability("oracle", None)


def test_one_market_event_partitions_yes_no_and_the_maker_quotes_it() -> None:
    spec = binary_spec(CID, GRID, close_ts_ns=10**19)
    fair = binary_fair(CID, 0.5, 1)
    assert win_cells([spec], fair) == [(1,)] and fair.cell_probs == (0.5, 0.5)
    mm = MarketMaker(QuoteParams(edge=100, size=1000, min_rest_ns=0, debounce_ns=0), RiskLimits())
    inp = QuoteInputs(
        ts_ns=1,
        event_ticker=CID,
        markets=(spec,),
        fair=fair,
        books={CID: book()},
        book_ts_ns={CID: 1},
        reference_ts_ns=10**19,
    )
    q = {d.side: d.price for d in mm.propose(inp).quotes}
    assert q["bid"] <= 4900 and q["ask"] >= 5100 and q["bid"] < q["ask"]
    # long YES: the reservation price skews both quotes down
    long_ = mm.propose(
        QuoteInputs(
            **{**{f: getattr(inp, f) for f in inp.__slots__}, "ts_ns": 2, "positions": {CID: 5000}}
        )
    )
    q2 = {d.side: d.price for d in long_.quotes}
    assert q2["bid"] <= q["bid"] and q2.get("ask", 10_000) <= q["ask"]
