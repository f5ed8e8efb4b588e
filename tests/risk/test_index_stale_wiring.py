"""The index-stale guard as the app wires it (`app_parts.build_inputs` + `build_engine`).

The feed's own watchdog (`FeedStale`, after `feed.stale_after_s` of silence on our clock)
pulls the quotes. It used to be stored and read by nothing: the only guard compared our
clock with the tick's *source* timestamp, so a source clock ahead of ours delayed the pull by
the skew, and a `stale_after_s` under `risk.index_stale_s` never pulled anything.
"""

from __future__ import annotations

from types import SimpleNamespace

from pmbot.app_parts import Accounting, build_engine, build_inputs
from pmbot.core import events as ev
from pmbot.core.state import TradingState
from pmbot.risk.guards import RiskState
from pmbot.settings import load_settings
from pmbot.strategy.synthetic import ladder_fair, ladder_markets

S = 1_000_000_000
T0 = 1_795_532_400 * S  # 2026-11-24 10:00 ET


def _app() -> SimpleNamespace:
    ms = ladder_markets(5, 6000.0, 25.0, close_ts_ns=T0 + 3600 * S)
    st = TradingState()
    for m in ms:
        st.add_market(m)
        st.apply(ev.BookSnapshot(m.ticker, T0, ((4000, 10_000),), ((4000, 10_000),)))
    st.apply(ev.IndexTick(T0, 6000.0, "yahoo"))
    return SimpleNamespace(
        state=st,
        event_markets=list(ms),
        quotable=list(ms),
        event_ticker=ms[0].event_ticker,
        fair=ladder_fair(ms, 6000.0, 30.0),
        acct=Accounting(),
        ledger=None,
    )


def _engine(**feed: float):  # type: ignore[no-untyped-def]
    s = load_settings(None, environ={}, overrides={"risk": {"max_divergence": 1.0}, "feed": feed})
    return build_engine(s)[0]


def test_the_feeds_own_stale_signal_pulls_the_quotes() -> None:
    eng, app = _engine(stale_after_s=3.0), _app()  # risk.index_stale_s stays 10
    assert eng.step(build_inputs(app, T0 + S)).quotes
    app.state.apply(ev.FeedStale(T0 + 3 * S, "yahoo", True, "no index tick for 3.0s"))
    d = eng.step(build_inputs(app, T0 + 4 * S))
    assert d.risk.state is RiskState.HALTED and d.quotes == ()
    app.state.apply(ev.FeedStale(T0 + 5 * S, "yahoo", False, "ticks resumed"))
    app.state.apply(ev.IndexTick(T0 + 5 * S, 6000.0, "yahoo"))
    assert eng.step(build_inputs(app, T0 + 5 * S)).quotes


def test_a_source_clock_ahead_of_ours_no_longer_delays_the_pull() -> None:
    eng, app = _engine(), _app()  # index_stale_s = stale_after_s = 10
    # the last tick reaches us at T0 stamped 5 s ahead by its source
    app.state.apply(ev.IndexTick(T0 + 5 * S, 6000.0, "yahoo"))
    app.state.apply(ev.FeedStale(T0 + 10 * S, "yahoo", True, "no index tick for 10.0s"))
    d = eng.step(build_inputs(app, T0 + 14 * S))
    assert d.risk.state is RiskState.HALTED and "index_stale" in d.risk.reason
