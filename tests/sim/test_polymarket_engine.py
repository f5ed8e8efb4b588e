"""Properties of the unified YES/NO matching engine and the simulated ledger (pure)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.core.money import ONE
from pmbot.sim.polymarket_accounts import Accounts
from pmbot.sim.polymarket_engine import Book, EngineOrder, MatchError, PolyEngine

YES, NO, CID = "1", "2", "0xc"

order_st = st.tuples(
    st.booleans(),  # YES token?
    st.sampled_from(["BUY", "SELL"]),
    st.integers(1, 99),  # price in cents
    st.integers(5, 40),  # shares
    st.sampled_from(["GTC", "GTC", "FAK", "FOK"]),
    st.integers(0, 3),  # trader
)


@settings(max_examples=150, deadline=None)
@given(st.lists(order_st, min_size=1, max_size=60))
def test_book_never_rests_crossed_and_pairs_conserve_cash(ops) -> None:
    eng = PolyEngine()
    eng.add_market(Book(CID, YES, NO, tick=100, min_size=5_000_000))
    acc = Accounts(start_cash=10**12)
    traders = [f"0x{i:040x}" for i in range(4)]
    total0 = sum(acc.cash_of(t) for t in traders)
    for n, (is_yes, side, cents, shares, otype, who) in enumerate(ops):
        tok = YES if is_yes else NO
        if side == "SELL" and acc.available(traders[who], tok, False, eng.live()) < shares * 10**6:
            continue  # the server refuses sells without shares
        o = EngineOrder(
            id=f"o{n}",
            owner=f"k{who}",
            maker_address=traders[who],
            market=CID,
            token_id=tok,
            is_yes=is_yes,
            side=side,
            price=cents * 100,
            original=shares * 10**6,
            order_type=otype,
        )
        try:
            res = eng.place(o)
        except MatchError:
            continue
        for f in res.fills:  # mined at once here
            acc.settle(acc.fill(o, f.size, f.price_for(o)))
            acc.settle(acc.fill(f.maker, f.size, f.price_for(f.maker)))
            assert f.price_for(o) + f.price_for(f.maker) == ONE or o.is_yes == f.maker.is_yes
        book = eng.books[CID]
        bb, ba = book.best(True), book.best(False)
        assert bb is None or ba is None or bb < ba
        yes = sum(acc.shares_of(t, YES) for t in traders)
        no = sum(acc.shares_of(t, NO) for t in traders)
        assert yes == no  # every YES share was minted with a NO share
        cash = sum(acc.cash_of(t) for t in traders)
        assert total0 - cash - yes in range(
            0, 2 * len(ops) + 1
        )  # $1 locked per pair (floor rounding)
        for t in traders:
            assert acc.shares_of(t, YES) >= 0 and acc.shares_of(t, NO) >= 0


def test_mirror_and_price_improvement() -> None:
    eng = PolyEngine()
    eng.add_market(Book(CID, YES, NO, tick=100, min_size=1))
    eng.place(EngineOrder("a", "k", "m", CID, NO, False, "BUY", 4000, 10))  # YES ask 0.60
    assert eng.books[CID].token_levels(True) == ([], [(6000, 10)])
    assert eng.books[CID].token_levels(False) == ([(4000, 10)], [])
    res = eng.place(EngineOrder("b", "k2", "t", CID, YES, True, "BUY", 6500, 4))
    (f,) = res.fills
    assert f.price_for(res.order) == 6000 and f.price_for(f.maker) == 4000 and f.size == 4


def test_a_fill_moves_balances_when_mined_and_its_debits_count_at_once() -> None:
    """Balances (what /balance-allowance reports) lag a match until the trade is mined; the
    fill's debits already hold back new orders, its credits do not free anything yet."""
    acc = Accounts(start_cash=100 * 10**6)
    buyer, seller = "0x" + "b" * 40, "0x" + "5" * 40
    acc.fund(seller, token=YES, shares=10 * 10**6)
    buy = EngineOrder("b", "kb", buyer, CID, YES, True, "BUY", 4000, 10 * 10**6)
    sell = EngineOrder("s", "ks", seller, CID, YES, True, "SELL", 4000, 10 * 10**6)
    tb, ts = acc.fill(buy, 10 * 10**6, 4000), acc.fill(sell, 10 * 10**6, 4000)
    assert acc.cash_of(buyer) == 100 * 10**6 and acc.shares_of(buyer, YES) == 0
    assert acc.shares_of(seller, YES) == 10 * 10**6
    assert acc.available(buyer, YES, True, []) == 96 * 10**6  # $4 paid, pending
    assert acc.available(buyer, YES, False, []) == 0  # bought shares: not sellable yet
    assert acc.available(seller, YES, False, []) == 0  # sold shares: gone at once
    acc.settle(tb)
    acc.settle(ts)
    assert acc.cash_of(buyer) == 96 * 10**6 and acc.shares_of(buyer, YES) == 10 * 10**6
    assert acc.shares_of(seller, YES) == 0 and acc.cash_of(seller) == 104 * 10**6
    assert acc.available(buyer, YES, False, []) == 10 * 10**6
    failed = acc.fill(buy, 10**6, 5000)
    acc.drop(failed)  # a FAILED trade: nothing moved, nothing held
    assert acc.cash_of(buyer) == acc.available(buyer, YES, True, []) == 96 * 10**6
