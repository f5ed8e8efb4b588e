"""Retry delays: one capped exponential backoff for every reconnect and retry loop."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """The n-th delay (from 0) is min(maximum, initial * factor**n); with an `rng`, it is
    jittered uniformly into [half of that, all of it] (clients that should not retry in
    step). `next_delay` counts failures until `reset` (a success)."""

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 60.0,
        rng: random.Random | None = None,
        *,
        factor: float = 2.0,
    ) -> None:
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.rng = rng
        self.failures = 0

    def delay(self, attempt: int) -> float:
        """The delay after the `attempt`-th consecutive failure (stateless)."""
        d = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return d if self.rng is None else d * (0.5 + 0.5 * self.rng.random())

    def next_delay(self) -> float:
        d = self.delay(self.failures)
        self.failures += 1
        return d

    def reset(self) -> None:
        self.failures = 0
