"""The gate's limit arithmetic after the speed-ups equals the code it replaced.

`opened_parts` was rewritten without min/max calls, `trim_cost` now goes through
`CostParts` (computed once for both capital caps); the references are the previous
implementations, kept verbatim, compared on random quote sets.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.core.money import ONE
from pmbot.risk.limits import CostParts, opened_parts, trim_cost, trim_cost_parts
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
    out = []
    for d, op in zip(quotes, ops, strict=True):
        if op <= 0:
            out.append(d)
            continue
        keep_open = op * room // total
        out.append(replace(d, qty=d.qty - op + keep_open))
    return out


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
