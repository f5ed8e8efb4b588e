"""Build the configured index feed from `FeedSettings` (for the composition root)."""

from __future__ import annotations

from pmbot.clock import Clock
from pmbot.errors import ConfigError
from pmbot.feeds.base import IndexFeed
from pmbot.settings import FeedSettings

__all__ = ["build_feed"]


def build_feed(s: FeedSettings, clock: Clock, *, sim_base_url: str | None = None) -> IndexFeed:
    """One feed per settings; constructors do no I/O (the feed connects when it runs)."""
    kind = s.kind
    if kind == "auto":  # the simulator's index when there is one, else the real index
        kind = "sim" if sim_base_url else "yahoo"
    if kind == "sim":
        if not sim_base_url:
            raise ConfigError("feed.kind", "sim feed needs the simulator's base URL")
        from pmbot.feeds.sim import SimIndexFeed

        return SimIndexFeed(
            clock, sim_base_url, interval=s.poll_interval_s, stale_after=s.stale_after_s
        )
    if kind == "yahoo":
        from pmbot.feeds.yahoo import YahooFeed

        return YahooFeed(clock, poll_interval=s.poll_interval_s, stale_after=s.stale_after_s)
    if kind == "synthetic":
        from datetime import UTC, datetime, timedelta

        from pmbot.feeds.synthetic import SyntheticFeed
        from pmbot.pricing.calendar import TradingCalendar

        # the NYSE sessions the pricing model assumes: no prints (and no variance) at
        # night, on weekends and holidays, the intraday curve anchored at 09:30 ET
        d = datetime.fromtimestamp(clock.now_ns() / 1e9, tz=UTC).date()
        cal = TradingCalendar.nyse(str(d - timedelta(days=10)), str(d + timedelta(days=366)))
        return SyntheticFeed(
            clock,
            seed=s.seed,
            interval=s.poll_interval_s,
            stale_after=s.stale_after_s,
            calendar=cal,
        )
    if kind == "replay":
        if not s.replay_path:
            raise ConfigError("feed.replay_path", "replay feed needs a CSV path")
        from pmbot.feeds.replay import ReplayFeed

        return ReplayFeed(clock, s.replay_path, speed=1.0, stale_after=s.stale_after_s)
    raise ConfigError("feed.kind", f"unknown feed {s.kind!r}")
