"""The client-side write budget: token buckets, and the port's view of them for the planner."""

from __future__ import annotations

import pytest

from pmbot.clock import ManualClock
from pmbot.venues.kalshi.http import KalshiHttp
from pmbot.venues.kalshi.rest import TokenBucket
from pmbot.venues.kalshi.urls import resolve_urls


def test_bucket_reserve_refill_and_debt():
    b = TokenBucket(rate=100, capacity=100, now=0.0)
    assert b.reserve(90, 0.0) == 0.0 and b.available(0.0) == pytest.approx(10)
    assert b.reserve(30, 0.0) == pytest.approx(0.2)  # 20 tokens short at 100/s
    assert b.available(0.0) == pytest.approx(-20)
    assert b.available(0.5) == pytest.approx(30)  # a peek does not take or move the clock
    assert b.available(0.5) == pytest.approx(30)
    assert b.available(10.0) == 100  # never above capacity


def test_bucket_wait_for_is_a_peek():
    b = TokenBucket(rate=100, capacity=100, now=0.0)
    b.reserve(95, 0.0)
    assert b.wait_for(5, 0.0) == 0.0
    assert b.wait_for(25, 0.0) == pytest.approx(0.2)
    assert b.wait_for(500, 0.0) == pytest.approx(0.95)  # capped at a full bucket
    assert b.available(0.0) == pytest.approx(5)
    b.drain(0.1)
    assert b.available(0.1) == 0.0


def test_port_budget_keeps_one_item_of_headroom():
    from pmbot.venues.kalshi.port import KalshiPort

    clock = ManualClock()

    class _Venue:  # KalshiPort reads only .http and .clock
        http = KalshiHttp(resolve_urls("demo"), None, clock=clock)

    port = KalshiPort(_Venue())  # type: ignore[arg-type]
    assert port.write_budget() == pytest.approx(90)  # 100 tokens - one create's headroom
    port.http.write_bucket.reserve(85, clock.monotonic())
    assert port.write_budget() == pytest.approx(5)
    assert port.write_wait_s(10) == pytest.approx(0.05)  # needs 20, has 15
    clock.advance(0.05)
    assert port.write_budget() == pytest.approx(10)
    assert port.write_wait_s(10) == pytest.approx(0.0, abs=1e-6)
