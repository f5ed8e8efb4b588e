"""What the runner asks of a strategy, and how desired quotes become order actions.

The runner hands a `QuoteView` (the same fields as `pmbot.strategy.inputs.QuoteInputs`) to a
`Quoter` and gets desired quotes back. `StrategyQuoter` adapts the live bot's own
`strategy.engine.QuoteEngine` (strategy + risk gate), so a backtest runs the same code as
`pmbot run`; `ScriptedQuoter` plays fixed quotes for hand-built scenarios.

The runner turns desired quotes into order actions with the live bot's own planner
(`pmbot.execution.planner.plan`), never a copy of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pmbot.core.book import BinaryBook
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.core.money import Micros, Price, Qty
from pmbot.execution.planner import QuoteLike
from pmbot.strategy.inputs import QuoteInputs, RestingOrder

__all__ = [
    "LiveQuote",
    "Quote",
    "QuoteView",
    "Quoter",
    "ScriptedQuoter",
    "StrategyQuoter",
    "settings_quoter",
    "strategy_quoter",
]


@dataclass(frozen=True, slots=True)
class Quote:
    ticker: str
    side: str  # "bid" buys YES, "ask" sells YES
    price: Price
    qty: Qty
    post_only: bool = True


# One of our orders as the runner's order manager believes it (in flight counts): the
# strategy's own `RestingOrder` (side, price, remaining, placed_ts_ns, order_id), so the
# runner's view reaches the live strategy as it is, without a copy per decision.
LiveQuote = RestingOrder


@dataclass(frozen=True, slots=True)
class QuoteView:
    ts_ns: int
    event_ticker: str
    markets: tuple[MarketSpec, ...]
    fair: EventFairValue | None
    books: Mapping[str, BinaryBook | None]
    positions: Mapping[str, Qty]
    resting: Mapping[str, tuple[RestingOrder, ...]]
    index_ts_ns: int | None
    reference_ts_ns: int
    event_cost: Micros = 0
    event_capital: Micros = 0
    daily_pnl: Micros = 0
    account_exposure: Micros = 0
    last_fill_ns: Mapping[tuple[str, str], int] = field(default_factory=dict)
    quotable: frozenset[str] | None = None
    inactive: frozenset[str] = frozenset()


class Quoter(Protocol):
    name: str

    def quote(self, view: QuoteView) -> tuple[Sequence[QuoteLike], int | None]:
        """Desired quotes for the event (`Quote`s or the strategy's own `DesiredQuote`s: the
        planner reads the same fields) and an optional wake-up time (ns)."""
        ...


class ScriptedQuoter:
    """Fixed quotes from a function of time (hand-built scenarios and tests)."""

    def __init__(self, fn: Callable[[QuoteView], Sequence[Quote]], name: str = "scripted") -> None:
        self.fn = fn
        self.name = name

    def quote(self, view: QuoteView) -> tuple[Sequence[QuoteLike], int | None]:
        return self.fn(view), None


@dataclass
class StrategyQuoter:
    """The live bot's QuoteEngine (a strategy behind the risk gate), one per event."""

    name: str
    make_engine: Callable[[], Any]
    engines: dict[str, Any] = field(default_factory=dict)

    def quote(self, view: QuoteView) -> tuple[Sequence[QuoteLike], int | None]:
        eng = self.engines.get(view.event_ticker)
        if eng is None:
            eng = self.engines[view.event_ticker] = self.make_engine()
        inp = QuoteInputs(
            ts_ns=view.ts_ns, event_ticker=view.event_ticker, markets=view.markets, fair=view.fair,
            books=view.books, positions=view.positions, resting=view.resting,
            book_ts_ns=dict.fromkeys(view.books, view.ts_ns), index_ts_ns=view.index_ts_ns,
            reference_ts_ns=view.reference_ts_ns, event_cost=view.event_cost, event_capital=view.event_capital,
            daily_pnl=view.daily_pnl,
            account_exposure=view.account_exposure, last_fill_ns=view.last_fill_ns,
            quotable=view.quotable, inactive=view.inactive,
        )  # fmt: skip
        d = eng.step(inp)
        return d.quotes, d.wake_at_ns  # DesiredQuotes: the planner reads them as it does live


def strategy_quoter(kind: str, params: Mapping[str, Any] | None = None,
                    limits: Mapping[str, Any] | None = None) -> StrategyQuoter:  # fmt: skip
    """`kind` "pmbot" (MarketMaker) or "baseline", with QuoteParams / RiskLimits overrides."""
    try:
        from pmbot.risk.gate import RiskGate
        from pmbot.risk.limits import RiskLimits
        from pmbot.strategy.baseline import BaselineStrategy
        from pmbot.strategy.engine import QuoteEngine
        from pmbot.strategy.params import QuoteParams
        from pmbot.strategy.quoter import MarketMaker
    except ImportError as e:  # the strategy branch has not landed in this checkout
        from pmbot.errors import ConfigError

        raise ConfigError(
            "backtest.strategies", f"the strategy package is not available: {e}"
        ) from e
    qp = QuoteParams(**dict(params or {}))
    # the replay amends a Kalshi order's total in place, as the venue does
    rl = RiskLimits(**{"amends_in_place": True, **dict(limits or {})})

    def make() -> Any:
        strat: Any = MarketMaker(qp, rl) if kind == "pmbot" else BaselineStrategy(qp)
        return QuoteEngine(strat, RiskGate(rl))

    if kind not in ("pmbot", "baseline"):
        from pmbot.errors import ConfigError

        raise ConfigError("backtest.strategies", f"unknown strategy {kind!r} (pmbot, baseline)")
    return StrategyQuoter(kind, make)


def settings_quoter(kind: str, settings: Any) -> StrategyQuoter:
    """The engine `pmbot run` builds from a bot config (`app_parts.build_engine`): the same
    QuoteParams, RiskLimits, GuardParams and kill switch, with `strategy.kind` = `kind`."""
    import os

    from pmbot.app_parts import build_engine
    from pmbot.settings import load_settings

    if isinstance(settings, str):
        s = load_settings(settings, os.environ, {"strategy": {"kind": kind}})
    else:  # a Settings object: the same, with strategy.kind replaced
        import msgspec

        s = msgspec.structs.replace(
            settings, strategy=msgspec.structs.replace(settings.strategy, kind=kind)
        )
    return StrategyQuoter(kind, lambda: build_engine(s)[0])
