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
        from pmbot.feeds.synthetic import SyntheticFeed

        return SyntheticFeed(
            clock, seed=s.seed, interval=s.poll_interval_s, stale_after=s.stale_after_s
        )
    if kind == "replay":
        if not s.replay_path:
            raise ConfigError("feed.replay_path", "replay feed needs a CSV path")
        from pmbot.feeds.replay import ReplayFeed

        return ReplayFeed(clock, s.replay_path, speed=1.0, stale_after=s.stale_after_s)
    raise ConfigError("feed.kind", f"unknown feed {s.kind!r}")
