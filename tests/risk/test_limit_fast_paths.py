"""The gate's limit arithmetic after the speed-ups equals the code it replaced.

`opened_parts` was rewritten without min/max calls, `trim_cost` now goes through
`CostParts` (computed once for both capital caps); the references are the previous
implementations, kept verbatim, compared on random quote sets. The gate skips the capital
and loss trims when `gross_fill_cost` shows that no fill can reach their caps: at such a
cap both trims return the quotes themselves.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.core.money import ONE
from pmbot.risk.limits import (
    CostParts,
    cap_positions,
    gross_fill_cost,
    harm_by_cell,
    opened_parts,
    trim_cost,
    trim_cost_parts,
    trim_event_loss,
)
from pmbot.strategy.inputs import DesiredQuote

TICKERS = ["A", "B", "C"]


def ref_opened_parts(quotes, pos):
    closable = {}
    out = []
    for d in quotes:
        k = (d.ticker, d.side)
        if k not in closable:
            q = pos.get(d.ticker, 0)
            closable[k] = max(0, -q if d.side == "bid" else q)
        c = min(d.qty, closable[k])
        closable[k] -= c
        out.append(d.qty - c)
    return out


def _unit_cost(d):
    return d.price if d.side == "bid" else ONE - d.price


def ref_trim_cost(quotes, pos, used, cap, committed=()):
    ops_all = ref_opened_parts([*committed, *quotes], pos)
    nc = len(committed)
    used += sum(_unit_cost(d) * o for d, o in zip(committed, ops_all[:nc], strict=True))
    ops = ops_all[nc:]
    units = [_unit_cost(d) for d in quotes]
    total = sum(u * o for u, o in zip(units, ops, strict=True))
    if used + total <= cap:
        return list(quotes)
    room = max(0, cap - used)
    keep = [op * room // total if op > 0 else 0 for op in ops]
    left = room - sum(k * u for k, u in zip(keep, units, strict=True))
    while True:  # the floors' leftovers, one unit per quote per pass, in order
        given = False
        for i, (op, u) in enumerate(zip(ops, units, strict=True)):
            if op > 0 and keep[i] < op and u <= left:
                keep[i] += 1
                left -= u
                given = True
        if not given:
            break
    return [
        d if op <= 0 else replace(d, qty=d.qty - op + k)
        for d, op, k in zip(quotes, ops, keep, strict=True)
    ]


quote = st.builds(
    DesiredQuote,
    st.sampled_from(TICKERS),
    st.sampled_from(["bid", "ask"]),
    st.integers(1, ONE - 1),
    st.integers(-200, 3000),
)
positions = st.dictionaries(st.sampled_from(TICKERS), st.integers(-3000, 3000))


@settings(max_examples=300, deadline=None)
@given(quotes=st.lists(quote, max_size=10), pos=positions)
def test_opened_parts_match_the_reference(quotes, pos):
    assert opened_parts(quotes, pos) == ref_opened_parts(quotes, pos)


@settings(max_examples=300, deadline=None)
@given(
    quotes=st.lists(quote, max_size=10),
    committed=st.lists(quote, max_size=5),
    pos=positions,
    used=st.integers(-(10**7), 10**8),
    cap=st.integers(1, 10**8),
)
def test_trim_cost_matches_the_reference(quotes, committed, pos, used, cap):
    want = ref_trim_cost(quotes, pos, used, cap, committed)
    assert trim_cost(quotes, pos, used, cap, committed) == want
    got, changed = trim_cost_parts(quotes, CostParts(quotes, pos, committed), used, cap)
    assert got == want
    if not changed:
        assert all(a is b for a, b in zip(got, quotes, strict=True))


def ref_cap_positions(quotes, pos, max_position, committed=()):
    room = {}
    used = {}
    for d in committed:
        used[(d.ticker, d.side)] = used.get((d.ticker, d.side), 0) + d.qty
    out = []
    for d in quotes:
        k = (d.ticker, d.side)
        if k not in room:
            q = pos.get(d.ticker, 0)
            r = max_position - q if d.side == "bid" else max_position + q
            room[k] = max(0, r - used.get(k, 0))
        x = min(d.qty, room[k])
        room[k] -= x
        out.append(d if x == d.qty else replace(d, qty=x))
    return out


def ref_trim_event_loss(quotes, cells, loss, cap):
    n = len(loss)
    add = [0] * n
    bid_total = 0
    units = []
    for d, w in zip(quotes, cells, strict=True):
        u, in_w = (d.price, False) if d.side == "bid" else (ONE - d.price, True)
        units.append((u, in_w))
        v = u * d.qty
        if in_w:
            for o in w:
                add[o] += v
        else:
            bid_total += v
            for o in w:
                add[o] -= v
    tot = [loss[o] + add[o] + bid_total for o in range(n)]
    cap = max(cap, max(loss))  # over the cap: never above the worst case of now
    if max(tot) <= cap:
        return list(quotes)
    harm = [add[o] + bid_total for o in range(n)]
    tight = [o for o in range(n) if tot[o] > cap and harm[o] > 0]
    out = []
    for d, w, (u, in_w) in zip(quotes, cells, units, strict=True):
        x = d.qty
        if u > 0 and x > 0:
            ws = set(w)
            for o in tight:
                if (o in ws) == in_w:
                    x = min(x, d.qty * max(0, cap - loss[o]) // harm[o])
        out.append(d if x == d.qty else replace(d, qty=x))
    return out


@settings(max_examples=300, deadline=None)
@given(
    quotes=st.lists(quote, max_size=10),
    committed=st.lists(quote, max_size=5),
    pos=positions,
    cap=st.integers(0, 6000),
)
def test_cap_positions_matches_the_reference(quotes, committed, pos, cap):
    want = ref_cap_positions(quotes, pos, cap, committed)
    got = cap_positions(quotes, pos, cap, committed)
    assert got == want
    assert all((a is b) == (a is c) for a, b, c in zip(got, want, quotes, strict=True))


@settings(max_examples=300, deadline=None)
@given(quotes=st.lists(quote, max_size=10), data=st.data(), cap=st.integers(0, 5 * 10**7))
def test_trim_event_loss_matches_the_reference(quotes, data, cap):
    n = 4
    cells = [data.draw(st.lists(st.integers(0, n - 1), max_size=n).map(tuple)) for _ in quotes]
    loss = data.draw(st.lists(st.integers(-(10**7), 10**8), min_size=n, max_size=n))
    assert trim_event_loss(quotes, cells, loss, cap) == ref_trim_event_loss(
        quotes, cells, loss, cap
    )


@settings(max_examples=300, deadline=None)
@given(
    quotes=st.lists(quote, max_size=10),
    committed=st.lists(quote, max_size=5),
    pos=positions,
    used=st.integers(-(10**7), 10**8),
    data=st.data(),
)
def test_gross_fill_cost_bounds_the_capital_and_loss_trims(quotes, committed, pos, used, data):
    gross = gross_fill_cost(quotes) + gross_fill_cost(committed)
    got, changed = trim_cost_parts(quotes, CostParts(quotes, pos, committed), used, used + gross)
    assert not changed
    assert all(a is b for a, b in zip(got, quotes, strict=True))
    n = 4
    cell = st.lists(st.integers(0, n - 1), max_size=n, unique=True).map(tuple)
    qc = [data.draw(cell) for _ in quotes]
    cc = [data.draw(cell) for _ in committed]
    loss = data.draw(st.lists(st.integers(-(10**7), 10**8), min_size=n, max_size=n))
    extra = harm_by_cell(committed, cc, n)
    with_committed = [a + b for a, b in zip(loss, extra, strict=True)]
    got = trim_event_loss(quotes, qc, with_committed, max(loss) + gross)
    assert all(a is b for a, b in zip(got, quotes, strict=True))
    assert len(got) == len(quotes)
