"""pmbot.backoff.Backoff: the one retry schedule of feeds, WebSockets and REST retries."""

from __future__ import annotations

import random

from pmbot.backoff import Backoff


def test_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(1.0, 5.0)
    assert [b.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    b.reset()
    assert b.next_delay() == 1.0
    assert Backoff(1.0, 100.0, factor=3.0).delay(2) == 9.0


def test_jitter_stays_within_half_and_all_of_the_step() -> None:
    b = Backoff(0.5, 8.0, random.Random(1))
    ds = [b.next_delay() for _ in range(10)]
    caps = [min(8.0, 0.5 * 2**n) for n in range(10)]
    assert all(c / 2 <= d <= c for d, c in zip(ds, caps, strict=True))
    assert len(set(ds)) == len(ds)  # jittered, not in step
    b.reset()
    assert b.next_delay() <= 0.5
    assert Backoff(1.0, 2.0).delay(10_000) == 2.0  # no overflow on a long outage
