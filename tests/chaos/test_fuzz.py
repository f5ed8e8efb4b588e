"""Every decoder at the edge, fuzzed: mutated recorded fixtures (seeded) and hypothesis inputs.
A case gives a clean value or a pmbot.errors type, never another exception. `make test` runs a
fast subset; `make soak` runs 100,000 mutated cases per target."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzz import TARGETS, feed, one_case, run_cases
from .report import TOTALS

FAST = {"config_toml": 300}
WIRE = [t for t in TARGETS if t != "config_toml"]


@pytest.mark.parametrize("target", TARGETS)
def test_mutated_fixtures_fast(target: str) -> None:
    n = FAST.get(target, 3000)
    found = run_cases(target, n, seed0=1_000_000)
    TOTALS.fuzz_cases[target] += n
    assert not found, "\n".join(found)


@pytest.mark.soak
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("target", TARGETS)
def test_mutated_fixtures_soak(target: str) -> None:
    n = 100_000
    found = run_cases(target, n)
    TOTALS.fuzz_cases[target] += n
    assert not found, "\n".join(found)


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
_json = st.recursive(
    _scalars,
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=12), c, max_size=6),
    max_leaves=25,
)
# JSON in the venues' own shapes: known frame types and field names with arbitrary values
_keys = st.sampled_from(
    [
        "type",
        "sid",
        "seq",
        "msg",
        "market_ticker",
        "price_dollars",
        "delta_fp",
        "side",
        "yes_dollars_fp",
        "no_dollars_fp",
        "event_type",
        "asset_id",
        "market",
        "bids",
        "asks",
        "price",
        "size",
        "tick_size",
        "new_tick_size",
        "status",
        "order_id",
        "trade_id",
        "price_changes",
        "markets",
        "fills",
        "orders",
        "error",
        "code",
        "count_fp",
    ]
)
_shaped = st.dictionaries(
    _keys,
    _json
    | st.sampled_from(
        [
            "orderbook_delta",
            "orderbook_snapshot",
            "fill",
            "user_order",
            "book",
            "price_change",
            "tick_size_change",
            "trade",
            "order",
            "0.5000",
            "yes",
            "no",
            "bid",
            "ask",
        ]
    ),
    max_size=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(WIRE),
    data=st.one_of(
        st.binary(max_size=400),
        _json.map(lambda v: json.dumps(v).encode()),
        _shaped.map(lambda v: json.dumps(v).encode()),
        st.lists(_shaped, max_size=4).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_hypothesis_inputs(target: str, data: bytes) -> None:
    TOTALS.fuzz_cases["hypothesis_" + target] += 1
    feed(target, data)


@settings(max_examples=150, deadline=None)
@given(target=st.sampled_from(TARGETS), seed=st.integers(0, 2**40))
def test_hypothesis_picks_fixture_mutations(target: str, seed: int) -> None:
    TOTALS.fuzz_cases["hypothesis_mutation"] += 1
    one_case(target, seed)
